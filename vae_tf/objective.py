"""What a model gives the one engine (engine.py): its variables, what a checkpoint must hold,
and its loss as a pure function of a batch."""

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf


class Objective:
    """What a model gives the engine. Subclasses set the names and implement `terms`."""

    term_names: Tuple[str, ...] = ("loss",)  # per-example terms averaged and logged
    # Per-example tensors, each shaped like a row of the first data array, handed to
    # `apply_outputs` after every compiled call.
    output_names: Tuple[str, ...] = ()

    @property
    def trainable_variables(self) -> List[tf.Variable]:
        raise NotImplementedError

    def trackables(self) -> Dict[str, Any]:
        """Everything a checkpoint must hold besides the optimizer (models, generators)."""
        raise NotImplementedError

    def terms(self, batch: Tuple[tf.Tensor, ...]) -> Dict[str, tf.Tensor]:
        """Per-example terms [b] (with `loss`, minimised) and outputs of one batch."""
        raise NotImplementedError

    def penalty(self) -> Optional[tf.Tensor]:
        """A loss term not tied to examples (e.g. weight decay), or None."""
        return None

    def apply_outputs(self, rows: np.ndarray, outputs: Dict[str, np.ndarray]) -> None:
        """After each compiled call: the rows it trained on [n] and their outputs [n, ...]."""

    # True: on one device the engine calls `update_in_step` inside the compiled step
    # instead of handing the outputs back to `apply_outputs` after the call.
    updates_in_step: bool = False

    def update_in_step(self, rows: tf.Tensor, valid: tf.Tensor, batch: Tuple[tf.Tensor, ...],
                       terms: Dict[str, tf.Tensor]) -> None:
        """Inside the compiled step, after the update (when `updates_in_step`): rows [B] of
        the batch, valid [B] bool (False for padding rows), the batch and its terms."""
        raise NotImplementedError
