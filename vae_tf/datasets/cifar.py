"""CIFAR-10 from the `cifar-10-batches-py/` pickles, in colour or grey (ITU-R 601 luma).

Each batch is a pickled dict with `data` (uint8 [N, 3072]: 1024 red, then green, then
blue values, rows of 32) and `labels` (N ints 0..9), plus `batch_label` (bytes) and
`filenames` (a list of bytes). Five training batches of 10,000 and one test batch of
10,000; a batch holding fewer is refused (files.check_count). `batches.meta` is not read.

Plain unpickling runs any code a file names, so the batches go through `BatchUnpickler`,
which admits only the globals a CIFAR-10 batch holds: numpy's `_reconstruct`, `ndarray`
and `dtype`, which rebuild the `data` array. The official batches are Python 2 pickles
(protocol 2) naming `numpy.core.multiarray._reconstruct`; numpy 2 writes
`numpy._core.multiarray._reconstruct` (protocols 3 and 4). Everything else (`os.system`,
`builtins.open`, but also numpy's protocol-5 `_frombuffer` and Python 3's protocol-2
`_codecs.encode`, which no official batch holds) is refused before anything runs.
"""

import io
import os
import pickle

import numpy as np

from vae_tf.datasets.base import Dataset
from vae_tf.datasets.files import check_count, locate, one_line, read_raw
from vae_tf.errors import UserError

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST = ("test_batch",)
PER_BATCH = 10000
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 weights of R, G, B
FIX = "unpack the official cifar-10-python.tar.gz again"

# (module, name) -> object: all a pickled numpy array names, under either numpy's module name.
ALLOWED = {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
           ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
           ("numpy", "ndarray"): np.ndarray,
           ("numpy", "dtype"): np.dtype}


class Refused(pickle.UnpicklingError):
    """The pickle names a global outside ALLOWED."""


class BatchUnpickler(pickle.Unpickler):
    """An unpickler resolving only the globals in ALLOWED: a crafted batch runs nothing."""

    def find_class(self, module, name):
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]
        raise Refused(f"{module}.{name}")


def unpickle_batch(raw: bytes, path: str):
    """The object pickled in `raw` (keys and strings as bytes); UserError for any other global."""
    try:
        return BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Refused as e:
        raise UserError(f"{path}: refused to unpickle, the file names {str(e)[:100]!r}, not one "
                        f"of the numpy globals a CIFAR-10 batch holds (others could run code); "
                        f"{FIX}") from None
    except Exception as e:  # unpickling damaged bytes raises many types
        raise UserError(f"{path}: not a CIFAR-10 python batch ({type(e).__name__}: "
                        f"{one_line(e)}); {FIX}") from None


def _field(batch, key: str):
    """`batch[key]`, whether the pickle's keys are bytes (the original) or str."""
    return batch[key.encode()] if key.encode() in batch else batch[key]


def parse_batch(path: str):
    """uint8 images [N, 32, 32, 3] and int64 labels [N] of one pickled CIFAR-10 batch."""
    batch = unpickle_batch(read_raw(path), path)
    try:
        data, labels = np.asarray(_field(batch, "data")), np.asarray(_field(batch, "labels"))
    except Exception as e:  # not a dict, a key missing, ragged labels...
        raise UserError(f"{path}: not a CIFAR-10 python batch ({type(e).__name__}: "
                        f"{one_line(e)}); {FIX}") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 \
            or labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise UserError(f"{path}: data {data.dtype} {list(data.shape)} with labels "
                        f"{labels.dtype} {list(labels.shape)}, expected uint8 [N, 3072] with N "
                        "integer labels; the batch file is damaged: download it again")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise UserError(f"{path}: labels outside 0..9; the batch file is damaged: "
                        "download it again")
    check_count(path, "images", len(data), PER_BATCH, FIX)
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # channels last
    return images, labels.astype(np.int64)


def to_dataset(name: str, train_x, train_y, test_x, test_y, description: str) -> Dataset:
    """uint8 [N, 32, 32, 3] -> [0, 1] floats, in colour (3072) or grey (1024)."""
    grey = name == "cifar10_gray"

    def convert(images):
        x = images.astype(np.float32) / np.float32(255)
        if grey:
            x = x @ LUMA  # [N, 32, 32]
        return x.reshape(len(x), -1)

    return Dataset(name=name, train=convert(train_x), train_labels=train_y, test=convert(test_x),
                   test_labels=test_y, image_shape=(32, 32, 1 if grey else 3),
                   description=description)


def load_cifar_files(name: str, data_dir: str) -> Dataset:
    """50,000 train / 10,000 test, in colour (cifar10_rgb) or grey (cifar10_gray)."""
    folder = locate(data_dir, "cifar10", TRAIN + TEST, subfolders=("cifar-10-batches-py",))
    train = [parse_batch(os.path.join(folder, f)) for f in TRAIN]
    test_x, test_y = parse_batch(os.path.join(folder, TEST[0]))
    colour = "grey, ITU-R 601 luma" if name == "cifar10_gray" else "RGB"
    return to_dataset(name, np.concatenate([t[0] for t in train]),
                      np.concatenate([t[1] for t in train]), test_x, test_y,
                      f"CIFAR-10 ({colour}) from the python batches in {folder}")
