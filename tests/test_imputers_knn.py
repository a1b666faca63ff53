"""The batched K-NN imputer against a per-query loop from the thesis's definition; its hard
edges; scikit-learn's conventions (clone, get/set_params, Pipeline, GridSearchCV)."""

import numpy as np
import pytest

from vae_tf.errors import UserError
from vae_tf.imputers import knn
from vae_tf.imputers.knn import KNNImputer
from vae_tf.imputers.knn_arrays import MIN_GROUP, _column_sums

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


def _patterned(seed=0, n_ref=60, dim=12, complete=True):
    """References (complete or with holes) and queries of which MIN_GROUP share one run of
    holes, MIN_GROUP another, scattered, pattern, and a few have random holes."""
    rng = np.random.default_rng(seed)
    ref = rng.random((n_ref, dim)).astype(np.float32)
    if not complete:
        ref[rng.random(ref.shape) < 0.3] = np.nan
    q = rng.random((2 * MIN_GROUP + 6, dim)).astype(np.float32)
    q[:MIN_GROUP, dim // 2:] = np.nan  # observed: one run of columns
    q[MIN_GROUP:2 * MIN_GROUP, ::3] = np.nan  # observed: scattered columns
    rest = q[2 * MIN_GROUP:-1]
    rest[rng.random(rest.shape) < 0.4] = np.nan
    rest[np.isnan(rest).all(1), 0] = 0.3
    return ref, q  # the last query is complete: nothing to impute


@pytest.mark.parametrize("complete", [True, False])
def test_hole_patterns_equal_the_definition(complete):
    ref, q = _patterned(complete=complete)
    imp = KNNImputer(3).fit(ref)
    assert imp.references_complete_ == complete
    np.testing.assert_allclose(imp.transform(q), loop_impute(ref, q, 3), rtol=1e-5, atol=1e-6)


def _general_path(monkeypatch):
    """Make fit keep an all-True mask for complete references: the general path."""
    found = knn._references

    def with_mask(X, pool):
        x, observed, sums = found(X, pool)
        if observed is None:  # complete: no sums came back (the fast path never needs them)
            x, observed, sums = x.copy(), np.ones(x.shape, bool), _column_sums(x, pool)
        return x, observed, sums
    monkeypatch.setattr(knn, "_references", with_mask)


@pytest.mark.parametrize("weights", ["softmax", "uniform"])
def test_complete_reference_fast_path_equals_the_general_path(monkeypatch, weights):
    ref, q = _patterned(seed=6)
    fast = KNNImputer(5, weights=weights).fit(ref)
    assert fast.references_complete_ and fast.ref_pairs_ is None
    _general_path(monkeypatch)
    general = KNNImputer(5, weights=weights).fit(ref)
    assert not general.references_complete_ and general.ref_pairs_ is not None
    np.testing.assert_array_equal(general.column_means_, fast.column_means_)
    assert np.array_equal(fast.transform(q).view(np.uint32), general.transform(q).view(np.uint32))


def test_one_nan_in_the_references_takes_the_general_path():
    ref, q = _patterned(seed=7)
    ref[5, 3] = np.nan
    imp = KNNImputer(3).fit(ref)
    assert not imp.references_complete_ and imp.ref_observed_.sum() == ref.size - 1
    assert imp.ref_pairs_.shape == (len(ref), 2 * ref.shape[1])
    np.testing.assert_allclose(imp.transform(q), loop_impute(ref, q, 3), rtol=1e-5, atol=1e-6)


def test_ties_at_the_candidate_threshold():
    ref, q = _patterned(seed=8)
    ref = np.repeat(ref[:10], 4, axis=0)  # every distance four times: ties at the C-th
    out = KNNImputer(3, margin=2).fit(ref).transform(q)
    np.testing.assert_allclose(out, loop_impute(ref, q, 3), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("complete", [True, False])
def test_memory_bound_on_hole_patterns(complete):
    ref, q = _patterned(seed=9, complete=complete)
    big = KNNImputer(3).fit(ref).transform(q)
    tiny = KNNImputer(3, max_memory_bytes=1).fit(ref).transform(q)
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
    out = KNNImputer(3, exclude_self=True).fit(ref).transform(ref)
    assert not np.isnan(out).any()
    # Row i's prediction equals the K-NN over the other rows, apart from the column
    # means (which still count row i), so compare loosely.
    loo = [KNNImputer(3).fit(np.delete(ref, i, axis=0)).transform(ref[i:i + 1])[0]
           for i in range(len(ref))]
    assert np.mean(np.abs(np.array(loo) - out)) < 0.05
    # Row 0 is its own nearest reference (distance 0.05) but does not observe its hole, so
    # 1-NN falls back to the column mean; excluding itself, row 1 (distance 0.5) fills it.
    rows = np.array([[0.0, np.nan], [0.5, 0.2], [1.0, 0.9]], np.float32)
    assert KNNImputer(1).fit_transform(rows)[0, 1] == pytest.approx(0.55)
    assert KNNImputer(1, exclude_self=True).fit_transform(rows)[0, 1] == pytest.approx(0.2)


def test_float64_data_keep_their_type_and_values():
    ref, q = _data(seed=4)
    q64 = q.astype(np.float64) + 1e-9 * ~np.isnan(q)  # values float32 cannot hold
    out = KNNImputer(3).fit(ref).transform(q64)
    assert out.dtype == np.float64
    seen = ~np.isnan(q64)
    np.testing.assert_array_equal(out[seen], q64[seen])


def test_a_column_no_reference_observes_takes_the_marker():
    ref, q = _data(seed=5)
    ref[:, 2] = np.nan
    q[:, 2] = np.nan
    out = KNNImputer(3, marker=0.25, keep_empty_features=None).fit(ref).transform(q)
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[:, 2], 0.25)


def _message(make):
    with pytest.raises(UserError) as caught:
        make()
    return str(caught.value)


REF = np.zeros((3, 2))


@pytest.mark.parametrize("make, argument, words", [
    (lambda: KNNImputer(True).fit(REF), "n_neighbors", "n_neighbors=True"),
    (lambda: KNNImputer(n_neighbors=0).fit(REF), "n_neighbors", "integer from 1"),
    (lambda: KNNImputer(n_neighbors=2.5).fit(REF), "n_neighbors", "integer from 1"),
    (lambda: KNNImputer(n_neighbors="3").fit(REF), "n_neighbors", "integer from 1"),
    (lambda: KNNImputer(5).fit(REF), "n_neighbors", "more than the 3 reference examples"),
    (lambda: KNNImputer(3, exclude_self=True).fit(REF), "n_neighbors", "n_neighbors=2 or less"),
    (lambda: KNNImputer(1, exclude_self=True).fit(REF[:1]), "exclude_self", "at least 2 rows"),
    (lambda: KNNImputer(exclude_self="yes").fit(REF), "exclude_self", "True or False"),
    (lambda: KNNImputer(1, exclude_self=True).fit(REF).transform(REF[:2]), "exclude_self",
     "X has 2 rows but the reference set has 3"),
    (lambda: KNNImputer(marker=np.nan).fit(REF), "marker", "finite number"),
    (lambda: KNNImputer(marker=np.inf).fit(REF), "marker", "finite number"),
    (lambda: KNNImputer(weights="gauss").fit(REF), "weights", "softmax, uniform"),
    (lambda: KNNImputer(1, max_memory_bytes=0).fit(REF), "max_memory_bytes", "integer from 1"),
    (lambda: KNNImputer(1, max_memory_bytes=1e9).fit(REF), "max_memory_bytes", "integer"),
    (lambda: KNNImputer(1, margin=-1).fit(REF), "margin", "integer from 0"),
    (lambda: KNNImputer(1, margin=None).fit(REF), "margin", "integer from 0"),
    (lambda: KNNImputer(1).fit([["a", "b"], ["c", "d"]]), "X", "numeric 2-D array"),
    (lambda: KNNImputer(1).fit(np.zeros((0, 2))), "X", "non-empty 2-D"),
    (lambda: KNNImputer(1).fit(np.zeros(4)), "X", "2-D array [examples, entries], got shape (4,)"),
    (lambda: KNNImputer(1).fit([[1.0, np.inf]]), "X", "infinite"),
    (lambda: KNNImputer(1).fit(REF).transform(np.zeros((1, 3))), "X", "X has 3 features"),
    (lambda: KNNImputer(1).fit(REF).transform(np.full((2, 2), np.nan)), "X",
     "row 0 has no observed entry"),
    (lambda: KNNImputer(1).transform(np.zeros((1, 2))), "fit", "not fitted"),
])
def test_bad_input_is_one_line_in_argument_names(make, argument, words):
    message = _message(make)
    assert "\n" not in message and words in message and argument in message
    assert "--" not in message  # argument names, not the launcher's flags


def test_settings_are_stored_unchanged_and_checked_in_fit():
    imp = KNNImputer(n_neighbors=0, marker=np.nan)  # no error until fit
    assert imp.n_neighbors == 0 and np.isnan(imp.marker)


# -- scikit-learn conventions --------------------------------------------------------------
def test_clone_gives_an_equal_unfitted_imputer():
    from sklearn.base import clone
    imp = KNNImputer(3, weights="uniform", marker=0.0, exclude_self=True).fit(_data()[0])
    twin = clone(imp)
    assert twin is not imp and twin.get_params() == imp.get_params()
    assert not hasattr(twin, "n_features_in_") and imp.n_features_in_ == 9


def test_get_params_set_params_round_trip():
    imp = KNNImputer(3, margin=4)
    params = imp.get_params()
    assert params == {"n_neighbors": 3, "weights": "softmax", "marker": 0.5,
                      "max_memory_bytes": 2 * 1024 ** 3, "margin": 4, "exclude_self": False,
                      "keep_empty_features": False}
    other = KNNImputer().set_params(**params)
    assert other.get_params() == params and repr(other) == repr(imp) == \
        "KNNImputer(margin=4, n_neighbors=3)"
    assert "n_neighbors" in _message(lambda: imp.set_params(k=3))


def _classification(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 4))
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    X[rng.random(X.shape) < 0.25] = np.nan
    X[np.isnan(X).all(1), 0] = 0.5
    return X, y


def test_in_a_pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    X, y = _classification()
    pipe = Pipeline([("impute", KNNImputer(5)), ("model", LogisticRegression())]).fit(X, y)
    assert pipe.named_steps["impute"].n_features_in_ == 4
    assert pipe.predict(X).shape == (60,) and pipe.score(X, y) > 0.6


def test_grid_search_over_n_neighbors():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    X, y = _classification(seed=1)
    pipe = Pipeline([("impute", KNNImputer()), ("model", LogisticRegression())])
    search = GridSearchCV(pipe, {"impute__n_neighbors": [1, 3, 10]}, cv=3).fit(X, y)
    assert search.best_params_["impute__n_neighbors"] in (1, 3, 10)
    assert len(search.cv_results_["mean_test_score"]) == 3
    assert search.best_estimator_.named_steps["impute"].n_neighbors == \
        search.best_params_["impute__n_neighbors"]
