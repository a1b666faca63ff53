"""Column models: how MIWAE's decoder models each column of a table, and the scaling inside.

A table's columns are not all alike. `Columns.fit` looks at the observed entries and
gives each column a kind:
- `real`: a Gaussian or a Student's t (`real` = "gaussian" or "student_t") with a mean
  and a scale the decoder outputs per entry (the t's degrees of freedom too, at least 3,
  so its mean and variance exist; Mattei & Frellsen 2019 model UCI tables this way). The
  column is standardised inside by the observed entries' mean and standard deviation,
  and imputed values are put back on the column's scale.
- `binary`: a column with exactly two observed values lo < hi: a Bernoulli on
  (x - lo) / (hi - lo). Its single imputation is the mean lo + p (hi - lo) (the value
  with the least squared error); multiple imputations draw lo or hi.
- `categorical` (columns the user names): K observed codes, one-hot inside, a softmax
  over K decoder logits. Its single imputation is the most probable code; multiple
  imputations draw codes.
The thesis's Bernoulli on [0, 1] images is not a `Columns`: MIWAEImputer keeps its
original code path for it (`likelihood="bernoulli"`), so image results do not move.

Layouts: the encoded table [N, E] is the real columns, then the binary ones, then each
categorical column's one-hot block; the decoder's output [.., P] is the real columns'
means, their raw scales (softplus, plus a floor), their raw degrees of freedom (t only),
the binary logits, then the categorical logits block by block.
"""

import math
from typing import List, Optional, Sequence

import numpy as np
import tensorflow as tf

from vae_tf.errors import UserError

REALS = ("gaussian", "student_t")
MIN_SCALE = 1e-3  # floor of a real column's scale, in standard deviations of the column
MIN_DF = 3.0  # the t's degrees of freedom are at least this (finite mean and variance)
MAX_CATEGORIES = 100  # more codes than this in a named categorical column is refused


class Columns:
    """One table's column kinds and scaling (see the module docstring). Build with `fit`."""

    def __init__(self, real: str, kinds: Sequence[str], center: np.ndarray, scale: np.ndarray,
                 low: np.ndarray, high: np.ndarray, categories: List[np.ndarray]):
        self.real, self.kinds = real, np.asarray(kinds, dtype=object)
        self.center, self.scale = center.astype(np.float64), scale.astype(np.float64)
        self.low, self.high = low.astype(np.float64), high.astype(np.float64)
        self.categories = categories  # one sorted array of codes per categorical column
        self.real_cols = np.flatnonzero(self.kinds == "real")
        self.binary_cols = np.flatnonzero(self.kinds == "binary")
        self.cat_cols = np.flatnonzero(self.kinds == "categorical")
        self.n_real, self.n_binary = len(self.real_cols), len(self.binary_cols)
        self.sizes = [len(c) for c in categories]
        self.width = self.n_real + self.n_binary + sum(self.sizes)  # E
        self.params = (self.n_real * (3 if real == "student_t" else 2)
                       + self.n_binary + sum(self.sizes))  # P

    # -- building ------------------------------------------------------------------------
    @classmethod
    def fit(cls, x: np.ndarray, mask: np.ndarray, real: str, categorical: np.ndarray,
            detect_binary: bool, owner: str) -> "Columns":
        """Kinds and scaling from the observed entries of x [N, D] (mask True = observed).

        `categorical` [D] bool: the user's categorical columns; `detect_binary`: a column
        with two observed values is `binary` (else `real`).
        """
        d = x.shape[1]
        kinds, categories = [], []
        center, scale = np.zeros(d), np.ones(d)
        low, high = np.zeros(d), np.ones(d)
        for j in range(d):
            values = x[mask[:, j], j].astype(np.float64)
            distinct = np.unique(values)
            if categorical[j]:
                if len(distinct) > MAX_CATEGORIES:
                    raise UserError(f"{owner}: categorical column {j} has {len(distinct)} "
                                    f"distinct values (at most {MAX_CATEGORIES}); leave it out "
                                    "of categorical_features to model it as a number")
                if np.any(distinct != np.round(distinct)):
                    raise UserError(f"{owner}: categorical column {j} holds non-integer codes "
                                    f"(e.g. {distinct[distinct != np.round(distinct)][0]!r}); "
                                    "encode its categories as integers")
                kinds.append("categorical")
                categories.append(distinct if len(distinct) else np.zeros(1))
            elif detect_binary and len(distinct) == 2:
                kinds.append("binary")
                low[j], high[j] = distinct
            else:
                kinds.append("real")
                if len(values):
                    center[j] = values.mean()
                    spread = values.std()
                    scale[j] = spread if spread > 0 else 1.0
        return cls(real, kinds, center, scale, low, high, categories)

    def likelihood_names(self) -> List[str]:
        """Each column's likelihood: "gaussian"/"student_t", "bernoulli" or "categorical"."""
        names = {"real": self.real, "binary": "bernoulli", "categorical": "categorical"}
        return [names[k] for k in self.kinds]

    def signature(self) -> tuple:
        """What a warm start must match: the kinds, codes and scaling (the weights mean
        something only on the same encoding)."""
        return (self.real, tuple(self.kinds), tuple(tuple(c) for c in self.categories),
                tuple(np.round(self.center, 6)), tuple(np.round(self.scale, 6)),
                tuple(self.low), tuple(self.high))

    # -- numpy: the table <-> the encoded table ------------------------------------------
    def encode(self, x: np.ndarray, mask: np.ndarray):
        """(x_encoded [N, E] with 0 in the holes, mask_encoded [N, E]) as float32."""
        parts, masks = [], []
        r, b = self.real_cols, self.binary_cols
        parts.append((x[:, r] - self.center[r]) / self.scale[r])
        masks.append(mask[:, r])
        parts.append((x[:, b] - self.low[b]) / (self.high[b] - self.low[b]))
        # A value fit never saw (a third value of a binary column, a new code) is not one
        # the column's model can score: it counts as unobserved for the model (and stays
        # in the output as given).
        known = (x[:, b] == self.low[b]) | (x[:, b] == self.high[b])
        masks.append(mask[:, b] & known)
        for j, codes in zip(self.cat_cols, self.categories):
            hit = (x[:, j:j + 1] == codes[None, :])
            parts.append(hit.astype(np.float64))
            seen = mask[:, j:j + 1] & hit.any(axis=1, keepdims=True)
            masks.append(np.repeat(seen, len(codes), axis=1))
        enc = np.concatenate(parts, axis=1)
        m = np.concatenate(masks, axis=1)
        return np.where(m, enc, 0).astype(np.float32), m.astype(np.float32)

    def decode(self, enc: np.ndarray) -> np.ndarray:
        """Encoded values [..., E] (real: standardised values; binary: probabilities;
        categorical: probability blocks) -> the table's values [..., D] (the mean for
        real and binary columns, the most probable code for categorical ones)."""
        out = np.empty(enc.shape[:-1] + (len(self.kinds),), np.float64)
        r, b = self.real_cols, self.binary_cols
        out[..., r] = enc[..., :self.n_real] * self.scale[r] + self.center[r]
        p = enc[..., self.n_real:self.n_real + self.n_binary]
        out[..., b] = self.low[b] + p * (self.high[b] - self.low[b])
        start = self.n_real + self.n_binary
        for j, codes in zip(self.cat_cols, self.categories):
            out[..., j] = codes[np.argmax(enc[..., start:start + len(codes)], axis=-1)]
            start += len(codes)
        return out

    def sample(self, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One draw of x ~ p(x | z) per row from decoder outputs [B, P]: [B, D] values."""
        params = np.asarray(params, np.float64)
        out = np.empty(params.shape[:-1] + (len(self.kinds),), np.float64)
        r, b, nr = self.real_cols, self.binary_cols, self.n_real
        mu, s = params[..., :nr], _softplus(params[..., nr:2 * nr]) + MIN_SCALE
        if self.real == "student_t":
            df = _softplus(params[..., 2 * nr:3 * nr]) + MIN_DF
            noise = rng.standard_t(df)
            at = 3 * nr
        else:
            noise = rng.standard_normal(mu.shape)
            at = 2 * nr
        out[..., r] = (mu + s * noise) * self.scale[r] + self.center[r]
        logits = params[..., at:at + self.n_binary]
        hit = rng.random(logits.shape) < 1.0 / (1.0 + np.exp(-logits))
        out[..., b] = np.where(hit, self.high[b], self.low[b])
        at += self.n_binary
        for j, codes in zip(self.cat_cols, self.categories):
            block = params[..., at:at + len(codes)]
            prob = np.exp(block - block.max(axis=-1, keepdims=True))
            cum = np.cumsum(prob / prob.sum(axis=-1, keepdims=True), axis=-1)
            pick = (cum < rng.random(cum.shape[:-1] + (1,))).sum(-1)
            out[..., j] = codes[np.minimum(pick, len(codes) - 1)]
            at += len(codes)
        return out

    # -- tensorflow: the decoder's output -> log p(x_obs | z) and E[x | z] ---------------
    def _real_parts(self, params):
        nr = self.n_real
        mu = params[..., :nr]
        scale = tf.nn.softplus(params[..., nr:2 * nr]) + MIN_SCALE
        if self.real == "student_t":
            return mu, scale, tf.nn.softplus(params[..., 2 * nr:3 * nr]) + MIN_DF, 3 * nr
        return mu, scale, None, 2 * nr

    def log_prob(self, x0: tf.Tensor, mask: tf.Tensor, params: tf.Tensor) -> tf.Tensor:
        """sum over observed entries of log p(x | z): x0, mask [B, E]; params [K, B, P]
        -> [K, B]. Holes (mask 0) count for nothing."""
        nr, nb = self.n_real, self.n_binary
        terms = []
        if nr:
            mu, scale, df, at = self._real_parts(params)
            u = (x0[..., :nr] - mu) / scale
            if df is None:
                per = -0.5 * tf.square(u) - tf.math.log(scale) - 0.5 * math.log(2 * math.pi)
            else:
                per = (tf.math.lgamma((df + 1.0) / 2.0) - tf.math.lgamma(df / 2.0)
                       - 0.5 * tf.math.log(df * math.pi) - tf.math.log(scale)
                       - (df + 1.0) / 2.0 * tf.math.log1p(tf.square(u) / df))
            terms.append(tf.reduce_sum(per * mask[..., :nr], axis=-1))
        else:
            at = 0
        if nb:
            logits = params[..., at:at + nb]
            x = x0[..., nr:nr + nb]
            per = x * logits - tf.nn.softplus(logits)  # -sigmoid cross-entropy
            terms.append(tf.reduce_sum(per * mask[..., nr:nr + nb], axis=-1))
        at, start = at + nb, nr + nb
        for size in self.sizes:
            log_p = tf.nn.log_softmax(params[..., at:at + size], axis=-1)
            hit = x0[..., start:start + size] * mask[..., start:start + size]
            terms.append(tf.reduce_sum(log_p * hit, axis=-1))
            at, start = at + size, start + size
        return tf.add_n(terms)

    def mean(self, params: tf.Tensor) -> tf.Tensor:
        """E[x | z] in the encoded layout: params [..., P] -> [..., E]."""
        nr, nb = self.n_real, self.n_binary
        parts = []
        if nr:
            mu, _, _, at = self._real_parts(params)
            parts.append(mu)
        else:
            at = 0
        if nb:
            parts.append(tf.sigmoid(params[..., at:at + nb]))
        at += nb
        for size in self.sizes:
            parts.append(tf.nn.softmax(params[..., at:at + size], axis=-1))
            at += size
        return tf.concat(parts, axis=-1)


def _softplus(v: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, v)


def resolve_categorical(value, d: int, names: Optional[np.ndarray], owner: str) -> np.ndarray:
    """`categorical_features` (None, column indices, column names, or a bool mask of D)
    as a bool mask [D]; one-line UserError otherwise (as HistGradientBoosting spells it)."""
    out = np.zeros(d, bool)
    if value is None:
        return out
    items = np.asarray(value, dtype=object).ravel() if not isinstance(value, str) else None
    if items is None:
        raise UserError(f"{owner}(categorical_features={value!r}): pass a list of column "
                        "indices or names, or a boolean mask, e.g. categorical_features=[0, 3]")
    if len(items) == d and all(isinstance(v, (bool, np.bool_)) for v in items):
        return np.asarray(items, bool)
    for v in items:
        if isinstance(v, str):
            if names is None or v not in set(names):
                known = "" if names is None else f" (columns: {', '.join(map(str, names[:5]))}" \
                    + (", ...)" if len(names) > 5 else ")")
                raise UserError(f"{owner}(categorical_features=[..., {v!r}, ...]): no column "
                                f"named {v!r}{known}; name columns of the DataFrame fitted, "
                                "or pass indices")
            out[list(names).index(v)] = True
        elif isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) \
                and -d <= v < d:
            out[int(v)] = True
        else:
            raise UserError(f"{owner}(categorical_features=[..., {v!r}, ...]): not a column "
                            f"index from 0 to {d - 1} or a column name; pass e.g. "
                            "categorical_features=[0]")
    return out
