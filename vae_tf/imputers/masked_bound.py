"""MIWAE's training objective: the masked importance-weighted bound on the engine.

The bound is `losses.masked_bound` (Mattei & Frellsen 2019; samples = 1 is the masked
ELBO): the likelihood counts the observed entries only. The encoder reads the data with
holes set to 0 and the mask: side by side for an MLP, as 2C channels of one image for
`conv.py`'s convolutions (`channels` = C). With `columns` (columns.py, a table's column
models) the data are the encoded table and the likelihood of each observed entry is its
column's (Gaussian or Student's t, Bernoulli, categorical); without, the thesis's
Bernoulli on every entry, as before tables.
"""

from typing import Dict, Optional

import keras
import tensorflow as tf

from vae_tf import losses
from vae_tf.engine import Objective
from vae_tf.models import encode_decode_samples


class MaskedBound(Objective):
    """-(the masked importance-weighted bound) of a batch (x with 0 in its holes, mask)."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, rng: tf.random.Generator,
                 samples: int, channels: Optional[int] = None, columns=None):
        self.encoder, self.decoder, self.rng, self.samples = encoder, decoder, rng, samples
        self.channels = channels  # the image's channels (conv), or None (MLP)
        self.columns = columns  # columns.Columns of a table, or None (Bernoulli entries)

    @property
    def trainable_variables(self):
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def trackables(self) -> Dict:
        return {"encoder": self.encoder, "decoder": self.decoder, "rng": self.rng}

    def encode(self, x0, mask):
        """q(z | x_obs) of x0 [B, D] (0 in the holes) and its mask: (z_mean, z_log_var)."""
        if self.channels is None:
            return self.encoder(tf.concat([x0, mask], axis=-1))
        pixels = [tf.shape(x0)[0], -1, self.channels]  # each pixel's values, then its mask's
        both = tf.concat([tf.reshape(x0, pixels), tf.reshape(mask, pixels)], axis=-1)
        return self.encoder(tf.reshape(both, [tf.shape(x0)[0], -1]))

    def draws(self, x0, mask, k, rng: Optional[tf.random.Generator] = None, decoder=None):
        """Encode [x0, mask], take k draws from `rng` (default: the training stream `rng`)
        and decode them with `decoder` (default: the trained one; imputation may pass a
        lower-precision copy, models.low_precision_copy):
        (logits [k,B,D], z [k,B,L], z_mean, z_log_var)."""
        return encode_decode_samples(lambda: self.encode(x0, mask),
                                     self.decoder if decoder is None else decoder,
                                     self.rng if rng is None else rng, k)

    def log_weights(self, x0, mask, out, z, z_mean, z_log_var):
        """log w [K, B] of the K draws: log p(x_obs | z) + log p(z) - log q(z | x_obs)."""
        if self.columns is None:
            return losses.masked_log_weights(x0, mask, out, z, z_mean, z_log_var)
        return losses.log_weights(self.columns.log_prob(x0, mask, out), z, z_mean, z_log_var)

    def mean(self, out):
        """E[x | z] of the decoder's outputs [..., P], in the data's (encoded) layout."""
        return tf.sigmoid(out) if self.columns is None else self.columns.mean(out)

    def terms(self, batch):
        x0, mask = batch
        out, z, z_mean, z_log_var = self.draws(x0, mask, self.samples)
        if self.columns is None:
            return {"loss": -losses.masked_bound(x0, mask, out, z, z_mean, z_log_var)["bound"]}
        log_px = self.columns.log_prob(x0, mask, out)  # [K, B]
        if self.samples == 1:
            return {"loss": -(log_px[0] - losses.gaussian_kl(z_mean, z_log_var))}
        return {"loss": -losses.iwae_bound(losses.log_weights(log_px, z, z_mean, z_log_var))}
