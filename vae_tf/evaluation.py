"""Scoring a trained VAE: the -ELBO terms on held-out data, reconstructions, decoded draws
and the thesis's own reconstruction error. The test log-likelihood by importance sampling is
marginal_likelihood.py's; whether the model collapsed, collapse.py's."""

from typing import Dict

import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.elbo import TERMS
from vae_tf.models import VAE, encode_decode


def evaluate(vae: VAE, x: np.ndarray, batch_size: int = 1000, seed: int = 0) -> Dict[str, float]:
    """Mean -ELBO terms over x (one posterior draw each), repeatable for a given seed."""
    step, rng = _eval_step(vae)
    rng.reset_from_seed(seed)
    totals = {name: 0.0 for name in TERMS}
    for start in range(0, len(x), batch_size):
        for name, value in step(tf.constant(x[start:start + batch_size])).items():
            totals[name] += float(value)
    return {name: total / len(x) for name, total in totals.items()}


def _eval_step(vae: VAE):
    """The model's compiled evaluation and its generator, made once (no retracing)."""
    if getattr(vae, "_eval", None) is None:
        rng = tf.random.Generator.from_seed(0)

        @tf.function(input_signature=[tf.TensorSpec([None, vae.input_dim], tf.float32)])
        def step(x):
            logits, z_mean, z_log_var = encode_decode(vae, x, rng)
            terms = losses.elbo_terms(x, logits, z_mean, z_log_var, vae.likelihood,
                                      vae.log_scale())
            return {name: tf.reduce_sum(terms[name]) for name in TERMS}

        object.__setattr__(vae, "_eval", (step, rng))  # not tracked: never saved
    return vae._eval


def reconstruct(vae: VAE, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Deterministic mean reconstructions: the likelihood's mean at decoder(z_mean). [N, D]."""
    return np.concatenate([np.asarray(vae.reconstruct(x[s:s + batch_size]))
                           for s in range(0, len(x), batch_size)]) if len(x) else np.zeros_like(x)


def sample(vae: VAE, z: np.ndarray) -> np.ndarray:
    """Decoded means (the likelihood's mean of decoder(z)) for latent draws z [n, L]."""
    return np.asarray(vae.decode(z))


def sampled_reconstruction(vae: VAE, x: np.ndarray, seed: int = 0,
                           batch_size: int = 1000) -> np.ndarray:
    """x [N, D] -> decode(z) [N, D] with z ONE draw from q(z | x) each, seeded (stateless)."""
    out = []
    for i, start in enumerate(range(0, len(x), batch_size)):
        z_mean, z_log_var = vae.encode(x[start:start + batch_size])
        eps = tf.random.stateless_normal(tf.shape(z_mean), seed=(int(seed), i))
        out.append(vae.decode(z_mean + tf.exp(0.5 * z_log_var) * eps).numpy())
    return np.concatenate(out) if out else np.zeros_like(x)


def thesis_reconstruction_errors(vae: VAE, train: np.ndarray, seed: int = 0):
    """(RMSE, MAE) as the thesis printed them: TRAINING images vs SAMPLED reconstructions.

    The thesis's scripts kept, for each batch of the last epoch, the decoded mean
    sigmoid(decoder(z)) at the one z ~ q(z | x) drawn in that training step, and compared
    those with the training images (OMNIGLOT: train and test merged). Here: the trained
    model, one seeded draw per training image. Our sound figure, `reconstruction_rmse`,
    compares held-out test images with decode(z_mean).
    """
    squared = absolute = 0.0
    for i, start in enumerate(range(0, len(train), 1000)):  # batch by batch: no [N, D] copy
        rows = train[start:start + 1000]
        error = sampled_reconstruction(vae, rows, seed=seed * 100003 + i) - rows
        squared += float(np.sum(np.square(error, dtype=np.float64)))
        absolute += float(np.sum(np.abs(error), dtype=np.float64))
    return float(np.sqrt(squared / train.size)), absolute / train.size
