"""The engine's batch schedule: the rows each compiled call trains on in one epoch.

The order depends on (seed, epoch) only, so a resumed run sees the batches an uninterrupted
one would. Every call has the shape [K, B] (one trace, one XLA compilation): the last,
smaller batch is padded to B rows and the last call to K steps, with the real rows counted.
"""

from typing import List, Tuple

import numpy as np


def epoch_calls(n: int, batch_size: int, steps_per_call: int, seed: int, epoch: int,
                shuffle: bool = True) -> List[Tuple[np.ndarray, np.ndarray]]:
    """The calls of `epoch` over n rows: (rows [K, B] int32, real rows per step [K]) each.

    Rows are shuffled by (seed, epoch) unless `shuffle` is off; padding rows repeat a real
    row and steps of size 0 do not run.
    """
    b = batch_size
    order = (np.random.default_rng(seed * 100003 + epoch).permutation(n)
             if shuffle else np.arange(n)).astype(np.int32)
    n_batches = -(-n // b)
    k = min(steps_per_call, n_batches)
    padded = np.concatenate([order, np.full(n_batches * b - n, order[0], np.int32)])
    sizes = np.full(n_batches, b, np.int32)
    sizes[-1] = n - (n_batches - 1) * b
    calls = -(-n_batches // k)
    rows = np.zeros((calls * k, b), np.int32)
    rows[:n_batches] = padded.reshape(n_batches, b)
    steps = np.zeros(calls * k, np.int32)
    steps[:n_batches] = sizes
    return [(rows[c * k:(c + 1) * k], steps[c * k:(c + 1) * k]) for c in range(calls)]
