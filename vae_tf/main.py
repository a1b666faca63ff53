"""Launcher: absl flags -> one frozen Config -> the library.

    python -m vae_tf.main                      # default preset on the bundled mnist_5k
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
# Defaults that the thesis preset replaces, shown beside the default preset's value.
_PRESET_SET = ("epochs", "batch_size", "latent_dim", "hidden_dim", "learning_rate", "init_stddev")


def _define_flags() -> None:
    """One flag per Config field, with the field's default, help text and choices."""
    for field in config_lib.FLAG_FIELDS:
        help_text = field.metadata["help"]
        choices = field.metadata.get("choices")
        if field.name == "dataset":
            choices = datasets.NAMES
        if field.name in _PRESET_SET:
            help_text += f" (default preset: {field.default}; see --preset)"
        kind = field.type if field.type in (bool, int, float) else (
            float if "float" in str(field.type) else str)
        if choices:
            flags.DEFINE_enum(field.name, field.default, list(choices), help_text)
        elif kind is bool:
            flags.DEFINE_bool(field.name, field.default, help_text)
        elif kind is int:
            flags.DEFINE_integer(field.name, field.default, help_text)
        elif kind is float:
            flags.DEFINE_float(field.name, field.default, help_text)
        else:
            flags.DEFINE_string(field.name, field.default, help_text)


_define_flags()
FLAGS = flags.FLAGS


def config_from_flags() -> config_lib.Config:
    """The frozen Config: the preset's values, overridden by every flag given explicitly."""
    given = {f.name: FLAGS[f.name].value for f in config_lib.FLAG_FIELDS
             if FLAGS[f.name].present and f.name != "preset"}
    return config_lib.make_config(FLAGS.preset, **given)


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
        datasets.resolve_data_dir(config.dataset, config.data_dir)  # before TensorFlow starts
        from vae_tf.startup import import_tensorflow
        import_tensorflow()
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
        _fail(f"{e}; try a lower --learning_rate", code=3)
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
    """Console script `vae-tf` (and `python -m vae_tf.main`)."""
    for field in config_lib.FLAG_FIELDS:  # --help lists our flags whatever the script's name
        FLAGS.register_key_flag_for_module(sys.argv[0], FLAGS[field.name])
    logging.set_verbosity(logging.INFO)
    app.run(main, flags_parser=_parse)


if __name__ == "__main__":
    entry()
