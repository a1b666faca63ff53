"""The thesis's VAE imputation algorithm as an estimator."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator as ea

import vae_tf
from vae_tf.errors import TrainingDiverged, UserError
from vae_tf.metrics import rmse
from vae_tf.missing import apply_mask, fill, make_mask
from vae_tf import losses
from vae_tf.imputers.vae import VAEImputer
from vae_tf.models import VAE, encode_decode

EPOCHS = 60
# Small and fast; lr 1e-2 and 60 epochs give RMSE ratios (VAE / column means) of
# 0.71-0.77 over seeds 0-2 on the structured holes below, so the 0.85 bound is robust.
SETTINGS = dict(latent_dim=4, hidden_dim=64, epochs=EPOCHS, batch_size=50, learning_rate=1e-2,
                init_stddev=None, seed=0)


def _imputer(**kw):
    return VAEImputer(**{**SETTINGS, **kw})


def _holed(data, seed):
    mask = make_mask(len(data), (8, 8, 1), "structured", seed=seed)
    return apply_mask(data, mask), mask


def _bits(a):
    return np.asarray(a, np.float32).view(np.uint32)


def _column_means(holed, mask, reference):
    return np.where(mask, holed, np.nanmean(reference, axis=0))


@pytest.fixture(scope="module")
def fitted(tiny_data, tmp_path_factory):
    """One fit_transform of the tiny blobs with half of each of 4/5 of the images missing."""
    holed, mask = _holed(tiny_data.train, seed=0)
    original = holed.copy()
    logdir = str(tmp_path_factory.mktemp("impute"))
    imputer = _imputer(logdir=logdir)
    filled = imputer.fit_transform(holed)
    np.testing.assert_array_equal(_bits(holed), _bits(original))  # the input is untouched
    return imputer, holed, mask, filled, logdir


def test_fit_transform_keeps_observed_entries_and_beats_column_means(fitted, tiny_data):
    imputer, holed, mask, filled, _ = fitted
    assert filled.shape == holed.shape and filled.dtype == np.float32
    np.testing.assert_array_equal(_bits(filled[mask]), _bits(holed[mask]))
    assert np.all(np.isfinite(filled)) and np.all((0 <= filled) & (filled <= 1))
    ours = rmse(tiny_data.train, filled, ~mask)
    baseline = rmse(tiny_data.train, _column_means(holed, mask, holed), ~mask)
    assert ours < 0.85 * baseline, (ours, baseline)


def test_history_decreases_and_tensorboard_has_the_epoch_scalars(fitted):
    imputer, *_, logdir = fitted
    loss = [h["train/loss"] for h in imputer.history_]
    assert [h["epoch"] for h in imputer.history_] == list(range(1, EPOCHS + 1))
    assert loss[-1] < 0.8 * loss[0]
    acc = ea.EventAccumulator(logdir, size_guidance={ea.TENSORS: 0})
    acc.Reload()
    for name in ("loss", "reconstruction", "kl"):
        events = acc.Tensors(f"train/{name}")
        assert [e.step for e in events] == list(range(1, EPOCHS + 1))
        logged = [float(tf.make_ndarray(e.tensor_proto)) for e in events]
        np.testing.assert_allclose(logged, [h[f"train/{name}"] for h in imputer.history_],
                                   rtol=1e-6)


def test_transform_imputes_new_data_without_training(fitted, tiny_data):
    imputer, holed, *_ = fitted
    test_holed, test_mask = _holed(tiny_data.test, seed=1)
    weights = [w.numpy().copy() for w in imputer.vae_.weights]
    out = imputer.transform(test_holed)
    assert all(np.array_equal(w, v.numpy()) for w, v in zip(weights, imputer.vae_.weights))
    np.testing.assert_array_equal(_bits(out[test_mask]), _bits(test_holed[test_mask]))
    assert np.all(np.isfinite(out)) and np.all((0 <= out) & (out <= 1))
    assert 1 < imputer.n_iter_ < imputer.transform_iters  # stopped by the tolerance
    baseline = _column_means(test_holed, test_mask, holed)
    assert rmse(tiny_data.test, out, ~test_mask) < 0.85 * rmse(tiny_data.test, baseline, ~test_mask)
    imputer.transform_iters = 1
    try:
        imputer.transform(test_holed)
        assert imputer.n_iter_ == 1
    finally:
        imputer.transform_iters = 100
    complete = imputer.transform(tiny_data.test)  # nothing to impute: returned as given
    assert imputer.n_iter_ == 0 and np.array_equal(complete, tiny_data.test)


def test_all_missing_rows_are_imputed_from_the_model(fitted, tiny_data):
    imputer, holed, *_ = fitted
    out = imputer.transform(np.full((2, 64), np.nan))
    assert np.all(np.isfinite(out)) and np.all((0 <= out) & (out <= 1))
    np.testing.assert_array_equal(out[0], out[1])  # deterministic
    # A typical blob, much closer to real images than the marker fill.
    marker = np.full_like(tiny_data.test, 0.5)
    assert rmse(tiny_data.test, np.broadcast_to(out[0], tiny_data.test.shape)) < \
        0.7 * rmse(tiny_data.test, marker)
    with_gap = holed[:20].copy()
    with_gap[3] = np.nan
    filled = _imputer(epochs=2, batch_size=10).fit_transform(with_gap)
    assert np.all(np.isfinite(filled[3])) and not np.allclose(filled[3], 0.5)


def test_the_loop_is_the_thesis_algorithm(tiny_data):
    """Batches in order, one step each, the step's reconstructions fill the holes.

    Batches of 40 divide the 120 rows: a smaller last batch is padded inside the engine
    (one compiled shape), which draws noise for the padding rows too and so shifts the
    later draws. Without XLA: XLA draws other random numbers from the same generator state (its Philox
    differs from TensorFlow's kernel), so only the un-compiled steps match draw for draw.
    """
    holed, mask = _holed(tiny_data.train[:120], seed=0)
    ours = _imputer(epochs=2, batch_size=40, jit_compile=False).fit_transform(holed)
    keras.utils.set_random_seed(0)
    vae = VAE(64, 4, 64, None, 0)
    optimizer = keras.optimizers.Adam(1e-2, epsilon=1e-8)  # TF 1 AdamOptimizer's
    rng = tf.random.Generator.from_seed(0)

    @tf.function
    def step(batch):  # one Adam step of the mean -ELBO; the same pass's sigmoid(logits)
        with tf.GradientTape() as tape:
            logits, z_mean, z_log_var = encode_decode(vae, batch, rng)
            loss = tf.reduce_mean(losses.elbo_terms(batch, logits, z_mean, z_log_var)["loss"])
        grads = tape.gradient(loss, vae.trainable_variables)
        optimizer.apply_gradients(zip(grads, vae.trainable_variables))
        return tf.sigmoid(logits)

    x = fill(holed)
    for _ in range(2):
        for start in (0, 40, 80):  # in order
            rows = slice(start, start + 40)
            recon = step(tf.constant(x[rows])).numpy()
            x[rows] = np.where(mask[rows], holed[rows], recon)
    np.testing.assert_allclose(ours, x, atol=2e-5)
    assert np.array_equal(ours[mask], holed[mask])


@pytest.mark.slow  # over 10 s here: several fits and their tracing
def test_same_seed_same_output_and_verbose_prints_epochs(tiny_data, capsys):
    holed, _ = _holed(tiny_data.train, seed=0)
    a = _imputer(epochs=3).fit_transform(holed)
    b = _imputer(epochs=3, verbose=2).fit_transform(holed)
    np.testing.assert_array_equal(a, b)
    lines = [line for line in capsys.readouterr().out.splitlines() if "train: loss" in line]
    assert [line.split()[:2] for line in lines] == [["epoch", f"{e}/3"] for e in (1, 2, 3)]
    assert not np.array_equal(a, _imputer(epochs=3, seed=1).fit_transform(holed))


def test_thesis_defaults_whole_data_as_one_batch(tiny_data):
    holed, _ = _holed(tiny_data.train, seed=0)
    imputer = VAEImputer(epochs=2)  # thesis: latent 64, hidden 400, lr 0.01, init 0.001
    filled = imputer.fit_transform(holed)
    assert (imputer.vae_.latent_dim, imputer.vae_.hidden_dim) == (64, 400)
    assert len(imputer.history_) == 2 and not np.isnan(filled).any()


@pytest.mark.parametrize("data, kw, message", [
    (np.zeros((0, 4)), {}, "X has 0 sample\\(s\\) .* pass a non-empty 2-D array"),
    (np.zeros(4), {}, "must be a 2-D array .* got shape \\(4,\\); Reshape your data"),
    ([["a", "b"]], {}, "must be a numeric 2-D array"),
    (np.array([[0.5, np.inf]]), {}, "holds infinite values; mark missing entries with NaN"),
    (np.array([[0.5, 3.0]]), {}, "values in \\[0.5, 3.0\\].* models data in \\[0, 1\\]"),
    (np.array([[0.5, -0.1]]), {}, "models data in \\[0, 1\\]: scale them to \\[0, 1\\] first, "
                                  "or use MIWAEImputer"),
    (np.full((3, 2), 0.5), {"batch_size": 4}, "batch_size=4\\): batch_size must be an integer "
                                               "from 1 to 3; pass e.g. batch_size=3"),
    (np.full((3, 2), 0.5), {"batch_size": 0}, "batch_size=0\\): batch_size must be an integer"),
    (np.full((3, 2), 0.5), {"epochs": 0}, "epochs=0\\): epochs must be an integer from 1"),
    (np.full((3, 2), 0.5), {"latent_dim": 2.5}, "latent_dim=2.5\\): latent_dim must be an int"),
    (np.full((3, 2), 0.5), {"learning_rate": -0.001}, "learning_rate=-0.001\\): learning_rate "
                                                       "must be a finite number in \\(0, inf\\)"),
    (np.full((3, 2), 0.5), {"learning_rate": float("inf")}, "learning_rate=inf"),
    (np.full((3, 2), 0.5), {"init_stddev": -1.0}, "init_stddev=-1.0\\): init_stddev must be"),
    (np.full((3, 2), 0.5), {"seed": -5}, "seed=-5\\): seed must be an integer from 0 to "),
    (np.full((3, 2), 0.5), {"strategy": "gpu"}, "strategy='gpu'\\): unknown strategy"),
])
def test_bad_input_is_one_clear_line(data, kw, message):
    with pytest.raises(UserError, match=message) as error:
        _imputer(**{"epochs": 1, "batch_size": None, **kw}).fit_transform(data)
    assert "\n" not in str(error.value)


def test_transform_misuse(fitted):
    imputer, holed, *_ = fitted
    with pytest.raises(UserError, match="not fitted; call fit\\(X\\) first"):
        _imputer().transform(holed)
    with pytest.raises(UserError, match="X has 10 features, but VAEImputer is expecting 64"):
        imputer.transform(holed[:, :10])
    with pytest.raises(UserError, match="models data in \\[0, 1\\]"):
        imputer.transform(holed * 2)


def test_package_exports_it_lazily():
    assert vae_tf.VAEImputer is VAEImputer
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        vae_tf.Nope  # noqa: B018
    code = "import sys, vae_tf; assert 'tensorflow' not in sys.modules, 'TF imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_divergence_is_reported_with_the_fix(tiny_data, tmp_path):
    holed, _ = _holed(tiny_data.train[:100], seed=0)
    with pytest.raises(TrainingDiverged, match="learning rate 1e\\+30"):
        _imputer(epochs=5, learning_rate=1e30, logdir=str(tmp_path)).fit_transform(holed)


@pytest.mark.slow  # over 10 s here: several fits and their tracing
def test_a_logdir_resumes_the_same_fit_and_refuses_another(tiny_data, tmp_path):
    holed, _ = _holed(tiny_data.train[:100], seed=0)
    straight = _imputer(epochs=4, batch_size=30).fit_transform(holed)  # 4 batches, one padded
    logdir = str(tmp_path / "fit")
    _imputer(epochs=2, batch_size=30, logdir=logdir).fit(holed)
    resumed = _imputer(epochs=4, batch_size=30, logdir=logdir)
    np.testing.assert_allclose(resumed.fit_transform(holed), straight, atol=1e-6)
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4]
    other, _ = _holed(tiny_data.train[:100], seed=1)  # other holes: another fit
    with pytest.raises(UserError, match="holds a fit of other data or settings"):
        _imputer(epochs=4, batch_size=30, logdir=logdir).fit(other)
    with pytest.raises(UserError, match="holds a fit of other data or settings"):
        _imputer(epochs=4, batch_size=30, learning_rate=3e-3, logdir=logdir).fit(holed)
