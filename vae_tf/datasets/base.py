"""The one data struct every loader returns, whatever the source."""

import dataclasses
from typing import Optional, Tuple

import numpy as np

from vae_tf.errors import UserError

# Likelihoods a dataset can call for.
BERNOULLI = "bernoulli"  # values in [0, 1] (binary or grey levels)
RATINGS = "ratings"  # integer ratings 1..5, NaN where unrated


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Arrays of shape [N, D], float32. Images in [0, 1]; ratings 1..5 with NaN."""

    name: str
    train: np.ndarray
    test: np.ndarray
    validation: Optional[np.ndarray] = None
    train_labels: Optional[np.ndarray] = None
    validation_labels: Optional[np.ndarray] = None
    test_labels: Optional[np.ndarray] = None
    image_shape: Optional[Tuple[int, int, int]] = None  # (H, W, C)
    likelihood: str = BERNOULLI
    description: str = ""

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    def __repr__(self) -> str:  # arrays are large: show shapes only
        shapes = {f: getattr(self, f).shape for f in ("train", "validation", "test")
                  if getattr(self, f) is not None}
        return f"Dataset({self.name!r}, {shapes}, image_shape={self.image_shape})"


def check_finite_unit(name: str, array: np.ndarray, where: str) -> None:
    """Raise UserError unless every value of an image array is finite and in [0, 1]."""
    if array.size == 0:
        raise UserError(f"{where}: {name} holds no examples; check the data files")
    if not np.all(np.isfinite(array)):
        raise UserError(f"{where}: {name} contains NaN or infinite values; "
                        "repair or re-download the files")
    lo, hi = float(array.min()), float(array.max())
    if lo < 0.0 or hi > 1.0:
        raise UserError(f"{where}: {name} values span [{lo}, {hi}], expected [0, 1]; "
                        "scale the images to [0, 1]")
