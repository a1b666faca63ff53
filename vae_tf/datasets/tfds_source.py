"""The TensorFlow Datasets path: download on first use, then the same arrays as the files.

Where tfds cannot give exactly what the original files give:
- mnist: tfds stores examples in an order fixed by hashing their keys, not the file's
  order, so the validation split is the last 5,000 images of tfds's order, not the last
  5,000 of the training file (the same sizes, 55,000 / 5,000 / 10,000).
- omniglot: tfds has no drawer field. The first 15 images of each character in tfds's
  stored order (fixed by tfds, the same on every machine) are the training split and the
  other 5 the test split: the thesis's counts (390 / 130, 360 / 120), other drawers.
- movielens: tfds has no ua split. Ratings are sorted by (user, item) and a seeded
  (seed 0) random 10 of each user's ratings are the test split: the size of ua.test,
  but NOT the official ua.base / ua.test files.
Each name's builder, download host and the files its errors name come from registry.py.
"""

import contextlib
import logging
import os
from typing import Dict, Sequence

import numpy as np

from vae_tf.datasets import cifar, mnist, movielens, omniglot, where_to_put_files
from vae_tf.datasets.base import RATINGS, Dataset
from vae_tf.datasets.files import one_line
from vae_tf.datasets.registry import entry
from vae_tf.errors import UserError

_PROXIES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
HOLD_OUT_PER_USER, HOLD_OUT_SEED = 10, 0


def _online(host: str) -> bool:
    """False when `host` cannot be resolved (and no proxy would resolve it instead)."""
    import socket
    if any(os.environ.get(v) for v in _PROXIES):
        return True
    try:
        socket.getaddrinfo(host, 443)
        return True
    except OSError:
        return False


@contextlib.contextmanager
def _no_missing_copy_warning():
    """Drop tfds's warning that a dataset has no prepared copy yet (`Variant folder ...
    has no dataset_info.json`): expected before the first download, and noise before the
    one-line error when the download fails."""
    def keep(record: logging.LogRecord) -> bool:
        return not ("tensorflow_datasets" in record.pathname
                    and str(record.msg).startswith("Variant folder"))
    absl_logger = logging.getLogger("absl")
    absl_logger.addFilter(keep)
    try:
        yield
    finally:
        absl_logger.removeFilter(keep)


def _splits(name: str, split):
    """tfds's tf.data split(s), downloading on first use; a failure is one UserError line."""
    import tensorflow_datasets as tfds
    known = entry(name)
    builder = known.tfds_builder
    with _no_missing_copy_warning():
        try:
            return tfds.load(builder, split=split, download=False)
        except Exception:  # not prepared yet: download it below
            pass
        try:
            if not _online(known.tfds_host):
                raise OSError(f"cannot resolve {known.tfds_host}: no network")
            return tfds.load(builder, split=split)
        except Exception as e:  # download and preparation errors come in many types
            raise UserError(f"{name}: TensorFlow Datasets could not download or prepare "
                            f"'{builder}' ({one_line(e)[:160]}); "
                            f"{where_to_put_files(name)}") from None


def _arrays(name: str, ds, keys: Sequence[str], keep=None) -> Dict[str, np.ndarray]:
    """One tf.data split of feature dicts -> numpy arrays of `keys` (examples where `keep`)."""
    import tensorflow as tf
    import tensorflow_datasets as tfds
    known = entry(name)
    if keep is not None:
        ds = ds.filter(keep)
    ds = ds.map(lambda example: {k: example[k] for k in keys})
    try:
        parts = list(tfds.as_numpy(ds.batch(4096)))
    except tf.errors.OpError as e:
        raise UserError(f"{name}: TensorFlow Datasets' prepared copy of '{known.tfds_builder}' "
                        f"cannot be read ({one_line(e)[:160]}); delete its folder under "
                        "~/tensorflow_datasets and load again") from None
    if not parts:
        raise UserError(f"{name}: TensorFlow Datasets' '{known.tfds_builder}' gave no examples; "
                        f"{where_to_put_files(name)}")
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def load_tfds(name: str) -> Dataset:
    """Dataset `name` from TensorFlow Datasets, split as the original-file loaders split it."""
    known = entry(name)
    if known.tfds_builder is None:
        raise UserError(f"{name} is not in TensorFlow Datasets; {where_to_put_files(name)}")
    if name == "mnist":
        train, test = (_arrays(name, ds, ("image", "label"))
                       for ds in _splits(name, ["train", "test"]))
        return mnist.from_arrays(name, train["image"][..., 0], train["label"],
                                 test["image"][..., 0], test["label"],
                                 "MNIST from TensorFlow Datasets (last 5,000 of tfds's training "
                                 "order are the validation split)", where="tfds mnist")
    if name == "binarized_mnist":
        parts = [(_arrays(name, ds, ("image",))["image"] > 0).reshape(-1, 784).astype(np.float32)
                 for ds in _splits(name, ["train", "validation", "test"])]
        return Dataset(name=name, train=parts[0], validation=parts[1], test=parts[2],
                       image_shape=(28, 28, 1),
                       description="binarized MNIST (Larochelle and Murray) from TensorFlow "
                                   "Datasets")
    if name in ("cifar10_rgb", "cifar10_gray"):
        train, test = (_arrays(name, ds, ("image", "label"))
                       for ds in _splits(name, ["train", "test"]))
        colour = "grey, ITU-R 601 luma" if name == "cifar10_gray" else "RGB"
        return cifar.to_dataset(name, train["image"], train["label"].astype(np.int64),
                                test["image"], test["label"].astype(np.int64),
                                f"CIFAR-10 ({colour}) from TensorFlow Datasets")
    if name in omniglot.ALPHABETS:
        return _omniglot(name)
    if name == "movielens_100k":
        return _movielens(name)
    raise UserError(f"{name}: the registry names tfds builder '{known.tfds_builder}' but "
                    "tfds_source has no reader for it; pass --data_dir with its files")


def alphabet_index(alphabet: str) -> int:
    """The tfds class id of `alphabet`, from the names tfds records when it prepares the data."""
    import tensorflow_datasets as tfds
    names = tfds.builder("omniglot").info.features["alphabet"].names
    for i, n in enumerate(names):
        if n.lower() == alphabet.lower():
            return i
    raise UserError(f"omniglot: TensorFlow Datasets' metadata names no alphabet {alphabet!r}; "
                    "pass --data_dir=<folder with images_background/> instead")


def _omniglot(name: str) -> Dataset:
    alphabet = omniglot.ALPHABETS[name]
    ds = _splits(name, "train")  # the background set; prepared from here on
    index = alphabet_index(alphabet)
    data = _arrays(name, ds, ("image", "alphabet_char_id"),
                   keep=lambda example: example["alphabet"] == index)
    chars = data["alphabet_char_id"].astype(np.int64)  # character number - 1, as the files
    x = np.stack([omniglot.ink_to_28x28(image[..., 0]) for image in data["image"]])
    rank = np.zeros(len(chars), int)  # position of each image within its character
    for c in np.unique(chars):
        rank[chars == c] = np.arange(np.sum(chars == c))
    train = rank < len(omniglot.TRAIN_DRAWERS)
    return Dataset(name=name, train=x[train], train_labels=chars[train], test=x[~train],
                   test_labels=chars[~train], image_shape=(omniglot.SIZE, omniglot.SIZE, 1),
                   description=f"OMNIGLOT {alphabet} from TensorFlow Datasets, 28x28 (first 15 "
                               "images of a character in tfds's order train, the rest test)")


def _movielens(name: str) -> Dataset:
    data = _arrays(name, _splits(name, "train"), ("user_id", "movie_id", "user_rating"))
    where = "movielens/100k-ratings (TensorFlow Datasets)"
    try:
        users = np.array([int(u) for u in data["user_id"]], np.int64)
        items = np.array([int(m) for m in data["movie_id"]], np.int64)
    except ValueError as e:
        raise UserError(f"{where}: a user or movie id is not a number ({one_line(e)}); "
                        "pass --data_dir=<folder with ml-100k/> instead") from None
    ratings = np.asarray(data["user_rating"], np.float64)
    if (users.min() < 1 or users.max() > movielens.N_USERS or items.min() < 1
            or items.max() > movielens.N_ITEMS or np.any(ratings != np.round(ratings))
            or ratings.min() < 1 or ratings.max() > 5):
        raise UserError(f"{where}: ids or ratings out of range (users 1..{movielens.N_USERS}, "
                        f"items 1..{movielens.N_ITEMS}, ratings 1..5); pass --data_dir=<folder "
                        "with ml-100k/> instead")
    triples = np.stack([users, items, ratings.astype(np.int64)], 1)
    triples = triples[np.lexsort((triples[:, 1], triples[:, 0]))]  # independent of tfds's order
    held = _hold_out(triples[:, 0])
    return Dataset(name=name, train=movielens.to_matrix(triples[~held], where),
                   test=movielens.to_matrix(triples[held], where), likelihood=RATINGS,
                   description="MovieLens 100k from TensorFlow Datasets, with a seeded "
                               "10-ratings-per-user hold-out (not the official ua split)")


def _hold_out(users: np.ndarray) -> np.ndarray:
    """A seeded random HOLD_OUT_PER_USER rows of each user (all of a user with fewer)."""
    key = np.random.default_rng(HOLD_OUT_SEED).random(len(users))
    order = np.lexsort((key, users))  # by user, randomly within a user
    sorted_users = users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    rank = np.arange(len(users)) - np.repeat(starts, np.diff(np.r_[starts, len(users)]))
    held = np.zeros(len(users), bool)
    held[order[rank < HOLD_OUT_PER_USER]] = True
    return held
