"""Finding a dataset's original files under --data_dir, with one-line errors."""

import os
from typing import Sequence

from vae_tf.errors import UserError


def locate(data_dir: str, name: str, expected: Sequence[str], subfolders: Sequence[str] = ()) -> str:
    """The folder under `data_dir` (itself or one of `subfolders`) holding every `expected` file.

    Raises UserError naming the dataset, the folder and what is missing.
    """
    if not os.path.isdir(data_dir):
        raise UserError(f"--data_dir={data_dir}: no such folder; pass the folder holding "
                        f"the {name} files ({', '.join(expected)})")
    candidates = [data_dir] + [os.path.join(data_dir, s) for s in subfolders]
    for folder in candidates:
        if all(os.path.exists(os.path.join(folder, f)) for f in expected):
            return folder
    best = max(candidates, key=lambda c: sum(os.path.exists(os.path.join(c, f)) for f in expected))
    missing = [f for f in expected if not os.path.exists(os.path.join(best, f))]
    where = " or ".join(candidates)
    raise UserError(f"--data_dir={data_dir}: {name} needs {', '.join(missing)} in {where}; "
                    f"put the original files there")


def read_bytes(path: str) -> bytes:
    """The bytes of a file, un-gzipped when it ends in .gz; UserError when it is corrupt."""
    import gzip
    import zlib
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"{path}: cannot be read ({e}); the file is truncated or corrupt: "
                        "download it again") from None
