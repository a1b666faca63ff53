"""The TensorFlow Datasets path: download on first use, then the same arrays as the files.

Where tfds differs from the original files: its OMNIGLOT has no drawer field, so the
first 15 images of each character in tfds's order are the training split and the other
5 the test split; its MovieLens has no ua split, so a seeded hold-out of 10 ratings per
user stands in for ua.test (not the official file split).
"""

from typing import Dict

import numpy as np

from vae_tf.datasets import cifar, mnist, movielens, omniglot
from vae_tf.datasets.base import RATINGS, Dataset
from vae_tf.errors import UserError

BUILDERS = {"mnist": "mnist", "binarized_mnist": "binarized_mnist", "cifar10_rgb": "cifar10",
            "cifar10_gray": "cifar10", "omniglot_en": "omniglot", "omniglot_gr": "omniglot",
            "movielens_100k": "movielens/100k-ratings"}
FILES = {"mnist": "the four MNIST IDX .gz files", "binarized_mnist":
         "binarized_mnist_{train,valid,test}.amat", "cifar10_rgb": "cifar-10-batches-py/",
         "cifar10_gray": "cifar-10-batches-py/", "omniglot_en": "images_background/Latin/",
         "omniglot_gr": "images_background/Greek/", "movielens_100k": "ml-100k/ua.base, ua.test"}
HOLD_OUT_PER_USER = 10


# Where each builder downloads from: resolved first, so an offline machine fails in
# seconds instead of after tfds's minutes of retries.
HOSTS = {"mnist": "storage.googleapis.com", "binarized_mnist": "www.cs.toronto.edu",
         "cifar10": "www.cs.toronto.edu", "omniglot": "github.com",
         "movielens/100k-ratings": "files.grouplens.org"}


def _online(host: str) -> bool:
    import socket
    try:
        socket.getaddrinfo(host, 443)
        return True
    except OSError:
        return False


def _arrays(splits, keys):
    """tf.data splits of feature dicts -> one dict of numpy arrays (`keys` only) per split."""
    import tensorflow_datasets as tfds

    def one(ds):
        ds = ds.map(lambda example: {k: example[k] for k in keys})
        parts = list(tfds.as_numpy(ds.batch(4096)))
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}

    return [one(ds) for ds in splits] if isinstance(splits, list) else one(splits)


def _load(name: str, split, keys=("image", "label")) -> Dict:
    """tfds.load as numpy arrays; a failed download becomes one UserError line."""
    import tensorflow_datasets as tfds
    builder = BUILDERS[name]
    try:
        return _arrays(tfds.load(builder, split=split, download=False), keys)
    except Exception:  # not prepared yet: download it below
        pass
    try:
        if not _online(HOSTS[builder]):
            raise OSError(f"cannot resolve {HOSTS[builder]}: no network")
        return _arrays(tfds.load(builder, split=split), keys)
    except Exception as e:  # download and preparation errors come in many types
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise UserError(f"{name}: TensorFlow Datasets could not download or prepare "
                        f"'{BUILDERS[name]}' ({first}); pass --data_dir=<folder with "
                        f"{FILES[name]}> instead") from None


def load_tfds(name: str) -> Dataset:
    if name == "mnist":
        train, test = _load(name, ["train", "test"])
        if len(train["image"]) <= mnist.N_VALIDATION:
            raise UserError(f"mnist: TensorFlow Datasets gave {len(train['image'])} training "
                            f"images, fewer than the {mnist.N_VALIDATION} of the validation split")
        return mnist.from_arrays(name, train["image"][..., 0], train["label"],
                                 test["image"][..., 0], test["label"],
                                 "MNIST from TensorFlow Datasets")
    if name == "binarized_mnist":
        parts = [(p["image"].reshape(len(p["image"]), -1) > 0).astype(np.float32)
                 for p in _load(name, ["train", "validation", "test"], keys=("image",))]
        return Dataset(name=name, train=parts[0], validation=parts[1], test=parts[2],
                       image_shape=(28, 28, 1), description="binarized MNIST from TensorFlow Datasets")
    if name in ("cifar10_rgb", "cifar10_gray"):
        train, test = _load(name, ["train", "test"])
        return cifar.to_dataset(name, train["image"], train["label"].astype(np.int64),
                                test["image"], test["label"].astype(np.int64),
                                "CIFAR-10 from TensorFlow Datasets")
    if name in omniglot.ALPHABETS:
        return _omniglot(name)
    if name == "movielens_100k":
        return _movielens(name)
    raise UserError(f"{name} is not in TensorFlow Datasets; pass --data_dir with its files")


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
    data = _load(name, "train", keys=("image", "alphabet", "alphabet_char_id"))  # background set
    alphabet = omniglot.ALPHABETS[name]
    index = alphabet_index(alphabet)
    keep = np.flatnonzero(data["alphabet"] == index)
    chars = data["alphabet_char_id"][keep]
    xs = np.stack([omniglot.ink_to_28x28(data["image"][i][..., 0]) for i in keep]) \
        if len(keep) else np.zeros((0, 784), np.float32)
    rank = np.zeros(len(keep), int)  # position of each image within its character
    for c in np.unique(chars):
        rank[chars == c] = np.arange(np.sum(chars == c))
    train = rank < 15
    labels = chars.astype(np.int64)
    return Dataset(name=name, train=xs[train], train_labels=labels[train], test=xs[~train],
                   test_labels=labels[~train], image_shape=(28, 28, 1),
                   description=f"OMNIGLOT {alphabet} from TensorFlow Datasets (first 15 "
                               "images of a character train, the rest test)")


def _movielens(name: str) -> Dataset:
    data = _load(name, "train", keys=("user_id", "movie_id", "user_rating"))
    users = np.array([int(u) for u in data["user_id"]])
    items = np.array([int(m) for m in data["movie_id"]])
    ratings = np.asarray(data["user_rating"]).astype(np.int64)
    triples = np.stack([users, items, ratings], 1)
    rng = np.random.default_rng(0)
    held = np.zeros(len(triples), bool)
    for u in np.unique(users):
        rows = np.flatnonzero(users == u)
        held[rng.choice(rows, min(HOLD_OUT_PER_USER, len(rows)), replace=False)] = True
    where = "movielens/100k-ratings (TensorFlow Datasets)"
    return Dataset(name=name, train=movielens.to_matrix(triples[~held], where),
                   test=movielens.to_matrix(triples[held], where), likelihood=RATINGS,
                   description="MovieLens 100k from TensorFlow Datasets, with a seeded "
                               "10-ratings-per-user hold-out (not the official ua split)")
