"""Tiny datasets written in each original file format, for the parser tests.

`write_mnist_idx(folder, n_train, n_test, seed)` writes the four MNIST IDX .gz files;
`load("mnist", folder)` needs n_train > 5,000 (the validation split is the last 5,000).
Most are smaller than the originals: loading them needs $VAE_TF_ALLOW_SMALL_DATA=1.
"""

import gzip
import io
import os
import pickle
import struct
import zipfile

import numpy as np
from PIL import Image


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file (magic 2049 for 1-D, 2051 for 3-D) holding `array`."""
    magic = {1: 2049, 3: 2051}[array.ndim]
    header = struct.pack(f">{1 + array.ndim}i", magic, *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist_idx(folder, n_train=5010, n_test=20, seed=0):
    """The four MNIST .gz files with random digits; returns (train_x, train_y, test_x, test_y)."""
    rng = np.random.default_rng(seed)
    arrays = (rng.integers(0, 256, (n_train, 28, 28)), rng.integers(0, 10, n_train),
              rng.integers(0, 256, (n_test, 28, 28)), rng.integers(0, 10, n_test))
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    os.makedirs(folder, exist_ok=True)
    for name, array in zip(names, arrays):
        with gzip.open(os.path.join(folder, name), "wb") as f:
            f.write(idx_bytes(np.asarray(array)))
    return arrays


def write_amat(folder, sizes=(6, 3, 4), seed=0):
    """binarized_mnist_{train,valid,test}.amat with random 0/1 rows; returns the arrays."""
    rng = np.random.default_rng(seed)
    out = []
    for split, n in zip(("train", "valid", "test"), sizes):
        values = rng.integers(0, 2, (n, 784))
        np.savetxt(os.path.join(folder, f"binarized_mnist_{split}.amat"), values, fmt="%d")
        out.append(values)
    return out


class _Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle (protocol 2) wrote the official CIFAR-10 batches: str and
    bytes as 8-bit strings (bytes again under encoding="bytes"), numpy under `numpy.core`."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_string8(self, obj):
        data = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = dispatch[str] = save_string8

    def save_global(self, obj, name=None):
        name = name or obj.__qualname__
        module = pickle.whichmodule(obj, name).replace("numpy._core.", "numpy.core.")
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)


def python2_pickle(obj) -> bytes:
    """`obj` pickled as the official CIFAR-10 batches are (see _Python2Pickler)."""
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def write_cifar(folder, n_per_batch=4, seed=0, python2=True):
    """cifar-10-batches-py/ with data_batch_1..5 and test_batch, each a dict with the official
    keys, pickled as the official files (python2=True) or by Python 3's pickle (protocol 4,
    what numpy 2 names `numpy._core`); returns {name: (data, labels)}."""
    rng = np.random.default_rng(seed)
    root = os.path.join(folder, "cifar-10-batches-py")
    os.makedirs(root, exist_ok=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n_per_batch, 3072)).astype(np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n_per_batch)]
        batch = {b"batch_label": f"{name} of 6".encode(), b"labels": labels, b"data": data,
                 b"filenames": [f"img_{i}.png".encode() for i in range(n_per_batch)]}
        with open(os.path.join(root, name), "wb") as f:
            f.write(python2_pickle(batch) if python2 else pickle.dumps(batch, protocol=4))
        batches[name] = (data, labels)
    return batches


class Payload:
    """Unpickling this calls `function(*args)`: what a crafted pickle does."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def omniglot_png(seed: int, size=105) -> bytes:
    """A 1-bit PNG of random black dots on white, as OMNIGLOT's files are."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size), 255, np.uint8)
    image[rng.integers(0, size, 300), rng.integers(0, size, 300)] = 0  # black strokes
    buffer = io.BytesIO()
    Image.fromarray(image).convert("1").save(buffer, format="PNG")
    return buffer.getvalue()


def write_omniglot(folder, alphabet="Latin", characters=2, drawers=20, as_zip=False):
    """images_background/<alphabet>/characterNN/<id>_<drawer>.png (or the same in a zip)."""
    members = {}
    for c in range(1, characters + 1):
        for d in range(1, drawers + 1):
            members[f"images_background/{alphabet}/character{c:02d}/{1000 + c:04d}_{d:02d}.png"] = \
                omniglot_png(c * 100 + d)
    if as_zip:
        with zipfile.ZipFile(os.path.join(folder, "images_background_small1.zip"), "w") as z:
            for name, data in members.items():
                z.writestr(name.replace("images_background/", "images_background_small1/"), data)
    else:
        for name, data in members.items():
            path = os.path.join(folder, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
    return members


def write_pgm(path, width, height, seed=0):
    """A binary 8-bit PGM (P5) of random grey levels; returns its uint8 [height, width] pixels."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width)).astype(np.uint8)
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (width, height) + pixels.tobytes())
    return pixels


def write_orl(folder):
    """s1..s40, each holding 1.pgm..10.pgm of 92x112."""
    for s in range(1, 41):
        for i in range(1, 11):
            write_pgm(os.path.join(folder, f"s{s}", f"{i}.pgm"), 92, 112, seed=s * 10 + i)


def yale_condition_names(subject: int, n=64):
    """64 distinct illumination names `yaleBxx_P00A<az>E<el>.pgm`, in file-name order."""
    return sorted(f"yaleB{subject:02d}_P00A{5 * i - 160:+04d}E+00.pgm" for i in range(n))


def write_yale(folder, subjects=(1, 2), bad=(3,), conditions=64):
    """CroppedYale/yaleBxx/: `conditions` images (those at positions `bad` as .pgm.bad)
    plus one _Ambient image a subject; returns the CroppedYale folder."""
    root = os.path.join(folder, "CroppedYale")
    for s in subjects:
        sub = os.path.join(root, f"yaleB{s:02d}")
        for i, name in enumerate(yale_condition_names(s, conditions)):
            write_pgm(os.path.join(sub, name + (".bad" if i in bad else "")), 168, 192,
                      seed=s * 100 + i)
        write_pgm(os.path.join(sub, f"yaleB{s:02d}_P00_Ambient.pgm"), 168, 192)
    return root


def write_movielens(folder, users=943, items=1682, per_user=12, seed=0):
    """ml-100k/ with u.data, ua.base/ua.test (10 test ratings a user) and u1..u5."""
    rng = np.random.default_rng(seed)
    root = os.path.join(folder, "ml-100k")
    os.makedirs(root, exist_ok=True)
    lines = []
    for u in range(1, users + 1):
        for item in rng.choice(items, per_user, replace=False) + 1:
            lines.append((u, int(item), int(rng.integers(1, 6)), 880000000))
    fmt = lambda rows: "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows)  # noqa: E731
    open(os.path.join(root, "u.data"), "w").write(fmt(lines))
    test = [row for k, row in enumerate(lines) if k % per_user < 10]
    base = [row for k, row in enumerate(lines) if k % per_user >= 10]
    open(os.path.join(root, "ua.base"), "w").write(fmt(base))
    open(os.path.join(root, "ua.test"), "w").write(fmt(test))
    for fold in range(1, 6):
        held = [row for k, row in enumerate(lines) if k % 5 == fold - 1]
        rest = [row for k, row in enumerate(lines) if k % 5 != fold - 1]
        open(os.path.join(root, f"u{fold}.base"), "w").write(fmt(rest))
        open(os.path.join(root, f"u{fold}.test"), "w").write(fmt(held))
    return root, lines
