"""The importance-sampled log-likelihood and dynamic binarization."""

import keras
import numpy as np
import tensorflow as tf

from conftest import train_steps
from vae_tf.engine import Engine
from vae_tf.marginal_likelihood import estimate_log_likelihood
from vae_tf.models import VAE
from vae_tf.elbo import ELBO
from vae_tf.evaluation import evaluate


def binarize(x, rng):
    return (rng.uniform(size=x.shape) < x).astype(np.float32)


def _trained(data):
    keras.utils.set_random_seed(0)
    vae = VAE(64, 4, 32, seed=0)
    train_steps(vae, data, 30)
    return vae


def test_importance_sampled_likelihood_is_above_the_elbo(tiny_data):
    x = binarize(tiny_data.test, np.random.default_rng(0))
    vae = _trained(binarize(tiny_data.train, np.random.default_rng(1)))
    elbo = -evaluate(vae, x, seed=1)["loss"]
    one = estimate_log_likelihood(vae, x, samples=1, seed=1)
    many = estimate_log_likelihood(vae, x, samples=300, chunk=64, batch_size=16, seed=1)
    assert one.shape == many.shape == (50,)
    assert abs(one.mean() - elbo) < 0.1 * abs(elbo)  # one draw: an ELBO estimate
    assert many.mean() > elbo  # the IWAE bound tightens as draws grow
    assert np.all(many < 0)


def test_chunking_does_not_change_the_estimate_beyond_noise(tiny_data):
    x = binarize(tiny_data.test[:10], np.random.default_rng(0))
    vae = _trained(binarize(tiny_data.train, np.random.default_rng(1)))
    a = estimate_log_likelihood(vae, x, samples=2000, chunk=2000, seed=3)
    b = estimate_log_likelihood(vae, x, samples=2000, chunk=37, seed=4)
    np.testing.assert_allclose(a, b, atol=0.5)


def test_dynamic_binarization_draws_fresh_binary_data_each_time(tiny_data):
    vae = VAE(64, 4, 32, seed=0)
    objective = ELBO(vae, tf.random.Generator.from_seed(0), binarize=True)
    x = tf.constant(tiny_data.train)
    first, second = objective.inputs(x).numpy(), objective.inputs(x).numpy()
    assert set(np.unique(first)) <= {0.0, 1.0}
    assert not np.array_equal(first, second)
    assert abs(first.mean() - tiny_data.train.mean()) < 0.01  # the draws follow the grey levels
    assert np.array_equal(ELBO(vae, objective.rng).inputs(x).numpy(), tiny_data.train)
    history = Engine(objective, [tiny_data.train], 50, 3e-3, steps_per_call=2).fit(2)
    assert len(history) == 2 and np.isfinite(history[-1]["train/loss"])
