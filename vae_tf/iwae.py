"""The importance-weighted training objective (`--train_samples=K`, Burda et al. 2015).

K = 1 is the `ELBO` objective itself (analytic KL, the same numbers and random draws).
K > 1 trains on the IWAE bound log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x), z_k ~ q(z|x):
the encoder runs once per example, the decoder on K draws. Its per-example terms are
`losses.iwae_terms`: `loss` (the -IWAE bound, minimised), and the K draws' means of
`reconstruction` (-log p(x|z_k)) and `kl` (log q(z_k|x) - log p(z_k)), whose sum is the
draws' average -ELBO (at least `loss`). Never reads FLAGS.
"""

import os
from typing import Dict

import tensorflow as tf

from vae_tf import losses
from vae_tf.errors import UserError
from vae_tf.models import VAE, encode_decode_samples
from vae_tf.elbo import ELBO


class IWAE(ELBO):
    """The negative IWAE bound of `vae` with `samples` draws per example (see the module).

    `binarize` draws one binary image per example and batch (shared by its K draws of z).
    """

    def __init__(self, vae: VAE, rng: tf.random.Generator, binarize: bool = False,
                 samples: int = 5):
        super().__init__(vae, rng, binarize)
        if not (isinstance(samples, int) and samples >= 1):
            raise ValueError(f"samples={samples!r} must be a positive integer")
        self.samples = samples

    def terms(self, batch) -> Dict[str, tf.Tensor]:
        if self.samples == 1:
            return super().terms(batch)
        x = self.inputs(batch[0])
        logits, z, z_mean, z_log_var = encode_decode_samples(
            lambda: self.vae.encoder(x), self.vae.decoder, self.rng, self.samples)
        with tf.name_scope("iwae_bound"):
            return losses.iwae_terms(x, logits, z, z_mean, z_log_var, self.vae.likelihood,
                                     self.vae.log_scale())


def make_objective(vae: VAE, rng: tf.random.Generator, binarize: bool = False,
                   samples: int = 1) -> ELBO:
    """The training objective of `--train_samples=samples`: the ELBO for 1, else the IWAE."""
    return ELBO(vae, rng, binarize) if samples == 1 else IWAE(vae, rng, binarize, samples)


def model_graph(objective: IWAE, batch_size: int, input_dim: int) -> tf.compat.v1.GraphDef:
    """The IWAE objective's forward pass on a batch x [B, D], traced for TensorBoard."""
    from vae_tf.summaries import tidy_keras_names

    def forward(x):
        objective.terms((x,))

    spec = tf.TensorSpec([batch_size, input_dim], tf.float32, name="x")
    graph = tf.function(forward).get_concrete_function(spec).graph
    return tidy_keras_names(graph.as_graph_def())


def check_fits_in_memory(samples: int, batch_size: int, input_dim: int, hidden_dim: int,
                         hidden_layers: int) -> None:
    """Refuse K draws whose decoder activations and gradients (about 4 float32 copies of the
    K x B x (D + hidden) values) would need more than half of this machine's memory."""
    if samples == 1:
        return
    need = 4.0 * 4 * samples * batch_size * (input_dim + hidden_dim * hidden_layers)
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: no estimate
        return
    if need > 0.5 * total:
        fit = max(1, int(0.5 * total / (need / samples)))
        raise UserError(f"--train_samples={samples} at --batch_size={batch_size} needs about "
                        f"{need / 1e9:.0f} GB of decoder activations, more than half of this "
                        f"machine's {total / 1e9:.0f} GB; pass --train_samples={min(fit, 50)} "
                        "or a smaller --batch_size")
