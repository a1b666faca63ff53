"""scikit-learn's conventions hold for every imputer: clone, get/set_params, Pipeline and
GridSearchCV; settings are checked in fit; `dir(vae_tf)` lists them."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import vae_tf
from vae_tf.errors import UserError
from vae_tf.metrics import rmse

FAST = {"VAEImputer": dict(latent_dim=2, hidden_dim=16, epochs=3, batch_size=20,
                           learning_rate=1e-2, init_stddev=None, transform_iters=5,
                           jit_compile=False),
        "MIWAEImputer": dict(latent_dim=2, hidden_dim=16, epochs=3, batch_size=20,
                             impute_samples=10, jit_compile=False)}


def _images(n=60, d=12, seed=0):
    """Two kinds of rows in [0, 1] (labels 0/1) with a quarter of the entries missing."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = np.clip(0.25 + 0.5 * y[:, None] + 0.1 * rng.normal(size=(n, d)), 0, 1)
    holed = np.where(rng.random(x.shape) < 0.25, np.nan, x).astype(np.float32)
    return x.astype(np.float32), holed, y


@pytest.mark.parametrize("name", sorted(FAST))
def test_clone_params_and_repr(name):
    cls = getattr(vae_tf, name)
    imputer = cls(**FAST[name], seed=3)
    twin = clone(imputer)
    assert twin is not imputer and twin.get_params() == imputer.get_params()
    assert not hasattr(twin, "n_features_in_")
    assert twin.set_params(epochs=7) is twin and twin.epochs == 7 and imputer.epochs == 3
    assert repr(imputer).startswith(f"{name}(") and "seed=3" in repr(imputer)
    with pytest.raises(UserError, match="has no setting 'epoch'"):
        imputer.set_params(epoch=2)


@pytest.mark.slow  # over 10 s here: several fits and their tracing
@pytest.mark.parametrize("name", sorted(FAST))
def test_fit_transform_pipeline_and_grid_search(name):
    x, holed, y = _images()
    imputer = getattr(vae_tf, name)(**FAST[name])
    out = imputer.fit(holed).transform(holed)
    assert imputer.n_features_in_ == 12 and len(imputer.history_) == 3
    assert {"epoch", "seconds", "train/loss"} <= set(imputer.history_[0])
    observed = ~np.isnan(holed)
    np.testing.assert_array_equal(out[observed], holed[observed])
    assert not np.isnan(out).any()
    pipe = Pipeline([("impute", getattr(vae_tf, name)(**FAST[name])),
                     ("model", LogisticRegression())])
    assert pipe.fit(holed, y).score(holed, y) > 0.9  # the two kinds stay apart
    search = GridSearchCV(pipe, {"impute__latent_dim": [1, 2]}, cv=2).fit(holed, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 2 and np.all((scores >= 0.5) & (scores <= 1))  # both fits scored
    assert search.best_estimator_.named_steps["impute"].latent_dim == \
        [1, 2][int(np.argmax(scores))]  # the refit took the best setting


def _ratings(users=40, items=30, seed=0):
    rng = np.random.default_rng(seed)
    full = np.clip(np.round(3 + rng.normal(size=(users, 2)) @ rng.normal(size=(2, items))), 1, 5)
    held = rng.random(full.shape) < 0.2
    observed = rng.random(full.shape) < 0.6
    return full, np.where(observed & ~held, full, np.nan), held & observed


def test_rating_model_follows_the_conventions_too():
    full, train, held = _ratings()
    model = vae_tf.RatingVAE(latent_dim=2, hidden_dim=8, epochs=2, batch_size=10,
                             jit_compile=False)
    twin = clone(model)
    assert twin.get_params() == model.get_params() and not hasattr(twin, "model_")

    def held_out_score(estimator, X, y=None):  # minus RMSE on the held-out ratings
        return -rmse(full[held], estimator.transform(X)[held])

    everything = np.arange(len(train))  # the model predicts cells of the same matrix
    search = GridSearchCV(Pipeline([("ratings", model)]), {"ratings__latent_dim": [1, 2]},
                          cv=[(everything, everything)], scoring=held_out_score).fit(train)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)  # minus a held-out RMSE
    assert search.best_params_["ratings__latent_dim"] == [1, 2][int(np.argmax(scores))]


def test_the_package_lists_every_imputer_without_loading_tensorflow():
    import subprocess
    import sys
    for name in ("KNNImputer", "VAEImputer", "MIWAEImputer", "RatingVAE", "SeedEnsemble",
                 "load_model"):
        assert name in dir(vae_tf)
    code = ("import sys, vae_tf; dir(vae_tf); assert 'tensorflow' not in sys.modules; "
            "vae_tf.KNNImputer; assert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
