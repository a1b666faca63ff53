"""Shared test setup: quiet TensorFlow, tiny data, the real-data folder when given."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The fixtures are small on purpose; the launcher refuses a smaller dataset than the
# original unless this is set (tests/test_datasets_strict.py unsets it).
os.environ.setdefault("VAE_TF_ALLOW_SMALL_DATA", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vae_tf.datasets import Dataset  # noqa: E402


def real_data_dir(subfolder: str) -> str:
    """`$VAE_TF_DATA_DIR/<subfolder>`, or skip the test when the variable is unset."""
    root = os.environ.get("VAE_TF_DATA_DIR")
    if not root:
        pytest.skip("VAE_TF_DATA_DIR is not set: real-data test skipped")
    path = os.path.join(root, subfolder)
    if not os.path.isdir(path):
        pytest.fail(f"VAE_TF_DATA_DIR={root} has no {subfolder}/ folder")
    return path


@pytest.fixture(scope="session")
def tiny_data() -> Dataset:
    """200 train / 50 test images of 8x8 blobs in [0, 1], deterministic."""
    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid(np.arange(8), np.arange(8), indexing="ij"), -1)

    def blobs(n):
        centres = rng.uniform(1.5, 5.5, size=(n, 1, 1, 2))
        d2 = np.sum((grid[None] - centres) ** 2, axis=-1)
        return np.exp(-d2 / 3.0).reshape(n, 64).astype(np.float32)

    return Dataset(name="tiny", train=blobs(200), test=blobs(50),
                   train_labels=np.arange(200) % 3, test_labels=np.arange(50) % 3,
                   image_shape=(8, 8, 1), description="synthetic blobs")


def train_steps(vae, x, steps: int, learning_rate: float = 3e-3, seed: int = 0):
    """`steps` Adam steps of the -ELBO on the whole of x (one batch) through the engine."""
    import tensorflow as tf

    from vae_tf.engine import Engine
    from vae_tf.elbo import ELBO
    engine = Engine(ELBO(vae, tf.random.Generator.from_seed(seed)), [np.asarray(x)], len(x),
                    learning_rate, shuffle=False, steps_per_call=1)
    return engine.fit(steps)


def launcher_adam_epsilon(monkeypatch, module, args) -> float:
    """Run the launcher (`vae_tf.main.main`) in this process on `args` until `module`'s
    `Engine` is built, and return that engine's Adam epsilon (flags are reset after)."""
    from vae_tf import main as launcher

    class Built(Exception):
        pass

    real, seen = module.Engine, []

    def spy(*a, **kw):
        seen.append(float(real(*a, **kw).optimizer.epsilon))
        raise Built

    monkeypatch.setattr(module, "Engine", spy)
    launcher.FLAGS(["vae-tf", *args])
    try:
        with pytest.raises(Built):
            launcher.main(["vae-tf"])
    finally:
        launcher.FLAGS.unparse_flags()
    return seen[0]
