"""The TensorFlow Datasets path under tfds.testing.mock_data (no download here)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from vae_tf.datasets import load, tfds_source
from vae_tf.errors import UserError


def _check_images(data, dim, channels):
    for split in (data.train, data.test):
        assert split.dtype == np.float32 and split.ndim == 2 and split.shape[1] == dim
        assert split.size == 0 or (0.0 <= split.min() and split.max() <= 1.0)
    assert data.image_shape[-1] == channels


def test_mnist_from_tfds():
    with tfds.testing.mock_data(num_examples=5020):
        data = load("mnist")
    assert data.train.shape == (20, 784) and data.validation.shape == (5000, 784)
    assert data.train_labels.dtype == np.int64
    _check_images(data, 784, 1)


def test_binarized_mnist_from_tfds():
    with tfds.testing.mock_data(num_examples=12):
        data = load("binarized_mnist")
    assert data.train.shape == data.validation.shape == data.test.shape == (12, 784)
    assert set(np.unique(data.train)) <= {0.0, 1.0}


@pytest.mark.parametrize("name, dim, channels", [("cifar10_rgb", 3072, 3), ("cifar10_gray", 1024, 1)])
def test_cifar_from_tfds(name, dim, channels):
    with tfds.testing.mock_data(num_examples=9):
        data = load(name)
    assert len(data.train) == len(data.test) == 9
    _check_images(data, dim, channels)


def test_omniglot_from_tfds(monkeypatch):
    # Mock data carry no alphabet names (tfds records them when it prepares the real data).
    monkeypatch.setattr(tfds_source, "alphabet_index", lambda alphabet: 3)
    with tfds.testing.mock_data(num_examples=400):
        data = load("omniglot_en")
    assert len(data.train) + len(data.test) > 0
    _check_images(data, 784, 1)
    for labels, split in ((data.train_labels, data.train), (data.test_labels, data.test)):
        assert len(labels) == len(split)


def _ratings(*_, **__):
    """Fake movielens/100k-ratings: 30 users with 15 ratings each, ids as digit strings."""
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(1, 31), 15)
    items = np.concatenate([rng.choice(1682, 15, replace=False) + 1 for _ in range(30)])
    return tf.data.Dataset.from_tensor_slices({
        "user_id": [str(u).encode() for u in users], "movie_id": [str(i).encode() for i in items],
        "user_rating": rng.integers(1, 6, len(users)).astype(np.float32)})


def test_movielens_from_tfds_holds_out_ten_per_user():
    with tfds.testing.mock_data(as_dataset_fn=_ratings):
        data = load("movielens_100k")
    assert data.train.shape == data.test.shape == (943, 1682)
    per_user = np.sum(~np.isnan(data.test), axis=1)
    assert list(per_user[:30]) == [10] * 30 and per_user[30:].sum() == 0
    assert np.sum(~np.isnan(data.train)) == 30 * 5
    assert "not the official ua split" in data.description


def test_download_failure_is_one_line(monkeypatch):
    monkeypatch.setattr(tfds_source, "_online", lambda host: False)
    with pytest.raises(UserError, match="could not download or prepare 'cifar10' .* "
                                        "pass --data_dir=<folder with cifar-10-batches-py/>"):
        tfds_source.load_tfds("cifar10_rgb")
