"""Posterior-collapse diagnostics: golden KL per unit, the flag's rules, the launcher's line,
and latent_diagnosis on each kind of model the experiments train."""

import json
import os

import numpy as np
import pytest

from conftest import train_steps
from vae_tf import collapse
from vae_tf.missing import apply_mask, make_mask
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
    assert collapse.collapse_flag(0.05).startswith("collapsed (KL 0.05 < 1 nat)")
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


# -- latent_diagnosis: a VAE, the thesis's VAEImputer, MIWAEImputer, RatingVAE --------------
ONE_NAT = (np.e - 1) / 2  # KL of N(mean 1, log-variance 1) from N(0, 1), per unit


def _posterior_fixed(mean_layer, log_var_layer, mean: float, log_var: float) -> None:
    """Zero the kernels of an encoder's two heads: q(z | x) = N(mean, exp(log_var)) for
    every x (mean 0, log-variance 0: the prior, a collapsed encoder)."""
    for layer, value in ((mean_layer, mean), (log_var_layer, log_var)):
        layer.kernel.assign(np.zeros(layer.kernel.shape, np.float32))
        layer.bias.assign(np.full(layer.bias.shape, value, np.float32))


def _holed(x, seed=0):
    return apply_mask(x, make_mask(len(x), (8, 8, 1), "structured", seed))


def test_latent_diagnosis_of_a_vae(tiny_data):
    from vae_tf.models import VAE
    vae = VAE(64, 4, 32, seed=0)
    train_steps(vae, tiny_data.train, 300, learning_rate=1e-2)
    found = collapse.latent_diagnosis(vae, tiny_data.test)
    per_unit = collapse.kl_per_unit(vae, tiny_data.test)
    assert found["test_kl"] == pytest.approx(float(per_unit.sum()), rel=1e-6)
    assert found["latent_units_in_use"] == collapse.latent_units_in_use(vae, tiny_data.test)
    assert found["reconstruction_spread"] == pytest.approx(
        collapse.reconstruction_spread(vae, tiny_data.test), rel=1e-6)
    assert found["latent_units"] == 4
    assert found["collapse"] == "" and not found["collapsed"]  # the blobs' centres are coded
    _posterior_fixed(vae.encoder.mean, vae.encoder.log_var, 1.0, 1.0)
    # 4 x 0.86 nats on every unit, yet one reconstruction for every image: the spread tells
    fixed = collapse.latent_diagnosis(vae, tiny_data.test)
    assert fixed["test_kl"] == pytest.approx(4 * ONE_NAT, rel=1e-5)
    assert fixed["latent_units_in_use"] == 4 and fixed["reconstruction_spread"] < 1e-3
    assert "reconstructions nearly identical" in fixed["collapse"]
    _posterior_fixed(vae.encoder.mean, vae.encoder.log_var, 0.0, 0.0)
    prior = collapse.latent_diagnosis(vae, tiny_data.test)
    assert prior["latent_units_in_use"] == 0 and prior["collapsed"]
    assert prior["collapse"].startswith("collapsed (KL 0.00 < 1 nat)")


def test_latent_diagnosis_of_the_thesis_vae_imputer_reads_its_fitted_vae(tiny_data):
    from vae_tf.imputers.vae import VAEImputer
    imputer = VAEImputer(latent_dim=4, hidden_dim=32, epochs=5, batch_size=50, init_stddev=None,
                         jit_compile=False, seed=0).fit(_holed(tiny_data.train))
    filled = imputer.transform(_holed(tiny_data.test, 1))
    found = collapse.latent_diagnosis(imputer, filled)
    assert found == collapse.latent_diagnosis(imputer.vae_, filled)  # the same model's figures
    assert found["latent_units"] == 4 and found["reconstruction_spread"] > 0
    _posterior_fixed(imputer.vae_.encoder.mean, imputer.vae_.encoder.log_var, 0.0, 0.0)
    assert collapse.latent_diagnosis(imputer, filled)["collapse"].startswith(
        "collapsed (KL 0.00 < 1 nat)")


def test_latent_diagnosis_of_miwae_reads_q_z_given_the_observed_entries(tiny_data):
    from vae_tf.imputers.miwae import MIWAEImputer
    imputer = MIWAEImputer(latent_dim=4, hidden_dim=32, epochs=2, batch_size=50, seed=0,
                           impute_samples=10, jit_compile=False).fit(_holed(tiny_data.train))
    holed = _holed(tiny_data.test, 1)
    z_mean, z_log_var = imputer.posterior(holed)
    assert z_mean.shape == z_log_var.shape == (50, 4)
    found = collapse.latent_diagnosis(imputer, holed)
    kl = 0.5 * np.sum(z_mean ** 2 + np.exp(z_log_var) - 1 - z_log_var) / 50
    assert found["test_kl"] == pytest.approx(kl, rel=1e-5) and found["latent_units"] == 4
    assert found["reconstruction_spread"] is None  # KL and units only
    encoder = imputer.model_.encoder
    _posterior_fixed(encoder.mean, encoder.log_var, 1.0, 1.0)
    fixed = collapse.latent_diagnosis(imputer, holed)  # no spread check: not flagged
    assert fixed["test_kl"] == pytest.approx(4 * ONE_NAT, rel=1e-5)
    assert fixed["latent_units_in_use"] == 4 and fixed["collapse"] == ""
    _posterior_fixed(encoder.mean, encoder.log_var, 0.0, 0.0)
    prior = collapse.latent_diagnosis(imputer, holed)
    assert prior["latent_units_in_use"] == 0
    assert prior["collapse"].startswith("collapsed (KL 0.00 < 1 nat)")


def test_latent_diagnosis_of_the_rating_vae_is_over_the_items():
    from vae_tf.imputers.ratings import RatingVAE
    rng = np.random.default_rng(0)
    ratings = rng.integers(1, 6, (40, 30)).astype(np.float32)
    ratings[rng.random(ratings.shape) < 0.6] = np.nan
    model = RatingVAE(latent_dim=3, hidden_dim=8, epochs=3, seed=0).fit(ratings)
    z_mean, z_log_var = model.posterior()
    assert z_mean.shape == z_log_var.shape == (30, 3)  # one posterior per item
    np.testing.assert_allclose(model.posterior(ratings)[0], z_mean, rtol=1e-6)
    found = collapse.latent_diagnosis(model, ratings)
    kl = 0.5 * np.sum(z_mean ** 2 + np.exp(z_log_var) - 1 - z_log_var) / 30
    assert found["test_kl"] == pytest.approx(kl, rel=1e-5)
    assert found["latent_units"] == 3 and found["reconstruction_spread"] is None
    _posterior_fixed(model.model_.z_mean, model.model_.z_log_var, 0.0, 0.0)
    assert collapse.latent_diagnosis(model, ratings)["collapse"].startswith(
        "collapsed (KL 0.00 < 1 nat)")
