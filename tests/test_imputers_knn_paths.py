"""The K-NN imputer's faster paths against its definition: references kept without a copy,
column means on demand, the three ways of gathering a hole pattern's columns (a view, runs
at one stride, any columns), both orders of the screening product, even thread blocks."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from test_imputers_knn import loop_impute

from vae_tf.errors import UserError
from vae_tf.imputers import knn, knn_arrays
from vae_tf.imputers.knn import KNNImputer
from vae_tf.imputers.knn_arrays import MIN_GROUP, _each_block, _runs


def test_complete_float32_references_are_kept_without_a_copy():
    ref = np.random.default_rng(0).random((30, 6)).astype(np.float32)
    imp = KNNImputer(3).fit(ref)
    assert np.shares_memory(imp.ref_values_, ref) and not imp.ref_values_.flags.writeable
    assert ref.flags.writeable  # the caller's array is left as it was
    for other in (ref.astype(np.float64), np.asfortranarray(ref), ref.astype(np.float16)):
        assert not np.shares_memory(KNNImputer(3).fit(other).ref_values_, other)


def test_column_means_of_complete_references_on_first_use():
    ref = np.random.default_rng(1).random((50, 7)).astype(np.float32)
    imp = KNNImputer(3).fit(ref)
    means = imp.column_means_
    assert means.dtype == np.float64 and imp.column_means_ is means  # worked out once
    np.testing.assert_array_equal(means, ref.astype(np.float64).sum(0) / len(ref))
    wide = KNNImputer(3).fit(ref.astype(np.float64))  # float64 data: summed in fit
    np.testing.assert_allclose(wide.column_means_, means, rtol=1e-15)
    with pytest.raises(UserError, match="not fitted"):
        KNNImputer().column_means_


def test_nan_inf_and_overflow_in_float32_references():
    ref = np.random.default_rng(2).random((20, 4)).astype(np.float32)
    ref[3, 1] = np.inf
    with pytest.raises(UserError, match="infinite"):
        KNNImputer(3).fit(ref)
    big = np.full((4, 2), 3e38, np.float32)  # finite, but each column's sum overflows
    imp = KNNImputer(1).fit(big)
    assert imp.references_complete_
    with np.errstate(over="ignore", invalid="ignore"):  # the float32 screening overflows
        out = imp.transform(np.array([[3e38, np.nan]], np.float32))
    assert out[0, 1] == np.float32(3e38)


def _pattern_queries(observed_columns, seed, dim=12, n_ref=70, complete=True):
    """MIN_GROUP + 3 queries observing only `observed_columns`, and references."""
    rng = np.random.default_rng(seed)
    ref = rng.random((n_ref, dim)).astype(np.float32)
    if not complete:
        ref[rng.random(ref.shape) < 0.3] = np.nan
    q = rng.random((MIN_GROUP + 3, dim)).astype(np.float32)
    holes = np.ones(dim, bool)
    holes[observed_columns] = False
    q[:, holes] = np.nan
    return ref, q


@pytest.mark.parametrize("complete", [True, False])
@pytest.mark.parametrize("observed", [[2, 3, 4, 5],  # one run: a view of the references
                                      [0, 1, 4, 5, 8, 9],  # runs at one stride
                                      [0, 2, 3, 7, 11]])  # any columns
def test_each_way_of_gathering_a_pattern_equals_the_definition(observed, complete):
    ref, q = _pattern_queries(observed, seed=len(observed), complete=complete)
    out = KNNImputer(4).fit(ref).transform(q)
    np.testing.assert_allclose(out, loop_impute(ref, q, 4), rtol=1e-5, atol=1e-6)


def test_runs_view_matches_the_columns_or_is_none():
    x = np.arange(60, dtype=np.float32).reshape(3, 20)
    take = np.array([1, 2, 6, 7, 11, 12])  # length 2, stride 5
    view = _runs(take, x)
    np.testing.assert_array_equal(view.reshape(3, -1), x[:, take])
    assert _runs(np.array([1, 2, 6, 8]), x) is None  # lengths 2 and 1
    assert _runs(np.array([1, 5, 12]), x) is None  # strides 4 and 7
    assert _runs(np.array([3, 4, 5]), x) is None  # one run (the caller's view)


@pytest.mark.parametrize("complete", [True, False])
def test_both_product_orders_give_the_same_answer(monkeypatch, complete):
    ref, q = _pattern_queries([0, 1, 4, 5, 8, 9], seed=9, complete=complete)
    monkeypatch.setattr(knn_arrays, "FEW_QUERIES", 10 ** 9)  # references x queries, blocks
    monkeypatch.setattr(knn_arrays, "BLOCK_BYTES", 4 * len(q) * 16)  # of 16 references
    by_blocks = KNNImputer(4).fit(ref).transform(q)
    monkeypatch.setattr(knn_arrays, "FEW_QUERIES", 1)  # queries x references in one product
    assert np.array_equal(KNNImputer(4).fit(ref).transform(q), by_blocks)
    np.testing.assert_allclose(by_blocks, loop_impute(ref, q, 4), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n, step, sizes", [(50, 16, [12, 13, 12, 13]), (5, None, [2, 3]),
                                            (3, 16, [3]), (32, 16, [16, 16]), (0, 16, [])])
def test_each_block_cuts_even_blocks(monkeypatch, n, step, sizes):
    monkeypatch.setattr(knn_arrays, "THREADS", 2)
    seen = []
    with ThreadPoolExecutor(2) as pool:
        _each_block(pool, lambda sl: seen.append((sl.start, sl.stop)), n, step)
    seen.sort()
    assert [b - a for a, b in seen] == sizes
    assert all(a == b for (_, a), (b, _) in zip(seen, seen[1:]))  # no gap, no overlap


@pytest.mark.parametrize("complete", [True, False])
@pytest.mark.parametrize("scale, offset, dtype", [(1.0, 0.0, np.float32),
                                                  (1e3, 5e3, np.float64)])
def test_lower_bounds_hold_for_every_candidate(complete, scale, offset, dtype):
    ref, q = _pattern_queries([0, 1, 4, 5, 8, 9], seed=11, n_ref=200, complete=complete)
    ref, q = ref * scale + offset, (q * scale + offset).astype(dtype)  # cancellation in float32
    imp = KNNImputer(4, margin=40).fit(ref)
    holes = np.isnan(q)
    cols = ~holes[0]
    with ThreadPoolExecutor(2) as pool:
        cache = {}
        score = imp._screen(q, holes, cols, cache, pool)
    cand = np.argsort(score, 1)[:, :44]
    low = knn_arrays._lower_bounds(np.take_along_axis(score, cand, 1), q, holes,
                                   cache["feats"][2], None if complete else imp._e.sum())
    exact = imp._exact_d2(q, holes, cand)
    assert (low <= exact).all()
    assert np.median(exact - low) < 1e-2 * np.median(exact)  # yet close enough to be of use


@pytest.mark.parametrize("complete", [True, False])
def test_pruned_re_scoring_is_bit_identical_and_prunes(monkeypatch, complete):
    ref, q = _pattern_queries([0, 1, 4, 5, 8, 9], seed=12, n_ref=300, complete=complete)
    pairs = []
    found = KNNImputer._exact_d2

    def counted(self, q, holes, cand):
        pairs.append(cand.size)
        return found(self, q, holes, cand)
    monkeypatch.setattr(KNNImputer, "_exact_d2", counted)
    pruned = KNNImputer(5).fit(ref).transform(q)
    assert sum(pairs) < 0.6 * len(q) * (5 + 16)  # most of the C = 21 candidates let go
    monkeypatch.setattr(knn, "_lower_bounds", lambda *args: None)  # all re-scored
    assert np.array_equal(KNNImputer(5).fit(ref).transform(q), pruned)
