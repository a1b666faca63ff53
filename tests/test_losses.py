"""Golden values for the loss terms (STYLE.md tier 1)."""

import math

import numpy as np
import tensorflow as tf

from vae_tf import losses


def test_kl_golden_values():
    kl = losses.gaussian_kl(tf.constant([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]),
                            tf.constant([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])).numpy()
    np.testing.assert_allclose(kl, [3 * (math.e - 1) / 2, 0.0], rtol=1e-6)
    assert abs(kl[0] / 3 - 0.859) < 1e-3


def test_kl_is_positive_away_from_prior():
    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    kl = losses.gaussian_kl(tf.constant(mean), tf.constant(log_var)).numpy()
    expected = 0.5 * np.sum(np.exp(log_var) + mean ** 2 - 1 - log_var, axis=1)
    np.testing.assert_allclose(kl, expected, rtol=1e-10)
    assert np.all(kl > 0)


def test_bernoulli_log_likelihood_golden_values():
    # logits 0 -> p = 0.5: each entry contributes log 0.5 whatever x is.
    ll = losses.bernoulli_log_likelihood(tf.constant([[0.0, 1.0, 0.3]]), tf.zeros((1, 3))).numpy()
    np.testing.assert_allclose(ll, [3 * math.log(0.5)], rtol=1e-6)
    # logit 2 with x = 1: log sigmoid(2); with x = 0: log(1 - sigmoid(2)).
    ll = losses.bernoulli_log_likelihood(tf.constant([[1.0, 0.0]]), tf.constant([[2.0, 2.0]])).numpy()
    s = 1 / (1 + math.exp(-2))
    np.testing.assert_allclose(ll, [math.log(s) + math.log(1 - s)], rtol=1e-6)


def test_elbo_terms_are_named_per_example_and_add_up():
    x = tf.constant(np.random.default_rng(1).uniform(size=(4, 6)), tf.float32)
    terms = losses.elbo_terms(x, tf.zeros((4, 6)), tf.ones((4, 2)), tf.ones((4, 2)))
    assert set(terms) == {"reconstruction", "kl", "loss"}
    for value in terms.values():
        assert value.shape == (4,)
    np.testing.assert_allclose(terms["loss"], terms["reconstruction"] + terms["kl"], rtol=1e-6)
    np.testing.assert_allclose(terms["reconstruction"], np.full(4, -6 * math.log(0.5)), rtol=1e-6)
