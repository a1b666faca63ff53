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
    monkeypatch.setattr(common, "_QUICK", [])
    out_dir, log_root = common.output_dirs(None, None, quick=True)
    assert os.path.realpath(out_dir) != os.path.realpath(common.RESULTS)
    assert log_root.startswith(out_dir) and os.path.isdir(out_dir)
    assert common.output_dirs(None, None, quick=True)[0] != out_dir  # never shared
    os.rmdir(out_dir)


@pytest.mark.parametrize("inside", ["", "sub"])
def test_quick_refuses_the_results_folder_and_below(monkeypatch, tmp_path, inside):
    # Decided on the quick argument, not on "--quick" in argv (--quick=true, flag files).
    monkeypatch.setattr(sys, "argv", ["script.py", "--quick=true"])
    monkeypatch.setattr(common, "_QUICK", [])
    target = os.path.join(common.RESULTS, inside)
    with pytest.raises(SystemExit, match="never writes into experiments/results"):
        common.output_dirs(target, None, quick=True)
    with pytest.raises(SystemExit, match="never writes into experiments/results"):
        common.output_dirs(None, os.path.join(common.RESULTS, "logs"), quick=True)
    assert common._QUICK  # the quick run is now known to write_table
    with pytest.raises(SystemExit, match="never writes into experiments/results"):
        common.write_table("t", "t", "-", [], "-", 0, out_dir=target)
    assert os.path.exists(common.write_table("t", "t", "-", [], "-", 0, out_dir=str(tmp_path)))


def test_collapse_flag_catches_a_silent_kl_and_a_decoder_that_ignores_z():
    assert common.collapse_flag(18.9, spread=0.8) == ""
    assert common.collapse_flag(0.05, spread=0.8).startswith("collapsed (test KL 0.05 < 1 nat)")
    # A large KL with one image for every input (the ORL thesis preset) is collapse too.
    flag = common.collapse_flag(360.6, spread=0.04)
    assert flag == "collapsed (reconstructions nearly identical: spread 0.04 of the data's < 0.25)"
