"""The thesis's VAE missing-values algorithm as a scikit-learn style estimator.

`fit_transform(X)` (PROTOCOL.md, "VAE missing-values algorithm"): X_filled starts as X
with the marker in its holes; every epoch walks the batches in order (no shuffle), and
for each batch takes one Adam step of the -ELBO on X_filled, then puts the batch's
reconstructions (sigmoid of the decoder logits of that same step's sampled z, computed
before the update, as the thesis's train() returns them) into its missing entries:
X_filled = m * X + (1 - m) * reconstruction. Observed entries never change.

`transform(X_new)` imputes new data without training (see its docstring).

An all-missing row is allowed, not an error: unlike K-NN, which has no observed entry to
measure a distance with, the VAE maps the marker-filled row through its encoder and
decoder and so imputes it from what it learned of the whole data set (a typical example,
near the fixed point of reconstruct-and-replace).
"""

import math
from typing import Dict, List, Optional, Tuple

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
    """A compiled step: x [B, D] -> (batch-mean terms, reconstruction [B, D]).

    One Adam update of the -ELBO on x; the reconstruction sigmoid(logits) is that of the
    same forward pass (one sampled z per example), i.e. from the weights before the update.
    """

    def step(x):
        with tf.GradientTape() as tape:
            logits, z_mean, z_log_var = encode_decode(vae, x, rng)  # [B, D], [B, L], [B, L]
            terms = losses.elbo_terms(x, logits, z_mean, z_log_var)  # [B] each
            loss = tf.reduce_mean(terms["loss"])
        variables = vae.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {name: tf.reduce_mean(terms[name]) for name in TERMS}, tf.sigmoid(logits)

    return tf.function(step, jit_compile=jit_compile, reduce_retracing=True)


def make_mean_reconstruction(vae: VAE):
    """A compiled x [B, D] -> sigmoid(decoder(z_mean(encoder(x)))) [B, D], no sampling.

    Compiled because `transform` calls it every round (train.reconstruct, eager over a
    tf.data pipeline, is ~2x slower on 10,000 x 784 and ~8x on tiny data).
    """

    @tf.function(reduce_retracing=True)
    def mean_reconstruction(x):
        return tf.sigmoid(vae(x))

    return mean_reconstruction


class VAEImputer:
    """Defaults are the thesis's missing-values settings (whole data set as one batch).

    Args: latent_dim, hidden_dim (the MLP VAE); epochs; batch_size (None = all rows in
    one batch); learning_rate (Adam); init_stddev (truncated-normal weights, None =
    Glorot); seed (weights and sampling); marker (the initial fill of the holes);
    logdir (TensorBoard `impute/loss`, `impute/reconstruction`, `impute/kl` per epoch);
    verbose (0 silent, 1 progress bar, 2 one line per epoch); transform_iters and
    transform_tol (the stopping rule of `transform`).

    Attributes after fitting: `vae_` (the trained VAE), `history_` (one dict per epoch:
    `epoch` and the data-mean `loss`, `reconstruction`, `kl`); after `transform`:
    `n_iter_` (the rounds it ran).
    """

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
        """Run the thesis's algorithm on X [N, D] (NaN = missing) and keep the model."""
        self.fit_transform(X)
        return self

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """X [N, D] in [0, 1], NaN = missing -> X_filled [N, D] float32, no NaN.

        Observed entries are X's values as float32 (bit-identical for float32 input).
        """
        x, mask = _check(X, "the data to impute")  # [N, D] float32, [N, D] bool
        n = len(x)
        batch = self._batch_size(n)
        self.vae_ = VAE(x.shape[1], self.latent_dim, self.hidden_dim, self.init_stddev, self.seed)
        optimizer = keras.optimizers.Adam(self.learning_rate)
        step = make_impute_step(self.vae_, optimizer, tf.random.Generator.from_seed(self.seed))
        writer = summaries.Writer(self.logdir) if self.logdir else None
        filled = fill(x, self.marker)  # [N, D], updated in place batch by batch
        self.history_: List[Dict[str, float]] = []
        try:
            for epoch in range(self.epochs):
                means = self._epoch(step, x, mask, filled, batch, epoch)
                self.history_.append({"epoch": epoch + 1, **means})
                if writer:
                    writer.scalars("impute", means, epoch + 1)
        finally:
            if writer:
                writer.close()  # the epochs so far reach TensorBoard even after a divergence
        return filled

    def _epoch(self, step, x, mask, filled, batch: int, epoch: int) -> Dict[str, float]:
        """One pass over the batches of filled [N, D] in order; the data-mean terms."""
        n = len(x)
        bar = keras.utils.Progbar(math.ceil(n / batch), verbose=self.verbose,
                                  unit_name="batch", stateful_metrics=["loss"])
        sums = {name: 0.0 for name in TERMS}
        for i, start in enumerate(range(0, n, batch)):  # in order, as the thesis
            rows = slice(start, start + batch)
            terms, recon = step(tf.constant(filled[rows]))  # recon [B, D]
            filled[rows] = np.where(mask[rows], x[rows], recon.numpy())
            for name in TERMS:
                sums[name] += float(terms[name]) * len(x[rows])
            if not math.isfinite(sums["loss"]):
                raise TrainingDiverged(f"the VAE imputer's loss became {sums['loss']} at "
                                       f"epoch {epoch + 1}; try a lower learning_rate")
            bar.update(i + 1, values=[("loss", sums["loss"] / min(n, start + batch))])
        return {name: total / n for name, total in sums.items()}

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Impute new data X [N, D] (NaN = missing) with the fitted VAE, without training.

        Procedure: X_filled = X with the marker in its holes; then repeat
        recon = sigmoid(decoder(z_mean(encoder(X_filled)))) (the deterministic posterior
        mean, no sampling) and X_filled = m * X + (1 - m) * recon, until the largest
        absolute change of a missing entry in one round is below `transform_tol` or
        `transform_iters` rounds ran (`n_iter_` records how many). Observed entries are
        X's values as float32. Returns X_filled [N, D] float32.
        """
        if not hasattr(self, "vae_"):
            raise UserError("the VAE imputer is not fitted; call fit(X) or fit_transform(X) first")
        x, mask = _check(X, "the data to impute")
        if x.shape[1] != self.vae_.input_dim:
            raise UserError(f"the data have {x.shape[1]} columns but the imputer was fitted "
                            f"on {self.vae_.input_dim}; impute data of the same width")
        filled, holes = fill(x, self.marker), ~mask
        recon = make_mean_reconstruction(self.vae_)
        self.n_iter_ = 0
        while self.n_iter_ < self.transform_iters and holes.any():
            means = np.concatenate([recon(filled[s:s + 4096]).numpy()  # [N, D], in chunks
                                    for s in range(0, len(x), 4096)])
            new = np.where(mask, x, means)
            change = float(np.max(np.abs(new - filled)[holes]))
            filled, self.n_iter_ = new, self.n_iter_ + 1
            if change < self.transform_tol:
                break
        return filled

    def _batch_size(self, n: int) -> int:
        """The batch size for n rows (None = n), checked together with the other settings."""
        for name in ("epochs", "transform_iters", "latent_dim", "hidden_dim"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise UserError(f"{name}={value!r} must be a positive integer; pass e.g. "
                                f"{name}={VAEImputer().__dict__[name]}")
        batch = n if self.batch_size is None else self.batch_size
        if not isinstance(batch, (int, np.integer)) or batch < 1:
            raise UserError(f"batch_size={batch!r} must be a positive integer or None "
                            "(the whole data set); pass e.g. batch_size=100")
        if batch > n:
            raise UserError(f"batch_size={batch} is larger than the {n} examples; "
                            f"pass batch_size={n} or less")
        return int(batch)


def _check(X, what: str) -> Tuple[np.ndarray, np.ndarray]:
    """A float32 copy of X [N, D] (the caller's array is never changed) and its mask."""
    try:
        x = np.array(X, dtype=np.float32)
    except (TypeError, ValueError):
        raise UserError(f"{what} must be a numeric 2-D array with NaN for missing entries; "
                        "convert it with np.asarray(X, dtype=float)") from None
    if x.ndim != 2 or x.size == 0:
        raise UserError(f"{what} must be a non-empty 2-D array [examples, entries], "
                        f"got shape {x.shape}")
    if np.isinf(x).any():
        raise UserError(f"{what} holds infinite values; mark missing entries with NaN")
    mask = ~np.isnan(x)  # True = observed
    values = x[mask]
    if values.size and (values.min() < 0 or values.max() > 1):
        raise UserError(f"{what} has values in [{values.min()}, {values.max()}]; the Bernoulli "
                        "VAE needs data in [0, 1]: scale them first")
    return x, mask
