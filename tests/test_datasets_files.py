"""Every original-file parser on fixtures the tests write, and every bad-file error.

Each error must be one UserError line that names the file (or folder) at fault.
"""

import gzip
import io
import logging
import os
import pickle

import numpy as np
import pytest
from PIL import Image

import fixtures
from vae_tf.datasets import ALLOW_SMALL_VAR, NAMES, load
from vae_tf.datasets.binarized_mnist import parse_amat
from vae_tf.errors import UserError


@pytest.fixture(autouse=True)
def small_data_allowed(monkeypatch):
    """These tests load fixtures far smaller than the originals, on purpose."""
    monkeypatch.setenv(ALLOW_SMALL_VAR, "1")


def raises_one_line(name, data_dir, needle, match):
    """load(name, data_dir) raises a one-line UserError holding `needle` and `match`."""
    with pytest.raises(UserError, match=match) as err:
        load(name, str(data_dir))
    message = str(err.value)
    assert len(message.splitlines()) == 1 and str(needle) in message, message
    return message


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="choose one of: .*omniglot_en"):
        load("nope")
    assert {"mnist", "binarized_mnist", "cifar10_rgb", "cifar10_gray", "omniglot_en",
            "omniglot_gr", "orl_faces", "yale_faces", "movielens_100k", "mnist_5k"} == set(NAMES)


# --- MNIST (IDX .gz) -------------------------------------------------------------------

def test_mnist_idx_split_scaling_and_count_warning(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    train_x, train_y, test_x, test_y = fixtures.write_mnist_idx(tmp_path, n_train=5010, n_test=7)
    data = load("mnist", str(tmp_path))
    assert data.train.shape == (10, 784) and data.validation.shape == (5000, 784)
    assert data.test.shape == (7, 784) and data.train.dtype == np.float32
    assert data.train_labels.dtype == np.int64 and data.image_shape == (28, 28, 1)
    np.testing.assert_allclose(data.train[0], train_x[0].reshape(-1) / 255, rtol=1e-6)
    np.testing.assert_allclose(data.validation[-1], train_x[-1].reshape(-1) / 255, rtol=1e-6)
    np.testing.assert_array_equal(data.validation_labels, train_y[10:])  # the last 5,000
    np.testing.assert_array_equal(data.test_labels, test_y)
    assert data.likelihood == "bernoulli" and data.description
    assert "holds 5010 images, not the 60000" in caplog.text  # not silently smaller


def _gz(folder, name, payload: bytes):
    with gzip.open(os.path.join(folder, name), "wb") as f:
        f.write(payload)


def _flip_middle_byte(path):
    raw = bytearray(open(path, "rb").read())
    raw[len(raw) // 2] ^= 0xFF
    open(path, "wb").write(bytes(raw))


TRAIN_IMAGES, TEST_LABELS = "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
MNIST_CASES = [  # (damage, file named in the message, what the message says)
    ("not gzip", lambda p: open(os.path.join(p, TRAIN_IMAGES), "wb").write(b"not gzip"),
     TRAIN_IMAGES, "truncated or corrupt"),
    ("truncated gzip", lambda p: open(os.path.join(p, TRAIN_IMAGES), "r+b").truncate(100),
     TRAIN_IMAGES, "truncated or corrupt"),
    ("corrupt gzip", lambda p: _flip_middle_byte(os.path.join(p, TRAIN_IMAGES)),
     TRAIN_IMAGES, "truncated or corrupt"),
    ("wrong magic", lambda p: _gz(p, TRAIN_IMAGES, fixtures.idx_bytes(np.zeros(3))),
     TRAIN_IMAGES, "IDX magic number 2049, expected 2051"),
    ("short header", lambda p: _gz(p, TRAIN_IMAGES, fixtures.idx_bytes(np.zeros((1, 1, 1)))[:10]),
     TRAIN_IMAGES, "shorter than an IDX header"),
    ("wrong count", lambda p: _gz(p, TEST_LABELS, fixtures.idx_bytes(np.zeros(5))[:-2]),
     TEST_LABELS, "header says 5 = 5 values but the file holds 3"),
    ("labels do not match", lambda p: _gz(p, TEST_LABELS, fixtures.idx_bytes(np.zeros(4))),
     TEST_LABELS, "holds 7 images but .* holds 4 labels"),
    ("not 28x28", lambda p: _gz(p, "t10k-images-idx3-ubyte.gz",
                                fixtures.idx_bytes(np.zeros((7, 28, 27)))),
     "t10k-images-idx3-ubyte.gz", "images are 28x27, expected 28x28"),
    ("label out of range", lambda p: _gz(p, TEST_LABELS, fixtures.idx_bytes(np.full(7, 12))),
     TEST_LABELS, "label 12 outside 0..9"),
    ("missing file", lambda p: os.remove(os.path.join(p, "t10k-images-idx3-ubyte.gz")),
     "t10k-images-idx3-ubyte.gz", "mnist needs t10k-images"),
]


@pytest.mark.parametrize("damage, file, message", [c[1:] for c in MNIST_CASES],
                         ids=[c[0] for c in MNIST_CASES])
def test_bad_mnist_files_name_the_file_and_the_problem(tmp_path, damage, file, message):
    fixtures.write_mnist_idx(tmp_path, n_train=5010, n_test=7)
    damage(str(tmp_path))
    raises_one_line("mnist", tmp_path, file, message)


def test_mnist_too_few_training_images_for_the_validation_split(tmp_path):
    fixtures.write_mnist_idx(tmp_path, n_train=5000, n_test=7)
    raises_one_line("mnist", tmp_path, TRAIN_IMAGES, "needs more than 5000 training images")


def test_missing_empty_or_not_a_folder(tmp_path):
    raises_one_line("mnist", tmp_path / "absent", "absent", "no such folder")
    raises_one_line("mnist", tmp_path, tmp_path, "mnist needs train-images")
    (tmp_path / "file").write_text("x")
    raises_one_line("movielens_100k", tmp_path / "file", "file", "no such folder")


# --- binarized MNIST (.amat) -----------------------------------------------------------

def test_binarized_mnist_amat(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    train, valid, test = fixtures.write_amat(tmp_path)
    data = load("binarized_mnist", str(tmp_path))
    assert (len(data.train), len(data.validation), len(data.test)) == (6, 3, 4)
    np.testing.assert_array_equal(data.test, test)
    assert data.train.dtype == np.float32 and data.image_shape == (28, 28, 1)
    assert data.train_labels is None and "not the 50000" in caplog.text


def test_amat_other_number_formats_take_the_general_reader(tmp_path):
    path = tmp_path / "x.amat"
    values = np.random.default_rng(1).integers(0, 2, (3, 784))
    np.savetxt(path, values, fmt="%.1f")  # "1.0 0.0 ..."
    np.testing.assert_array_equal(parse_amat(str(path)), values)


@pytest.mark.parametrize("text, message", [
    ("0 1 0\n", "line 1: 3 values, expected 784"),
    ("1 " * 784 + "\n" + "0 " * 783 + "\n", "line 2: 783 values, expected 784"),
    ("1 " * 783 + "10\n", "values other than 0 and 1"),
    ("0 1 x\n", "not a table of numbers"),
    ("1.0 " * 5 + "\n", "5 values per row, expected 784"),
    ("\n", "the file is empty"),
])
def test_bad_amat_files(tmp_path, text, message):
    fixtures.write_amat(tmp_path)
    (tmp_path / "binarized_mnist_valid.amat").write_text(text)
    raises_one_line("binarized_mnist", tmp_path, "binarized_mnist_valid.amat", message)


# --- CIFAR-10 (python pickles) ---------------------------------------------------------

def test_cifar_rgb_and_gray(tmp_path):
    batches = fixtures.write_cifar(tmp_path)
    rgb = load("cifar10_rgb", str(tmp_path))  # the parent of cifar-10-batches-py/
    gray = load("cifar10_gray", str(tmp_path / "cifar-10-batches-py"))  # the folder itself
    assert rgb.train.shape == (20, 3072) and rgb.test.shape == (4, 3072)
    assert gray.train.shape == (20, 1024) and gray.image_shape == (32, 32, 1)
    assert rgb.image_shape == (32, 32, 3) and rgb.train_labels.dtype == np.int64
    data, labels = batches["data_batch_1"]
    pixel = 32 * 5 + 7  # row 5, column 7
    red, green, blue = (data[0, c * 1024 + pixel] / 255 for c in range(3))
    np.testing.assert_allclose(rgb.train[0, 3 * pixel:3 * pixel + 3], [red, green, blue], rtol=1e-6)
    np.testing.assert_allclose(gray.train[0, pixel], 0.299 * red + 0.587 * green + 0.114 * blue,
                               rtol=1e-5)
    np.testing.assert_array_equal(rgb.train_labels[:4], labels)
    np.testing.assert_array_equal(rgb.test_labels, batches["test_batch"][1])


def _pickle(folder, name, obj):
    with open(os.path.join(folder, "cifar-10-batches-py", name), "wb") as f:
        pickle.dump(obj, f, protocol=4)  # what numpy 2 writes with Python 3


CIFAR_CASES = [
    ("garbage", lambda p: open(os.path.join(p, "cifar-10-batches-py", "data_batch_3"), "wb")
     .write(b"garbage"), "data_batch_3", "not a CIFAR-10 python batch"),
    ("no data key", lambda p: _pickle(p, "data_batch_3", {b"labels": [1]}),
     "data_batch_3", "not a CIFAR-10 python batch"),
    ("wrong shape", lambda p: _pickle(p, "test_batch", {b"data": np.zeros((2, 3000), np.uint8),
                                                        b"labels": [1, 2]}),
     "test_batch", r"expected uint8 \[N, 3072\]"),
    ("label 10", lambda p: _pickle(p, "test_batch", {b"data": np.zeros((1, 3072), np.uint8),
                                                     b"labels": [10]}),
     "test_batch", "labels outside 0..9"),
    ("missing", lambda p: os.remove(os.path.join(p, "cifar-10-batches-py", "data_batch_5")),
     "data_batch_5", "cifar10 needs data_batch_5"),
]


@pytest.mark.parametrize("damage, file, message", [c[1:] for c in CIFAR_CASES],
                         ids=[c[0] for c in CIFAR_CASES])
def test_bad_cifar_batches(tmp_path, damage, file, message):
    fixtures.write_cifar(tmp_path)
    damage(str(tmp_path))
    raises_one_line("cifar10_rgb", tmp_path, file, message)


# --- OMNIGLOT (PNG tree or zip) --------------------------------------------------------

def _expected_28x28(png: bytes) -> np.ndarray:
    """Invert (strokes 1) and area-average 105x105 -> 28x28, written out independently."""
    ink = 1 - np.asarray(Image.open(io.BytesIO(png)).convert("L"), np.float64) / 255
    small = Image.fromarray(ink.astype(np.float32), "F").resize((28, 28), Image.Resampling.BOX)
    return np.asarray(small).reshape(-1)


@pytest.mark.parametrize("source", ["tree", "zip", "images_background", "zip file"])
def test_omniglot_sources_split_by_drawer(tmp_path, source):
    members = fixtures.write_omniglot(tmp_path, "Greek", characters=2, as_zip="zip" in source)
    data_dir = {"tree": tmp_path, "zip": tmp_path,
                "images_background": tmp_path / "images_background",
                "zip file": tmp_path / "images_background_small1.zip"}[source]
    data = load("omniglot_gr", str(data_dir))
    assert data.train.shape == (30, 784) and data.test.shape == (10, 784)
    assert list(data.train_labels) == [0] * 15 + [1] * 15
    assert list(data.test_labels) == [0] * 5 + [1] * 5
    assert data.image_shape == (28, 28, 1) and data.train.dtype == np.float32
    assert 0 <= data.train.min() and data.train.max() <= 1
    assert 0.0 < data.train.mean() < 0.2  # strokes are the few bright pixels
    first_test = members["images_background/Greek/character01/1001_16.png"]  # drawer 16
    np.testing.assert_allclose(data.test[0], _expected_28x28(first_test), atol=1e-6)
    last_train = members["images_background/Greek/character02/1002_15.png"]
    np.testing.assert_allclose(data.train[-1], _expected_28x28(last_train), atol=1e-6)


def _omniglot_file(p, name):
    return os.path.join(p, "images_background", "Latin", "character01", name)


OMNIGLOT_CASES = [
    ("not a png", lambda p: open(_omniglot_file(p, "1001_02.png"), "wb").write(b"x"),
     "1001_02.png", "not a readable PNG"),
    ("wrong size", lambda p: open(_omniglot_file(p, "1001_02.png"), "wb").write(
        fixtures.omniglot_png(0, size=50)), "1001_02.png",
     r"image is 50x50 \(WxH\), expected 105x105"),
    ("missing drawer", lambda p: os.remove(_omniglot_file(p, "1001_07.png")),
     "character01", r"is missing drawers \[7\]"),
    ("repeated drawer", lambda p: open(_omniglot_file(p, "1002_07.png"), "wb").write(
        fixtures.omniglot_png(0)), "character01", r"repeats drawers \[7\]"),
    ("bad name", lambda p: open(_omniglot_file(p, "extra.png"), "wb").write(
        fixtures.omniglot_png(0)), "extra.png", "expected <alphabet>/characterNN"),
    ("drawer 21", lambda p: open(_omniglot_file(p, "1001_21.png"), "wb").write(
        fixtures.omniglot_png(0)), "1001_21.png", "drawer 21 is outside 1..20"),
]


@pytest.mark.parametrize("damage, file, message", [c[1:] for c in OMNIGLOT_CASES],
                         ids=[c[0] for c in OMNIGLOT_CASES])
def test_bad_omniglot_files(tmp_path, damage, file, message):
    fixtures.write_omniglot(tmp_path, "Latin", characters=1)
    damage(str(tmp_path))
    raises_one_line("omniglot_en", tmp_path, file, message)


def test_omniglot_missing_alphabet_empty_folder_and_corrupt_zip(tmp_path):
    raises_one_line("omniglot_en", tmp_path, tmp_path, "no Latin alphabet found")
    fixtures.write_omniglot(tmp_path, "Greek", characters=1, as_zip=True)
    raises_one_line("omniglot_en", tmp_path, tmp_path, "no Latin alphabet found")  # Greek only
    zip_path = tmp_path / "images_background_small1.zip"
    zip_path.write_bytes(zip_path.read_bytes()[:-300])
    raises_one_line("omniglot_gr", tmp_path, zip_path.name, "not a readable zip")
    (tmp_path / "images_background" / "Latin").mkdir(parents=True)
    raises_one_line("omniglot_en", tmp_path, "Latin", "holds no PNG images")
