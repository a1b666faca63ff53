"""OMNIGLOT's Latin ("English") and Greek alphabets of the background set, at 28x28.

105x105 strokes are inverted (strokes 1, background 0) and resized to 28x28 by area
averaging. Drawers 1-15 are the training split and 16-20 the test split, so Latin
(26 characters) gives 390 / 130 images and Greek (24 characters) 360 / 120, as the thesis.
"""

import io
import os
import re
import zipfile
from typing import List, Tuple

import numpy as np
from PIL import Image

from vae_tf.datasets.base import Dataset
from vae_tf.errors import UserError

ALPHABETS = {"omniglot_en": "Latin", "omniglot_gr": "Greek"}
SIZE = 28
TRAIN_DRAWERS = range(1, 16)
_NAME = re.compile(r"(?:^|/)([^/]+)/(character\d+)/\d+_(\d+)\.png$")


def to_28x28(png: bytes, where: str) -> np.ndarray:
    """One 105x105 OMNIGLOT PNG -> float32 [28*28], strokes 1 on background 0."""
    try:
        image = Image.open(io.BytesIO(png)).convert("L")
    except Exception as e:  # PIL raises many types for a damaged file
        raise UserError(f"{where}: not a readable PNG ({e}); unpack the archive again") from None
    return ink_to_28x28(np.asarray(image))


def ink_to_28x28(grey: np.ndarray) -> np.ndarray:
    """uint8 [105, 105] (black strokes on white) -> float32 [28*28], strokes 1, by area."""
    ink = 1.0 - np.asarray(grey, np.float32) / 255.0
    small = Image.fromarray(ink, mode="F").resize((SIZE, SIZE), Image.BOX)
    return np.clip(np.asarray(small, np.float32), 0.0, 1.0).reshape(-1)


def _members(data_dir: str, alphabet: str) -> List[Tuple[str, bytes]]:
    """(path, png bytes) of every image of `alphabet`, from a folder tree or a zip."""
    for base in (data_dir, os.path.join(data_dir, "images_background")):
        folder = os.path.join(base, alphabet)
        if os.path.isdir(folder):
            out = []
            for root, _, files in os.walk(folder):
                for f in sorted(files):
                    if f.endswith(".png"):
                        path = os.path.join(root, f)
                        with open(path, "rb") as fh:
                            out.append((path, fh.read()))
            return out
    zips = sorted(f for f in os.listdir(data_dir) if f.startswith("images_background")
                  and f.endswith(".zip")) if os.path.isdir(data_dir) else []
    for z in zips:
        path = os.path.join(data_dir, z)
        try:
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist()
                         if f"/{alphabet}/" in n and n.endswith(".png")]
                if names:
                    return [(f"{path}:{n}", archive.read(n)) for n in sorted(names)]
        except (zipfile.BadZipFile, OSError) as e:
            raise UserError(f"{path}: not a readable zip ({e}); download it again") from None
    raise UserError(f"--data_dir={data_dir}: no {alphabet} alphabet found; pass the folder "
                    f"holding images_background/{alphabet}/ or an images_background*.zip with it")


def load_omniglot_files(name: str, data_dir: str) -> Dataset:
    alphabet = ALPHABETS[name]
    # One order whatever the source: by character, then file name.
    members = sorted(_members(data_dir, alphabet),
                     key=lambda m: m[0].replace(os.sep, "/").rsplit("/", 2)[-2:])
    xs, labels, train = [], [], []
    characters = {}
    for path, png in members:
        match = _NAME.search(path.replace(os.sep, "/"))
        if not match:
            raise UserError(f"{path}: expected <alphabet>/characterNN/<id>_<drawer>.png; "
                            "keep the archive's original layout and names")
        character, drawer = match.group(2), int(match.group(3))
        if not 1 <= drawer <= 20:
            raise UserError(f"{path}: drawer {drawer} is outside 1..20; the file name is wrong")
        xs.append(to_28x28(png, path))
        labels.append(characters.setdefault(character, len(characters)))
        train.append(drawer in TRAIN_DRAWERS)
    x, y, train = np.stack(xs), np.array(labels, np.int64), np.array(train)
    return Dataset(name=name, train=x[train], train_labels=y[train], test=x[~train],
                   test_labels=y[~train], image_shape=(SIZE, SIZE, 1),
                   description=f"OMNIGLOT {alphabet}, {len(characters)} characters, 28x28, "
                               "drawers 1-15 train / 16-20 test")
