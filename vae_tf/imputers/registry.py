"""One entry per `--imputer` name: every per-imputer fact in one table.

An `Entry` says which class the name builds (imported on first use, so this module and the
package stay light), what it does (the flag's help), which kinds of data it takes
(images, ratings, a user's table), whether it trains (the engine's flags and
`--imputer_seeds` apply), which launcher flags of its own it takes, how many models it
fits when `--imputer_seeds` is 0, whether it draws multiple imputations, and how the
launcher builds it from a `Config` (`build`). config.py, checks.py, impute_run.py,
table_run.py, main.py and both `__init__` files read this table; adding an imputer is its
module plus one entry here (BUILD_NOTES.md, "Adding an imputer").
"""

import dataclasses
import importlib
from typing import Callable, Dict, FrozenSet, Optional, Tuple

IMAGES, RATINGS, TABLE = "images", "ratings", "table"  # the kinds of data an imputer takes

# Flags an imputer takes only if its entry lists them (`own_flags`), and why another
# imputer refuses each: {imputer} is the name given, {takers} the imputers that take it.
OWN_FLAGS: Dict[str, str] = {
    "k": "it sets the K-NN's neighbours, not --imputer={imputer}'s",
    "arch": "--imputer={imputer} has an MLP only; --mode=train and --imputer={takers} take "
            "--arch",
    "hidden_layers": "--imputer={imputer} has one hidden layer; {takers} --arch=mlp takes more",
    "init_stddev": "--imputer={imputer} starts from Glorot weights",
    "adam_epsilon": "--imputer={imputer} keeps Keras's Adam epsilon 1e-7; the thesis's "
                    "imputer ({takers}) takes it",
    "impute_samples": "--imputer={imputer} draws no importance samples; {takers} does",
    "impute_dtype": "--imputer={imputer} decodes no importance samples; {takers} does",
}
# The settings of every trained imputer (refused for one that does not train).
TRAINED_FLAGS = ("epochs", "batch_size", "learning_rate", "latent_dim", "hidden_dim",
                 "strategy", "cpu_devices", "steps_per_call", "jit_compile")
# Settings an imputer with its own tuned defaults (`own_defaults`) takes only when given.
MODEL_FLAGS = ("epochs", "batch_size", "learning_rate", "latent_dim", "hidden_dim")


@dataclasses.dataclass(frozen=True)
class Entry:
    """Everything the package knows about one `--imputer` name."""
    name: str
    cls: str  # the class `build` makes, vae_tf.imputers.<module>.<cls>
    module: str
    help: str  # what it is, for --imputer's help text
    data: FrozenSet[str]  # the kinds of data it takes: IMAGES, RATINGS, TABLE
    does: str  # what it does, for the refusal on other data: "--imputer=<name> <does>, ..."
    build: Callable  # (config, run, kind, image_shape, categorical) -> an unfitted imputer
    trains: bool = True  # TRAINED_FLAGS and --imputer_seeds apply
    own_flags: Tuple[str, ...] = ()  # the OWN_FLAGS it takes
    own_defaults: bool = False  # tuned defaults for the MODEL_FLAGS not given
    models: int = 1  # models SeedEnsemble averages when --imputer_seeds is 0
    draws: bool = False  # multiple imputation: --imputations and --categorical (tables)
    unit_range: bool = False  # takes data in [0, 1] only (ratings and tables are scaled)
    table_scaling: Optional[str] = None  # "z" or "unit": how a table is scaled for it
    examples: str = "rows"  # what a batch is made of: "rows", or "columns" (each item)
    image_arch: str = "mlp"  # its --arch on images unless --arch is given
    rank: int = 1  # order in the suggestions of errors (the specialised ones first)

    @property
    def imputer_class(self):
        return getattr(importlib.import_module(self.module), self.cls)


def _engine(config, run) -> dict:
    from vae_tf.engine import default_verbosity
    return dict(seed=config.seed, steps_per_call=config.steps_per_call,
                jit_compile=config.jit_compile, strategy=config.strategy, logdir=run.path,
                verbose=default_verbosity())


def _model(config, *extra: str, given_only: bool) -> dict:
    """The model and training settings from `config` (only those given: the imputer's own
    tuned defaults for the rest)."""
    names = MODEL_FLAGS + extra
    return {k: getattr(config, k) for k in names if not given_only or k in config.given}


# keep_empty_features=None on images and ratings: every column stays in the model and the
# output (the thesis's protocol; MovieLens's ua.base has two items nobody rated). A table
# keeps scikit-learn's default (False: a column empty in fit is dropped).
def _empty(kind: str) -> dict:
    return {} if kind == TABLE else dict(keep_empty_features=None)


def _build_knn(config, run, kind, image_shape=None, categorical=None):
    from vae_tf.imputers.knn import KNNImputer
    if kind == TABLE:
        return KNNImputer(config.k, marker=0.0)
    ratings = kind == RATINGS  # the thesis: marker 0 on ratings; no user is its own neighbour
    return KNNImputer(config.k, marker=0.0 if ratings else 0.5, exclude_self=ratings,
                      **_empty(kind))


def _build_vae(config, run, kind, image_shape=None, categorical=None):
    from vae_tf.imputers.vae import VAEImputer
    model = _model(config, given_only=kind == TABLE)  # a table: the library's defaults
    return VAEImputer(init_stddev=config.init_stddev, adam_epsilon=config.adam_epsilon,
                      **model, **_engine(config, run), **_empty(kind))


def _build_miwae(config, run, kind, image_shape=None, categorical=None):
    from vae_tf.imputers.miwae import MIWAEImputer
    shape = None if config.arch == "mlp" or image_shape is None else tuple(image_shape)
    extra = {} if kind != TABLE else dict(categorical_features=categorical or None)
    engine = _engine(config, run)
    if "jit_compile" not in config.given:  # its own choice: XLA for the MLP on images only
        engine["jit_compile"] = "auto"
    if config.impute_samples:
        extra["impute_samples"] = config.impute_samples
    if config.impute_dtype != "float32":
        extra["impute_dtype"] = config.impute_dtype
    return MIWAEImputer(**_model(config, "hidden_layers", given_only=True), arch=config.arch,
                        image_shape=shape, **extra, **engine, **_empty(kind))


def _build_rating_vae(config, run, kind, image_shape=None, categorical=None):
    from vae_tf.imputers.ratings import RatingVAE
    return RatingVAE(**_model(config, given_only=True), **_engine(config, run))


_ALL = (
    Entry("vae", "VAEImputer", "vae_tf.imputers.vae", "the thesis's fill-in algorithm",
          frozenset({IMAGES, RATINGS, TABLE}), "fills holes", _build_vae,
          own_flags=("init_stddev", "adam_epsilon"), unit_range=True, table_scaling="unit",
          rank=2),
    Entry("knn", "KNNImputer", "vae_tf.imputers.knn", "the thesis's K-NN",
          frozenset({IMAGES, RATINGS, TABLE}), "fills holes", _build_knn, trains=False,
          own_flags=("k",), table_scaling="z"),
    Entry("miwae", "MIWAEImputer", "vae_tf.imputers.miwae",
          "a VAE trained on the observed entries only; its own tuned defaults for settings "
          "not given", frozenset({IMAGES, TABLE}), "models images and tables",
          _build_miwae, own_flags=("arch", "hidden_layers", "impute_samples",
                                      "impute_dtype"),
          own_defaults=True, draws=True,
          image_arch="conv", rank=0),
    Entry("rating_vae", "RatingVAE", "vae_tf.imputers.ratings",
          "MovieLens: an item-based VAE on the rated cells", frozenset({RATINGS}),
          "predicts MovieLens ratings", _build_rating_vae, own_defaults=True, models=3,
          examples="columns", rank=0),
)

ENTRIES: Dict[str, Entry] = {e.name: e for e in _ALL}
NAMES = tuple(ENTRIES)
# Classes of the library that no --imputer name builds (the launcher's --imputer_seeds
# wraps a trained imputer in SeedEnsemble).
LIBRARY = {"SeedEnsemble": "vae_tf.imputers.ensemble"}


def build(config, run, kind: str, image_shape=None, categorical=None):
    """The unfitted imputer `config.imputer` for data of `kind` (a table's scaling, see
    `table_scaling`, is table_run's), in a SeedEnsemble when it fits several models
    (--imputer_seeds, or the entry's `models` when that is 0)."""
    found = entry(config.imputer)
    imputer = found.build(config, run, kind, image_shape, categorical)
    n = config.imputer_seeds or found.models
    if n > 1:  # members in <run>/seed-<k>
        from vae_tf.imputers.ensemble import SeedEnsemble
        imputer = SeedEnsemble(imputer, n_seeds=n, **_empty(kind))
    return imputer


def entry(name: str) -> Entry:
    """The entry of `name`; a one-line UserError listing the valid names otherwise."""
    if name not in ENTRIES:
        from vae_tf.errors import UserError
        raise UserError(f"--imputer={name!r} is unknown; choose one of: {', '.join(NAMES)}")
    return ENTRIES[name]


def takers(kind: Optional[str] = None, flag: Optional[str] = None,
           draws: bool = False) -> Tuple[str, ...]:
    """The imputers taking data of `kind`, the flag `flag` or drawing imputations, in the
    order error messages suggest them."""
    found = [e for e in ENTRIES.values() if (kind is None or kind in e.data)
             and (flag is None or flag in e.own_flags) and (not draws or e.draws)]
    return tuple(e.name for e in sorted(found, key=lambda e: e.rank))


def spoken(names: Tuple[str, ...]) -> str:
    """("a", "b", "c") -> "a, b or c"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def flag_help() -> str:
    """--imputer's help text: each name and what it is."""
    return "Imputation method: " + ", ".join(f"{e.name} ({e.help})" for e in _ALL) + "."


def classes() -> Dict[str, str]:
    """Every imputer class the package exports -> its module (the lazy-import table)."""
    return {**{e.cls: e.module for e in _ALL}, **LIBRARY}
