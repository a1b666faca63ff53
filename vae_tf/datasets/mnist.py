"""MNIST from its four original IDX .gz files, split as the thesis: 55,000 / 5,000 / 10,000.

The validation split is the last 5,000 images of the training file. Files holding fewer
images than the original 60,000 / 10,000 are refused (files.check_count), and so is a file
larger than the original: it is inflated no further than the original's size (a gzip bomb
never fills the memory) and its header's dimensions must match the bytes it holds.
"""

import math
import os
import struct

import numpy as np

from vae_tf.datasets.base import Dataset
from vae_tf.datasets.files import check_count, locate, read_bytes
from vae_tf.errors import UserError

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
OFFICIAL = {"train": 60000, "t10k": 10000}
N_VALIDATION = 5000  # the thesis: the last 5,000 training images
_MAGIC = {1: 2049, 3: 2051}  # IDX magic numbers of unsigned-byte arrays with 1 or 3 dims


def original_size(file: str) -> int:
    """Bytes of the original un-gzipped IDX `file`: its header, then 60,000 or 10,000 items."""
    images = OFFICIAL[file.split("-")[0]]
    return 16 + images * 28 * 28 if "images" in file else 8 + images


def parse_idx(path: str, ndim: int, limit: int) -> np.ndarray:
    """An unsigned-byte IDX array of `ndim` dimensions, at most `limit` bytes, header and
    size checked before any array is made."""
    raw = read_bytes(path, limit)
    header = 4 + 4 * ndim
    magic = struct.unpack(">i", raw[:4])[0] if len(raw) >= 4 else None
    if magic is not None and magic != _MAGIC[ndim]:
        raise UserError(f"{path}: IDX magic number {magic}, expected {_MAGIC[ndim]} "
                        f"({ndim}-D unsigned bytes); this is not the right MNIST file")
    if len(raw) < header:
        raise UserError(f"{path}: {len(raw)} bytes is shorter than an IDX header; "
                        "the file is truncated: download it again")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    size = math.prod(dims)  # exact: numpy's int64 product wraps (2**30 x 2**30 x 16 -> 0)
    if len(raw) - header != size:
        raise UserError(f"{path}: header says {'x'.join(map(str, dims))} = {size} values but "
                        f"the file holds {len(raw) - header}; the file is damaged or not an "
                        "MNIST file: download it again")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _pair(folder: str, images_file: str, labels_file: str):
    """Images [N, 28, 28] and labels [N] of one split, checked against each other."""
    images_path, labels_path = (os.path.join(folder, f) for f in (images_file, labels_file))
    images = parse_idx(images_path, 3, original_size(images_file))
    labels = parse_idx(labels_path, 1, original_size(labels_file))
    if images.shape[1:] != (28, 28):
        raise UserError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, "
                        "expected 28x28; this is not MNIST")
    if len(images) != len(labels):
        raise UserError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                        f"{len(labels)} labels; the two files do not match: download both again")
    if len(labels) and labels.max() > 9:
        raise UserError(f"{labels_path}: label {labels.max()} outside 0..9; "
                        "this is not an MNIST label file")
    return images, labels


def load_mnist_files(data_dir: str) -> Dataset:
    """55,000 train / 5,000 validation (the last of the training file) / 10,000 test."""
    folder = locate(data_dir, "mnist", FILES)
    train_x, train_y = _pair(folder, *FILES[:2])
    test_x, test_y = _pair(folder, *FILES[2:])
    for images, images_file in ((train_x, FILES[0]), (test_x, FILES[2])):  # damage first
        check_count(os.path.join(folder, images_file), "images", len(images),
                    OFFICIAL[images_file.split("-")[0]], "download the original file again")
    return from_arrays("mnist", train_x, train_y, test_x, test_y,
                       f"MNIST from the IDX files in {folder} (last 5,000 training images "
                       "are the validation split)", where=os.path.join(folder, FILES[0]))


def from_arrays(name, train_x, train_y, test_x, test_y, description, where) -> Dataset:
    """uint8 [N, 28, 28] images and labels -> the thesis's split, scaled to [0, 1]."""
    n_train = len(train_x) - N_VALIDATION
    if n_train <= 0 or len(test_x) == 0:
        raise UserError(f"{where}: {len(train_x)} training and {len(test_x)} test images; "
                        f"the split needs more than {N_VALIDATION} training images (the "
                        "validation split) and at least one test image: use the full files")

    def scale(a):
        return a.reshape(len(a), -1).astype(np.float32) / np.float32(255)

    return Dataset(
        name=name, train=scale(train_x[:n_train]), train_labels=train_y[:n_train].astype(np.int64),
        validation=scale(train_x[n_train:]), validation_labels=train_y[n_train:].astype(np.int64),
        test=scale(test_x), test_labels=test_y.astype(np.int64), image_shape=(28, 28, 1),
        description=description)
