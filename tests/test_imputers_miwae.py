"""The masked (MIWAE) bound and imputation by inference."""

import json
import math
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from test_main import launch
from vae_tf import losses
from vae_tf.errors import UserError
from vae_tf.metrics import rmse
from vae_tf.imputers.masked_bound import MaskedBound
from vae_tf.imputers.miwae import MIWAEImputer
from vae_tf.missing import apply_mask, make_mask


def _draws(k, seed=0, b=4, d=6, l=2):
    rng = np.random.default_rng(seed)
    x = tf.constant((rng.uniform(size=(b, d)) > 0.5).astype(np.float32))
    z_mean = tf.constant(rng.normal(size=(b, l)), tf.float32)
    z_log_var = tf.constant(rng.normal(size=(b, l)) * 0.1, tf.float32)
    z = z_mean + tf.exp(0.5 * z_log_var) * tf.constant(rng.normal(size=(k, b, l)), tf.float32)
    logits = tf.einsum("kbl,ld->kbd", z, tf.constant(rng.normal(size=(l, d)), tf.float32))
    return x, z, z_mean, z_log_var, logits


def test_k1_on_fully_observed_data_is_the_plain_elbo():
    x, z, z_mean, z_log_var, logits = _draws(1)
    bound = losses.masked_bound(x, tf.ones_like(x), logits, z, z_mean, z_log_var)["bound"]
    plain = losses.elbo_terms(x, logits[0], z_mean, z_log_var)["loss"]
    np.testing.assert_allclose(bound.numpy(), -plain.numpy(), rtol=1e-6)


def test_masked_entries_do_not_count():
    x, z, z_mean, z_log_var, logits = _draws(1)
    mask = tf.constant([[1, 1, 1, 0, 0, 0]] * 4, tf.float32)
    a = losses.masked_bound(x, mask, logits, z, z_mean, z_log_var)["bound"]
    flipped = x * mask + (1.0 - x) * (1 - mask)  # every hole flipped, observed kept
    b = losses.masked_bound(flipped, mask, logits, z, z_mean, z_log_var)["bound"]
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)  # holes changed, bound not
    # A hand-computable case: logits 0 give log 0.5 per observed entry.
    zeros = tf.zeros_like(logits)
    c = losses.masked_bound(x, mask, zeros, z, z_mean, z_log_var)["bound"]
    np.testing.assert_allclose(c.numpy(), 3 * math.log(0.5)
                               - losses.gaussian_kl(z_mean, z_log_var).numpy(), rtol=1e-5)


def test_iwae_bound_is_at_least_the_elbo_on_average():
    x, z, z_mean, z_log_var, logits = _draws(2000, seed=1)
    mask = tf.ones_like(x)
    log_w = losses.masked_bound(x, mask, logits, z, z_mean, z_log_var)["log_weights"]
    elbo = tf.reduce_mean(log_w, 0)  # sampled ELBO over 2,000 draws
    k50 = tf.reduce_mean(tf.stack([losses.iwae_bound(g) for g in tf.split(log_w, 40)]), 0)
    assert np.all(k50.numpy() >= elbo.numpy())


@pytest.fixture(scope="module")
def fitted(tiny_data):
    mask = make_mask(len(tiny_data.train), tiny_data.image_shape, "structured", 0)
    holed = apply_mask(tiny_data.train, mask)
    imputer = MIWAEImputer(latent_dim=4, hidden_dim=64, epochs=40, batch_size=50,
                           learning_rate=3e-3, impute_samples=100, seed=0).fit(holed)
    return imputer, holed, mask


def test_importance_weights_sum_to_one(fitted, tiny_data):
    imputer, holed, mask = fitted
    w, means = imputer._weights_and_means(np.nan_to_num(holed[:7]), mask[:7])
    assert w.shape == (100, 7) and means.shape == (100, 7, 64)
    np.testing.assert_allclose(w.sum(0), 1.0, rtol=1e-5)


def test_imputations_keep_observed_entries_and_beat_column_means(fitted, tiny_data):
    imputer, holed, mask = fitted
    assert imputer.history_[-1]["train/loss"] < imputer.history_[0]["train/loss"]
    means = np.where(mask, holed, np.nanmean(holed, 0))
    for method in ("pseudo_gibbs", "importance"):
        out = imputer.set_params(method=method).transform(holed)
        assert np.array_equal(out[mask], holed[mask]) and not np.isnan(out).any()
    assert rmse(tiny_data.train, out, ~mask) < rmse(tiny_data.train, means, ~mask)


def test_an_unknown_method_set_after_fit_is_refused(fitted):
    imputer, holed, _ = fitted
    clone = MIWAEImputer(**imputer.get_params())
    clone.__dict__.update({k: v for k, v in imputer.__dict__.items() if k.endswith("_")})
    with pytest.raises(UserError, match="MIWAEImputer\\(method='gibbs'\\): unknown method"):
        clone.set_params(method="gibbs").transform(holed[:3])


def test_multiple_imputations_differ_and_average_to_the_single_one(fitted):
    imputer, holed, mask = fitted
    draws = imputer.multiple_imputation(holed[:40], m=200, seed=1)
    assert draws.shape == (200, 40, 64)
    assert np.all(draws[:, mask[:40]] == holed[:40][mask[:40]])
    spread = draws.std(0)[~mask[:40]]
    assert spread.mean() > 1e-3  # the draws differ
    single = imputer.transform(holed[:40])
    few, many = draws[:5].mean(0), draws.mean(0)
    err_few = np.abs(few - single)[~mask[:40]].mean()
    err_many = np.abs(many - single)[~mask[:40]].mean()
    assert err_many < err_few and err_many < 0.05


def test_posterior_is_the_encoders_q_z_on_the_imputers_view(fitted):
    imputer, holed, mask = fitted
    z_mean, z_log_var = imputer.posterior(holed[:7])
    x0, m = imputer._encoded(holed[:7], mask[:7])  # 0 in the holes, and the mask
    expected = imputer.model_.encode(tf.constant(x0), tf.constant(m))
    assert z_mean.shape == z_log_var.shape == (7, 4)
    np.testing.assert_allclose(z_mean, expected[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(z_log_var, expected[1].numpy(), rtol=1e-5, atol=1e-6)


def test_posterior_of_a_table_reads_its_encoded_columns_without_the_empty_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)) * [1.0, 10.0, 100.0, 1.0]
    x[rng.random(x.shape) < 0.2] = np.nan
    x[:, 3] = np.nan  # empty in fit: dropped (keep_empty_features=False)
    imputer = MIWAEImputer(latent_dim=2, hidden_dim=16, epochs=2, batch_size=20,
                           impute_samples=5, seed=0).fit(x)
    z_mean, z_log_var = imputer.posterior(x)
    assert z_mean.shape == z_log_var.shape == (60, 2)
    assert np.isfinite(z_mean).all() and np.isfinite(z_log_var).all()


def test_bad_use():
    with pytest.raises(UserError, match="not fitted"):
        MIWAEImputer().transform(np.zeros((2, 3)))
    with pytest.raises(UserError, match="batch_size must be an integer from 1 to 2"):
        MIWAEImputer(batch_size=5).fit(np.zeros((2, 3)))
    for bad, message in ((dict(batch_size="all"), "MIWAEImputer\\(batch_size='all'\\)"),
                         (dict(latent_dim=0), "latent_dim must be an integer from 1"),
                         (dict(learning_rate=-1e-3), "learning_rate must be a finite number"),
                         (dict(method="mean"), "unknown method; choose one of: importance")):
        with pytest.raises(UserError, match=message) as error:
            MIWAEImputer(**{"batch_size": 2, **bad}).fit(np.zeros((4, 3)))
        assert "\n" not in str(error.value)


@pytest.mark.slow
def test_launcher_miwae_and_its_one_line_refusal_on_ratings(tmp_path):
    logdir = str(tmp_path / "run")
    # The MLP for time (imputing mnist_5k's test images with conv takes minutes here); the
    # default conv path of the launcher: test_launcher_path_gives_the_dataset_image_...
    result = launch("--mode=impute", "--imputer=miwae", "--arch=mlp", "--epochs=2",
                    "--impute_samples=20", f"--logdir={logdir}")
    assert result.returncode == 0, result.stderr[-2000:]
    with open(os.path.join(logdir, "metrics.json")) as f:  # --impute_samples reached it
        assert "impute_samples=20," in json.load(f)["imputer_settings"]
    import fixtures
    fixtures.write_movielens(tmp_path / "data")
    bad = launch("--mode=impute", "--imputer=miwae", "--dataset=movielens_100k",
                 f"--data_dir={tmp_path}/data", f"--logdir={tmp_path}/bad")
    assert bad.returncode == 2
    assert "--imputer=miwae models images" in bad.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "bad").exists()


def test_imputation_chunks_bound_the_draws_in_memory(monkeypatch):
    """L x rows x D stays under CHUNK_ENTRIES: 100 draws of 12 features, 2,400 entries -> 2 rows."""
    from vae_tf.imputers import importance
    from vae_tf.imputers import miwae_inference as miwae_module
    rng = np.random.default_rng(0)
    x = (rng.uniform(size=(9, 12)) > 0.5).astype(np.float32)
    holed = np.where(rng.uniform(size=x.shape) < 0.3, np.nan, x).astype(np.float32)
    holed[4] = x[4]  # a complete row: transform skips it
    imputer = MIWAEImputer(latent_dim=2, hidden_dim=8, epochs=1, batch_size=9,
                           impute_samples=100).fit(holed)
    seen, calls = [], []
    original = MIWAEImputer._weights_and_means

    def spy(self, x_rows, *args, **kwargs):
        seen.append(len(x_rows))
        return original(self, x_rows, *args, **kwargs)

    monkeypatch.setattr(miwae_module, "CHUNK_ENTRIES", 2400)
    monkeypatch.setattr(MIWAEImputer, "_weights_and_means", spy)
    step = imputer._importance_step()
    compiled = step.function
    step.function = lambda x0, m: calls.append(len(x0)) or compiled(x0, m)
    # Compiled calls of DRAWS_PER_CALL // L rows, at most the memory bound, at least 1.
    for draws, rows in ((1000, [2, 2, 2, 2]), (100, [1] * 8)):  # 8 rows with holes
        monkeypatch.setattr(importance, "DRAWS_PER_CALL", draws)
        calls.clear()
        out = imputer.transform(holed)
        assert calls == rows and seen == []
    observed = ~np.isnan(holed)
    np.testing.assert_array_equal(out[observed], holed[observed])
    assert np.all((out >= 0) & (out <= 1))
    assert imputer.multiple_imputation(holed, m=2).shape == (2, 9, 12) and seen == [2, 2, 2, 2, 1]
    seen.clear()  # an image_shape set after the fit ("auto" would now mean conv) changes
    imputer.set_params(image_shape=(3, 4))  # neither the model nor its chunks
    imputer.effective_sample_size(holed)
    assert seen == [2, 2, 2, 2, 1]


def _quick_fit(tiny_data, arch, samples=50):
    truth, holed, mask = _holed(tiny_data)
    shape = dict(arch="conv", image_shape=(8, 8)) if arch == "conv" else {}
    imputer = MIWAEImputer(latent_dim=4, hidden_dim=16, epochs=2, batch_size=50,
                           impute_samples=samples, seed=0, **shape).fit(holed)
    return imputer, truth, holed, mask


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_the_compiled_imputation_equals_the_eager_reference(tiny_data, arch):
    from vae_tf.imputers.importance import eager_transform
    imputer, _, holed, mask = _quick_fit(tiny_data, arch)
    some = ~mask.all(axis=1)  # rows with holes only: the compiled path skips the others
    x, m = holed[some][:40], mask[some][:40]
    assert imputer._chunk(64) >= 40  # the reference takes the 40 rows in one chunk

    def fresh(seed):  # the draw stream of a just-fitted imputer with this seed
        imputer._after_fit(imputer.model_)
        imputer._draw_rng = tf.random.Generator.from_seed(seed)

    fresh(1)
    eager = eager_transform(imputer, x, m)
    fresh(1)
    compiled = imputer._importance_step().impute(x, m, rows=40)  # the same draws, one call
    np.testing.assert_array_equal(compiled[m], x[m])
    np.testing.assert_allclose(compiled, eager, atol=2e-6)
    fresh(2)  # other draws move the imputation far more than the tolerance above
    other = imputer._importance_step().impute(x, m, rows=40)
    assert np.abs(other - eager)[~m].max() > 1e-3


def test_rows_without_holes_are_returned_as_they_are_and_take_no_draws(tiny_data):
    imputer, truth, holed, mask = _quick_fit(tiny_data, "mlp")
    complete = mask.all(axis=1)
    assert 0 < complete.sum() < len(holed)
    imputer._after_fit(imputer.model_)
    out = imputer.transform(holed)
    np.testing.assert_array_equal(out[complete], truth[complete])
    imputer._after_fit(imputer.model_)
    alone = imputer.transform(holed[~complete])  # the same draws without the complete rows
    np.testing.assert_allclose(out[~complete], alone, atol=1e-6)


def test_the_compiled_step_is_traced_once_per_model_and_sample_count(tiny_data):
    imputer, _, holed, _ = _quick_fit(tiny_data, "conv", samples=20)
    for n in (7, 50, 3, 200):  # calls of 7, 50, 3, then 51 rows (1024 // 20) and a rest
        imputer.transform(holed[:n])
    step = imputer._importance_step()
    assert step.traces() == 1
    imputer.set_params(impute_samples=30).transform(holed[:5])
    assert imputer._importance_step() is not step and step.traces() == 1
    assert imputer._importance_step().traces() == 1
    imputer.set_params(impute_samples=20).fit(holed)  # a new model: a new step
    assert imputer._importance_step() is not step
    with pytest.raises(UserError, match=r"MIWAEImputer\(impute_samples=0\): impute_samples "
                       "must be an integer from 1") as error:
        imputer.set_params(impute_samples=0).transform(holed[:3])
    assert "\n" not in str(error.value)


def test_masked_log_weights_are_the_bound_s_when_holes_hold_zeros():
    x, z, z_mean, z_log_var, logits = _draws(7, seed=2)
    mask = tf.constant((np.random.default_rng(3).uniform(size=x.shape) < 0.6), tf.float32)
    x0 = x * mask
    reference = losses.masked_bound(x0, mask, logits, z, z_mean, z_log_var)["log_weights"]
    fast = losses.masked_log_weights(x0, mask, logits, z, z_mean, z_log_var)
    assert fast.shape == (7, 4)
    np.testing.assert_allclose(fast.numpy(), reference.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.slow  # over 10 s here: several fits and their tracing
def test_warm_start_continues_from_the_previous_fit(fitted, tiny_data):
    _, holed, _ = fitted
    settings = dict(latent_dim=4, hidden_dim=64, batch_size=50, learning_rate=3e-3,
                    impute_samples=100, seed=0)
    cold = MIWAEImputer(**settings, epochs=1).fit(holed)
    warm = MIWAEImputer(**settings, epochs=20, warm_start=True).fit(holed)
    trained_20 = warm.history_[-1]["train/loss"]
    first = warm.model_
    before = [v.numpy() for v in first.trainable_variables]
    warm.set_params(epochs=1).fit(holed)  # one more epoch, from the 20-epoch weights
    assert warm.history_[0]["train/loss"] < cold.history_[0]["train/loss"] - 5
    assert abs(warm.history_[0]["train/loss"] - trained_20) < 0.2 * abs(trained_20)
    # The previous model is copied, not trained in place.
    assert warm.model_ is not first
    for v, old in zip(first.trainable_variables, before):
        np.testing.assert_array_equal(v.numpy(), old)


@pytest.mark.slow  # over 10 s here: several fits and their tracing
def test_a_checkpoint_wins_over_warm_start(tmp_path, tiny_data):
    # Refitting with warm_start and a logdir resumes the checkpoint: 1 epoch then "2 epochs"
    # is 2 epochs in all (not 1 + 2), the same weights as one uninterrupted 2-epoch fit.
    _, holed, _ = _holed(tiny_data)
    settings = dict(latent_dim=4, hidden_dim=32, batch_size=50, impute_samples=10, seed=3)
    steps = MIWAEImputer(**settings, epochs=1, warm_start=True, logdir=str(tmp_path / "a"))
    steps.fit(holed).set_params(epochs=2).fit(holed)
    straight = MIWAEImputer(**settings, epochs=2, logdir=str(tmp_path / "b")).fit(holed)
    assert len(steps.history_) == 2
    for a, b in zip(steps.model_.trainable_variables, straight.model_.trainable_variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def _holed(data):
    mask = make_mask(len(data.train), data.image_shape, "structured", 0)
    return data.train, apply_mask(data.train, mask), mask


def test_warm_start_refuses_data_of_another_width(fitted):
    imputer, holed, _ = fitted
    warm = MIWAEImputer(**{**imputer.get_params(), "epochs": 1, "warm_start": True}).fit(holed)
    with pytest.raises(UserError, match=r"MIWAEImputer\(warm_start=True\): the previous fit's "
                       r"model does not fit this one \(data of 32 columns") as error:
        warm.fit(holed[:, :32])
    assert "\n" not in str(error.value)
    with pytest.raises(UserError, match="warm_start"):
        MIWAEImputer(batch_size=2, warm_start="yes").fit(np.zeros((4, 3)))


@pytest.mark.slow  # over 10 s here: several fits and their tracing
def test_warm_start_from_begins_a_new_imputer_at_a_pretrained_ones_weights(fitted):
    pretrained, holed, _ = fitted  # 40 epochs
    before = [v.numpy() for v in pretrained.model_.trainable_variables]
    settings = {**pretrained.get_params(), "epochs": 1}
    cold = MIWAEImputer(**settings).fit(holed)
    warm = MIWAEImputer(**settings)
    assert warm.warm_start_from(pretrained) is warm and warm.warm_start is True
    warm.fit(holed)
    assert warm.history_[0]["train/loss"] < cold.history_[0]["train/loss"] - 5
    assert warm.model_ is not pretrained.model_
    for v, old in zip(pretrained.model_.trainable_variables, before):
        np.testing.assert_array_equal(v.numpy(), old)  # the pretrained one is left as it was


def test_warm_start_from_wants_a_fitted_imputer_of_its_own_class(fitted):
    from vae_tf.imputers.vae import VAEImputer
    for given, what in ((MIWAEImputer(), "an unfitted MIWAEImputer"),
                        (VAEImputer(), "an object of type VAEImputer")):
        with pytest.raises(UserError, match=re.escape(
                f"MIWAEImputer.warm_start_from() got {what}; pass a fitted MIWAEImputer, "
                "e.g. MIWAEImputer(...).fit(X_pretrain)")) as error:
            MIWAEImputer().warm_start_from(given)
        assert "\n" not in str(error.value)
    with pytest.raises(UserError, match="^VAEImputer has no warm_start setting"):
        VAEImputer().warm_start_from(fitted[0])


def test_conv_encoder_sees_each_pixel_beside_its_mask():
    # arch="conv": the holed image and its mask reach the encoder as channels of one image.
    seen = []
    stub = lambda flat: seen.append(flat) or (flat[:, :1], flat[:, :1])  # noqa: E731
    rng = np.random.default_rng(0)
    for c in (1, 3):
        x0 = rng.uniform(size=(2, 4 * 5 * c)).astype(np.float32)
        mask = (rng.uniform(size=x0.shape) < 0.5).astype(np.float32)
        MaskedBound(stub, None, None, 1, channels=c).encode(tf.constant(x0), tf.constant(mask))
        image = seen[-1].numpy().reshape(2, 4, 5, 2 * c)
        np.testing.assert_array_equal(image[..., :c], x0.reshape(2, 4, 5, c))
        np.testing.assert_array_equal(image[..., c:], mask.reshape(2, 4, 5, c))


def _jit_spy(monkeypatch):
    """The jit_compile of every Engine the trained imputers build from now on, in order."""
    from vae_tf.imputers import training
    compiled = []

    class Spy(training.Engine):
        def __init__(self, *args, **kwargs):
            compiled.append(kwargs["jit_compile"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(training, "Engine", Spy)
    return compiled


def test_conv_miwae_trains_and_imputes(tiny_data, monkeypatch):
    compiled = _jit_spy(monkeypatch)
    truth, holed, mask = _holed(tiny_data)
    imputer = MIWAEImputer(arch="conv", image_shape=(8, 8), latent_dim=4, hidden_dim=64,
                           epochs=30, batch_size=50, learning_rate=3e-3, impute_samples=100,
                           seed=0, jit_compile=True).fit(holed)
    assert compiled == [False]  # XLA's CPU convolutions: never for conv
    assert imputer.history_[-1]["train/loss"] < imputer.history_[0]["train/loss"]
    means = np.where(mask, holed, np.nanmean(holed, 0))
    for method in ("pseudo_gibbs", "importance"):
        out = imputer.set_params(method=method).transform(holed)
        assert np.array_equal(out[mask], holed[mask]) and not np.isnan(out).any()
    assert rmse(truth, out, ~mask) < 0.8 * rmse(truth, means, ~mask)  # importance (0.68 here)
    assert imputer.multiple_imputation(holed[:5], m=3).shape == (3, 5, 64)


@pytest.mark.parametrize("shape", [None, (8, 9), (8, 8, 0), "8x8", (64,)])
def test_conv_miwae_refuses_an_image_shape_that_does_not_fit_the_data(shape):
    with pytest.raises(UserError, match=r"MIWAEImputer\(arch='conv'\) got image_shape=.* for "
                       r"data of 64 columns; pass \(height, width\)") as error:
        MIWAEImputer(arch="conv", image_shape=shape, batch_size=2).fit(np.zeros((4, 64)))
    assert "\n" not in str(error.value)
    with pytest.raises(UserError, match="unknown arch; choose one of: auto, mlp, conv"):
        MIWAEImputer(arch="cnn", batch_size=2).fit(np.zeros((4, 64)))


def test_conv_fits_resume_across_spellings_and_warm_starts_check_the_image(tmp_path, tiny_data):
    _, holed, _ = _holed(tiny_data)
    settings = dict(arch="conv", latent_dim=4, hidden_dim=16, batch_size=50, impute_samples=10)
    logdir = str(tmp_path / "run")
    MIWAEImputer(**settings, image_shape=(8, 8), epochs=1, logdir=logdir).fit(holed)
    # (8, 8, 1) is the same model: the run folder resumes (1 epoch done, 1 more) instead of
    # refusing a fit "of other settings".
    resumed = MIWAEImputer(**settings, image_shape=(8, 8, 1), epochs=2, logdir=logdir)
    assert [h["epoch"] for h in resumed.fit(holed).history_] == [1, 2]
    # Same width and weight shapes, another image: a warm start refuses to copy the weights.
    warm = MIWAEImputer(**settings, image_shape=(8, 8), epochs=1, warm_start=True).fit(holed)
    for other, named in (({"image_shape": (4, 16)}, "arch='conv', image_shape=(4, 16, 1)"),
                         ({"arch": "mlp"}, "arch='mlp'")):
        with pytest.raises(UserError, match=re.escape(
                "MIWAEImputer(warm_start=True): the previous fit's model (arch='conv', "
                f"image_shape=(8, 8, 1)) is not this one ({named}); fit with the previous "
                "settings, or set warm_start=False")) as error:
            warm.set_params(**other).fit(holed)
        assert "\n" not in str(error.value)
        warm.set_params(arch="conv", image_shape=(8, 8))


def test_auto_arch_is_conv_on_images_and_the_mlp_on_tables(tmp_path, tiny_data):
    from vae_tf.imputers.miwae import DEFAULT_EPOCHS
    table, images = MIWAEImputer(), MIWAEImputer(image_shape=(28, 28))
    assert (table._arch(), table._epochs()) == ("mlp", DEFAULT_EPOCHS["mlp"])
    assert (images._arch(), images._epochs()) == ("conv", DEFAULT_EPOCHS["conv"])
    assert MIWAEImputer(arch="mlp", image_shape=(28, 28))._arch() == "mlp"
    assert MIWAEImputer(image_shape=(28, 28), epochs=7)._epochs() == 7
    # "auto" on an image is the same fit as arch="conv": its run folder resumes.
    _, holed, _ = _holed(tiny_data)
    settings = dict(latent_dim=4, hidden_dim=16, batch_size=50, impute_samples=10,
                    image_shape=(8, 8))
    logdir = str(tmp_path / "run")
    MIWAEImputer(**settings, arch="conv", epochs=1, logdir=logdir).fit(holed)
    resumed = MIWAEImputer(**settings, epochs=2, logdir=logdir).fit(holed)
    assert [h["epoch"] for h in resumed.history_] == [1, 2]


def test_launcher_path_gives_the_dataset_image_to_a_conv_miwae(tmp_path, tiny_data):
    from vae_tf.config import make_config
    from vae_tf.impute_run import run_impute
    config = make_config(mode="impute", imputer="miwae", epochs=2, batch_size=50,
                         latent_dim=4, hidden_dim=16, logdir=str(tmp_path / "run"))
    metrics = run_impute(config, data=tiny_data)  # no --arch: the convolutions on images
    assert "arch='conv'" in metrics["imputer_settings"]
    assert "epochs=2" in metrics["imputer_settings"]
    assert "image_shape=(8, 8, 1)" in metrics["imputer_settings"]
    assert 0 < metrics["rmse_missing"] < 0.5


@pytest.mark.slow  # over 10 s here: several fits and their tracing
def test_xla_compiles_the_mlp_on_images_but_not_a_table(tiny_data, monkeypatch):
    """A table's 1,000-step fit is faster without XLA (benchmarks/results/xla_mappings.md),
    whose code TensorFlow never frees; the MLP on [0, 1] images keeps it."""
    compiled = _jit_spy(monkeypatch)
    _, holed, _ = _holed(tiny_data)
    small = dict(latent_dim=2, hidden_dim=8, epochs=1, batch_size=50, impute_samples=5)
    MIWAEImputer(arch="mlp", **small).fit(holed)  # [0, 1] images: Bernoulli, XLA
    table = np.where(np.isnan(holed), np.nan, 10 * holed - 3)  # values outside [0, 1]
    MIWAEImputer(**small).fit(table)  # "auto" on column models: no XLA
    MIWAEImputer(jit_compile=True, **small).fit(table)  # asked for
    MIWAEImputer(arch="mlp", jit_compile=False, **small).fit(holed)
    assert compiled == [True, False, True, False]


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_bfloat16_imputation_decodes_the_same_draws_to_three_digits(tiny_data, arch):
    from vae_tf.models import low_precision_copy
    imputer, truth, holed, mask = _quick_fit(tiny_data, arch)
    decoder = imputer.model_.decoder
    z = tf.random.stateless_normal((64, 4), seed=(0, 1))
    half = low_precision_copy(decoder, 4)(z)
    assert half.dtype == tf.float32
    full = decoder(z).numpy()
    assert 0 < np.abs(half.numpy() - full).max() < 0.02 * max(1.0, np.abs(full).max())
    np.testing.assert_array_equal(decoder(z).numpy(), full)  # the trained decoder untouched

    def fresh():  # a just-fitted imputer's draw stream
        imputer._after_fit(imputer.model_)

    fresh()
    single = imputer.transform(holed)
    fresh()
    bf16 = imputer.set_params(impute_dtype="bfloat16").transform(holed)
    np.testing.assert_array_equal(bf16[mask], holed[mask])  # observed entries as they were
    assert 0 < np.abs(bf16 - single)[~mask].max() < 0.02  # the same draws, decoded in bfloat16
    assert abs(rmse(truth, bf16, ~mask) - rmse(truth, single, ~mask)) < 1e-3
    step = imputer._importance_step()
    imputer.set_params(impute_dtype="float32").transform(holed[:3])
    assert set(imputer._steps) == {(50, "bfloat16"), (50, "float32")}  # one per (L, dtype)
    assert imputer.set_params(impute_dtype="bfloat16")._importance_step() is step  # kept
    m = imputer.multiple_imputation(holed[:6], m=3)
    assert m.shape == (3, 6, holed.shape[1]) and np.array_equal(m[:, mask[:6]][0],
                                                                holed[:6][mask[:6]])


def test_impute_dtype_is_not_a_fit_setting_and_is_checked(tmp_path, tiny_data):
    _, holed, _ = _holed(tiny_data)
    settings = dict(latent_dim=4, hidden_dim=16, batch_size=50, impute_samples=10)
    logdir = str(tmp_path / "run")
    MIWAEImputer(**settings, epochs=1, logdir=logdir).fit(holed)
    # The decoder's arithmetic at imputation does not change the fit: the folder resumes.
    resumed = MIWAEImputer(**settings, epochs=2, logdir=logdir, impute_dtype="bfloat16")
    assert [h["epoch"] for h in resumed.fit(holed).history_] == [1, 2]
    with pytest.raises(UserError, match=re.escape("MIWAEImputer(impute_dtype='float16'): "
                                                  "unknown impute_dtype")) as error:
        resumed.set_params(impute_dtype="float16").transform(holed[:3])
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_fitted_imputer_pickles_after_imputing(tiny_data, dtype):
    import pickle
    imputer, _, holed, _ = _quick_fit(tiny_data, "mlp")
    imputer.set_params(impute_dtype=dtype).transform(holed[:5])  # its step and copy cached
    copy = pickle.loads(pickle.dumps(imputer))  # the caches are left behind, then rebuilt
    np.testing.assert_allclose(copy.transform(holed[:20]), imputer.transform(holed[:20]),
                               atol=1e-6)  # the same model and draw stream
