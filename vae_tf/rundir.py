"""The run folder: creation with clear errors, atomic JSON, the per-epoch history."""

import json
import os
import time
from typing import Dict, List

from vae_tf.config import Config
from vae_tf.errors import UserError

# Settings that shape the model: a checkpoint cannot be resumed if they change.
_MODEL_FIELDS = ("dataset", "mode", "arch", "latent_dim", "hidden_dim", "hidden_layers",
                 "likelihood", "sigma")


def default_logdir(config: Config) -> str:
    return os.path.join("logs", f"{config.dataset}-{config.mode}-{time.strftime('%Y%m%d-%H%M%S')}")


def prepare_logdir(config: Config) -> str:
    """Create the run folder (or reuse it to resume); one-line UserError if it is unusable."""
    logdir = config.logdir or default_logdir(config)
    try:
        os.makedirs(logdir, exist_ok=True)
        probe = os.path.join(logdir, ".write_probe")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise UserError(f"--logdir={logdir}: cannot write there ({e.strerror or e}); "
                        "pass a folder you can write to and that has free space") from None
    previous = os.path.join(logdir, "config.json")
    if os.path.exists(previous):
        with open(previous) as f:
            old = json.load(f)
        # Settings a run folder does not record yet (older versions) count as unchanged.
        changed = [k for k in _MODEL_FIELDS if k in old and old[k] != getattr(config, k)]
        if changed:
            raise UserError(f"--logdir={logdir} holds a run with different {', '.join(changed)} "
                            f"({', '.join(f'{k}={old.get(k)!r}' for k in changed)}); "
                            "pass a new --logdir or the same settings to resume")
    return logdir


def write_json(path: str, payload: Dict) -> None:
    """Write JSON atomically: a reader never sees a half-written file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=True, default=float)
    os.replace(tmp, path)


def read_history(path: str, up_to_epoch: int) -> List[Dict[str, float]]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if r["epoch"] <= up_to_epoch]


def write_history(path: str, history: List[Dict[str, float]]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in history)
    os.replace(tmp, path)
