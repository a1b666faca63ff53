"""The thesis's VAE missing-values algorithm as a scikit-learn style estimator.

`fit_transform(X)` (PROTOCOL.md, "VAE missing-values algorithm"): X_filled starts as X
with the marker in its holes; every epoch walks the batches in order, and for each batch
takes one Adam step of the -ELBO on X_filled, then puts the batch's reconstructions
(sigmoid of the decoder logits of that step's sampled z) into its missing entries:
X_filled = m * X + (1 - m) * reconstruction. Observed entries never change.

`transform(X_new)` imputes new data without training: from the marker fill, repeat
"reconstruct with the posterior mean z, replace the missing entries" until the largest
change of a missing entry is below `transform_tol` or `transform_iters` rounds ran.
An all-missing row is allowed: the model then imputes it from its marker-filled input.
"""

import math
from typing import Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf

from vae_tf import losses, summaries
from vae_tf.errors import TrainingDiverged, UserError
from vae_tf.missing import fill
from vae_tf.models import VAE, encode_decode
from vae_tf.train import TERMS


def make_impute_step(vae: VAE, optimizer: keras.optimizers.Optimizer,
                     rng: tf.random.Generator, jit_compile: bool = False):
    """A compiled step: x [B, D] -> (batch-mean terms, reconstruction [B, D]) after one update."""

    def step(x):
        with tf.GradientTape() as tape:
            logits, z_mean, z_log_var = encode_decode(vae, x, rng)
            terms = losses.elbo_terms(x, logits, z_mean, z_log_var)
            loss = tf.reduce_mean(terms["loss"])
        variables = vae.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {name: tf.reduce_mean(terms[name]) for name in TERMS}, tf.sigmoid(logits)

    return tf.function(step, jit_compile=jit_compile, reduce_retracing=True)


class VAEImputer:
    """Defaults are the thesis's missing-values settings (whole data set as one batch)."""

    def __init__(self, latent_dim: int = 64, hidden_dim: int = 400, epochs: int = 200,
                 batch_size: Optional[int] = None, learning_rate: float = 0.01,
                 init_stddev: Optional[float] = 0.001, seed: int = 0, marker: float = 0.5,
                 logdir: Optional[str] = None, verbose: int = 0, transform_iters: int = 100,
                 transform_tol: float = 1e-4):
        self.latent_dim, self.hidden_dim, self.epochs = latent_dim, hidden_dim, epochs
        self.batch_size, self.learning_rate, self.init_stddev = batch_size, learning_rate, init_stddev
        self.seed, self.marker, self.logdir, self.verbose = seed, marker, logdir, verbose
        self.transform_iters, self.transform_tol = transform_iters, transform_tol

    def fit(self, X: np.ndarray) -> "VAEImputer":
        self.fit_transform(X)
        return self

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        x, mask = _check(X, "the data to impute")
        n = len(x)
        batch = self.batch_size or n
        if batch > n:
            raise UserError(f"batch_size={batch} is larger than the {n} examples; "
                            f"pass batch_size={n} or less")
        keras.utils.set_random_seed(self.seed)
        self.vae_ = VAE(x.shape[1], self.latent_dim, self.hidden_dim, self.init_stddev, self.seed)
        optimizer = keras.optimizers.Adam(self.learning_rate)
        step = make_impute_step(self.vae_, optimizer, tf.random.Generator.from_seed(self.seed))
        writer = summaries.Writer(self.logdir) if self.logdir else None
        filled = fill(x, self.marker)
        self.history_: List[Dict[str, float]] = []
        n_batches = math.ceil(n / batch)
        for epoch in range(self.epochs):
            bar = keras.utils.Progbar(n_batches, verbose=self.verbose, unit_name="batch",
                                      stateful_metrics=["loss"])
            sums = {name: 0.0 for name in TERMS}
            for i, start in enumerate(range(0, n, batch)):  # in order, as the thesis
                rows = slice(start, start + batch)
                terms, recon = step(tf.constant(filled[rows]))
                filled[rows] = np.where(mask[rows], x[rows], recon.numpy())
                size = len(filled[rows])
                for name in TERMS:
                    sums[name] += float(terms[name]) * size
                if not math.isfinite(sums["loss"]):
                    raise TrainingDiverged(f"the VAE imputer's loss became NaN at epoch "
                                           f"{epoch + 1}; try a lower learning rate")
                bar.update(i + 1, values=[("loss", sums["loss"] / min(n, start + size))])
            means = {name: total / n for name, total in sums.items()}
            self.history_.append({"epoch": epoch + 1, **means})
            if writer:
                writer.scalars("impute", means, epoch + 1)
        if writer:
            writer.close()
        return filled

    def transform(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "vae_"):
            raise UserError("the VAE imputer is not fitted; call fit(X) or fit_transform(X) first")
        x, mask = _check(X, "the data to impute")
        if x.shape[1] != self.vae_.input_dim:
            raise UserError(f"the data have {x.shape[1]} columns but the imputer was fitted "
                            f"on {self.vae_.input_dim}; impute data of the same width")
        filled = fill(x, self.marker)
        holes = ~mask
        for _ in range(self.transform_iters):
            recon = np.concatenate([tf.sigmoid(self.vae_(filled[s:s + 4096])).numpy()
                                    for s in range(0, len(x), 4096)])
            new = np.where(mask, x, recon)
            change = float(np.max(np.abs(new - filled)[holes])) if holes.any() else 0.0
            filled = new
            if change < self.transform_tol:
                break
        return filled


def _check(X, what: str):
    x = np.array(X, dtype=np.float32)  # a copy: the caller's array is never changed
    if x.ndim != 2 or x.size == 0:
        raise UserError(f"{what} must be a non-empty 2-D array [examples, entries], "
                        f"got shape {x.shape}")
    if np.isinf(x).any():
        raise UserError(f"{what} holds infinite values; mark missing entries with NaN")
    mask = ~np.isnan(x)
    values = x[mask]
    if values.size and (values.min() < 0 or values.max() > 1):
        raise UserError(f"{what} has values in [{values.min()}, {values.max()}]; the Bernoulli "
                        "VAE needs data in [0, 1]: scale them first")
    return x, mask
