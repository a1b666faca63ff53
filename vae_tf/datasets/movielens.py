"""MovieLens 100k from `ml-100k/`: 943 users x 1682 movies, ratings 1..5, NaN where unrated.

`load_movielens_files` gives ua.base (train) and ua.test (test), the thesis's split, in
which ua.test holds the first 10 ratings of each user in u.data's line order;
`load_movielens_fold(data_dir, k)` gives fold uk (k = 1..5: uk.base / uk.test, 80,000 /
20,000 ratings; the five uk.test partition u.data). Every line is checked: four
tab-separated integers, user 1..943, item 1..1682, rating 1..5, no pair rated twice.
A file holding fewer ratings than the original (ua.base 90,570, ua.test 9,430, uk.base
80,000, uk.test 20,000) is refused (files.check_count): a cut file would train silently.
"""

import os
from typing import Tuple

import numpy as np

from vae_tf.datasets.base import RATINGS, Dataset
from vae_tf.datasets.files import check_count, locate, note_read, unreadable
from vae_tf.errors import UserError

N_USERS, N_ITEMS = 943, 1682
OFFICIAL = {"ua.base": 90570, "ua.test": 9430,  # ratings a file of the original holds
            **{f"u{k}.base": 80000 for k in range(1, 6)},
            **{f"u{k}.test": 20000 for k in range(1, 6)}}


def parse_ratings(path: str) -> np.ndarray:
    """Lines `user<TAB>item<TAB>rating<TAB>timestamp` -> int array [n, 3], every line checked."""
    try:
        return _parse_lines(path)
    except OSError as e:
        raise unreadable(path, e) from None


def _parse_lines(path: str) -> np.ndarray:
    """parse_ratings without the read-error handling."""
    rows = []
    with open(path, "r", encoding="latin-1") as f:
        for number, line in enumerate(f, 1):
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != 4 or not all(v.isascii() and v.isdigit() for v in fields):
                raise UserError(f"{path}, line {number}: {line.strip()[:80]!r} is not "
                                "user<TAB>item<TAB>rating<TAB>timestamp; restore the original "
                                "file")
            user, item, rating = int(fields[0]), int(fields[1]), int(fields[2])
            if not (1 <= user <= N_USERS and 1 <= item <= N_ITEMS and 1 <= rating <= 5):
                raise UserError(f"{path}, line {number}: user {user}, item {item}, rating "
                                f"{rating} out of range (users 1..{N_USERS}, items "
                                f"1..{N_ITEMS}, ratings 1..5); restore the original file")
            rows.append((user, item, rating))
    if not rows:
        raise UserError(f"{path}: holds no ratings; restore the original file")
    note_read(path)
    return np.array(rows, np.int64)


def to_matrix(triples: np.ndarray, path: str) -> np.ndarray:
    """[n, 3] (user, item, rating) -> float32 [943, 1682] with NaN where unrated."""
    matrix = np.full((N_USERS, N_ITEMS), np.nan, np.float32)
    users, items = triples[:, 0] - 1, triples[:, 1] - 1
    keys, counts = np.unique(users * N_ITEMS + items, return_counts=True)
    if np.any(counts > 1):
        user, item = divmod(int(keys[np.argmax(counts > 1)]), N_ITEMS)
        raise UserError(f"{path}: user {user + 1} rates item {item + 1} more than once; "
                        "restore the original file")
    matrix[users, items] = triples[:, 2]
    return matrix


def _split(data_dir: str, base: str, test: str) -> Tuple[np.ndarray, np.ndarray, str]:
    folder = locate(data_dir, "movielens_100k", (base, test), subfolders=("ml-100k",))
    paths = [os.path.join(folder, f) for f in (base, test)]
    triples = [parse_ratings(p) for p in paths]
    train, held_out = (to_matrix(t, p) for t, p in zip(triples, paths))
    if np.any(~np.isnan(train) & ~np.isnan(held_out)):
        raise UserError(f"{paths[0]} and {paths[1]} share a (user, item) rating; a split's two "
                        "files must be disjoint: restore the original files")
    # Counts last: a damaged file's error is then the one line, no count warning before it.
    for p, f, rows in zip(paths, (base, test), triples):
        check_count(p, "ratings", len(rows), OFFICIAL[f],
                    "restore the original file from ml-100k.zip")
    return train, held_out, folder


def load_movielens_files(data_dir: str) -> Dataset:
    """ua.base (train, 90,570 ratings) and ua.test (test, 10 a user) as 943 x 1682 matrices."""
    train, test, folder = _split(data_dir, "ua.base", "ua.test")
    return Dataset(name="movielens_100k", train=train, test=test, likelihood=RATINGS,
                   description=f"MovieLens 100k ua.base / ua.test from {folder}")


def load_movielens_fold(data_dir: str, fold: int) -> Dataset:
    """Fold u<fold> (1..5): u<fold>.base / u<fold>.test as 943 x 1682 matrices."""
    if isinstance(fold, bool) or fold not in range(1, 6):
        raise UserError(f"MovieLens fold {fold!r} does not exist; pass a fold 1..5 (u1 .. u5)")
    train, test, folder = _split(data_dir, f"u{fold}.base", f"u{fold}.test")
    return Dataset(name="movielens_100k", train=train, test=test, likelihood=RATINGS,
                   description=f"MovieLens 100k fold u{fold} from {folder}")
