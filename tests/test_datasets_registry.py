"""The dataset registry (one entry per name) and the $VAE_TF_DATA_DIR data root."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

import fixtures
from vae_tf import datasets
from vae_tf.datasets import (ALLOW_SMALL_VAR, ENTRIES, NAMES, data_dir_for, entry, load,
                             resolve_data_dir)
from vae_tf.errors import UserError


@pytest.fixture(autouse=True)
def small_data_allowed(monkeypatch):
    """These tests load fixtures far smaller than the originals, on purpose."""
    monkeypatch.setenv(ALLOW_SMALL_VAR, "1")


FOLDERS = {"mnist_5k": None, "mnist": "mnist", "binarized_mnist": "binarized_mnist",
           "cifar10_rgb": "cifar10", "cifar10_gray": "cifar10", "omniglot_en": "omniglot",
           "omniglot_gr": "omniglot", "movielens_100k": "movielens_100k",
           "orl_faces": "orl_faces", "yale_faces": "yale_faces"}
NOT_IN_TFDS = {"mnist_5k", "orl_faces", "yale_faces"}


def one_line_error(call, *needles):
    """call() raises a one-line UserError holding every needle; returns the message."""
    with pytest.raises(UserError) as err:
        call()
    message = str(err.value)
    assert len(message.splitlines()) == 1, message
    for needle in needles:
        assert str(needle) in message, message
    return message


def test_one_entry_per_name_with_its_facts():
    assert NAMES == tuple(FOLDERS) == tuple(ENTRIES)  # the order --dataset lists them in
    for name in NAMES:
        e = entry(name)
        assert e.name == name and e.folder == FOLDERS[name] and e.files
        assert (e.tfds_builder is None) == (name in NOT_IN_TFDS)
        assert (e.tfds_host is None) == (e.tfds_builder is None)
        assert datasets.third_rows(name) == e.third_rows
    assert {n for n in NAMES if entry(n).third_rows} == {"cifar10_rgb", "orl_faces", "yale_faces"}
    assert {n for n in NAMES if entry(n).ratings} == {"movielens_100k"}  # checked before loading
    assert entry("cifar10_gray").tfds_builder == entry("cifar10_rgb").tfds_builder == "cifar10"
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry("mnist").folder = "elsewhere"


def test_unknown_name_is_one_line_listing_the_valid_ones():
    for call in (lambda: entry("nope"), lambda: load("nope"), lambda: datasets.third_rows("nope"),
                 lambda: resolve_data_dir("nope")):
        one_line_error(call, "'nope' is unknown", "choose one of: " + ", ".join(NAMES))


def test_importing_the_package_does_not_import_tensorflow():
    code = "import sys, vae_tf.datasets; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


@pytest.fixture
def root(tmp_path):
    """A data root like shared/data holding mnist/ (5,010 + 7 images) and orl_faces/."""
    fixtures.write_mnist_idx(tmp_path / "mnist", n_train=5010, n_test=7)
    fixtures.write_orl(str(tmp_path / "orl_faces"))
    return tmp_path


def test_load_reads_the_data_root(root, monkeypatch):
    monkeypatch.setenv("VAE_TF_DATA_DIR", str(root))
    assert resolve_data_dir("mnist") == str(root / "mnist")
    data = load("mnist")
    assert data.train.shape == (10, 784) and data.test.shape == (7, 784)
    np.testing.assert_array_equal(data.test, load("mnist", str(root / "mnist")).test)
    faces = load("orl_faces")  # not in tfds: the root alone is enough
    assert faces.train.shape == (360, 112 * 92) and str(root / "orl_faces") in faces.description


def test_a_missing_sub_folder_is_one_line_naming_the_variable_and_the_fix(root, monkeypatch):
    monkeypatch.setenv("VAE_TF_DATA_DIR", str(root))
    message = one_line_error(lambda: load("omniglot_en"), f"VAE_TF_DATA_DIR={root}",
                             "no omniglot/ folder for omniglot_en", "images_background.zip",
                             "pass --data_dir", "unset VAE_TF_DATA_DIR to use TensorFlow Datasets")
    assert one_line_error(lambda: resolve_data_dir("omniglot_en")) == message
    faces = one_line_error(lambda: load("yale_faces"), "no yale_faces/ folder for yale_faces",
                           "CroppedYale/yaleBxx", "or pass --data_dir")
    assert "TensorFlow Datasets" not in faces  # nothing to fall back to


def test_an_explicit_data_dir_wins_over_the_variable(root, tmp_path_factory, monkeypatch):
    other = tmp_path_factory.mktemp("other")
    fixtures.write_mnist_idx(other, n_train=5010, n_test=5, seed=1)
    monkeypatch.setenv("VAE_TF_DATA_DIR", str(root))
    assert load("mnist", str(other)).test.shape == (5, 784)
    assert resolve_data_dir("cifar10_rgb", str(other)) == str(other)  # root has no cifar10/
    monkeypatch.setenv("VAE_TF_DATA_DIR", str(root / "absent"))
    assert load("mnist", str(other)).test.shape == (5, 784)


def test_mnist_5k_ignores_the_root(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_TF_DATA_DIR", str(tmp_path / "absent"))
    assert resolve_data_dir("mnist_5k") is None
    data = load("mnist_5k")
    assert data.train.shape == (4000, 784) and data.test.shape == (1000, 784)


@pytest.mark.parametrize("value", [None, ""])
def test_without_the_variable_tfds_is_next(value, monkeypatch):
    monkeypatch.delenv("VAE_TF_DATA_DIR", raising=False)
    if value is not None:
        monkeypatch.setenv("VAE_TF_DATA_DIR", value)
    assert all(resolve_data_dir(name) is None for name in NAMES)


def test_data_dir_for_gives_the_sub_folder_only_when_it_exists(root):
    assert data_dir_for("mnist", str(root)) == str(root / "mnist")
    assert data_dir_for("cifar10_gray", str(root)) is None  # tfds, as before
    assert data_dir_for("mnist_5k", str(root)) is None  # bundled
    assert data_dir_for("mnist", None) is None and data_dir_for("nope", str(root)) is None
