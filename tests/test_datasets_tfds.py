"""The TensorFlow Datasets path under tfds.testing.mock_data (no download here)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from vae_tf.datasets import load, mnist, tfds_source
from vae_tf.errors import UserError


@pytest.fixture(autouse=True)
def no_data_root(monkeypatch):
    """load(name) without a data root: these tests are about the tfds path."""
    monkeypatch.delenv("VAE_TF_DATA_DIR", raising=False)


def _check_images(data, dim, channels):
    for split in (data.train, data.validation, data.test):
        if split is not None:
            assert split.dtype == np.float32 and split.ndim == 2 and split.shape[1] == dim
            assert split.size == 0 or (0.0 <= split.min() and split.max() <= 1.0)
    assert data.image_shape[-1] == channels and np.prod(data.image_shape) == dim
    assert data.likelihood == "bernoulli" and "TensorFlow Datasets" in data.description


def test_mnist_from_tfds(monkeypatch):
    monkeypatch.setattr(mnist, "N_VALIDATION", 5)  # 5,000 mock examples take seconds to make
    with tfds.testing.mock_data(num_examples=12):
        data = load("mnist")
    assert data.train.shape == (7, 784) and data.validation.shape == (5, 784)
    assert data.test.shape == (12, 784) and data.image_shape == (28, 28, 1)
    for labels in (data.train_labels, data.validation_labels, data.test_labels):
        assert labels.dtype == np.int64 and 0 <= labels.min() and labels.max() <= 9
    _check_images(data, 784, 1)


def test_binarized_mnist_from_tfds():
    with tfds.testing.mock_data(num_examples=12):
        data = load("binarized_mnist")
    assert data.train.shape == data.validation.shape == data.test.shape == (12, 784)
    assert set(np.unique(data.train)) <= {0.0, 1.0} and data.train_labels is None
    _check_images(data, 784, 1)


@pytest.mark.parametrize("name, dim, channels",
                         [("cifar10_rgb", 3072, 3), ("cifar10_gray", 1024, 1)])
def test_cifar_from_tfds(name, dim, channels):
    with tfds.testing.mock_data(num_examples=9):
        data = load(name)
    assert len(data.train) == len(data.test) == 9 and data.validation is None
    assert data.train_labels.dtype == np.int64 and data.train_labels.max() <= 9
    _check_images(data, dim, channels)


def test_omniglot_from_tfds_random_mock(monkeypatch):
    # Mock data carry no alphabet names (tfds records them when it prepares the real data).
    monkeypatch.setattr(tfds_source, "alphabet_index", lambda alphabet: 3)
    with tfds.testing.mock_data(num_examples=200):
        data = load("omniglot_en")
    assert len(data.train) > 0  # random character ids: few reach a 16th image for the test split
    assert len(data.train_labels) == len(data.train) and len(data.test_labels) == len(data.test)
    _check_images(data, 784, 1)


def _omniglot(*_, **__):
    """Two alphabets (ids 3 and 7) x 2 characters x 20 images; ink = character's grey."""
    alphabet, char = np.meshgrid([3, 7], [0, 1], indexing="ij")
    alphabet, char = np.repeat(alphabet.ravel(), 20), np.repeat(char.ravel(), 20)
    grey = np.where(char == 0, 255, 0).astype(np.uint8)  # character 0 blank, 1 all ink
    images = np.broadcast_to(grey[:, None, None, None], (len(grey), 105, 105, 3))
    return tf.data.Dataset.from_tensor_slices({
        "image": images, "alphabet": alphabet.astype(np.int64),
        "alphabet_char_id": char.astype(np.int64), "label": np.arange(len(char), dtype=np.int64)})


def test_omniglot_from_tfds_first_15_of_a_character_train(monkeypatch):
    monkeypatch.setattr(tfds_source, "alphabet_index", lambda alphabet: 7)
    with tfds.testing.mock_data(as_dataset_fn=_omniglot):
        data = load("omniglot_gr")
    assert data.train.shape == (30, 784) and data.test.shape == (10, 784)
    assert list(data.train_labels) == [0] * 15 + [1] * 15
    assert list(data.test_labels) == [0] * 5 + [1] * 5
    np.testing.assert_allclose(data.train[:15], 0.0)  # white paper: no ink
    np.testing.assert_allclose(data.train[15:], 1.0)  # all ink
    assert "first 15 images" in data.description


def test_omniglot_alphabet_names_missing_is_one_line():
    with tfds.testing.mock_data(num_examples=5):  # placeholder names "0".."49"
        with pytest.raises(UserError, match="names no alphabet 'Latin'; pass --data_dir"):
            load("omniglot_en")


def _ratings(order_seed=None, users=30, per_user=15, user_id=None):
    """A fake movielens/100k-ratings: `users` users x `per_user` ratings, ids as strings."""
    rng = np.random.default_rng(0)
    u = np.repeat(np.arange(1, users + 1), per_user)
    items = np.concatenate([rng.choice(1682, per_user, replace=False) + 1 for _ in range(users)])
    ratings = rng.integers(1, 6, len(u)).astype(np.float32)
    if user_id is not None:
        u[0] = user_id
    order = np.arange(len(u)) if order_seed is None else \
        np.random.default_rng(order_seed).permutation(len(u))

    def as_dataset(*_, **__):
        return tf.data.Dataset.from_tensor_slices({
            "user_id": [str(x).encode() for x in u[order]],
            "movie_id": [str(x).encode() for x in items[order]], "user_rating": ratings[order]})
    return as_dataset


def test_movielens_from_tfds_holds_out_ten_per_user_whatever_the_order():
    with tfds.testing.mock_data(as_dataset_fn=_ratings()):
        data = load("movielens_100k")
    with tfds.testing.mock_data(as_dataset_fn=_ratings(order_seed=1)):  # tfds's order differs
        shuffled = load("movielens_100k")
    assert data.train.shape == data.test.shape == (943, 1682) and data.likelihood == "ratings"
    per_user = np.sum(~np.isnan(data.test), axis=1)
    assert list(per_user[:30]) == [10] * 30 and per_user[30:].sum() == 0
    assert np.sum(~np.isnan(data.train)) == 30 * 5
    assert not np.any(~np.isnan(data.train) & ~np.isnan(data.test))
    np.testing.assert_array_equal(data.test, shuffled.test)  # same seeded hold-out
    assert "not the official ua split" in data.description


def test_movielens_from_tfds_rejects_out_of_range_ids():
    with tfds.testing.mock_data(as_dataset_fn=_ratings(user_id=944)):
        with pytest.raises(UserError, match="out of range .*pass --data_dir"):
            load("movielens_100k")


def test_download_failure_is_one_line_naming_both_ways_to_give_the_files(monkeypatch, caplog):
    monkeypatch.setattr(tfds_source, "_online", lambda host: False)
    with pytest.raises(UserError, match="cifar10_rgb: TensorFlow Datasets could not download or "
                                        "prepare 'cifar10' .* pass --data_dir=<folder with "
                                        "cifar-10-batches-py/ .*> or set VAE_TF_DATA_DIR=<data "
                                        "root laid out like shared/data, with cifar10/ in it>$"
                       ) as err:
        tfds_source.load_tfds("cifar10_rgb")
    assert len(str(err.value).splitlines()) == 1
    # tfds warns that no prepared copy exists ("Variant folder ... has no dataset_info.json")
    # before the download is tried: not a line for the user before the error.
    assert not [r for r in caplog.records if "Variant folder" in r.getMessage()]


def test_a_proxy_skips_the_name_lookup(monkeypatch):
    for var in tfds_source._PROXIES:
        monkeypatch.delenv(var, raising=False)
    assert not tfds_source._online("no-such-host.invalid")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert tfds_source._online("no-such-host.invalid")
