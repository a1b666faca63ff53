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


def test_log_normal_golden_value():
    # standard normal density at 0 in 2-D: log(1 / (2 pi)).
    value = losses.log_normal(tf.zeros((1, 2)), tf.zeros((1, 2)), tf.zeros((1, 2))).numpy()
    np.testing.assert_allclose(value, [-math.log(2 * math.pi)], rtol=1e-6)


def test_iwae_bound_with_one_sample_is_the_elbo_and_is_at_least_the_elbo():
    rng = np.random.default_rng(0)
    x = tf.constant((rng.uniform(size=(3, 5)) > 0.5).astype(np.float32))
    z_mean, z_log_var = tf.constant(rng.normal(size=(3, 2)), tf.float32), tf.zeros((3, 2))
    z = z_mean + tf.constant(rng.normal(size=(400, 3, 2)), tf.float32)  # [S, B, L] ~ q
    logits = tf.einsum("sbl,ld->sbd", z, tf.constant(rng.normal(size=(2, 5)), tf.float32))
    log_w = losses.log_importance_weights(x, logits, z, z_mean, z_log_var)  # [S, B]
    assert log_w.shape == (400, 3)
    # K = 1: the bound is the single-draw ELBO estimate log p(x|z) + log p(z) - log q(z|x).
    np.testing.assert_allclose(losses.iwae_bound(log_w[:1]).numpy(), log_w[0].numpy(), rtol=1e-6)
    # Its average over draws is the analytic-KL ELBO, up to Monte Carlo error.
    elbo = (tf.reduce_mean(losses.bernoulli_log_likelihood(tf.broadcast_to(x, logits.shape), logits), 0)
            - losses.gaussian_kl(z_mean, z_log_var)).numpy()
    np.testing.assert_allclose(tf.reduce_mean(log_w, 0).numpy(), elbo, atol=0.3)
    # The IWAE bound of any group of draws is at least their average ELBO (Jensen).
    groups = tf.reshape(log_w, (40, 10, 3))
    k10 = tf.stack([losses.iwae_bound(g) for g in groups])  # [40, B]
    assert np.all(k10.numpy() >= tf.reduce_mean(groups, axis=1).numpy() - 1e-5)
    assert np.all(losses.iwae_bound(log_w).numpy() >= k10.numpy().mean(0) - 1e-5)
