"""experiments/run_all.py: its stages are the scripts' configs (a script and each variant),
--list gives their tiers and minutes (measured by a results file of the same config, else
estimated); every committed table is a stage; --quick's scratch folder goes at the end
unless --keep; the scripts load no TensorFlow until they run."""

import dataclasses
import glob
import importlib
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from experiments import run_all, scaffold, stage_minutes  # noqa: E402
from experiments.fingerprint_hashes import Hashes, canonical  # noqa: E402

SCRIPTS = run_all.scripts()


def _module(script):
    return importlib.import_module(f"experiments.{script}")


def test_every_committed_table_is_a_stage_and_every_stage_a_script():
    names = {p.name for p in run_all.stages()}
    tables = {os.path.basename(p)[:-3]
              for p in glob.glob(os.path.join(ROOT, "experiments", "results", "*.md"))}
    tables.discard("test_reads")  # the ledger of test-split reads (experiments/ledger.py)
    assert tables and tables <= names, sorted(tables - names)
    for p in run_all.stages():
        assert os.path.exists(os.path.join(ROOT, "experiments", f"{p.script}.py")), p


def test_the_stages_are_each_config_and_each_of_its_variants():
    expected = []
    for script in SCRIPTS:
        get_config = _module(script).get_config
        config = get_config(False)
        if config.stage is None:
            continue
        for variant in (None, *config.variants):
            settled = scaffold.settle(get_config, False, variant)
            expected.append((settled.table, script, variant, settled.stage))
    planned = [(p.name, p.script, p.variant, p.stage) for p in run_all.stages()]
    assert sorted(planned, key=str) == sorted(expected, key=str)
    assert len({p[0] for p in planned}) == len(planned)  # a table is written by one stage
    tiers = [scaffold.TIERS.index(p[3].tier) for p in planned]
    assert tiers == sorted(tiers) and set(tiers) == {0, 1}  # the thesis tier runs first
    assert {"miwae_vs_knn_conv", "miwae_defaults_random", "small_data_imputation_conv"} <= {
        p[0] for p in planned if p[2] is not None}


def test_every_script_has_get_config_and_its_quick_budget_is_the_smaller():
    assert len(SCRIPTS) >= 17
    for script in SCRIPTS:
        quick, full = _module(script).get_config(True), _module(script).get_config(False)
        assert isinstance(full, scaffold.Config) and type(quick) is type(full), script
        assert dataclasses.is_dataclass(full) and full.__dataclass_params__.frozen, script
        assert quick.stage == full.stage and quick.table == full.table, script
        smaller = False
        for field in dataclasses.fields(full):
            q, f = getattr(quick, field.name), getattr(full, field.name)
            if isinstance(f, bool) or field.name in ("seed", "stage", "variants"):
                continue
            if isinstance(q, (int, float)) and not isinstance(q, bool):
                assert f is None or q <= f, (script, field.name, q, f)  # None: all, unbounded
                smaller |= f is None or q < f
            elif isinstance(q, tuple) and isinstance(f, tuple):
                smaller |= len(q) < len(f)
        assert smaller, f"{script}: its quick config is no smaller than its full one"


def test_every_flag_a_script_defines_sets_a_field_of_its_config():
    # Run in a fresh process: each script's flags defined beside the shared ones, then
    # deleted, as `scaffold.start` would define them (a misspelt flag would set nothing).
    code = """
import sys
sys.path.insert(0, sys.argv[1])
from absl import flags
from experiments import run_all, scaffold
import importlib
for script in run_all.scripts():
    module = importlib.import_module(f"experiments.{script}")
    before = set(flags.FLAGS)
    module.define_flags()
    own = set(flags.FLAGS) - before
    fields = set(f.name for f in scaffold.dataclasses.fields(module.get_config(False)))
    print(script, sorted(own - fields))
    for name in own:
        delattr(flags.FLAGS, name)
print("tensorflow loaded:", "tensorflow" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code, ROOT], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "tensorflow loaded: False"  # run_all reads the configs cheaply
    strays = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in lines[:-1]}
    assert set(strays) == set(SCRIPTS)
    assert {s: v for s, v in strays.items() if v != "[]"} == {"tabular_imputation": "['fresh']"}


def test_list_prints_every_stage_with_its_tier_and_minutes_and_the_tier_totals(tmp_path):
    result = _run_all(tmp_path, "--list", fake=False)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    planned = run_all.stages()
    minutes = run_all.expected(planned)  # from the committed results files
    rows = lines[1:1 + len(planned)]
    for p, line in zip(planned, rows):
        words, m = line.split(), minutes[p.name]
        assert words[:5] == [p.name, p.stage.tier, f"{m.full:g}", f"{p.stage.minutes[1]:g}",
                             m.source.split()[0]], line
        assert f"{p.script}.py" in line and (p.variant is None or f"--variant={p.variant}" in line)
        assert m.measured or f"({m.why})" in line  # an estimate says why
    totals = {}
    for tier, line in zip((*scaffold.TIERS, "all"), lines[1 + len(planned):]):
        chosen = [p for p in planned if tier in ("all", p.stage.tier)]
        full = totals[tier] = sum(minutes[p.name].full for p in chosen)
        quick = sum(p.stage.minutes[1] for p in chosen)
        measured = sum(minutes[p.name].measured for p in chosen)
        assert line == (f"{tier}: {len(chosen)} stages, {full:g} min full ({measured} measured), "
                        f"{quick:g} min quick")
    assert lines[-1] == "targets: " + "; ".join(
        f"{tier} {totals[tier]:g} of {target} min, {abs(totals[tier] - target):g} min "
        f"{'over' if totals[tier] > target else 'to spare'}"
        for tier, target in (("thesis", 90), ("all", 480)))
    assert len(lines) == 1 + len(planned) + 4 and not os.listdir(tmp_path)


def _fake_results(out_dir, name, wall, config=None, rows=()):
    """`<out_dir>/<name>.md` with a header recording `wall` seconds and a table of `rows`;
    given `config`, a fingerprint beside it recording that config (all status compares)."""
    os.makedirs(out_dir, exist_ok=True)
    lines = ["# A table", "", "Command: `python experiments/x.py`  ", "Budget: some  ",
             "Seed: 0  ", f"Written: 2026-12-01 10:00, commit abc1234, 2 cores; wall time {wall} s",
             "", "| experiment | metric | thesis | ours | ours - thesis | note |",
             "|---|---|---|---|---|---|", *rows]
    with open(os.path.join(out_dir, f"{name}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if config is not None:
        with open(os.path.join(out_dir, f"{name}.fingerprint.json"), "w") as f:
            json.dump({"config": json.loads(canonical(config)),
                       "config_sha256": Hashes.text(canonical(config))}, f)


def _row(listing, name):
    return next(line for line in listing.splitlines() if line.split()[0] == name)


def test_list_takes_the_wall_time_of_a_results_file_written_with_the_config_now(tmp_path):
    planned = run_all.stages()
    config = run_all.current_config(planned)("latent_2d")
    _fake_results(str(tmp_path), "latent_2d", 1250, config)  # 20.8 min: 21 in whole minutes
    minutes = run_all.expected(planned, str(tmp_path))
    assert minutes["latent_2d"] == stage_minutes.Minutes(21, "measured 2026-12-01 (commit "
                                                               "abc1234)")
    listing = run_all.listing(planned, minutes)
    assert _row(listing, "latent_2d").split()[:9] == [
        "latent_2d", "beyond", "21", "1", "measured", "2026-12-01", "(commit", "abc1234)",
        "latent_2d.py"]
    estimate = next(p for p in planned if p.name == "latent_2d").stage.minutes[0]
    assert estimate != 21  # the config's estimate is not what the list shows
    others = [minutes[p.name] for p in planned if p.name != "latent_2d"]
    assert all(m.source == "estimate" and m.why == "no results file" for m in others)
    beyond = sum(minutes[p.name].full for p in planned if p.stage.tier == "beyond")
    assert f"beyond: {sum(p.stage.tier == 'beyond' for p in planned)} stages, {beyond:g} min " \
           "full (1 measured)" in listing


@pytest.mark.parametrize("fingerprint, why", [
    ("changed", "its 1250 s was for another config: config epochs: 51 -> 50"),
    (None, "its 1250 s of 2026-12-01: no fingerprint to check its config"),
    ("no file", "no results file")])
def test_list_falls_back_to_the_estimate_when_the_config_changed_or_is_unknown(
        tmp_path, fingerprint, why):
    planned = run_all.stages()
    config = run_all.current_config(planned)("latent_2d")
    assert config["epochs"] == 50
    if fingerprint != "no file":
        _fake_results(str(tmp_path), "latent_2d", 1250,
                      dict(config, epochs=51) if fingerprint == "changed" else None)
    minutes = run_all.expected(planned, str(tmp_path))
    estimate = next(p for p in planned if p.name == "latent_2d").stage.minutes[0]
    assert minutes["latent_2d"] == stage_minutes.Minutes(estimate, "estimate", why)
    row = _row(run_all.listing(planned, minutes), "latent_2d")
    assert row.split()[2:5] == [f"{estimate:g}", "1", "estimate"] and row.endswith(f"({why})")


@pytest.mark.parametrize("row, work", [
    ("| mnist (default preset) | training seconds | - | 352.3 | - |  |", 352.3),
    ("| mnist, Bernoulli | test RMSE | - | 0.0893 | - | 30 epochs, 167 s |", 167),
    ("| yale_faces, 200 epochs | wall (s) | - | 1222.7 | - | 2,600 steps; 899 s of training |",
     899),
    ("| a | b | - | 1 | - | 60 cells; their compute time summed: 10,802 s |", 10802)])
def test_list_refuses_the_wall_time_of_a_rewrite_from_earlier_work(tmp_path, row, work):
    # Finished run folders or cached cells let a rerun rewrite its table in seconds: the
    # file's own figure of work done then exceeds its wall time.
    planned = run_all.stages()
    config = run_all.current_config(planned)("latent_2d")
    _fake_results(str(tmp_path), "latent_2d", 40, config, [row])
    m = run_all.expected(planned, str(tmp_path))["latent_2d"]
    assert m.source == "estimate" and m.why == (f"its 40 s rewrote the table from earlier work: "
                                                f"it reports {work:.0f} s of it")
    _fake_results(str(tmp_path), "latent_2d", 10900, config, [row])  # a run that did it
    assert run_all.expected(planned, str(tmp_path))["latent_2d"].full == 182


def test_a_run_resumed_from_budget_to_budget_counts_its_largest_figure_once():
    # face_identity's rows: one run per candidate, its training seconds at each budget
    rows = "\n".join(f"| gaussian, {e} epochs | RMSE | - | 0.1 | - | {e * 12:,} steps, {s} s of "
                     "training |" for e, s in ((30, 255), (100, 1712), (200, 3015)))
    assert stage_minutes.work_seconds(rows) == 3015  # not their sum, 4982
    assert stage_minutes.work_seconds("| a | RMSE | - | 0.1 | - | 3 s per fold |") is None


# run_all with each stage's run replaced by a file written into its --out_dir (no TensorFlow).
_FAKE_RUNS = """
import os, sys
sys.path.insert(0, sys.argv.pop(1))
from experiments import common, run_all
from absl import app

common.RESULTS = os.environ.get("FAKE_RESULTS", common.RESULTS)  # a test's results folder

def call(args):
    out = next((a.split("=", 1)[1] for a in args if a.startswith("--out_dir=")), None)
    if out:  # a full run would write experiments/results: the fake writes nothing there
        with open(os.path.join(out, "table.md"), "w") as f:
            f.write("a quick table")
    print("ran", *[os.path.basename(a) for a in args[1:]
                   if not a.startswith(("--out_dir", "--data_root"))])
    return 0

run_all.subprocess.call = call
app.run(run_all.main, argv=["run_all.py", *sys.argv[1:]])
"""


def _run_all(tmp_path, *args, fake=True, results=None):
    env = {k: v for k, v in os.environ.items() if k != "VAE_TF_DATA_DIR"}
    env["TMPDIR"] = str(tmp_path)  # where tempfile.mkdtemp makes the scratch folder
    env.update({"FAKE_RESULTS": results} if results else {})
    script = (["-c", _FAKE_RUNS, ROOT] if fake
              else [os.path.join(ROOT, "experiments", "run_all.py")])
    return subprocess.run([sys.executable, *script, *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_quick_removes_its_scratch_folder_at_the_end(tmp_path):
    result = _run_all(tmp_path, "--quick", "--only=latent_2d,training_budget")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not glob.glob(str(tmp_path / "vae_tf_run_all_*"))
    assert "removed with their scratch folder" in result.stdout and "--keep" in result.stdout


def test_quick_keep_keeps_the_scratch_folder_and_says_where(tmp_path):
    result = _run_all(tmp_path, "--quick", "--keep", "--only=latent_2d")
    assert result.returncode == 0, result.stderr[-2000:]
    [scratch] = glob.glob(str(tmp_path / "vae_tf_run_all_*"))
    assert os.path.exists(os.path.join(scratch, "table.md"))
    assert f"quick results kept in {scratch}" in result.stdout


def test_a_variant_stage_runs_its_script_with_the_variant_flag(tmp_path):
    result = _run_all(tmp_path, "--quick", "--only=miwae_defaults_random,miwae_vs_knn_conv")
    assert result.returncode == 0, result.stderr[-2000:]
    ran = [line for line in result.stdout.splitlines() if line.startswith("ran ")]
    assert ran == ["ran miwae_defaults.py --variant=random --quick",
                   "ran miwae_vs_knn.py --variant=conv --quick"]


def test_keep_without_quick_is_one_line(tmp_path):
    result = _run_all(tmp_path, "--keep", f"--data_root={tmp_path}", fake=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == ("run_all: --keep does not apply here (it keeps --quick's "
                                     "scratch folder; a full run writes experiments/results/); "
                                     "drop it or add --quick")


def test_every_script_starts_through_the_scaffold_by_path_and_as_a_module(tmp_path):
    for script in SCRIPTS:
        text = open(os.path.join(ROOT, "experiments", f"{script}.py")).read()
        ending = '\nif __name__ == "__main__":\n    scaffold.start(get_config, main'
        assert ending in text, script
    # Both ways in reach the scaffold's checks before TensorFlow starts (one line, exit 1).
    for how in (["experiments/latent_2d.py"], ["-m", "experiments.latent_2d"]):
        result = subprocess.run([sys.executable, *how, "--quick", "--table=a/b"], cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and result.stderr.startswith(
            "latent_2d: --table='a/b' is not a plain file name"), (how, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1


def test_status_names_every_stage_and_exits_1_while_any_is_stale(tmp_path):
    result = _run_all(tmp_path, "--status", fake=False)
    names = [p.name for p in run_all.stages()]
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines[:-1]] == names
    states = [line.split()[1] for line in lines[:-1]]
    assert set(states) <= {"current", "stale"}
    assert result.returncode == (1 if "stale" in states else 0), result.stderr[-2000:]
    assert lines[-1].startswith(f"{states.count('stale')} of {len(names)} results stale"
                                if "stale" in states else "all ")


def test_stale_with_a_budget_runs_only_what_fits_and_says_what_waits(tmp_path):
    # the committed tables carry no fingerprints yet, or some are stale: either way the
    # plan takes the stale stages in --list's order while they fit the budget
    # (the same data root as the run below: a table current on the real data is stale on
    # tmp_path's, which holds none of its files)
    status = _run_all(tmp_path, "--status", f"--data_root={tmp_path}", fake=False)
    stale = [line.split()[0] for line in status.stdout.splitlines()[:-1]
             if line.split()[1] == "stale"]
    assert stale or status.returncode == 0
    if not stale:
        return  # every committed table is current: nothing to plan (exit 0 checked above)
    minutes = {name: m.full for name, m in run_all.expected(run_all.stages()).items()}
    budget = minutes[stale[0]]  # exactly the first stale stage fits
    result = _run_all(tmp_path, "--stale", f"--budget={budget:g}", "--quick", fake=True)
    assert result.returncode == 1 and "--quick" in result.stderr  # --quick writes no results
    result = _run_all(tmp_path, "--stale", f"--budget={budget:g}",
                      f"--data_root={tmp_path}", fake=True)
    assert result.returncode == 0, result.stderr[-2000:]
    ran = [line for line in result.stdout.splitlines() if line.startswith("ran ")]
    command = {p.name: p.command for p in run_all.stages()}[stale[0]]
    assert ran == [" ".join(["ran", *command])]  # the first stale stage, and nothing else
    assert f"to run now: {stale[0]} ({budget:g} min); about {budget:g} min of the " \
           f"{budget:g} min budget" in result.stdout


def test_budget_without_stale_is_one_line(tmp_path):
    result = _run_all(tmp_path, "--budget=30", fake=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == ("run_all: --budget applies to --stale (it picks the stale "
                                     "stages that fit); add --stale")


def test_budget_plans_with_the_measured_minutes(tmp_path):
    results = str(tmp_path / "results")
    planned = run_all.stages()
    _fake_results(results, "latent_2d", 1250, run_all.current_config(planned)("latent_2d"))
    estimate = next(p for p in planned if p.name == "latent_2d").stage.minutes[0]
    assert estimate <= 20  # the estimate would fit the budget; the measured 21 min do not
    result = _run_all(tmp_path, "--stale", "--budget=20", f"--data_root={tmp_path}",
                      results=results)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "longer than the whole budget, not run: " in result.stdout
    assert "latent_2d (21 min)" in result.stdout and "ran latent_2d.py" not in result.stdout
