"""The ORL Database of Faces and the Cropped Extended Yale B faces, from their PGM files.

Test hold-outs (the thesis trained on every image and kept none aside):
ORL: image 10 of each of the 40 subjects (360 train / 40 test).
Yale: every fifth valid image of each subject in file-name order (the 5th, 10th, ...).
"""

import os
import re

import numpy as np
from absl import logging
from PIL import Image

from vae_tf.datasets.base import Dataset
from vae_tf.errors import UserError

ORL_SHAPE, YALE_SHAPE = (112, 92), (192, 168)
ORL_URL = "https://cam-orl.co.uk/facedatabase.html (AT&T 'The Database of Faces')"
YALE_URL = "http://vision.ucsd.edu/~leekc/ExtYaleDatabase/ExtYaleB.html (CroppedYale.zip)"


def read_pgm(path: str, shape) -> np.ndarray:
    """One 8-bit grey PGM of the given (H, W) -> float32 [H*W] in [0, 1]."""
    try:
        with Image.open(path) as image:
            if image.format != "PPM" or image.mode not in ("L", "I", "I;16"):
                raise ValueError(f"format {image.format}, mode {image.mode}")
            array = np.asarray(image, np.float32)
    except Exception as e:  # PIL raises many types for a damaged file
        raise UserError(f"{path}: not a readable 8-bit PGM ({e}); restore the original file") from None
    if array.shape != tuple(shape):
        raise UserError(f"{path}: image is {array.shape[1]}x{array.shape[0]} (WxH), expected "
                        f"{shape[1]}x{shape[0]}; this file does not belong to the dataset")
    return (array / 255.0).reshape(-1)


def load_orl_files(data_dir) -> Dataset:
    if data_dir is None:
        raise UserError(f"orl_faces is not in TensorFlow Datasets: download it from {ORL_URL} "
                        "and pass --data_dir=<folder with s1 .. s40, each holding 1.pgm .. 10.pgm>")
    folder = data_dir if os.path.isdir(os.path.join(data_dir, "s1")) else os.path.join(data_dir, "orl_faces")
    xs, ys, test = [], [], []
    for subject in range(1, 41):
        for index in range(1, 11):
            path = os.path.join(folder, f"s{subject}", f"{index}.pgm")
            if not os.path.exists(path):
                raise UserError(f"--data_dir={data_dir}: {path} is missing; the ORL database "
                                "has folders s1 .. s40 with 1.pgm .. 10.pgm each")
            xs.append(read_pgm(path, ORL_SHAPE))
            ys.append(subject - 1)
            test.append(index == 10)
    x, y, test = np.stack(xs), np.array(ys, np.int64), np.array(test)
    return Dataset(name="orl_faces", train=x[~test], train_labels=y[~test], test=x[test],
                   test_labels=y[test], image_shape=ORL_SHAPE + (1,),
                   description="ORL faces, 40 subjects x 10, 112x92; image 10 of each is test")


_YALE = re.compile(r"^yaleB(\d+)_P00A[+-]\d+E[+-]\d+\.pgm$")


def load_yale_files(data_dir) -> Dataset:
    if data_dir is None:
        raise UserError(f"yale_faces is not in TensorFlow Datasets: download it from {YALE_URL} "
                        "and pass --data_dir=<folder with CroppedYale/yaleBxx/*.pgm>")
    def subjects(folder):
        return sorted(d for d in os.listdir(folder)
                      if d.startswith("yaleB") and os.path.isdir(os.path.join(folder, d)))

    root = next((c for c in (os.path.join(data_dir, "CroppedYale"), data_dir)
                 if os.path.isdir(c) and subjects(c)), None)
    if root is None:
        raise UserError(f"--data_dir={data_dir}: no CroppedYale/yaleBxx folders; pass the "
                        "folder that holds CroppedYale/ (or the yaleBxx folders themselves)")
    xs, ys, test, skipped = [], [], [], {"bad": 0, "ambient": 0, "other": 0}
    for subject_dir in subjects(root):
        valid = []
        for f in sorted(os.listdir(os.path.join(root, subject_dir))):
            if f.endswith(".bad"):
                skipped["bad"] += 1
            elif "_Ambient" in f:
                skipped["ambient"] += 1
            elif _YALE.match(f):
                valid.append(f)
            else:
                skipped["other"] += 1
        for i, f in enumerate(valid):
            xs.append(read_pgm(os.path.join(root, subject_dir, f), YALE_SHAPE))
            ys.append(int(subject_dir[5:]))
            test.append(i % 5 == 4)
    if not xs:
        raise UserError(f"--data_dir={data_dir}: no yaleBxx_P00A*.pgm images under {root}")
    logging.info("yale_faces: skipped %d '.bad' captures, %d ambient images and %d other files",
                 skipped["bad"], skipped["ambient"], skipped["other"])
    x, y, test = np.stack(xs), np.array(ys, np.int64), np.array(test)
    return Dataset(name="yale_faces", train=x[~test], train_labels=y[~test], test=x[test],
                   test_labels=y[test], image_shape=YALE_SHAPE + (1,),
                   description=f"Cropped Yale B faces, {len(set(ys))} subjects, 192x168; "
                               "every 5th image of a subject is test")
