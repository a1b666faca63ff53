"""Holed copies of images, and the sound protocol's MNIST split with its seeds.

The sound protocol (mnist_imputation.py, miwae_vs_knn.py): every method learns from the
holed training images and imputes held-out holed test images, errors over the missing
entries only; K and the like are chosen on holed validation images: MNIST's first 1,000,
or under --quick (mnist_5k has no validation split) the last 500 training images, taken
out of the training set. The holes' seeds are the run's seed plus TRAIN, TEST or VALID
(miwae_defaults.py and miwae_coverage.py hole their images with the same offsets).
"""

import dataclasses

import numpy as np

TRAIN, TEST, VALID = 4, 5, 6  # seed offsets of the training, test and validation holes
N_VALID, N_CARVED = 1000, 500  # validation images: MNIST's first; else the last training ones


def holes(x: np.ndarray, scheme: str, seed: int, shape=(28, 28, 1), third_rows: bool = False):
    """(x with NaN in its holes [N, D], the mask [N, D]: True = observed) for vae_tf.missing's
    `scheme` on images of `shape` (H, W, C), seeded."""
    from vae_tf.missing import apply_mask, make_mask
    mask = make_mask(len(x), shape, scheme, seed, third_rows=third_rows)
    return apply_mask(x, mask), mask


@dataclasses.dataclass(frozen=True)
class SoundSplit:
    """One scheme's images of the sound protocol: the clean ones where they are scored, the
    holed ones every method sees, and the masks (True = observed)."""

    train_holed: np.ndarray  # [N, D] the training images (the validation ones left out)
    valid: np.ndarray  # [V, D] clean validation images
    valid_holed: np.ndarray
    valid_mask: np.ndarray
    test_holed: np.ndarray  # [T, D] the dataset's test images, holed
    test_mask: np.ndarray


def sound_split(data, scheme: str, seed: int) -> SoundSplit:
    """The sound protocol's holed images of `data` (a vae_tf Dataset of 28x28 images)."""
    train = data.train
    if data.validation is not None:
        valid = data.validation[:N_VALID]
    else:  # mnist_5k (--quick): validation images taken out of the training images
        train, valid = data.train[:-N_CARVED], data.train[-N_CARVED:]
    valid_holed, valid_mask = holes(valid, scheme, seed + VALID)
    test_holed, test_mask = holes(data.test, scheme, seed + TEST)
    return SoundSplit(holes(train, scheme, seed + TRAIN)[0], valid, valid_holed, valid_mask,
                      test_holed, test_mask)
