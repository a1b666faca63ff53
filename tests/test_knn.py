"""The batched K-NN imputer against a per-query loop written from the thesis's definition."""

import numpy as np
import pytest

from vae_tf.knn import KNNImputer

MARKER = 0.5


def loop_impute(ref, queries, k, weights="softmax"):
    """Plain loop straight from PROTOCOL.md: fill, compare, K nearest, weighted mean."""
    col_mean = np.nanmean(ref, axis=0)
    out = queries.copy()
    for i, q in enumerate(queries):
        q_holes = np.isnan(q)
        if not q_holes.any():
            continue
        dists = []
        for r in ref:
            r_holes = np.isnan(r)
            r_cmp = np.where(np.isnan(r), MARKER, r).astype(np.float64)  # r's own fill
            r_cmp[q_holes] = MARKER  # the reference at the query's holes: the marker
            q_cmp = np.where(q_holes, MARKER, q).astype(np.float64)
            q_cmp[r_holes] = col_mean[r_holes]  # the query at the reference's holes: means
            dists.append(np.sqrt(np.sum((q_cmp - r_cmp) ** 2)))
        dists = np.array(dists)
        nearest = sorted(range(len(ref)), key=lambda j: (dists[j], j))[:k]
        d = dists[nearest]
        w = np.exp(-d) / np.exp(-d).sum() if weights == "softmax" else np.full(k, 1 / k)
        for j in np.flatnonzero(q_holes):
            seen = [(wk, ref[n, j]) for wk, n in zip(w, nearest) if not np.isnan(ref[n, j])]
            total = sum(wk for wk, _ in seen)
            out[i, j] = sum(wk * v for wk, v in seen) / total if seen else col_mean[j]
    return out


def _data(seed=0, n_ref=40, n_q=12, dim=9):
    rng = np.random.default_rng(seed)
    ref = rng.random((n_ref, dim)).astype(np.float32)
    ref[rng.random(ref.shape) < 0.3] = np.nan
    q = rng.random((n_q, dim)).astype(np.float32)
    q[rng.random(q.shape) < 0.4] = np.nan
    q[np.isnan(q).all(1), 0] = 0.3  # keep one observed entry in every query
    q[0] = rng.random(dim)  # one complete query: nothing to impute
    return ref, q


@pytest.mark.parametrize("k, weights", [(1, "softmax"), (3, "softmax"), (3, "uniform"),
                                        (10, "softmax")])
def test_batched_equals_the_definition(k, weights):
    ref, q = _data()
    ours = KNNImputer(k, weights=weights).fit(ref).transform(q)
    np.testing.assert_allclose(ours, loop_impute(ref, q, k, weights), rtol=1e-5, atol=1e-6)


def test_small_memory_bound_gives_the_same_answer():
    ref, q = _data(seed=1)
    big = KNNImputer(3).fit(ref).transform(q)
    tiny = KNNImputer(3, max_memory_bytes=1).fit(ref).transform(q)  # one query per chunk
    np.testing.assert_array_equal(big, tiny)


def test_observed_entries_bit_identical_and_holes_filled():
    ref, q = _data(seed=2)
    out = KNNImputer(3).fit(ref).transform(q)
    seen = ~np.isnan(q)
    assert np.array_equal(out[seen].view(np.uint32), q[seen].view(np.uint32))
    assert not np.isnan(out).any()


def test_ties_go_to_the_lower_reference_index():
    ref = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 0.0]], np.float32)  # rows 0 and 1 tie
    ref[1, 1] = 1.0
    q = np.array([[0.0, np.nan]], np.float32)
    ref_b = ref.copy()
    ref_b[0, 1] = 0.9  # make the values differ so the chosen neighbour shows
    out = KNNImputer(1, margin=0).fit(ref_b).transform(q)
    assert out[0, 1] == pytest.approx(0.9)  # row 0 wins the tie at distance 0


def test_exclude_self():
    ref, _ = _data(seed=3)
    ref[np.isnan(ref).all(1), 0] = 0.1
    imp = KNNImputer(3).fit(ref)
    out = imp.transform(ref, exclude=np.arange(len(ref)))
    assert not np.isnan(out).any()
    # Without exclusion a row can be its own neighbour at distance 0; with it, it cannot.
    loo = []
    for i in range(len(ref)):
        others = np.delete(ref, i, axis=0)
        loo.append(KNNImputer(3).fit(others).transform(ref[i:i + 1])[0])
    # Column means differ slightly when the row is left out, so compare loosely.
    assert np.mean(np.abs(np.array(loo) - out)) < 0.05


@pytest.mark.parametrize("make, message", [
    (lambda: KNNImputer(0), "must be a positive integer"),
    (lambda: KNNImputer(5).fit(np.zeros((3, 2))), "more than the 3 reference examples"),
    (lambda: KNNImputer(1).fit(np.zeros((0, 2))), "is empty"),
    (lambda: KNNImputer(1).fit(np.zeros(4)), "must be a 2-D array"),
    (lambda: KNNImputer(1).fit(np.zeros((3, 2))).transform(np.zeros((1, 3))), "3 columns"),
    (lambda: KNNImputer(1).fit(np.zeros((3, 2))).transform(np.full((2, 2), np.nan)),
     "row 0 of the data to impute has no observed entry"),
    (lambda: KNNImputer(1).transform(np.zeros((1, 2))), "not fitted"),
    (lambda: KNNImputer(1, weights="gauss"), "choose one of: softmax, uniform"),
])
def test_bad_input_is_a_clear_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()
