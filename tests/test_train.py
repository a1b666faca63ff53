"""The train step changes weights, evaluation does not, loss improves, seeds repeat."""

import keras
import numpy as np
import tensorflow as tf

from vae_tf.models import VAE
from vae_tf.train import EpochLoop, evaluate, make_multi_step, make_train_step, reconstruct


def _setup(seed=0, lr=1e-3):
    keras.utils.set_random_seed(seed)
    vae = VAE(64, 4, 32, seed=seed)
    opt = keras.optimizers.Adam(lr)
    return vae, opt, make_train_step(vae, opt, tf.random.Generator.from_seed(seed))


def _weights(vae):
    return [v.numpy().copy() for v in vae.trainable_variables]


def test_step_changes_every_weight_and_evaluate_changes_none(tiny_data):
    vae, _, step = _setup()
    before = _weights(vae)
    evaluate(vae, tiny_data.test)
    reconstruct(vae, tiny_data.test)
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(vae)))
    terms = step(tf.constant(tiny_data.train[:32]))
    assert set(terms) == {"loss", "reconstruction", "kl"}
    assert all(not np.array_equal(a, b) for a, b in zip(before, _weights(vae)))


def test_loss_improves_over_50_steps_on_fixed_data(tiny_data):
    vae, _, step = _setup(lr=3e-3)
    x = tf.constant(tiny_data.train[:64])
    first = float(step(x)["loss"])
    for _ in range(49):
        last = float(step(x)["loss"])
    assert last < 0.8 * first, (first, last)


def test_same_seed_gives_same_losses(tiny_data):
    def run():
        vae, opt, _ = _setup(seed=5)
        multi = make_multi_step(vae, opt, tf.random.Generator.from_seed(5))
        loop = EpochLoop(multi, tiny_data.train, 30, seed=5, steps_per_call=4, verbose=0)
        steps = []
        epochs = [loop.run_epoch(e, 7 * e, lambda s, t: steps.append(s))["loss"]
                  for e in range(2)]
        return epochs, steps

    (a, steps), (b, _) = run(), run()
    assert a == b
    assert a[1] < a[0]
    # 200 examples / batch 30: 6 full batches (two chunks of 4 and 2) + one of 20.
    assert steps == [1, 2, 3, 4, 5, 6, 7] + [8, 9, 10, 11, 12, 13, 14]


def test_multi_step_matches_single_steps(tiny_data):
    """K steps in one compiled call give the same losses as K single steps."""
    x = tiny_data.train[:120].reshape(4, 30, 64)
    vae, opt, step = _setup(seed=2)
    singles = [float(step(tf.constant(b))["loss"]) for b in x]
    vae, opt, _ = _setup(seed=2)
    multi = make_multi_step(vae, opt, tf.random.Generator.from_seed(2), jit_compile=False)
    np.testing.assert_allclose(multi(tf.constant(x))["loss"].numpy(), singles, rtol=1e-5)


def test_evaluate_is_repeatable(tiny_data):
    vae, _, _ = _setup()
    assert evaluate(vae, tiny_data.test, seed=3) == evaluate(vae, tiny_data.test, seed=3)
