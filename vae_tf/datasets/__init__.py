"""`load(name, data_dir=None) -> Dataset`: every dataset through one interface.

Where the data come from, first match wins:
1. `data_dir`: the folder holding the original files, or its parent holding the subfolder
   the original archive unpacks to (`ml-100k/`, `CroppedYale/`, `cifar-10-batches-py/`,
   `images_background/`);
2. `$VAE_TF_DATA_DIR/<folder>` when the variable is set: a data root laid out like
   shared/data, one sub-folder per dataset (`registry.Entry.folder`); a missing
   sub-folder is an error, not a silent download;
3. TensorFlow Datasets, which downloads on first use (the faces sets are not in tfds and
   need one of the above; `mnist_5k` is bundled and ignores both).
Every per-dataset fact lives in `registry.py`. One module per source: mnist (IDX),
binarized_mnist (.amat), cifar, omniglot, faces (ORL, Yale), movielens, tfds_source,
bundled (mnist_5k).

Every loader of original files refuses, in one line, files it cannot read and a dataset
smaller than the original (a cut file, a deleted folder); `$VAE_TF_ALLOW_SMALL_DATA=1`
(ALLOW_SMALL_VAR) accepts a smaller set on purpose, as the tests' tiny fixtures are.
See files.py.
"""

import os
from typing import Optional

from vae_tf.datasets.base import BERNOULLI, RATINGS, Dataset, check_finite_unit
from vae_tf.datasets.files import ALLOW_SMALL_VAR
from vae_tf.datasets.registry import ENTRIES, NAMES, Entry, entry
from vae_tf.errors import UserError

DATA_DIR_VAR = "VAE_TF_DATA_DIR"


def data_dir_for(name: str, root: Optional[str]) -> Optional[str]:
    """`<root>/<folder of name>` when it exists, else None (TensorFlow Datasets, or bundled)."""
    known = ENTRIES.get(name)
    if not root or known is None or known.folder is None:
        return None
    path = os.path.join(os.path.expanduser(os.fspath(root)), known.folder)
    return path if os.path.isdir(path) else None


def resolve_data_dir(name: str, data_dir: Optional[str] = None) -> Optional[str]:
    """The folder `load(name, data_dir)` reads, or None for TensorFlow Datasets or bundled data.

    An explicit `data_dir` wins; else `$VAE_TF_DATA_DIR/<folder>`, a one-line UserError
    when the variable is set and that sub-folder is missing.
    """
    known = entry(name)
    if known.folder is None:
        return None
    if data_dir:
        return os.path.expanduser(os.fspath(data_dir))
    root = os.environ.get(DATA_DIR_VAR)
    if not root:
        return None
    path = data_dir_for(name, root)
    if path is None:
        fixes = (f", pass --data_dir, or unset {DATA_DIR_VAR} to use TensorFlow Datasets"
                 if known.tfds_builder else " or pass --data_dir")
        raise UserError(f"{DATA_DIR_VAR}={root} has no {known.folder}/ folder for {name}; put "
                        f"its files there ({known.files}){fixes}")
    return path


def where_to_put_files(name: str) -> str:
    """The two ways to give `name`'s original files, as the errors name them."""
    known = entry(name)
    return (f"pass --data_dir=<folder with {known.files}> or set {DATA_DIR_VAR}=<data root "
            f"laid out like shared/data, with {known.folder}/ in it>")


def third_rows(name: str) -> bool:
    """Whether the thesis's structured-hole experiment also ran the H/3 variant on `name`."""
    return entry(name).third_rows


def load(name: str, data_dir: Optional[str] = None) -> Dataset:
    """Load dataset `name` from `data_dir`, the data root, or TensorFlow Datasets (see above)."""
    known = entry(name)
    folder = resolve_data_dir(name, data_dir)
    if folder is None and known.tfds_builder is not None:
        from vae_tf.datasets.tfds_source import load_tfds
        return load_tfds(name)
    return known.loader(folder)


__all__ = ["ALLOW_SMALL_VAR", "BERNOULLI", "DATA_DIR_VAR", "ENTRIES", "NAMES", "RATINGS",
           "Dataset", "Entry", "check_finite_unit", "data_dir_for", "entry", "load",
           "resolve_data_dir", "third_rows", "where_to_put_files"]
