"""SeedEnsemble: members from consecutive seeds, their fills averaged."""

import dataclasses
import os
import re

import numpy as np
import pytest

from vae_tf.errors import UserError
from vae_tf.imputers import KNNImputer, MIWAEImputer, SeedEnsemble
from vae_tf.missing import apply_mask, make_mask

SMALL = dict(arch="mlp", latent_dim=4, hidden_dim=32, hidden_layers=1, epochs=8,
             batch_size=50, learning_rate=3e-3, impute_samples=50, jit_compile=False)


@pytest.fixture(scope="module")
def holed(tiny_data):
    mask = make_mask(len(tiny_data.train), tiny_data.image_shape, "random", 0)
    return apply_mask(tiny_data.train, mask), mask


@pytest.fixture(scope="module")
def ensemble(holed):
    return SeedEnsemble(MIWAEImputer(**SMALL, seed=3), n_seeds=2).fit(holed[0])


def test_the_fill_is_the_mean_of_members_trained_from_consecutive_seeds(ensemble, holed):
    x, mask = holed
    alone = [MIWAEImputer(**SMALL, seed=s).fit(x).transform(x) for s in (3, 4)]
    assert [m.seed for m in ensemble.imputers_] == [3, 4]
    assert not np.allclose(alone[0][~mask], alone[1][~mask])  # the seeds give other models
    out = ensemble.transform(x)
    np.testing.assert_allclose(out, np.mean(alone, axis=0), atol=1e-5)
    assert np.array_equal(out[mask], x[mask]) and not np.isnan(out).any()


def test_history_is_the_members_mean_per_epoch(ensemble):
    first, second = (m.history_ for m in ensemble.imputers_)
    assert len(ensemble.history_) == len(first) == SMALL["epochs"]
    assert ensemble.history_[-1]["epoch"] == first[-1]["epoch"]
    np.testing.assert_allclose(ensemble.history_[-1]["train/loss"],
                               (first[-1]["train/loss"] + second[-1]["train/loss"]) / 2)


def test_each_member_checkpoints_in_its_own_folder_and_a_refit_resumes(holed, tmp_path,
                                                                        monkeypatch):
    from vae_tf import engine
    x = holed[0][:100]
    settings = dict(SMALL, epochs=2, seed=0, logdir=str(tmp_path))
    first = SeedEnsemble(MIWAEImputer(**settings), n_seeds=2).fit(x)
    assert sorted(os.listdir(tmp_path)) == ["seed-0", "seed-1"]
    said = []  # the engine's log lines (absl's verbosity may hide them from caplog)
    monkeypatch.setattr(engine.logging, "info", lambda fmt, *args: said.append(fmt % args))
    again = SeedEnsemble(MIWAEImputer(**settings), n_seeds=2).fit(x)  # resumes: no epoch more
    resumed = [line for line in said if "resumed from" in line]
    assert len(resumed) == 2
    assert all(f"seed-{k}" in line and "(epoch 2)" in line for k, line in enumerate(resumed))
    np.testing.assert_allclose(again.transform(x), first.transform(x), atol=1e-6)


def test_scikit_learn_clones_it_unfitted_and_reaches_the_members_settings(ensemble):
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline
    copy = clone(ensemble)
    assert copy.n_seeds == 2 and copy.imputer.seed == 3 and copy.imputer is not ensemble.imputer
    assert not hasattr(copy, "imputers_")
    assert repr(copy) == f"SeedEnsemble(imputer={copy.imputer!r}, n_seeds=2)"
    pipe = Pipeline([("impute", copy)])
    assert pipe.get_params()["impute__imputer__latent_dim"] == 4  # GridSearchCV's names
    pipe.set_params(impute__imputer__latent_dim=2, impute__n_seeds=3)
    assert copy.imputer.latent_dim == 2 and copy.n_seeds == 3 and ensemble.imputer.latent_dim == 4
    with pytest.raises(UserError, match="no member to set latent_dim"):
        SeedEnsemble().set_params(imputer__latent_dim=2)
    with pytest.raises(UserError, match="MIWAEImputer has no setting 'latentdim'"):
        copy.set_params(imputer__latentdim=2)


def test_bad_use_gets_one_line(holed):
    x = holed[0][:10]
    cases = ((SeedEnsemble(KNNImputer(3)), "the imputer has no seed to vary"),
             (SeedEnsemble(MIWAEImputer(**SMALL), n_seeds=0), "n_seeds must be an integer"),
             (SeedEnsemble(MIWAEImputer(**SMALL), n_seeds=1.5), "n_seeds must be an integer"))
    for ensemble, message in cases:
        with pytest.raises(UserError, match=message) as error:
            ensemble.fit(x)
        assert "\n" not in str(error.value)
    with pytest.raises(UserError, match="not fitted"):
        SeedEnsemble().transform(x)
    # refused before any member trains (a late refusal would waste whole fits)
    for member, message in ((MIWAEImputer(**SMALL, seed=2 ** 32 - 2), "seed must be an integer"),
                            (MIWAEImputer(**SMALL, seed="0"), "seed must be an integer"),
                            (MIWAEImputer(**SMALL, warm_start=True), "set warm_start=False")):
        with pytest.raises(UserError, match=message) as error:
            SeedEnsemble(member, n_seeds=3).fit(np.full((4, 4), np.nan))  # no member could fit
        assert "\n" not in str(error.value)
    with pytest.raises(UserError, match="X has 3 features"):
        one = MIWAEImputer(**dict(SMALL, batch_size=10, epochs=1))
        SeedEnsemble(one, n_seeds=1).fit(x).transform(x[:, :3])


@pytest.mark.slow  # the launcher's impute run, three MIWAE fits
def test_launcher_imputer_seeds_averages_members_in_the_run_folder(tmp_path, tiny_data):
    from vae_tf.config import make_config
    from vae_tf.impute_run import run_impute
    logdir = tmp_path / "run"
    config = make_config(mode="impute", imputer="miwae", arch="mlp", imputer_seeds=2, epochs=40, learning_rate=0.005,
                         batch_size=50, latent_dim=4, hidden_dim=16, seed=5, logdir=str(logdir))
    metrics = run_impute(config, data=tiny_data)
    assert metrics["imputer_settings"].startswith("SeedEnsemble(imputer=MIWAEImputer(")
    assert "n_seeds=2" in metrics["imputer_settings"] and "epochs=40" in metrics["imputer_settings"]
    assert {"seed-0", "seed-1"} <= set(os.listdir(logdir))
    # Better than the column means on the same holes, and not member 0 alone (which is
    # what --imputer_seeds=1 fits: same seed, same settings).
    from vae_tf.missing import apply_mask, make_mask
    train_mask = make_mask(len(tiny_data.train), tiny_data.image_shape, config.missing,
                           config.seed)
    test_mask = make_mask(len(tiny_data.test), tiny_data.image_shape, config.missing,
                          config.seed + 1)
    means = np.nanmean(apply_mask(tiny_data.train, train_mask), axis=0)
    hidden = ~test_mask
    by_means = np.sqrt(np.mean((np.broadcast_to(means, tiny_data.test.shape)[hidden]
                                - tiny_data.test[hidden]) ** 2))
    assert metrics["rmse_missing"] < by_means
    single = run_impute(dataclasses.replace(config, imputer_seeds=1,
                                            logdir=str(tmp_path / "one")), data=tiny_data)
    assert abs(single["rmse_missing"] - metrics["rmse_missing"]) > 1e-6
    # the same folder with another count is refused, not resumed
    with pytest.raises(UserError, match="different imputer_seeds"):
        run_impute(dataclasses.replace(config, imputer_seeds=3), data=tiny_data)


@pytest.mark.parametrize("given, needle", [
    (dict(imputer="knn", imputer_seeds=3), "--imputer_seeds=3 does not apply here"),
    (dict(imputer="miwae", imputer_seeds=-1), "--imputer_seeds=-1 must be 0"),
    (dict(imputer="miwae", imputer_seeds=101), "--imputer_seeds=101 must be 0"),
    (dict(imputer="miwae", imputer_seeds=3, seed=2 ** 32 - 2), "past the last seed"),
    (dict(imputer="rating_vae", seed=2 ** 32 - 2), "fits 3 models from seeds seed .. seed+2"),
])
def test_launcher_refuses_a_bad_imputer_seeds(given, needle):
    from vae_tf.config import make_config
    with pytest.raises(UserError, match=re.escape(needle)):
        make_config(mode="impute", **given)
    with pytest.raises(UserError, match="it is a --mode=impute setting"):
        make_config(mode="train", imputer_seeds=2)


def test_rating_vae_is_averaged_by_seed_ensemble_like_every_trained_imputer(tmp_path):
    from vae_tf.config import make_config
    from vae_tf.impute_run import make_imputer
    from vae_tf.imputers import RatingVAE
    from vae_tf.rundir import RunDir
    run = RunDir(str(tmp_path / "run"), "--logdir")
    try:
        own = make_imputer(make_config(mode="impute", imputer="rating_vae"), run, ratings=True)
        two = make_imputer(make_config(mode="impute", imputer="rating_vae", imputer_seeds=2),
                           run, ratings=True)
        single = make_imputer(make_config(mode="impute", imputer="rating_vae", imputer_seeds=1),
                              run, ratings=True)
        one = make_imputer(make_config(mode="impute", imputer="miwae", imputer_seeds=1), run,
                           ratings=False, image_shape=(8, 8, 1))
    finally:
        run.close()
    # --imputer_seeds=0: the registry's count for it (3), in the same SeedEnsemble as MIWAE's
    assert isinstance(own, SeedEnsemble) and own.n_seeds == 3 and two.n_seeds == 2
    assert isinstance(own.imputer, RatingVAE) and own.keep_empty_features is None
    assert own.imputer.seed == 0 and "n_seeds" not in own.imputer.get_params()
    assert isinstance(single, RatingVAE) and isinstance(one, MIWAEImputer)  # one model each


@pytest.mark.slow  # over 10 s here: several fits and their tracing
def test_the_thesis_imputer_averages_too(holed):
    from vae_tf.imputers import VAEImputer
    x, mask = holed
    settings = dict(latent_dim=2, hidden_dim=16, epochs=3, batch_size=50, transform_iters=5,
                    jit_compile=False)
    pair = SeedEnsemble(VAEImputer(**settings, seed=1), n_seeds=2).fit(x)
    alone = [VAEImputer(**settings, seed=s).fit(x).transform(x) for s in (1, 2)]
    np.testing.assert_allclose(pair.transform(x), np.mean(alone, axis=0), atol=1e-5)
    assert len(pair.history_) == 3
    # fit_transform gives the thesis's own fill of X (filled_), averaged, as VAEImputer's does
    own = [VAEImputer(**settings, seed=s).fit(x).filled_ for s in (1, 2)]
    filled = SeedEnsemble(VAEImputer(**settings, seed=1), n_seeds=2).fit_transform(x)
    np.testing.assert_allclose(filled, np.mean(own, axis=0), atol=1e-5)
    assert not np.allclose(filled[~mask], pair.transform(x)[~mask], atol=1e-3)


def test_a_run_folder_resumes_under_any_spelling_of_the_same_count(tmp_path):
    from vae_tf.config import make_config
    from vae_tf.rundir import RunDir

    def open_run(**given):
        RunDir.for_config(make_config(mode="impute", logdir=str(tmp_path / "run"),
                                      **given)).close()

    open_run(imputer="miwae")  # 0: MIWAE's own count, one model
    open_run(imputer="miwae", imputer_seeds=1)
    with pytest.raises(UserError, match="different imputer_seeds"):
        open_run(imputer="miwae", imputer_seeds=2)
    RunDir.for_config(make_config(mode="impute", imputer="rating_vae",
                                  logdir=str(tmp_path / "ratings"))).close()
    RunDir.for_config(make_config(mode="impute", imputer="rating_vae", imputer_seeds=3,
                                  logdir=str(tmp_path / "ratings"))).close()
