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
posterior mean, clipped to [1, 5]. `RatingVAE` is one model, trained through the shared
fit of the imputers (training.py); `SeedEnsemble(RatingVAE(), n_seeds=3)` averages three
seeds' predictions, as the launcher's `--imputer=rating_vae` does by default. The defaults were chosen on a validation split carved out of u1.base and
u2.base (experiments/movielens_tune.py); those base files hold the other folds' test
ratings, so the choice is not independent of them (see that script).
"""

from typing import Dict, List, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.engine import Objective
from vae_tf.errors import UserError
from vae_tf.imputers.training import TrainedImputer
from vae_tf.models import reparameterize
from vae_tf.settings import Integer, Real

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


class RatedCells(Objective):
    """The rating VAE's loss on a batch of items (residuals x, rated mask m), input dropout."""

    term_names = ("loss", "nll", "kl")

    def __init__(self, model: ItemVAE, rng: tf.random.Generator, sigma: float,
                 kl_weight: float, l2: float, input_dropout: float):
        self.model, self.rng, self.sigma = model, rng, sigma
        self.kl_weight, self.l2, self.input_dropout = kl_weight, l2, input_dropout
        self.kernels = [v for v in model.trainable_variables if len(v.shape) == 2]

    @property
    def trainable_variables(self):
        return self.model.trainable_variables

    def trackables(self) -> Dict:
        return {"model": self.model, "rng": self.rng}

    def terms(self, batch):
        x, m = batch
        seen = m * tf.cast(self.rng.uniform(tf.shape(m)) >= self.input_dropout, tf.float32)
        z_mean, z_log_var = self.model.encode(x * seen, seen)
        z = reparameterize(z_mean, z_log_var, self.rng)
        nll = rated_gaussian_nll(x, self.model.decoder(z), m, self.sigma)
        kl = losses.gaussian_kl(z_mean, z_log_var)
        return {"loss": nll + self.kl_weight * kl, "nll": nll, "kl": kl}

    def penalty(self):
        return self.l2 * tf.add_n([tf.reduce_sum(tf.square(k)) for k in self.kernels])


class RatingVAE(TrainedImputer):
    """fit(X [users, items], NaN = unrated) -> transform(X): X with every NaN predicted in [1, 5].

    One item VAE (see the module); `SeedEnsemble(RatingVAE(), n_seeds=3)` averages seeds.
    `predict()` gives the whole predicted matrix of the fitted X. XLA is off by default:
    its compile time (seconds per model) exceeds what it saves on this small model's
    epochs. `history_`: one dict per epoch. `logdir` keeps the checkpoints (a killed fit
    resumes). A batch holds items; a `batch_size` above the item count takes them all. An
    item nobody rated is predicted (default), or with `keep_empty_features` False dropped,
    True returned as 0 (scikit-learn's; validation.py).
    """

    _parameter_constraints = {
        "latent_dim": Integer(), "hidden_dim": Integer(), "batch_size": Integer(),
        "sigma": Real(), "kl_weight": Real(low_open=False), "l2": Real(low_open=False),
        "input_dropout": Real(0.0, 0.99, low_open=False)}
    _shuffle = True
    _data_range = None  # ratings 1..5, checked in _prepare

    def __init__(self, latent_dim: int = 32, hidden_dim: int = 200, epochs: int = 60,
                 batch_size: int = 64, learning_rate: float = 1e-3, sigma: float = 0.5,
                 kl_weight: float = 0.5, l2: float = 1e-2, input_dropout: float = 0.25,
                 seed: int = 0, steps_per_call: int = 10,
                 jit_compile: bool = False, strategy: str = "default",
                 logdir: Optional[str] = None, verbose: int = 0,
                 keep_empty_features: Optional[bool] = None):
        self.keep_empty_features = keep_empty_features
        self.latent_dim, self.hidden_dim, self.epochs = latent_dim, hidden_dim, epochs
        self.batch_size, self.learning_rate, self.sigma = batch_size, learning_rate, sigma
        self.kl_weight, self.l2, self.input_dropout = kl_weight, l2, input_dropout
        self.seed = seed
        self.steps_per_call, self.jit_compile, self.strategy = steps_per_call, jit_compile, strategy
        self.logdir, self.verbose = logdir, verbose

    # -- the shared fit's hooks (training.py) ----------------------------------------------
    def _examples(self, x: np.ndarray) -> int:
        return x.shape[1]  # each item is one example

    def _batch(self, n: int) -> int:
        self._validate_params("batch_size")
        return min(int(self.batch_size), n)

    def _prepare(self, x: np.ndarray, mask: np.ndarray) -> None:
        values = x[mask]
        if values.size == 0 or values.min() < 1 or values.max() > 5:
            span = f"[{values.min()}, {values.max()}]" if values.size else "no ratings"
            raise UserError(f"X holds {span}; RatingVAE expects ratings 1..5 with NaN "
                            "where unrated")

    def _data(self, x: np.ndarray, mask: np.ndarray) -> List:
        self.base_ = bias_baseline(x.astype(np.float64))
        self._fitted_ratings = (x, mask)  # for predict()
        return list(self._inputs(x, mask))

    def _objective(self, x: np.ndarray, mask: np.ndarray, data: List) -> "RatedCells":
        items, rated = data
        model = ItemVAE(items.shape[1], self.latent_dim, self.hidden_dim)
        model((items[:1], rated[:1]))
        return RatedCells(model, tf.random.Generator.from_seed(self.seed), self.sigma,
                          self.kl_weight, self.l2, self.input_dropout)

    def _after_fit(self, objective: "RatedCells") -> None:
        self.model_ = objective.model

    # -- predictions -----------------------------------------------------------------------
    def _inputs(self, train: np.ndarray, rated: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Scaled residuals over the biases, 0 where unrated, and the mask: [items, users]."""
        x = np.where(rated, (train - self.base_) / SCALE, 0).T.astype(np.float32)
        return x, rated.T.astype(np.float32)

    def _predicted(self, x: np.ndarray, m: np.ndarray, clip: bool = True) -> np.ndarray:
        predicted = self.base_ + SCALE * self.model_((x, m)).numpy().T
        return np.clip(predicted, 1.0, 5.0) if clip else predicted

    def predict(self, clip: bool = True) -> np.ndarray:
        """The full [users, items] matrix of predicted ratings for the fitted X, clipped to
        [1, 5] (`clip=False`: the baseline plus the decoded residual as they are)."""
        self._check_fitted()
        return self._predicted(*self._inputs(*self._fitted_ratings), clip=clip)

    def transform(self, X) -> np.ndarray:
        """X [users, items] (the same users and items) with every NaN predicted."""
        train, rated = self._ratings(X)
        predicted = self._predicted(*self._inputs(train, rated))
        return np.where(rated, train, predicted).astype(np.float32)

    def posterior(self, X=None) -> Tuple[np.ndarray, np.ndarray]:
        """q(z | item) of each item of X [users, items] (NaN = unrated; None: the fitted X),
        as the predictions read it: (z_mean, z_log_var), each [items, latent_dim]. What
        collapse.latent_diagnosis reads (the KL of the posterior, the latent units in use)."""
        self._check_fitted()
        x, m = self._inputs(*(self._fitted_ratings if X is None else self._ratings(X)))
        z_mean, z_log_var = self.model_.encode(tf.constant(x), tf.constant(m))
        return z_mean.numpy(), z_log_var.numpy()

    def _ratings(self, X) -> Tuple[np.ndarray, np.ndarray]:
        """X checked as transform's: (ratings, rated mask), of the fitted shape."""
        train, rated = self._check_transform(X)
        if train.shape != self.base_.shape:
            raise UserError(f"X is {train.shape} but RatingVAE was fitted on a "
                            f"{self.base_.shape} matrix; pass the same users and items")
        return train, rated


def rating_ensemble(n_seeds: int = 3, **settings):
    """`n_seeds` RatingVAE(**settings) from seeds seed, seed+1, ... averaged by SeedEnsemble
    (one seed: the model alone), every item kept: the launcher's `--imputer=rating_vae`."""
    from vae_tf.imputers.ensemble import SeedEnsemble
    model = RatingVAE(**settings)
    return model if n_seeds == 1 else SeedEnsemble(model, n_seeds=n_seeds,
                                                   keep_empty_features=None)
