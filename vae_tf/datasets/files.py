"""Finding a dataset's original files under --data_dir, reading them, one-line errors.

Two rules every loader follows:
- A read error is not a corrupt file: a path that cannot be read (permission denied, a
  broken symbolic link, a folder where a file belongs) is a UserError "cannot be read",
  never an OSError escaping to the launcher.
- Never a silently smaller dataset: a file or tree holding fewer examples than the
  original is a UserError (`check_count`), unless $VAE_TF_ALLOW_SMALL_DATA=1 says a
  smaller set is meant (the tests' tiny fixtures); then it is a logged warning. The
  launcher never sets that variable.
"""

import gzip
import io
import os
import zlib
from typing import List, Optional, Sequence, Set

import numpy as np
from absl import logging

from vae_tf.errors import UserError

ALLOW_SMALL_VAR = "VAE_TF_ALLOW_SMALL_DATA"
READ_PATHS: Set[str] = set()  # absolute path of every data file a loader read in this process


def note_read(path: str) -> None:
    """Add `path` to READ_PATHS (an experiment's results fingerprint lists those files)."""
    READ_PATHS.add(os.path.abspath(path))


def one_line(error: BaseException) -> str:
    """An exception's message squeezed onto one line (its type name when it has none)."""
    text = " ".join(str(error).split())
    return text[:200] if text else type(error).__name__


def decode_image(data: bytes, where: str, what: str, size, fix: str, format_mode=None,
                 grey: bool = False) -> np.ndarray:
    """One image file's bytes -> uint8 or float32 pixels [H, W], its size (W, H) checked
    from the header before any pixel is decoded; a damaged file or another size is one
    UserError naming `where` and ending in `fix`. `format_mode`: the (format, mode) the
    file must have (else it is refused as not `what`); `grey`: converted to 8-bit grey."""
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as image:
            if format_mode and (image.format, image.mode) != tuple(format_mode):
                raise ValueError(f"format {image.format}, mode {image.mode}")
            found = image.size
            pixels = (np.asarray(image.convert("L") if grey else image)
                      if found == tuple(size) else None)
    except Exception as e:  # PIL raises many types for a damaged file
        raise UserError(f"{where}: not a readable {what} ({one_line(e)}); {fix}") from None
    if pixels is None:
        raise UserError(f"{where}: image is {found[0]}x{found[1]} (WxH), expected "
                        f"{size[0]}x{size[1]}; {fix}")
    return pixels


def unreadable(path: str, error: Optional[OSError] = None) -> UserError:
    """The one-line error for a path that exists (or should) but cannot be read."""
    if os.path.islink(path) and not os.path.exists(path):
        reason, fix = "a broken symbolic link", "point it at the original file or replace it"
    elif isinstance(error, PermissionError):
        reason, fix = "permission denied", "give read permission (chmod u+r)"
    elif error is None and os.path.isdir(path):
        reason, fix = "a folder, not a file", "replace it with the original file"
    else:
        reason = (error.strerror or one_line(error)) if error is not None else "not a regular file"
        fix = "restore the original"
    return UserError(f"{path}: cannot be read ({reason}); {fix}")


def read_raw(path: str) -> bytes:
    """The bytes of a file; a one-line UserError when it cannot be read."""
    if os.path.isdir(path):
        raise unreadable(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise unreadable(path, e) from None
    note_read(path)
    return raw


def list_folder(folder: str) -> List[str]:
    """The sorted names in a folder; a one-line UserError when it cannot be listed."""
    try:
        return sorted(os.listdir(folder))
    except OSError as e:
        raise unreadable(folder, e) from None


def check_folder(data_dir: str, name: str, expected: str) -> None:
    """UserError unless `data_dir` is an existing folder."""
    if not os.path.isdir(data_dir):
        raise UserError(f"--data_dir={data_dir}: no such folder; pass the folder holding "
                        f"the {name} files ({expected})")


def locate(data_dir: str, name: str, expected: Sequence[str],
           subfolders: Sequence[str] = ()) -> str:
    """The folder, `data_dir` itself or one of its `subfolders`, holding every `expected` file.

    Raises UserError naming the dataset, the folder and what is missing or unreadable.
    """
    check_folder(data_dir, name, ", ".join(expected))
    candidates = [data_dir] + [os.path.join(data_dir, s) for s in subfolders]
    for folder in candidates:
        if all(os.path.isfile(os.path.join(folder, f)) for f in expected):
            return folder
    best = max(candidates, key=lambda c: sum(os.path.lexists(os.path.join(c, f)) for f in expected))
    missing = [f for f in expected if not os.path.isfile(os.path.join(best, f))]
    for f in missing:  # there, but a folder or a broken link
        if os.path.lexists(os.path.join(best, f)):
            raise unreadable(os.path.join(best, f))
    where = " or ".join(candidates)
    raise UserError(f"--data_dir={data_dir}: {name} needs {', '.join(missing)} in {where}; "
                    f"put the original files there")


def read_bytes(path: str, limit: Optional[int] = None) -> bytes:
    """The bytes of a file, un-gzipped when it ends in .gz; UserError when it is corrupt or,
    given `limit` (the original's size), holds more than `limit` bytes.

    A gzip is inflated no further than `limit` + 1 bytes, as omniglot.py bounds what a zip
    may declare: a small file that inflates to gigabytes (a bomb) never fills the memory.
    """
    raw = read_raw(path)
    if path.endswith(".gz"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
                raw = f.read(-1 if limit is None else limit + 1)
        except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise UserError(f"{path}: cannot be read ({one_line(e)}); the file is truncated "
                            "or corrupt: download it again") from None
    if limit is not None and len(raw) > limit:
        grows = "inflates to" if path.endswith(".gz") else "holds"
        raise UserError(f"{path}: {grows} more than {limit} bytes, the size of the original; "
                        "the file is damaged or not the original: download it again")
    return raw


def small_data_allowed() -> bool:
    """Whether $VAE_TF_ALLOW_SMALL_DATA=1 accepts fewer examples than the original."""
    return os.environ.get(ALLOW_SMALL_VAR) == "1"


def check_count(path: str, what: str, count: int, official: int, fix: str) -> None:
    """UserError when `path` holds fewer examples than the original (see the module doc);
    a logged warning when it holds more, or fewer under $VAE_TF_ALLOW_SMALL_DATA=1."""
    if count < official and not small_data_allowed():
        raise UserError(f"{path}: holds {count} {what} but the original has {official}; "
                        f"{fix} (set {ALLOW_SMALL_VAR}=1 only to use fewer on purpose)")
    if count != official:
        logging.warning("%s holds %d %s, not the %d of the original dataset; using them all",
                        path, count, what, official)
