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

The imputation methods are miwae_inference.py's (`MIWAEInference`, a mixin of
MIWAEImputer); this module fits the model.

Tables (columns.py): data with values outside [0, 1], or `categorical_features`, get a
model per column (`likelihood="auto"`: a Student's t or Gaussian for real columns, a
Bernoulli for two-valued ones, a softmax for categorical ones), scaled inside; the
encoder reads the encoded table and its mask, the decoder outputs each column's
parameters, and imputation takes each column's mean under the same importance weights
(the most probable code for a categorical column). Data in [0, 1] keep the thesis's
Bernoulli on every entry, on the code path they always had.
"""

import math
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from vae_tf.config import ARCHS, IMPUTE_DTYPES
from vae_tf.conv import ConvDecoder, ConvEncoder
from vae_tf.errors import UserError
from vae_tf.imputers import validation
from vae_tf.imputers.columns import REALS, Columns, resolve_categorical
from vae_tf.imputers.masked_bound import MaskedBound
from vae_tf.imputers.miwae_inference import MIWAEInference
from vae_tf.imputers.training import TrainedImputer
from vae_tf.models import Decoder, Encoder
from vae_tf.settings import Integer

METHODS = ("importance", "pseudo_gibbs")
ARCH_CHOICES = ("auto",) + ARCHS
# Epochs when `epochs` is None, per architecture fitted: the best of each within a 20-minute
# fit on 20,000 holed MNIST images here (experiments/results/miwae_defaults.md).
DEFAULT_EPOCHS = {"mlp": 100, "conv": 80}
LIKELIHOOD_CHOICES = ("auto", "bernoulli") + REALS
# likelihood="auto" models a table's real-valued columns with this (columns.py); chosen on
# validation entries by experiments/tabular_defaults.py.
AUTO_REAL = "gaussian"
# Optimizer steps when `epochs` is None on a table (a column model; images keep
# DEFAULT_EPOCHS): experiments/tabular_defaults.py.
TABLE_STEPS = 1000
ROUND_STEPS = 100  # a table's optimizer steps per round (an epoch of cycled rows)
MAX_ROUND_ROWS = 20_000  # rows a round holds at most (batch_size=None: fewer steps a round)


class MIWAEImputer(MIWAEInference, TrainedImputer):
    """fit(X) on data with NaN holes, then transform(X_new). See the module docstring.

    batch_size None trains on all rows as one batch; the engine's settings
    (steps_per_call, jit_compile, strategy, logdir, verbose) are those of VAEImputer;
    `jit_compile="auto"` (default) compiles the MLP's steps with XLA on [0, 1] data and
    not on a table, whose 1,000 steps fit faster without it (breast_cancer: 13.8 s against
    18.3 s per fit + transform, benchmarks/results/xla_mappings.md); True: XLA for the MLP
    on any data; the convolutions never take it.
    `arch="auto"` (default): conv.py's convolutions when `image_shape` is given, else the
    MLP (2x400: tables have no image). The defaults (latent 32, K = 5, L = 1000; on images
    conv, hidden 400, 80 epochs) are the setting with the lowest validation RMSE among
    those that fit in 20 minutes on 20,000 holed MNIST images here
    (experiments/results/miwae_defaults.md: 80 conv epochs took 1,069 s, validation RMSE
    0.1924; the best MLP, 2x400 for 100 epochs in 207 s, 0.2019). `epochs=None` takes the
    fitted architecture's tuned count (DEFAULT_EPOCHS: conv 80, MLP 100).
    `impute_dtype="bfloat16"`: imputation (transform, multiple_imputation,
    effective_sample_size, pseudo-Gibbs) decodes its draws with a bfloat16 copy of the
    fitted decoder (models.low_precision_copy), the importance weights and means in
    float32; training is float32 either way, and the setting is not part of a run folder's
    fit. On CPUs with AMX or AVX512-BF16 the conv decoder then takes about 0.4x its float32
    time (benchmarks/results/miwae_transform.md); elsewhere bfloat16 is emulated and slower.
    `warm_start=True`: the next `fit` starts from this fit's weights (e.g. pretrain on a
    large image set, then fit a small one of the same width; see TrainedImputer).
    `arch="conv"` (or "auto" with `image_shape`): the convolutional encoder and decoder of
    `conv.py` (one hidden Dense layer each way: `hidden_layers` is the MLP's only) on
    images of `image_shape` (H, W) or (H, W, C) whose rows are flattened channels-last
    (`images.reshape(N, -1)`); the encoder sees the holed image and its mask as 2C
    channels. Never XLA (as `--arch=conv`).
    On a table (values outside [0, 1], or `categorical_features`: column indices, names of
    a DataFrame's columns, or a boolean mask), `likelihood="auto"` models each column
    (columns.py) and says what it picked in `likelihood_` ("gaussian", "bernoulli",
    "categorical" or "mixed") and `column_likelihoods_`; "gaussian" or "student_t" forces
    that model on every column but the categorical ones, "bernoulli" the thesis's model
    (data in [0, 1] only). `epochs=None` then trains for TABLE_STEPS = 1000 optimizer
    steps, in rounds of about ROUND_STEPS = 100 steps of cycled rows (history_ has one
    record per round). The table defaults (a Gaussian for real columns, 1,000 steps,
    hidden 400, the rest as on images) had the lowest mean validation RMSE among 12
    candidates (Gaussian or Student's t x 1,000, 2,000 or 4,000 steps x hidden 128 or
    400) that fit and impute a 1,000 x 30 table within 30 s, on validation entries of
    scikit-learn's breast_cancer, wine, diabetes and digits tables with MCAR 20 % and 50 %
    holes (experiments/results/tabular_defaults.md: 0.7572 column standard deviations,
    23.6 s for 1,000 x 30 measured beside other jobs).
    """

    _shuffle = True
    _unit_fix = ("pass likelihood='auto' to model a raw table's columns, or scale them to "
                 "[0, 1]")

    _parameter_constraints = {
        "epochs": Integer(none=True, example=DEFAULT_EPOCHS["mlp"]),
        "latent_dim": Integer(), "hidden_dim": Integer(), "hidden_layers": Integer(),
        "train_samples": Integer(), "impute_samples": Integer(), "gibbs_iters": Integer(),
        "method": METHODS, "arch": ARCH_CHOICES, "warm_start": (True, False),
        "likelihood": LIKELIHOOD_CHOICES, "jit_compile": (True, False, "auto"),
        "impute_dtype": IMPUTE_DTYPES}

    def __init__(self, latent_dim: int = 32, hidden_dim: int = 400, hidden_layers: int = 2,
                 epochs: Optional[int] = None, batch_size: int = 100,
                 learning_rate: float = 1e-3,
                 train_samples: int = 5, impute_samples: int = 1000, method: str = "importance",
                 gibbs_iters: int = 50, seed: int = 0, steps_per_call: int = 10,
                 jit_compile="auto", strategy: str = "default",
                 logdir: Optional[str] = None, verbose: int = 0, warm_start: bool = False,
                 arch: str = "auto", image_shape: Optional[Sequence[int]] = None,
                 likelihood: str = "auto", categorical_features=None,
                 keep_empty_features: Optional[bool] = False, impute_dtype: str = "float32"):
        self.likelihood, self.categorical_features = likelihood, categorical_features
        self.impute_dtype = impute_dtype
        self.keep_empty_features = keep_empty_features  # as scikit-learn's (validation.py)
        self.latent_dim, self.hidden_dim, self.hidden_layers = latent_dim, hidden_dim, hidden_layers
        self.arch, self.image_shape = arch, image_shape
        self.warm_start = warm_start
        self.epochs, self.batch_size, self.learning_rate = epochs, batch_size, learning_rate
        self.train_samples, self.impute_samples = train_samples, impute_samples
        self.method, self.gibbs_iters, self.seed = method, gibbs_iters, seed
        self.steps_per_call, self.jit_compile, self.strategy = steps_per_call, jit_compile, strategy
        self.logdir, self.verbose = logdir, verbose

    @property
    def _data_range(self):
        """"unit" (observed values must lie in [0, 1]) for the Bernoulli model: asked for
        before a fit, the fitted one after (a fit starts afresh: `fit` forgets it)."""
        chosen = self.__dict__.get("likelihood_", self.likelihood)
        return "unit" if chosen == "bernoulli" else None

    def fit(self, X, y=None) -> "MIWAEImputer":
        """Train on X [N, D] (NaN = missing): a raw table, or images in [0, 1]; returns self."""
        kept = {a: self.__dict__.pop(a) for a in ("likelihood_", "column_likelihoods_")
                if a in self.__dict__}
        try:
            return super().fit(X, y)
        except Exception:
            if hasattr(self, "model_"):  # a failed refit leaves the previous fit usable
                self.__dict__.update(kept)
            raise

    def _prepare(self, x: np.ndarray, mask: np.ndarray) -> None:
        """Resolve `likelihood` and `categorical_features` on the data (columns.py)."""
        name, d = type(self).__name__, x.shape[1]
        self._validate_params("likelihood", "arch")
        context = validation.fit_context()
        names, valid = context if context is not None and context[1].sum() == d \
            else (None, np.ones(d, bool))
        categorical = resolve_categorical(self.categorical_features, len(valid), names,
                                          name)[valid]
        self._rows = len(x)
        values = x[mask]
        in_unit = values.size == 0 or (values.min() >= 0 and values.max() <= 1)
        if self.likelihood == "bernoulli" or (self.likelihood == "auto" and in_unit
                                              and not categorical.any()):
            if categorical.any():
                raise UserError(f"{name}(likelihood='bernoulli') models every column as a "
                                "Bernoulli in [0, 1]; for categorical_features pass "
                                "likelihood='auto'")
            self._pending = None
            self.likelihood_ = "bernoulli"
            self.column_likelihoods_ = np.array(["bernoulli"] * d, dtype=object)
            return
        if self._arch() == "conv":
            raise UserError(f"{name}(arch='conv') models images in [0, 1] (Bernoulli), but X "
                            f"has values in [{values.min():g}, {values.max():g}]"
                            + (" and categorical_features" if categorical.any() else "")
                            + "; scale the images to [0, 1], or pass arch='mlp' for a table")
        real = AUTO_REAL if self.likelihood == "auto" else self.likelihood
        self._pending = Columns.fit(x, mask, real, categorical,
                                    detect_binary=self.likelihood == "auto", owner=name)
        kinds = sorted(set(self._pending.likelihood_names()))
        self.likelihood_ = kinds[0] if len(kinds) == 1 else "mixed"
        self.column_likelihoods_ = np.array(self._pending.likelihood_names(), dtype=object)

    def _fit_settings(self) -> dict:
        settings = {**super()._fit_settings(), "arch": self._arch()}  # "auto" as resolved
        del settings["impute_dtype"]  # imputation's arithmetic, not the fit's
        if getattr(self, "_pending", None) is None and self.categorical_features is None:
            del settings["likelihood"], settings["categorical_features"]  # as before tables
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
        self._validate_params("arch")
        if self.epochs is not None:
            return self.epochs
        if getattr(self, "_pending", None) is None:  # images: the tuned epochs
            return DEFAULT_EPOCHS[self._arch()]
        return max(1, math.ceil(TABLE_STEPS / self._round()[1]))

    def _round(self):
        """A table's rounds (epochs=None): (the times each row is repeated in a round, the
        optimizer steps of a round). A round cycles the rows, shuffled, for about
        ROUND_STEPS steps (whole passes), so a small table does not pay the engine's per-epoch
        cost every few steps and history_ has one record per round; (1, steps of one pass)
        otherwise."""
        n, batch = self._rows, self.batch_size
        batch = n if batch is None or not isinstance(batch, (int, np.integer)) \
            or not 1 <= batch <= n else int(batch)
        repeat = 1 if self.epochs is not None or getattr(self, "_pending", None) is None \
            else max(1, min(math.ceil(ROUND_STEPS * batch / n), math.ceil(MAX_ROUND_ROWS / n)))
        return repeat, math.ceil(n * repeat / batch)

    def _structure(self, d: int):
        columns = getattr(self, "_pending", None)
        if columns is not None:
            return f"arch='mlp', columns {columns.signature()}"
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
        if self._pending is not None:
            repeat = self._round()[0]
            return [np.tile(a, (repeat, 1)) for a in self._pending.encode(x, mask)]
        return [np.where(mask, x, 0).astype(np.float32), mask.astype(np.float32)]

    def _objective(self, x, mask, data) -> MaskedBound:
        d, rng = x.shape[1], tf.random.Generator.from_seed(self.seed)
        columns = self._pending
        if columns is not None:  # a table: encoded width in, the column models' outputs out
            encoder = Encoder(self.latent_dim, self.hidden_dim, seed=self.seed,
                              hidden_layers=self.hidden_layers)
            decoder = Decoder(columns.params, self.hidden_dim, seed=self.seed,
                              hidden_layers=self.hidden_layers)
            encoder.build((None, 2 * columns.width))
            decoder.build((None, self.latent_dim))
            return MaskedBound(encoder, decoder, rng, self.train_samples, columns=columns)
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
        # As the launcher's --arch=conv (train_run.py): XLA's CPU convolutions are far slower.
        # "auto": not on a table (column models), whose 1,000 steps fit faster without it.
        table = getattr(self, "_pending", None) is not None
        wanted = not table if isinstance(self.jit_compile, str) else bool(self.jit_compile)
        return wanted and self._arch() == "mlp"

    def transform(self, X) -> np.ndarray:
        """X [N, D] with its holes imputed by `method`; observed entries unchanged. Here,
        not in the mixin, so that base.Imputer wraps it as every imputer's transform."""
        return self._transform(X)

    def _after_fit(self, objective: MaskedBound) -> None:
        self.model_ = objective
        self._columns = self._pending  # None: the Bernoulli model of [0, 1] data
        # What was fitted, so that set_params(arch=..., image_shape=...) after the fit
        # cannot change how transform sizes its chunks.
        self._fitted_image = self._image_shape(None) if self._arch() == "conv" else None
        self._reset_inference()
