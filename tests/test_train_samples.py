"""--train_samples=K: the IWAE training objective (golden value, K=1 is the ELBO exactly, the
bound beats the ELBO, an engine step, the flag through the launcher)."""

import json
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import train_steps
from test_main import launch
from vae_tf import losses
from vae_tf.config import make_config
from vae_tf.engine import Engine
from vae_tf.iwae import IWAE, make_objective
from vae_tf.models import VAE
from vae_tf.train_run import run_train
from vae_tf.elbo import ELBO


def _vae(seed=0):
    keras.utils.set_random_seed(seed)
    return VAE(64, 4, 32, seed=seed)


def test_golden_value_of_a_two_draw_bound():
    # x = 1 (one pixel), q(z|x) = N(1, 1), both draws at z = 1, so log p(z) - log q(z|x) =
    # -1/2 for each; p(x|z) = 1/2 and 3/4 (logits 0 and log 3). The bound is
    # log((1/2 + 3/4) / 2) - 1/2 = log(0.625) - 0.5; reconstruction the mean of -log p(x|z).
    terms = losses.iwae_terms(tf.constant([[1.0]]), tf.constant([[[0.0]], [[math.log(3.0)]]]),
                              tf.constant([[[1.0]], [[1.0]]]), tf.constant([[1.0]]),
                              tf.constant([[0.0]]))
    np.testing.assert_allclose(terms["loss"].numpy(), [0.5 - math.log(0.625)], rtol=1e-6)
    np.testing.assert_allclose(terms["reconstruction"].numpy(),
                               [(math.log(2.0) + math.log(4.0 / 3.0)) / 2], rtol=1e-6)
    np.testing.assert_allclose(terms["kl"].numpy(), [0.5], rtol=1e-6)


def test_bound_is_at_most_the_draws_average_elbo_for_every_example():
    rng = np.random.default_rng(0)
    x = tf.constant((rng.uniform(size=(6, 5)) > 0.5).astype(np.float32))
    z_mean = tf.constant(rng.normal(size=(6, 2)), tf.float32)
    z_log_var = tf.constant(rng.normal(size=(6, 2)) * 0.3, tf.float32)
    z = z_mean + tf.exp(z_log_var / 2) * tf.constant(rng.normal(size=(7, 6, 2)), tf.float32)
    logits = tf.einsum("kbl,ld->kbd", z, tf.constant(rng.normal(size=(2, 5)), tf.float32))
    terms = losses.iwae_terms(x, logits, z, z_mean, z_log_var)
    assert all(t.shape == (6,) for t in terms.values())
    average = (terms["reconstruction"] + terms["kl"]).numpy()
    assert np.all(terms["loss"].numpy() <= average + 1e-5)
    assert np.any(terms["loss"].numpy() < average - 1e-3)  # strictly tighter when weights differ
    # The bound is the library's iwae_bound of the library's importance weights.
    log_w = losses.log_importance_weights(x, logits, z, z_mean, z_log_var)
    np.testing.assert_allclose(terms["loss"].numpy(), -losses.iwae_bound(log_w).numpy(),
                               rtol=1e-5)


def test_one_draw_bound_is_the_hand_computed_single_draw_elbo():
    # Fixed tensors; the expected terms from the formulas, in numpy float64. Per example:
    # log p(x|z) = sum_d x log s(l) + (1 - x) log(1 - s(l)), s the sigmoid; z = mu + e^(v/2) eps
    # gives log q(z|x) - log p(z) = sum_j (z^2 - v - eps^2) / 2 (the 2 pi terms cancel).
    x = np.array([[1.0, 0.0, 0.25, 1.0], [0.0, 0.0, 1.0, 0.5], [1.0, 1.0, 0.0, 0.0]])
    logits = np.array([[1.5, -2.0, 0.3, 0.0], [-0.7, 0.4, 2.2, -1.1], [0.9, -0.2, -3.0, 1.3]])
    mu = np.array([[0.5, -1.0], [0.0, 0.0], [2.0, 0.3]])
    v = np.array([[0.0, 0.0], [0.4, -0.6], [-1.0, 0.2]])  # log-variances
    eps = np.array([[0.0, 0.0], [1.0, -1.0], [0.7, -1.3]])
    z = mu + np.exp(v / 2) * eps
    s = 1 / (1 + np.exp(-logits))
    reconstruction = -np.sum(x * np.log(s) + (1 - x) * np.log(1 - s), axis=1)
    kl_draw = np.sum(z ** 2 - v - eps ** 2, axis=1) / 2
    terms = losses.iwae_terms(*(tf.constant(a, tf.float32) for a in (x, logits[None], z[None],
                                                                     mu, v)))
    np.testing.assert_allclose(terms["reconstruction"].numpy(), reconstruction, rtol=1e-5)
    np.testing.assert_allclose(terms["kl"].numpy(), kl_draw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(terms["loss"].numpy(), reconstruction + kl_draw, rtol=1e-5)
    # Examples 0 (eps = 0, v = 0) and 1 (mu = 0, eps = +-1) sit where the draw's KL is the
    # closed form sum_j (e^v + mu^2 - 1 - v) / 2: there the bound is the analytic-KL ELBO.
    kl_closed = np.sum(np.exp(v) + mu ** 2 - 1 - v, axis=1) / 2
    np.testing.assert_allclose(kl_draw[:2], kl_closed[:2], rtol=1e-12)
    np.testing.assert_allclose(kl_closed[:2], [0.625, 0.5 * (math.exp(0.4) + math.exp(-0.6)
                                                             - 2 + 0.2)], rtol=1e-12)
    np.testing.assert_allclose(terms["loss"].numpy()[:2], reconstruction[:2] + kl_closed[:2],
                               rtol=1e-5)
    assert abs(kl_draw[2] - kl_closed[2]) > 0.1  # elsewhere a draw's KL is not the closed form
    # --train_samples=1 trains the ELBO objective (analytic KL): on rows 0-1 its loss is the
    # same hand-computed number.
    elbo = losses.elbo_terms(*(tf.constant(a[:2], tf.float32) for a in (x, logits, mu, v)))
    np.testing.assert_allclose(elbo["reconstruction"].numpy(), reconstruction[:2], rtol=1e-5)
    np.testing.assert_allclose(elbo["kl"].numpy(), kl_closed[:2], rtol=1e-5)
    np.testing.assert_allclose(elbo["loss"].numpy(), reconstruction[:2] + kl_closed[:2],
                               rtol=1e-5)


def test_one_draw_trains_the_elbo_objective_and_more_the_bound():
    vae, rng = _vae(), tf.random.Generator.from_seed(0)
    assert type(make_objective(vae, rng, False, 1)) is ELBO
    bound = make_objective(vae, rng, True, 3)
    assert type(bound) is IWAE and bound.samples == 3 and bound.binarize


def test_bound_beats_the_elbo_on_average_on_a_fixed_model(tiny_data):
    x = (np.random.default_rng(0).uniform(size=tiny_data.test.shape)
         < tiny_data.test).astype(np.float32)
    vae = _vae()
    train_steps(vae, x, 30)
    batch = tf.constant(np.tile(x, (40, 1)))  # 40 repeats of the 50 test images
    elbo = ELBO(vae, tf.random.Generator.from_seed(1)).terms((batch,))["loss"].numpy()
    bound = IWAE(vae, tf.random.Generator.from_seed(2), samples=10).terms((batch,))["loss"]
    # Losses are negative bounds: the ELBO's minus the IWAE's is the tightening, per example.
    gain = elbo.reshape(40, 50).mean(0) - bound.numpy().reshape(40, 50).mean(0)  # [50]
    standard_error = gain.std(ddof=1) / math.sqrt(len(gain))
    assert gain.mean() > 5 * standard_error > 0, (gain.mean(), standard_error)


def test_an_engine_step_with_five_draws_changes_every_weight(tiny_data):
    vae = _vae()
    before = [v.numpy().copy() for v in vae.trainable_variables]
    objective = IWAE(vae, tf.random.Generator.from_seed(0), binarize=True, samples=5)
    history = Engine(objective, [tiny_data.train[:32]], 32, 1e-3, jit_compile=False).fit(1)
    assert all(not np.array_equal(a, b) for a, b in zip(before, vae.trainable_variables))
    record = history[0]
    assert all(math.isfinite(record[f"train/{k}"]) for k in ("loss", "reconstruction", "kl"))
    assert record["train/loss"] <= record["train/reconstruction"] + record["train/kl"]


@pytest.mark.parametrize("jit", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_several_steps_per_call_equal_single_steps_with_five_draws(tiny_data, jit):
    runs = []
    for steps_per_call in (1, 4):
        objective = IWAE(_vae(2), tf.random.Generator.from_seed(2), samples=5)
        engine = Engine(objective, [tiny_data.train[:120]], 30, 1e-3, seed=2,
                        steps_per_call=steps_per_call, jit_compile=jit)
        runs.append([h["train/loss"] for h in engine.fit(2)])
    np.testing.assert_allclose(runs[0], runs[1], rtol=2e-5)
    assert runs[0][1] < runs[0][0]


@pytest.mark.slow
def test_run_train_records_the_draws_in_config_and_metrics(tiny_data, tmp_path):
    logdir = tmp_path / "run"
    metrics = run_train(make_config(epochs=1, batch_size=50, train_samples=3, binarize=True,
                                    latent_dim=4, hidden_dim=32, logdir=str(logdir)),
                        data=tiny_data, verbose=0)
    assert metrics["train_samples"] == 3 and math.isfinite(metrics["loss"])
    with open(logdir / "config.json") as f:
        assert json.load(f)["train_samples"] == 3
    with open(logdir / "metrics.json") as f:
        assert json.load(f)["train_samples"] == 3


@pytest.mark.parametrize("args, needle", [
    (["--mode=impute", "--train_samples=5"],
     "--train_samples=5 does not apply here (it is a --mode=train setting"),
    (["--train_samples=0"], "--train_samples=0 must be 1 (the ELBO) to 5000"),
    (["--train_samples=5001"], "--train_samples=5001 must be 1 (the ELBO) to 5000"),
])
def test_bad_train_samples_are_one_line(tmp_path, args, needle):
    result = launch(*args, f"--logdir={tmp_path}/out")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vae-tf: error:"), result.stderr
    assert needle in lines[0]
    assert not os.path.exists(tmp_path / "out")


@pytest.mark.slow
def test_launcher_trains_the_bound_on_one_device_and_mirrored(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    common = ("--epochs=2", "--train_samples=3", "--binarize", "--batch_size=200")
    a = launch(*common, f"--logdir={one}")
    b = launch(*common, "--strategy=mirrored", "--cpu_devices=2", f"--logdir={two}")
    assert a.returncode == 0 and b.returncode == 0, (a.stderr[-1500:], b.stderr[-1500:])
    for logdir in (one, two):
        with open(logdir / "config.json") as f:
            assert json.load(f)["train_samples"] == 3
        with open(logdir / "metrics.json") as f:
            metrics = json.load(f)
        assert metrics["train_samples"] == 3 and math.isfinite(metrics["loss"])
    curves = []
    for logdir in (one, two):
        with open(logdir / "history.jsonl") as f:
            curves.append([json.loads(line)["train/loss"] for line in f])
    # Replicas draw their own noise, so the curves agree only closely.
    np.testing.assert_allclose(curves[1], curves[0], rtol=0.02)
    assert curves[0][1] < curves[0][0]
