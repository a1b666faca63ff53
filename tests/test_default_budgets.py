"""The default preset's per-dataset budgets: the registry, the config, the first command."""

import json
import os
import re

import pytest

from conftest import real_data_dir
from test_main import launch
from vae_tf.config import make_config
from vae_tf.datasets import ENTRIES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_default_preset_trains_each_dataset_for_its_registry_budget():
    assert make_config(dataset="omniglot_en").epochs == ENTRIES["omniglot_en"].train_epochs
    assert make_config(dataset="mnist_5k").epochs == 30  # no slower than before
    assert make_config(dataset="mnist").epochs == 30
    assert make_config(dataset="omniglot_en", epochs=7).epochs == 7  # --epochs overrides
    assert make_config("thesis", dataset="omniglot_en").epochs == 100  # the thesis's own
    assert make_config(dataset="omniglot_en", mode="impute").epochs == 30  # training only
    assert "epochs" not in make_config(dataset="omniglot_en").given


def test_registry_budgets_are_the_ones_training_budget_chose():
    with open(os.path.join(ROOT, "experiments", "results", "training_budget.md")) as f:
        table = f.read()
    chosen = dict(re.findall(r"^\| (\w+): chosen \| train_epochs \| - \| (\d+)", table, re.M))
    assert chosen, "training_budget.md has no chosen rows"
    for name, epochs in chosen.items():
        assert ENTRIES[name].train_epochs == int(epochs), name


@pytest.mark.slow
def test_the_first_command_gives_a_trained_model_on_omniglot(tmp_path):
    real_data_dir("omniglot")
    logdir = str(tmp_path / "run")
    run = launch("--dataset=omniglot_en", f"--logdir={logdir}")
    assert run.returncode == 0, run.stderr[-2000:]
    with open(os.path.join(logdir, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["epochs"] == ENTRIES["omniglot_en"].train_epochs
    # 30 epochs (120 steps) gave grey blobs at test RMSE 0.194 and KL 6.7 nats.
    assert metrics["reconstruction_rmse"] < 0.15, metrics["reconstruction_rmse"]
    assert metrics["test_kl"] > 10 and not metrics["collapsed"], metrics
    assert "collapsed" not in run.stderr
