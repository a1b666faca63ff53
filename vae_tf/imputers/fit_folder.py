"""An imputer's run folder: the one fit it holds (fit.json), and the runs it refuses.

A trained imputer with a `logdir` resumes a killed fit from the folder's checkpoints. That
is right only for the same fit: `claim_fit` records a fingerprint of the data and settings
in fit.json and refuses another. `check_fit_folder` refuses, before anything is written, a
folder that holds another kind of run (the launcher's training run, or checkpoints without
a fit.json), whose checkpoints the fit would otherwise take for damaged ones.
"""

import hashlib
import json
import os

import numpy as np

from vae_tf.errors import UserError
from vae_tf.rundir import resumed_parts, write_json


def check_fit_folder(folder: str, what: str = "logdir") -> None:
    """Refuse `folder` if it holds a run other than an imputer's fit (writes nothing)."""
    if not os.path.isdir(folder) or os.path.exists(os.path.join(folder, "fit.json")):
        return  # a new folder, or a fit's (claim_fit compares the two fits)
    config = os.path.join(folder, "config.json")
    mode = _saved_mode(config) if os.path.exists(config) else "impute"
    if mode != "impute":  # the launcher's --mode=impute folder holds its imputer's fit
        held = (f"a --mode={mode} run (its config.json)" if isinstance(mode, str) else
                "a config.json that is not an imputation run's")
        raise UserError(f"{what}={folder} holds {held}, not an imputer's fit; pass a new "
                        "folder (a fit there would write into that run)")
    parts = resumed_parts(folder)
    if parts:
        raise UserError(f"{what}={folder} holds {', '.join(parts)} of another run but no "
                        "fit.json (the record of an imputer's fit); pass a new folder, or an "
                        "earlier fit's folder to resume it")


def _saved_mode(path: str):
    """The `mode` of a config.json (None when it cannot be read)."""
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError):
        return None
    return saved.get("mode") if isinstance(saved, dict) else None


def fingerprint(*parts) -> str:
    """A short hash of arrays and settings (what a fit in a run folder was made from)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(str((part.shape, part.dtype.str)).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()[:16]


def claim_fit(folder: str, print_: str, what: str = "logdir") -> None:
    """Record `print_` as the fit a run folder holds; refuse a folder holding another one.

    A resumed fit must see the same data and settings: restoring another fit's checkpoint
    would silently return its results.
    """
    path = os.path.join(folder, "fit.json")
    if os.path.exists(path):
        try:
            with open(path) as f:
                old = json.load(f).get("fingerprint")
        except (OSError, ValueError, AttributeError):
            old = None
        if old != print_:
            raise UserError(f"{what}={folder} holds a fit of other data or settings (a different "
                            "seed changes the holes too); pass a new folder, or the same data "
                            "and settings to resume")
        return
    write_json(path, {"fingerprint": print_})
