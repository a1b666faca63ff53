"""The thesis's missing-data schemes, as boolean masks (True = observed).

Both schemes shuffle the examples with the seed and split them into fifths; the fifth
fifth stays intact, so 60 % of all entries stay observed:

- `structured`: fifth 1 loses the lower half of the rows, fifth 2 the upper half,
  fifth 3 the left half of the columns, fifth 4 the right half. With `third_rows=True`
  fifth 1 loses the rows from H/3 down instead (the variant the thesis used for RGB
  CIFAR-10 and the faces), so less than 60 % stays observed.
- `random`: in fifths 1-4, a random half of each image's pixels is missing.

All channels of a pixel share its fate. In user-facing arrays a missing entry is NaN;
the thesis's marker value (0.5 for images, 0 for ratings) is filled in only inside
its algorithms (`fill`).
"""

from typing import Tuple

import numpy as np

from vae_tf.config import MISSING as SCHEMES
from vae_tf.errors import UserError

MARKER = 0.5  # the thesis's fill value for images (0 for ratings)


def make_mask(n: int, image_shape: Tuple[int, int, int], scheme: str, seed: int,
              third_rows: bool = False) -> np.ndarray:
    """A seeded boolean mask [n, H*W*C]: True where the entry is observed."""
    if scheme not in SCHEMES:
        raise UserError(f"--missing={scheme!r} is unknown; choose one of: {', '.join(SCHEMES)}")
    if image_shape is None or len(image_shape) != 3:
        raise UserError(f"the {scheme} scheme needs images (H, W, C), got shape {image_shape}; "
                        "use a dataset of images")
    if n <= 0:
        raise UserError("there are no examples to remove values from; pass a non-empty array")
    h, w, c = image_shape
    rng = np.random.default_rng(seed)
    fifths = np.array_split(rng.permutation(n), 5)
    mask = np.ones((n, h, w, c), bool)
    if scheme == "structured":
        mask[fifths[0], h // 3 if third_rows else h // 2:] = False
        mask[fifths[1], :h // 2] = False
        mask[fifths[2], :, :w // 2] = False
        mask[fifths[3], :, w // 2:] = False
    else:
        rows = np.concatenate(fifths[:4])
        scores = rng.random((len(rows), h * w))
        hidden = np.argpartition(scores, h * w // 2, axis=1)[:, :h * w // 2]  # half the pixels
        pixels = mask[rows].reshape(len(rows), h * w, c)
        pixels[np.arange(len(rows))[:, None], hidden] = False
        mask[rows] = pixels.reshape(len(rows), h, w, c)
    return mask.reshape(n, -1)


def apply_mask(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A float32 copy of x [N, D] with NaN where mask is False."""
    if x.shape != mask.shape:
        raise UserError(f"the data {x.shape} and the mask {mask.shape} differ in shape; "
                        "build the mask for this array")
    return np.where(mask, x, np.nan).astype(np.float32)


def fill(x: np.ndarray, marker: float = MARKER) -> np.ndarray:
    """x with the thesis's marker value in its holes (inside the thesis algorithms only)."""
    return np.where(np.isnan(x), np.float32(marker), x).astype(np.float32)
