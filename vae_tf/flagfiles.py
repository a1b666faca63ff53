"""Flagfiles (absl's `--flagfile=FILE`: flags, one a line), checked before absl reads them.

absl reads each flagfile the command line names (`--flagfile=FILE` or `--flagfile FILE`,
with one dash or two, up to a `--`) and, in its place, every `--flagfile=FILE` line inside
one; a relative path is read from the current folder, whichever file names it. absl
answers a missing file or a folder with its own raw text, a file that is not UTF-8 with a
traceback, and a file that includes itself (directly or through others) with a warning,
then runs without it. `check` refuses each of those first, in one line. Pipes and other
files that are not regular ones (`--flagfile=<(...)`) are left to absl: reading one here
would empty it.
"""

import io
import os
import stat
from typing import List, Optional, Sequence

from vae_tf.errors import UserError

WHAT = "a text file of flags, one a line, e.g. --epochs=5"
_DIRECTIVES = ("--flagfile=", "-flagfile=")


def named(args: Sequence[str]) -> List[str]:
    """The flagfiles the command line `args` (without the program) names, as absl finds them."""
    found, rest = [], iter(args)
    for arg in rest:
        if arg == "--":  # absl reads no flag after it
            break
        if arg in ("--flagfile", "-flagfile"):
            found.append(os.path.expanduser(next(rest, "")))  # none: absl's own one line
        elif arg.startswith(_DIRECTIVES):
            found.append(os.path.expanduser(arg.split("=", 1)[1].strip()))
    return [path for path in found if path]  # absl skips an empty name


def check(args: Sequence[str]) -> None:
    """A one-line UserError for the first flagfile named (or included) that absl would not
    read as meant: missing, a folder, unreadable, not UTF-8, or including itself."""
    for path in named(args):
        _check(path, [])


def _check(path: str, chain: List[str]) -> None:
    """Check `path`, then the flagfiles it includes; `chain`: the files that led to it."""
    parent: Optional[str] = chain[-1] if chain else None
    shown = f"--flagfile={path}" + (f" (named in {parent})" if parent else "")
    real = [os.path.realpath(p) for p in chain]
    if os.path.realpath(path) in real:  # absl would warn, skip it and run on without it
        start = real.index(os.path.realpath(path))
        how = "includes itself" if start == len(chain) - 1 else "closes a cycle"
        raise UserError(f"{shown} {how} ({' -> '.join(chain[start:] + [path])}); remove the "
                        f"line --flagfile={path} from {parent}")
    if os.path.isdir(path):
        raise UserError(f"{shown} is a folder, not a file; give the path of a flagfile "
                        f"({WHAT})")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return  # a pipe or a device: absl reads it once
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        where = "" if os.path.isabs(path) else f" in the current folder {os.getcwd()}" + (
            " (absl reads a relative flagfile from there, not beside the file naming it)"
            if parent else "")
        raise UserError(f"{shown}: no such file{where}; give the path of a flagfile "
                        f"({WHAT})") from None
    except OSError as e:
        raise UserError(f"{shown} cannot be read ({e.strerror}); give a flagfile you may "
                        "read") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{shown} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset "
                        f"{e.start}); save it as UTF-8 (a flagfile is {WHAT})") from None
    for line in io.StringIO(text, newline=None):  # absl's lines: any newline convention
        if line.startswith(_DIRECTIVES):
            included = os.path.expanduser(line.split("=", 1)[1].strip())
            if included:
                _check(included, chain + [path])
