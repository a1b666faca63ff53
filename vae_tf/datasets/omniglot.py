"""OMNIGLOT's Latin ("English") and Greek alphabets of the background set, at 28x28.

Source: the `images_background/` folder (or `data_dir` holding `Latin/`, `Greek/`
directly), else an `images_background*.zip` holding those alphabets; a folder wins over
a zip. Files are `<alphabet>/characterNN/<id>_<drawer>.png`, 105x105, black strokes on
white. They are inverted (strokes 1, background 0) and resized to 28x28 by area
averaging (PIL's BOX filter on a float image). Drawers 1-15 are the training split and
16-20 the test split: Latin (26 characters) gives 390 / 130 images and Greek (24) 360 /
120, as the thesis. Labels are the character number - 1.

Never a smaller set in silence: every character must hold drawers 01..20, and an
alphabet lacking characters (Latin has 26, Greek 24) is refused (files.check_count).
A zip is read in memory, never extracted; before any member is read, every member's
path must stay inside the archive and the declared sizes must be those of PNGs
(`check_archive`), so a crafted path or a decompression bomb is refused in one line.
"""

import io
import os
import re
import zipfile
import zlib
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

from vae_tf.datasets.base import Dataset
from vae_tf.datasets.files import (check_count, check_folder, decode_image, list_folder, one_line,
                                   read_raw, unreadable)
from vae_tf.errors import UserError

ALPHABETS = {"omniglot_en": "Latin", "omniglot_gr": "Greek"}
# Characters in the original background set: Latin and Greek, and the other three alphabets
# of images_background_small1.zip (omniglot_pool.py); another alphabet must hold 01..n.
CHARACTERS = {"Latin": 26, "Greek": 24, "Balinese": 24, "Early_Aramaic": 22, "Korean": 40}
SIZE, SOURCE_SIZE, DRAWERS = 28, 105, 20
TRAIN_DRAWERS = range(1, 16)
_NAME = re.compile(r"(?:^|/)([^/]+)/character(\d+)/\d+_(\d+)\.png$")
# Bounds on what a zip's members declare, checked before any is read. The largest of the
# 2,720 PNGs in images_background_small1.zip is 413 bytes and all its members total
# 656,309 bytes (241 a PNG); the full background and evaluation sets, 32,460 PNGs, would
# unpack to about 8 MB. 1 MB a member is over 2,000 times the largest PNG and 200 MB in
# all over 20 times the full sets: only a crafted archive (a bomb) declares more. zipfile
# never returns more than a member declares, so these bounds also cap the memory used.
MAX_MEMBER_BYTES = 1 << 20
MAX_ARCHIVE_BYTES = 200 << 20


def ink_to_28x28(grey: np.ndarray) -> np.ndarray:
    """uint8 [105, 105] (black strokes on white) -> float32 [28*28], strokes 1, by area."""
    ink = 1.0 - np.asarray(grey, np.float32) / 255.0
    small = Image.fromarray(ink).resize((SIZE, SIZE), Image.BOX)  # mode "F": no rounding
    return np.clip(np.asarray(small, np.float32), 0.0, 1.0).reshape(-1)


def to_28x28(png: bytes, where: str) -> np.ndarray:
    """One 105x105 OMNIGLOT PNG -> float32 [28*28], strokes 1 on background 0."""
    return ink_to_28x28(decode_image(png, where, "PNG", (SOURCE_SIZE, SOURCE_SIZE),
                                     "restore the file from the original archive", grey=True))


def _from_folder(folder: str) -> List[Tuple[str, bytes]]:
    def fail(error: OSError):
        raise unreadable(error.filename or folder, error)

    out = []
    for root, dirs, files in os.walk(folder, onerror=fail):
        for d in dirs:
            if d.endswith(".png"):
                raise unreadable(os.path.join(root, d))  # a folder where a PNG belongs
        for f in sorted(files):
            if f.endswith(".png"):
                out.append((os.path.join(root, f), read_raw(os.path.join(root, f))))
    if not out:
        raise UserError(f"{folder}: holds no PNG images; unpack the original archive there")
    return out


def check_archive(path: str, members: List[zipfile.ZipInfo]) -> None:
    """UserError unless every member's path stays inside the archive and the declared
    uncompressed sizes are within MAX_MEMBER_BYTES each and MAX_ARCHIVE_BYTES in all."""
    fix = "this is not the original OMNIGLOT archive: download it again"
    total = 0
    for info in members:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise UserError(f"{path}: member {name[:200]!r} has a path outside the archive "
                            f"(absolute, or with a '..' component); {fix}")
        if info.file_size > MAX_MEMBER_BYTES:
            raise UserError(f"{path}: member {name[:200]!r} declares {info.file_size} bytes "
                            f"uncompressed, over the {MAX_MEMBER_BYTES} bytes bound (an OMNIGLOT "
                            f"PNG is under 1 kB; a decompression bomb?); {fix}")
        total += info.file_size
    if total > MAX_ARCHIVE_BYTES:
        raise UserError(f"{path}: {len(members)} members declare {total} bytes uncompressed, "
                        f"over the {MAX_ARCHIVE_BYTES} bytes bound (all of OMNIGLOT unpacks to "
                        f"about 8 MB; a decompression bomb?); {fix}")


def _from_zip(path: str, alphabet: str) -> List[Tuple[str, bytes]]:
    raw = read_raw(path)
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            check_archive(path, archive.infolist())
            names = sorted(n for n in archive.namelist()
                           if (m := _NAME.search(n)) and m.group(1) == alphabet)
            return [(f"{path}:{n}", archive.read(n)) for n in names]
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError,
            RuntimeError) as e:  # RuntimeError: an encrypted member
        raise UserError(f"{path}: not a readable zip ({one_line(e)}); download it again") from None


def _members(data_dir: str, alphabet: str) -> List[Tuple[str, bytes]]:
    """(path, png bytes) of every image of `alphabet`, from a folder tree or a zip."""
    if os.path.isfile(data_dir) and data_dir.endswith(".zip"):
        zips = [data_dir]
    else:
        check_folder(data_dir, "omniglot", f"images_background/{alphabet}/")
        for base in (data_dir, os.path.join(data_dir, "images_background")):
            if os.path.isdir(os.path.join(base, alphabet)):
                return _from_folder(os.path.join(base, alphabet))
        zips = [os.path.join(data_dir, f) for f in list_folder(data_dir)
                if f.startswith("images_background") and f.endswith(".zip")]
    for path in zips:
        members = _from_zip(path, alphabet)
        if members:
            return members
    raise UserError(f"--data_dir={data_dir}: no {alphabet} alphabet found; pass the folder "
                    f"holding images_background/{alphabet}/ or an images_background*.zip with it")


def _parse(path: str) -> Tuple[int, int]:
    """(character number, drawer) from `.../characterNN/<id>_<drawer>.png`."""
    match = _NAME.search(path.replace(os.sep, "/"))
    if not match:
        raise UserError(f"{path}: expected <alphabet>/characterNN/<id>_<drawer>.png; "
                        "keep the archive's original layout and names")
    character, drawer = int(match.group(2)), int(match.group(3))
    if not 1 <= drawer <= DRAWERS:
        raise UserError(f"{path}: drawer {drawer} is outside 1..{DRAWERS}; the file name is wrong")
    return character, drawer


def _check_complete(drawers: Dict[int, List[int]], alphabet: str, where: str) -> None:
    """Every character 01..N of the alphabet, each with drawers 1..20 exactly once."""
    official = CHARACTERS.get(alphabet, max(drawers, default=0))
    extra = sorted(c for c in drawers if not 1 <= c <= official)
    if extra:
        raise UserError(f"{where}/{alphabet}/character{extra[0]:02d}: the original {alphabet} "
                        f"alphabet has characters 01..{official}; remove the extra folder")
    for character, found in sorted(drawers.items()):
        if sorted(found) != list(range(1, DRAWERS + 1)):
            missing = sorted(set(range(1, DRAWERS + 1)) - set(found))
            repeated = sorted(d for d in set(found) if found.count(d) > 1)
            problem = " and ".join(([f"is missing drawers {missing}"] if missing else []) +
                                   ([f"repeats drawers {repeated}"] if repeated else []))
            raise UserError(f"{where}: {alphabet}/character{character:02d} {problem}; each "
                            "character needs drawers 01..20 once: restore the original archive")
    absent = [f"character{c:02d}" for c in range(1, official + 1) if c not in drawers]
    listed = ", ".join(absent[:3]) + (", ..." if len(absent) > 3 else "")
    check_count(f"{where}/{alphabet}", "images", DRAWERS * len(drawers), DRAWERS * official,
                f"restore the missing characters ({listed}) from the original archive")


def load_omniglot_files(name: str, data_dir: str) -> Dataset:
    """Drawers 1-15 train / 16-20 test of one alphabet, 28x28, strokes 1."""
    alphabet = ALPHABETS[name]
    members = _members(data_dir, alphabet)
    parsed = [_parse(path) for path, _ in members]
    drawers: Dict[int, List[int]] = {}
    for character, drawer in parsed:
        drawers.setdefault(character, []).append(drawer)
    where = members[0][0].replace(os.sep, "/").rsplit(f"/{alphabet}/", 1)[0]
    _check_complete(drawers, alphabet, where)
    order = sorted(range(len(members)), key=lambda i: parsed[i])  # by character, then drawer
    x = np.stack([to_28x28(members[i][1], members[i][0]) for i in order])
    y = np.array([parsed[i][0] - 1 for i in order], np.int64)
    train = np.array([parsed[i][1] in TRAIN_DRAWERS for i in order])
    return Dataset(name=name, train=x[train], train_labels=y[train], test=x[~train],
                   test_labels=y[~train], image_shape=(SIZE, SIZE, 1),
                   description=f"OMNIGLOT {alphabet} from {where}, {len(drawers)} characters, "
                               "28x28, drawers 1-15 train / 16-20 test")
