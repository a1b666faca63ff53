"""The thesis's VAE missing-values algorithm, on the engine.

`fit(X)` (PROTOCOL.md, "VAE missing-values algorithm"): X_filled starts as X with the
marker in its holes; every epoch walks the batches in order (no shuffle), and for each
batch takes one Adam step of the -ELBO on X_filled, then puts the batch's
reconstructions (sigmoid of the decoder logits of that same step's sampled z, computed
before the update) into its missing entries: X_filled = m * X + (1 - m) * reconstruction.
The batches of an epoch are disjoint, so the engine writes them back after each compiled
call of several steps without changing what any step reads. `fit_transform(X)` returns
that X_filled (the thesis's output); `transform(X_new)` imputes new data without training.

An all-missing row is allowed: the VAE maps the marker-filled row through its encoder and
decoder, so it gets a typical example (near the fixed point of reconstruct-and-replace).
"""

from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.elbo import TERMS
from vae_tf.engine import Objective
from vae_tf.imputers.training import TrainedImputer
from vae_tf.models import VAE, encode_decode
from vae_tf.settings import Integer, Real


class FillIn(Objective):
    """The -ELBO on the current fill; each step's reconstructions go back into the holes."""

    term_names = TERMS
    output_names = ("reconstruction_mean",)
    updates_in_step = True  # one device: the fill is updated inside the compiled step

    def __init__(self, vae: VAE, rng: tf.random.Generator, x: np.ndarray, mask: np.ndarray,
                 filled: tf.Variable):
        self.vae, self.rng, self.x, self.mask, self.filled = vae, rng, x, mask, filled

    @property
    def trainable_variables(self):
        return self.vae.trainable_variables

    def trackables(self) -> Dict:
        return {"encoder": self.vae.encoder, "decoder": self.vae.decoder, "rng": self.rng,
                "filled": self.filled}

    def terms(self, batch):
        filled = batch[0]  # [B, D]; batch: (fill, x with 0 in its holes, mask)
        logits, z_mean, z_log_var = encode_decode(self.vae, filled, self.rng)
        terms = losses.elbo_terms(filled, logits, z_mean, z_log_var)
        terms["reconstruction_mean"] = tf.sigmoid(logits)
        return terms

    def apply_outputs(self, rows, outputs) -> None:
        """Under a strategy: the replicas' reconstructions, after each compiled call."""
        recon = outputs["reconstruction_mean"]  # [n, D]
        new = np.where(self.mask[rows], self.x[rows], recon)
        self.filled.scatter_nd_update(rows[:, None], new)

    def update_in_step(self, rows, valid, batch, terms) -> None:
        """On one device, inside the compiled step: the same fill, without a round trip.

        Added as a change (0 for observed entries and padding rows), so a padding row that
        repeats a real row of the same step leaves that row's new value alone.
        """
        filled, x, mask = batch
        new = tf.where(mask > 0, x, terms["reconstruction_mean"])
        change = tf.where(valid[:, None], new - filled, tf.zeros_like(filled))
        self.filled.scatter_nd_add(rows[:, None], change)


class VAEImputer(TrainedImputer):
    """The thesis's imputer. Defaults are its missing-values settings (one batch of all rows).

    Args: latent_dim, hidden_dim (the MLP VAE); epochs; batch_size (None = every row in
    one batch); learning_rate (Adam); init_stddev (truncated-normal weights, None =
    Glorot); adam_epsilon (Adam's epsilon: 1e-8 as the thesis's TF 1 and PyTorch code;
    Keras's 1e-7 exceeds most first-layer gradients at the 0.001 init and the encoder then
    hardly learns); seed (weights and sampling); marker (the first fill of the holes);
    transform_iters, transform_tol (the stopping rule of `transform`); and the engine's
    steps_per_call, jit_compile, strategy, logdir (checkpoints every epoch, resume,
    TensorBoard) and verbose; keep_empty_features (a column with no observed entry: False,
    the default, dropped, True 0, as scikit-learn's; None imputes it; validation.py). After fitting: `vae_`, `filled_`, `history_`, and after
    `transform`, `n_iter_`.
    """

    _parameter_constraints = {
        "latent_dim": Integer(), "hidden_dim": Integer(), "transform_iters": Integer(),
        "marker": Real(0.0, 1.0, low_open=False), "transform_tol": Real(),
        "adam_epsilon": Real(high=1.0), "init_stddev": Real(high=1.0, none=True)}

    def __init__(self, latent_dim: int = 64, hidden_dim: int = 400, epochs: int = 200,
                 batch_size: Optional[int] = None, learning_rate: float = 0.01,
                 init_stddev: Optional[float] = 0.001, adam_epsilon: float = 1e-8, seed: int = 0,
                 marker: float = 0.5, transform_iters: int = 100, transform_tol: float = 1e-4,
                 steps_per_call: int = 10, jit_compile: bool = True, strategy: str = "default",
                 logdir: Optional[str] = None, verbose: int = 0,
                 keep_empty_features: Optional[bool] = False):
        self.keep_empty_features = keep_empty_features
        self.latent_dim, self.hidden_dim, self.epochs = latent_dim, hidden_dim, epochs
        self.batch_size, self.learning_rate, self.init_stddev = batch_size, learning_rate, init_stddev
        self.adam_epsilon, self.seed, self.marker = adam_epsilon, seed, marker
        self.transform_iters, self.transform_tol = transform_iters, transform_tol
        self.steps_per_call, self.jit_compile, self.strategy = steps_per_call, jit_compile, strategy
        self.logdir, self.verbose = logdir, verbose

    def _objective(self, x: np.ndarray, mask: np.ndarray, data) -> FillIn:
        self.vae_ = VAE(x.shape[1], self.latent_dim, self.hidden_dim, self.init_stddev,
                        self.seed)
        rng = tf.random.Generator.from_seed(self.seed)
        return FillIn(self.vae_, rng, x, mask, data[0])

    def _after_fit(self, objective: FillIn) -> None:
        self.filled_ = objective.filled.numpy()

    def fit_transform(self, X, y=None) -> np.ndarray:
        """The thesis's output: X [N, D] (NaN = missing) -> X_filled after training."""
        return self.fit(X).filled_

    def transform(self, X) -> np.ndarray:
        """Impute X [N, D] with the fitted VAE, without training.

        X_filled = X with the marker in its holes; then repeat recon = the deterministic
        reconstruction decode(z_mean) and X_filled = m * X + (1 - m) * recon, until the
        largest change of a missing entry in one round is below `transform_tol` or
        `transform_iters` rounds ran (`n_iter_`). Returns X_filled [N, D] float32.
        """
        x, mask = self._check_transform(X)
        filled, holes = np.where(mask, x, np.float32(self.marker)), ~mask
        reconstruct = _compiled_reconstruct(self.vae_)
        self.n_iter_ = 0
        while self.n_iter_ < self.transform_iters and holes.any():
            means = np.concatenate([reconstruct(filled[s:s + 4096]).numpy()
                                    for s in range(0, len(x), 4096)])
            new = np.where(mask, x, means)
            change = float(np.max(np.abs(new - filled)[holes]))
            filled, self.n_iter_ = new, self.n_iter_ + 1
            if change < self.transform_tol:
                break
        return filled


def _compiled_reconstruct(vae: VAE):
    """x [B, D] -> vae.reconstruct(x), compiled once per model."""
    if getattr(vae, "_compiled_reconstruct", None) is None:
        fn = tf.function(vae.reconstruct,
                         input_signature=[tf.TensorSpec([None, vae.input_dim], tf.float32)])
        object.__setattr__(vae, "_compiled_reconstruct", fn)
    return vae._compiled_reconstruct
