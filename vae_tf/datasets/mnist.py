"""MNIST from its four IDX .gz files, and Larochelle's binarized MNIST from .amat files."""

import os
import struct

import numpy as np

from vae_tf.datasets.base import Dataset
from vae_tf.datasets.files import locate, read_bytes
from vae_tf.errors import UserError

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
AMAT = ("binarized_mnist_train.amat", "binarized_mnist_valid.amat", "binarized_mnist_test.amat")
N_VALIDATION = 5000  # the thesis: the last 5,000 training images
_MAGIC = {1: 2049, 3: 2051}  # IDX magic numbers of unsigned-byte arrays with 1 or 3 dims


def parse_idx(path: str, ndim: int) -> np.ndarray:
    """An unsigned-byte IDX array of `ndim` dimensions, header and size checked."""
    raw = read_bytes(path)
    header = 4 + 4 * ndim
    magic = struct.unpack(">i", raw[:4])[0] if len(raw) >= 4 else None
    if magic is not None and magic != _MAGIC[ndim]:
        raise UserError(f"{path}: IDX magic number {magic}, expected {_MAGIC[ndim]} "
                        f"({ndim}-D unsigned bytes); this is not the right MNIST file")
    if len(raw) < header:
        raise UserError(f"{path}: {len(raw)} bytes is shorter than an IDX header; "
                        "the file is truncated: download it again")
    dims = struct.unpack(f">{ndim}i", raw[4:header])
    size = int(np.prod(dims))
    if len(raw) - header != size:
        raise UserError(f"{path}: header says {'x'.join(map(str, dims))} = {size} values but "
                        f"the file holds {len(raw) - header}; download it again")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def load_mnist_files(data_dir: str) -> Dataset:
    """55,000 train / 5,000 validation (the last of the training file) / 10,000 test."""
    folder = locate(data_dir, "mnist", FILES)
    arrays = [parse_idx(os.path.join(folder, f), 3 if "images" in f else 1) for f in FILES]
    train_x, train_y, test_x, test_y = arrays
    for images, labels, (fi, fl) in ((train_x, train_y, FILES[:2]), (test_x, test_y, FILES[2:])):
        if len(images) != len(labels):
            raise UserError(f"{os.path.join(folder, fi)} holds {len(images)} images but {fl} "
                            f"holds {len(labels)} labels; the two files do not match")
        if images.shape[1:] != (28, 28):
            raise UserError(f"{os.path.join(folder, fi)}: images are {images.shape[1:]}, "
                            "expected 28x28; this is not MNIST")
    return from_arrays("mnist", train_x, train_y, test_x, test_y,
                       f"MNIST from the IDX files in {folder}")


def from_arrays(name, train_x, train_y, test_x, test_y, description) -> Dataset:
    """uint8 [N, 28, 28] images and labels -> the thesis's split, scaled to [0, 1]."""
    def scale(a):
        return (a.reshape(len(a), -1) / np.float32(255)).astype(np.float32)

    n_train = len(train_x) - N_VALIDATION
    return Dataset(
        name=name, train=scale(train_x[:n_train]), train_labels=train_y[:n_train].astype(np.int64),
        validation=scale(train_x[n_train:]), validation_labels=train_y[n_train:].astype(np.int64),
        test=scale(test_x), test_labels=test_y.astype(np.int64), image_shape=(28, 28, 1),
        description=description)


def parse_amat(path: str) -> np.ndarray:
    """Rows of 784 space-separated 0/1 values -> float32 [N, 784]."""
    try:
        values = np.loadtxt(path, dtype=np.float32, ndmin=2)
    except (ValueError, OSError) as e:
        raise UserError(f"{path}: not a table of numbers ({e}); download the file again") from None
    if values.shape[1] != 784 or len(values) == 0:
        raise UserError(f"{path}: {values.shape[1]} values per row, expected 784 "
                        "(28x28 binarized MNIST); this is not the right file")
    if not np.all((values == 0) | (values == 1)):
        raise UserError(f"{path}: values other than 0 and 1; binarized MNIST holds only 0/1")
    return values


def load_binarized_files(data_dir: str) -> Dataset:
    """Larochelle's fixed binarization: 50,000 / 10,000 / 10,000, no labels."""
    folder = locate(data_dir, "binarized_mnist", AMAT)
    train, valid, test = (parse_amat(os.path.join(folder, f)) for f in AMAT)
    return Dataset(name="binarized_mnist", train=train, validation=valid, test=test,
                   image_shape=(28, 28, 1),
                   description=f"binarized MNIST (Larochelle) from the .amat files in {folder}")
