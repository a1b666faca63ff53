"""The VAE's objective for the engine (the -ELBO), evaluation and decoding. Never reads FLAGS."""

from typing import Dict, List

import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.engine import Objective
from vae_tf.models import VAE, encode_decode

TERMS = ("loss", "reconstruction", "kl")


class ELBO(Objective):
    """The negative ELBO of `vae` on a batch (x,), one posterior draw per example.

    With `binarize` the batch is first replaced by Bernoulli draws with its grey levels
    as probabilities (dynamic binarization: new draws every time a batch is seen).
    """

    term_names = TERMS

    def __init__(self, vae: VAE, rng: tf.random.Generator, binarize: bool = False):
        self.vae, self.rng, self.binarize = vae, rng, binarize

    @property
    def trainable_variables(self) -> List[tf.Variable]:
        return self.vae.trainable_variables

    def trackables(self) -> Dict:
        scale = {"raw_scale": self.vae.raw_scale} if self.vae.raw_scale is not None else {}
        return {"encoder": self.vae.encoder, "decoder": self.vae.decoder, "rng": self.rng,
                **scale}

    def inputs(self, x: tf.Tensor) -> tf.Tensor:
        """The batch the model sees: x, or fresh Bernoulli draws from it under `binarize`."""
        if not self.binarize:
            return x
        return tf.cast(self.rng.uniform(tf.shape(x)) < x, x.dtype)

    def terms(self, batch) -> Dict[str, tf.Tensor]:
        x = self.inputs(batch[0])
        logits, z_mean, z_log_var = encode_decode(self.vae, x, self.rng)
        return losses.elbo_terms(x, logits, z_mean, z_log_var, self.vae.likelihood,
                                 self.vae.log_scale())


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
