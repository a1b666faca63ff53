"""Tables in, tables out (vae_tf/imputers/validation.py): feature names,
set_output("pandas"), renamed or reordered columns refused, pandas nullable dtypes, the
input's float type with observed entries bit for bit, empty columns, non-numeric columns."""

import warnings

import numpy as np
import pandas as pd
import pytest

import vae_tf
from vae_tf.errors import UserError

TINY = {"KNNImputer": dict(n_neighbors=2),
        "VAEImputer": dict(latent_dim=2, hidden_dim=8, epochs=1, batch_size=10,
                           transform_iters=2, jit_compile=False),
        "MIWAEImputer": dict(latent_dim=2, hidden_dim=8, epochs=1, batch_size=10,
                             impute_samples=5, jit_compile=False)}


def _make(name, **extra):
    return getattr(vae_tf, name)(**TINY[name], **extra)


def _table(n=20, dtype=np.float64, seed=0):
    """A [0, 1] table (values not representable in float32) with a fifth missing."""
    rng = np.random.default_rng(seed)
    x = (rng.random((n, 4)) * 0.9 + 1e-9).astype(dtype)
    x[rng.random(x.shape) < 0.2] = np.nan
    x[:, 0] = np.where(np.isnan(x[:, 0]), 0.5, x[:, 0])  # no row without an observed entry
    return pd.DataFrame(x, columns=list("abcd"), index=np.arange(100, 100 + n))


@pytest.mark.parametrize("name", sorted(TINY))
def test_a_dataframe_comes_back_with_its_index_and_columns(name):
    frame = _table()
    imputer = _make(name).set_output(transform="pandas")
    out = imputer.fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list("abcd") and (out.index == frame.index).all()
    assert imputer.n_features_in_ == 4 and list(imputer.feature_names_in_) == list("abcd")
    assert imputer.feature_names_in_.dtype == object
    assert list(imputer.get_feature_names_out()) == list("abcd")
    assert isinstance(imputer.transform(frame), pd.DataFrame)
    assert isinstance(imputer.set_output(transform="default").transform(frame), np.ndarray)


def test_names_without_a_dataframe_and_integer_column_names():
    imputer = vae_tf.KNNImputer(2).fit(_table().to_numpy())
    assert not hasattr(imputer, "feature_names_in_")
    assert list(imputer.get_feature_names_out()) == ["x0", "x1", "x2", "x3"]
    numbered = _table().set_axis(range(4), axis=1)
    assert not hasattr(vae_tf.KNNImputer(2).fit(numbered), "feature_names_in_")
    with pytest.raises(UserError, match="input_features"):
        vae_tf.KNNImputer(2).fit(_table()).get_feature_names_out(["a", "b", "c", "x"])


@pytest.mark.parametrize("change, words", [
    (lambda f: f[["d", "c", "b", "a"]], "another order"),
    (lambda f: f.rename(columns={"b": "z"}), "unseen in fit: 'z'; missing: 'b'"),
])
def test_renamed_or_reordered_columns_are_refused_in_one_line(change, words):
    frame = _table()
    imputer = vae_tf.KNNImputer(2).fit(frame)
    with pytest.raises(UserError, match=words) as error:
        imputer.transform(change(frame))
    assert "\n" not in str(error.value) and "feature_names_in_" in str(error.value)


def test_names_present_in_one_call_only_warn_as_scikit_learn():
    frame = _table()
    with pytest.warns(UserWarning, match="X has feature names, but KNNImputer was fitted "
                                         "without feature names"):
        vae_tf.KNNImputer(2).fit(frame.to_numpy()).transform(frame)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        vae_tf.KNNImputer(2).fit(frame).transform(frame.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vae_tf.KNNImputer(2).fit(frame).transform(frame)  # same names: no warning


def test_pandas_nullable_columns_are_accepted_and_pd_na_is_missing():
    frame = pd.DataFrame({"count": pd.array([1, 2, None, 4, 5, 6], dtype="Int64"),
                          "share": pd.array([0.1, None, 0.3, 0.4, 0.5, 0.6], dtype="Float64"),
                          "flag": pd.array([True, False, None, True, False, True],
                                           dtype="boolean")})
    out = vae_tf.KNNImputer(2).fit_transform(frame)
    assert out.dtype == np.float64 and not np.isnan(out).any()
    assert out[0, 0] == 1 and out[1, 2] == 0 and out[5, 1] == 0.6  # observed kept
    assert 1 <= out[2, 0] <= 6 and 0 <= out[2, 2] <= 1


@pytest.mark.parametrize("name", sorted(TINY))
def test_observed_entries_come_back_bit_exact_in_the_input_float_type(name):
    x = _table().to_numpy()  # float64, not representable in float32
    observed = ~np.isnan(x)
    out = _make(name).fit(x).transform(x)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[observed], x[observed])  # float32 would move ~1e-8
    x32 = x.astype(np.float32)
    assert _make(name).fit(x32).transform(x32).dtype == np.float32


def test_integer_input_comes_back_as_float64():
    x = np.array([[1, 2], [3, 4], [5, 6]])
    out = vae_tf.KNNImputer(2).fit_transform(x)
    assert out.dtype == np.float64 and (out == x).all()


@pytest.mark.parametrize("name", ["KNNImputer", "VAEImputer"])
def test_empty_columns_as_scikit_learn(name):
    x = _table().to_numpy().copy()
    x[:, 2] = np.nan
    dropped = _make(name, keep_empty_features=False).fit(x)
    out = dropped.transform(x)
    assert out.shape == (20, 3) and not np.isnan(out).any()
    assert list(dropped.get_feature_names_out()) == ["x0", "x1", "x3"]
    np.testing.assert_array_equal(out[:, 2][~np.isnan(x[:, 3])], x[:, 3][~np.isnan(x[:, 3])])
    kept = _make(name, keep_empty_features=True)
    out = kept.fit_transform(x)
    assert out.shape == (20, 4) and (out[:, 2] == 0).all() and not np.isnan(out).any()
    assert len(kept.get_feature_names_out()) == 4
    assert _make(name).fit_transform(x).shape == (20, 3)  # False by default, as scikit-learn
    thesis = _make(name, keep_empty_features=None).fit_transform(x)  # imputed, width kept
    assert thesis.shape == (20, 4) and not np.isnan(thesis).any()


def test_an_all_missing_table_is_no_longer_half_everywhere():
    x = np.full((10, 3), np.nan)
    vae = _make("VAEImputer", keep_empty_features=False)
    assert vae.fit_transform(x).shape == (10, 0)
    assert (_make("VAEImputer", keep_empty_features=True).fit_transform(x) == 0).all()


def test_keep_empty_features_is_checked():
    with pytest.raises(UserError, match="keep_empty_features='yes'"):
        vae_tf.KNNImputer(2, keep_empty_features="yes").fit(_table())


@pytest.mark.parametrize("frame, column", [
    (pd.DataFrame({"a": [0.1, 0.2], "city": ["Oslo", "Rome"]}), "'city'"),
    (pd.DataFrame({"a": [0.1, 0.2], "kind": pd.Categorical(["x", "y"])}), "'kind'"),
    (np.array([[0.1, "Oslo"], [0.2, "Rome"]], dtype=object), "column 1"),
])
def test_a_non_numeric_column_is_refused_in_one_line_naming_it(frame, column):
    for make in (lambda: vae_tf.KNNImputer(1), lambda: _make("MIWAEImputer")):
        with pytest.raises(UserError, match=column) as error:
            make().fit(frame)
        assert "\n" not in str(error.value) and "numeric" in str(error.value)


def test_object_columns_of_numbers_are_numbers():
    frame = pd.DataFrame({"a": np.array([0.1, None, 0.3], dtype=object), "b": [1.0, 2.0, 3.0]})
    out = vae_tf.KNNImputer(1).fit_transform(frame)
    assert out.dtype == np.float64 and not np.isnan(out).any()


def test_set_output_refuses_an_unknown_container_in_one_line():
    with pytest.raises(UserError, match="choose one of: default, pandas"):
        vae_tf.KNNImputer().set_output(transform="polars")
    imputer = vae_tf.KNNImputer()
    assert imputer.set_output(transform=None) is imputer


def test_ensemble_and_rating_model_follow_the_table_conventions():
    frame = _table()
    ensemble = vae_tf.SeedEnsemble(_make("MIWAEImputer"), n_seeds=2).set_output(
        transform="pandas")
    out = ensemble.fit_transform(frame)
    assert list(out.columns) == list("abcd") and (out.index == frame.index).all()
    observed = frame.notna().to_numpy()
    np.testing.assert_array_equal(out.to_numpy()[observed], frame.to_numpy()[observed])
    with pytest.raises(UserError, match="another order"):
        ensemble.transform(frame[["b", "a", "c", "d"]])
    ratings = pd.DataFrame(np.where(np.random.default_rng(0).random((12, 5)) < 0.6,
                                    np.random.default_rng(1).integers(1, 6, (12, 5)), np.nan),
                           columns=[f"item{i}" for i in range(5)]).astype("Float64")
    model = vae_tf.RatingVAE(latent_dim=2, hidden_dim=4, epochs=1, batch_size=5)
    out = model.set_output(transform="pandas").fit(ratings).transform(ratings)
    assert list(out.columns) == list(ratings.columns) and out.dtypes.iloc[0] == np.float64
