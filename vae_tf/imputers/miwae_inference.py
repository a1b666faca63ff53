"""MIWAEImputer's imputation, by the fitted model: E[x_mis | x_obs] by importance sampling
(compiled, importance.py), pseudo-Gibbs, multiple imputation by sampling importance
resampling, the posterior q(z | x_obs) and the weights' effective sample size.

`MIWAEInference` is a mixin of MIWAEImputer (miwae.py, which fits the model and documents
every parameter): it reads the fitted `model_` (a MaskedBound), `_columns` (a table's
column models, or None), `_draw_rng` and `_fitted_image`, which `_after_fit` sets, and
keeps two caches: the compiled step per (impute_samples, impute_dtype) and the decoder
per impute_dtype (a bfloat16 copy, models.low_precision_copy).
"""

import math
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from vae_tf.config import SEED_MAX
from vae_tf.imputers.base import check_choice, check_int
from vae_tf.imputers.importance import ImportanceStep, resample, rows_per_call
from vae_tf.models import low_precision_copy, reparameterize

DRAWS = ("sample", "mean")
CHUNK_ENTRIES = 1 << 25  # L x rows x D floats per imputation chunk (128 MB a tensor)


class MIWAEInference:
    """Imputation methods of a fitted MIWAEImputer (see the module docstring)."""

    def _reset_inference(self) -> None:
        """A new fit: a fresh draw stream and empty caches."""
        self._draw_rng = tf.random.Generator.from_seed(self.seed + 1)
        self._steps = {}  # (impute_samples, impute_dtype) -> the compiled ImportanceStep
        self._decoders = {"float32": None}  # impute_dtype -> the decoder imputation uses

    def __getstate__(self):
        """Pickles without the compiled imputation steps and the low-precision decoder
        copies: caches (tf.function graphs and closures do not pickle), rebuilt on the next
        call."""
        state = dict(self.__dict__)
        if "_steps" in state:
            state["_steps"], state["_decoders"] = {}, {"float32": None}
        return state

    def _encoded(self, x, mask):
        """The model's view of x [B, D]: (x0, mask) with 0 in the holes (a table encoded)."""
        if self._columns is None:
            return np.where(mask, x, 0).astype(np.float32), mask.astype(np.float32)
        return self._columns.encode(x, mask)

    def _weights_and_means(self, x, mask, rng: Optional[tf.random.Generator] = None,
                           numpy: bool = True, outputs: bool = False):
        """Self-normalised importance weights [L, B] and decoder means [L, B, E] (E = D
        but for a table's one-hot categories), or with `outputs` the decoder's raw outputs
        [L, B, P] (what `Columns.sample` draws from).

        The L draws of q(z | x_obs) come from `rng` (default: the imputer's own stream);
        `numpy=False` keeps them as tensors (no copies of the [L, B, D] means).
        """
        x0, m = (tf.constant(v) for v in self._encoded(x, mask))
        out, z, z_mean, z_log_var = self.model_.draws(
            x0, m, self.impute_samples, rng=self._draw_rng if rng is None else rng,
            decoder=self._impute_decoder())
        log_w = self.model_.log_weights(x0, m, out, z, z_mean, z_log_var)
        w, means = tf.nn.softmax(log_w, axis=0), (out if outputs else self.model_.mean(out))
        return (w.numpy(), means.numpy()) if numpy else (w, means)

    def _chunk(self, d: int) -> int:
        """Rows per imputation chunk: L x rows x (the decoder's widest activation per draw:
        D for the MLP, conv.py's 2x-downsampled 32-channel map for conv) stays under
        CHUNK_ENTRIES (at least 1 row)."""
        image = getattr(self, "_fitted_image", None)
        if image is not None:
            h, w, _ = image
            d = max(d, math.ceil(h / 2) * math.ceil(w / 2) * 32)
        return int(max(1, min(256, CHUNK_ENTRIES // (self.impute_samples * d))))

    def _transform(self, X) -> np.ndarray:
        """MIWAEImputer.transform: X [N, D] with its holes imputed by `method`, observed
        entries unchanged."""
        x, mask = self._check_transform(X)
        self._validate_params("method", "impute_samples", "impute_dtype")  # after fit too
        x0, m = self._encoded(x, mask)
        chunk = self._chunk(x0.shape[1])
        if self.method == "importance":
            step = self._importance_step()
            filled = step.impute(x0, m.astype(bool), rows_per_call(step.samples, chunk))
        else:
            filled = np.empty_like(x0)
            for s in range(0, len(x0), chunk):
                rows = slice(s, s + chunk)
                filled[rows] = self._pseudo_gibbs(x0[rows], m[rows].astype(bool))
        if self._columns is not None:
            filled = self._columns.decode(filled)
        return np.where(mask, x, filled).astype(x.dtype)

    def _importance_step(self) -> ImportanceStep:
        """The fitted model's compiled step at the current `impute_samples` and
        `impute_dtype` (each built once)."""
        self._validate_params("impute_samples", "impute_dtype")
        key = (int(self.impute_samples), self.impute_dtype)
        if key not in self._steps:
            width = self.n_features_in_ if self._columns is None else self._columns.width
            self._steps[key] = ImportanceStep(self.model_, self._draw_rng, key[0], width,
                                              decoder=self._impute_decoder())
        return self._steps[key]

    def _impute_decoder(self):
        """The decoder imputation decodes z with: None (the trained one) for float32, else
        its copy in `impute_dtype` (models.low_precision_copy, made once per fit)."""
        self._validate_params("impute_dtype")
        if self.impute_dtype not in self._decoders:
            self._decoders[self.impute_dtype] = low_precision_copy(
                self.model_.decoder, self.model_.encoder.latent_dim, self.impute_dtype)
        return self._decoders[self.impute_dtype]

    def multiple_imputation(self, X, m: int = 10, seed: int = 0,
                            draw: str = "sample") -> np.ndarray:
        """m imputations by sampling importance resampling: [m, N, D], observed entries kept.

        Each imputation resamples one of the L draws z_l of q(z | x_obs) with probability
        w_l (its self-normalised importance weight), then fills the holes with
        - `draw="sample"` (default): x_mis ~ p(x | z_l), Bernoulli, so values in {0, 1}.
          This is the statistically proper choice: the m imputations are (approximate)
          draws from the predictive p(x_mis | x_obs), so their spread carries both the
          latent uncertainty and the pixel noise, as Rubin's multiple imputation and any
          interval or coverage built on the imputations require;
        - `draw="mean"`: the decoder mean E[x | z_l] of each draw of z; its
          spread shows only the uncertainty about z, so intervals from it are too narrow.
        On a table (a column model) `draw="sample"` draws each hole from its column's
        model (Gaussian or Student's t on the column's scale, one of the two values of a
        binary column, a code of a categorical one) and `draw="mean"` takes the mean
        (the most probable code for a categorical column).
        The same `seed` gives the same imputations (z draws, resampling and the draws of x).
        """
        x, mask = self._check_transform(X)
        owner = "MIWAEImputer.multiple_imputation"
        m = check_int(owner, "m", m, example=10)
        seed = check_int(owner, "seed", seed, low=0, high=SEED_MAX, example=0)
        check_choice(owner, "draw", draw, DRAWS)
        rng = np.random.default_rng(seed)
        z_rng = tf.random.Generator.from_seed(seed)
        out = np.empty((m,) + x.shape, np.float32)
        columns = self._columns
        chunk = self._chunk(x.shape[1] if columns is None else columns.params)
        for s in range(0, len(x), chunk):
            rows = slice(s, s + chunk)
            if columns is None:
                w, means = self._weights_and_means(x[rows], mask[rows], z_rng)  # [L,B], [L,B,D]
                out[:, rows] = np.where(mask[rows], x[rows], resample(w, means, m, rng, draw))
                continue
            w, params = self._weights_and_means(x[rows], mask[rows], z_rng, outputs=True)
            picks = resample(w, params, m, rng, "mean")  # [m, B, P]: one draw's outputs
            for j in range(m):
                guess = columns.sample(picks[j], rng) if draw == "sample" else \
                    columns.decode(self.model_.mean(tf.constant(picks[j])).numpy())
                out[j, rows] = np.where(mask[rows], x[rows], guess)
        return out

    def posterior(self, X) -> Tuple[np.ndarray, np.ndarray]:
        """q(z | x_obs, mask) of each row of X [N, D] (NaN = missing), the distribution the
        imputation draws z from: (z_mean, z_log_var), each [N, latent_dim]. What
        collapse.latent_diagnosis reads (the KL of the posterior, the latent units in use)."""
        x, mask = self._check_transform(X)
        x0, m = self._encoded(x, mask)
        parts = [self.model_.encode(tf.constant(x0[s:s + 1000]), tf.constant(m[s:s + 1000]))
                 for s in range(0, len(x0), 1000)]
        return tuple(np.concatenate([np.asarray(p[i]) for p in parts]) for i in (0, 1))

    def effective_sample_size(self, X) -> np.ndarray:
        """Kish's effective sample size 1 / sum_l w_l^2 of the L importance weights: [N]."""
        x, mask = self._check_transform(X)
        out = np.empty(len(x))
        chunk = self._chunk(x.shape[1] if self._columns is None else self._columns.params)
        for s in range(0, len(x), chunk):
            w, _ = self._weights_and_means(x[s:s + chunk], mask[s:s + chunk], numpy=False)
            out[s:s + chunk] = 1.0 / np.sum(np.asarray(w.numpy(), np.float64) ** 2, axis=0)
        return out

    def _pseudo_gibbs(self, x0, mask):
        """Pseudo-Gibbs on the model's view x0 [B, E] (0 in the holes) and its mask."""
        ones = tf.ones(x0.shape, tf.float32)
        model = self.model_
        filled = np.where(mask, x0, 0).astype(np.float32)
        decoder = self._impute_decoder() or model.decoder
        for _ in range(self.gibbs_iters):
            z_mean, z_log_var = model.encode(tf.constant(filled), ones)
            z = reparameterize(z_mean, z_log_var, self._draw_rng)
            filled = np.where(mask, x0, model.mean(decoder(z)).numpy())
        return filled
