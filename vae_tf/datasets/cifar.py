"""CIFAR-10 from the `cifar-10-batches-py/` pickles, in colour or grey (ITU-R 601 luma)."""

import os
import pickle

import numpy as np

from vae_tf.datasets.base import Dataset
from vae_tf.datasets.files import locate
from vae_tf.errors import UserError

TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST = ("test_batch",)
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601


def parse_batch(path: str):
    """uint8 images [N, 32, 32, 3] and labels [N] of one pickled CIFAR-10 batch."""
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data, labels = batch[b"data"], batch[b"labels"]
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as e:
        raise UserError(f"{path}: not a CIFAR-10 python batch ({type(e).__name__}: {e}); "
                        "download cifar-10-python.tar.gz again and unpack it") from None
    data = np.asarray(data, np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise UserError(f"{path}: data of shape {data.shape} with {len(labels)} labels, "
                        "expected [N, 3072] with N labels; the batch file is damaged")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # channels last
    return images, np.asarray(labels, np.int64)


def to_dataset(name: str, train_x, train_y, test_x, test_y, description: str) -> Dataset:
    """uint8 [N, 32, 32, 3] -> [0, 1] floats, in colour (3072) or grey (1024)."""
    def convert(images):
        x = images.astype(np.float32) / 255.0
        if name == "cifar10_gray":
            x = (x @ LUMA)[..., None]
        return x.reshape(len(x), -1)

    channels = 1 if name == "cifar10_gray" else 3
    return Dataset(name=name, train=convert(train_x), train_labels=train_y, test=convert(test_x),
                   test_labels=test_y, image_shape=(32, 32, channels), description=description)


def load_cifar_files(name: str, data_dir: str) -> Dataset:
    folder = locate(data_dir, "cifar10", TRAIN + TEST, subfolders=("cifar-10-batches-py",))
    train = [parse_batch(os.path.join(folder, f)) for f in TRAIN]
    test_x, test_y = parse_batch(os.path.join(folder, TEST[0]))
    return to_dataset(name, np.concatenate([t[0] for t in train]),
                      np.concatenate([t[1] for t in train]), test_x, test_y,
                      f"CIFAR-10 ({'grey' if name == 'cifar10_gray' else 'RGB'}) from {folder}")
