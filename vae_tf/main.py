"""vae-tf: train a variational autoencoder on images, or impute missing values in images or a table.

    vae-tf                                     # default preset on the bundled mnist_5k
    vae-tf --preset=thesis --dataset=mnist --data_dir=DIR
    vae-tf --mode=impute --imputer=knn --missing=random --k=10
    vae-tf --mode=impute --dataset=csv --data_dir=TABLE.csv   # a table of your own

(`python -m vae_tf.main` is the same program.) --help lists this program's flags and
exits 0; --helpfull adds absl's. absl's logging flag --log_dir (a look-alike of our
--logdir, where the run goes) is refused with "did you mean --logdir". Bad input ends
with one line on stderr and a non-zero exit, never a traceback.
"""

import errno
import os
import re
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

from absl import app, flags, logging  # noqa: E402

from vae_tf import config as config_lib  # noqa: E402
from vae_tf import datasets, flagfiles  # noqa: E402
from vae_tf.errors import TrainingDiverged, UserError  # noqa: E402

PROG = "vae-tf"
# The settings the thesis preset sets (config.py's list): their help shows both presets' values.
_THESIS_SETS = config_lib.preset_values("thesis")


def _define_flags() -> None:
    """One flag per Config field, with the field's default, help text and choices."""
    for field in config_lib.FLAG_FIELDS:
        help_text = field.metadata["help"]
        choices = field.metadata.get("choices")
        if field.name == "dataset":
            choices = datasets.NAMES + (config_lib.TABLE,)
        if field.name in _THESIS_SETS:
            default = ("the dataset's budget (" + ", ".join(
                f"{n} {e.train_epochs}" for n, e in datasets.ENTRIES.items() if not e.ratings)
                + ")" if field.name == "epochs" else field.default)
            help_text += (f" (default preset: {default}, thesis preset: "
                          f"{_THESIS_SETS[field.name]}; see --preset)")
        own = {n: e.train_settings[field.name] for n, e in datasets.ENTRIES.items()
               if field.name in e.train_settings}
        if own:  # the dataset registry's per-dataset defaults
            help_text += " (default preset, --mode=train, on " + ", ".join(
                f"{n}: {v}" for n, v in own.items()) + ")"
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
    if "tensorflow" in sys.modules:  # TensorFlow's threads (a cluster still waiting for its
        sys.stdout.flush()           # peers, say) could hold the interpreter's exit
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


_HELP = {"-h": False, "--h": False, "-?": False, "--help": False, "-help": False,
         "--helpshort": False, "-helpshort": False, "--helpfull": True, "-helpfull": True}
# absl's own flags a user would take for ours (the name without '_' is one of ours): name -> ours.
_LOOK_ALIKES = {name: ours for name in FLAGS for ours in (f.name for f in config_lib.FLAG_FIELDS)
                if name != ours and name.replace("_", "") == ours.replace("_", "")}


def _help(full: bool) -> None:
    """What the program does, then our flags (with `full`, every flag); exit 0."""
    text = FLAGS.get_help() if full else FLAGS.main_module_help()
    print(f"{__doc__.strip()}\n\nflags:\n{text}\n")
    if not full:
        print("Try --helpfull to get a list of all flags.")
    sys.exit(0)


def _parse(argv):
    asked = [_HELP[a] for a in argv[1:] if a in _HELP]
    if asked:
        _help(full=any(asked))
    try:
        flagfiles.check(argv[1:])  # absl would answer a bad one with a traceback or a warning
    except UserError as e:
        _fail(str(e))
    try:
        rest = FLAGS(argv)
    except flags.Error as e:
        _fail(f"{e}; see --helpfull for the valid flags and values")
    for name, ours in _LOOK_ALIKES.items():
        if FLAGS[name].present:
            value = FLAGS[name].value
            _fail(f"--{name}={value} is absl's own flag ({FLAGS[name].help}), not this "
                  f"program's; did you mean --{ours}={value}?")
    return rest


class Terminated(BaseException):
    """SIGTERM, raised in the main thread as SIGINT raises KeyboardInterrupt."""


def _terminate(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated


def main(argv) -> None:
    if len(argv) > 1:
        _fail(f"unexpected argument {argv[1]!r}; flags take the form --name=value")
    try:
        config = config_from_flags()
        if config.strategy == "multi_worker":
            from vae_tf.cluster import read_cluster, timeout_seconds
            read_cluster()
            timeout_seconds()
        if config.dataset == config_lib.TABLE:  # a user's table: read and checked first
            from vae_tf.datasets.csv_table import read_csv
            table = read_csv(config.data_dir, config.imputations)
            from vae_tf.table_run import categorical_columns
            categorical_columns(config, table)  # before TensorFlow and the run folder
            from vae_tf.rundir import check_before_start
            check_before_start(config)
            from vae_tf.startup import import_tensorflow
            import_tensorflow()
            from vae_tf.table_run import run_table
            run_table(config, table)
            return
        from vae_tf.checks import check_kind
        check_kind(config, datasets.entry(config.dataset).ratings)
        from vae_tf.rundir import check_before_start
        check_before_start(config)  # a run folder it would refuse: refused in a second
        data = None  # files are read and checked before TensorFlow starts (numpy only)
        if (datasets.resolve_data_dir(config.dataset, config.data_dir) is not None
                or datasets.entry(config.dataset).tfds_builder is None):
            data = _checked(config, datasets.load(config.dataset, config.data_dir))
        from vae_tf.startup import import_tensorflow
        import_tensorflow()  # quietly: its start-up chatter and its INFO lines dropped
        if config.mode == "train":
            from vae_tf.train_run import run_train
            run_train(config, data)
        else:
            from vae_tf.impute_run import run_impute
            run_impute(config, data)
    except UserError as e:
        _fail(str(e))
    except TrainingDiverged as e:
        _fail(f"{e}; try a lower --learning_rate", code=3)
    except OSError as e:
        _fail(*_os_error(e.filename, e.errno, e.strerror or str(e)))
    except Exception as e:  # TensorFlow reports failed file operations as its own errors
        import tensorflow as tf
        if not isinstance(e, tf.errors.OpError):
            raise
        detail = re.sub(r"\{\{.*?\}\}\s*", "", str(e).splitlines()[0] if str(e) else "")[:200]
        code = {tf.errors.ResourceExhaustedError: errno.ENOSPC,
                tf.errors.PermissionDeniedError: errno.EACCES}.get(type(e))
        if code is None and any(w in detail.lower() for w in ("space", "too large")):
            code = errno.ENOSPC
        if code is None:
            raise
        _fail(*_os_error(None, code, detail))
    except KeyboardInterrupt:
        _fail("interrupted; rerun the same command to resume from the last checkpoint", 130)
    except Terminated:
        _fail("terminated (SIGTERM); rerun the same command to resume from the last "
              "checkpoint", 128 + signal.SIGTERM)


def _checked(config: config_lib.Config, data: datasets.Dataset) -> datasets.Dataset:
    from vae_tf import checks
    if config.mode == "train":
        checks.check_train_data(config, data)
    else:
        checks.check_impute_data(config, data)
    return data


def _os_error(path, number, detail: str):
    """(the one line, the exit code) for a failed file operation, by its kind."""
    where = f"{path}: " if path else ""
    if number in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return (f"writing the run failed ({where}{detail}): the disk is full; free some space "
                "or pass another --logdir, then rerun to resume from the last complete "
                "checkpoint", 4)
    if number in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}permission denied ({detail}); pass a path you may use", 2
    return (f"{where}{detail}; check that path (a dangling link, a folder where a file "
            "belongs, a damaged disk?)", 2)


def console_main() -> None:
    """Console script `vae-tf` (and `python -m vae_tf.main`)."""
    for field in config_lib.FLAG_FIELDS:  # --help lists our flags whatever the script's name
        FLAGS.register_key_flag_for_module(sys.argv[0], FLAGS[field.name])
    logging.set_verbosity(logging.INFO)
    signal.signal(signal.SIGTERM, _terminate)  # a run ends as on Ctrl-C: cleanly, in one line
    app.run(main, flags_parser=_parse)


if __name__ == "__main__":
    console_main()
