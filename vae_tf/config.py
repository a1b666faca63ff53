"""One frozen, typed configuration for a run, and the presets it starts from.

The launcher (main.py) turns flags into a `Config`; the library only ever sees this
object. Validation lives here so that library users get the same one-line errors.
"""

import dataclasses
import json
import math
from typing import Any, Dict, Optional

from vae_tf.errors import UserError

MODES = ("train", "impute")
IMPUTERS = ("vae", "knn", "miwae", "rating_vae")
MISSING = ("structured", "random")
PRESETS = ("default", "thesis")
STRATEGIES = ("default", "mirrored", "multi_worker")
ARCHS = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "cbernoulli", "gaussian")  # as losses.LIKELIHOODS (no TF import here)


@dataclasses.dataclass(frozen=True)
class Config:
    """Every resolved setting of one run (written to `<logdir>/config.json`)."""

    dataset: str = "mnist_5k"
    data_dir: Optional[str] = None
    mode: str = "train"
    preset: str = "default"
    # Model and optimisation. Defaults: see BUILD_NOTES.md ("Defaults vs the thesis").
    epochs: int = 30
    batch_size: int = 100
    latent_dim: int = 32
    hidden_dim: int = 400
    hidden_layers: int = 1  # Dense(hidden_dim) layers each way (MLP); the thesis has one
    arch: str = "mlp"  # mlp: the thesis's one-hidden-layer MLP; conv: convolutional
    learning_rate: float = 1e-3
    likelihood: str = "bernoulli"  # p(x|z): bernoulli (thesis) | cbernoulli | gaussian
    sigma: float = 0.0  # gaussian only: > 0 a fixed standard deviation, 0 learned per entry
    lr_decay: float = 1.0  # the learning rate of epoch e (from 0) is learning_rate * lr_decay**e
    init_stddev: Optional[float] = None  # None: Glorot uniform; thesis: truncated normal 0.001
    seed: int = 0
    logdir: str = ""  # empty: logs/<dataset>-<mode>-<YYYYmmdd-HHMMSS>
    log_every: int = 10  # steps between `steps/loss` summaries
    steps_per_call: int = 10  # train steps per compiled call (speed; same math)
    jit_compile: bool = True  # compile the MLP's train steps with XLA (speed)
    deterministic: bool = False  # TensorFlow op determinism on top of the seeds
    binarize: bool = False  # dynamic binarization: Bernoulli draws from the grey levels each epoch
    iwae_samples: int = 0  # > 0: test log-likelihood by importance sampling with that many draws
    strategy: str = "default"  # tf.distribute: default | mirrored | multi_worker
    cpu_devices: int = 0  # > 1: split the CPU into that many logical devices
    # Imputation (--mode=impute).
    imputer: str = "vae"
    missing: str = "structured"
    k: int = 10

    def __post_init__(self):
        for name in ("epochs", "batch_size", "latent_dim", "hidden_dim", "hidden_layers",
                     "log_every", "k", "steps_per_call"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise UserError(f"--{name}={value!r} must be a positive integer; "
                                f"pass e.g. --{name}={_DEFAULTS[name]}")
        if self.arch == "conv" and self.hidden_layers != 1:
            raise UserError(f"--hidden_layers={self.hidden_layers} applies to --arch=mlp only; "
                            "drop it or pass --arch=mlp")
        if self.binarize and self.strategy != "default":
            raise UserError(f"--binarize runs with --strategy=default only (got "
                            f"--strategy={self.strategy}); drop one of the two flags")
        if self.iwae_samples < 0:
            raise UserError(f"--iwae_samples={self.iwae_samples} must be 0 (off) or more; "
                            "pass e.g. --iwae_samples=5000")
        if self.cpu_devices < 0:
            raise UserError(f"--cpu_devices={self.cpu_devices} must be 0 (no split) or more; "
                            "pass e.g. --cpu_devices=2")
        if not self.learning_rate > 0 or self.learning_rate != self.learning_rate:
            raise UserError(f"--learning_rate={self.learning_rate!r} must be positive; "
                            "pass e.g. --learning_rate=0.001")
        if not (self.sigma >= 0 and math.isfinite(self.sigma)):
            raise UserError(f"--sigma={self.sigma!r} must be 0 (learned) or a finite positive "
                            "number; pass e.g. --sigma=0.1")
        if self.sigma > 0 and self.likelihood != "gaussian":
            raise UserError(f"--sigma={self.sigma:g} applies to --likelihood=gaussian only "
                            f"(got --likelihood={self.likelihood}); drop --sigma")
        if self.likelihood != "bernoulli" and self.mode != "train":
            raise UserError(f"--likelihood={self.likelihood} applies to --mode=train only; "
                            "the imputers use the thesis's Bernoulli likelihood")
        if self.mode == "impute" and self.lr_decay != 1:
            raise UserError(f"--lr_decay={self.lr_decay:g} applies to --mode=train only; "
                            "the imputers train at a constant --learning_rate")
        if (self.mode == "impute" and self.hidden_layers != 1
                and self.imputer != "miwae"):
            raise UserError(f"--hidden_layers={self.hidden_layers} applies to --mode=train and "
                            f"--imputer=miwae only (got --imputer={self.imputer}); drop it")
        if not 0 < self.lr_decay <= 1:
            raise UserError(f"--lr_decay={self.lr_decay!r} must be in (0, 1] (1: a constant "
                            "learning rate); pass e.g. --lr_decay=0.998")
        if self.init_stddev is not None and not self.init_stddev > 0:
            raise UserError(f"--init_stddev={self.init_stddev!r} must be positive; "
                            "pass e.g. --init_stddev=0.001, or leave it unset for Glorot")
        for name, choices in (("mode", MODES), ("imputer", IMPUTERS),
                              ("missing", MISSING), ("preset", PRESETS),
                              ("strategy", STRATEGIES), ("arch", ARCHS),
                              ("likelihood", LIKELIHOODS)):
            if getattr(self, name) not in choices:
                raise UserError(f"--{name}={getattr(self, name)!r} is unknown; "
                                f"choose one of: {', '.join(choices)}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Config)}

# The thesis's settings exactly (PROTOCOL.md, "Model").
_THESIS: Dict[str, Any] = dict(epochs=100, batch_size=250, latent_dim=64, hidden_dim=400,
                               learning_rate=0.01, init_stddev=0.001)


def make_config(preset: str = "default", **overrides: Any) -> Config:
    """A Config from a preset's values, overridden by the settings given explicitly."""
    if preset not in PRESETS:
        raise UserError(f"--preset={preset!r} is unknown; choose one of: {', '.join(PRESETS)}")
    values = dict(_THESIS) if preset == "thesis" else {}
    values.update({k: v for k, v in overrides.items()})
    return Config(preset=preset, **values)


THESIS = make_config("thesis")
