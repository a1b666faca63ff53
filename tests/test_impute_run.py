"""`--mode=impute` from the launcher: images and MovieLens, outputs and bad input."""

import json
import os

import pytest

import fixtures
from conftest import launcher_adam_epsilon
from test_main import events, launch

KEYS = ("rmse", "mae", "rmse_missing", "mae_missing", "seconds", "imputer", "missing", "dataset")


def _metrics(logdir):
    with open(os.path.join(logdir, "metrics.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("imputer, missing, flag", [("knn", "structured", "--k=3"),
                                                    ("vae", "random", "--epochs=2")])
@pytest.mark.slow
def test_impute_images_writes_metrics_pictures_and_events(tmp_path, imputer, missing, flag):
    logdir = str(tmp_path / "run")
    result = launch("--mode=impute", f"--imputer={imputer}", f"--missing={missing}", flag,
                    f"--logdir={logdir}")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = _metrics(logdir)
    assert all(k in metrics for k in KEYS)
    assert metrics["imputer"] == imputer and metrics["missing"] == missing
    # Over all entries the exact observed ones dilute the error (the thesis's measure).
    assert 0 < metrics["rmse"] < metrics["rmse_missing"] < 0.5
    assert os.path.exists(os.path.join(logdir, "figures", "imputation.png"))
    tags = set(events(logdir).Tags()["tensors"])
    assert {"images/originals", "images/with_holes", "images/imputed"} <= tags
    if imputer == "vae":
        assert "train/loss" in tags and "train_rmse_missing" in metrics
    else:
        assert "KNNImputer(" in metrics["imputer_settings"]
        assert "n_neighbors=3" in metrics["imputer_settings"]


@pytest.mark.slow
@pytest.mark.parametrize("imputer", ["knn", "vae", "rating_vae"])
def test_impute_movielens_judged_on_ua_test(tmp_path, imputer):
    fixtures.write_movielens(tmp_path / "data")
    logdir = str(tmp_path / "run")
    flags = ["--k=5"] if imputer == "knn" else ["--epochs=2", "--batch_size=100"]
    result = launch("--mode=impute", "--dataset=movielens_100k", f"--data_dir={tmp_path}/data",
                    f"--imputer={imputer}", *flags, f"--logdir={logdir}")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = _metrics(logdir)
    assert metrics["test_ratings"] == 9430
    assert 0 < metrics["mae"] <= metrics["rmse"] < 4
    assert 1 <= metrics["mean_predicted_rating"] <= 5
    assert os.path.exists(os.path.join(logdir, "figures", "ratings.png"))
    if imputer == "rating_vae":
        # three seeds averaged by SeedEnsemble, as every trained imputer's seeds
        assert metrics["imputer_settings"].startswith("SeedEnsemble(imputer=RatingVAE(")
        assert metrics["imputer_settings"].endswith("n_seeds=3)")
        assert "epochs=2" in metrics["imputer_settings"]  # given flags override its defaults
        assert all(os.path.isdir(os.path.join(logdir, f"seed-{k}")) for k in range(3))


@pytest.mark.parametrize("args, needle", [
    (["--imputer=knn", "--k=5000"], "--k=5000 is more than the 4000 reference examples"),
    (["--imputer=knn", "--k=0"], "--k=0 must be a positive integer"),
    (["--imputer=knn", "--strategy=mirrored"], "--strategy=mirrored does not apply here"),
    (["--imputer=vae", "--iwae_samples=50"], "--iwae_samples=50 does not apply here"),
    (["--imputer=vae", "--k=5"], "--k=5 does not apply here"),
    (["--imputer=vae", "--batch_size=9000"], "--batch_size=9000 is larger than the 4000"),
    (["--imputer=knn", "--adam_epsilon=1e-8"], "--adam_epsilon=1e-08 does not apply here "
     "(--imputer=knn does not train)"),
    (["--imputer=miwae", "--adam_epsilon=1e-8"], "--adam_epsilon=1e-08 does not apply here "
     "(--imputer=miwae keeps Keras's Adam epsilon 1e-7"),
    (["--imputer=forest"], "--imputer"),
    (["--missing=blocks"], "--missing"),
])
def test_bad_impute_input_is_one_line(tmp_path, args, needle):
    result = launch("--mode=impute", *args, f"--logdir={tmp_path}/run")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("vae-tf: error:") and needle in lines[-1], result.stderr[-1500:]
    assert "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "run")


@pytest.mark.parametrize("args, epsilon", [
    (["--preset=thesis", "--epochs=1"], 1e-8),  # the thesis imputer's TF 1 Adam
    (["--epochs=1"], 1e-7),  # the default preset: Keras's, as in --mode=train
    (["--preset=thesis", "--epochs=1", "--adam_epsilon=1e-6"], 1e-6),
])
def test_the_thesis_imputer_trains_with_the_configs_adam_epsilon(monkeypatch, tmp_path, args,
                                                                 epsilon):
    from vae_tf.imputers import training
    got = launcher_adam_epsilon(monkeypatch, training, ["--mode=impute", "--imputer=vae", *args,
                                                        f"--logdir={tmp_path}/run"])
    assert got == pytest.approx(epsilon, rel=1e-6)


def test_miwae_keeps_its_own_defaults_unless_a_setting_is_given(tmp_path):
    """--imputer=miwae: MIWAEImputer's tuned defaults, not the launcher's VAE settings
    (the thesis preset sets epochs 100, batch 250, latent 64, rate 0.01 for its VAE)."""
    from vae_tf.config import make_config
    from vae_tf.imputers import MIWAEImputer
    from vae_tf.impute_run import make_imputer
    from vae_tf.rundir import RunDir
    run = RunDir(str(tmp_path / "run"), "logdir")
    try:
        plain = make_imputer(make_config("thesis", mode="impute", imputer="miwae"), run,
                             ratings=False)
        given = make_imputer(make_config(mode="impute", imputer="miwae", epochs=3,
                                         hidden_layers=3, arch="mlp"), run, ratings=False)
    finally:
        run.close()
    defaults = MIWAEImputer().get_params()
    for name in ("epochs", "batch_size", "learning_rate", "latent_dim", "hidden_dim",
                 "hidden_layers"):
        assert plain.get_params()[name] == defaults[name], name
    assert given.epochs == 3 and given.hidden_layers == 3
    assert given.latent_dim == defaults["latent_dim"]


def test_miwae_fits_conv_on_the_dataset_images_unless_arch_mlp_and_the_others_refuse_it(
        tmp_path):
    from vae_tf.config import make_config
    from vae_tf.errors import UserError
    from vae_tf.impute_run import make_imputer
    from vae_tf.imputers.miwae import DEFAULT_EPOCHS
    from vae_tf.rundir import RunDir
    run = RunDir(str(tmp_path / "run"), "logdir")
    try:
        plain = make_imputer(make_config(mode="impute", imputer="miwae"), run, ratings=False,
                             image_shape=(28, 28, 1))
        conv = make_imputer(make_config(mode="impute", imputer="miwae", arch="conv"), run,
                            ratings=False, image_shape=(28, 28, 1))
        mlp = make_imputer(make_config(mode="impute", imputer="miwae", arch="mlp"), run,
                           ratings=False, image_shape=(28, 28, 1))
    finally:
        run.close()
    assert plain._arch() == conv._arch() == "conv" and mlp._arch() == "mlp"
    # The run folder records what is fitted: a default run and --arch=conv resume each other.
    assert make_config(mode="impute", imputer="miwae").arch == "conv"
    assert make_config(mode="impute", imputer="vae").arch == "mlp"
    assert mlp.image_shape is None  # --arch=mlp: no image in its settings
    from vae_tf.impute_run import settings
    shown = settings(make_config(mode="impute", imputer="miwae"), plain)["imputer_settings"]
    assert f"epochs={DEFAULT_EPOCHS['conv']}" in shown and "arch='conv'" in shown
    assert plain.image_shape == conv.image_shape == (28, 28, 1)
    assert (plain._epochs(), mlp._epochs()) == (DEFAULT_EPOCHS["conv"], DEFAULT_EPOCHS["mlp"])
    with pytest.raises(UserError, match=r"^--hidden_layers=3 sets the MLP's layers, but "
                       r"--imputer=miwae fits conv.py's convolutions on images unless "
                       r"--arch=mlp is given; add --arch=mlp$"):
        make_config(mode="impute", imputer="miwae", hidden_layers=3)
    for imputer in ("vae", "knn"):
        with pytest.raises(UserError, match=rf"--arch=conv does not apply here \(--imputer="
                           rf"{imputer} has an MLP only; --mode=train and --imputer=miwae "
                           r"take --arch\); drop it"):
            make_config(mode="impute", imputer=imputer, arch="conv")
