"""The experiment scripts' flags: the shared ones, and the two shapes scripts add.

Every script takes --quick and --data_root; most also --seed, --out_dir and --table, some
--log_root and --variant (`define_shared`). A script's own flags are None unless given:
`given_flags` collects those given that name a field of its config (scaffold.settle lays
them over it) and `describe_defaults` appends the config's values to their help, so
`--helpfull` shows the defaults that live in the config. `define_ints` and
`define_subset` are the list flags scripts share: positive integers (--ks=1,10,100) and a
subset of named choices (--schemes=structured).
"""

import dataclasses
import os
from typing import Callable, Optional

from absl import flags

from vae_tf.datasets import DATA_DIR_VAR

NOT_FLAGS = ("stage", "variants")  # Config fields no flag sets
SHARED = ("quick", "data_root", "seed", "out_dir", "table", "log_root", "variant")


class _PositiveInts(flags.ListParser):
    """A comma-separated list of positive integers (strictly ascending if asked)."""

    def __init__(self, ascending: bool):
        super().__init__()
        self.ascending = ascending

    def parse(self, argument):
        words = [str(w) for w in super().parse(argument)]
        if not words or not all(w.isdigit() and int(w) > 0 for w in words):
            raise ValueError("takes positive integers, e.g. 1,10,100")
        values = [int(w) for w in words]
        if self.ascending and any(a >= b for a, b in zip(values, values[1:])):
            raise ValueError("takes ascending positive integers, e.g. 100,200,300")
        return values


def define_ints(name: str, help_text: str, ascending: bool = False,
                flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """A flag of positive integers (--ks=1,10,100), None unless given."""
    flags.DEFINE(_PositiveInts(ascending), name, None, help_text, flag_values,
                 flags.CsvListSerializer(","))


def define_subset(name: str, choices, help_text: str,
                  flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """A flag of a comma-separated subset of `choices` (--schemes=structured), None unless
    given."""
    flags.DEFINE_list(name, None, help_text, flag_values=flag_values)
    flags.register_validator(name, lambda v: v is None or (bool(v) and set(v) <= set(choices)),
                             f"--{name} takes a comma-separated subset of {', '.join(choices)}",
                             flag_values=flag_values)


def define_shared(config, *, logs: Optional[str] = None, seed: bool = True,
                  table: bool = True, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """The flags every script shares; --seed, --out_dir and --table unless told otherwise,
    --log_root where it keeps run folders (`logs`: their root under logs/), --variant where
    its config names variants."""
    fv = flag_values
    flags.DEFINE_bool("quick", False, "The config's quick budget (minutes), written to a new "
                      "temporary folder.", flag_values=fv)
    flags.DEFINE_string("data_root", os.environ.get(DATA_DIR_VAR), "Folder laid out like "
                        f"shared/data (default: ${DATA_DIR_VAR}).", flag_values=fv)
    if seed:
        flags.DEFINE_integer("seed", None, "First seed of the run (the protocol adds its "
                             "offsets).", flag_values=fv)
    if table:
        flags.DEFINE_string("out_dir", None, "Where the table and its figures go (default "
                            "experiments/results; --quick: a new temporary folder).",
                            flag_values=fv)
        flags.DEFINE_string("table", None, "Name of the table (<out_dir>/<table>.md) and of "
                            "its figures' folder, so another run sits beside the committed "
                            "one.", flag_values=fv)
    if logs:
        flags.DEFINE_string("log_root", None, f"Run folders (default logs/{logs}; --quick: in "
                            "the temporary folder). A run folder that exists is resumed.",
                            flag_values=fv)
    if config.variants:
        flags.DEFINE_string("variant", None, "A named variant of the config, written to its "
                            f"own table: {describe_variants(config)}.", flag_values=fv)


def describe_variants(config) -> str:
    """The config's variants as --variant's help lists them: name (table), ..."""
    return ", ".join(f"{name} ({v['table']})" for name, v in config.variants.items())


def given_flags(config, flag_values: flags.FlagValues = flags.FLAGS) -> dict:
    """field -> value of every flag given on the command line that names a config field."""
    out = {}
    for field in dataclasses.fields(config):
        name = field.name
        if name in flag_values and name not in NOT_FLAGS and flag_values[name].present:
            value = flag_values[name].value
            out[name] = tuple(value) if isinstance(value, list) else value
    return out


def describe_defaults(get_config: Callable,
                      flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Append to each flag that sets a config field the config's values (full and quick)."""
    full, quick = get_config(False), get_config(True)
    for field in dataclasses.fields(full):
        name = field.name
        if name in flag_values and name not in NOT_FLAGS:
            a, b = _shown(getattr(full, name)), _shown(getattr(quick, name))
            flag_values[name].help += (f" Default: the config's, {a}"
                                       + ("" if a == b else f" (--quick: {b})") + ".")


def _shown(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value)) or "none"
    return str(value)
