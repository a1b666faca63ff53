"""The MLP VAE's weight initialisers: the thesis TensorFlow VAE's truncated normal (Glorot
uniform when no stddev is given) and its PyTorch VAE's re-draw (`--init=thesis_pytorch`).
Biases start at 0 either way."""

import math
from typing import Optional

import keras
import tensorflow as tf


def dense_initializer(stddev: Optional[float], seed: int):
    """Truncated normal with `stddev` (the thesis's 0.001), or Glorot uniform when None."""
    if stddev is None:
        return keras.initializers.GlorotUniform(seed=seed)
    return keras.initializers.TruncatedNormal(stddev=stddev, seed=seed)


def thesis_pytorch_init(vae, seed: int = 0) -> None:
    """Re-draw the MLP's weights as the thesis's PyTorch VAE did (`--init=thesis_pytorch`).

    Its helper scaled N(0, 1) by sqrt(2 / size[0]) where size is [out, in] (PyTorch's
    layout), so each weight has standard deviation sqrt(2 / fan_out), untruncated; biases 0.
    Keras kernels are [in, out]: fan_out is the second dimension. Seeds: seed + 20 + layer,
    the layers in the order of the encoder's, then the decoder's `dense_layers()`.
    """
    layers = [*vae.encoder.dense_layers(), *vae.decoder.dense_layers()]
    for i, layer in enumerate(layers):
        stddev = math.sqrt(2.0 / layer.kernel.shape[1])
        draw = keras.initializers.RandomNormal(stddev=stddev, seed=seed + 20 + i)
        layer.kernel.assign(draw(layer.kernel.shape))
        layer.bias.assign(tf.zeros_like(layer.bias))
