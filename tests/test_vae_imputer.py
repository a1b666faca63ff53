"""The thesis's VAE imputation algorithm as an estimator."""

import os

import numpy as np
import pytest

from vae_tf.errors import UserError
from vae_tf.metrics import rmse
from vae_tf.missing import apply_mask, make_mask
from vae_tf.vae_imputer import VAEImputer


def _problem(tiny_data):
    mask = make_mask(len(tiny_data.train), tiny_data.image_shape, "structured", seed=0)
    return tiny_data.train, apply_mask(tiny_data.train, mask), mask


def _imputer(**kw):
    settings = dict(latent_dim=4, hidden_dim=64, epochs=60, batch_size=50, learning_rate=3e-3,
                    init_stddev=None, seed=0)
    settings.update(kw)
    return VAEImputer(**settings)


def test_fit_transform_keeps_observed_entries_and_beats_column_means(tiny_data, tmp_path):
    truth, holed, mask = _problem(tiny_data)
    imputer = _imputer(logdir=str(tmp_path))
    filled = imputer.fit_transform(holed)
    assert filled.shape == holed.shape and filled.dtype == np.float32
    assert np.array_equal(filled[mask].view(np.uint32), holed[mask].view(np.uint32))
    assert np.all((0 <= filled) & (filled <= 1))
    means = np.where(mask, holed, np.nanmean(holed, axis=0))
    ours, baseline = rmse(truth, filled, ~mask), rmse(truth, means, ~mask)
    assert ours < 0.8 * baseline, (ours, baseline)
    losses = [h["loss"] for h in imputer.history_]
    assert len(losses) == 60 and losses[-1] < 0.8 * losses[0]
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path))


def test_transform_new_data_keeps_observed_and_beats_column_means(tiny_data):
    truth, holed, mask = _problem(tiny_data)
    imputer = _imputer().fit(holed)
    test_mask = make_mask(len(tiny_data.test), tiny_data.image_shape, "structured", seed=1)
    test_holed = apply_mask(tiny_data.test, test_mask)
    out = imputer.transform(test_holed)
    assert np.array_equal(out[test_mask], test_holed[test_mask])
    means = np.where(test_mask, test_holed, np.nanmean(holed, axis=0))
    assert rmse(tiny_data.test, out, ~test_mask) < rmse(tiny_data.test, means, ~test_mask)


def test_same_seed_same_output(tiny_data):
    _, holed, _ = _problem(tiny_data)
    a = _imputer(epochs=3).fit_transform(holed)
    b = _imputer(epochs=3).fit_transform(holed)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _imputer(epochs=3, seed=1).fit_transform(holed))


def test_thesis_defaults_whole_data_as_one_batch(tiny_data):
    _, holed, mask = _problem(tiny_data)
    imputer = VAEImputer(epochs=2)  # thesis: latent 64, hidden 400, lr 0.01, init 0.001
    filled = imputer.fit_transform(holed)
    assert imputer.vae_.latent_dim == 64 and len(imputer.history_) == 2
    assert not np.isnan(filled).any()


@pytest.mark.parametrize("data, message", [
    (np.zeros((0, 4)), "non-empty 2-D array"),
    (np.zeros(4), "non-empty 2-D array"),
    (np.array([[0.5, np.inf]]), "infinite"),
    (np.array([[0.5, 3.0]]), "need data in \\[0, 1\\]|needs data in \\[0, 1\\]"),
])
def test_bad_input(data, message):
    with pytest.raises(UserError, match=message):
        _imputer(epochs=1, batch_size=None).fit_transform(data)


def test_bad_batch_and_transform_misuse(tiny_data):
    _, holed, _ = _problem(tiny_data)
    with pytest.raises(UserError, match="larger than the 200 examples"):
        _imputer(batch_size=500).fit_transform(holed)
    with pytest.raises(UserError, match="not fitted"):
        _imputer().transform(holed)
    imputer = _imputer(epochs=1).fit(holed)
    with pytest.raises(UserError, match="fitted on 64"):
        imputer.transform(holed[:, :10])
