"""Rating prediction done right: an item-based VAE on the ratings that exist.

Each movie is one example: its vector of ratings by every user, NaN where unrated. The
model predicts the residual of a user + item bias baseline (mu + b_user + b_item, with
shrinkage), scaled by 1/2; the likelihood is Gaussian with a fixed standard deviation
and counts the rated cells only, so unrated cells never pose as zeros; the encoder sees
the residuals (0 where unrated) beside the mask. Predictions are the baseline plus the
decoded mean at the posterior mean, clipped to [1, 5].
"""

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.errors import UserError


def bias_baseline(train: np.ndarray, reg_item: float = 25.0, reg_user: float = 10.0,
                  sweeps: int = 10) -> np.ndarray:
    """mu + b_user + b_item with shrinkage (alternating sweeps), clipped to [1, 5]. [U, I]."""
    rated = ~np.isnan(train)
    r = np.where(rated, train, 0.0)
    mu = r.sum() / rated.sum()
    b_user, b_item = np.zeros(len(train)), np.zeros(train.shape[1])
    for _ in range(sweeps):
        b_item = ((r - mu - b_user[:, None]) * rated).sum(0) / (reg_item + rated.sum(0))
        b_user = ((r - mu - b_item[None, :]) * rated).sum(1) / (reg_user + rated.sum(1))
    return np.clip(mu + b_user[:, None] + b_item[None, :], 1, 5)


class RatingVAE:
    """fit(train [users, items] with NaN) -> predict() the full matrix in [1, 5]."""

    def __init__(self, latent_dim: int = 64, hidden_dim: int = 500, epochs: int = 100,
                 batch_size: int = 64, learning_rate: float = 1e-3, sigma: float = 0.5,
                 l2: float = 1e-2, seed: int = 0):
        self.latent_dim, self.hidden_dim, self.epochs = latent_dim, hidden_dim, epochs
        self.batch_size, self.learning_rate, self.sigma = batch_size, learning_rate, sigma
        self.l2, self.seed = l2, seed

    def fit(self, train: np.ndarray) -> "RatingVAE":
        train = np.asarray(train, np.float64)
        values = train[~np.isnan(train)]
        if train.ndim != 2 or values.size == 0:
            raise UserError("the rating matrix must be 2-D [users, items] with some ratings")
        if values.min() < 1 or values.max() > 5:
            raise UserError(f"ratings span [{values.min()}, {values.max()}]; expected 1..5")
        keras.utils.set_random_seed(self.seed)
        rated = ~np.isnan(train)
        self.base_ = bias_baseline(train)
        self._x = np.where(rated, (train - self.base_) / 2.0, 0).T.astype(np.float32)  # [I, U]
        self._m = rated.T.astype(np.float32)
        n, d = self._x.shape
        dense = keras.layers.Dense
        self._layers = [dense(self.hidden_dim, activation="sigmoid"), dense(self.latent_dim),
                        dense(self.latent_dim), dense(self.hidden_dim, activation="sigmoid"),
                        dense(d)]
        self._rng = tf.random.Generator.from_seed(self.seed)
        self._forward(self._x[:1], self._m[:1])
        variables = [v for layer in self._layers for v in layer.trainable_variables]
        kernels = [v for v in variables if len(v.shape) == 2]
        optimizer = keras.optimizers.Adam(self.learning_rate)

        @tf.function
        def step(x, m):
            with tf.GradientTape() as tape:
                out, mu, log_var = self._forward(x, m, sample=True)
                nll = 0.5 * tf.reduce_sum(m * tf.square(x - out), -1) / self.sigma ** 2
                loss = (tf.reduce_mean(nll + losses.gaussian_kl(mu, log_var))
                        + self.l2 * tf.add_n([tf.reduce_sum(tf.square(k)) for k in kernels]))
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss

        order = np.random.default_rng(self.seed)
        self.history_ = []
        for _ in range(self.epochs):
            perm, total = order.permutation(n), 0.0
            for i in range(0, n, self.batch_size):
                rows = perm[i:i + self.batch_size]
                total += float(step(self._x[rows], self._m[rows])) * len(rows)
            self.history_.append(total / n)
        return self

    def _forward(self, x, m, sample: bool = False):
        enc, mean, log_var, dec, out = self._layers
        h = enc(tf.concat([x, m], axis=-1))
        mu, lv = mean(h), log_var(h)
        z = mu + tf.exp(0.5 * lv) * self._rng.normal(tf.shape(mu)) if sample else mu
        return out(dec(z)), mu, lv

    def predict(self, train: Optional[np.ndarray] = None) -> np.ndarray:
        """The full [users, items] matrix of predicted ratings in [1, 5]."""
        if not hasattr(self, "base_"):
            raise UserError("the rating VAE is not fitted; call fit(train) first")
        out, _, _ = self._forward(self._x, self._m)
        return np.clip(self.base_ + 2.0 * out.numpy().T, 1.0, 5.0)
