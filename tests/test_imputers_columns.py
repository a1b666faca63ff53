"""MIWAE's column models (vae_tf/imputers/columns.py): a raw table in, each column modelled by
a likelihood that fits it, scaling inside, the thesis's Bernoulli kept for [0, 1] data."""

import math

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from scipy import stats

from vae_tf import MIWAEImputer
from vae_tf.errors import UserError
from vae_tf.imputers import miwae
from vae_tf.imputers.columns import MIN_DF, Columns, resolve_categorical

TINY = dict(latent_dim=2, hidden_dim=16, epochs=2, batch_size=20, impute_samples=20,
            jit_compile=False)


def _mixed(n=120, seed=0):
    """A real column in the thousands, a binary 3/7 column, a categorical code column
    (codes 2, 5, 9) and a real column that follows the first; a fifth missing."""
    rng = np.random.default_rng(seed)
    a = rng.normal(5000.0, 800.0, n)
    x = np.stack([a, np.where(rng.random(n) < 0.4, 3.0, 7.0), rng.choice([2.0, 5.0, 9.0], n),
                  a / 100.0 + rng.normal(0, 1, n)], axis=1)
    holed = x.copy()
    holed[rng.random(x.shape) < 0.2] = np.nan
    return x, holed


def test_kinds_and_scaling_come_from_the_observed_entries():
    x, holed = _mixed()
    mask = ~np.isnan(holed)
    cols = Columns.fit(np.nan_to_num(holed), mask, "student_t",
                       np.array([False, False, True, False]), True, "T")
    assert list(cols.kinds) == ["real", "binary", "categorical", "real"]
    assert cols.likelihood_names() == ["student_t", "bernoulli", "categorical", "student_t"]
    observed = holed[mask[:, 0], 0]
    assert cols.center[0] == pytest.approx(observed.mean())
    assert cols.scale[0] == pytest.approx(observed.std())
    assert (cols.low[1], cols.high[1]) == (3.0, 7.0)
    assert list(cols.categories[0]) == [2.0, 5.0, 9.0]
    assert cols.width == 2 + 1 + 3 and cols.params == 2 * 3 + 1 + 3
    enc, m = cols.encode(np.nan_to_num(holed), mask)
    assert enc.shape == (len(x), 6) and m.shape == (len(x), 6)
    # the encoded real column is standardised; a hole is 0 and masked
    assert abs(enc[m[:, 0] > 0, 0].mean()) < 1e-5 and enc[m[:, 0] == 0, 0].max() == 0
    # decoding the encoded observed entries gives the table back
    back = cols.decode(enc.astype(np.float64))
    np.testing.assert_allclose(back[mask], holed[mask], rtol=1e-5)


def test_log_prob_is_the_gaussian_student_t_bernoulli_and_categorical_log_density():
    x = np.array([[1.5, 7.0, 5.0]])
    mask = np.ones_like(x, bool)
    for real in ("gaussian", "student_t"):
        cols = Columns(real, ["real", "binary", "categorical"], np.zeros(3), np.ones(3),
                       np.array([0.0, 3.0, 0.0]), np.array([1.0, 7.0, 1.0]),
                       [np.array([2.0, 5.0])])
        enc, m = cols.encode(x, mask)
        raw_scale, raw_df, logit = 0.3, -0.5, 0.8
        params = [0.2, raw_scale] + ([raw_df] if real == "student_t" else []) + [logit, 1.1,
                                                                                 -0.4]
        got = cols.log_prob(tf.constant(enc), tf.constant(m),
                            tf.constant([[params]], tf.float32)).numpy()[0, 0]
        scale = math.log1p(math.exp(raw_scale)) + 1e-3
        if real == "gaussian":
            real_term = stats.norm.logpdf(1.5, 0.2, scale)
        else:
            real_term = stats.t.logpdf(1.5, math.log1p(math.exp(raw_df)) + MIN_DF, 0.2, scale)
        binary_term = math.log(1 / (1 + math.exp(-logit)))  # 7.0 is the "high" value
        categorical_term = -0.4 - np.logaddexp(1.1, -0.4)  # code 5.0, the second logit
        assert got == pytest.approx(real_term + binary_term + categorical_term, rel=1e-5)


def test_holes_and_values_fit_never_saw_count_for_nothing_in_the_likelihood():
    cols = Columns("gaussian", ["real", "binary", "categorical"], np.zeros(3), np.ones(3),
                   np.array([0.0, 3.0, 0.0]), np.array([1.0, 7.0, 1.0]), [np.array([2.0, 5.0])])
    params = tf.constant([[[0.2, 0.3, 0.8, 1.1, -0.4]]], tf.float32)
    x = np.array([[1.5, 7.0, 5.0]])

    def log_p(values, observed):
        enc, m = cols.encode(values, np.array([observed]))
        return cols.log_prob(tf.constant(enc), tf.constant(m), params).numpy()[0, 0]
    full = log_p(x, [True, True, True])
    # a hole's value does not matter; an unseen binary value or code counts as a hole
    assert log_p(np.array([[99.0, 7.0, 5.0]]), [False, True, True]) == \
        log_p(np.array([[-5.0, 7.0, 5.0]]), [False, True, True]) != full
    assert log_p(np.array([[1.5, 4.0, 5.0]]), [True, True, True]) == \
        log_p(x, [True, False, True])
    assert log_p(np.array([[1.5, 7.0, 9.0]]), [True, True, True]) == \
        log_p(x, [True, True, False])
    assert log_p(x, [False, False, False]) == 0.0


def test_a_raw_table_is_imputed_on_its_own_scale_and_the_choice_is_said():
    x, holed = _mixed()
    frame = pd.DataFrame(holed, columns=["income", "flag", "region", "spend"])
    imputer = MIWAEImputer(**TINY, categorical_features=["region"]).set_output(
        transform="pandas")
    out = imputer.fit_transform(frame)
    assert imputer.likelihood_ == "mixed"
    real = miwae.AUTO_REAL  # the table default: a Gaussian (tabular_defaults.md)
    assert list(imputer.column_likelihoods_) == [real, "bernoulli", "categorical", real]
    hole = np.isnan(holed)
    # the holes get values on each column's own scale: in the thousands, between the two
    # binary values, one of the codes
    assert 2000 < out["income"][hole[:, 0]].min() and out["income"][hole[:, 0]].max() < 8000
    assert ((out["flag"] >= 3) & (out["flag"] <= 7)).all()
    assert set(out["region"][hole[:, 2]]) <= {2.0, 5.0, 9.0}
    np.testing.assert_array_equal(out.to_numpy()[~hole], holed[~hole])


def test_multiple_imputations_draw_from_each_columns_model():
    _, holed = _mixed()
    imputer = MIWAEImputer(**TINY, categorical_features=[2]).fit(holed)
    draws = imputer.multiple_imputation(holed, m=4, seed=1)
    hole = np.isnan(holed)
    assert draws.shape == (4,) + holed.shape
    assert set(np.unique(draws[:, hole[:, 1], 1])) <= {3.0, 7.0}
    assert set(np.unique(draws[:, hole[:, 2], 2])) <= {2.0, 5.0, 9.0}
    assert np.std(draws[:, hole[:, 0], 0], axis=0).mean() > 1.0  # real draws spread
    np.testing.assert_array_equal(draws, imputer.multiple_imputation(holed, m=4, seed=1))
    means = imputer.multiple_imputation(holed, m=2, seed=1, draw="mean")
    assert set(np.unique(means[:, hole[:, 2], 2])) <= {2.0, 5.0, 9.0}


@pytest.mark.parametrize("likelihood", ["gaussian", "student_t"])
def test_a_forced_real_likelihood_models_every_column_as_real(likelihood):
    _, holed = _mixed()
    imputer = MIWAEImputer(**TINY, likelihood=likelihood).fit(holed)
    assert imputer.likelihood_ == likelihood
    assert set(imputer.column_likelihoods_) == {likelihood}
    out = imputer.transform(holed)
    assert np.isfinite(out).all()


def test_data_in_the_unit_interval_keep_the_thesis_bernoulli():
    rng = np.random.default_rng(0)
    x = rng.random((40, 6)).astype(np.float32)
    x[rng.random(x.shape) < 0.2] = np.nan
    auto = MIWAEImputer(**TINY, seed=3).fit(x)
    forced = MIWAEImputer(**TINY, seed=3, likelihood="bernoulli").fit(x)
    assert auto.likelihood_ == "bernoulli" and auto._columns is None
    np.testing.assert_array_equal(auto.transform(x), forced.transform(x))
    with pytest.raises(UserError, match=r"models data in \[0, 1\]: pass likelihood='auto'"):
        MIWAEImputer(**TINY, likelihood="bernoulli").fit(x * 10)
    with pytest.raises(UserError, match=r"models data in \[0, 1\]: pass likelihood='auto'"):
        auto.transform(x * 10)  # fitted as the Bernoulli on [0, 1]


def test_a_refit_on_another_kind_of_data_starts_afresh():
    _, holed = _mixed()
    imputer = MIWAEImputer(**TINY).fit(np.clip(holed / 10000.0, 0, 1))
    assert imputer.likelihood_ == "bernoulli"
    imputer.fit(holed)  # values outside [0, 1]: not refused by the previous fit's model
    assert imputer.likelihood_ == "mixed"


@pytest.mark.parametrize("kwargs, words", [
    (dict(likelihood="poisson"), "unknown likelihood"),
    (dict(categorical_features="region"), "list of column"),
    (dict(categorical_features=[7]), "not a column index"),
    (dict(categorical_features=["nope"]), "no column named 'nope'"),
    (dict(categorical_features=[0]), "non-integer codes"),
    (dict(categorical_features=[2], likelihood="bernoulli"), r"pass likelihood='auto'"),
    (dict(arch="conv", image_shape=(2, 2)), "arch='mlp' for a table"),
])
def test_bad_column_settings_get_one_line(kwargs, words):
    _, holed = _mixed()
    with pytest.raises(UserError, match=words) as err:
        MIWAEImputer(**{**TINY, **kwargs}).fit(holed)
    assert "\n" not in str(err.value)


def test_categorical_features_as_a_mask_and_names_inside_an_ensemble():
    from vae_tf import SeedEnsemble
    _, holed = _mixed()
    frame = pd.DataFrame(holed, columns=list("abcd"))
    assert list(resolve_categorical([False, False, True, False], 4, None, "T")) == \
        [False, False, True, False]
    ensemble = SeedEnsemble(MIWAEImputer(**TINY, categorical_features=["c"]), n_seeds=2)
    out = ensemble.fit_transform(frame)
    assert set(np.unique(out[np.isnan(holed[:, 2]), 2])) <= {2.0, 5.0, 9.0}


def test_table_training_is_sized_in_optimizer_steps():
    _, holed = _mixed(n=50)
    imputer = MIWAEImputer(**{**TINY, "epochs": None, "batch_size": 20})
    imputer._prepare(np.nan_to_num(holed), ~np.isnan(holed))
    repeat, steps = imputer._round()  # rounds of ROUND_STEPS steps, cycling the 50 rows
    assert repeat == math.ceil(miwae.ROUND_STEPS * 20 / 50) and steps == miwae.ROUND_STEPS
    assert imputer._epochs() == math.ceil(miwae.TABLE_STEPS / miwae.ROUND_STEPS)
    imputer.fit(holed)
    assert len(imputer.history_) == imputer._epochs()
    given = MIWAEImputer(**{**TINY, "epochs": 3, "batch_size": 20})
    given._prepare(np.nan_to_num(holed), ~np.isnan(holed))
    assert given._round() == (1, 3) and given._epochs() == 3  # epochs given: passes
    images = MIWAEImputer(epochs=None)
    images._prepare(np.full((4, 4), 0.5), np.ones((4, 4), bool))
    assert images._epochs() == miwae.DEFAULT_EPOCHS["mlp"]
