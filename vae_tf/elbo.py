"""The VAE's training objective for the engine: the negative ELBO. Never reads FLAGS.

`--train_samples=K` > 1 trains on the IWAE bound instead (iwae.py); evaluation.py scores a
trained VAE, marginal_likelihood.py estimates its log p(x)."""

from typing import Dict, List

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
