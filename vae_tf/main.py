"""Launcher: absl flags -> one frozen Config -> the library.

    python -m vae_tf.main                      # thesis VAE on the bundled mnist_5k
    python -m vae_tf.main --preset=thesis --dataset=mnist --data_dir=DIR
    python -m vae_tf.main --mode=impute --imputer=knn --missing=random --k=10

Bad input ends with one line on stderr and a non-zero exit, never a traceback.
"""

import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from absl import app, flags, logging  # noqa: E402

from vae_tf import config as config_lib  # noqa: E402
from vae_tf import datasets  # noqa: E402
from vae_tf.errors import TrainingDiverged, UserError  # noqa: E402

PROG = "vae-tf"
_D = config_lib.Config  # defaults shown in --help are the "default" preset's

flags.DEFINE_enum("dataset", _D.dataset, list(datasets.NAMES), "Dataset to use.")
flags.DEFINE_string("data_dir", None, "Folder with the dataset's original files "
                    "(default: TensorFlow Datasets, which downloads).")
flags.DEFINE_enum("mode", _D.mode, list(config_lib.MODES), "train a VAE, or impute missing values.")
flags.DEFINE_enum("preset", _D.preset, list(config_lib.PRESETS),
                  "Starting settings; 'thesis' = hidden 400, latent 64, Adam lr 0.01, "
                  "truncated-normal init 0.001, batch 250, 100 epochs.")
flags.DEFINE_integer("epochs", None, f"Epochs (default preset: {_D.epochs}).")
flags.DEFINE_integer("batch_size", None, f"Batch size (default preset: {_D.batch_size}).")
flags.DEFINE_integer("latent_dim", None, f"Latent dimensions (default preset: {_D.latent_dim}).")
flags.DEFINE_integer("hidden_dim", None, f"Hidden units (default preset: {_D.hidden_dim}).")
flags.DEFINE_integer("hidden_layers", _D.hidden_layers,
                     "Hidden Dense layers in the MLP encoder and in its decoder (thesis: 1).")
flags.DEFINE_enum("arch", _D.arch, list(config_lib.ARCHS),
                  "mlp: the thesis's Dense(hidden) encoder and decoder; conv: two strided "
                  "convolutions each way (for CIFAR-10 and the faces).")
flags.DEFINE_float("learning_rate", None, f"Adam learning rate (default preset: {_D.learning_rate}).")
flags.DEFINE_enum("likelihood", _D.likelihood, list(config_lib.LIKELIHOODS),
                  "p(x|z): bernoulli (the thesis's), cbernoulli (continuous Bernoulli, a "
                  "density on [0, 1]) or gaussian (mean sigmoid(logits); see --sigma).")
flags.DEFINE_float("sigma", _D.sigma, "Gaussian likelihood's standard deviation: > 0 fixed, "
                   "0 learned per pixel (at least 0.01).")
flags.DEFINE_float("lr_decay", _D.lr_decay, "Per-epoch factor of the learning rate: epoch e "
                   "(from 0) uses learning_rate * lr_decay**e (1: constant).")
flags.DEFINE_float("init_stddev", None, "Truncated-normal init stddev (default preset: Glorot).")
flags.DEFINE_integer("seed", _D.seed, "Random seed of everything.")
flags.DEFINE_string("logdir", "", "Run folder (default logs/<dataset>-<mode>-<time>); "
                    "an existing run folder is resumed.")
flags.DEFINE_integer("log_every", _D.log_every, "Steps between steps/loss summaries.")
flags.DEFINE_integer("steps_per_call", _D.steps_per_call,
                     "Train steps per compiled call (speed only; the math is the same).")
flags.DEFINE_bool("jit_compile", _D.jit_compile, "Compile the train steps with XLA.")
flags.DEFINE_bool("deterministic", _D.deterministic,
                  "Enable TensorFlow op determinism: two runs give identical numbers.")
flags.DEFINE_bool("binarize", _D.binarize, "Dynamic binarization: train on Bernoulli draws "
                  "from the grey levels, new each epoch (the test set is binarized once).")
flags.DEFINE_integer("iwae_samples", _D.iwae_samples, "Estimate the test log-likelihood by "
                     "importance sampling with this many draws (0: off; IWAE papers use 5000).")
flags.DEFINE_enum("strategy", _D.strategy, list(config_lib.STRATEGIES),
                  "tf.distribute strategy: default (one device), mirrored (every local device), "
                  "multi_worker (the cluster in TF_CONFIG).")
flags.DEFINE_integer("cpu_devices", _D.cpu_devices,
                     "Split the CPU into this many logical devices (for --strategy=mirrored "
                     "on a machine without GPUs).")
flags.DEFINE_enum("imputer", _D.imputer, list(config_lib.IMPUTERS),
                  "Imputation method: vae (the thesis's fill-in algorithm), knn (the thesis's "
                  "K-NN), miwae (a VAE trained on the observed entries only, imputing by "
                  "importance sampling), rating_vae (MovieLens: an item-based VAE on the "
                  "rated cells, predictions in [1, 5]; its tuned settings, not the preset's).")
flags.DEFINE_enum("missing", _D.missing, list(config_lib.MISSING), "Missing-data scheme.")
flags.DEFINE_integer("k", _D.k, "Neighbours of the K-NN imputer.")
FLAGS = flags.FLAGS

_OPTIONAL = ("epochs", "batch_size", "latent_dim", "hidden_dim", "learning_rate", "init_stddev")
_ALWAYS = ("dataset", "data_dir", "mode", "arch", "hidden_layers", "lr_decay", "likelihood",
           "sigma", "seed", "logdir", "log_every", "steps_per_call", "jit_compile",
           "deterministic", "binarize", "iwae_samples", "strategy", "cpu_devices", "imputer",
           "missing", "k")


def config_from_flags() -> config_lib.Config:
    """The frozen Config: preset values, overridden by every flag given explicitly."""
    overrides = {name: FLAGS[name].value for name in _ALWAYS}
    overrides.update({name: FLAGS[name].value for name in _OPTIONAL
                      if FLAGS[name].value is not None})
    return config_lib.make_config(FLAGS.preset, **overrides)


def _fail(message: str, code: int = 2) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(code)


def _parse(argv):
    try:
        return FLAGS(argv)
    except flags.Error as e:
        _fail(f"{e}; see --helpfull for the valid flags and values")


def main(argv) -> None:
    if len(argv) > 1:
        _fail(f"unexpected argument {argv[1]!r}; flags take the form --name=value")
    try:
        config = config_from_flags()
        import tensorflow as tf
        tf.get_logger().setLevel("WARNING")
        # TensorFlow logs through absl too (one line per checkpoint): keep only ours at INFO.
        logging.get_absl_logger().addFilter(
            lambda record: record.levelno >= 30 or "tensorflow" not in record.pathname)
        if config.mode == "train":
            from vae_tf.run import run_train
            run_train(config)
        else:
            from vae_tf.impute_run import run_impute
            run_impute(config)
    except UserError as e:
        _fail(str(e))
    except TrainingDiverged as e:
        _fail(str(e), code=3)
    except OSError as e:  # a full or unwritable disk while the run writes its folder
        _fail(f"writing the run failed ({e.filename or ''}: {e.strerror or e}); free some "
              "space or pass another --logdir, then rerun to resume from the last complete "
              "checkpoint", code=4)
    except Exception as e:  # TensorFlow reports failed file writes as its own errors
        import tensorflow as tf
        if isinstance(e, tf.errors.OpError) and any(
                s in str(e) for s in ("space", "too large", "Permission denied", "Read-only")):
            detail = re.sub(r"\{\{.*?\}\}\s*", "", str(e).splitlines()[0])[:200]
            _fail(f"writing the run failed ({detail}); free some space "
                  "or pass another --logdir, then rerun to resume from the last complete "
                  "checkpoint", code=4)
        raise
    except KeyboardInterrupt:
        _fail("interrupted; rerun the same command to resume from the last checkpoint", 130)


def entry() -> None:
    """Console script `vae-tf`."""
    logging.set_verbosity(logging.INFO)
    app.run(main, flags_parser=_parse)


if __name__ == "__main__":
    entry()
