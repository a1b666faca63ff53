"""Resuming from a run folder's checkpoints, damaged ones included.

`resume` removes the temporary folders a killed save leaves (`ckpt-N_temp`), then restores
the newest checkpoint that reads back whole. A damaged newest one (a data file cut short,
an index deleted) is reported in one warning and the one before it is used; when none is
intact, a one-line UserError says so and how to start over.
"""

import os
import shutil

import tensorflow as tf
from absl import logging

from vae_tf.errors import UserError


def resume(checkpoint: tf.train.Checkpoint, folder: str,
           max_to_keep: int = 3) -> tf.train.CheckpointManager:
    """A manager over `folder`, with `checkpoint` restored from its newest intact entry."""
    for name in (os.listdir(folder) if os.path.isdir(folder) else []):
        if name.endswith("_temp"):
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
    manager = tf.train.CheckpointManager(checkpoint, folder, max_to_keep=max_to_keep)
    problems = []
    for path in reversed(manager.checkpoints):
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        except Exception as e:  # noqa: BLE001 (a damaged file fails in many ways: IndexError, DataLossError, ...)
            problems.append(f"{os.path.basename(path)}: {first_line(e)}")
            logging.warning("checkpoint %s is damaged (%s); trying the one before it",
                            path, first_line(e))
            continue
        if problems:  # the manager's "latest" must be the one restored
            manager._latest_checkpoint = path  # noqa: SLF001 (no public setter)
        return manager
    if problems:
        raise UserError(f"{folder}: no intact checkpoint to resume from "
                        f"({'; '.join(problems)[:300]}); delete that folder to start over, "
                        "or pass a new --logdir")
    return manager


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]
