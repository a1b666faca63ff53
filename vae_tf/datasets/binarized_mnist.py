"""Larochelle and Murray's binarized MNIST from `binarized_mnist_{train,valid,test}.amat`.

Each file is text, one image a line: 784 values 0 or 1 separated by spaces. The fixed
binarization was one random sample, so it cannot be recomputed from MNIST; the splits
are 50,000 / 10,000 / 10,000 images without labels; a file holding fewer is refused
(files.check_count).
"""

import io
import os
from typing import Optional

import numpy as np

from vae_tf.datasets.base import Dataset
from vae_tf.datasets.files import check_count, locate, one_line, read_bytes
from vae_tf.errors import UserError

FILES = ("binarized_mnist_train.amat", "binarized_mnist_valid.amat", "binarized_mnist_test.amat")
OFFICIAL = (50000, 10000, 10000)
PIXELS = 784
_ALLOWED = np.zeros(256, bool)
_ALLOWED[[ord(c) for c in "01 \t\r\n"]] = True


def _single_digit_rows(raw: bytes, path: str) -> Optional[np.ndarray]:
    """Fast path for files of single 0/1 digits: float32 [N, D]; None for any other text."""
    chars = np.frombuffer(raw, np.uint8)
    if not _ALLOWED[chars].all():
        return None
    digit = (chars - np.uint8(ord("0"))) < 2  # '0' or '1'
    if np.any(digit[1:] & digit[:-1]):  # a number of several digits: not 0/1
        return None
    starts = np.concatenate([[0], np.flatnonzero(chars == ord("\n")) + 1])
    starts = starts[starts < len(chars)]
    per_line = np.add.reduceat(digit, starts, dtype=np.int64)
    wrong = np.flatnonzero((per_line != PIXELS) & (per_line > 0))
    if len(wrong):
        line = int(wrong[0]) + 1
        raise UserError(f"{path}, line {line}: {per_line[wrong[0]]} values, expected {PIXELS} "
                        "(a 28x28 binarized image); the file is damaged: download it again")
    return (chars[digit] - np.uint8(ord("0"))).astype(np.float32).reshape(-1, PIXELS)


def parse_amat(path: str) -> np.ndarray:
    """Rows of 784 space-separated 0/1 values -> float32 [N, 784], every value checked."""
    raw = read_bytes(path)
    if not raw.strip():
        raise UserError(f"{path}: the file is empty; download it again")
    values = _single_digit_rows(raw, path)
    if values is None:  # other number formats ("1.0", "1e0"): the slower general reader
        try:
            values = np.loadtxt(io.StringIO(raw.decode("latin-1")), dtype=np.float32, ndmin=2)
        except ValueError as e:
            raise UserError(f"{path}: not a table of numbers ({one_line(e)}); "
                            "download the file again") from None
        if values.shape[1] != PIXELS:
            raise UserError(f"{path}: {values.shape[1]} values per row, expected {PIXELS} "
                            "(28x28 binarized MNIST); this is not the right file")
        if not np.all((values == 0) | (values == 1)):
            raise UserError(f"{path}: values other than 0 and 1; binarized MNIST holds only 0/1: "
                            "this is not the right file")
    return values


def load_binarized_files(data_dir: str) -> Dataset:
    """The fixed binarization: 50,000 / 10,000 / 10,000 images, no labels."""
    folder = locate(data_dir, "binarized_mnist", FILES)
    splits = []
    for f, official in zip(FILES, OFFICIAL):
        path = os.path.join(folder, f)
        splits.append(parse_amat(path))
        check_count(path, "images", len(splits[-1]), official, "download the original file again")
    train, valid, test = splits
    return Dataset(name="binarized_mnist", train=train, validation=valid, test=test,
                   image_shape=(28, 28, 1),
                   description=f"binarized MNIST (Larochelle and Murray) from the .amat files "
                               f"in {folder}")
