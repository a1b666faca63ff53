"""The cluster of `--strategy=multi_worker`, read from TF_CONFIG, checked before TensorFlow starts.

TF_CONFIG is JSON: {"cluster": {"worker": ["host:port", ...], "chief": [...]},
"task": {"type": "worker", "index": 0}}. `read_cluster` refuses, in one line, what
TensorFlow would answer with a traceback or a wait that never ends: malformed JSON, a
missing part, a task index beyond its list, an address that is no host:port (an IPv6 host
goes in brackets, "[::1]:12345"), one address given to two tasks, an "rpc_layer" other
than grpc. `rendezvous` runs before TensorFlow's server starts (TensorFlow would wait for
missing peers forever, holding the interpreter): this task listens on its own port (IPv4
and IPv6) with a plain socket while it waits for every peer to accept a connection, and
gives up, in one line, on a peer that does not come up within VAE_TF_CLUSTER_TIMEOUT
seconds (default 300). Then it closes its socket, and TensorFlow binds the port.
"""

import ipaddress
import json
import os
import re
import socket
import threading
import time
from typing import Dict, List, Tuple

from vae_tf.errors import UserError

TIMEOUT_VAR, DEFAULT_TIMEOUT = "VAE_TF_CLUSTER_TIMEOUT", 300.0
RPC_LAYERS = ("grpc",)  # the servers TensorFlow's pip build has (its GRPC_SERVER)


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
    seen = {}  # address -> the task that gave it first
    for name, addresses in cluster.items():
        for i, address in enumerate(addresses):
            problem = address_problem(address)
            if problem:
                raise UserError(f"TF_CONFIG's cluster address {address!r} is not host:port "
                                f"({problem}); give every task as e.g. \"10.0.0.2:12345\" "
                                "(IPv6: \"[::1]:12345\")")
            if address.lower() in seen:  # two tasks on one port: TensorFlow waits forever
                raise UserError(f"TF_CONFIG's cluster lists the address {address!r} twice "
                                f"({seen[address.lower()]} and {name} {i}); give every task "
                                "its own host:port")
            seen[address.lower()] = f"{name} {i}"
    rpc = config.get("rpc_layer") or RPC_LAYERS[0]  # TensorFlow's default when unset
    if rpc not in RPC_LAYERS:
        raise UserError(f"TF_CONFIG's \"rpc_layer\" {rpc!r} is unknown: TensorFlow serves "
                        f"{', '.join(RPC_LAYERS)} only; set \"rpc_layer\": \"{RPC_LAYERS[0]}\" "
                        "or leave it out")
    return cluster, kind, index


def address_problem(address: str) -> str:
    """What keeps `address` from being a "host:port" TensorFlow can serve ("" if nothing)."""
    host, colon, port = address.rpartition(":")
    if not colon or not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        return "it ends in no port 1..65535"
    if host.startswith("[") or host.endswith("]"):  # IPv6: "[::1]:12345"
        if not (host.startswith("[") and host.endswith("]")):
            return f"the host {host!r} opens or closes a bracket it does not match"
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"{host[1:-1]!r} in brackets is no IPv6 address"
        return ""
    if not host:
        return "its host is empty"
    if not re.fullmatch(r"[A-Za-z0-9._-]+", host):
        return (f"the host {host!r} holds other than letters, digits, '.', '-' and '_'"
                + ("; an IPv6 host goes in brackets" if ":" in host else ""))
    return ""


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
    both = socket.has_dualstack_ipv6()  # IPv4 and IPv6 peers, as TensorFlow's server takes
    try:
        listener = socket.create_server(("", port), backlog=64, dualstack_ipv6=both,
                                        family=socket.AF_INET6 if both else socket.AF_INET)
    except OSError as e:
        raise UserError(f"this task's address {address} (TF_CONFIG) cannot be used: port "
                        f"{port} is taken ({os.strerror(e.errno)}); free it or give the task "
                        "another port") from None
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
