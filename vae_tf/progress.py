"""What the engine shows and records of training: the live progress bar, one line per epoch,
and an epoch's record grouped into TensorBoard scalars. Never reads FLAGS."""

import sys
from typing import Dict, List, Optional

import keras


def default_verbosity() -> int:
    """A live progress bar on a terminal, one line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


def progress_bar(n_batches: int, verbose: int) -> Optional[keras.utils.Progbar]:
    """The epoch's live bar (its running mean loss) at verbose 1; None otherwise."""
    if verbose != 1:
        return None
    return keras.utils.Progbar(n_batches, verbose=1, unit_name="batch",
                               stateful_metrics=["loss"])


def epoch_line(record: Dict[str, float]) -> str:
    """`train: loss 1.2, kl 0.3 | test: loss 1.4` from an epoch's record."""
    groups: Dict[str, List[str]] = {}
    for key, value in record.items():
        if "/" in key and isinstance(value, float) and not key.endswith("learning_rate"):
            group, name = key.split("/", 1)
            groups.setdefault(group, []).append(f"{name} {value:.4g}")
    return " | ".join(f"{g}: {', '.join(items)}" for g, items in groups.items())


def grouped_scalars(record: Dict[str, float]) -> Dict[str, Dict[str, float]]:
    """An epoch's record as TensorBoard groups: {"train/loss": 1.2} -> {"train": {"loss": 1.2}}."""
    scalars: Dict[str, Dict[str, float]] = {}
    for key, value in record.items():
        if "/" in key and isinstance(value, (int, float)):
            group, name = key.split("/", 1)
            scalars.setdefault(group, {})[name] = value
    return scalars
