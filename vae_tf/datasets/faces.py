"""The ORL Database of Faces and the Cropped Extended Yale B faces, from their PGM files.

Neither is in TensorFlow Datasets. The thesis trained on every image and kept none
aside; the test hold-outs here are deterministic and keep every subject in both splits:
- ORL (`s1`..`s40`, `1.pgm`..`10.pgm`, 92x112): image 10 of each subject is test,
  360 train / 40 test. Labels are the subject number - 1.
- Yale (`CroppedYale/yaleBxx/yaleBxx_P00A<az>E<el>.pgm`, 168x192): every fifth valid
  image of each subject in file-name order (the 5th, 10th, ...) is test; on the 24-subject
  subset of shared/data that is 1,231 train / 287 test. File-name order sorts by light
  azimuth, so the test images span the lighting range. The `.bad` captures and the
  `_Ambient` images are skipped and the counts logged. Labels are the subject number - 1
  (yaleB01 -> 0; the database has no yaleB14).

Never a silently smaller set:
- ORL: all 400 files must be there (40 subjects x 10).
- Yale, whose full database is 38 subjects (yaleB01..yaleB39 without yaleB14) but which
  is often used as a subset (shared/data holds the first 24): every subject folder
  present must hold all its 64 illumination images (`.pgm` or `.pgm.bad`), else it is
  refused; the subjects present must be the first n of the database's order, with no
  gap (yaleB01, yaleB02, ...), else refused, since a gap means a deleted folder; fewer
  than 38 without a gap is a legitimate subset and loads with a WARNING naming how many
  of the 38 were found. $VAE_TF_ALLOW_SMALL_DATA=1 turns the gap refusal into a warning;
  nothing lets a subject lack images.
"""

import os
import re

import numpy as np
from absl import logging

from vae_tf.datasets import where_to_put_files
from vae_tf.datasets.base import Dataset
from vae_tf.datasets.files import (ALLOW_SMALL_VAR, check_folder, decode_image, list_folder,
                                   read_raw, small_data_allowed)
from vae_tf.errors import UserError

ORL_SHAPE, YALE_SHAPE = (112, 92), (192, 168)  # (H, W)
ORL_URL = "https://cam-orl.co.uk/facedatabase.html (AT&T 'The Database of Faces')"
YALE_URL = "http://vision.ucsd.edu/~leekc/ExtYaleDatabase/ExtYaleB.html (CroppedYale.zip)"
YALE_CONDITIONS = 64  # illumination images per subject, `.bad` captures included
YALE_SUBJECTS = tuple(s for s in range(1, 40) if s != 14)  # the database's 38, in order
ORL_SUBJECTS, ORL_IMAGES = 40, 10
_YALE = re.compile(r"^yaleB(\d+)_P00A[+-]\d+E[+-]\d+\.pgm(\.bad)?$")


def read_pgm(path: str, shape) -> np.ndarray:
    """One 8-bit grey PGM of the given (H, W) -> float32 [H*W] in [0, 1]."""
    pixels = decode_image(read_raw(path), path, "8-bit grey PGM", (shape[1], shape[0]),
                          "this file does not belong to the dataset: restore the original file",
                          format_mode=("PPM", "L"))
    return (pixels.astype(np.float32) / np.float32(255)).reshape(-1)


def load_orl_files(data_dir) -> Dataset:
    """400 ORL faces: images 1-9 of each subject train, image 10 test."""
    if not data_dir:
        raise UserError(f"orl_faces is not in TensorFlow Datasets: download it from {ORL_URL} "
                        f"and {where_to_put_files('orl_faces')}")
    check_folder(data_dir, "orl_faces", "s1 .. s40, each holding 1.pgm .. 10.pgm")
    folder = next((c for c in (data_dir, os.path.join(data_dir, "orl_faces"),
                               os.path.join(data_dir, "att_faces"))
                   if os.path.isdir(os.path.join(c, "s1"))), data_dir)
    images = {(subject, index): os.path.join(folder, f"s{subject}", f"{index}.pgm")
              for subject in range(1, ORL_SUBJECTS + 1) for index in range(1, ORL_IMAGES + 1)}
    missing = [p for p in images.values() if not os.path.lexists(p)]
    if missing:
        raise UserError(f"--data_dir={data_dir}: {missing[0]} is missing ("
                        f"{len(images) - len(missing)} of the {len(images)} images found); the "
                        "ORL database has folders s1 .. s40 with 1.pgm .. 10.pgm each: restore "
                        "the missing files")
    xs, ys, test = [], [], []
    for (subject, index), path in images.items():
        xs.append(read_pgm(path, ORL_SHAPE))
        ys.append(subject - 1)
        test.append(index == ORL_IMAGES)
    x, y, test = np.stack(xs), np.array(ys, np.int64), np.array(test)
    return Dataset(name="orl_faces", train=x[~test], train_labels=y[~test], test=x[test],
                   test_labels=y[test], image_shape=ORL_SHAPE + (1,),
                   description=f"ORL faces from {folder}, 40 subjects x 10, 112x92; "
                               "image 10 of each subject is test")


def _yale_subjects(folder: str):
    return [d for d in list_folder(folder)
            if re.fullmatch(r"yaleB\d+", d) and os.path.isdir(os.path.join(folder, d))]


def _yale_subject(folder: str, skipped: dict):
    """The paths of one subject folder's valid images, in file-name order."""
    conditions = []
    for f in list_folder(folder):
        if "_Ambient" in f:
            skipped["ambient"] += 1
        elif _YALE.match(f):
            conditions.append(f)
        elif not f.endswith(".info"):  # the database's per-subject file lists
            skipped["other"] += 1
    if len(conditions) != YALE_CONDITIONS:
        raise UserError(f"{folder}: {len(conditions)} illumination images (.pgm and .pgm.bad), "
                        f"expected {YALE_CONDITIONS}; restore the subject's original files")
    skipped["bad"] += sum(f.endswith(".bad") for f in conditions)
    return [os.path.join(folder, f) for f in conditions if not f.endswith(".bad")]


def check_yale_subjects(root: str, folders) -> None:
    """The subject folders must be the database's first n subjects (see the module doc)."""
    numbers = [int(d[len("yaleB"):]) for d in folders]
    unknown = [d for d, n in zip(folders, numbers) if n not in YALE_SUBJECTS]
    if unknown:
        raise UserError(f"{os.path.join(root, unknown[0])}: not a subject of the Extended Yale B "
                        "database (yaleB01 .. yaleB39, no yaleB14); remove the folder")
    n, total = len(numbers), len(YALE_SUBJECTS)
    gaps = [s for s in YALE_SUBJECTS[:YALE_SUBJECTS.index(max(numbers)) + 1] if s not in numbers]
    if gaps and not small_data_allowed():
        raise UserError(f"{root}: yaleB{gaps[0]:02d} is missing but later subjects are there "
                        f"({n} of the {total} subjects found, {len(gaps)} missing before "
                        f"yaleB{max(numbers):02d}); restore the missing subject folders (set "
                        f"{ALLOW_SMALL_VAR}=1 only to use fewer on purpose)")
    if n < total:
        logging.warning("yale_faces: %s holds %d of the %d subjects of the database (%s); "
                        "using that subset", root, n, total,
                        f"{len(gaps)} missing in between" if gaps else
                        f"yaleB01 .. yaleB{max(numbers):02d}")


def load_yale_files(data_dir) -> Dataset:
    """Every valid Cropped Yale B image; every fifth of a subject held out for test."""
    if not data_dir:
        raise UserError(f"yale_faces is not in TensorFlow Datasets: download it from {YALE_URL} "
                        f"and {where_to_put_files('yale_faces')}")
    check_folder(data_dir, "yale_faces", "CroppedYale/yaleBxx/*.pgm")
    root = next((c for c in (os.path.join(data_dir, "CroppedYale"), data_dir)
                 if os.path.isdir(c) and _yale_subjects(c)), None)
    if root is None:
        raise UserError(f"--data_dir={data_dir}: no CroppedYale/yaleBxx folders; pass the "
                        "folder that holds CroppedYale/ (or the yaleBxx folders themselves)")
    subjects = _yale_subjects(root)
    check_yale_subjects(root, subjects)
    xs, ys, test = [], [], []
    skipped = {"bad": 0, "ambient": 0, "other": 0}
    for subject_dir in subjects:
        subject = int(subject_dir[len("yaleB"):])
        for i, path in enumerate(_yale_subject(os.path.join(root, subject_dir), skipped)):
            xs.append(read_pgm(path, YALE_SHAPE))
            ys.append(subject - 1)
            test.append(i % 5 == 4)
    logging.info("yale_faces: %d images of %d subjects; skipped %d '.bad' captures, %d ambient "
                 "images and %d other files", len(xs), len(subjects), skipped["bad"],
                 skipped["ambient"], skipped["other"])
    x, y, test = np.stack(xs), np.array(ys, np.int64), np.array(test)
    return Dataset(name="yale_faces", train=x[~test], train_labels=y[~test], test=x[test],
                   test_labels=y[test], image_shape=YALE_SHAPE + (1,),
                   description=f"Cropped Yale B faces from {root}, {len(subjects)} subjects, "
                               "192x168; every 5th image of a subject is test")
