"""experiments/iwae_training.py: the --quick path writes its table beside Burda et al.'s
numbers, and --quick never writes into experiments/results/."""

import os
import subprocess
import sys

import pytest

from test_experiments import ROOT, _kl, _row, run


@pytest.mark.slow
def test_iwae_training_quick_writes_its_table(tmp_path):
    table = run("iwae_training.py", tmp_path, reads=["mnist_5k test, binarized"])
    for label, reference in (("VAE (ELBO), K=1, 2 epochs", "86.7600"),
                             ("IWAE, K=5, 2 epochs", "85.5400")):
        nll = _row(table, label, "test NLL, k=100 (nats)")
        elbo = float(_row(table, label, "test -ELBO (nats)")[3])
        assert nll[2] == reference  # Burda et al. 2015, Table 1
        assert 80 < float(nll[3]) < elbo  # the k-draw estimate sits above the ELBO's bound
        assert " of 50 latent units in use" in _kl(table, label)[5]
    assert "| IWAE | 5 | 2 |" in table and "| VAE (ELBO) | 1 | 2 |" in table
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
