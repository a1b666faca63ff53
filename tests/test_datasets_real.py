"""The real files in $VAE_TF_DATA_DIR (laid out like shared/data); skipped when unset."""

import time

import numpy as np

from conftest import real_data_dir
from vae_tf.datasets import load
from vae_tf.datasets.movielens import load_fold


def test_mnist_real_files_load_fast_with_known_facts():
    folder = real_data_dir("mnist")
    t0 = time.perf_counter()
    data = load("mnist", folder)
    seconds = time.perf_counter() - t0
    assert seconds < 20, f"loading real MNIST took {seconds:.1f} s"
    assert data.train.shape == (55000, 784) and data.validation.shape == (5000, 784)
    assert data.test.shape == (10000, 784)
    assert list(data.train_labels[:5]) == [5, 0, 4, 1, 9]
    assert list(data.test_labels[:5]) == [7, 2, 1, 0, 4]
    counts = np.bincount(np.concatenate([data.train_labels, data.validation_labels]))
    assert list(counts) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert data.train.min() == 0.0 and data.train.max() == 1.0


def test_omniglot_real_counts():
    folder = real_data_dir("omniglot")
    en, gr = load("omniglot_en", folder), load("omniglot_gr", folder)
    assert (len(en.train), len(en.test)) == (390, 130)
    assert (len(gr.train), len(gr.test)) == (360, 120)
    assert len(set(en.train_labels)) == 26 and len(set(gr.test_labels)) == 24
    assert en.train.shape[1] == 784 and 0 <= en.train.min() and en.train.max() <= 1
    assert 0.02 < en.train.mean() < 0.2  # thin strokes on an empty background


def test_faces_real_counts():
    orl = load("orl_faces", real_data_dir("orl_faces"))
    assert len(orl.train) + len(orl.test) == 400 and orl.train.shape[1] == 112 * 92
    yale = load("yale_faces", real_data_dir("yale_faces"))
    # The subset here: 24 subjects, 1,518 valid images (18 .bad and 24 ambient skipped).
    assert len(yale.train) + len(yale.test) == 1518 and yale.train.shape[1] == 192 * 168
    assert len(set(yale.train_labels)) == 24
    for data in (orl, yale):
        assert 0 <= data.train.min() and data.train.max() <= 1


def test_movielens_real_facts():
    folder = real_data_dir("movielens_100k")
    data = load("movielens_100k", folder)
    assert data.train.shape == data.test.shape == (943, 1682)
    assert np.sum(~np.isnan(data.train)) == 90570
    per_user = np.sum(~np.isnan(data.test), axis=1)
    assert np.all(per_user == 10)
    values = data.train[~np.isnan(data.train)]
    assert set(np.unique(values)) == {1, 2, 3, 4, 5}
    folds = [load_fold(folder, k) for k in range(1, 6)]
    assert all(np.sum(~np.isnan(f.test)) == 20000 for f in folds)
    # The five test folds partition all 100,000 ratings.
    union = np.sum([~np.isnan(f.test) for f in folds], axis=0)
    assert union.max() == 1 and union.sum() == 100000
