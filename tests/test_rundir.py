"""The run folder: lock, config.json once, damaged folders on resume (fast, in-process)."""

import glob
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from vae_tf.config import make_config
from vae_tf.engine import Engine, Objective
from vae_tf.errors import UserError
from vae_tf.rundir import LOCK, RunDir


class _Mean(Objective):
    def __init__(self, shape=()):
        self.w = tf.Variable(tf.zeros(shape), name="w")

    @property
    def trainable_variables(self):
        return [self.w]

    def trackables(self):
        return {"w": self.w}

    def terms(self, batch):
        return {"loss": tf.square(self.w - batch[0])}


def _train(path, epochs):
    run = RunDir(str(path))
    try:
        engine = Engine(_Mean(), [np.arange(8, dtype=np.float32)], 4, 0.1, run=run)
        engine.fit(epochs)
        return engine
    finally:
        run.close()


def _resume(path):
    run = RunDir(str(path))
    try:
        return Engine(_Mean(), [np.arange(8, dtype=np.float32)], 4, 0.1, run=run)
    finally:
        run.close()


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path, caplog):
    _train(tmp_path, 3)
    data = glob.glob(str(tmp_path / "checkpoints" / "ckpt-3.data-*"))[0]
    with open(data, "r+b") as f:
        f.truncate(3)
    os.makedirs(tmp_path / "checkpoints" / "ckpt-4_temp")  # a killed save's leftovers
    engine = _resume(tmp_path)
    assert engine.start_epoch == 2 and [h["epoch"] for h in engine.history] == [1, 2]
    assert engine.manager.latest_checkpoint.endswith("ckpt-2")
    assert "ckpt-3" in caplog.text and "damaged" in caplog.text
    assert not (tmp_path / "checkpoints" / "ckpt-4_temp").exists()


def test_a_deleted_index_falls_back_and_none_intact_is_one_line(tmp_path):
    _train(tmp_path, 2)
    os.remove(tmp_path / "checkpoints" / "ckpt-2.index")
    assert _resume(tmp_path).start_epoch == 1
    os.remove(tmp_path / "checkpoints" / "ckpt-1.index")
    with pytest.raises(UserError, match="no intact checkpoint to resume from") as error:
        _resume(tmp_path)
    assert "\n" not in str(error.value) and "pass a new --logdir" in str(error.value)


def test_checkpoints_of_another_model_are_one_line_not_damaged(tmp_path, caplog):
    _train(tmp_path, 2)
    run = RunDir(str(tmp_path))
    try:
        with pytest.raises(UserError) as error:
            Engine(_Mean(shape=[2]), [np.arange(8, dtype=np.float32)], 4, 0.1, run=run)
    finally:
        run.close()
    # TensorFlow names the first variable it meets: w, or one of Adam's slots for it.
    assert re.fullmatch(rf"logdir={tmp_path} holds checkpoints of another model \(ckpt-2: "
                        r"\S*w\S* has shape \(\) there, \(2,\) in this run's model\); pass a "
                        r"new logdir for this model", str(error.value)), str(error.value)
    assert "damaged" not in caplog.text
    assert _resume(tmp_path).start_epoch == 2  # the folder's own model still resumes


def test_a_history_cut_short_is_rebuilt_from_the_events(tmp_path, caplog):
    _train(tmp_path, 3)
    path = tmp_path / "history.jsonl"
    whole = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text(path.read_text()[:-20])  # the last record cut mid-line
    history = _resume(tmp_path).history
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[2]["train/loss"] == pytest.approx(whole[2]["train/loss"], rel=1e-6)
    assert "history.jsonl: line 3 is not an epoch's record (dropped); rebuilt epoch 3 " \
           "from the TensorBoard events" in caplog.text
    path.write_text(path.read_text().splitlines()[0] + "\n")  # records 2 and 3 deleted
    assert [h["epoch"] for h in _resume(tmp_path).history] == [1, 2, 3]
    assert "no record of epochs 2-3; rebuilt epochs 2-3 from the TensorBoard events" \
           in caplog.text


@pytest.mark.parametrize("damage", [b"\xff\xfe not UTF-8", b"5", b'{"epoch": "x"}'],
                         ids=["bytes", "bare number", "epoch not a number"])
def test_a_damaged_history_line_is_dropped_and_its_epoch_rebuilt(tmp_path, caplog, damage):
    _train(tmp_path, 3)
    path = tmp_path / "history.jsonl"
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join([lines[0], damage, lines[2]]) + b"\n")
    history = _resume(tmp_path).history
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[1]["train/loss"] == pytest.approx(json.loads(lines[1])["train/loss"],
                                                     rel=1e-6)
    assert "history.jsonl: line 2 is not an epoch's record (dropped); rebuilt epoch 2 " \
           "from the TensorBoard events" in caplog.text
    caplog.clear()  # the repaired file replaced the damaged one: the next resume is quiet
    assert [h["epoch"] for h in _resume(tmp_path).history] == [1, 2, 3]
    assert "history.jsonl" not in caplog.text


def test_epochs_neither_history_nor_events_hold_are_said_lost(tmp_path, caplog):
    _train(tmp_path, 3)
    for events in glob.glob(str(tmp_path / "events.out.tfevents.*")):
        os.remove(events)
    path = tmp_path / "history.jsonl"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    engine = _resume(tmp_path)
    assert engine.start_epoch == 3 and [h["epoch"] for h in engine.history] == [1]
    assert "no record of epochs 2-3; epochs 2-3 lost (not in the TensorBoard events " \
           "either)" in caplog.text


def test_config_json_written_once_and_damaged_config_is_one_line(tmp_path):
    config = make_config(logdir=str(tmp_path / "r"), epochs=3)
    RunDir.for_config(config).close()
    first = (tmp_path / "r" / "config.json").read_text()
    assert '"logdir": "' + str(tmp_path / "r") in first
    RunDir.for_config(make_config(logdir=str(tmp_path / "r"), epochs=1, log_every=5)).close()
    assert (tmp_path / "r" / "config.json").read_text() == first  # not rewritten
    RunDir.for_config(make_config(logdir=str(tmp_path / "r"), epochs=5)).close()
    assert json.loads((tmp_path / "r" / "config.json").read_text())["epochs"] == 5  # trained on
    (tmp_path / "r" / "config.json").write_text("{not json")
    with pytest.raises(UserError, match="config.json: cannot be read as the run's settings"):
        RunDir.for_config(config)
    from vae_tf import rundir
    assert not rundir._HELD  # the refusal released the lock


def test_a_missing_or_garbled_checkpoint_list_falls_back_to_the_files(tmp_path, caplog):
    _train(tmp_path, 3)
    (tmp_path / "checkpoints" / "checkpoint").write_text("garbage {")
    assert _resume(tmp_path).start_epoch == 3
    os.remove(tmp_path / "checkpoints" / "checkpoint")
    engine = _resume(tmp_path)
    assert engine.start_epoch == 3 and engine.manager.latest_checkpoint.endswith("ckpt-3")
    assert "list of checkpoints is missing or damaged" in caplog.text


def test_a_resume_with_other_settings_names_each_and_the_fix(tmp_path):
    def open_run(**given):
        RunDir.for_config(make_config(logdir=str(tmp_path / "r"), **given)).close()

    open_run()
    with pytest.raises(UserError) as error:
        open_run(learning_rate=0.003)
    assert str(error.value) == (f"--logdir={tmp_path / 'r'} holds a run with different "
                                "learning_rate (saved 0.001, given 0.003); pass "
                                "--learning_rate=0.001 to resume it, or pass a new --logdir "
                                "for a run with these settings")
    with pytest.raises(UserError, match=r"different init_stddev \(saved None, given 0.01\), "
                       r"batch_size \(saved 100, given 50\), lr_decay \(saved 1.0, given 0.9\), "
                       r"seed \(saved 0, given 1\), binarize \(saved False, given True\); pass "
                       r"--batch_size=100 --lr_decay=1.0 --seed=0 --nobinarize and leave "
                       r"--init_stddev unset to resume it"):
        open_run(batch_size=50, seed=1, init_stddev=0.01, binarize=True, lr_decay=0.9)
    # How fast, how verbosely or where it runs, and what it estimates after training, may differ.
    open_run(steps_per_call=3, jit_compile=False, log_every=1, deterministic=True,
             iwae_samples=10)


def test_a_folder_of_another_kind_of_run_is_refused_before_config_json(tmp_path):
    _train(tmp_path / "fit", 1)  # checkpoints and a history, but no config.json
    with pytest.raises(UserError, match=r"holds checkpoints/, history.jsonl but no config.json"):
        RunDir.for_config(make_config(logdir=str(tmp_path / "fit")))
    assert not (tmp_path / "fit" / "config.json").exists()


def _hold_lock(folder):
    """Another process holding the folder's lock until killed."""
    code = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'elsewhere 42'); time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(folder / LOCK)])
    deadline = time.time() + 30
    while time.time() < deadline:
        if (folder / LOCK).exists() and (folder / LOCK).read_text() == "elsewhere 42":
            break
        time.sleep(0.05)
    return holder


def test_a_live_lock_refuses_and_a_killed_holder_frees_the_folder(tmp_path):
    holder = _hold_lock(tmp_path)
    try:
        with pytest.raises(UserError, match=r"is in use by another live run \(elsewhere 42\)"):
            RunDir(str(tmp_path))
    finally:
        holder.kill()  # as kill -9: the kernel releases its lock
        holder.wait()
    run = RunDir(str(tmp_path))
    assert (tmp_path / LOCK).read_text().endswith(str(os.getpid()))
    inner = RunDir(str(tmp_path))  # this process's own run (an imputer inside it) shares it
    inner.close()
    with pytest.raises(subprocess.CalledProcessError):  # held by `run`: another process fails
        subprocess.run([sys.executable, "-c", f"from vae_tf.rundir import RunDir; "
                        f"RunDir({str(tmp_path)!r})"], check=True, capture_output=True)
    run.close()
    subprocess.run([sys.executable, "-c", f"from vae_tf.rundir import RunDir; "
                    f"RunDir({str(tmp_path)!r}).close()"], check=True)


def test_a_run_folder_is_not_resumed_with_another_objective_or_optimizer(tmp_path):
    RunDir.for_config(make_config(logdir=str(tmp_path / "r"))).close()
    with pytest.raises(UserError, match="different train_samples"):
        RunDir.for_config(make_config(logdir=str(tmp_path / "r"), train_samples=5))
    # A config.json from before adam_epsilon existed meant Keras's 1e-7: the thesis
    # preset's 1e-8 must not resume it (that folder would hold the collapsed model).
    path = tmp_path / "r" / "config.json"
    old = json.loads(path.read_text())
    del old["adam_epsilon"]
    path.write_text(json.dumps(old))
    with pytest.raises(UserError, match="different .*adam_epsilon"):
        RunDir.for_config(make_config(logdir=str(tmp_path / "r"), adam_epsilon=1e-8))
    RunDir.for_config(make_config(logdir=str(tmp_path / "r"))).close()  # same settings resume


def test_the_launcher_refuses_a_locked_or_unwritable_folder_before_creating_anything(tmp_path):
    from vae_tf.rundir import check_before_start
    held = tmp_path / "held"
    held.mkdir()
    holder = _hold_lock(held)
    try:
        with pytest.raises(UserError, match=r"--logdir=.*held is in use by another live run "
                                            r"\(elsewhere 42\); wait for it to end"):
            check_before_start(make_config(logdir=str(held)))
    finally:
        holder.kill()
        holder.wait()
    check_before_start(make_config(logdir=str(held)))  # the holder is gone: free again
    assert sorted(os.listdir(held)) == [LOCK]  # nothing created, the lock not taken
    (tmp_path / "file").write_text("not a folder")
    for logdir in (tmp_path / "file", tmp_path / "file" / "run" / "deeper"):
        with pytest.raises(UserError, match=r"cannot write there \(Not a directory\); pass a "
                                            "folder you can write to"):
            check_before_start(make_config(logdir=str(logdir)))
    new = tmp_path / "new" / "run"
    check_before_start(make_config(logdir=str(new)))  # a folder still to be made is fine
    assert not (tmp_path / "new").exists()
    if os.geteuid() != 0:  # root may write anywhere
        locked_out = tmp_path / "ro"
        locked_out.mkdir(mode=0o500)
        with pytest.raises(UserError, match=r"cannot write there \(Permission denied\)"):
            check_before_start(make_config(logdir=str(locked_out / "run")))
