"""The launcher end to end: default path, outputs, resume, reload, bad flags."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea

from vae_tf.datasets import load
import vae_tf


def launch(*args, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "vae_tf.main", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=600)


def events(logdir):
    acc = ea.EventAccumulator(logdir, size_guidance={ea.TENSORS: 0})
    acc.Reload()
    return acc


def graph_node_names(acc):
    """The op names of the training step's graph (the Graphs tab)."""
    return [n.name for n in acc.Graph().node]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The default path (mnist_5k, default preset) for one epoch, then resumed to two."""
    logdir = str(tmp_path_factory.mktemp("run") / "run")
    first = launch("--epochs=1", f"--logdir={logdir}", "--log_every=5")
    assert first.returncode == 0, first.stderr[-2000:]
    with open(os.path.join(logdir, "metrics.json")) as f:
        after_one = json.load(f)
    second = launch("--epochs=2", f"--logdir={logdir}", "--log_every=5")
    assert second.returncode == 0, second.stderr[-2000:]
    return logdir, after_one, first, second


@pytest.mark.slow
def test_default_run_writes_every_output(default_run):
    logdir, after_one, _, _ = default_run
    for name in ("config.json", "metrics.json", "model.keras", "figures/reconstructions.png",
                 "figures/samples.png", "figures/loss.png", "checkpoints/checkpoint"):
        assert os.path.exists(os.path.join(logdir, name)), name
    with open(os.path.join(logdir, "config.json")) as f:
        config = json.load(f)
    assert config["dataset"] == "mnist_5k" and config["preset"] == "default"
    for key in ("loss", "test_loss", "reconstruction_rmse", "reconstruction_mae", "epochs",
                "train_seconds", "train_images_per_second"):
        assert after_one[key] is not None, key
    assert after_one["epochs"] == 1
    assert 0 < after_one["reconstruction_mae"] < after_one["reconstruction_rmse"] < 0.5
    # The collapse diagnostics: the default preset uses its latent space after one epoch
    # (its reconstructions may still look alike: one epoch is 40 steps).
    assert after_one["test_kl"] > 1.0 and after_one["collapsed"] == bool(after_one["collapse"])
    assert 1 < after_one["latent_units_in_use"] <= after_one["latent_units"] == 32


@pytest.mark.slow
def test_events_hold_scalars_images_graph_and_hparams(default_run):
    acc = events(default_run[0])
    tags = set(acc.Tags()["tensors"])
    assert {"train/loss", "train/reconstruction", "train/kl", "test/loss", "steps/loss",
            "images/reconstructions", "images/samples"} <= tags
    # HParams: the row is named by the run folder, and the preset is among the five
    # columns TensorBoard shows at first (marked as differing; see summaries.Writer).
    from tensorboard.plugins.hparams import metadata as hp_metadata
    content = lambda tag: acc.SummaryMetadata(tag).plugin_data.content  # noqa: E731
    experiment = hp_metadata.parse_experiment_plugin_data(content("_hparams_/experiment"))
    shown = {info.name for info in experiment.hparam_infos if info.differs}
    assert shown == {"dataset", "preset", "mode", "epochs", "latent_dim"}
    start = hp_metadata.parse_session_start_info_plugin_data(
        content("_hparams_/session_start_info"))
    assert start.group_name == os.path.basename(default_run[0])
    assert start.hparams["preset"].string_value == "default"
    scopes = {name.split("/")[0] for name in graph_node_names(acc)}
    assert {"encoder", "decoder"} <= scopes
    # 4,000 images / batch 100 = 40 steps per epoch; steps/loss every 5 steps.
    assert [e.step for e in acc.Tensors("steps/loss")][:3] == [5, 10, 15]


@pytest.mark.slow
def test_resume_continues_at_the_next_epoch(default_run):
    logdir, after_one, _, second = default_run
    assert "resumed from" in second.stderr
    with open(os.path.join(logdir, "metrics.json")) as f:
        after_two = json.load(f)
    assert after_two["epochs"] == 2
    steps = [e.step for e in events(logdir).Tensors("train/loss")]
    assert steps == [1, 2]
    step_axis = [e.step for e in events(logdir).Tensors("steps/loss")]
    assert step_axis == sorted(step_axis) and step_axis[-1] == 80
    assert after_two["test_loss"] < after_one["test_loss"]
    with open(os.path.join(logdir, "history.jsonl")) as f:
        assert [json.loads(line)["epoch"] for line in f] == [1, 2]


@pytest.mark.slow
def test_saved_model_gives_identical_reconstructions(default_run):
    logdir = default_run[0]
    model = vae_tf.load_model(os.path.join(logdir, "model.keras"))
    test = load("mnist_5k").test
    recon = model.reconstruct(test).astype(np.float64)  # numpy in, numpy out
    z_mean, z_log_var = model.encode(test[:3])
    assert z_mean.shape == z_log_var.shape == (3, 32)
    np.testing.assert_allclose(model.decode(z_mean), recon[:3], rtol=1e-5, atol=1e-6)
    samples = model.sample(4, seed=1)
    assert samples.shape == (4, 784) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, model.sample(4, seed=1))
    with open(os.path.join(logdir, "metrics.json")) as f:
        metrics = json.load(f)
    rmse = float(np.sqrt(np.mean((recon - test) ** 2)))
    assert abs(rmse - metrics["reconstruction_rmse"]) < 1e-6


@pytest.mark.parametrize("args, needle", [
    (["--epochs=0"], "--epochs=0 must be a positive integer"),
    (["--batch_size=-5"], "--batch_size=-5 must be a positive integer"),
    (["--latent_dim=0"], "--latent_dim=0 must be a positive integer"),
    (["--hidden_dim=0"], "--hidden_dim=0 must be a positive integer"),
    (["--learning_rate=-0.1"], "--learning_rate=-0.1 must be a finite positive number"),
    (["--epochs=abc"], "--epochs"),
    (["--dataset=nope"], "--dataset"),
    (["--mode=fly"], "--mode"),
    (["--preset=fast"], "--preset"),
    (["--no_such_flag=1"], "no_such_flag"),
])
def test_bad_flags_exit_non_zero_with_one_line(tmp_path, args, needle):
    result = launch(*args, f"--logdir={tmp_path}/out")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0] and lines[0].startswith("vae-tf: error:")
    assert "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "out")


def test_unwritable_logdir_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = launch("--epochs=1", f"--logdir={blocker}/run")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("vae-tf: error: --logdir=")
    assert "Traceback" not in result.stderr


def test_batch_larger_than_data_is_one_line(tmp_path):
    result = launch("--epochs=1", "--batch_size=5000", f"--logdir={tmp_path}/run")
    assert result.returncode != 0
    assert "larger than the 4000 training examples" in result.stderr
    assert not os.path.exists(tmp_path / "run")


def test_nan_in_training_data_is_one_clear_error(tiny_data, tmp_path):
    import dataclasses
    from vae_tf.config import make_config
    from vae_tf.errors import UserError
    from vae_tf.train_run import run_train
    train = tiny_data.train.copy()
    train[3, 5] = np.nan
    data = dataclasses.replace(tiny_data, train=train)
    with pytest.raises(UserError, match="train contains NaN or infinite values"):
        run_train(make_config(epochs=1, batch_size=10, logdir=str(tmp_path / "run")), data=data)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_training_on_ratings_and_a_changed_model_in_an_old_logdir(default_run, tmp_path):
    import fixtures
    fixtures.write_movielens(tmp_path / "data")
    result = launch("--dataset=movielens_100k", f"--data_dir={tmp_path}/data", f"--logdir={tmp_path}/r")
    assert result.returncode == 2
    assert "holds ratings, which --mode=train does not model" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "r").exists()
    result = launch("--dataset=mnist", f"--data_dir={tmp_path}/absent", f"--logdir={tmp_path}/r")
    assert result.returncode == 2 and "no such folder" in result.stderr.strip().splitlines()[-1]
    result = launch("--epochs=3", "--latent_dim=7", f"--logdir={default_run[0]}")
    assert result.returncode == 2
    assert "holds a run with different latent_dim" in result.stderr.strip().splitlines()[-1]


def test_positional_argument_is_refused(tmp_path):
    result = launch("train", f"--logdir={tmp_path}/run")
    assert result.returncode == 2
    assert "unexpected argument 'train'" in result.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_console_script_with_a_2d_latent_writes_scatter_and_manifold(tmp_path):
    script = os.path.join(os.path.dirname(sys.executable), "vae-tf")
    assert os.path.exists(script), "the vae-tf console script is not installed"
    logdir = tmp_path / "run"
    result = subprocess.run([script, "--latent_dim=2", "--epochs=1", f"--logdir={logdir}"],
                            capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("latent.png", "manifold.png", "reconstructions.png"):
        assert (logdir / "figures" / name).stat().st_size > 1000


@pytest.mark.slow
def test_colour_images_train_and_render_in_colour(tmp_path):
    import fixtures
    fixtures.write_cifar(tmp_path / "data", n_per_batch=20)
    logdir = tmp_path / "run"
    result = launch("--dataset=cifar10_rgb", f"--data_dir={tmp_path}/data", "--epochs=1",
                    "--batch_size=10", f"--logdir={logdir}")
    assert result.returncode == 0, result.stderr[-2000:]
    acc = events(str(logdir))
    png = acc.Tensors("images/reconstructions")[0].tensor_proto.string_val
    import io
    from PIL import Image
    picture = Image.open(io.BytesIO(png[2]))  # [width, height, encoded image]
    assert picture.mode == "RGB" and picture.size == (10 * 32, 2 * 32)


def test_console_script_help_lists_our_flags():
    script = os.path.join(os.path.dirname(sys.executable), "vae-tf")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == ""  # absl's own --help exits 1
    for flag in ("--dataset", "--mode", "--imputer", "--strategy", "--seed", "--likelihood"):
        assert flag in result.stdout, flag
    assert "--log_dir:" not in result.stdout  # absl's flags only in --helpfull


@pytest.mark.parametrize("flag", ["--help", "-h", "--helpshort", "--helpfull"])
def test_help_exits_0_and_its_first_line_says_what_the_program_does(flag):
    result = launch(flag)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.splitlines()[0] == ("vae-tf: train a variational autoencoder on "
                                             "images, or impute missing values in images or "
                                             "a table.")
    assert "--logdir:" in result.stdout
    assert ("--log_dir:" in result.stdout) == (flag == "--helpfull")


def test_absl_look_alikes_of_our_flags_are_the_ones_the_docstring_names():
    from vae_tf import main as launcher
    assert launcher._LOOK_ALIKES == {"log_dir": "logdir"}
    assert "--log_dir (a look-alike of our\n--logdir" in launcher.__doc__


def test_help_shows_both_presets_values_for_every_setting_the_thesis_preset_sets():
    from vae_tf import main as launcher
    from vae_tf.config import FLAG_FIELDS, make_config
    thesis, default = make_config("thesis"), make_config("default")
    changed = {f.name for f in FLAG_FIELDS
               if f.name != "preset" and getattr(thesis, f.name) != getattr(default, f.name)}
    marked = {f.name for f in FLAG_FIELDS if "thesis preset: " in launcher.FLAGS[f.name].help
              and "; see --preset)" in launcher.FLAGS[f.name].help}
    # Every setting the preset changes (hidden_dim it sets to the default's 400), no other.
    assert changed == {"epochs", "batch_size", "latent_dim", "learning_rate", "init_stddev",
                       "adam_epsilon"}
    assert marked == changed | {"hidden_dim"}
    assert launcher.FLAGS["adam_epsilon"].help.endswith(
        "(default preset: 1e-07, thesis preset: 1e-08; see --preset)")
