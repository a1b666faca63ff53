"""experiments/common.py and scaffold.py: where results go, that --quick never writes
experiments/results, and how a run's config is settled from get_config, a variant and flags."""

import os
import subprocess
import sys

import pytest
from absl import flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from experiments import common, miwae_defaults, miwae_vs_knn, scaffold  # noqa: E402


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


def test_the_recorded_command_gives_path_flags_relative_to_the_repository(monkeypatch):
    script = os.path.join(ROOT, "experiments", "latent_2d.py")
    monkeypatch.setattr(sys, "argv", [script, f"--data_root={os.path.dirname(ROOT)}/data",
                                      "--out_dir=/tmp/x", "--log_root=rel/logs", "--seed=3"])
    relative = os.path.relpath("/tmp/x", ROOT)
    assert common.command_line() == ("python experiments/latent_2d.py --data_root=../data "
                                     f"--out_dir={relative} --log_root=rel/logs --seed=3")


def test_collapse_flag_catches_a_silent_kl_and_a_decoder_that_ignores_z():
    assert common.collapse_flag(18.9, spread=0.8) == ""
    assert common.collapse_flag(0.05, spread=0.8).startswith("collapsed (KL 0.05 < 1 nat)")
    # A large KL with one image for every input (the ORL thesis preset) is collapse too.
    flag = common.collapse_flag(360.6, spread=0.04)
    assert flag == "collapsed (reconstructions nearly identical: spread 0.04 of the data's < 0.25)"


def _found(kl, units, flag=""):
    """A model's diagnosis as collapse.latent_diagnosis gives it (32 latent units)."""
    return {"test_kl": kl, "latent_units_in_use": units, "latent_units": 32,
            "reconstruction_spread": None, "collapsed": bool(flag), "collapse": flag}


def test_a_kl_row_carries_the_units_in_use_and_each_collapse_flag():
    one, flag = _found(12.3456, 20), "collapsed (KL 0.50 < 1 nat)"
    row = common.kl_row("MIWAE", one)
    assert (row.experiment, row.metric, row.ours) == ("MIWAE", "test KL (nats)", 12.3456)
    assert row.note == "20 of 32 latent units in use"
    assert common.collapse_note(_found(0.5, 0, flag)) == f"0 of 32 latent units in use; {flag}"
    assert common.kl_note(one) == "KL 12.35 nats, 20 of 32 latent units in use"
    assert common.kl_note({"seed 3": one}) == common.kl_note(one)  # one model, named
    # several models (an ensemble's seeds, the folds): their mean, the ranges, each flag named
    row = common.kl_row("MIWAE", {"seed 0": one, "seed 1": _found(0.5, 0, flag)},
                        "validation KL (nats)")
    assert row.metric == "validation KL (nats)" and row.ours == pytest.approx(6.4228)
    assert row.note == ("0-20 of 32 latent units in use; mean of 2 models (0.50-12.35 nats); "
                        f"seed 1: {flag}")


def test_diagnoses_name_an_ensembles_members_by_their_seeds():
    import numpy as np

    class Member:  # q(z | x) = N(seed, 1) on each of 2 units: seed^2 / 2 nats a unit
        def __init__(self, seed):
            self.seed = seed

        def posterior(self, x):
            return np.full((len(x), 2), float(self.seed)), np.zeros((len(x), 2))

    class Ensemble:
        imputers_ = [Member(0), Member(1)]

    x = np.zeros((5, 3))
    found = common.diagnoses(Ensemble(), x)
    assert list(found) == ["seed 0", "seed 1"]
    assert found["seed 1"]["test_kl"] == pytest.approx(1.0) and found["seed 1"]["collapse"] == ""
    assert found["seed 0"]["collapse"].startswith("collapsed (KL 0.00 < 1 nat)")
    assert common.diagnoses(Member(1), x) == {"": found["seed 1"]}  # a lone model
    assert list(common.prefixed("u1", found)) == ["u1, seed 0", "u1, seed 1"]
    assert list(common.prefixed("u1", {"": found["seed 0"]})) == ["u1"]


# -- the scaffold: get_config, then the variant, then the flags given ----------------------
def test_settle_lays_the_variant_and_then_the_flags_over_the_quick_or_full_config():
    quick, full = miwae_vs_knn.get_config(True), miwae_vs_knn.get_config(False)
    conv = scaffold.settle(miwae_vs_knn.get_config, False, "conv")
    assert (conv.table, conv.miwae_arch, conv.schemes) == ("miwae_vs_knn_conv", "conv",
                                                           ("structured",))
    assert conv.impute_samples == full.impute_samples  # a field the variant leaves alone
    assert conv.stage != full.stage  # the variant's own expected minutes
    given = scaffold.settle(miwae_vs_knn.get_config, True, "conv", {"miwae_epochs": 7})
    assert given.miwae_epochs == 7 and given.impute_samples == quick.impute_samples
    assert scaffold.settle(miwae_vs_knn.get_config, True) == quick
    with pytest.raises(TypeError):  # a field no config has
        scaffold.settle(miwae_vs_knn.get_config, True, given={"no_such_field": 1})


def _parsed(get_config, *argv, define=None):
    """Fresh flags: the shared ones for get_config's script (and `define`'s), parsed."""
    fv = flags.FlagValues()
    scaffold.define_shared(get_config(False), logs="x", flag_values=fv)
    if define is not None:
        define(fv)
    fv(["script", *argv])
    return fv


def test_a_variant_flag_sets_the_variant_and_its_table(tmp_path):
    fv = _parsed(miwae_defaults.get_config, "--variant=random", f"--out_dir={tmp_path}")
    run = scaffold.prepare("miwae_defaults", miwae_defaults.get_config, ["script"],
                           logs="x", flag_values=fv)
    assert run.config.table == "miwae_defaults_random" and run.config.missing == ("random",)
    assert run.figure("a.png") == os.path.join(str(tmp_path), "miwae_defaults_random", "a.png")
    fv = _parsed(miwae_defaults.get_config, f"--out_dir={tmp_path}")
    plain = scaffold.prepare("miwae_defaults", miwae_defaults.get_config, ["script"],
                             logs="x", flag_values=fv)
    assert plain.config.table == "miwae_defaults" and plain.config.missing == ("structured",)


def test_a_flag_given_wins_over_the_config_and_one_left_out_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "_QUICK", [])

    def define(fv):
        flags.DEFINE_integer("miwae_epochs", None, "-", flag_values=fv)
        flags.DEFINE_integer("impute_samples", None, "-", flag_values=fv)
        scaffold.define_ints("ks", "-", flag_values=fv)

    fv = _parsed(miwae_vs_knn.get_config, "--quick", "--miwae_epochs=7", "--ks=2,4",
                 "--seed=5", f"--out_dir={tmp_path}", define=define)
    run = scaffold.prepare("miwae_vs_knn", miwae_vs_knn.get_config, ["script"],
                           logs="x", flag_values=fv)
    quick = miwae_vs_knn.get_config(True)
    assert (run.config.miwae_epochs, run.config.ks, run.config.seed) == (7, (2, 4), 5)
    assert run.config.impute_samples == quick.impute_samples == 100  # not given: the config's
    assert run.quick and run.out_dir == str(tmp_path)
    assert run.log_root == os.path.join(str(tmp_path), "logs")
    scaffold.describe_defaults(miwae_vs_knn.get_config, fv)
    assert fv["miwae_epochs"].help.endswith("Default: the config's, 100 (--quick: 2).")


@pytest.mark.parametrize("argv, message", [
    (["--variant=mlp"], "miwae_vs_knn: --variant='mlp' is not one of its variants; choose one "
                        "of: conv (miwae_vs_knn_conv)"),
    (["--table=../x"], "miwae_vs_knn: --table='../x' is not a plain file name; use letters, "
                       "digits, '_', '-' or '.', e.g. --table=miwae_vs_knn_conv"),
])
def test_a_bad_variant_or_table_is_one_line(argv, message, tmp_path):
    fv = _parsed(miwae_vs_knn.get_config, *argv, f"--out_dir={tmp_path}")
    with pytest.raises(SystemExit) as error:
        scaffold.prepare("miwae_vs_knn", miwae_vs_knn.get_config, ["script"], flag_values=fv)
    assert str(error.value) == message
    fv = _parsed(miwae_vs_knn.get_config, f"--out_dir={tmp_path}")
    with pytest.raises(SystemExit, match=r"^miwae_vs_knn: 'extra' is not a flag; pass settings "
                                         r"as --name=value \(--helpfull lists them\)$"):
        scaffold.prepare("miwae_vs_knn", miwae_vs_knn.get_config, ["script", "extra"],
                         flag_values=fv)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("value, fine", [("1,10,100", True), ("10,1", True), ("0,3", False),
                                         ("a", False), ("", False)])
def test_integer_list_flags_take_positive_integers(value, fine):
    fv = flags.FlagValues()
    scaffold.define_ints("ks", "-", flag_values=fv)
    scaffold.define_ints("epochs", "-", ascending=True, flag_values=fv)
    if fine:
        fv(["script", f"--ks={value}"])
        assert fv.ks == [int(v) for v in value.split(",")]
    else:
        with pytest.raises(flags.IllegalFlagValueError, match="takes positive integers"):
            fv(["script", f"--ks={value}"])
    with pytest.raises(flags.IllegalFlagValueError, match="ascending"):
        fv(["script", "--epochs=2,1"])


@pytest.mark.parametrize("argv, message", [
    (["--epochs=0"], "latent_2d: flag --epochs=0: 0 is not a positive integer; --helpfull "
                     "lists the flags"),
    (["--epoch=3"], "latent_2d: Unknown command line flag 'epoch'. Did you mean: epochs ?; "
                    "--helpfull lists the flags"),
])
def test_a_bad_flag_of_a_script_is_one_line(argv, message, tmp_path):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "latent_2d.py"),
                             "--quick", f"--out_dir={tmp_path}", *argv], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.strip() == message
    assert not os.listdir(tmp_path)
