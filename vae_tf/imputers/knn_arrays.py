"""Array helpers of the K-NN imputer (knn.py): queries grouped by hole pattern, a pattern's
columns of the references and the screening product, the C smallest scores per row, and
the reference set's checks, copies and column sums, in threads."""

import os
from typing import Iterator, Optional, Tuple

import numpy as np

from vae_tf.imputers.base import check_array

MIN_GROUP = 32  # queries sharing a hole pattern worth a copy of its columns
ROW_BLOCK = 16  # queries re-scored together (their [n, C, D] float64 fits the cache)
GATHER_ROWS = 1024  # references copied and squared together (in the cache)
FEW_QUERIES = 256  # fewer: references x queries products (BLAS threads share the references)
BLOCK_BYTES = 8 * 1024 ** 2  # such a product's block, before its transpose into place
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


def _columns(x: np.ndarray, take: np.ndarray, m: int, pool) -> Tuple[np.ndarray, np.ndarray]:
    """x's columns `take` (ascending) [N, len(take)], a view when they are one run, and the
    float32 sums of squares of the last m of them [N]; each block of GATHER_ROWS rows is
    copied and squared while in the cache, in threads."""
    one_run = take[-1] - take[0] + 1 == len(take)
    out = x[:, take[0]:take[-1] + 1] if one_run else np.empty((len(x), len(take)), x.dtype)
    runs = None if one_run else _runs(take, x)  # e.g. the left halves of image rows
    squares = np.empty(len(x), np.float32)

    def gather(sl):
        if runs is not None:
            np.copyto(out[sl].reshape(-1, *runs.shape[1:]), runs[sl])
        elif not one_run:  # mode="clip" writes straight into out (the indices are valid)
            np.take(x[sl], take, axis=1, out=out[sl], mode="clip")
        part = out[sl, -m:]
        squares[sl] = np.einsum("nd,nd->n", part, part)
    _each_block(pool, gather, len(x), GATHER_ROWS)
    return out, squares


def _product(left: np.ndarray, feats: np.ndarray, per_ref: np.ndarray, score: np.ndarray,
             pool) -> None:
    """score [n, N] = left [n, k] . feats [N, k]^T + per_ref [N]: for few queries as
    references x queries, by blocks of BLOCK_BYTES, each transposed into place in threads."""
    if len(left) >= FEW_QUERIES:
        np.matmul(left, feats.T, out=score)
        score += per_ref
        return
    step = max(1, BLOCK_BYTES // (4 * len(left)))
    for lo in range(0, len(feats), step):
        part = feats[lo:lo + step] @ left.T  # [rows, n]

        def place(sl, part=part, lo=lo):
            rows = slice(lo + sl.start, lo + sl.stop)
            np.add(part[sl].T, per_ref[rows], out=score[:, rows])
        _each_block(pool, place, len(part))


def _lower_bounds(s: np.ndarray, q: np.ndarray, holes: np.ndarray, radius2: float,
                  e_sum: Optional[float]) -> np.ndarray:
    """Lower bounds [n, C] on the float64 d^2 of a hole pattern's candidates from their float32
    scores s [n, C]: d^2 - |q_O|^2 for complete references (e_sum None), else d^2 itself. A
    sum of T float32 roundings is off by at most gamma_T = T u / (1 - T u) (u = 2^-24) times
    the sum of its terms' sizes, here (|q_O| + |r_O|)^2 + 2 e_sum at most, |r_O|^2 <= radius2
    (T counts the products' terms, generously, plus 16 for the additions and q's rounding)."""
    q64 = np.where(holes, 0.0, q).astype(np.float64)
    q_sq = np.einsum("nd,nd->n", q64, q64)  # |q_O|^2  [n]
    m = holes.shape[1] - int(holes[0].sum())
    terms = m + 16 if e_sum is None else 2 * (holes.shape[1] + m) + 16
    gamma = terms * 2.0 ** -24 / (1 - terms * 2.0 ** -24)
    size = (np.sqrt(q_sq) + np.sqrt(radius2 * (1 + 2 * gamma))) ** 2 + 2 * (e_sum or 0.0)
    tau = (gamma * size)[:, None]
    base = s.astype(np.float64) + (q_sq[:, None] if e_sum is None else 0.0)
    return base - tau - 1e-12 * (np.abs(base) + tau)  # and float64's own rounding


def _exact_d2(values: np.ndarray, observed: Optional[np.ndarray], e: Optional[np.ndarray],
              q: np.ndarray, holes: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """d^2 [n, C] of the queries q [n, D] to the references values[cand] (b r, with the mask
    `observed` b and e = (c - M)^2, or complete), from the definition, in float64."""
    q64 = np.where(holes, 0.0, q).astype(np.float64)
    if observed is None:  # r as 0 where q is missing, then q - r in float64
        r = values[cand]  # [n, C, D] float32
        r *= (~holes).astype(np.float32)[:, None, :]
        diff = r.astype(np.float64)
        np.subtract(q64[:, None, :], diff, out=diff)
        return np.einsum("ncd,ncd->nc", diff, diff)
    diff = q64[:, None, :] - values[cand]  # [n, C, D] float64
    b = observed[cand]
    diff *= ~holes[:, None, :] & b
    return np.einsum("ncd,ncd->nc", diff, diff) + np.einsum("ncd,d->nc", ~b, e)


def _rescore(d2, cand: np.ndarray, low: Optional[np.ndarray], k: int,
             skip: Optional[np.ndarray]) -> np.ndarray:
    """Exact d^2 [n, C] of the candidates by d2(rows, cand[rows, :c]), inf for the skipped;
    with lower bounds `low` [n, C], the k lowest first, then only those whose bound is not
    above the largest of those k (any other is not among the k nearest): inf for them."""
    if low is None or cand.shape[1] <= k:
        exact = d2(slice(None), cand)
    else:
        exact, first = np.full(cand.shape, np.inf), np.argsort(low, 1)[:, :k]
        np.put_along_axis(exact, first, d2(slice(None), np.take_along_axis(cand, first, 1)), 1)
        if skip is not None:
            exact[cand == skip[:, None]] = np.inf
        worst = np.take_along_axis(exact, first, 1).max(1)
        todo = ~(low > worst[:, None])  # NaN bounds too
        np.put_along_axis(todo, first, False, 1)
        rows, cols = np.nonzero(todo)
        exact[rows, cols] = d2(rows, cand[rows, cols, None])[:, 0]
    if skip is not None:
        exact[cand == skip[:, None]] = np.inf
    return exact


def _runs(take: np.ndarray, x: np.ndarray) -> Optional[np.ndarray]:
    """x's columns `take` (ascending) as a view [N, runs, length] when they are runs of one
    length at one stride (the left half of each image row, say), else None."""
    mask = np.zeros(x.shape[1] + 2, np.int8)
    mask[take + 1] = 1
    edges = np.flatnonzero(np.diff(mask))
    starts, lengths = edges[::2], edges[1::2] - edges[::2]
    steps = np.diff(starts)
    if len(starts) < 2 or (lengths != lengths[0]).any() or (steps != steps[0]).any():
        return None
    return np.lib.stride_tricks.as_strided(
        x[:, starts[0]:], (len(x), len(starts), lengths[0]),
        (x.strides[0], steps[0] * x.strides[1], x.strides[1]), writeable=False)


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


def _references(X, pool) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
    """The reference set X [N, D] in float32 with its holes as 0, its mask (None when
    complete) and the float64 column sums of its observed entries, each column summed in
    row order (in X's precision when wider than float32, with no float64 copy of X); the
    sums are None for complete float32-representable X (_column_sums of the values gives
    them). Complete float32 C-ordered X is not copied: a read-only view of it comes back."""
    data = np.asarray(X)
    narrow = data.dtype.kind in "biu" or data.dtype.kind == "f" and data.dtype.itemsize <= 4
    observed = None
    if narrow and data.ndim == 2 and data.size:
        if data.dtype == np.float32 and data.flags.c_contiguous:
            x = data  # complete: no copy at all
        else:
            x = np.empty(data.shape, np.float32)

            def copy(sl):
                x[sl] = data[sl]
            _each_block(pool, copy, len(x))
        # One BLAS pass: a NaN or an infinity makes its column's sum non-finite (so may an
        # overflow, which the element-wise checks below then clear).
        with np.errstate(over="ignore", invalid="ignore"):
            finite = np.isfinite(np.ones(len(x), np.float32) @ x).all()
        if finite:
            if x is data:
                x = data.view()
                x.flags.writeable = False  # ours never writes to the caller's array
            return x, None, None
        if not np.isinf(x).any():
            x = x.copy() if x is data else x  # its holes become 0 below
            observed = ~np.isnan(x)
    if observed is None:
        x, observed = check_array(X)  # the checks, with their messages
    complete = bool(observed.all())
    if not complete:
        x[~observed] = 0
    if narrow or data.dtype.kind != "f":
        sums = None if complete else _column_sums(x, pool)
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
    """fn(slice) over n rows cut into even blocks of at most `step` rows (default: one per
    thread), as many as a multiple of THREADS when more than one, run by the pool's threads
    (numpy lets go of the GIL inside its loops)."""
    count = THREADS if step is None else max(1, -(-n // max(1, step)))
    count = -(-count // THREADS) * THREADS if count > 1 else 1
    edges = [n * i // count for i in range(count + 1)]
    blocks = [slice(lo, hi) for lo, hi in zip(edges, edges[1:]) if hi > lo]
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
