"""Faults: kill -9 or SIGTERM mid-training then resume, a diverging loss, determinism."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from test_main import events, launch

pytestmark = pytest.mark.slow  # every test here runs the launcher or a script


def _history(logdir):
    path = os.path.join(logdir, "history.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line)["epoch"] for line in f if line.strip()]


def _kill_9_after_two_checkpoints(flags, ckpts):
    """Launch the launcher with `flags` and SIGKILL it once its second checkpoint exists."""
    proc = subprocess.Popen([sys.executable, "-m", "vae_tf.main", *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        latest = tf.train.latest_checkpoint(ckpts) if os.path.isdir(ckpts) else None
        if latest and int(latest.rsplit("-", 1)[1]) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_sigterm_says_so_in_one_line_then_the_same_command_resumes(tmp_path):
    """SIGTERM (a scheduler's stop) ends the run as Ctrl-C does: a line, exit 143, resumable."""
    logdir = str(tmp_path / "run")
    ckpts = os.path.join(logdir, "checkpoints")
    proc = subprocess.Popen([sys.executable, "-m", "vae_tf.main", "--epochs=8",
                             f"--logdir={logdir}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (
            os.path.isdir(ckpts) and tf.train.latest_checkpoint(ckpts)):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stderr = proc.communicate(timeout=60)[1]
    assert proc.returncode == 143, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == (
        "vae-tf: error: terminated (SIGTERM); rerun the same command to resume from the last "
        "checkpoint")
    assert "Traceback" not in stderr
    finished = int(tf.train.latest_checkpoint(ckpts).rsplit("-", 1)[1])
    assert 1 <= finished < 8, "the signal should land mid-run"
    result = launch("--epochs=8", f"--logdir={logdir}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"(epoch {finished})" in result.stderr
    assert _history(logdir) == list(range(1, 9))


def test_kill_9_then_same_command_resumes(tmp_path):
    logdir = str(tmp_path / "run")
    ckpts = os.path.join(logdir, "checkpoints")
    _kill_9_after_two_checkpoints(["--epochs=8", f"--logdir={logdir}"], ckpts)
    done = tf.train.latest_checkpoint(ckpts)
    assert done is not None
    finished = int(done.rsplit("-", 1)[1])
    assert 2 <= finished < 8, "the kill should land mid-run"
    result = launch("--epochs=8", f"--logdir={logdir}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"(epoch {finished})" in result.stderr
    assert _history(logdir) == list(range(1, 9))
    with open(os.path.join(logdir, "metrics.json")) as f:
        assert json.load(f)["epochs"] == 8


def test_diverging_loss_stops_with_one_line_and_keeps_the_checkpoint(tmp_path):
    logdir = str(tmp_path / "run")
    assert launch("--epochs=1", f"--logdir={logdir}").returncode == 0
    # A resume keeps the saved learning rate: the folder's is raised by hand to diverge.
    path = os.path.join(logdir, "config.json")
    with open(path) as f:
        saved = json.load(f)
    with open(path, "w") as f:
        json.dump({**saved, "learning_rate": 1e6}, f)
    result = launch("--epochs=3", "--learning_rate=1e6", f"--logdir={logdir}")
    assert result.returncode == 3
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("vae-tf: error: the loss became nan at epoch 2")
    assert "(learning rate 1e+06)" in last and "(epoch 1) is kept" in last
    assert last.endswith("try a lower --learning_rate")
    assert "Traceback" not in result.stderr
    assert tf.train.latest_checkpoint(os.path.join(logdir, "checkpoints")).endswith("ckpt-1")


def _checkpoint_values(logdir):
    reader = tf.train.load_checkpoint(os.path.join(logdir, "checkpoints"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if "save_counter" not in name}


def test_deterministic_runs_are_identical(tmp_path):
    runs = [str(tmp_path / f"run{i}") for i in range(2)]
    for logdir in runs:
        result = launch("--epochs=2", "--deterministic", "--binarize", "--iwae_samples=20",
                        f"--logdir={logdir}")
        assert result.returncode == 0, result.stderr[-2000:]
    metrics = []
    for logdir in runs:
        with open(os.path.join(logdir, "metrics.json")) as f:
            m = json.load(f)
        metrics.append({k: v for k, v in m.items() if "second" not in k})
    assert metrics[0] == metrics[1]
    assert metrics[0]["test_iwae_nll"] < metrics[0]["test_loss"]  # the bound is tighter
    assert metrics[0]["iwae_samples"] == 20
    acc = events(runs[0])
    assert [e.step for e in acc.Tensors("test/iwae_nll")] == [2]
    a, b = (_checkpoint_values(d) for d in runs)
    assert a.keys() == b.keys() and len(a) > 10
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_deterministic_imputation_runs_are_identical(tmp_path):
    """--deterministic applies to --mode=impute as to training: two fits of the MIWAE on a
    table and its multiple imputations (draws of z and of the cells) agree to the bit."""
    table = tmp_path / "table.csv"
    rng = np.random.default_rng(0)
    rows = [f"{a:.2f},{a * 0.7 + rng.normal(0, 2):.3f}," + ("" if i % 4 == 1 else f"{i % 2}")
            for i, a in enumerate(rng.normal(100, 15, 40))]
    table.write_text("height,weight,smoker\n" + "\n".join(rows) + "\n")
    outputs = []
    for name in ("one", "two"):
        logdir = tmp_path / name
        result = launch("--mode=impute", "--dataset=csv", f"--data_dir={table}",
                        "--imputations=2", "--epochs=2", "--batch_size=10", "--hidden_dim=8",
                        "--latent_dim=2", "--deterministic", f"--logdir={logdir}")
        assert result.returncode == 0, result.stderr[-2000:]
        outputs.append([(logdir / f).read_text() for f in ("imputed.csv", "imputed_1.csv",
                                                            "imputed_2.csv", "spread.csv")])
    assert outputs[0] == outputs[1]
    assert outputs[0][1] != outputs[0][2]  # the two imputations are draws, not copies


def test_full_disk_is_one_line_and_keeps_the_last_checkpoint(tmp_path):
    """A file-size limit makes every large write fail, as a full disk would."""
    import resource

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of dying
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    logdir = str(tmp_path / "run")
    result = subprocess.run([sys.executable, "-m", "vae_tf.main", "--epochs=2",
                             f"--logdir={logdir}"], capture_output=True, text=True,
                            preexec_fn=limit_file_size, timeout=600,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 4, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("vae-tf: error: writing the run failed") and "--logdir" in last
    assert "Traceback" not in result.stderr


def test_impute_mode_resumes_after_kill_9(tmp_path):
    """The VAE imputers train on the engine: a killed --mode=impute run resumes too."""
    logdir = str(tmp_path / "run")
    flags = ["--mode=impute", "--imputer=miwae", "--arch=mlp", "--epochs=8",
             "--impute_samples=100",  # the MLP and L = 100 for time; conv's resume:
             f"--logdir={logdir}"]  # test_imputers_miwae
    ckpts = os.path.join(logdir, "checkpoints")
    _kill_9_after_two_checkpoints(flags, ckpts)
    finished = int(tf.train.latest_checkpoint(ckpts).rsplit("-", 1)[1])
    assert 2 <= finished < 8, "the kill should land mid-run"
    result = launch(*flags)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"(epoch {finished})" in result.stderr
    assert _history(logdir) == list(range(1, 9))
    with open(os.path.join(logdir, "metrics.json")) as f:
        metrics = json.load(f)
    assert 0 < metrics["rmse_missing"] < 0.5
