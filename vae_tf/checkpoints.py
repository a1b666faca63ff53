"""Resuming from a run folder's checkpoints, damaged ones included.

`resume` removes the temporary folders a killed save leaves (`ckpt-N_temp`), then restores
the newest checkpoint that reads back whole (from the `checkpoint` list, or from the
checkpoint files themselves when that list is missing or damaged). A damaged newest one (a
data file cut short, an index deleted) is reported in one warning and the one before it is
used; when none is intact, a one-line UserError says so and how to start over. A
checkpoint of another model (other sizes: checkpoints copied from another run, or a
config.json edited) is not damaged: a one-line UserError names the shapes at once.
"""

import os
import re
import shutil

import tensorflow as tf
from absl import logging

from vae_tf.errors import UserError


def resume(checkpoint: tf.train.Checkpoint, folder: str, max_to_keep: int = 3,
           what: str = "--logdir") -> tf.train.CheckpointManager:
    """A manager over `folder` (`<run>/checkpoints`), with `checkpoint` restored from its
    newest intact entry. `what`: the run folder's name in errors (a flag or an argument)."""
    for name in (os.listdir(folder) if os.path.isdir(folder) else []):
        if name.endswith("_temp"):
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
    manager = tf.train.CheckpointManager(checkpoint, folder, max_to_keep=max_to_keep)
    candidates = list(manager.checkpoints)
    found = _on_disk(folder)
    if not candidates and found:  # the `checkpoint` list is missing or unreadable
        logging.warning("%s: the list of checkpoints is missing or damaged; trying the "
                        "checkpoint files found there", folder)
        candidates = found
    problems = []
    for path in reversed(candidates):
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        except Exception as e:  # noqa: BLE001 (a damaged file fails in many ways: IndexError, DataLossError, ...)
            other = _other_model(e)
            if other:
                raise UserError(f"{what}={os.path.dirname(folder)} holds checkpoints of another "
                                f"model ({os.path.basename(path)}: {other}); pass a new {what} "
                                "for this model") from None
            problems.append(f"{os.path.basename(path)}: {first_line(e)}")
            logging.warning("checkpoint %s is damaged (%s); trying the one before it",
                            path, first_line(e))
            continue
        if path != manager.latest_checkpoint:  # the manager's "latest" is the one restored
            manager._latest_checkpoint = path  # noqa: SLF001 (no public setter)
        return manager
    if problems:
        raise UserError(f"{folder}: no intact checkpoint to resume from "
                        f"({'; '.join(problems)[:300]}); delete that folder to start over, "
                        "or pass a new --logdir")
    return manager


# How TensorFlow says a checkpoint holds another model: a variable of another shape, or
# variables of this model it does not hold at all.
_SHAPE = re.compile(r"incompatible tensor with shape (\(.*?\)) when attempting to restore "
                    r"variable with shape (\(.*?\)) and name ([^\s:]+)")
_UNBOUND = re.compile(r"not bound to checkpointed values.*?<tf\.Variable '([^':]+)", re.S)


def _other_model(error: BaseException) -> str:
    """What differs, if `error` says the checkpoint holds another model; else ""."""
    text = str(error)
    shape = _SHAPE.search(text)
    if shape:
        saved, here, name = shape.groups()
        return f"{name} has shape {saved} there, {here} in this run's model"
    unbound = _UNBOUND.search(text)
    if unbound:
        return f"it has no {unbound.group(1)}, which this run's model has"
    return ""


def _on_disk(folder: str):
    """The checkpoints whose index file is in `folder`, oldest first."""
    names = os.listdir(folder) if os.path.isdir(folder) else []
    numbers = sorted(int(m.group(1)) for m in (re.fullmatch(r"ckpt-(\d+)\.index", n)
                                               for n in names) if m)
    return [os.path.join(folder, f"ckpt-{n}") for n in numbers]


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]
