"""tf.distribute: mirrored on 2 logical CPUs, and a 2-worker cluster on 127.0.0.1."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

import vae_tf.models  # noqa: F401  registers the classes keras.models.load_model needs
from test_main import launch

TOLERANCE = 0.01  # relative, per epoch: replicas draw their own noise, so curves differ a little


def _losses(logdir):
    with open(os.path.join(logdir, "history.jsonl")) as f:
        return [json.loads(line)["train/loss"] for line in f]


@pytest.mark.slow
def test_mirrored_matches_one_device_at_the_same_global_batch(tmp_path):
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    a = launch("--epochs=3", f"--logdir={one}")
    b = launch("--epochs=3", "--strategy=mirrored", "--cpu_devices=2", f"--logdir={two}")
    assert a.returncode == 0 and b.returncode == 0, (a.stderr[-1500:], b.stderr[-1500:])
    curve_one, curve_two = _losses(one), _losses(two)
    assert len(curve_one) == len(curve_two) == 3
    np.testing.assert_allclose(curve_two, curve_one, rtol=TOLERANCE)
    assert curve_two[2] < curve_two[0]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_workers_on_localhost_agree_on_the_weights(tmp_path):
    logdir = str(tmp_path / "run")
    workers = [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), TF_CPP_MIN_LOG_LEVEL="3")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "vae_tf.main", "--epochs=2", "--strategy=multi_worker",
             f"--logdir={logdir}"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-1500:] for o in outputs]
    chief = keras.models.load_model(os.path.join(logdir, "model.keras"))
    other = keras.models.load_model(os.path.join(logdir, "workers", "worker-1", "model.keras"))
    for a, b in zip(chief.get_weights(), other.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    with open(os.path.join(logdir, "metrics.json")) as f:
        assert json.load(f)["epochs"] == 2


def test_multi_worker_without_tf_config_is_one_line(tmp_path):
    env_free = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    result = subprocess.run([sys.executable, "-m", "vae_tf.main", "--strategy=multi_worker",
                             f"--logdir={tmp_path}/run"], capture_output=True, text=True,
                            env=dict(env_free, TF_CPP_MIN_LOG_LEVEL="3"), timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        "vae-tf: error: --strategy=multi_worker reads the cluster from the TF_CONFIG")
    assert not os.path.exists(tmp_path / "run")


@pytest.mark.slow
@pytest.mark.parametrize("imputer", ["miwae", "vae"])
def test_impute_mode_under_mirrored_matches_one_device(tmp_path, imputer):
    """A VAE imputer trained on 2 replicas imputes as well as on one device (within noise)."""
    results = []
    for name, extra in (("one", []), ("two", ["--strategy=mirrored", "--cpu_devices=2"])):
        logdir = str(tmp_path / name)
        # miwae's MLP at L = 100: its conv default at L = 1000 made this the suite's slowest
        # test; the strategy path is the same for both architectures and any L.
        arch = ["--arch=mlp", "--impute_samples=100"] if imputer == "miwae" else []
        run = launch("--mode=impute", f"--imputer={imputer}", "--epochs=4", *arch, *extra,
                     f"--logdir={logdir}")
        assert run.returncode == 0, run.stderr[-1500:]
        with open(os.path.join(logdir, "metrics.json")) as f:
            results.append(json.load(f))
        if extra:
            assert "--strategy=mirrored with 2 replicas" in run.stderr
    one, two = (r["rmse_missing"] for r in results)
    assert abs(one - two) < 0.02 * one, (one, two)
    assert len(_losses(str(tmp_path / "two"))) == 4
    if imputer == "vae":  # the replicas' reconstructions went back into the holes too
        assert abs(results[0]["train_rmse_missing"] - results[1]["train_rmse_missing"]) \
            < 0.02 * results[0]["train_rmse_missing"]


@pytest.mark.parametrize("tf_config, needle", [
    ("{not json", "TF_CONFIG is not valid JSON"),
    ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}',
     "TF_CONFIG's task index 3 is beyond the 1 worker address(es)"),
    ('{"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}',
     "is not host:port"),
    ('{"task": {"type": "worker", "index": 0}}', "TF_CONFIG has no usable \"cluster\""),
])
def test_a_bad_tf_config_is_one_line_before_tensorflow_starts(tmp_path, tf_config, needle):
    result = subprocess.run([sys.executable, "-m", "vae_tf.main", "--strategy=multi_worker",
                             f"--logdir={tmp_path}/run"], capture_output=True, text=True,
                            env=dict(os.environ, TF_CONFIG=tf_config), timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr[-1500:]
    assert not os.path.exists(tmp_path / "run")


@pytest.mark.slow
def test_a_peer_that_never_comes_up_is_given_up_on(tmp_path):
    workers = [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]
    tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": 0}}
    env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), VAE_TF_CLUSTER_TIMEOUT="3")
    result = subprocess.run([sys.executable, "-m", "vae_tf.main", "--strategy=multi_worker",
                             f"--logdir={tmp_path}/run"], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 2, result.stderr[-1500:]
    last = result.stderr.strip().splitlines()[-1]
    assert f"the cluster's task at {workers[1]} did not come up within 3 s" in last
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not socket.has_ipv6, reason="this machine has no IPv6")
def test_two_tasks_on_ipv6_loopback_meet_when_one_starts_late(monkeypatch):
    """An IPv6 cluster ("[::1]:port") gets through the rendezvous: each task listens on
    IPv4 and IPv6 alike, as TensorFlow's server does. Task 1 starts a second late, after
    task 0's first probe was refused, and reaches task 0 long before task 0 tries again: it
    must not leave before task 0 has reached it (the rendezvous is a barrier both ways; once
    it was not, and task 0 waited out its timeout)."""
    import threading
    import time
    from vae_tf import cluster
    monkeypatch.setenv(cluster.TIMEOUT_VAR, "60")  # the suite's other worker may be busy
    monkeypatch.setattr(cluster, "RETRY_SECONDS", 3.0)
    workers = {"worker": [f"[::1]:{_free_port()}", f"[::1]:{_free_port()}"]}
    failed = []

    def task(index):
        try:
            cluster.rendezvous(workers, "worker", index)
        except Exception as e:  # noqa: BLE001  reported below
            failed.append(e)

    threads = [threading.Thread(target=task, args=(i,)) for i in range(2)]
    threads[0].start()
    time.sleep(1.0)
    threads[1].start()
    for thread in threads:
        thread.join(120)  # beyond the timeout, so a failure shows its error, not a live thread
    assert not failed and not any(t.is_alive() for t in threads), failed


def test_a_peer_that_never_reaches_this_task_is_named(monkeypatch):
    """A peer that answers this task's probe but never probes back (here a bare listener
    speaking the rendezvous's answer) is given up on in one line naming it."""
    import threading
    from vae_tf import cluster
    from vae_tf.errors import UserError
    monkeypatch.setenv(cluster.TIMEOUT_VAR, "2")
    listener = socket.create_server(("127.0.0.1", 0))
    peer = f"127.0.0.1:{listener.getsockname()[1]}"
    workers = {"worker": [f"127.0.0.1:{_free_port()}", peer]}

    def answer_once():
        connection = listener.accept()[0]
        with connection:
            cluster._read_line(connection)
            connection.sendall(cluster.ANSWER)

    threading.Thread(target=answer_once, daemon=True).start()
    try:
        with pytest.raises(UserError, match=rf"task at {peer} came up but did not reach this "
                                            rf"task \(127\.0\.0\.1:\d+\) within 2 s"):
            cluster.rendezvous(workers, "worker", 0)
    finally:
        listener.close()
