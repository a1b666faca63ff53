r"""The thesis's K-NN imputer as batched matrix products.

Distance (PROTOCOL.md): for a query q and a reference r, the reference's entries at the
query's holes take the marker M, and the query's entries at the reference's holes take
the reference set's column means c; then the Euclidean distance over all D entries.
With a, b the observed-masks of q and r, each entry contributes

    a b (q - r)^2            both observed
    (c - M)^2                where r is missing (whether or not q is)
    0                        where only q is missing (M against M)

so the squared distance expands into three matrix products and a per-reference constant:

    d^2 = (a q^2) b^T - 2 (a q) (b r)^T + a (b r^2)^T + (1 - b) e,   e = (c - M)^2.

The products run in float32 to screen candidates (chunks of queries keep memory under a
bound); the best K + margin candidates are then re-scored exactly in float64, and ties
go to the lower reference index. Weights are softmax(-distance) over the K (the
thesis's) or uniform. A missing entry is predicted as the weighted mean of the
neighbours that observe it (weights renormalised over them; the thesis's code used
the neighbours' marker values instead); where no neighbour observes it, the column mean.
"""

from typing import Optional

import numpy as np

from vae_tf.errors import UserError

WEIGHTS = ("softmax", "uniform")


class KNNImputer:
    """scikit-learn style: `fit(X_ref)` then `transform(X)`; NaN marks a missing entry."""

    def __init__(self, n_neighbors: int = 10, weights: str = "softmax", marker: float = 0.5,
                 max_memory_bytes: int = 2 * 1024 ** 3, margin: int = 16):
        if not isinstance(n_neighbors, (int, np.integer)) or n_neighbors <= 0:
            raise UserError(f"--k={n_neighbors!r} must be a positive integer; pass e.g. --k=10")
        if weights not in WEIGHTS:
            raise UserError(f"weights={weights!r} is unknown; choose one of: {', '.join(WEIGHTS)}")
        self.n_neighbors, self.weights, self.marker = int(n_neighbors), weights, float(marker)
        self.max_memory_bytes, self.margin = int(max_memory_bytes), int(margin)

    def fit(self, X_ref: np.ndarray) -> "KNNImputer":
        x = _check_array(X_ref, "the reference set")
        if self.n_neighbors > len(x):
            raise UserError(f"--k={self.n_neighbors} is more than the {len(x)} reference "
                            f"examples; pass --k={len(x)} or less")
        observed = ~np.isnan(x)
        counts = observed.sum(0)
        sums = np.where(observed, x, 0).sum(0, dtype=np.float64)
        self.column_means_ = np.where(counts > 0, sums / np.maximum(counts, 1), self.marker)
        values = np.where(observed, x, 0).astype(np.float32)
        self.ref_observed_ = observed.astype(np.float32)  # b       [N, D]
        self.ref_values_ = values  # b r                             [N, D]
        self.ref_squares_ = values * values  # b r^2                 [N, D]
        e = (self.column_means_ - self.marker) ** 2
        self.ref_const_ = (1.0 - self.ref_observed_) @ e.astype(np.float32)  # [N]
        self._exact = (observed, e)
        return self

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def transform(self, X: np.ndarray, exclude: Optional[np.ndarray] = None) -> np.ndarray:
        """X with its NaNs imputed; observed entries are returned bit-identical.

        exclude: optional reference index per query row that may not be its neighbour
        (e.g. `np.arange(len(X))` when X is the reference set itself).
        """
        if not hasattr(self, "ref_values_"):
            raise UserError("the K-NN imputer is not fitted; call fit(X_ref) first")
        x = _check_array(X, "the data to impute")
        if x.shape[1] != self.ref_values_.shape[1]:
            raise UserError(f"the data have {x.shape[1]} columns but the reference set has "
                            f"{self.ref_values_.shape[1]}; impute data of the same width")
        if exclude is not None and self.n_neighbors >= len(self.ref_values_):
            raise UserError(f"--k={self.n_neighbors} leaves no choice once each row's own "
                            f"reference is excluded; pass --k={len(self.ref_values_) - 1} or less")
        holes = np.isnan(x)
        empty = np.flatnonzero(holes.all(1))
        if len(empty):
            raise UserError(f"row {empty[0]} of the data to impute has no observed entry, so "
                            "K-NN has nothing to compare; drop such rows or fill them first")
        out = x.copy()
        todo = np.flatnonzero(holes.any(1))
        k_cand = min(self.n_neighbors + self.margin, len(self.ref_values_))
        n_ref, dim = self.ref_values_.shape
        per_query = n_ref * 4 * 3 + k_cand * dim * 8 * 4  # distances + exact re-scoring
        chunk = max(1, min(len(todo), self.max_memory_bytes // 2 // max(per_query, 1)))
        for start in range(0, len(todo), chunk):
            rows = todo[start:start + chunk]
            skip = None if exclude is None else np.asarray(exclude)[rows]
            out[rows] = self._impute(x[rows], holes[rows], k_cand, skip)
        return out

    def _impute(self, q: np.ndarray, holes: np.ndarray, k_cand: int,
                skip: Optional[np.ndarray]) -> np.ndarray:
        a = (~holes).astype(np.float32)
        qv = np.where(holes, 0, q).astype(np.float32)
        d2 = ((a * qv * qv) @ self.ref_observed_.T - 2 * (qv @ self.ref_values_.T)
              + a @ self.ref_squares_.T + self.ref_const_)  # [n, N] float32 screening
        if skip is not None:
            d2[np.arange(len(q)), skip] = np.inf
        cand = np.argpartition(d2, k_cand - 1, axis=1)[:, :k_cand]  # [n, C]
        exact = self._exact_d2(q, holes, cand)  # [n, C] float64
        if skip is not None:
            exact[cand == skip[:, None]] = np.inf
        order = np.lexsort((cand, exact), axis=1)[:, :self.n_neighbors]  # by distance, index
        neighbours = np.take_along_axis(cand, order, 1)  # [n, K]
        dist = np.sqrt(np.maximum(np.take_along_axis(exact, order, 1), 0.0))
        if self.weights == "softmax":
            w = np.exp(-(dist - dist[:, :1]))
        else:
            w = np.ones_like(dist)
        w /= w.sum(1, keepdims=True)
        observed, _ = self._exact
        nb_obs = observed[neighbours]  # [n, K, D]
        num = np.einsum("nk,nkd->nd", w, self.ref_values_[neighbours].astype(np.float64))
        den = np.einsum("nk,nkd->nd", w, nb_obs.astype(np.float64))
        pred = np.where(den > 0, num / np.where(den > 0, den, 1.0), self.column_means_)
        return np.where(holes, pred, q).astype(q.dtype)

    def _exact_d2(self, q: np.ndarray, holes: np.ndarray, cand: np.ndarray) -> np.ndarray:
        """The squared distances of the candidates, from the definition, in float64."""
        observed, e = self._exact
        b = observed[cand]  # [n, C, D]
        a = ~holes[:, None, :]
        r = self.ref_values_[cand].astype(np.float64)
        diff = np.where(a & b, np.where(holes, 0.0, q).astype(np.float64)[:, None, :] - r, 0.0)
        return np.einsum("ncd,ncd->nc", diff, diff) + np.einsum("ncd,d->nc", ~b, e)


def _check_array(X, what: str) -> np.ndarray:
    x = np.asarray(X, dtype=np.float32) if not np.issubdtype(np.asarray(X).dtype, np.floating) \
        else np.asarray(X)
    if x.ndim != 2:
        raise UserError(f"{what} must be a 2-D array [examples, entries], got shape {x.shape}")
    if x.size == 0:
        raise UserError(f"{what} is empty ({x.shape}); pass at least one example")
    if np.isinf(x).any():
        raise UserError(f"{what} holds infinite values; mark missing entries with NaN")
    return x
