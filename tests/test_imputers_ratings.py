"""The item-based rating VAE: ratings on the 1..5 scale, rated cells only, better than biases."""

import numpy as np
import pytest
import tensorflow as tf

from vae_tf.errors import UserError
from vae_tf.imputers import SeedEnsemble
from vae_tf.imputers.ratings import RatingVAE, bias_baseline, rated_gaussian_nll


def _ratings(seed=0, users=120, items=80, unrated=0.7):
    """Rank-2 ratings 1..5 (with user and item offsets); `unrated` of the cells are NaN."""
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=(users, 2)), rng.normal(size=(items, 2))
    offsets = 0.3 * rng.normal(size=(users, 1)) + 0.3 * rng.normal(size=(1, items))
    full = np.clip(np.round(3 + offsets + u @ v.T), 1, 5)
    holes = rng.random(full.shape) < unrated
    return full, np.where(holes, np.nan, full), holes


def _rmse(pred, full, holes):
    return float(np.sqrt(np.mean((pred[holes] - full[holes]) ** 2)))


def test_likelihood_counts_rated_cells_only():
    x = tf.constant([[1.0, 2.0, 3.0]])
    mask = tf.constant([[1.0, 0.0, 1.0]])
    mean = tf.constant([[0.0, 0.0, 0.0]])
    # (1 + 9) / (2 * 0.5^2) = 20; the unrated middle cell counts for nothing.
    np.testing.assert_allclose(rated_gaussian_nll(x, mean, mask, 0.5).numpy(), [20.0])
    moved = tf.constant([[1.0, -7.0, 3.0]])
    np.testing.assert_allclose(rated_gaussian_nll(moved, mean, mask, 0.5).numpy(), [20.0])


def test_beats_the_bias_baseline_on_held_out_low_rank_ratings():
    full, train, holes = _ratings()
    model = RatingVAE(latent_dim=4, hidden_dim=32, epochs=60, batch_size=16, l2=1e-3).fit(train)
    pred = model.predict()
    assert pred.shape == train.shape and pred.min() >= 1 and pred.max() <= 5
    assert _rmse(pred, full, holes) < 0.8 * _rmse(bias_baseline(train), full, holes)
    assert model.history_[-1]["train/loss"] < model.history_[0]["train/loss"]
    filled = model.transform(train)  # the rated cells kept, the others predicted
    rated = ~np.isnan(train)
    np.testing.assert_array_equal(filled[rated], train[rated])
    np.testing.assert_allclose(filled[~rated], pred[~rated], rtol=1e-6)


def test_predictions_clipped_to_the_rating_scale():
    full, train, _ = _ratings(seed=1)
    # Ratings all at the ends of the scale push the unclipped predictions past 1 and 5.
    extreme = np.where(np.isnan(train), np.nan, np.where(full >= 3, 5.0, 1.0))
    pred = RatingVAE(latent_dim=2, hidden_dim=8, epochs=3).fit(extreme).predict()
    assert pred.min() >= 1 and pred.max() <= 5
    assert np.isclose(pred.min(), 1) or np.isclose(pred.max(), 5)


def test_same_seed_same_predictions_and_the_ensemble_averages():
    _, train, _ = _ratings(seed=1, users=40, items=30)
    settings = dict(latent_dim=2, hidden_dim=8, epochs=2)
    a = RatingVAE(**settings, seed=3).fit(train)
    b = RatingVAE(**settings, seed=3).fit(train.copy())
    np.testing.assert_array_equal(a.predict(), b.predict())
    losses = [[h["train/loss"] for h in m.history_] for m in (a, b)]
    assert losses[0] == losses[1] and len(losses[0]) == 2
    # SeedEnsemble of seeds 3 and 4 is the mean of the single models of seeds 3 and 4.
    pair = SeedEnsemble(RatingVAE(**settings, seed=3), n_seeds=2,
                        keep_empty_features=None).fit(train)
    singles = [RatingVAE(**settings, seed=s).fit(train).transform(train) for s in (3, 4)]
    np.testing.assert_allclose(pair.transform(train), np.mean(singles, 0), atol=1e-5)
    np.testing.assert_array_equal(singles[0], a.transform(train))
    assert not np.allclose(singles[0], singles[1])
    # posterior: q(z | item) of each item, of the fitted matrix or of one of its shape only
    assert a.posterior()[0].shape == (30, 2)
    with pytest.raises(UserError, match=r"X is \(39, 30\) but RatingVAE was fitted on a "
                       r"\(40, 30\) matrix"):
        a.posterior(train[:39])


def test_bias_baseline_and_bad_input():
    _, train, _ = _ratings(seed=2)
    base = bias_baseline(train)
    assert base.shape == train.shape and 1 <= base.min() and base.max() <= 5
    with pytest.raises(UserError, match="expects ratings 1..5"):
        RatingVAE().fit(np.array([[0.0, np.nan], [6.0, 2.0]]))
    with pytest.raises(UserError, match="not fitted"):
        RatingVAE().predict()
    with pytest.raises(UserError, match="not fitted"):
        RatingVAE().posterior()
    with pytest.raises(UserError, match="input_dropout"):
        RatingVAE(input_dropout=1.0, batch_size=2).fit(train)
    with pytest.raises(UserError, match=r"latent_dim=0\): latent_dim must be an integer from 1; "
                       r"pass e.g. latent_dim=32"):
        RatingVAE(latent_dim=0, batch_size=2).fit(train)
    # a batch larger than the items takes them all (30 items here)
    assert RatingVAE(batch_size=10_000, epochs=1)._batch(30) == 30
