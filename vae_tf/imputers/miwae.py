"""Imputation by inference: a VAE trained on the observed entries only (MIWAE), on the engine.

Training maximises the masked importance-weighted bound of `losses.masked_bound`
(Mattei & Frellsen 2019; train_samples = 1 is the masked ELBO): the likelihood never sees
a guessed value. The encoder reads the data with holes set to 0 and the mask, [B, 2D]:
side by side for the MLP (`arch="mlp"`), as 2C channels of one image (C the image's) for
the convolutional encoder and decoder of `conv.py` (`arch="conv"`, with `image_shape`).

Imputation, leaving observed entries untouched (`method`):
- `importance` (single imputation): E[x_mis | x_obs] by self-normalised importance
  sampling over `impute_samples` draws of q(z | x_obs): sum_l w_l sigmoid(decoder(z_l)),
  one compiled call per few rows with holes (importance.py).
- `pseudo_gibbs` (Rezende et al. 2014): from zeros in the holes, repeat z ~ q(z |
  completed x, all observed), holes <- decoder mean, `gibbs_iters` times.
`multiple_imputation(X, m)` (sampling importance resampling): for each of m imputations,
resample one draw z_l with probability w_l, then draw x_mis ~ p(x | z_l) (Bernoulli), so
the m imputations are draws from the model's predictive p(x_mis | x_obs); `draw="mean"`
keeps the decoder mean of z_l instead (only the latent part of the uncertainty).
"""

import math
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.config import ARCHS, SEED_MAX
from vae_tf.conv import ConvDecoder, ConvEncoder
from vae_tf.errors import UserError
from vae_tf.imputers.base import check_choice, check_int
from vae_tf.imputers.importance import ImportanceStep, resample, rows_per_call
from vae_tf.imputers.masked_bound import MaskedBound
from vae_tf.imputers.training import TrainedImputer
from vae_tf.models import Decoder, Encoder, reparameterize

METHODS = ("importance", "pseudo_gibbs")
ARCH_CHOICES = ("auto",) + ARCHS
# Epochs when `epochs` is None, per architecture fitted: the best of each within a 20-minute
# fit on 20,000 holed MNIST images here (experiments/results/miwae_defaults.md).
DEFAULT_EPOCHS = {"mlp": 100, "conv": 80}
DRAWS = ("sample", "mean")
CHUNK_ENTRIES = 1 << 25  # L x rows x D floats per imputation chunk (128 MB a tensor)


class MIWAEImputer(TrainedImputer):
    """fit(X) on data with NaN holes, then transform(X_new). See the module docstring.

    batch_size None trains on all rows as one batch; the engine's settings
    (steps_per_call, jit_compile, strategy, logdir, verbose) are those of VAEImputer.
    `arch="auto"` (default): conv.py's convolutions when `image_shape` is given, else the
    MLP (2x400: tables have no image). The defaults (latent 32, K = 5, L = 1000; on images
    conv, hidden 400, 80 epochs) are the setting with the lowest validation RMSE among
    those that fit in 20 minutes on 20,000 holed MNIST images here
    (experiments/results/miwae_defaults.md: 80 conv epochs took 1,069 s, validation RMSE
    0.1924; the best MLP, 2x400 for 100 epochs in 207 s, 0.2019). `epochs=None` takes the
    fitted architecture's tuned count (DEFAULT_EPOCHS: conv 80, MLP 100).
    `warm_start=True`: the next `fit` starts from this fit's weights (e.g. pretrain on a
    large image set, then fit a small one of the same width; see TrainedImputer).
    `arch="conv"` (or "auto" with `image_shape`): the convolutional encoder and decoder of
    `conv.py` (one hidden Dense layer each way: `hidden_layers` is the MLP's only) on
    images of `image_shape` (H, W) or (H, W, C) whose rows are flattened channels-last
    (`images.reshape(N, -1)`); the encoder sees the holed image and its mask as 2C
    channels. Never XLA (as `--arch=conv`).
    """

    _shuffle = True

    def __init__(self, latent_dim: int = 32, hidden_dim: int = 400, hidden_layers: int = 2,
                 epochs: Optional[int] = None, batch_size: int = 100,
                 learning_rate: float = 1e-3,
                 train_samples: int = 5, impute_samples: int = 1000, method: str = "importance",
                 gibbs_iters: int = 50, seed: int = 0, steps_per_call: int = 10,
                 jit_compile: bool = True, strategy: str = "default",
                 logdir: Optional[str] = None, verbose: int = 0, warm_start: bool = False,
                 arch: str = "auto", image_shape: Optional[Sequence[int]] = None,
                 keep_empty_features: Optional[bool] = None):
        self.keep_empty_features = keep_empty_features  # as scikit-learn's (validation.py)
        self.latent_dim, self.hidden_dim, self.hidden_layers = latent_dim, hidden_dim, hidden_layers
        self.arch, self.image_shape = arch, image_shape
        self.warm_start = warm_start
        self.epochs, self.batch_size, self.learning_rate = epochs, batch_size, learning_rate
        self.train_samples, self.impute_samples = train_samples, impute_samples
        self.method, self.gibbs_iters, self.seed = method, gibbs_iters, seed
        self.steps_per_call, self.jit_compile, self.strategy = steps_per_call, jit_compile, strategy
        self.logdir, self.verbose = logdir, verbose

    def _check_settings(self, n: int) -> None:
        name = type(self).__name__
        for arg, example in (("latent_dim", 32), ("hidden_dim", 400), ("hidden_layers", 1),
                             ("train_samples", 5), ("impute_samples", 1000), ("gibbs_iters", 50)):
            check_int(name, arg, getattr(self, arg), example=example)
        check_choice(name, "method", self.method, METHODS)
        check_choice(name, "arch", self.arch, ARCH_CHOICES)
        if not isinstance(self.warm_start, (bool, np.bool_)):
            check_choice(name, "warm_start", self.warm_start, (True, False))

    def _fit_settings(self) -> dict:
        settings = {**super()._fit_settings(), "arch": self._arch()}  # "auto" as resolved
        if settings["arch"] == "mlp":  # as before arch existed: earlier run folders resume
            del settings["arch"], settings["image_shape"]
        else:
            settings["image_shape"], settings["hidden_layers"] = self._image_shape(None), None
        return settings

    def _arch(self) -> str:
        """The architecture fitted: `arch`, or for "auto" conv when `image_shape` is given."""
        if self.arch == "auto":
            return "mlp" if self.image_shape is None else "conv"
        return self.arch

    def _epochs(self):
        check_choice(type(self).__name__, "arch", self.arch, ARCH_CHOICES)
        return DEFAULT_EPOCHS[self._arch()] if self.epochs is None else self.epochs

    def _structure(self, d: int):
        return "arch='mlp'" if self._arch() == "mlp" else \
            f"arch='conv', image_shape={self._image_shape(d)}"

    def _image_shape(self, d: Optional[int]):
        """(H, W, C) of the images of d columns (None: any) for arch="conv"; UserError."""
        shape = self.image_shape
        ok = (isinstance(shape, (tuple, list)) and len(shape) in (2, 3)
              and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
                      for v in shape))
        if not ok or d is not None and math.prod(shape) != d:
            raise UserError(f"{type(self).__name__}(arch='conv') got image_shape={shape!r} for "
                            f"data of {d} columns; pass (height, width) or (height, width, "
                            f"channels) whose product is {d}, e.g. (28, 28) for MNIST")
        return (tuple(int(v) for v in shape) + (1,))[:3]

    def _data(self, x, mask):
        return [np.where(mask, x, 0).astype(np.float32), mask.astype(np.float32)]

    def _objective(self, x, mask, data) -> MaskedBound:
        d, rng = x.shape[1], tf.random.Generator.from_seed(self.seed)
        if self._arch() == "conv":
            h, w, c = self._image_shape(d)
            encoder = ConvEncoder(self.latent_dim, self.hidden_dim, (h, w, 2 * c), seed=self.seed)
            decoder = ConvDecoder(self.hidden_dim, (h, w, c), seed=self.seed)
            encoder(tf.zeros((1, 2 * d)))  # conv layers build on a first call
            decoder(tf.zeros((1, self.latent_dim)))
            return MaskedBound(encoder, decoder, rng, self.train_samples, channels=c)
        encoder = Encoder(self.latent_dim, self.hidden_dim, seed=self.seed,
                          hidden_layers=self.hidden_layers)
        decoder = Decoder(d, self.hidden_dim, seed=self.seed, hidden_layers=self.hidden_layers)
        encoder.build((None, 2 * d))
        decoder.build((None, self.latent_dim))
        return MaskedBound(encoder, decoder, rng, self.train_samples)

    def _xla(self) -> bool:
        # As the launcher's --arch=conv (run.py): XLA's CPU convolutions are far slower.
        return bool(self.jit_compile) and self._arch() == "mlp"

    def _after_fit(self, objective: MaskedBound) -> None:
        self.model_ = objective
        # What was fitted, so that set_params(arch=..., image_shape=...) after the fit
        # cannot change how transform sizes its chunks.
        self._fitted_image = self._image_shape(None) if self._arch() == "conv" else None
        self._draw_rng = tf.random.Generator.from_seed(self.seed + 1)
        self._steps = {}  # impute_samples -> this model's compiled ImportanceStep

    # -- imputation ----------------------------------------------------------------------
    def _weights_and_means(self, x, mask, rng: Optional[tf.random.Generator] = None,
                           numpy: bool = True):
        """Self-normalised importance weights [L, B] and decoder means [L, B, D].

        The L draws of q(z | x_obs) come from `rng` (default: the imputer's own stream);
        `numpy=False` keeps them as tensors (no copies of the [L, B, D] means).
        """
        x0, m = tf.constant(np.where(mask, x, 0), tf.float32), tf.constant(mask, tf.float32)
        logits, z, z_mean, z_log_var = self.model_.draws(
            x0, m, self.impute_samples, rng=self._draw_rng if rng is None else rng)
        log_w = losses.masked_bound(x0, m, logits, z, z_mean, z_log_var)["log_weights"]
        w, means = tf.nn.softmax(log_w, axis=0), tf.sigmoid(logits)
        return (w.numpy(), means.numpy()) if numpy else (w, means)

    def _chunk(self, d: int) -> int:
        """Rows per imputation chunk: L x rows x (the decoder's widest activation per draw:
        D for the MLP, conv.py's 2x-downsampled 32-channel map for conv) stays under
        CHUNK_ENTRIES (at least 1 row)."""
        image = getattr(self, "_fitted_image", None)
        if image is not None:
            h, w, _ = image
            d = max(d, math.ceil(h / 2) * math.ceil(w / 2) * 32)
        return int(max(1, min(256, CHUNK_ENTRIES // (self.impute_samples * d))))

    def transform(self, X) -> np.ndarray:
        """X [N, D] with its holes imputed by `method`; observed entries unchanged."""
        x, mask = self._check_transform(X)
        check_choice(type(self).__name__, "method", self.method, METHODS)  # set_params after fit
        if self.method == "importance":
            step = self._importance_step()
            return step.impute(x, mask, rows_per_call(step.samples, self._chunk(x.shape[1])))
        out, chunk = np.empty_like(x), self._chunk(x.shape[1])
        for s in range(0, len(x), chunk):
            rows = slice(s, s + chunk)
            out[rows] = np.where(mask[rows], x[rows], self._pseudo_gibbs(x[rows], mask[rows]))
        return out

    def _importance_step(self) -> ImportanceStep:
        """The fitted model's compiled step at the current `impute_samples` (built once)."""
        samples = check_int(type(self).__name__, "impute_samples", self.impute_samples,
                            example=1000)
        if samples not in self._steps:
            self._steps[samples] = ImportanceStep(self.model_, self._draw_rng, samples,
                                                  self.n_features_in_)
        return self._steps[samples]

    def multiple_imputation(self, X, m: int = 10, seed: int = 0,
                            draw: str = "sample") -> np.ndarray:
        """m imputations by sampling importance resampling: [m, N, D], observed entries kept.

        Each imputation resamples one of the L draws z_l of q(z | x_obs) with probability
        w_l (its self-normalised importance weight), then fills the holes with
        - `draw="sample"` (default): x_mis ~ p(x | z_l), Bernoulli, so values in {0, 1}.
          This is the statistically proper choice: the m imputations are (approximate)
          draws from the predictive p(x_mis | x_obs), so their spread carries both the
          latent uncertainty and the pixel noise, as Rubin's multiple imputation and any
          interval or coverage built on the imputations require;
        - `draw="mean"`: the decoder mean E[x | z_l] (the behaviour before issue 14); its
          spread shows only the uncertainty about z, so intervals from it are too narrow.
        The same `seed` gives the same imputations (z draws, resampling and Bernoulli draws).
        """
        x, mask = self._check_transform(X)
        owner = "MIWAEImputer.multiple_imputation"
        m = check_int(owner, "m", m, example=10)
        seed = check_int(owner, "seed", seed, low=0, high=SEED_MAX, example=0)
        check_choice(owner, "draw", draw, DRAWS)
        rng = np.random.default_rng(seed)
        z_rng = tf.random.Generator.from_seed(seed)
        out = np.empty((m,) + x.shape, np.float32)
        chunk = self._chunk(x.shape[1])
        for s in range(0, len(x), chunk):
            rows = slice(s, s + chunk)
            w, means = self._weights_and_means(x[rows], mask[rows], z_rng)  # [L, B], [L, B, D]
            out[:, rows] = np.where(mask[rows], x[rows], resample(w, means, m, rng, draw))
        return out

    def effective_sample_size(self, X) -> np.ndarray:
        """Kish's effective sample size 1 / sum_l w_l^2 of the L importance weights: [N]."""
        x, mask = self._check_transform(X)
        out = np.empty(len(x))
        chunk = self._chunk(x.shape[1])
        for s in range(0, len(x), chunk):
            w, _ = self._weights_and_means(x[s:s + chunk], mask[s:s + chunk], numpy=False)
            out[s:s + chunk] = 1.0 / np.sum(np.asarray(w.numpy(), np.float64) ** 2, axis=0)
        return out

    def _pseudo_gibbs(self, x, mask):
        ones = tf.ones(x.shape, tf.float32)
        model = self.model_
        filled = np.where(mask, x, 0).astype(np.float32)
        for _ in range(self.gibbs_iters):
            z_mean, z_log_var = model.encode(tf.constant(filled), ones)
            z = reparameterize(z_mean, z_log_var, self._draw_rng)
            filled = np.where(mask, x, tf.sigmoid(model.decoder(z)).numpy())
        return filled
