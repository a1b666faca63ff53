"""The run folder shared by training and imputation.

`RunDir` resolves the folder (`logs/<dataset>-<mode>-<time>` by default; other workers of
a cluster write under `<logdir>/workers/<type>-<index>`), checks it can be written, holds
a lock while the run lives (an flock: a second run on the same folder is refused; the
kernel releases it when a run ends, killed or not), writes `config.json` once (with the
resolved folder; a run trained on to more epochs records them), refuses to resume a run
whose settings changed or a folder of another kind of run, and owns what the run writes:
TensorBoard events, `history.jsonl` (one record per epoch, `history`), JSON files and
figures.
"""

import atexit
import dataclasses
import fcntl
import json
import os
import socket
import time
from typing import Dict, List, Optional

from vae_tf import history
from vae_tf.config import imputer_models
from vae_tf.errors import UserError

# Settings that change what a run trains or computes: a folder resumes only with the values
# it was started with. The others may differ: epochs (the run trains on to a larger count,
# which config.json then records), where things are (data_dir, logdir), how fast or how
# verbosely it runs (steps_per_call, jit_compile, deterministic, strategy, cpu_devices,
# log_every), what is estimated after training (iwae_samples, imputations), and the preset
# (its values are compared one by one).
_SAME_FIELDS = ("dataset", "mode", "arch", "latent_dim", "hidden_dim", "hidden_layers",
                "likelihood", "sigma", "imputer", "missing", "train_samples", "adam_epsilon",
                "init", "init_stddev", "imputer_seeds", "batch_size", "learning_rate",
                "lr_decay", "seed", "binarize", "k", "holdout", "categorical",
                "impute_samples", "impute_dtype")
# What a config.json written before a field existed meant by its absence.
_BEFORE = {"train_samples": 1, "adam_epsilon": 1e-7, "init": "auto", "imputer_seeds": 0,
           "impute_samples": 0, "impute_dtype": "float32"}
# What a run leaves that a resume reads (config.json aside).
_RESUMED = ("checkpoints", "history.jsonl", "fit.json")
LOCK = ".lock"
_HELD: Dict[str, list] = {}  # lock file -> [descriptor, runs of this process using it]


def _same(field: str, old: Dict, config) -> bool:
    """Whether the earlier run's `field` is `config`'s (a seed count of 0 means the
    imputer's own count)."""
    if field == "imputer_seeds":
        return imputer_models(old.get("imputer"), old[field]) == \
            imputer_models(config.imputer, config.imputer_seeds)
    return old[field] == getattr(config, field)


def _other_settings(logdir: str, changed: List[str], old: Dict, config) -> str:
    """The one line refusing to resume with other settings: each one's saved and given
    value, and the flags that resume."""
    pairs = ", ".join(f"{k} (saved {old[k]!r}, given {getattr(config, k)!r})" for k in changed)
    flags = [_flag(k, old[k]) for k in changed if old[k] is not None]
    unset = [f"--{k}" for k in changed if old[k] is None]
    fix = " and ".join(filter(None, [f"pass {' '.join(flags)}" if flags else "",
                                     f"leave {' '.join(unset)} unset" if unset else ""]))
    return (f"--logdir={logdir} holds a run with different {pairs}; {fix} to resume it, or "
            "pass a new --logdir for a run with these settings")


def _flag(name: str, value) -> str:
    if isinstance(value, bool):
        return f"--{name}" if value else f"--no{name}"
    return f"--{name}={value if value != '' else repr('')}"


def resumed_parts(folder: str) -> List[str]:
    """What of a run `folder` holds that a resume would read (checkpoints/, history.jsonl,
    fit.json); config.json aside."""
    found = []
    for name in _RESUMED:
        path = os.path.join(folder, name)
        if os.path.isfile(path) or (os.path.isdir(path) and os.listdir(path)):
            found.append(name + ("/" if os.path.isdir(path) else ""))
    return found


def default_logdir(config) -> str:
    return os.path.join("logs", f"{config.dataset}-{config.mode}-{time.strftime('%Y%m%d-%H%M%S')}")


def refusal_check(path: str, logdir: str, config) -> Optional[Dict]:
    """The saved config.json of the run folder `path` (None if there is none), or the
    one-line UserError refusing to resume there: a run of other settings, a config.json that
    is no JSON object, or what another program wrote. Read-only: the launcher calls it before
    TensorFlow starts (`check_before_start`), so a refusal takes a second, not TensorFlow's
    start-up, and `RunDir.for_config` again once the folder is locked."""
    previous = os.path.join(path, "config.json")
    if os.path.exists(previous):
        try:
            with open(previous) as f:
                saved = json.load(f)
            if not isinstance(saved, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            raise UserError(f"{previous}: cannot be read as the run's settings "
                            f"({type(e).__name__}); pass a new --logdir, or delete the "
                            "damaged run folder") from None
        old = {**_BEFORE, **saved}
        changed = [k for k in _SAME_FIELDS if k in old and not _same(k, old, config)]
        if changed:
            raise UserError(_other_settings(logdir, changed, old, config))
        return saved
    parts = resumed_parts(path) if os.path.isdir(path) else []
    if parts:  # a resume would read what another program wrote
        raise UserError(f"--logdir={logdir} holds {', '.join(parts)} but no config.json: "
                        "another kind of run (an imputer's fit from the library?), or one "
                        "whose config.json was deleted; pass a new --logdir")
    return None


def check_before_start(config) -> None:
    """The launcher's run folder refused before TensorFlow starts, in a second: one it cannot
    write into, one a live run holds, or one `refusal_check` refuses (one device or mirrored;
    a multi-worker task's folder depends on its place in the cluster, so its checks wait
    for `RunDir.for_config`). Read-only: nothing is created."""
    if config.logdir and config.strategy != "multi_worker":
        _check_writable(config.logdir, "--logdir")
        _check_unlocked(config.logdir, "--logdir")
        refusal_check(config.logdir, config.logdir, config)


def _cannot_write(what: str, path: str, reason: str) -> UserError:
    return UserError(f"{what}={path}: cannot write there ({reason}); pass a folder you can "
                     "write to and that has free space")


def _in_use(what: str, path: str, holder: str) -> UserError:
    holder = holder or "unknown process"
    return UserError(f"{what}={path} is in use by another live run ({holder}); wait for it to "
                     f"end or pass another {what}")


def _check_writable(path: str, what: str) -> None:
    """Refuse `path` if it, or the nearest part of it that exists, is not a folder this
    process can write into; creates nothing (the folder is made once the run starts)."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise _cannot_write(what, path, "Not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise _cannot_write(what, path, "Permission denied")


def _check_unlocked(path: str, what: str) -> None:
    """Refuse `path` if a live run holds its lock (tried and let go at once; creates nothing).
    `RunDir._lock` takes the lock for good once the run starts."""
    lock = os.path.realpath(os.path.join(path, LOCK))
    if lock in _HELD or not os.path.isfile(lock):
        return
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return  # unreadable: RunDir's own attempt says what is wrong
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError:
        raise _in_use(what, path, _read(lock)) from None
    finally:
        os.close(fd)


class RunDir:
    """One run's folder. `RunDir(path)` for library use; `RunDir.for_config` for the launcher."""

    def __init__(self, path: str, what: str = "logdir"):
        self.path, self.what, self._writer, self._locked = path, what, None, False
        try:
            os.makedirs(path, exist_ok=True)
            probe = os.path.join(path, ".write_probe")
            with open(probe, "w") as f:
                f.write("ok")
            os.remove(probe)
        except OSError as e:
            raise _cannot_write(what, path, e.strerror or str(e)) from None
        self._lock()

    @classmethod
    def for_config(cls, config, chief_subfolder: Optional[str] = None) -> "RunDir":
        """The launcher's run folder for `config` (a `config.Config`); writes config.json once.

        `chief_subfolder`: for a non-chief worker, the folder under the logdir it writes to.
        """
        logdir = config.logdir or default_logdir(config)
        path = os.path.join(logdir, chief_subfolder) if chief_subfolder else logdir
        run = cls(path, "--logdir")
        resolved = dataclasses.replace(config, logdir=logdir)
        try:
            saved = refusal_check(path, logdir, config)
        except UserError:
            run.close()
            raise
        if saved is not None:
            if config.epochs > saved.get("epochs", config.epochs):  # trained on further
                run.write_json("config.json", {**saved, "epochs": config.epochs})
        else:
            run.write_json("config.json", dataclasses.asdict(resolved))
        run.config = resolved
        return run

    # -- the lock ----------------------------------------------------------------------
    def _lock(self) -> None:
        """An exclusive flock on `<folder>/.lock`, held while the run lives.

        The kernel releases it when the process ends, however it ends, so a killed run's
        lock never blocks the next one. Runs inside this process share it.
        """
        path = os.path.realpath(os.path.join(self.path, LOCK))
        self._lock_path = path
        if path in _HELD:
            _HELD[path][1] += 1
            self._locked = True
            return
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise _in_use(self.what, self.path, _read(path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} {os.getpid()}".encode())
        _HELD[path] = [fd, 1]
        self._locked = True
        atexit.register(self.close)

    def close(self) -> None:
        """Close the TensorBoard writer and release the lock."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._locked:
            self._locked = False
            held = _HELD.get(self._lock_path)
            if held is not None:
                held[1] -= 1
                if held[1] == 0:
                    del _HELD[self._lock_path]
                    fcntl.flock(held[0], fcntl.LOCK_UN)
                    os.close(held[0])

    # -- what a run writes -------------------------------------------------------------
    @property
    def writer(self):
        """The run's TensorBoard writer (`summaries.Writer`), opened on first use."""
        if self._writer is None:
            from vae_tf import summaries
            self._writer = summaries.Writer(self.path)
        return self._writer

    def file(self, *parts: str) -> str:
        return os.path.join(self.path, *parts)

    def write_json(self, name: str, payload: Dict) -> str:
        path = self.file(name)
        write_json(path, payload)
        return path

    def read_history(self, up_to_epoch: int) -> List[Dict[str, float]]:
        """The records of history.jsonl up to `up_to_epoch` (the restored checkpoint's),
        damaged or missing ones rebuilt from the TensorBoard events (`history`)."""
        return history.read(self.path, up_to_epoch)

    def write_history(self, records: List[Dict[str, float]]) -> None:
        history.write(self.path, records)

def write_json(path: str, payload: Dict) -> None:
    """Write JSON atomically: a reader never sees a half-written file."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=True, default=float)
    os.replace(tmp, path)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""
