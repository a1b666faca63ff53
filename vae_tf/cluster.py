"""The cluster of `--strategy=multi_worker`, read from TF_CONFIG, checked before TensorFlow starts.

TF_CONFIG is JSON: {"cluster": {"worker": ["host:port", ...], "chief": [...]},
"task": {"type": "worker", "index": 0}}. `read_cluster` refuses, in one line, what
TensorFlow would answer with a traceback or a wait that never ends: malformed JSON, a
missing part, a task index beyond its list, an address that is no host:port (an IPv6 host
goes in brackets, "[::1]:12345"), one address given to two tasks, an "rpc_layer" other
than grpc. `rendezvous` runs before TensorFlow's server starts (TensorFlow would wait for
missing peers forever, holding the interpreter): a barrier. This task listens on its own
port (IPv4 and IPv6) with a plain socket until it has reached every peer and every peer
has reached it, and gives up, in one line, on a peer that does not come up within
VAE_TF_CLUSTER_TIMEOUT seconds (default 300). Then it closes its socket, and TensorFlow
binds the port.
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
RETRY_SECONDS = 0.5  # between a refused probe and the next
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


HELLO, ANSWER = b"vae_tf rendezvous from ", b"vae_tf rendezvous heard\n"


def rendezvous(cluster: Dict[str, List[str]], kind: str, index: int) -> None:
    """A barrier: listen on this task's port until this task has reached every peer and
    every peer has reached it (or the timeout).

    Both halves are needed: a task that left as soon as it had reached its peers would close
    its port before a slower peer had reached it, and that peer would wait out its timeout.
    Each probe names its task ("vae_tf rendezvous from host:port") and counts only once the
    listener has answered, so a connection that is dropped half-way is tried again."""
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
    done, heard = threading.Event(), set()

    def answer():  # note which peers have reached this task, and tell each one so
        while not done.is_set():
            try:
                connection = listener.accept()[0]
            except OSError:
                continue
            with connection:
                try:
                    connection.settimeout(5)
                    line = _read_line(connection)
                    if line.startswith(HELLO):
                        connection.sendall(ANSWER)
                        heard.add(line[len(HELLO):].decode("ascii", "replace").lower())
                except OSError:
                    pass  # the peer tries again

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    limit = timeout_seconds()
    deadline = time.monotonic() + limit
    try:
        peers = [a for addresses in cluster.values() for a in addresses if a != address]
        for peer in peers:
            _reach(peer, address, deadline, limit)
        for peer in peers:
            while peer.lower() not in heard:
                if time.monotonic() > deadline:
                    raise UserError(f"the cluster's task at {peer} came up but did not reach "
                                    f"this task ({address}) within {limit:g} s ({TIMEOUT_VAR});"
                                    " give every task the same TF_CONFIG cluster")
                time.sleep(0.05)
    finally:
        done.set()
        thread.join()
        listener.close()


def _read_line(connection: socket.socket, most: int = 512) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < most:
        chunk = connection.recv(most - len(data))
        if not chunk:
            break
        data += chunk
    return data.rstrip(b"\n")


def _reach(peer: str, mine: str, deadline: float, limit: float) -> None:
    """Return once `peer` has answered this task's probe; UserError after the deadline."""
    host, _, port = peer.rpartition(":")
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=5) as c:
                c.sendall(HELLO + mine.encode("ascii") + b"\n")
                if _read_line(c) + b"\n" == ANSWER:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise UserError(f"the cluster's task at {peer} did not come up within "
                            f"{limit:g} s ({TIMEOUT_VAR}); start every task with the "
                            "same TF_CONFIG cluster, or check that address")
        time.sleep(RETRY_SECONDS)
