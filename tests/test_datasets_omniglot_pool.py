"""omniglot_pool: every alphabet under a folder (trees and zips), by drawer."""

import os

import numpy as np
import pytest

import fixtures
from vae_tf.datasets import ALLOW_SMALL_VAR, load
from vae_tf.datasets.omniglot_pool import alphabets, load_alphabet, load_pool
from vae_tf.errors import UserError


@pytest.fixture(autouse=True)
def small_data_allowed(monkeypatch):
    """The fixtures hold one or two characters an alphabet, on purpose."""
    monkeypatch.setenv(ALLOW_SMALL_VAR, "1")


@pytest.fixture
def folder(tmp_path):
    fixtures.write_omniglot(tmp_path, "Latin", characters=2)  # images_background/Latin/
    fixtures.write_omniglot(tmp_path, "Korean", characters=1, as_zip=True)  # in a zip only
    return str(tmp_path)


def test_alphabets_come_from_folders_and_zips(folder):
    assert alphabets(folder) == ["Korean", "Latin"]


def test_an_alphabet_keeps_characters_and_drawers_as_the_dataset_splits_them(folder):
    x, character, drawer = load_alphabet(folder, "Latin")
    assert x.shape == (40, 784) and x.dtype == np.float32
    assert list(character) == [1] * 20 + [2] * 20 and list(drawer) == list(range(1, 21)) * 2
    data = load("omniglot_en", folder)  # drawers 1-15 train, 16-20 test
    np.testing.assert_array_equal(x[drawer <= 15], data.train)
    np.testing.assert_array_equal(x[drawer > 15], data.test)
    np.testing.assert_array_equal(character[drawer <= 15] - 1, data.train_labels)


def test_the_pool_leaves_the_target_alphabet_out(folder):
    pool, names = load_pool(folder, "Latin")
    assert names == ["Korean"] and pool.shape == (20, 784)
    np.testing.assert_array_equal(pool, load_alphabet(folder, "Korean")[0])
    with pytest.raises(UserError, match="no OMNIGLOT alphabet besides Korean"):
        load_pool(os.path.join(folder, "images_background_small1.zip"), "Korean")  # the zip alone


def test_a_missing_drawer_of_another_alphabet_is_refused(tmp_path):
    fixtures.write_omniglot(tmp_path, "Futurama", characters=1)
    (tmp_path / "images_background" / "Futurama" / "character01" / "1001_07.png").unlink()
    with pytest.raises(UserError, match=r"Futurama/character01 is missing drawers \[7\]"):
        load_alphabet(str(tmp_path), "Futurama")


def test_the_real_background_small_zip_adds_three_alphabets():
    from conftest import real_data_dir
    folder = real_data_dir("omniglot")
    assert alphabets(folder) == ["Balinese", "Early_Aramaic", "Greek", "Korean", "Latin"]
    pool, names = load_pool(folder, "Latin")
    assert pool.shape == (480 + 440 + 480 + 800, 784)  # 24, 22, 24 and 40 characters x 20
    assert names == ["Balinese", "Early_Aramaic", "Greek", "Korean"]
