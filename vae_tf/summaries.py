"""TensorBoard summaries with stable, grouped tags.

Scalars: `train/loss`, `train/reconstruction`, `train/kl`, `test/loss`, ... (step = epoch);
`steps/loss` (step = optimizer step). Images: `images/reconstructions`,
`images/samples`. The graph of one training step, and the run's hyperparameters.
"""

from typing import Dict, Sequence, Tuple

import numpy as np
import tensorflow as tf

ImageShape = Tuple[int, int, int]


def image_grid(rows: Sequence[np.ndarray], image_shape: ImageShape) -> np.ndarray:
    """Tile rows of flat images ([n, D] each) into one [H*rows, W*n, C] picture in [0, 1]."""
    h, w, c = image_shape
    lines = [np.concatenate(list(np.asarray(r).reshape(-1, h, w, c)), axis=1) for r in rows]
    return np.clip(np.concatenate(lines, axis=0), 0.0, 1.0).astype(np.float32)


class Writer:
    """A thin wrapper over a tf.summary file writer with the project's tags."""

    def __init__(self, logdir: str):
        self._writer = tf.summary.create_file_writer(logdir)

    def scalars(self, prefix: str, values: Dict[str, float], step: int) -> None:
        with self._writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(f"{prefix}/{name}", value)

    def image(self, tag: str, picture: np.ndarray, step: int) -> None:
        """One [H, W, C] picture in [0, 1] under `tag`."""
        with self._writer.as_default(step=step):
            tf.summary.image(tag, picture[None], step=step, max_outputs=1)

    def hparams(self, values: Dict[str, object]) -> None:
        """Record the run's settings in the hparams plugin (None values are left out)."""
        from tensorboard.plugins.hparams import api as hp
        clean = {k: v for k, v in values.items() if isinstance(v, (bool, int, float, str))}
        with self._writer.as_default():
            hp.hparams(clean)

    def graph(self, graph: tf.Graph) -> None:
        """Write the graph of one training step (traced, not run) for the Graphs tab."""
        with self._writer.as_default():
            tf.summary.graph(graph)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
