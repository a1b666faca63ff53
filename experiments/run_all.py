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
tier first, each tier in order of its config's minutes; every stage runs with its committed
budget and seed and writes its table (command, seed, budget, wall time, commit, cores) and
figures to experiments/results/.

A stage's expected full-run minutes are the wall time its results file records, when the
file's fingerprint holds the stage's config now and the run did the work it reports (not a
rewrite from finished run folders: stage_minutes.py); else its config's estimate. `--list`
says which, with each tier's total against its target (thesis 90 min, all 480), and
`--budget` plans with the same figures. `--quick` gives every stage its --quick flag and one
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
minutes by their expected minutes, so a regeneration at one commit can span sittings.
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
from typing import Dict, List, Optional

if not __package__:  # python experiments/run_all.py: import the package, not its files
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from experiments import scaffold, stage_minutes  # noqa: E402

flags.DEFINE_bool("quick", False, "Every stage's --quick, into a scratch folder.")
flags.DEFINE_string("data_root", os.environ.get("VAE_TF_DATA_DIR"),
                    "Folder laid out like ../shared/data (default $VAE_TF_DATA_DIR).")
flags.DEFINE_list("only", [], "Run only these stages (the tables' names, as --list shows).")
flags.DEFINE_bool("keep", False, "With --quick: keep the scratch folder (its path is printed) "
                  "instead of removing it at the end.")
flags.DEFINE_bool("list", False, "Print the stages with their tier and expected minutes (each "
                  "measured or estimated), each tier's total and its distance from the "
                  "target; run nothing.")
flags.DEFINE_bool("status", False, "Print each stage's table as current or stale (with the "
                  "reason) and exit 1 if any is stale; run nothing.")
flags.DEFINE_bool("stale", False, "Run only the stages whose tables are stale (--status).")
flags.DEFINE_float("budget", None, "With --stale: run only the stale stages whose expected "
                   "minutes fit in this many minutes (the rest wait for another sitting).")
FLAGS = flags.FLAGS

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = {"thesis": 90, "all": 480}  # full-run minutes a tier should fit (the release issue)


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


def expected(planned: List[Planned], out_dir: Optional[str] = None
             ) -> Dict[str, stage_minutes.Minutes]:
    """name -> its full-run minutes: measured by its results file in out_dir (default
    experiments/results) where that still holds, else its config's estimate."""
    from experiments import common
    config_of = current_config(planned)
    return {p.name: stage_minutes.full_minutes(p.name, p.stage.minutes[0], config_of(p.name),
                                               out_dir or common.RESULTS) for p in planned}


def listing(planned: List[Planned], minutes: Dict[str, stage_minutes.Minutes]) -> str:
    """The stages as --list prints them (full minutes from `minutes`, with their source),
    then each tier's total and the sum, then how far each is from its target."""
    lines = [f"{'stage':28} {'tier':7} {'full min':>8} {'quick min':>9}  "
             f"{'source':37} command"]
    for p in planned:
        m = minutes[p.name]
        why = f"  ({m.why})" if m.why else ""
        data = "  (--quick needs the data root)" if p.stage.quick_needs_data else ""
        lines.append(f"{p.name:28} {p.stage.tier:7} {m.full:8g} {p.stage.minutes[1]:9g}  "
                     f"{m.source:37} {' '.join(p.command)}{data}{why}")
    totals = {}
    for tier in (*scaffold.TIERS, "all"):
        chosen = [p for p in planned if tier in ("all", p.stage.tier)]
        full = totals[tier] = sum(minutes[p.name].full for p in chosen)
        quick = sum(p.stage.minutes[1] for p in chosen)
        measured = sum(minutes[p.name].measured for p in chosen)
        lines.append(f"{tier}: {len(chosen)} stages, {full:g} min full ({measured} measured), "
                     f"{quick:g} min quick")
    lines.append("targets: " + "; ".join(
        f"{tier} {totals[tier]:g} of {target:g} min, {abs(totals[tier] - target):g} min "
        f"{'over' if totals[tier] > target else 'to spare'}" for tier, target in TARGETS.items()))
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
    expect = expected(planned)
    if FLAGS.list:
        print(listing(planned, expect))
        return
    minutes = {name: m.full for name, m in expect.items()}
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
        chosen = fingerprint.plan(stale, minutes, FLAGS.budget)
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
        failed, skipped = run_stages(planned, scratch, minutes)
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


def run_stages(planned: List[Planned], scratch, minutes: Dict[str, float]):
    """Run the chosen stages in turn; (the failed, the skipped) names. minutes: each stage's
    expected full-run minutes (`expected`)."""
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
        about = p.stage.minutes[1] if FLAGS.quick else minutes[p.name]
        print(f"[{i}/{len(chosen)}] {p.name}: about {about:g} min", flush=True)
        t0 = time.perf_counter()
        code = subprocess.call(args)
        print(f"[{i}/{len(chosen)}] {p.name}: exit {code} after "
              f"{(time.perf_counter() - t0) / 60:.1f} min", flush=True)
        if code:
            failed.append(p.name)
    return failed, skipped


if __name__ == "__main__":
    app.run(main)
