"""Array helpers of the K-NN imputer (knn.py): queries grouped by hole pattern, the C
smallest scores per row, and threaded copies and column sums of the reference set."""

import os
from typing import Iterator, Optional, Tuple

import numpy as np

from vae_tf.imputers.base import check_array

MIN_GROUP = 32  # queries sharing a hole pattern worth a copy of its columns
ROW_BLOCK = 16  # queries re-scored together (their [n, C, D] float64 fits the cache)
THREADS = max(1, min(8, os.cpu_count() or 1))


def _batches(holes: np.ndarray, todo: np.ndarray) -> Iterator[Tuple[np.ndarray, object]]:
    """The rows to impute by hole pattern: (rows, observed-column mask) for each pattern that
    at least MIN_GROUP rows share, then (the other rows, None)."""
    if not len(todo):
        return
    keys = np.packbits(holes[todo], axis=1)
    _, first, inverse, counts = np.unique(keys, axis=0, return_index=True,
                                          return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    big = counts >= MIN_GROUP
    for g in np.flatnonzero(big):
        yield todo[inverse == g], ~holes[todo[first[g]]]
    rest = todo[~big[inverse]]
    if len(rest):
        yield rest, None


def _smallest(score: np.ndarray, c: int) -> np.ndarray:
    """Per row, the indices [n, c] of c smallest scores (any order)."""
    n, m = score.shape
    if c >= m:
        return np.tile(np.arange(m), (n, 1))
    kth = np.partition(score, c - 1, axis=1)[:, c - 1:c]  # the c-th smallest  [n, 1]
    flat = np.flatnonzero(score <= kth)  # row by row, ascending
    rows, idx = np.divmod(flat, m)
    counts = np.bincount(rows, minlength=n)
    if (counts == c).all():
        return idx.reshape(n, c)
    ok = counts == c  # the others tie at the c-th value: let argpartition choose
    cand = np.empty((n, c), np.intp)
    cand[ok] = idx[ok[rows]].reshape(-1, c)
    cand[~ok] = np.argpartition(score[~ok], c - 1, axis=1)[:, :c]
    return cand


def _references(X, pool) -> Tuple[np.ndarray, Optional[np.ndarray], np.ndarray]:
    """Our float32 copy of the reference set X [N, D] with its holes as 0, its mask (None
    when complete) and the float64 column sums of its observed entries, each column summed
    in row order (in X's precision when wider than float32, with no float64 copy of X)."""
    data = np.asarray(X)
    narrow = data.dtype.kind in "biu" or data.dtype.kind == "f" and data.dtype.itemsize <= 4
    observed = None
    if narrow and data.ndim == 2 and data.size:
        x = np.empty(data.shape, np.float32)

        def copy(sl):
            x[sl] = data[sl]
        _each_block(pool, copy, len(x))
        sums = _column_sums(x, pool)
        if np.isfinite(sums).all():  # no NaN and no infinity: complete, nothing to check
            return x, None, sums
        if not np.isinf(x).any():
            observed = ~np.isnan(x)
    if observed is None:
        x, observed = check_array(X)  # the checks, with their messages
    complete = bool(observed.all())
    if not complete:
        x[~observed] = 0
    if narrow or data.dtype.kind != "f":
        sums = _column_sums(x, pool)
    elif complete:
        sums = data.sum(0, dtype=np.float64)
    else:
        sums = np.zeros(data.shape[1])
        for lo in range(0, len(data), 4096):
            part = np.where(observed[lo:lo + 4096], data[lo:lo + 4096], 0).astype(np.float64)
            sums = np.add.reduce(np.vstack([sums[None], part]), axis=0)  # row by row
    return x, (None if complete else observed), sums


def _column_sums(x: np.ndarray, pool) -> np.ndarray:
    """x.sum(0, dtype=float64), each column summed in row order, the columns in threads."""
    sums = np.empty(x.shape[1])

    def add(sl):
        sums[sl] = x[:, sl].sum(0, dtype=np.float64)
    _each_block(pool, add, x.shape[1])
    return sums


def _each_block(pool, fn, n: int, step: Optional[int] = None) -> None:
    """fn(slice) for the blocks of `step` rows out of n (default: one per thread), run by the
    pool's threads (numpy lets go of the GIL inside its loops)."""
    step = max(1, step or -(-n // THREADS))
    blocks = [slice(lo, lo + step) for lo in range(0, n, step)]
    if len(blocks) == 1:
        fn(blocks[0])
    for _ in pool.map(fn, blocks if len(blocks) > 1 else []):
        pass  # re-raises a worker's exception


def _as_float(X) -> Tuple[np.ndarray, np.ndarray]:
    """A copy of X [N, D] in its own float type (float32 for anything else), and its mask."""
    x, observed = check_array(X)
    kind = np.asarray(X).dtype
    if np.issubdtype(kind, np.floating) and kind != np.float32:
        x = np.array(X, dtype=kind)  # keep float64 data exact
    return x, observed
