"""The thesis's MLP VAE as small subclassed Keras models that return tensors."""

import math
from typing import Callable, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.initializers import dense_initializer as _initializer, thesis_pytorch_init

__all__ = ["Encoder", "Decoder", "VAE", "SIGMA_FLOOR", "load_model", "reparameterize",
           "encode_decode", "thesis_pytorch_init", "low_precision_copy"]  # load_model, thesis_pytorch_init: re-exported

SIGMA_FLOOR = 0.01  # a learned Gaussian standard deviation never goes below this
_SIGMA_START = 0.1  # ... and starts here


def _add_deeper(model: keras.Model, hidden_layers: int, init_stddev: Optional[float],
                seed: int) -> None:
    """The hidden layers after the first, as attributes `hidden_2`, `hidden_3`, ...

    Attributes, not a list: tf.train.Checkpoint does not follow Keras's tracked lists, so
    a list's layers would silently miss the training checkpoints. Their initializer seeds
    (seed + 10 + i) leave those of the one-layer model unchanged.
    """
    for i in range(hidden_layers - 1):
        setattr(model, f"hidden_{i + 2}", keras.layers.Dense(
            model.hidden_dim, activation="relu", name=f"hidden_{i + 2}",
            kernel_initializer=_initializer(init_stddev, seed + 10 + i)))


def _deeper(model: keras.Model):
    """The layers `_add_deeper` made, in order."""
    return [getattr(model, f"hidden_{i + 2}") for i in range(model.hidden_layers - 1)]


def _apply(layers, h):
    for layer in layers:
        h = layer(h)
    return h


@keras.saving.register_keras_serializable(package="vae_tf")
class Encoder(keras.Model):
    """x [B, D] -> (z_mean [B, L], z_log_var [B, L]) through `hidden_layers` Dense(hidden, ReLU)."""

    def __init__(self, latent_dim: int, hidden_dim: int, init_stddev: Optional[float] = None,
                 seed: int = 0, hidden_layers: int = 1, name: str = "encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.latent_dim, self.hidden_dim = latent_dim, hidden_dim
        self.init_stddev, self.seed, self.hidden_layers = init_stddev, seed, hidden_layers
        self.hidden = keras.layers.Dense(hidden_dim, activation="relu", name="hidden",
                                         kernel_initializer=_initializer(init_stddev, seed))
        _add_deeper(self, hidden_layers, init_stddev, seed)
        self.mean = keras.layers.Dense(latent_dim, name="z_mean",
                                       kernel_initializer=_initializer(init_stddev, seed + 1))
        self.log_var = keras.layers.Dense(latent_dim, name="z_log_var",
                                          kernel_initializer=_initializer(init_stddev, seed + 2))

    def dense_layers(self):
        """Every Dense layer: the hidden ones, z_mean, z_log_var."""
        return [self.hidden, *_deeper(self), self.mean, self.log_var]

    def build(self, input_shape):
        self.hidden.build(input_shape)
        for layer in self.dense_layers()[1:]:
            layer.build((None, self.hidden_dim))
        self.built = True

    def call(self, x):
        h = _apply(_deeper(self), self.hidden(x))
        return self.mean(h), self.log_var(h)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "hidden_dim": self.hidden_dim, "init_stddev": self.init_stddev,
                "seed": self.seed, "hidden_layers": self.hidden_layers}


@keras.saving.register_keras_serializable(package="vae_tf")
class Decoder(keras.Model):
    """z [B, L] -> logits [B, D] through `hidden_layers` Dense(hidden, ReLU).

    The Bernoulli mean is sigmoid(logits).
    """

    def __init__(self, output_dim: int, hidden_dim: int, init_stddev: Optional[float] = None,
                 seed: int = 0, hidden_layers: int = 1, name: str = "decoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.output_dim, self.hidden_dim = output_dim, hidden_dim
        self.init_stddev, self.seed, self.hidden_layers = init_stddev, seed, hidden_layers
        self.hidden = keras.layers.Dense(hidden_dim, activation="relu", name="hidden",
                                         kernel_initializer=_initializer(init_stddev, seed + 3))
        _add_deeper(self, hidden_layers, init_stddev, seed + 100)
        self.logits = keras.layers.Dense(output_dim, name="logits",
                                         kernel_initializer=_initializer(init_stddev, seed + 4))

    def dense_layers(self):
        """Every Dense layer: the hidden ones, the logits."""
        return [self.hidden, *_deeper(self), self.logits]

    def build(self, input_shape):
        self.hidden.build(input_shape)
        for layer in self.dense_layers()[1:]:
            layer.build((None, self.hidden_dim))
        self.built = True

    def call(self, z):
        return self.logits(_apply(_deeper(self), self.hidden(z)))

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim,
                "hidden_dim": self.hidden_dim, "init_stddev": self.init_stddev,
                "seed": self.seed, "hidden_layers": self.hidden_layers}


@keras.saving.register_keras_serializable(package="vae_tf")
class VAE(keras.Model):
    """Encoder and decoder together.

    `call(x)` gives the LOGITS of the deterministic reconstruction (decoder(z_mean)); for
    images use `reconstruct(x)`, `encode(x)`, `decode(z)` and `sample(n, seed=)`, whose
    outputs are the likelihood's mean in [0, 1]. Those four take and give numpy arrays, as
    Keras's `predict` does; given a tf.Tensor (or traced by tf.function) they give tensors.
    Images must be floats in [0, 1]: integer images (uint8 0..255) are refused.

    `likelihood` is one of `losses.LIKELIHOODS`; for `gaussian`, `sigma` > 0 fixes the
    standard deviation and `sigma` = 0 learns one per entry (`raw_scale`, with
    sigma = SIGMA_FLOOR + exp(raw_scale), starting at 0.1).
    """

    def __init__(self, input_dim: int, latent_dim: int, hidden_dim: int,
                 init_stddev: Optional[float] = None, seed: int = 0, arch: str = "mlp",
                 image_shape=None, hidden_layers: int = 1, likelihood: str = "bernoulli",
                 sigma: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if likelihood not in losses.LIKELIHOODS or not (sigma >= 0 and math.isfinite(sigma)):
            raise ValueError(f"likelihood={likelihood!r}, sigma={sigma!r}: the likelihood must "
                             f"be one of {losses.LIKELIHOODS} and sigma finite and >= 0")
        self.likelihood, self.sigma = likelihood, sigma
        self.raw_scale = None
        if likelihood == "gaussian" and sigma == 0:
            start = math.log(_SIGMA_START - SIGMA_FLOOR)
            self.raw_scale = self.add_weight(shape=(input_dim,), name="raw_scale",
                                             initializer=keras.initializers.Constant(start))
        self.input_dim, self.latent_dim, self.hidden_dim = input_dim, latent_dim, hidden_dim
        self.init_stddev, self.seed, self.hidden_layers = init_stddev, seed, hidden_layers
        self.arch, self.image_shape = arch, list(image_shape) if image_shape else None
        if arch == "conv":
            from vae_tf.conv import ConvDecoder, ConvEncoder
            self.encoder = ConvEncoder(latent_dim, hidden_dim, image_shape, seed)
            self.decoder = ConvDecoder(hidden_dim, image_shape, seed)
        else:
            self.encoder = Encoder(latent_dim, hidden_dim, init_stddev, seed, hidden_layers)
            self.decoder = Decoder(input_dim, hidden_dim, init_stddev, seed, hidden_layers)
        self.build((None, input_dim))

    def build(self, input_shape):
        if self.arch == "conv":  # conv layers build on a first call
            self.decoder(self.encoder(tf.zeros((1, self.input_dim)))[0])
        else:
            self.encoder.build(input_shape)
            self.decoder.build((None, self.latent_dim))
        super().build(input_shape)

    def call(self, x):
        z_mean, _ = self.encoder(x)
        return self.decoder(z_mean)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "latent_dim": self.latent_dim, "hidden_dim": self.hidden_dim,
                "init_stddev": self.init_stddev, "seed": self.seed, "arch": self.arch,
                "image_shape": self.image_shape, "hidden_layers": self.hidden_layers,
                "likelihood": self.likelihood, "sigma": self.sigma}

    def log_scale(self) -> Optional[tf.Tensor]:
        """The Gaussian's log standard deviation (a scalar or [D]); None for the others."""
        if self.likelihood != "gaussian":
            return None
        if self.raw_scale is None:
            return tf.constant(math.log(self.sigma))
        return tf.math.log(SIGMA_FLOOR + tf.exp(self.raw_scale))

    def mean(self, logits: tf.Tensor) -> tf.Tensor:
        """The image the decoder output `logits` stands for (the likelihood's mean)."""
        return losses.decoded_mean(logits, self.likelihood)

    # -- the model API: every output an image in [0, 1] or a latent code ---------------
    def encode(self, x) -> Tuple[np.ndarray, np.ndarray]:
        """x [N, D] floats in [0, 1] -> (z_mean [N, L], z_log_var [N, L]) of q(z | x)."""
        z_mean, z_log_var = self.encoder(_floats(x, "encode", images=True))
        return _out(z_mean, x), _out(z_log_var, x)

    def decode(self, z) -> np.ndarray:
        """z [N, L] -> the likelihood's mean [N, D] in [0, 1] (not logits)."""
        return _out(self.mean(self.decoder(_floats(z, "decode"))), z)

    def reconstruct(self, x) -> np.ndarray:
        """x [N, D] floats in [0, 1] -> its deterministic reconstruction decode(z_mean) [N, D]."""
        return _out(self.mean(self(_floats(x, "reconstruct", images=True))), x)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n images [n, D] in [0, 1]: decoded means of draws z ~ N(0, I), seeded."""
        z = tf.random.stateless_normal((int(n), self.latent_dim), seed=(int(seed), 0))
        return _out(self.mean(self.decoder(z)), None)


def _floats(x, method: str, images: bool = False) -> tf.Tensor:
    """x as a float32 tensor; integer images refused in one line (they are not in [0, 1])."""
    dtype = tf.as_dtype(x.dtype) if tf.is_tensor(x) else tf.as_dtype(np.asarray(x).dtype)
    if images and dtype.is_integer:
        from vae_tf.errors import UserError
        raise UserError(f"VAE.{method}: the images are {dtype.name} integers, but the model "
                        "takes floats in [0, 1]; pass x / 255 for 0..255 pixels (x.astype("
                        "'float32') for 0/1 ones)")
    return tf.cast(x, tf.float32) if tf.is_tensor(x) else tf.constant(np.asarray(x, np.float32))


def _out(t: tf.Tensor, given):
    """numpy for a caller that passed numpy (or nothing), eagerly; a tensor for a tensor."""
    return t if tf.is_tensor(given) or not tf.executing_eagerly() else t.numpy()


def reparameterize(z_mean: tf.Tensor, z_log_var: tf.Tensor, rng: tf.random.Generator,
                   samples=None) -> tf.Tensor:
    """z = mean + exp(log_var / 2) * eps with eps ~ N(0, I) drawn from the explicit `rng`.

    [B, L] -> [B, L]; with `samples` = S (an int or a scalar tensor), S draws [S, B, L].
    """
    shape = tf.shape(z_mean)
    if samples is not None:
        shape = tf.concat([[samples], shape], 0)
    eps = rng.normal(shape, dtype=z_mean.dtype)
    return z_mean + tf.exp(0.5 * z_log_var) * eps


def encode_decode(vae: VAE, x: tf.Tensor, rng: tf.random.Generator
                  ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One stochastic pass: (logits [B, D], z_mean [B, L], z_log_var [B, L]).

    Explicit name scopes make `encoder`, `sampling` and `decoder` the top-level groups of
    the TensorBoard graph, as in the thesis's figures.
    """
    with tf.name_scope("encoder"):
        z_mean, z_log_var = vae.encoder(x)
    with tf.name_scope("sampling"):
        z = reparameterize(z_mean, z_log_var, rng)
    with tf.name_scope("decoder"):
        logits = vae.decoder(z)
    return logits, z_mean, z_log_var


def encode_decode_samples(encode: Callable[[], Tuple[tf.Tensor, tf.Tensor]],
                          decoder: Callable[[tf.Tensor], tf.Tensor],
                          rng: tf.random.Generator, samples
                          ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """The importance sampler's draws: encode once, draw `samples` = K, decode all K at once.

    `encode()` gives q(z|x) as (z_mean, z_log_var) [B, L] (the VAE's encoder on x, or
    MIWAE's on the data and its mask); returns (decoder outputs [K, B, ...], z [K, B, L],
    z_mean, z_log_var). The IWAE objective, MIWAE's masked bound and imputation, and the
    log-likelihood estimate all draw through it, in the same name scopes as `encode_decode`.
    """
    with tf.name_scope("encoder"):
        z_mean, z_log_var = encode()
    with tf.name_scope("sampling"):
        z = reparameterize(z_mean, z_log_var, rng, samples=samples)  # [K, B, L]
    with tf.name_scope("decoder"):
        flat = decoder(tf.reshape(z, [-1, tf.shape(z)[-1]]))  # [K * B, ...]
        out = tf.reshape(flat, tf.concat([[samples, -1], tf.shape(flat)[1:]], 0))
    return out, z, z_mean, z_log_var


def low_precision_copy(model: keras.Model, input_width: int,
                       dtype: str = "bfloat16") -> Callable[[tf.Tensor], tf.Tensor]:
    """`model` (an encoder or decoder of this package) as a function computing in `dtype`:
    a copy of it built under Keras's mixed_<dtype> policy (its layers multiply in dtype,
    accumulating in float32, and keep float32 weights), the fitted weights copied in, its
    output cast back to float32. For inference only (the copy does not follow later
    training of `model`). On CPUs with AMX or AVX512-BF16 a bfloat16 copy of conv.py's
    decoder runs in about 0.4x the float32 time (benchmarks/miwae_transform.py); its
    outputs keep about 3 significant digits."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(f"mixed_{dtype}")
    try:
        copy = type(model).from_config(model.get_config())
    finally:
        keras.config.set_dtype_policy(previous)
    copy(tf.zeros((1, input_width)))  # build, then take the fitted weights
    copy.set_weights(model.get_weights())
    return lambda x: tf.cast(copy(x), tf.float32)


from vae_tf.model_file import load_model  # noqa: E402  (its home; after VAE, which it loads)
