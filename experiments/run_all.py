"""Regenerate every committed table and figure: each stage (a script, maybe a variant) in turn.

    python experiments/run_all.py                 # the data root: $VAE_TF_DATA_DIR
    python experiments/run_all.py --quick         # every stage's --quick, in a scratch folder
    python experiments/run_all.py --quick --keep  # ... and keep that folder to look at
    python experiments/run_all.py --only=movielens_nested,iwae_training
    python experiments/run_all.py --list          # the stages, tiers and expected minutes
    python experiments/run_all.py --status        # each table current or stale, and why
    python experiments/run_all.py --stale --budget=90  # the stale stages that fit 90 min

The stages come from the scripts' configs (`get_config` beside each script's protocol): a
stage per script and one per named variant (miwae_vs_knn_conv is miwae_vs_knn.py
--variant=conv), named after the table it writes, with its tier ("thesis": it reproduces a
slide's table or figure; "beyond": the rest) and expected minutes. They run the thesis
tier first, each tier in order of expected minutes; every stage runs with its committed
budget and seed and writes its table (command, seed, budget, wall time, commit, cores) and
figures to experiments/results/. `--quick` gives every stage its --quick flag and one
scratch folder (hundreds of MB of run folders), removed at the end unless `--keep` is
given, when its path is printed: it never writes into experiments/results/. Without a
data root, --quick runs the stages that work on the bundled mnist_5k sample and names the
others it skipped; a full run needs the data root. A progress line per stage gives its
expected and actual time.

Each table written by a full run gets a fingerprint beside it (`<table>.fingerprint.json`,
experiments/fingerprint.py: the script, its config, the code of every repository module it
imported, the data files it read). `--status` compares every stage's table with what its
fingerprint names and prints `current` or `stale` with the reason (exit 1 if any is
stale); `--stale` runs only the stale stages, and `--budget=MIN` only those that fit MIN
minutes by their expected times, so a regeneration at one commit can span sittings.
"""

import dataclasses
import glob
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

if not __package__:  # python experiments/run_all.py: import the package, not its files
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from experiments import scaffold  # noqa: E402

flags.DEFINE_bool("quick", False, "Every stage's --quick, into a scratch folder.")
flags.DEFINE_string("data_root", os.environ.get("VAE_TF_DATA_DIR"),
                    "Folder laid out like ../shared/data (default $VAE_TF_DATA_DIR).")
flags.DEFINE_list("only", [], "Run only these stages (the tables' names, as --list shows).")
flags.DEFINE_bool("keep", False, "With --quick: keep the scratch folder (its path is printed) "
                  "instead of removing it at the end.")
flags.DEFINE_bool("list", False, "Print the stages with their tier and expected minutes, and "
                  "each tier's total; run nothing.")
flags.DEFINE_bool("status", False, "Print each stage's table as current or stale (with the "
                  "reason) and exit 1 if any is stale; run nothing.")
flags.DEFINE_bool("stale", False, "Run only the stages whose tables are stale (--status).")
flags.DEFINE_float("budget", None, "With --stale: run only the stale stages whose expected "
                   "minutes fit in this many minutes (the rest wait for another sitting).")
FLAGS = flags.FLAGS

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclasses.dataclass(frozen=True)
class Planned:
    """One stage of run_all: the table it writes, the script and variant that write it."""

    name: str  # the table: <out_dir>/<name>.md
    script: str  # experiments/<script>.py
    variant: Optional[str]  # --variant=<variant>, or None for the script's own config
    stage: scaffold.Stage

    @property
    def command(self) -> List[str]:
        """The script and its flags, as run_all runs it (before --data_root and --quick)."""
        return [f"{self.script}.py"] + ([f"--variant={self.variant}"] if self.variant else [])


def scripts() -> List[str]:
    """The experiment scripts: the modules of experiments/ that define get_config."""
    return sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(HERE, "*.py"))
                  if "\ndef get_config(" in open(p).read())


def stages() -> List[Planned]:
    """Every stage, from the configs: thesis tier first, then by expected full minutes."""
    out = []
    for script in scripts():
        get_config = importlib.import_module(f"experiments.{script}").get_config
        config = get_config(False)
        if config.stage is None:  # writes no table (movielens_tune prints its sweep)
            continue
        out.append(Planned(config.table, script, None, config.stage))
        for variant in config.variants:
            settled = scaffold.settle(get_config, False, variant)
            out.append(Planned(settled.table, script, variant, settled.stage))
    return sorted(out, key=lambda p: (scaffold.TIERS.index(p.stage.tier), p.stage.minutes[0],
                                      p.name))


def listing(planned: List[Planned]) -> str:
    """The stages as --list prints them, then each tier's total and the sum."""
    lines = [f"{'stage':28} {'tier':7} {'full min':>8} {'quick min':>9}  command"]
    for p in planned:
        full, quick = p.stage.minutes
        data = "  (--quick needs the data root)" if p.stage.quick_needs_data else ""
        lines.append(f"{p.name:28} {p.stage.tier:7} {full:8g} {quick:9g}  "
                     f"{' '.join(p.command)}{data}")
    for tier in (*scaffold.TIERS, None):
        chosen = [p for p in planned if tier is None or p.stage.tier == tier]
        full, quick = (sum(p.stage.minutes[i] for p in chosen) for i in (0, 1))
        lines.append(f"{tier or 'all'}: {len(chosen)} stages, {full:g} min full, "
                     f"{quick:g} min quick")
    return "\n".join(lines)


def current_config(planned: List[Planned]):
    """name -> the config its stage would run with now (what a fingerprint compares)."""
    by_name = {p.name: p for p in planned}

    def config_of(name: str):
        p = by_name.get(name)
        if p is None:
            return None
        get_config = importlib.import_module(f"experiments.{p.script}").get_config
        return scaffold.protocol(scaffold.settle(get_config, False, p.variant))
    return config_of


def stage_status(planned: List[Planned]):
    """(name, "current" or "stale", reason) of every stage's table in experiments/results."""
    from experiments import common, fingerprint
    return fingerprint.status(common.RESULTS, current_config(planned),
                              names=[p.name for p in planned], data_root=FLAGS.data_root)


def main(_):
    planned = stages()
    if FLAGS.list:
        print(listing(planned))
        return
    if FLAGS.budget is not None and not FLAGS.stale:
        sys.exit("run_all: --budget applies to --stale (it picks the stale stages that fit); "
                 "add --stale")
    if FLAGS.status or FLAGS.stale:
        if FLAGS.quick:
            sys.exit("run_all: --status and --stale look at experiments/results, which --quick "
                     "never writes; drop --quick")
        from experiments import fingerprint
        states = stage_status(planned)
        lines, code = fingerprint.status_lines(states)
        print("\n".join(lines), flush=True)
        if FLAGS.status:
            sys.exit(code)
        stale = [name for name, state, _ in states if state == fingerprint.STALE]
        chosen = fingerprint.plan(stale, {p.name: p.stage.minutes[0] for p in planned},
                                  FLAGS.budget)
        print("\n".join(chosen.lines()), flush=True)
        planned = [p for p in planned if p.name in chosen.run]
    unknown = sorted(set(FLAGS.only) - {p.name for p in planned})
    if unknown:
        sys.exit(f"run_all: --only={','.join(unknown)} is unknown; choose from "
                 f"{', '.join(p.name for p in planned)}")
    if not FLAGS.data_root and not FLAGS.quick:
        sys.exit("run_all: no data root: set VAE_TF_DATA_DIR (or --data_root) to a folder laid "
                 "out like ../shared/data, or pass --quick for the bundled sample only")
    if FLAGS.keep and not FLAGS.quick:
        sys.exit("run_all: --keep does not apply here (it keeps --quick's scratch folder; a "
                 "full run writes experiments/results/); drop it or add --quick")
    scratch = tempfile.mkdtemp(prefix="vae_tf_run_all_") if FLAGS.quick else None
    try:
        failed, skipped = run_stages(planned, scratch)
    finally:
        if scratch and FLAGS.keep:
            print(f"quick results kept in {scratch} (experiments/results/ untouched)")
        elif scratch:
            shutil.rmtree(scratch, ignore_errors=True)
            print(f"quick results removed with their scratch folder {scratch} (pass --keep "
                  "to keep it); experiments/results/ untouched")
    if skipped:
        print(f"skipped without a data root: {', '.join(skipped)}")
    if failed:
        sys.exit(f"run_all: failed: {', '.join(failed)}")


def run_stages(planned: List[Planned], scratch):
    """Run the chosen stages in turn; (the failed, the skipped) names."""
    chosen = [p for p in planned if not FLAGS.only or p.name in FLAGS.only]
    failed, skipped = [], []
    for i, p in enumerate(chosen, 1):
        if p.stage.quick_needs_data and not FLAGS.data_root:
            skipped.append(p.name)
            print(f"[{i}/{len(chosen)}] {p.name}: skipped (needs the data root)", flush=True)
            continue
        script, *flags_of = p.command
        args = [sys.executable, os.path.join(HERE, script), *flags_of]
        args += [f"--data_root={FLAGS.data_root}"] if FLAGS.data_root else []
        args += ["--quick", f"--out_dir={scratch}"] if FLAGS.quick else []
        full, quick = p.stage.minutes
        print(f"[{i}/{len(chosen)}] {p.name}: about {quick if FLAGS.quick else full:g} min",
              flush=True)
        t0 = time.perf_counter()
        code = subprocess.call(args)
        print(f"[{i}/{len(chosen)}] {p.name}: exit {code} after "
              f"{(time.perf_counter() - t0) / 60:.1f} min", flush=True)
        if code:
            failed.append(p.name)
    return failed, skipped


if __name__ == "__main__":
    app.run(main)
