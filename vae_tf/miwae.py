"""Imputation by inference: a VAE trained on the observed entries only (MIWAE).

Training maximises the masked importance-weighted bound of `losses.masked_bound`
(Mattei & Frellsen 2019; K = 1 is the masked ELBO): the likelihood never sees a guessed
value. The encoder reads the data with holes set to 0 and the mask beside them, [B, 2D].

Imputation, all of it leaving observed entries untouched:
- `transform` (single imputation): E[x_mis | x_obs] by self-normalised importance
  sampling over L draws of q(z | x_obs): sum_l w_l sigmoid(decoder(z_l)).
- `multiple_imputation` (sampling importance resampling): for each of M imputations,
  resample one draw z_l with probability w_l and take its decoder mean; their average
  approaches the single imputation as M grows, their spread shows the uncertainty.
- `transform(..., method="pseudo_gibbs")` (Rezende et al. 2014): from zeros in the
  holes, repeat z ~ q(z | completed x, all observed), holes <- decoder mean.
"""

import math
from typing import Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf

from vae_tf import losses, summaries
from vae_tf.errors import TrainingDiverged, UserError
from vae_tf.models import Decoder, Encoder
from vae_tf.vae_imputer import _check

METHODS = ("importance", "pseudo_gibbs")


class MIWAEImputer:
    """scikit-learn style: `fit(X)` on data with NaN holes, then `transform(X_new)`."""

    def __init__(self, latent_dim: int = 32, hidden_dim: int = 400, epochs: int = 30,
                 batch_size: int = 100, learning_rate: float = 1e-3, train_samples: int = 5,
                 impute_samples: int = 200, gibbs_iters: int = 50, seed: int = 0,
                 logdir: Optional[str] = None, verbose: int = 0, hidden_layers: int = 1):
        if train_samples < 1 or impute_samples < 1:
            raise UserError("train_samples and impute_samples must be at least 1")
        self.latent_dim, self.hidden_dim, self.epochs = latent_dim, hidden_dim, epochs
        self.batch_size, self.learning_rate = batch_size, learning_rate
        self.train_samples, self.impute_samples = train_samples, impute_samples
        self.gibbs_iters, self.seed, self.logdir, self.verbose = gibbs_iters, seed, logdir, verbose
        self.hidden_layers = hidden_layers

    # -- model ---------------------------------------------------------------------
    def _draws(self, x0, mask, k: int):
        """Encode [x0, mask] and take k draws: (logits [k,B,D], z [k,B,L], mean, log_var)."""
        z_mean, z_log_var = self.encoder_(tf.concat([x0, mask], axis=-1))
        eps = self._rng.normal(tf.concat([[k], tf.shape(z_mean)], 0))
        z = z_mean + tf.exp(0.5 * z_log_var) * eps
        flat = self.decoder_(tf.reshape(z, [-1, self.latent_dim]))
        logits = tf.reshape(flat, [k, -1, self._dim])
        return logits, z, z_mean, z_log_var

    def fit(self, X: np.ndarray) -> "MIWAEImputer":
        x, mask = _check(X, "the data to impute")
        n, self._dim = x.shape
        if self.batch_size > n:
            raise UserError(f"batch_size={self.batch_size} is larger than the {n} examples; "
                            f"pass batch_size={n} or less")
        keras.utils.set_random_seed(self.seed)
        self.encoder_ = Encoder(self.latent_dim, self.hidden_dim, seed=self.seed,
                                hidden_layers=self.hidden_layers)
        self.decoder_ = Decoder(self._dim, self.hidden_dim, seed=self.seed,
                                hidden_layers=self.hidden_layers)
        self.encoder_.build((None, 2 * self._dim))
        self.decoder_.build((None, self.latent_dim))
        self._rng = tf.random.Generator.from_seed(self.seed)
        optimizer = keras.optimizers.Adam(self.learning_rate)
        variables = self.encoder_.trainable_variables + self.decoder_.trainable_variables
        k = self.train_samples

        @tf.function(reduce_retracing=True)
        def step(xb, mb):
            with tf.GradientTape() as tape:
                logits, z, z_mean, z_log_var = self._draws(xb, mb, k)
                loss = -tf.reduce_mean(losses.masked_bound(xb, mb, logits, z, z_mean,
                                                           z_log_var)["bound"])
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss

        x0, m = np.where(mask, x, 0).astype(np.float32), mask.astype(np.float32)
        writer = summaries.Writer(self.logdir) if self.logdir else None
        self.history_: List[Dict[str, float]] = []
        order_rng = np.random.default_rng(self.seed)
        n_batches = math.ceil(n / self.batch_size)
        for epoch in range(self.epochs):
            bar = keras.utils.Progbar(n_batches, verbose=self.verbose, unit_name="batch",
                                      stateful_metrics=["loss"])
            order, total = order_rng.permutation(n), 0.0
            for i in range(n_batches):
                rows = order[i * self.batch_size:(i + 1) * self.batch_size]
                total += float(step(x0[rows], m[rows])) * len(rows)
                if not math.isfinite(total):
                    raise TrainingDiverged(f"the MIWAE loss became NaN at epoch {epoch + 1}; "
                                           "try a lower learning rate")
                bar.update(i + 1, values=[("loss", total / min(n, (i + 1) * self.batch_size))])
            self.history_.append({"epoch": epoch + 1, "loss": total / n})
            if writer:
                writer.scalars("impute", {"loss": total / n}, epoch + 1)
        if writer:
            writer.close()
        return self

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    # -- imputation ----------------------------------------------------------------
    def _prepare(self, X):
        if not hasattr(self, "encoder_"):
            raise UserError("the MIWAE imputer is not fitted; call fit(X) first")
        x, mask = _check(X, "the data to impute")
        if x.shape[1] != self._dim:
            raise UserError(f"the data have {x.shape[1]} columns but the imputer was fitted "
                            f"on {self._dim}; impute data of the same width")
        return x, mask

    def _weights_and_means(self, x, mask):
        """Self-normalised importance weights [L, B] and decoder means [L, B, D]."""
        x0, m = tf.constant(np.where(mask, x, 0), tf.float32), tf.constant(mask, tf.float32)
        logits, z, z_mean, z_log_var = self._draws(x0, m, self.impute_samples)
        log_w = losses.masked_bound(x0, m, logits, z, z_mean, z_log_var)["log_weights"]
        return tf.nn.softmax(log_w, axis=0).numpy(), tf.sigmoid(logits).numpy()

    def transform(self, X: np.ndarray, method: str = "importance") -> np.ndarray:
        if method not in METHODS:
            raise UserError(f"method={method!r} is unknown; choose one of: {', '.join(METHODS)}")
        x, mask = self._prepare(X)
        out = np.empty_like(x)
        for s in range(0, len(x), 256):
            rows = slice(s, s + 256)
            if method == "importance":
                w, means = self._weights_and_means(x[rows], mask[rows])
                guess = np.einsum("lb,lbd->bd", w, means)
            else:
                guess = self._pseudo_gibbs(x[rows], mask[rows])
            out[rows] = np.where(mask[rows], x[rows], guess)
        return out

    def multiple_imputation(self, X: np.ndarray, m: int = 10, seed: int = 0) -> np.ndarray:
        """m imputations by sampling importance resampling: [m, N, D]."""
        x, mask = self._prepare(X)
        rng = np.random.default_rng(seed)
        out = np.empty((m,) + x.shape, np.float32)
        for s in range(0, len(x), 256):
            rows = slice(s, s + 256)
            w, means = self._weights_and_means(x[rows], mask[rows])  # [L, B], [L, B, D]
            cum = np.cumsum(w, axis=0)
            for j in range(m):
                pick = (cum < rng.random(w.shape[1])[None, :]).sum(0)  # one draw per row
                pick = np.minimum(pick, len(w) - 1)
                draw = means[pick, np.arange(w.shape[1])]
                out[j, rows] = np.where(mask[rows], x[rows], draw)
        return out

    def _pseudo_gibbs(self, x, mask):
        ones = tf.ones(x.shape, tf.float32)
        filled = np.where(mask, x, 0).astype(np.float32)
        for _ in range(self.gibbs_iters):
            z_mean, z_log_var = self.encoder_(tf.concat([filled, ones], axis=-1))
            z = z_mean + tf.exp(0.5 * z_log_var) * self._rng.normal(tf.shape(z_mean))
            filled = np.where(mask, x, tf.sigmoid(self.decoder_(z)).numpy())
        return filled
