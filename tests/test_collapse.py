"""Posterior-collapse diagnostics: golden KL per unit, the flag's rules, the launcher's line."""

import json
import os

import numpy as np
import pytest

from vae_tf import collapse
from test_main import launch


class FixedEncoder:
    """A stand-in VAE whose q(z | x) is the same for every x."""

    def __init__(self, mean, log_var, latent_dim):
        self.mean, self.log_var, self.latent_dim = mean, log_var, latent_dim

    def encode(self, x):
        shape = (len(x), self.latent_dim)
        return np.full(shape, self.mean, np.float32), np.full(shape, self.log_var, np.float32)


def test_kl_per_unit_golden_values():
    # mean 1, log-variance 1: (e - 1) / 2 nats per unit; mean 0, log-variance 0: none.
    x = np.zeros((2500, 4), np.float32)  # more rows than a batch: the batches are summed
    np.testing.assert_allclose(collapse.kl_per_unit(FixedEncoder(1.0, 1.0, 3), x),
                               [(np.e - 1) / 2] * 3, rtol=1e-6)
    np.testing.assert_allclose(collapse.kl_per_unit(FixedEncoder(0.0, 0.0, 3), x), [0.0] * 3)


def test_units_in_use_counts_units_above_the_threshold():
    class TwoUnits(FixedEncoder):
        def encode(self, x):
            mean, log_var = super().encode(x)
            mean[:, :2] = 1.0  # 0.5 nat each; the other units carry nothing
            return mean, log_var

    assert collapse.latent_units_in_use(TwoUnits(0.0, 0.0, 8), np.zeros((5, 4))) == 2


def test_collapse_flag_rules():
    assert collapse.collapse_flag(18.9, spread=0.8, units=20, latent_units=32) == ""
    assert collapse.collapse_flag(0.05).startswith("collapsed (test KL 0.05 < 1 nat)")
    # The thesis preset on OMNIGLOT Latin: KL 2.3 nats on 3 of 64 units.
    assert collapse.collapse_flag(2.28, 0.33, 3, 64) == "collapsed (3 of 64 latent units in use)"
    assert collapse.collapse_flag(2.28, 0.33, 4, 64) == ""
    assert collapse.collapse_flag(9.0, 0.8, 1, 2) == ""  # a 2-D latent space using one unit
    assert "spread 0.04" in collapse.collapse_flag(360.6, spread=0.04)


def test_warning_line_is_one_line_naming_what_to_try():
    line = collapse.warning_line({"test_kl": 0.05, "latent_units_in_use": 0,
                                  "latent_units": 64, "reconstruction_spread": 0.0,
                                  "collapse": collapse.collapse_flag(0.05)})
    assert "\n" not in line and "0 of 64 latent units" in line and "test KL 0.05 nats" in line
    for fix in ("default preset", "--epochs", "--init=thesis_pytorch"):
        assert fix in line


@pytest.mark.slow
def test_launcher_names_a_forced_collapse(tmp_path):
    # The thesis preset with Keras's Adam epsilon: the encoder hardly moves at its 0.001
    # init, so the posterior collapses (experiments/fidelity.py).
    logdir = str(tmp_path / "run")
    run = launch("--preset=thesis", "--adam_epsilon=1e-7", "--epochs=1", f"--logdir={logdir}")
    assert run.returncode == 0, run.stderr[-2000:]
    with open(os.path.join(logdir, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["collapsed"] is True and metrics["test_kl"] < 1.0
    assert metrics["latent_units"] == 64 and metrics["latent_units_in_use"] <= 3
    lines = [line for line in run.stderr.splitlines() if "collapsed" in line]
    assert len(lines) == 1 and "--init=thesis_pytorch" in lines[0], run.stderr[-2000:]
