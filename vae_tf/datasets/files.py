"""Finding a dataset's original files under --data_dir, reading them, one-line errors."""

import gzip
import os
import zlib
from typing import Sequence

from absl import logging

from vae_tf.errors import UserError


def one_line(error: BaseException) -> str:
    """An exception's message squeezed onto one line (its type name when it has none)."""
    text = " ".join(str(error).split())
    return text[:200] if text else type(error).__name__


def check_folder(data_dir: str, name: str, expected: str) -> None:
    """UserError unless `data_dir` is an existing folder."""
    if not os.path.isdir(data_dir):
        raise UserError(f"--data_dir={data_dir}: no such folder; pass the folder holding "
                        f"the {name} files ({expected})")


def locate(data_dir: str, name: str, expected: Sequence[str],
           subfolders: Sequence[str] = ()) -> str:
    """The folder, `data_dir` itself or one of its `subfolders`, holding every `expected` file.

    Raises UserError naming the dataset, the folder and what is missing.
    """
    check_folder(data_dir, name, ", ".join(expected))
    candidates = [data_dir] + [os.path.join(data_dir, s) for s in subfolders]
    for folder in candidates:
        if all(os.path.isfile(os.path.join(folder, f)) for f in expected):
            return folder
    best = max(candidates, key=lambda c: sum(os.path.isfile(os.path.join(c, f)) for f in expected))
    missing = [f for f in expected if not os.path.isfile(os.path.join(best, f))]
    where = " or ".join(candidates)
    raise UserError(f"--data_dir={data_dir}: {name} needs {', '.join(missing)} in {where}; "
                    f"put the original files there")


def read_bytes(path: str) -> bytes:
    """The bytes of a file, un-gzipped when it ends in .gz; UserError when it is corrupt."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"{path}: cannot be read ({one_line(e)}); the file is truncated or "
                        "corrupt: download it again") from None


def note_count(path: str, what: str, count: int, official: int) -> None:
    """Log a warning when a file holds another number of examples than the original."""
    if count != official:
        logging.warning("%s holds %d %s, not the %d of the original dataset; using them all",
                        path, count, what, official)
