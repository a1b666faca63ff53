"""The run folder shared by training and imputation.

`RunDir` resolves the folder (`logs/<dataset>-<mode>-<time>` by default; other workers of
a cluster write under `<logdir>/workers/<type>-<index>`), checks it can be written, holds
a lock while the run lives (a second run on the same folder is refused; a lock left by a
dead process is taken over), writes `config.json` once (with the resolved folder) and
refuses to resume a run whose model settings changed, and owns what the run writes:
TensorBoard events, `history.jsonl` (one record per epoch), JSON files and figures.
"""

import atexit
import dataclasses
import json
import os
import socket
import time
from typing import Dict, List, Optional

from vae_tf.errors import UserError

# Settings that shape the model: a checkpoint cannot be resumed if they change.
_MODEL_FIELDS = ("dataset", "mode", "arch", "latent_dim", "hidden_dim", "hidden_layers",
                 "likelihood", "sigma", "imputer", "missing")
LOCK = ".lock"


def default_logdir(config) -> str:
    return os.path.join("logs", f"{config.dataset}-{config.mode}-{time.strftime('%Y%m%d-%H%M%S')}")


class RunDir:
    """One run's folder. `RunDir(path)` for library use; `RunDir.for_config` for the launcher."""

    def __init__(self, path: str, what: str = "logdir"):
        self.path, self._what, self._writer, self._locked = path, what, None, False
        try:
            os.makedirs(path, exist_ok=True)
            probe = os.path.join(path, ".write_probe")
            with open(probe, "w") as f:
                f.write("ok")
            os.remove(probe)
        except OSError as e:
            raise UserError(f"{what}={path}: cannot write there ({e.strerror or e}); pass a "
                            "folder you can write to and that has free space") from None
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
        previous = os.path.join(path, "config.json")
        if os.path.exists(previous):
            old = run._read_config(previous)
            changed = [k for k in _MODEL_FIELDS if k in old and old[k] != getattr(config, k)]
            if changed:
                run.close()
                raise UserError(f"--logdir={logdir} holds a run with different "
                                f"{', '.join(changed)} ("
                                f"{', '.join(f'{k}={old.get(k)!r}' for k in changed)}); "
                                "pass a new --logdir or the same settings to resume")
        else:
            run.write_json("config.json", dataclasses.asdict(resolved))
        run.config = resolved
        return run

    def _read_config(self, path: str) -> Dict:
        try:
            with open(path) as f:
                old = json.load(f)
            if not isinstance(old, dict):
                raise ValueError("not a JSON object")
            return old
        except (OSError, ValueError) as e:
            self.close()
            raise UserError(f"{path}: cannot be read as the run's settings ({type(e).__name__}); "
                            "pass a new --logdir, or delete the damaged run folder") from None

    # -- the lock ----------------------------------------------------------------------
    def _lock(self) -> None:
        path = os.path.join(self.path, LOCK)
        me = f"{socket.gethostname()} {os.getpid()}"
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                if _read(path) == me:  # this process's own run (e.g. an imputer inside it)
                    return
                if _holder_alive(path):
                    raise UserError(f"{self._what}={self.path} is in use by another live run "
                                    f"({_read(path)}); wait for it to end or pass another "
                                    f"{self._what}") from None
                os.remove(path)  # a stale lock from a dead process: take it over
                continue
            with os.fdopen(fd, "w") as f:
                f.write(me)
            self._locked = True
            atexit.register(self.close)
            return

    def close(self) -> None:
        """Close the TensorBoard writer and release the lock."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._locked:
            self._locked = False
            try:
                os.remove(os.path.join(self.path, LOCK))
            except OSError:
                pass

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
        """The records of history.jsonl up to `up_to_epoch` (the restored checkpoint's)."""
        path = self.file("history.jsonl")
        if not os.path.exists(path):
            return []
        records = []
        with open(path) as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except ValueError:  # a line cut short by a kill: the epochs after it are lost
                    break
        return [r for r in records if r.get("epoch", 0) <= up_to_epoch]

    def write_history(self, history: List[Dict[str, float]]) -> None:
        tmp = self.file("history.jsonl.tmp")
        with open(tmp, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in history)
        os.replace(tmp, self.file("history.jsonl"))


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


def _holder_alive(path: str) -> bool:
    """True when the lock's process still runs (on this host; another host's lock counts as live)."""
    parts = _read(path).split()
    if len(parts) != 2 or not parts[1].isdigit():
        return False
    host, pid = parts[0], int(parts[1])
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
