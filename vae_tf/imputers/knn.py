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

Screening ranks each query's references by d^2 less the query's own constant, in float32,
with BLAS products (chunks of queries, blocks of references):

    references with holes:  [a q^2, -2 a q] . [b, b r]  +  a . b r^2  +  (1 - b) e
    complete references:    -2 a q . r  +  a . r^2       (b = 1: no masks, no e term)

Queries sharing a hole pattern (structured holes give four), at least MIN_GROUP of them,
use their observed columns O only, from one copy of those columns of the references (a
view when they are one run; a strided copy when they are runs of one length at one stride,
like the left halves of image rows; squared while in the cache):
[q_O^2, -2 q_O] . [b_O, (b r)_O] + sum_O b r^2 + (1 - b) e, or -2 q_O . r_O + sum_O r^2
for complete references: half the work for half-images. Fewer than FEW_QUERIES queries
multiply as references x queries (BLAS then shares the references out among its threads
instead of each thread packing all of them), transposed into place. The C = K + margin best
candidates (the C-th smallest score is the threshold) are then re-scored exactly in
float64 from the definition, and the K nearest kept, ties going to the lower reference
index. For a hole pattern, each candidate's score less a bound on its float32 rounding
error (_lower_bounds) is a lower bound on its float64 d^2: the K lowest are re-scored
first, then only the candidates whose bound does not exceed the largest of those K d^2
(no other can be among the K nearest; the answer is that of re-scoring all C). Weights
are softmax(-distance) over the K (the thesis's) or uniform. A missing entry is predicted
as the weighted mean of the neighbours that observe it (weights renormalised over them;
the thesis's code used the neighbours' marker values instead); where no neighbour
observes it, the column mean (the marker, which must be finite, for a column no
reference observes). The chunks keep the working memory under
`max_memory_bytes`, beside the references and one pattern's copy of their columns; the
steps outside BLAS run on THREADS threads, by blocks of rows (a block of ROW_BLOCK queries
is selected, bounded, re-scored and imputed by one thread). Complete float32 C-ordered
references are kept as given (a read-only view, no copy; one BLAS pass checks them for NaN
and infinity), and their column means, which the imputation never needs, are worked out
on first use of `column_means_`.
"""

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np

from vae_tf.errors import UserError
from vae_tf.settings import Integer, Real
from vae_tf.imputers.base import Imputer
from vae_tf.imputers.validation import FLOAT32_MAX
from vae_tf.imputers.knn_arrays import (ROW_BLOCK, THREADS, _as_float, _batches, _column_sums,
                                        _columns, _each_block, _exact_d2, _lower_bounds,
                                        _product, _references, _rescore, _smallest)

WEIGHTS = ("softmax", "uniform")


class KNNImputer(Imputer):
    """scikit-learn style: `fit(X_ref)` then `transform(X)`; NaN marks a missing entry.

    exclude_self: `transform(X)` takes the reference set itself (same rows) and row i
    may not use reference i as a neighbour (MovieLens: the reference set is the data).
    keep_empty_features: a column with no observed entry in fit is dropped (False, the
    default) or comes back as 0 (True), as scikit-learn's; None imputes it as the thesis
    (marker; the launcher's choice, so MovieLens's matrices keep every item).
    """

    _parameter_constraints = {
        "n_neighbors": Integer(), "weights": WEIGHTS, "marker": Real(low=-np.inf),
        "max_memory_bytes": Integer(), "margin": Integer(0)}

    def __init__(self, n_neighbors: int = 10, weights: str = "softmax", marker: float = 0.5,
                 max_memory_bytes: int = 2 * 1024 ** 3, margin: int = 16,
                 exclude_self: bool = False, keep_empty_features: Optional[bool] = False):
        self.n_neighbors = n_neighbors
        self.keep_empty_features = keep_empty_features
        self.weights = weights
        self.marker = marker
        self.max_memory_bytes = max_memory_bytes
        self.margin = margin
        self.exclude_self = exclude_self

    def _settings(self, n_ref: int) -> None:
        """Check the constructor arguments against a reference set of n_ref rows; keep them."""
        name = type(self).__name__
        self._validate_params()
        k, weights, marker = int(self.n_neighbors), self.weights, float(self.marker)
        memory, margin = int(self.max_memory_bytes), int(self.margin)
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
                   else f"is more than the {n_ref} reference examples (n_samples={n_ref})")
            raise UserError(f"{name}(n_neighbors={k}): n_neighbors {why}; "
                            f"pass n_neighbors={most} or less")
        self._k, self._marker, self._memory, self._margin = k, marker, memory, margin
        self._weights, self._exclude = weights, exclude

    def _check_marker(self, dim: int) -> None:
        """Refuse a marker so large that squared distances to it over `dim` columns overflow
        the float32 of the screening (numpy would only warn, and the neighbours be wrong).
        Large observed values are fine: candidates are rescored exactly."""
        limit = math.sqrt(FLOAT32_MAX / (8 * dim))  # (q - r)^2 <= 4 limit^2 a column, twice
        if abs(self._marker) > limit:
            raise UserError(f"{type(self).__name__}(marker={self.marker!r}): squared distances "
                            f"to a marker this large exceed float32's range (about 3.4e38) "
                            f"over {dim} columns; pass a marker within the data's range, "
                            "e.g. marker=0")

    def fit(self, X, y=None) -> "KNNImputer":
        """Keep the reference set X [N, D] (NaN = missing) in float32, holes as 0; complete
        float32 C-ordered X is kept as given, not copied (so do not change it in place)."""
        with ThreadPoolExecutor(THREADS) as pool:
            x, observed, sums = _references(X, pool)
        self._settings(len(x))
        self._check_marker(x.shape[1])
        self.references_complete_ = observed is None  # then b = 1 everywhere: no masks
        counts = len(x) if observed is None else observed.sum(0)
        self._means = None if sums is None else np.where(counts > 0, sums / np.maximum(counts, 1),
                                                         self._marker)
        self.ref_observed_ = observed  # b, or None when complete    [N, D] bool
        if observed is None:
            self.ref_values_, self.ref_pairs_, self._e = x, None, None  # r [N, D] float32
        else:  # [b, b r] side by side: a pattern's columns of both in one gather
            dim = x.shape[1]
            self.ref_pairs_ = np.empty((len(x), 2 * dim), np.float32)  # [N, 2D]
            self.ref_pairs_[:, :dim], self.ref_pairs_[:, dim:] = observed, x
            self.ref_values_ = self.ref_pairs_[:, dim:]  # b r          [N, D] (a view)
            self._e = (self._means - self._marker) ** 2  # [D] float64
            e32 = self._e.astype(np.float32)
            self.ref_const_ = e32.sum() - self.ref_pairs_[:, :dim] @ e32  # (1 - b) e  [N]
        self.n_features_in_ = x.shape[1]
        return self

    @property
    def column_means_(self) -> np.ndarray:
        """[D] float64: each column's mean over the references observing it (the marker where
        none do). Complete references never need them: worked out here on first use."""
        self._check_fitted()
        if self._means is None:
            with ThreadPoolExecutor(THREADS) as pool:
                self._means = _column_sums(self.ref_values_, pool) / len(self.ref_values_)
        return self._means

    def transform(self, X) -> np.ndarray:
        """X with its NaNs imputed, in X's float type; observed entries come back bit-identical."""
        self._check_fitted()
        out, observed = _as_float(X)
        self._check_width(out)
        self._check_marker(out.shape[1])
        n_ref = len(self.ref_values_)
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
        chunk = max(1, self._memory // 4 // (n_ref * 10 + out.shape[1] * 16))
        with ThreadPoolExecutor(THREADS) as pool:
            for rows, cols in _batches(holes, todo):
                cache = {}  # the pattern's reference features, built once for its chunks
                for start in range(0, len(rows), chunk):
                    part = rows[start:start + chunk]
                    skip = part if self._exclude else None
                    out[part] = self._impute(out[part], holes[part], cols, k_cand, skip, cache,
                                             pool)
        return out

    def _impute(self, q, holes, cols, k_cand, skip, cache, pool) -> np.ndarray:
        """Impute the queries q [n, D]; cols: the observed columns they share, or None."""
        score = self._screen(q, holes, cols, cache, pool)  # [n, N] float32
        if skip is not None:
            score[np.arange(len(q)), skip] = np.inf
        e_sum = None if self.ref_pairs_ is None else self._e.sum()
        out = np.empty_like(q)

        def impute(sl):  # a block of queries: select, bound, re-score, predict
            cand = _smallest(score[sl], k_cand)
            low = None if cols is None else _lower_bounds(  # the scores' error bound
                np.take_along_axis(score[sl], cand, 1), q[sl], holes[sl], cache["feats"][2],
                e_sum)
            out[sl] = self._predict(q[sl], holes[sl], cand, None if skip is None else skip[sl],
                                    low)
        _each_block(pool, impute, len(q), ROW_BLOCK)
        return out

    def _screen(self, q, holes, cols, cache, pool) -> np.ndarray:
        """d^2 [n, N] in float32, less a per-query constant (module docstring)."""
        qv = np.where(holes, 0, q).astype(np.float32)  # a q
        complete, n_ref = self.ref_pairs_ is None, len(self.ref_values_)
        score = np.empty((len(q), n_ref), np.float32)
        if cols is not None:  # one hole pattern: products over its observed columns only
            if not cache:
                cache["feats"] = self._pattern_features(cols, pool)
            feats, per_ref, _ = cache["feats"]
            qv = np.compress(cols, qv, axis=1)
            left = -2 * qv if complete else np.hstack([qv * qv, -2 * qv])  # [n, m or 2m]
            _product(left, feats, per_ref, score, pool)
            return score
        a = (~holes).astype(np.float32)
        left = -2 * qv if complete else np.hstack([qv * qv, -2 * qv])  # [n, D or 2D]
        block = max(1, min(n_ref, self._memory // 8 // (4 * q.shape[1])))
        for lo in range(0, n_ref, block):
            r, part = self.ref_values_[lo:lo + block], score[:, lo:lo + block]
            np.matmul(left, (r if complete else self.ref_pairs_[lo:lo + block]).T, out=part)
            part += a @ (r * r).T  # a (b r^2)^T
            if not complete:
                part += self.ref_const_[lo:lo + block]
        return score

    def _pattern_features(self, cols: np.ndarray, pool):
        """The references' side for queries observing the columns `cols` (a mask [D]):
        r_O or [b_O, (b r)_O] [N, m or 2m], the per-reference term [N], max sum_O (b r)^2."""
        run = np.flatnonzero(cols)
        if self.ref_pairs_ is None:  # sum_O r^2
            feats, squares = _columns(self.ref_values_, run, len(run), pool)
            return feats, squares, float(squares.max())
        both = np.concatenate([run, run + len(cols)])
        feats, squares = _columns(self.ref_pairs_, both, len(run), pool)  # sum_O b r^2
        return feats, squares + self.ref_const_, float(squares.max())

    def _predict(self, q: np.ndarray, holes: np.ndarray, cand: np.ndarray,
                 skip: Optional[np.ndarray], low: Optional[np.ndarray]) -> np.ndarray:
        """Re-score the candidates exactly, keep the K nearest, fill q's holes from them."""
        exact = _rescore(lambda rows, c: self._exact_d2(q[rows], holes[rows], c), cand, low,
                         self._k, skip)  # [n, C] float64, inf for the candidates let go
        order = np.lexsort((cand, exact), axis=1)[:, :self._k]  # by distance, index
        neighbours = np.take_along_axis(cand, order, 1)  # [n, K]
        dist = np.sqrt(np.maximum(np.take_along_axis(exact, order, 1), 0.0))
        if self._weights == "softmax":
            w = np.exp(-(dist - dist[:, :1]))
        else:
            w = np.ones_like(dist)
        w /= w.sum(1, keepdims=True)
        num = np.einsum("nk,nkd->nd", w, self.ref_values_[neighbours])  # float64
        if self.ref_observed_ is None:  # every neighbour observes every entry
            den = w[:, 0].copy()
            for k in range(1, w.shape[1]):
                den += w[:, k]  # the same order as the einsum over the ones
            pred = num / den[:, None]
        else:
            nb_obs = self.ref_observed_[neighbours].astype(np.float64)  # [n, K, D]
            den = np.einsum("nk,nkd->nd", w, nb_obs)
            pred = np.where(den > 0, num / np.where(den > 0, den, 1.0), self.column_means_)
        return np.where(holes, pred, q).astype(q.dtype)

    def _exact_d2(self, q: np.ndarray, holes: np.ndarray, cand: np.ndarray) -> np.ndarray:
        """The squared distances of the candidates [n, C], from the definition, in float64."""
        return _exact_d2(self.ref_values_, self.ref_observed_, self._e, q, holes, cand)
