"""experiments/iwae_training.py: the budget chosen on validation images by the rule, then the
test set read once by the chosen model; the --quick path writes its table beside Burda et
al.'s numbers, and --quick never writes into experiments/results/."""

import dataclasses
import math
import os
import subprocess
import sys

import pytest

from test_experiments import ROOT, _kl, _row, run

sys.path.insert(0, ROOT)
from experiments import iwae_training  # noqa: E402


def test_the_rule_picks_the_smallest_budget_within_the_tolerance_of_the_best():
    assert iwae_training.choose({700: 86.30, 1100: 86.05, 1600: 86.00}, 0.1) == 1100
    assert iwae_training.choose({700: 86.30, 1100: 86.15, 1600: 86.00}, 0.1) == 1600
    assert iwae_training.choose({700: 86.00, 1100: 86.00, 1600: 86.00}, 0.1) == 700
    assert iwae_training.choose({700: 86.30, 1100: 86.05, 1600: 86.00}, 0.0) == 1600
    assert iwae_training.choose({700: 85.0, 1100: 86.05, 1600: math.nan}, 0.1) == 700
    with pytest.raises(SystemExit, match="no candidate budget has a finite validation NLL"):
        iwae_training.choose({700: math.nan, 1100: math.inf}, 0.1)


def test_the_candidates_see_validation_images_and_the_chosen_model_the_test_set_once(
        tmp_path, monkeypatch):
    """Training stubbed (no TensorFlow step): each candidate trains on the first n_fit
    training images and is scored on the last n_valid; the rule's budget alone trains on
    the chosen model's images and scores the test images; one read is recorded."""
    import numpy as np

    from experiments import scaffold
    from vae_tf.datasets import load
    config = dataclasses.replace(iwae_training.get_config(True), budgets=(1, 2, 3))
    validation_nll = {1: 90.0, 2: 89.05, 3: 89.0}  # 2: the smallest within 0.1 of the best
    calls = []

    def fake_run_train(cfg, data, verbose=None):
        calls.append((cfg.epochs, os.path.basename(cfg.logdir), data.train, data.test))
        nll = validation_nll[cfg.epochs] if len(calls) <= 3 else 85.0
        return dict(test_iwae_nll=nll, test_loss=nll + 7, train_seconds=1.0,
                    train_images_per_second=1000.0, test_kl=20.0, latent_units_in_use=20,
                    latent_units=50, collapse="")

    reads = []
    monkeypatch.setattr("vae_tf.train_run.run_train", fake_run_train)
    monkeypatch.setattr("experiments.ledger.record_read", lambda *a, **k: reads.append(a))
    monkeypatch.setattr("experiments.fingerprint.record", lambda *a, **k: None)
    iwae_training.main(scaffold.Run("iwae_training", config, True, None, str(tmp_path),
                                    str(tmp_path / "logs")))
    images = load("mnist_5k")
    assert [(e, folder) for e, folder, _, _ in calls] == [
        (1, "mnist_5k-K5-1ep-valid"), (2, "mnist_5k-K5-2ep-valid"),
        (3, "mnist_5k-K5-3ep-valid"), (2, "mnist_5k-K5-2ep")]
    for _, _, train, valid in calls[:3]:
        assert np.array_equal(train, images.train[:config.n_fit])
        assert np.array_equal(valid, images.train[-config.n_valid:])
    assert config.n_fit + config.n_valid <= len(images.train)  # never trained on
    assert np.array_equal(calls[3][2], images.train[:config.n_train])
    assert np.array_equal(calls[3][3], images.test[:config.n_test])
    [read] = reads  # (experiment, split, setting, metric, value, results file)
    assert read[1] == "mnist_5k test, binarized" and read[4] == 85.0
    assert "epochs chosen on validation from 1, 2, 3 (K=5 2)" in read[2]
    with open(tmp_path / "iwae_training.md") as f:
        table = f.read()
    assert float(_row(table, "IWAE, K=5: chosen budget", "epochs")[3]) == 2
    assert table.count("| test NLL, k=100 (nats) |") == 1


@pytest.mark.slow
def test_iwae_training_quick_chooses_on_validation_then_reads_the_test_set(tmp_path):
    table = run("iwae_training.py", tmp_path, reads=["mnist_5k test, binarized"])
    config = iwae_training.get_config(True)
    scores = {}
    for epochs in config.budgets:
        cells = _row(table, f"IWAE, K=5, {epochs} epochs, validation",
                     "validation NLL, k=100 (nats)")
        scores[epochs] = float(cells[3])
        assert cells[2] == "-" and " s of training" in cells[5] and "min wall" in cells[5]
    chosen = iwae_training.choose(scores, config.tolerance)  # the rule, from the table
    assert float(_row(table, "IWAE, K=5: chosen budget", "epochs")[3]) == chosen
    label = f"IWAE, K=5, {chosen} epochs"
    nll = _row(table, label, "test NLL, k=100 (nats)")
    elbo = float(_row(table, label, "test -ELBO (nats)")[3])
    assert nll[2] == "85.5400"  # Burda et al. 2015, Table 1
    assert 80 < float(nll[3]) < elbo  # the k-draw estimate sits above the ELBO's bound
    assert " of 50 latent units in use" in _kl(table, label)[5]
    assert table.count("| test NLL, k=100 (nats) |") == 1  # the test set read once
    assert f"| IWAE | 5 | {chosen} |" in table
    assert "commit " in table and "cores" in table and "wall time" in table


def test_quick_refuses_experiments_results():
    results = os.path.join(ROOT, "experiments", "results")
    before = set(os.listdir(results))
    result = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "iwae_training.py"),
                             "--quick", f"--out_dir={results}"], capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode != 0
    assert "--quick never writes into experiments/results/" in result.stderr
    assert set(os.listdir(results)) == before
