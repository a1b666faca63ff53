"""`load(name, data_dir=None) -> Dataset`: every dataset through one interface."""

from typing import Callable, Dict, Optional

from vae_tf.datasets.base import BERNOULLI, RATINGS, Dataset
from vae_tf.datasets.bundled import load_mnist_5k
from vae_tf.errors import UserError

# name -> loader(data_dir) ; loaders that need no files ignore data_dir.
_LOADERS: Dict[str, Callable[[Optional[str]], Dataset]] = {
    "mnist_5k": lambda data_dir: load_mnist_5k(),
}

NAMES = tuple(_LOADERS)


def load(name: str, data_dir: Optional[str] = None) -> Dataset:
    """Load dataset `name`, from the original files in `data_dir` when given."""
    if name not in _LOADERS:
        raise UserError(f"--dataset={name!r} is unknown; choose one of: {', '.join(NAMES)}")
    return _LOADERS[name](data_dir)


__all__ = ["BERNOULLI", "RATINGS", "Dataset", "NAMES", "load"]
