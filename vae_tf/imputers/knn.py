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
the neighbours' marker values instead); where no neighbour observes it, the column mean
(the marker, which must be finite, for a column no reference observes).
"""

from typing import Optional, Tuple

import numpy as np

from vae_tf.errors import UserError
from vae_tf.imputers.base import Imputer, check_array, check_choice, check_float, check_int

WEIGHTS = ("softmax", "uniform")


class KNNImputer(Imputer):
    """scikit-learn style: `fit(X_ref)` then `transform(X)`; NaN marks a missing entry.

    exclude_self: `transform(X)` takes the reference set itself (same rows) and row i
    may not use reference i as a neighbour (MovieLens: the reference set is the data).
    """

    def __init__(self, n_neighbors: int = 10, weights: str = "softmax", marker: float = 0.5,
                 max_memory_bytes: int = 2 * 1024 ** 3, margin: int = 16,
                 exclude_self: bool = False):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.marker = marker
        self.max_memory_bytes = max_memory_bytes
        self.margin = margin
        self.exclude_self = exclude_self

    def _settings(self, n_ref: int) -> None:
        """Check the constructor arguments against a reference set of n_ref rows; keep them."""
        name = type(self).__name__
        k = check_int(name, "n_neighbors", self.n_neighbors, example=10)
        weights = check_choice(name, "weights", self.weights, WEIGHTS)
        marker = check_float(name, "marker", self.marker, low=-np.inf, example=0.5)
        memory = check_int(name, "max_memory_bytes", self.max_memory_bytes, example=2 ** 31)
        margin = check_int(name, "margin", self.margin, low=0, example=16)
        if not isinstance(self.exclude_self, (bool, np.bool_)):
            raise UserError(f"{name}(exclude_self={self.exclude_self!r}): exclude_self must "
                            "be True or False; pass e.g. exclude_self=True")
        exclude = bool(self.exclude_self)
        most = n_ref - exclude
        if exclude and most < 1:
            raise UserError(f"{name}(exclude_self=True): X has 1 row, so no row has a "
                            "neighbour once its own is excluded; fit on at least 2 rows")
        if k > most:
            why = (f"leaves no choice once each row's own reference is excluded (exclude_self="
                   f"True, {n_ref} reference examples)" if exclude
                   else f"is more than the {n_ref} reference examples")
            raise UserError(f"{name}(n_neighbors={k}): n_neighbors {why}; "
                            f"pass n_neighbors={most} or less")
        self._k, self._marker, self._memory, self._margin = k, marker, memory, margin
        self._weights, self._exclude = weights, exclude

    def fit(self, X, y=None) -> "KNNImputer":
        """Keep the reference set X [N, D] (NaN = missing) in the forms the distance needs."""
        x, observed = _as_float(X)
        self._settings(len(x))
        counts = observed.sum(0)
        x[~observed] = 0  # our own copy
        sums = x.sum(0, dtype=np.float64)
        self.column_means_ = np.where(counts > 0, sums / np.maximum(counts, 1), self._marker)
        values = x.astype(np.float32, copy=False)
        self.ref_observed_ = observed.astype(np.float32)  # b       [N, D]
        self.ref_values_ = values  # b r                             [N, D]
        self.ref_squares_ = values * values  # b r^2                 [N, D]
        e = (self.column_means_ - self._marker) ** 2
        self.ref_const_ = (1.0 - self.ref_observed_) @ e.astype(np.float32)  # [N]
        self._exact = (observed, e)
        self.n_features_in_ = x.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        """X with its NaNs imputed, in X's float type; observed entries come back bit-identical."""
        self._check_fitted()
        out, observed = _as_float(X)
        self._check_width(out)
        n_ref, dim = self.ref_values_.shape
        if self._exclude and len(out) != n_ref:
            raise UserError(f"{type(self).__name__}(exclude_self=True): X has {len(out)} rows "
                            f"but the reference set has {n_ref}; transform the data it was "
                            "fitted on, e.g. fit_transform(X)")
        holes = ~observed
        empty = np.flatnonzero(holes.all(1))
        if len(empty):
            raise UserError(f"X row {empty[0]} has no observed entry, so K-NN has nothing to "
                            "compare; drop such rows or fill them first")
        todo = np.flatnonzero(holes.any(1))
        k_cand = min(self._k + self._margin, n_ref)
        per_query = n_ref * 4 * 3 + k_cand * dim * 8 * 4  # distances + exact re-scoring
        chunk = max(1, min(len(todo), self._memory // 2 // max(per_query, 1)))
        for start in range(0, len(todo), chunk):
            rows = todo[start:start + chunk]
            skip = rows if self._exclude else None
            out[rows] = self._impute(out[rows], holes[rows], k_cand, skip)
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
        order = np.lexsort((cand, exact), axis=1)[:, :self._k]  # by distance, index
        neighbours = np.take_along_axis(cand, order, 1)  # [n, K]
        dist = np.sqrt(np.maximum(np.take_along_axis(exact, order, 1), 0.0))
        if self._weights == "softmax":
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


def _as_float(X) -> Tuple[np.ndarray, np.ndarray]:
    """A copy of X [N, D] in its own float type (float32 for anything else), and its mask."""
    x, observed = check_array(X)
    kind = np.asarray(X).dtype
    if np.issubdtype(kind, np.floating) and kind != np.float32:
        x = np.array(X, dtype=kind)  # keep float64 data exact
    return x, observed
