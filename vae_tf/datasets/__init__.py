"""`load(name, data_dir=None) -> Dataset`: every dataset through one interface.

With `data_dir` the original files are parsed; without it TensorFlow Datasets downloads
the data (the faces sets are not in tfds and need `data_dir`; `mnist_5k` is bundled).
`data_dir` is the folder holding the files, or its parent holding the subfolder the
original archive unpacks to (`ml-100k/`, `CroppedYale/`, `cifar-10-batches-py/`,
`images_background/`). One module per source: mnist (IDX), binarized_mnist (.amat),
cifar, omniglot, faces (ORL, Yale), movielens, tfds_source, bundled (mnist_5k).
"""

import os
from typing import Callable, Dict, Optional

from vae_tf.datasets.base import BERNOULLI, RATINGS, Dataset, check_finite_unit
from vae_tf.errors import UserError


def _files(name: str, data_dir: str) -> Dataset:
    from vae_tf.datasets import binarized_mnist, cifar, mnist, movielens, omniglot
    if name == "mnist":
        return mnist.load_mnist_files(data_dir)
    if name == "binarized_mnist":
        return binarized_mnist.load_binarized_files(data_dir)
    if name.startswith("cifar10"):
        return cifar.load_cifar_files(name, data_dir)
    if name.startswith("omniglot"):
        return omniglot.load_omniglot_files(name, data_dir)
    return movielens.load_movielens_files(data_dir)


def _files_or_tfds(name: str) -> Callable[[Optional[str]], Dataset]:
    def load_one(data_dir):
        if data_dir:
            return _files(name, data_dir)
        from vae_tf.datasets.tfds_source import load_tfds
        return load_tfds(name)
    return load_one


def _faces(name: str) -> Callable[[Optional[str]], Dataset]:
    def load_one(data_dir):
        from vae_tf.datasets import faces
        return faces.load_orl_files(data_dir) if name == "orl_faces" else faces.load_yale_files(data_dir)
    return load_one


def _bundled(data_dir: Optional[str]) -> Dataset:
    from vae_tf.datasets.bundled import load_mnist_5k
    return load_mnist_5k()


_LOADERS: Dict[str, Callable[[Optional[str]], Dataset]] = {
    "mnist_5k": _bundled,
    **{n: _files_or_tfds(n) for n in ("mnist", "binarized_mnist", "cifar10_rgb", "cifar10_gray",
                                      "omniglot_en", "omniglot_gr", "movielens_100k")},
    "orl_faces": _faces("orl_faces"),
    "yale_faces": _faces("yale_faces"),
}

NAMES = tuple(_LOADERS)


def load(name: str, data_dir: Optional[str] = None) -> Dataset:
    """Load dataset `name`, from the original files in `data_dir` when given."""
    if name not in _LOADERS:
        raise UserError(f"--dataset={name!r} is unknown; choose one of: {', '.join(NAMES)}")
    if data_dir:
        data_dir = os.path.expanduser(os.fspath(data_dir))
    return _LOADERS[name](data_dir or None)


__all__ = ["BERNOULLI", "RATINGS", "Dataset", "NAMES", "check_finite_unit", "load"]
