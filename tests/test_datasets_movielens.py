"""MovieLens 100k from ml-100k files the tests write: ua split, u1..u5 folds, every bad line."""

import os

import numpy as np
import pytest

import fixtures
from vae_tf.datasets import ALLOW_SMALL_VAR, load
from vae_tf.datasets.movielens import load_movielens_fold
from vae_tf.errors import UserError


@pytest.fixture(autouse=True)
def small_data_allowed(monkeypatch):
    """These tests load fixtures far smaller than the originals, on purpose."""
    monkeypatch.setenv(ALLOW_SMALL_VAR, "1")


@pytest.fixture(scope="module")
def ml(tmp_path_factory):
    """(the folder holding ml-100k/, the u.data lines as (user, item, rating, time))."""
    folder = tmp_path_factory.mktemp("ml")
    _, lines = fixtures.write_movielens(str(folder))
    return folder, lines


def test_ua_matrices(ml):
    folder, lines = ml
    for data_dir in (folder, folder / "ml-100k"):  # the parent or ml-100k/ itself
        data = load("movielens_100k", str(data_dir))
        assert data.train.shape == data.test.shape == (943, 1682)
    assert data.train.dtype == np.float32 and data.image_shape is None
    assert data.likelihood == "ratings" and data.train_labels is None
    assert np.sum(~np.isnan(data.test)) == 9430 and np.sum(~np.isnan(data.train)) == 943 * 2
    assert np.all(np.sum(~np.isnan(data.test), axis=1) == 10)
    u, i, r, _ = lines[0]
    assert data.test[u - 1, i - 1] == r
    u, i, r, _ = lines[11]  # the 12th rating of user 1 is in ua.base
    assert data.train[u - 1, i - 1] == r and np.isnan(data.test[u - 1, i - 1])
    observed = data.train[~np.isnan(data.train)]
    assert set(np.unique(observed)) <= {1, 2, 3, 4, 5}


def test_folds_partition_the_ratings(ml):
    folder, lines = ml
    folds = [load_movielens_fold(str(folder), k) for k in range(1, 6)]
    union = np.sum([~np.isnan(f.test) for f in folds], axis=0)
    assert union.max() == 1 and union.sum() == len(lines)
    for f in folds:
        assert np.sum(~np.isnan(f.train)) + np.sum(~np.isnan(f.test)) == len(lines)
    for fold in (0, 6, True):
        with pytest.raises(UserError, match="pass a fold 1..5"):
            load_movielens_fold(str(folder), fold)


def raises_one_line(data_dir, needle, match, loader=None):
    with pytest.raises(UserError, match=match) as err:
        (loader or (lambda d: load("movielens_100k", d)))(str(data_dir))
    message = str(err.value)
    assert len(message.splitlines()) == 1 and str(needle) in message, message


@pytest.mark.parametrize("line, message", [
    ("1\t2\t6\t880000000\n", "rating 6 out of range"),
    ("1\t2\t0\t880000000\n", "rating 0 out of range"),
    ("1\t1683\t3\t880000000\n", "item 1683, rating 3 out of range"),
    ("944\t2\t3\t880000000\n", "user 944, item 2, rating 3 out of range"),
    ("0\t2\t3\t880000000\n", "user 0, item 2"),
    ("1\tx\t3\t880000000\n", "is not user<TAB>item<TAB>rating<TAB>timestamp"),
    ("1\t2\t3.5\t880000000\n", "is not user<TAB>item"),
    ("1\t2\t-3\t880000000\n", "is not user<TAB>item"),
    ("1\t2\t3\n", "is not user<TAB>item"),
    ("1\t2\t3\t880000000\t7\n", "is not user<TAB>item"),
    ("1 2 3 880000000\n", "is not user<TAB>item"),
    ("\n", "is not user<TAB>item"),
])
def test_bad_rating_lines(tmp_path, line, message):
    root, _ = fixtures.write_movielens(str(tmp_path))
    with open(os.path.join(root, "ua.test"), "a") as f:
        f.write(line)
    raises_one_line(tmp_path, "ua.test", f"ua.test, line 9431: .*{message}")


def test_bad_rating_files(tmp_path):
    root, lines = fixtures.write_movielens(str(tmp_path))
    u, i, r, t = lines[0]  # in ua.test
    with open(os.path.join(root, "ua.base"), "a") as f:
        f.write(f"{u}\t{i}\t{r}\t{t}\n")  # now in both files
    raises_one_line(tmp_path, "ua.base", "share a .* rating; .* must be disjoint")
    with open(os.path.join(root, "ua.base"), "a") as f:
        f.write(f"{u}\t{i}\t{r}\t{t}\n")  # twice in ua.base
    raises_one_line(tmp_path, "ua.base", f"user {u} rates item {i} more than once")
    open(os.path.join(root, "u3.test"), "w").close()
    raises_one_line(tmp_path, "u3.test", "holds no ratings",
                    loader=lambda d: load_movielens_fold(d, 3))
    os.remove(os.path.join(root, "ua.test"))
    raises_one_line(tmp_path, "ml-100k", "movielens_100k needs ua.test")
