"""Every original-file parser on fixtures the tests write, and every bad-file error."""

import gzip
import os

import numpy as np
import pytest

import fixtures
from vae_tf.datasets import NAMES, load
from vae_tf.datasets.movielens import load_fold
from vae_tf.errors import UserError


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="choose one of: .*omniglot_en"):
        load("nope")
    assert {"mnist", "binarized_mnist", "cifar10_rgb", "cifar10_gray", "omniglot_en",
            "omniglot_gr", "orl_faces", "yale_faces", "movielens_100k", "mnist_5k"} == set(NAMES)


def test_mnist_idx_split_and_scaling(tmp_path):
    train_x, train_y, test_x, test_y = fixtures.write_mnist_idx(tmp_path, n_train=5010, n_test=7)
    data = load("mnist", str(tmp_path))
    assert data.train.shape == (10, 784) and data.validation.shape == (5000, 784)
    assert data.test.shape == (7, 784) and data.train.dtype == np.float32
    np.testing.assert_allclose(data.train[0], train_x[0].reshape(-1) / 255, rtol=1e-6)
    np.testing.assert_array_equal(data.validation_labels, train_y[10:])  # the last 5,000
    np.testing.assert_array_equal(data.test_labels, test_y)
    assert data.image_shape == (28, 28, 1) and 0 <= data.train.min() and data.train.max() <= 1


def _corrupt(tmp_path, name, payload: bytes, gz=True):
    path = os.path.join(tmp_path, name)
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        with open(path, "wb") as f:
            f.write(payload)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: _corrupt(p, "train-images-idx3-ubyte.gz", b"not gzip", gz=False), "truncated or corrupt"),
    (lambda p: open(os.path.join(p, "train-images-idx3-ubyte.gz"), "r+b").truncate(100), "truncated or corrupt"),
    (lambda p: _corrupt(p, "train-images-idx3-ubyte.gz", fixtures.idx_bytes(np.zeros(3))), "magic number 2049"),
    (lambda p: _corrupt(p, "t10k-labels-idx1-ubyte.gz", fixtures.idx_bytes(np.zeros(5))[:-2]), "header says 5"),
    (lambda p: _corrupt(p, "t10k-labels-idx1-ubyte.gz", fixtures.idx_bytes(np.zeros(4))), "do not match"),
    (lambda p: os.remove(os.path.join(p, "t10k-images-idx3-ubyte.gz")), "needs t10k-images"),
])
def test_bad_mnist_files_name_the_file_and_the_problem(tmp_path, make, message):
    fixtures.write_mnist_idx(tmp_path, n_train=5010, n_test=7)
    make(str(tmp_path))
    with pytest.raises(UserError, match=message) as err:
        load("mnist", str(tmp_path))
    assert len(str(err.value).splitlines()) == 1
    assert str(tmp_path) in str(err.value)


def test_missing_or_empty_data_dir(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        load("mnist", str(tmp_path / "absent"))
    with pytest.raises(UserError, match="needs train-images"):
        load("mnist", str(tmp_path))


def test_binarized_mnist_amat(tmp_path):
    train, valid, test = fixtures.write_amat(tmp_path)
    data = load("binarized_mnist", str(tmp_path))
    assert (len(data.train), len(data.validation), len(data.test)) == (6, 3, 4)
    np.testing.assert_array_equal(data.test, test)
    with open(tmp_path / "binarized_mnist_valid.amat", "w") as f:
        f.write("0 1 0\n")
    with pytest.raises(UserError, match="binarized_mnist_valid.amat: 3 values per row"):
        load("binarized_mnist", str(tmp_path))


def test_cifar_rgb_gray_and_a_damaged_batch(tmp_path):
    batches = fixtures.write_cifar(tmp_path)
    rgb = load("cifar10_rgb", str(tmp_path))  # the parent of cifar-10-batches-py/
    gray = load("cifar10_gray", str(tmp_path / "cifar-10-batches-py"))  # the folder itself
    assert rgb.train.shape == (20, 3072) and rgb.test.shape == (4, 3072)
    assert gray.train.shape == (20, 1024) and gray.image_shape == (32, 32, 1)
    data, labels = batches["data_batch_1"]
    red, green, blue = (data[0, c * 1024] / 255 for c in range(3))  # pixel (0, 0)
    np.testing.assert_allclose(rgb.train[0, :3], [red, green, blue], rtol=1e-6)
    np.testing.assert_allclose(gray.train[0, 0], 0.299 * red + 0.587 * green + 0.114 * blue,
                               rtol=1e-5)
    np.testing.assert_array_equal(rgb.train_labels[:4], labels)
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_3", "wb") as f:
        f.write(b"garbage")
    with pytest.raises(UserError, match="data_batch_3: not a CIFAR-10 python batch"):
        load("cifar10_rgb", str(tmp_path))


@pytest.mark.parametrize("as_zip", [False, True])
def test_omniglot_tree_and_zip(tmp_path, as_zip):
    fixtures.write_omniglot(tmp_path, "Greek", characters=2, as_zip=as_zip)
    data = load("omniglot_gr", str(tmp_path))
    assert data.train.shape == (30, 784) and data.test.shape == (10, 784)
    assert sorted(set(data.train_labels)) == [0, 1] and data.image_shape == (28, 28, 1)
    assert 0 <= data.train.min() and data.train.max() <= 1
    assert 0.0 < data.train.mean() < 0.2  # strokes are the few bright pixels


def test_omniglot_errors(tmp_path):
    with pytest.raises(UserError, match="no Latin alphabet found"):
        load("omniglot_en", str(tmp_path))
    fixtures.write_omniglot(tmp_path, "Latin", characters=1, drawers=2)
    bad = tmp_path / "images_background" / "Latin" / "character01" / "1001_02.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(UserError, match="1001_02.png: not a readable PNG"):
        load("omniglot_en", str(tmp_path))


def test_orl_faces_and_a_wrong_size(tmp_path):
    fixtures.write_orl(tmp_path)
    data = load("orl_faces", str(tmp_path))
    assert data.train.shape == (360, 112 * 92) and data.test.shape == (40, 112 * 92)
    assert data.image_shape == (112, 92, 1)
    fixtures.write_pgm(str(tmp_path / "s7" / "3.pgm"), 90, 112)
    with pytest.raises(UserError, match="s7/3.pgm: image is 90x112 .* expected 92x112"):
        load("orl_faces", str(tmp_path))
    with pytest.raises(UserError, match="not in TensorFlow Datasets"):
        load("orl_faces")


def test_yale_faces_skip_bad_and_ambient(tmp_path):
    fixtures.write_yale(tmp_path, subjects=(1, 2), images=10)
    data = load("yale_faces", str(tmp_path))
    assert len(data.train) + len(data.test) == 20  # .bad and _Ambient left out
    assert data.test.shape == (4, 192 * 168) and data.image_shape == (192, 168, 1)
    with pytest.raises(UserError, match="no CroppedYale"):
        load("yale_faces", str(tmp_path / "CroppedYale" / "yaleB01"))


def test_movielens_matrices_and_folds(tmp_path):
    root, lines = fixtures.write_movielens(tmp_path)
    data = load("movielens_100k", str(tmp_path))
    assert data.train.shape == data.test.shape == (943, 1682) and data.image_shape is None
    assert np.sum(~np.isnan(data.test)) == 9430 and np.sum(~np.isnan(data.train)) == 943 * 2
    u, i, r, _ = lines[0]
    assert data.test[u - 1, i - 1] == r
    assert data.likelihood == "ratings"
    fold = load_fold(str(tmp_path), 2)
    assert np.sum(~np.isnan(fold.train)) + np.sum(~np.isnan(fold.test)) == len(lines)


@pytest.mark.parametrize("line, message", [
    ("1\t2\t6\t880000000\n", "rating 6 out of range"),
    ("1\t1683\t3\t880000000\n", "item 1683, rating 3 out of range"),
    ("1\tx\t3\t880000000\n", "is not user<TAB>item<TAB>rating<TAB>timestamp"),
    ("1\t2\t3\n", "is not user<TAB>item"),
])
def test_bad_rating_lines(tmp_path, line, message):
    root, _ = fixtures.write_movielens(tmp_path)
    with open(os.path.join(root, "ua.test"), "a") as f:
        f.write(line)
    with pytest.raises(UserError, match=f"ua.test, line 9431: .*{message}"):
        load("movielens_100k", str(tmp_path))
