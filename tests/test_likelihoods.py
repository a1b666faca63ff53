"""The likelihoods for grey levels (continuous Bernoulli, Gaussian), deeper MLPs and the
per-epoch learning-rate decay."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from vae_tf import losses
from vae_tf.models import SIGMA_FLOOR, VAE
from conftest import train_steps
from vae_tf.evaluation import evaluate, reconstruct

GRID = np.linspace(0.0, 1.0, 20001)


def _cb_density(logit: float) -> np.ndarray:
    """The continuous Bernoulli density of one entry on GRID, through the package."""
    x = tf.constant(GRID[:, None], tf.float64)
    logits = tf.fill(tf.shape(x), tf.constant(logit, tf.float64))
    return np.exp(losses.log_likelihood(x, logits, "cbernoulli").numpy())


@pytest.mark.parametrize("logit", [-8.0, -1.5, -2e-4, 0.0, 3e-4, 0.7, 5.0])
def test_continuous_bernoulli_is_a_density_with_the_stated_mean(logit):
    p = _cb_density(logit)
    assert abs(np.trapezoid(p, GRID) - 1.0) < 1e-4  # the normaliser makes it integrate to 1
    mean = float(losses.decoded_mean(tf.constant([logit], tf.float64), "cbernoulli")[0])
    assert abs(np.trapezoid(GRID * p, GRID) - mean) < 1e-4


def test_continuous_bernoulli_golden_values():
    norm = losses.continuous_bernoulli_log_norm(tf.constant([0.0, 2.0, -2.0, 1e-5]))
    expected = [np.log(2.0), np.log(2.0 / np.tanh(1.0)), np.log(2.0 / np.tanh(1.0)), np.log(2.0)]
    np.testing.assert_allclose(norm.numpy(), expected, rtol=1e-6)
    mean = losses.continuous_bernoulli_mean(tf.constant([0.0, 2.0, -30.0]))
    np.testing.assert_allclose(mean.numpy(), [0.5, 1 / (1 - np.exp(-2.0)) - 0.5, 1 / 30],
                               rtol=1e-5)
    # Its mean is pulled towards 1/2 compared with the Bernoulli's sigmoid.
    assert 0.5 < mean.numpy()[1] < 1 / (1 + np.exp(-2.0))


def test_gaussian_matches_scipy():
    rng = np.random.default_rng(0)
    x, logits = rng.uniform(size=(3, 5)), rng.normal(size=(3, 5))
    log_scale = np.log(rng.uniform(0.05, 0.5, size=5))
    ours = losses.log_likelihood(tf.constant(x), tf.constant(logits), "gaussian",
                                 tf.constant(log_scale)).numpy()
    mean = 1 / (1 + np.exp(-logits))
    expected = stats.norm.logpdf(x, mean, np.exp(log_scale)).sum(-1)
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    with pytest.raises(ValueError, match="unknown likelihood 'poisson'"):
        losses.log_likelihood(tf.constant(x), tf.constant(logits), "poisson")


def _train(vae, data, steps=60):
    train_steps(vae, data, steps)
    return vae


def test_learned_gaussian_scale_trains_stays_above_the_floor_and_reloads(tiny_data, tmp_path):
    keras.utils.set_random_seed(0)
    vae = VAE(64, 4, 32, seed=0, likelihood="gaussian")
    start = vae.log_scale().numpy()
    np.testing.assert_allclose(np.exp(start), 0.1, rtol=1e-5)
    before = evaluate(vae, tiny_data.test, seed=1)["loss"]
    _train(vae, tiny_data.train, steps=1000)
    sigma = np.exp(vae.log_scale().numpy())
    assert sigma.shape == (64,) and np.all(sigma >= SIGMA_FLOOR)
    # It shrinks from 0.1 towards the residual of the fit (Adam moves it ~lr per step).
    assert sigma.mean() < 0.08, sigma
    assert evaluate(vae, tiny_data.test, seed=1)["loss"] < before - 50
    vae.save(tmp_path / "m.keras")
    back = keras.models.load_model(tmp_path / "m.keras")
    assert (back.likelihood, back.sigma) == ("gaussian", 0.0)
    np.testing.assert_array_equal(back.log_scale().numpy(), vae.log_scale().numpy())


def test_fixed_sigma_has_no_weight_and_cbernoulli_means_lie_in_the_unit_interval(tiny_data):
    fixed = VAE(64, 4, 32, seed=0, likelihood="gaussian", sigma=0.2)
    assert fixed.raw_scale is None and abs(float(fixed.log_scale()) - np.log(0.2)) < 1e-6
    assert len(fixed.trainable_weights) == len(VAE(64, 4, 32, seed=0).trainable_weights)
    cb = _train(VAE(64, 4, 32, seed=0, likelihood="cbernoulli"), tiny_data.train)
    recon = reconstruct(cb, tiny_data.test)
    assert np.all((recon >= 0) & (recon <= 1))
    np.testing.assert_allclose(recon, losses.continuous_bernoulli_mean(
        cb(tiny_data.test)).numpy(), rtol=1e-6)


def test_deeper_mlp_keeps_the_one_layer_weights_and_reloads(tmp_path):
    one, two = VAE(64, 4, 32, seed=0), VAE(64, 4, 32, seed=0, hidden_layers=2)
    assert len(two.trainable_weights) == len(one.trainable_weights) + 4  # a Dense each way
    np.testing.assert_array_equal(one.encoder.hidden.kernel.numpy(),
                                  two.encoder.hidden.kernel.numpy())
    two.save(tmp_path / "m.keras")
    back = keras.models.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(0).uniform(size=(5, 64)).astype(np.float32)
    np.testing.assert_array_equal(back(x).numpy(), two(x).numpy())
    assert back.hidden_layers == 2


def _launch(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "vae_tf.main", *args], capture_output=True,
                          text=True, env=env, timeout=600)


@pytest.mark.slow
def test_launcher_trains_a_gaussian_two_layer_model_with_a_decaying_rate(tmp_path):
    from tensorboard.backend.event_processing import event_accumulator as ea
    logdir = tmp_path / "run"
    result = _launch("--epochs=3", "--likelihood=gaussian", "--hidden_layers=2",
                     "--learning_rate=0.002", "--lr_decay=0.5", "--iwae_samples=20",
                     f"--logdir={logdir}")
    assert result.returncode == 0, result.stderr[-2000:]
    config = json.loads((logdir / "config.json").read_text())
    assert (config["likelihood"], config["hidden_layers"], config["lr_decay"]) == ("gaussian", 2, 0.5)
    acc = ea.EventAccumulator(str(logdir), size_guidance={ea.TENSORS: 0})
    acc.Reload()
    rates = [float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors("train/learning_rate")]
    np.testing.assert_allclose(rates, [0.002, 0.001, 0.0005], rtol=1e-6)
    metrics = json.loads((logdir / "metrics.json").read_text())
    # A density on grey levels: the log-likelihood bound is finite and beats the ELBO.
    assert np.isfinite(metrics["test_iwae_nll"]) and metrics["test_iwae_nll"] < metrics["test_loss"]
    model = keras.models.load_model(logdir / "model.keras")
    assert model.likelihood == "gaussian" and model.raw_scale is not None


@pytest.mark.parametrize("kw", [dict(hidden_layers=3), dict(arch="conv", image_shape=(8, 8, 1)),
                                dict(likelihood="gaussian")])
def test_training_checkpoints_hold_every_weight(tmp_path, kw):
    """What the engine checkpoints of the ELBO objective restores the whole model."""
    from vae_tf.elbo import ELBO

    def parts(vae):
        return tf.train.Checkpoint(**ELBO(vae, tf.random.Generator.from_seed(0)).trackables())

    saved = VAE(64, 4, 16, seed=0, **kw)
    if saved.raw_scale is not None:
        saved.raw_scale.assign(saved.raw_scale - 1.0)  # not the starting value
    path = parts(saved).save(str(tmp_path / "ckpt"))
    fresh = VAE(64, 4, 16, seed=7, **kw)
    parts(fresh).restore(path).assert_consumed()
    assert len(saved.weights) == len(fresh.weights)
    for a, b in zip(saved.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
