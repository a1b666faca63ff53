"""A convolutional encoder and decoder for images of any (H, W, C) (`--arch=conv`).

Encoder: [B, H*W*C] -> image -> Conv(32, 4x4, stride 2) -> Conv(64, 4x4, stride 2) ->
Dense(hidden) -> z_mean, z_log_var. Decoder: z -> Dense(hidden) -> Dense to a
ceil(H/4) x ceil(W/4) x 64 map -> ConvTranspose(32, stride 2) -> ConvTranspose(C,
stride 2) -> cropped to H x W -> flat logits [B, H*W*C]. ReLU everywhere but the outputs.
"""

import math
from typing import Sequence

import keras
import tensorflow as tf


def _shape(image_shape: Sequence[int]):
    h, w, c = (int(v) for v in image_shape)
    return h, w, c


@keras.saving.register_keras_serializable(package="vae_tf")
class ConvEncoder(keras.Model):
    def __init__(self, latent_dim: int, hidden_dim: int, image_shape, seed: int = 0,
                 name: str = "encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.latent_dim, self.hidden_dim = latent_dim, hidden_dim
        self.image_shape, self.seed = _shape(image_shape), seed
        init = keras.initializers.GlorotUniform
        # Attributes, not a list: tf.train.Checkpoint does not follow Keras's tracked lists.
        self.conv0, self.conv1 = [
            keras.layers.Conv2D(f, 4, strides=2, padding="same", activation="relu",
                                kernel_initializer=init(seed + i), name=f"conv{i}")
            for i, f in enumerate((32, 64))]
        self.hidden = keras.layers.Dense(hidden_dim, activation="relu", name="hidden",
                                         kernel_initializer=init(seed + 2))
        self.mean = keras.layers.Dense(latent_dim, name="z_mean", kernel_initializer=init(seed + 3))
        self.log_var = keras.layers.Dense(latent_dim, name="z_log_var",
                                          kernel_initializer=init(seed + 4))

    def call(self, x):
        h = tf.reshape(x, (-1,) + self.image_shape)
        h = self.conv1(self.conv0(h))
        h = self.hidden(tf.reshape(h, (tf.shape(h)[0], -1)))
        return self.mean(h), self.log_var(h)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "hidden_dim": self.hidden_dim,
                "image_shape": list(self.image_shape), "seed": self.seed}


@keras.saving.register_keras_serializable(package="vae_tf")
class ConvDecoder(keras.Model):
    def __init__(self, hidden_dim: int, image_shape, seed: int = 0, name: str = "decoder",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.hidden_dim, self.image_shape, self.seed = hidden_dim, _shape(image_shape), seed
        h, w, c = self.image_shape
        self.grid = (math.ceil(h / 4), math.ceil(w / 4), 64)
        init = keras.initializers.GlorotUniform
        self.hidden = keras.layers.Dense(hidden_dim, activation="relu", name="hidden",
                                         kernel_initializer=init(seed + 5))
        self.spread = keras.layers.Dense(self.grid[0] * self.grid[1] * 64, activation="relu",
                                         name="spread", kernel_initializer=init(seed + 6))
        self.up = keras.layers.Conv2DTranspose(32, 4, strides=2, padding="same",
                                               activation="relu", name="up0",
                                               kernel_initializer=init(seed + 7))
        self.out = keras.layers.Conv2DTranspose(c, 4, strides=2, padding="same", name="logits",
                                                kernel_initializer=init(seed + 8))

    def call(self, z):
        h = tf.reshape(self.spread(self.hidden(z)), (-1,) + self.grid)
        img = self.out(self.up(h))[:, :self.image_shape[0], :self.image_shape[1], :]
        return tf.reshape(img, (tf.shape(z)[0], -1))

    def get_config(self):
        return {**super().get_config(), "hidden_dim": self.hidden_dim,
                "image_shape": list(self.image_shape), "seed": self.seed}
