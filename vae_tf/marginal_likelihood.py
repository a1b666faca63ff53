"""Test-set log-likelihood by importance sampling (the IWAE estimator, k up to thousands)."""

import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.models import VAE, encode_decode_samples


def estimate_log_likelihood(vae: VAE, x: np.ndarray, samples: int = 5000,
                            batch_size: int = 100, chunk: int = 500,
                            seed: int = 0) -> np.ndarray:
    """log p(x) estimated with `samples` importance draws from q(z|x), per example. [N].

    The draws are taken `chunk` at a time and combined with a running log-sum-exp, so
    memory stays at chunk x batch_size x D floats whatever `samples` is.
    """
    rng = tf.random.Generator.from_seed(seed)

    @tf.function(reduce_retracing=True)
    def chunk_log_weights(xb, n):
        logits, z, z_mean, z_log_var = encode_decode_samples(  # [S, B, D], [S, B, L]
            lambda: vae.encoder(xb), vae.decoder, rng, n)
        return losses.log_importance_weights(xb, logits, z, z_mean, z_log_var,  # [S, B]
                                             vae.likelihood, vae.log_scale())

    out = []
    for start in range(0, len(x), batch_size):
        xb = tf.constant(x[start:start + batch_size])
        running = None  # log sum of weights so far, [B]
        for done in range(0, samples, chunk):
            n = min(chunk, samples - done)
            lse = tf.reduce_logsumexp(chunk_log_weights(xb, tf.constant(n)), axis=0)
            running = lse if running is None else tf.reduce_logsumexp(
                tf.stack([running, lse]), axis=0)
        out.append((running - np.log(samples)).numpy())
    return np.concatenate(out).astype(np.float64)
