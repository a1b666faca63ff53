"""The real files in $VAE_TF_DATA_DIR (laid out like shared/data); skipped when unset.

CIFAR-10 and binarized MNIST are not in that folder: their parsers are checked on
fixtures only (test_datasets_files.py).
"""

import logging
import os
import time
from collections import defaultdict

import numpy as np

from conftest import real_data_dir
from vae_tf.datasets import load
from vae_tf.datasets.movielens import load_movielens_fold


def test_mnist_real_files_load_fast_with_known_facts():
    folder = real_data_dir("mnist")
    t0 = time.perf_counter()
    data = load("mnist", folder)
    seconds = time.perf_counter() - t0
    assert seconds < 20, f"loading real MNIST took {seconds:.1f} s"
    assert data.train.shape == (55000, 784) and data.validation.shape == (5000, 784)
    assert data.test.shape == (10000, 784) and data.train.dtype == np.float32
    assert list(data.train_labels[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(data.test_labels[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    counts = np.bincount(np.concatenate([data.train_labels, data.validation_labels]))
    assert list(counts) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert list(np.bincount(data.test_labels)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                                   974, 1009]
    for split in (data.train, data.validation, data.test):
        assert split.min() == 0.0 and split.max() == 1.0
    assert 0.12 < data.train.mean() < 0.14  # MNIST's mean grey level is about 0.13


def test_omniglot_real_counts_folder_and_zip_agree():
    folder = real_data_dir("omniglot")
    en, gr = load("omniglot_en", folder), load("omniglot_gr", folder)
    assert (len(en.train), len(en.test)) == (390, 130)
    assert (len(gr.train), len(gr.test)) == (360, 120)
    assert list(np.bincount(en.train_labels)) == [15] * 26
    assert list(np.bincount(gr.test_labels)) == [5] * 24
    for data in (en, gr):
        assert data.train.shape[1] == 784 and data.image_shape == (28, 28, 1)
        assert data.train.min() == 0.0 and data.train.max() <= 1.0
        assert 0.02 < data.train.mean() < 0.2  # thin strokes on an empty background
    zipped = load("omniglot_gr", os.path.join(folder, "images_background_small1.zip"))
    np.testing.assert_array_equal(zipped.train, gr.train)  # byte-identical PNGs
    np.testing.assert_array_equal(zipped.test_labels, gr.test_labels)


def test_orl_real_counts():
    orl = load("orl_faces", real_data_dir("orl_faces"))
    assert orl.train.shape == (360, 112 * 92) and orl.test.shape == (40, 112 * 92)
    assert orl.image_shape == (112, 92, 1) and len(set(orl.train_labels)) == 40
    assert 0 <= orl.train.min() and orl.train.max() <= 1 and orl.train.max() > 0.9


def test_yale_real_counts(caplog):
    caplog.set_level(logging.INFO)
    yale = load("yale_faces", real_data_dir("yale_faces"))
    # This subset: 24 subjects, 1,518 valid images (18 .bad and 24 ambient skipped).
    assert len(yale.train) + len(yale.test) == 1518 and yale.train.shape[1] == 192 * 168
    assert (len(yale.train), len(yale.test)) == (1231, 287)  # every 5th of a subject
    assert set(yale.train_labels) == set(yale.test_labels) == set(range(13)) | set(range(14, 25))
    assert "skipped 18 '.bad' captures, 24 ambient images and 0 other files" in caplog.text
    assert "holds 24 of the 38 subjects of the database (yaleB01 .. yaleB25)" in caplog.text
    assert yale.image_shape == (192, 168, 1)
    assert 0 <= yale.train.min() and yale.train.max() <= 1


def test_movielens_real_facts():
    folder = real_data_dir("movielens_100k")
    data = load("movielens_100k", folder)
    assert data.train.shape == data.test.shape == (943, 1682)
    assert np.sum(~np.isnan(data.train)) == 90570 and np.sum(~np.isnan(data.test)) == 9430
    assert np.all(np.sum(~np.isnan(data.test), axis=1) == 10)
    assert set(np.unique(data.train[~np.isnan(data.train)])) == {1, 2, 3, 4, 5}
    # ua.test holds the first 10 ratings of each user in u.data's line order.
    first = defaultdict(list)
    with open(os.path.join(folder, "ml-100k", "u.data")) as f:
        for line in f:
            user, item, rating, _ = map(int, line.split("\t"))
            if len(first[user]) < 10:
                first[user].append((user - 1, item - 1, rating))
    users, items, ratings = np.array([r for rows in first.values() for r in rows]).T
    assert np.sum(~np.isnan(data.test[users, items])) == 9430
    np.testing.assert_array_equal(data.test[users, items], ratings)
    folds = [load_movielens_fold(folder, k) for k in range(1, 6)]
    assert all(np.sum(~np.isnan(f.test)) == 20000 for f in folds)
    assert all(np.sum(~np.isnan(f.train)) == 80000 for f in folds)
    union = np.sum([~np.isnan(f.test) for f in folds], axis=0)  # the folds partition u.data
    assert union.max() == 1 and union.sum() == 100000
