"""The item-based rating VAE: predictions on the 1..5 scale, repeatable, better than the mean."""

import numpy as np
import pytest

from vae_tf.errors import UserError
from vae_tf.ratings import RatingVAE, bias_baseline


def _ratings(seed=0, users=60, items=40):
    """Low-rank ratings 1..5 with 70 % of the cells unrated."""
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=(users, 2)), rng.normal(size=(items, 2))
    full = np.clip(np.round(3 + u @ v.T), 1, 5)
    holes = rng.random(full.shape) < 0.7
    return full, np.where(holes, np.nan, full), holes


def test_predictions_stay_in_range_and_beat_the_global_mean():
    full, train, holes = _ratings()
    model = RatingVAE(latent_dim=4, hidden_dim=32, epochs=150, batch_size=16, l2=1e-3).fit(train)
    pred = model.predict()
    assert pred.shape == train.shape and pred.min() >= 1 and pred.max() <= 5
    rmse = np.sqrt(np.mean((pred[holes] - full[holes]) ** 2))
    mean = np.sqrt(np.mean((np.nanmean(train) - full[holes]) ** 2))
    assert rmse < mean
    assert model.history_[-1] < model.history_[0]


def test_same_seed_same_predictions():
    _, train, _ = _ratings(seed=1)
    a = RatingVAE(latent_dim=2, hidden_dim=8, epochs=2, seed=3).fit(train)
    b = RatingVAE(latent_dim=2, hidden_dim=8, epochs=2, seed=3).fit(train.copy())
    np.testing.assert_array_equal(a.predict(), b.predict())
    assert a.history_ == b.history_


def test_bias_baseline_and_bad_input():
    _, train, _ = _ratings(seed=2)
    base = bias_baseline(train)
    assert base.shape == train.shape and 1 <= base.min() and base.max() <= 5
    with pytest.raises(UserError, match="expected 1..5"):
        RatingVAE().fit(np.array([[0.0, np.nan], [6.0, 2.0]]))
    with pytest.raises(UserError, match="not fitted"):
        RatingVAE().predict()
