"""The cluster of `--strategy=multi_worker`, read from TF_CONFIG, checked before TensorFlow starts.

TF_CONFIG is JSON: {"cluster": {"worker": ["host:port", ...], "chief": [...]},
"task": {"type": "worker", "index": 0}}. `read_cluster` refuses, in one line, what
TensorFlow would answer with a traceback: malformed JSON, a missing part, a task index
beyond its list, an address without a port. `rendezvous` runs before TensorFlow's server
starts (TensorFlow would wait for missing peers forever, holding the interpreter): this
task listens on its own port with a plain socket while it waits for every peer to accept a
connection, and gives up, in one line, on a peer that does not come up within
VAE_TF_CLUSTER_TIMEOUT seconds (default 300). Then it closes its socket, and TensorFlow
binds the port.
"""

import json
import os
import socket
import threading
import time
from typing import Dict, List, Tuple

from vae_tf.errors import UserError

TIMEOUT_VAR, DEFAULT_TIMEOUT = "VAE_TF_CLUSTER_TIMEOUT", 300.0


def read_cluster() -> Tuple[Dict[str, List[str]], str, int]:
    """(cluster, task type, task index) from TF_CONFIG; one-line UserError when unusable."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UserError("--strategy=multi_worker reads the cluster from the TF_CONFIG "
                        "environment variable, which is not set; set it on every worker "
                        "(see README, 'Several devices and machines')")
    fix = ("; set it to JSON like {\"cluster\": {\"worker\": [\"host1:12345\", "
           "\"host2:12345\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}")
    try:
        config = json.loads(raw)
    except ValueError as e:
        raise UserError(f"TF_CONFIG is not valid JSON ({e}){fix}") from None
    cluster, task = (config.get("cluster"), config.get("task")) if isinstance(config, dict) \
        else (None, None)
    if not isinstance(cluster, dict) or not cluster or not all(
            isinstance(v, list) and v and all(isinstance(a, str) for a in v)
            for v in cluster.values()):
        raise UserError(f"TF_CONFIG has no usable \"cluster\" (a map from task type to a "
                        f"non-empty list of \"host:port\" addresses){fix}")
    if not isinstance(task, dict) or not isinstance(task.get("type"), str) \
            or not isinstance(task.get("index"), int) or isinstance(task.get("index"), bool):
        raise UserError(f"TF_CONFIG has no usable \"task\" (its \"type\" and integer "
                        f"\"index\"){fix}")
    kind, index = task["type"], task["index"]
    if kind not in cluster:
        raise UserError(f"TF_CONFIG's task type {kind!r} is not in its cluster "
                        f"({', '.join(cluster)}); use one of those types")
    if not 0 <= index < len(cluster[kind]):
        raise UserError(f"TF_CONFIG's task index {index} is beyond the {len(cluster[kind])} "
                        f"{kind} address(es) of its cluster; use 0 .. {len(cluster[kind]) - 1}")
    for addresses in cluster.values():
        for address in addresses:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise UserError(f"TF_CONFIG's cluster address {address!r} is not host:port "
                                "(port 1..65535); give every task as e.g. \"10.0.0.2:12345\"")
    return cluster, kind, index


def timeout_seconds() -> float:
    raw = os.environ.get(TIMEOUT_VAR, "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        value = -1.0
    if not value > 0:
        raise UserError(f"{TIMEOUT_VAR}={raw!r} must be a positive number of seconds; "
                        f"unset it for the default {DEFAULT_TIMEOUT:g}")
    return value


def rendezvous(cluster: Dict[str, List[str]], kind: str, index: int) -> None:
    """Listen on this task's port until every peer has been reached (or the timeout)."""
    address = cluster[kind][index]
    port = int(address.rpartition(":")[2])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", port))
    except OSError as e:
        listener.close()
        raise UserError(f"this task's address {address} (TF_CONFIG) cannot be used: port "
                        f"{port} is taken ({e.strerror}); free it or give the task another "
                        "port") from None
    listener.listen(64)
    listener.settimeout(0.2)
    done = threading.Event()

    def answer():  # accept and drop the peers' probes, so none of them waits on a backlog
        while not done.is_set():
            try:
                listener.accept()[0].close()
            except OSError:
                continue

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        wait_for_peers(cluster, kind, index)
    finally:
        done.set()
        thread.join()
        listener.close()


def wait_for_peers(cluster: Dict[str, List[str]], kind: str, index: int) -> None:
    """Return once every other task accepts a TCP connection; UserError after the timeout."""
    mine = cluster[kind][index]
    peers = [a for addresses in cluster.values() for a in addresses if a != mine]
    limit = timeout_seconds()
    deadline = time.monotonic() + limit
    for address in peers:
        host, _, port = address.rpartition(":")
        while True:
            try:
                with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise UserError(f"the cluster's task at {address} did not come up within "
                                    f"{limit:g} s ({TIMEOUT_VAR}); start every task with the "
                                    "same TF_CONFIG cluster, or check that address") from None
                time.sleep(0.5)
