"""experiments/run_all.py names every committed results table, and each variant's flags;
--quick's scratch folder goes at the end unless --keep; every script starts TensorFlow quietly."""

import ast
import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "experiments"))

import run_all  # noqa: E402


def test_every_committed_table_has_a_run_all_entry_and_every_entry_a_script():
    names = {name for name, *_ in run_all.SCRIPTS}
    tables = {os.path.basename(p)[:-3]
              for p in glob.glob(os.path.join(ROOT, "experiments", "results", "*.md"))}
    assert tables and tables <= names, sorted(tables - names)
    for name in names:
        script = run_all.VARIANTS.get(name, (name, []))[0]
        assert os.path.exists(os.path.join(ROOT, "experiments", f"{script}.py")), name


def test_a_variant_writes_the_table_it_is_named_after():
    for name, (script, flags) in run_all.VARIANTS.items():
        assert name in {n for n, *_ in run_all.SCRIPTS}, name
        assert f"--table={name}" in flags and script != name


# run_all with each script's run replaced by a file written into its --out_dir (no TensorFlow).
_FAKE_RUNS = """
import os, sys
sys.path.insert(0, sys.argv.pop(1))
import run_all
from absl import app

def call(args):
    out = next(a.split("=", 1)[1] for a in args if a.startswith("--out_dir="))
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("a quick table")
    return 0

run_all.subprocess.call = call
app.run(run_all.main, argv=["run_all.py", *sys.argv[1:]])
"""


def _run_all(tmp_path, *args, fake=True):
    env = {k: v for k, v in os.environ.items() if k != "VAE_TF_DATA_DIR"}
    env["TMPDIR"] = str(tmp_path)  # where tempfile.mkdtemp makes the scratch folder
    script = (["-c", _FAKE_RUNS, os.path.join(ROOT, "experiments")] if fake
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


def test_keep_without_quick_is_one_line(tmp_path):
    result = _run_all(tmp_path, "--keep", f"--data_root={tmp_path}", fake=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == ("run_all: --keep does not apply here (it keeps --quick's "
                                     "scratch folder; a full run writes experiments/results/); "
                                     "drop it or add --quick")


def _imports(path):
    """The top-level modules `path` imports, in order."""
    names = []
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module)
    return names


def test_every_script_imports_common_before_anything_that_loads_tensorflow():
    # common.py starts TensorFlow through vae_tf.startup (its start-up chatter dropped):
    # only if nothing loaded it earlier. test_experiments.py runs a script to see its stderr.
    scripts = [p for p in glob.glob(os.path.join(ROOT, "experiments", "*.py"))
               if '__name__ == "__main__"' in open(p).read()
               and os.path.basename(p) != "run_all.py"]  # run_all only starts the others
    assert len(scripts) >= 15
    for path in scripts:
        names = _imports(path)
        assert "common" in names, path
        before = names[:names.index("common")]
        assert not [n for n in before if n.split(".")[0] in ("vae_tf", "tensorflow", "keras",
                                                             "small_data")], path
