"""experiments/common.py: where results go, and that --quick never writes experiments/results."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "experiments"))
import common  # noqa: E402


def test_full_runs_default_to_the_committed_folders():
    assert common.output_dirs(None, None, quick=False, logs="x") == (
        common.RESULTS, os.path.join("logs", "x"))


def test_quick_runs_default_to_one_fresh_scratch_folder(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["script.py", "--quick"])
    out_dir, log_root = common.output_dirs(None, None, quick=True)
    assert os.path.realpath(out_dir) != os.path.realpath(common.RESULTS)
    assert log_root.startswith(out_dir) and os.path.isdir(out_dir)
    assert common.output_dirs(None, None, quick=True)[0] != out_dir  # never shared


def test_quick_refuses_the_results_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["script.py", "--quick", f"--out_dir={common.RESULTS}"])
    with pytest.raises(SystemExit, match="never writes into experiments/results"):
        common.output_dirs(common.RESULTS, None, quick=True)
    with pytest.raises(SystemExit, match="never writes into experiments/results"):
        common.write_table("t", "t", "-", [], "-", 0, out_dir=common.RESULTS)
    assert os.path.exists(common.write_table("t", "t", "-", [], "-", 0, out_dir=str(tmp_path)))
