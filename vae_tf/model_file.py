"""Loading a saved VAE (`<logdir>/model.keras`) safely, refusing bad files in one line.

A .keras file is a zip of `config.json` (the classes and arguments that rebuild the model)
and `model.weights.h5`. Before Keras reads it, the archive must hold both and its config
must name vae_tf's VAE at float32, the only model vae_tf writes; Keras then rebuilds it with
safe_mode on, so a file from elsewhere cannot run code (no Lambda layers, no functions).
"""

import json
import os
import zipfile

import keras

from vae_tf.checkpoints import first_line
from vae_tf.errors import UserError

_VAE = "vae_tf>VAE"  # the registered name of vae_tf.models.VAE in a saved config
_MEMBERS = ("config.json", "model.weights.h5")
_DTYPE = "float32"  # every variable and computation of a vae_tf model


def load_model(path: str):
    """A VAE saved by a run (the run folder or its `model.keras`), checked and loaded with
    Keras's safe_mode on; bad input raises a one-line UserError naming the path."""
    path = _model_file(path)
    _check_config(path, _read_config(path))
    from vae_tf import conv, models  # noqa: F401  (register the classes Keras rebuilds)
    try:
        model = keras.models.load_model(path, safe_mode=True)
    except Exception as e:  # noqa: BLE001 (Keras fails in many ways: ValueError, TypeError, ...)
        problem = ("its weights do not fit the model its config describes"
                   if "could not be loaded" in str(e)
                   else f"Keras cannot rebuild the model from its config ({first_line(e)})")
        raise _refused(path, problem) from None
    dtypes = sorted({model.dtype_policy.name} | {v.dtype for v in model.variables})
    if dtypes != [_DTYPE]:  # what vae_tf builds: float32 variables and computations
        raise _refused(path, f"it loads with dtypes {dtypes}, but vae_tf models are {_DTYPE}")
    return model


def _model_file(path: str) -> str:
    """The .keras file `path` names: itself, or the model.keras of a run folder."""
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file or folder; pass a run folder (--logdir) or its "
                        "model.keras")
    if not os.path.isdir(path):
        return path
    if os.path.isfile(os.path.join(path, "model.keras")):
        return os.path.join(path, "model.keras")
    folder = os.path.normpath(path)
    if os.path.basename(os.path.abspath(folder)) == "checkpoints" or \
            os.path.isfile(os.path.join(folder, "checkpoint")):  # tf.train's list of them
        parent = os.path.dirname(folder) or "."
        raise UserError(f"{path}: a run's checkpoints folder (training state, not a model); "
                        f"pass the run folder above it ({parent}) or its model.keras")
    what = "an empty folder" if not os.listdir(path) else "a folder without model.keras"
    raise UserError(f"{path}: {what}; pass the folder of a finished run (--logdir) or its "
                    "model.keras")


def _read_config(path: str) -> dict:
    """The config.json of the .keras archive at `path`, once it holds config and weights."""
    if not path.endswith(".keras") or not zipfile.is_zipfile(path):
        raise _refused(path, "not a .keras model file (a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            missing = [name for name in _MEMBERS if name not in archive.namelist()]
            text = None if missing else archive.read("config.json")
    except (zipfile.BadZipFile, OSError) as e:
        raise _refused(path, f"the archive cannot be read ({first_line(e)})") from None
    if missing:
        raise _refused(path, f"the archive has no {missing[0]}")
    try:
        config = json.loads(text)
    except ValueError as e:  # UnicodeDecodeError too
        raise _refused(path, f"its config.json is not JSON ({first_line(e)})") from None
    if not isinstance(config, dict):
        raise _refused(path, "its config.json is not a Keras model's config")
    return config


def _check_config(path: str, config: dict) -> None:
    """Refuse a config naming any class but vae_tf's VAE, or a dtype other than float32."""
    if config.get("registered_name") != _VAE:
        named = f"{config.get('module')}.{config.get('class_name')}"
        raise _refused(path, f"its config names {named[:80]}, not vae_tf.models.VAE")
    if not isinstance(config.get("config"), dict):
        raise _refused(path, "its config.json gives no arguments for the VAE")
    dtype = config["config"].get("dtype", _DTYPE)  # a name, or a DTypePolicy's config
    policy = dtype.get("config") if isinstance(dtype, dict) else None
    name = policy.get("name") if isinstance(policy, dict) else dtype
    if name != _DTYPE:
        raise _refused(path, f"its config sets dtype {str(name)[:80]!r}, but vae_tf models "
                             f"are {_DTYPE}")


def _refused(path: str, problem: str) -> UserError:
    problem = " ".join(problem.split())  # one line, whatever a crafted config holds
    return UserError(f"{path}: {problem}; the file is damaged or not a vae_tf model: pass a run "
                     "folder (--logdir) or its model.keras")
