"""Every OMNIGLOT alphabet found under a folder, with each image's drawer: a training pool.

omniglot.py loads one alphabet (Latin, Greek) split by drawer. A model imputing one
alphabet may also learn from the others, as long as the target alphabet's test drawers
stay out (experiments/small_data_imputation.py). Here:
- `alphabets(data_dir)`: the alphabets in `images_background/<alphabet>/` folders and in
  `images_background*.zip` archives (shared/data holds Latin and Greek unpacked and the
  "background small 1" zip: Balinese, Early_Aramaic, Greek, Korean, Latin);
- `load_alphabet(data_dir, alphabet)`: one alphabet as omniglot.py reads Latin and Greek
  (a folder before a zip, the same checks, 28x28, strokes 1), with character and drawer;
- `load_pool(data_dir, exclude)`: every alphabet but `exclude`, stacked.
"""

import io
import os
import zipfile
import zlib
from typing import List, Tuple

import numpy as np

from vae_tf.datasets.files import check_folder, list_folder, one_line, read_raw
from vae_tf.datasets.omniglot import (_NAME, _check_complete, _members, _parse, check_archive,
                                      to_28x28)
from vae_tf.errors import UserError


def _zip_alphabets(path: str) -> List[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(read_raw(path))) as archive:
            check_archive(path, archive.infolist())
            return sorted({m.group(1) for n in archive.namelist() if (m := _NAME.search(n))})
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
        raise UserError(f"{path}: not a readable zip ({one_line(e)}); download it again") from None


def alphabets(data_dir: str) -> List[str]:
    """The sorted names of the alphabets under `data_dir` (folders and zips, see above)."""
    if os.path.isfile(data_dir) and data_dir.endswith(".zip"):
        return _zip_alphabets(data_dir)
    check_folder(data_dir, "omniglot", "images_background/<alphabet>/ or images_background*.zip")
    found = set()
    for base in (data_dir, os.path.join(data_dir, "images_background")):
        if os.path.isdir(base):
            found.update(d for d in list_folder(base) if os.path.isdir(os.path.join(base, d))
                         and any(c.startswith("character") for c in list_folder(
                             os.path.join(base, d))))
    for f in list_folder(data_dir):
        if f.startswith("images_background") and f.endswith(".zip"):
            found.update(_zip_alphabets(os.path.join(data_dir, f)))
    return sorted(found)


def load_alphabet(data_dir: str, alphabet: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images [N, 784] float32, character [N], drawer [N]) by character, then drawer."""
    members = _members(data_dir, alphabet)
    parsed = [_parse(path) for path, _ in members]
    drawers = {}
    for character, drawer in parsed:
        drawers.setdefault(character, []).append(drawer)
    where = members[0][0].replace(os.sep, "/").rsplit(f"/{alphabet}/", 1)[0]
    _check_complete(drawers, alphabet, where)
    order = sorted(range(len(members)), key=lambda i: parsed[i])
    x = np.stack([to_28x28(members[i][1], members[i][0]) for i in order])
    info = np.array([parsed[i] for i in order], np.int64).reshape(-1, 2)
    return x, info[:, 0], info[:, 1]


def load_pool(data_dir: str, exclude: str) -> Tuple[np.ndarray, List[str]]:
    """(images [N, 784] of every alphabet under data_dir but `exclude`, their names)."""
    names = [a for a in alphabets(data_dir) if a != exclude]
    if not names:
        raise UserError(f"--data_dir={data_dir}: no OMNIGLOT alphabet besides {exclude}; add "
                        "images_background*.zip or more images_background/<alphabet>/ folders")
    return np.concatenate([load_alphabet(data_dir, a)[0] for a in names]), names
