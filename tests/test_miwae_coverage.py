"""MIWAE's multiple imputations as predictive draws, and their coverage."""

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from vae_tf import calibration
from vae_tf.errors import UserError
from vae_tf.imputers.miwae import MIWAEImputer
from vae_tf.missing import apply_mask, make_mask

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- the coverage functions on hand-made cases ---------------------------------------------
def test_plain_interval_on_known_quantiles():
    draws = np.repeat(np.arange(1.0, 101.0)[:, None], 5, axis=1)  # [100, 5]: 1 .. 100
    lower, upper = calibration.central_interval(draws)
    assert np.all(lower == 5) and np.all(upper == 95)  # inverted-CDF 5 % and 95 % quantiles
    truth = np.array([4.0, 5.0, 50.0, 95.0, 96.0])
    assert calibration.interval_coverage(truth, draws) == pytest.approx(3 / 5)
    assert calibration.interval_coverage(truth, draws, where=[0, 1, 1, 0, 0]) == 1.0
    assert np.all(upper - lower == 90.0)


def test_plain_interval_of_zero_one_draws():
    mixed = np.r_[np.zeros(50), np.ones(50)]  # interval [0, 1]
    sure = np.r_[np.zeros(97), np.ones(3)]  # interval [0, 0]
    draws = np.stack([mixed, mixed, sure, sure], axis=1)
    hits = calibration.in_interval(np.array([0.0, 1.0, 0.0, 1.0]), draws)
    assert hits.tolist() == [True, True, True, False]
    lower, upper = calibration.central_interval(draws)
    assert (upper - lower).tolist() == [1.0, 1.0, 0.0, 0.0]


def test_pit_without_ties_is_the_rank():
    draws = np.repeat(np.arange(1.0, 20.0)[:, None], 3, axis=1)  # m = 19, no ties
    truth = np.array([0.0, 10.5, 19.5])
    u = calibration.randomized_pit(truth, draws, np.random.default_rng(0))
    assert 0 <= u[0] < 1 / 20 and 10 / 20 <= u[1] < 11 / 20 and 19 / 20 <= u[2] < 1
    assert calibration.pit_covered(truth, draws, np.random.default_rng(0)).tolist() == \
        [False, True, False]


def test_pit_coverage_is_the_level_for_calibrated_zero_one_draws():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=40000)
    truth = (rng.uniform(size=p.shape) < p).astype(float)
    draws = (rng.uniform(size=(50,) + p.shape) < p).astype(float)  # the same predictive
    assert calibration.pit_coverage(truth, draws, seed=1) == pytest.approx(0.90, abs=0.01)
    u = calibration.randomized_pit(truth, draws, rng)
    assert np.allclose(np.histogram(u, bins=10, range=(0, 1))[0] / u.size, 0.1, atol=0.01)
    assert calibration.interval_coverage(truth, draws) > 0.95  # the plain interval overcovers


def test_pit_coverage_of_an_overconfident_predictive():
    rng = np.random.default_rng(0)
    truth = (rng.uniform(size=40000) < 0.3).astype(float)
    draws = np.zeros((100,) + truth.shape)  # always 0: a 1 is never covered
    assert calibration.pit_coverage(truth, draws) == pytest.approx(0.7 * 0.9, abs=0.01)
    assert calibration.interval_coverage(truth, draws) == pytest.approx(0.7, abs=0.01)


def test_coverage_refuses_mismatched_shapes_and_levels():
    with pytest.raises(ValueError, match="must be \\[m, \\*truth.shape\\]"):
        calibration.interval_coverage(np.zeros(3), np.zeros((10, 4)))
    with pytest.raises(ValueError, match="level=1.5"):
        calibration.pit_coverage(np.zeros(3), np.zeros((10, 3)), level=1.5)


# -- MIWAEImputer.multiple_imputation ------------------------------------------------------
@pytest.fixture(scope="module")
def fitted(tiny_data):
    mask = make_mask(len(tiny_data.train), tiny_data.image_shape, "random", 0)
    holed = apply_mask(tiny_data.train, mask)
    imputer = MIWAEImputer(latent_dim=4, hidden_dim=32, epochs=5, batch_size=50,
                           impute_samples=50, seed=0).fit(holed)
    rows = ~mask[:30].all(1)  # images with holes
    return imputer, holed[:30][rows], mask[:30][rows]


def test_sample_draws_are_zero_one_in_the_holes_and_keep_observed_entries(fitted):
    imputer, holed, mask = fitted
    draws = imputer.multiple_imputation(holed, m=20, seed=3)
    assert draws.shape == (20,) + holed.shape
    assert set(np.unique(draws[:, ~mask])) == {0.0, 1.0}
    assert np.all(draws[:, mask] == holed[mask])  # grey observed values, untouched
    assert not np.isin(holed[mask], (0.0, 1.0)).all()  # so the check above can fail


def test_the_same_seed_gives_the_same_draws(fitted):
    imputer, holed, _ = fitted
    for draw in ("sample", "mean"):
        a = imputer.multiple_imputation(holed, m=5, seed=7, draw=draw)
        imputer.transform(holed)  # other use of the imputer in between
        b = imputer.multiple_imputation(holed, m=5, seed=7, draw=draw)
        c = imputer.multiple_imputation(holed, m=5, seed=8, draw=draw)
        assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_sample_draws_average_to_the_single_imputation(fitted):
    imputer, holed, mask = fitted
    draws = imputer.multiple_imputation(holed, m=400, seed=1)
    gap = np.abs(draws.mean(0) - imputer.transform(holed))[~mask]
    assert gap.mean() < 0.03


def test_the_mean_path_gives_decoder_means(fitted):
    imputer, holed, mask = fitted
    means = imputer.multiple_imputation(holed, m=10, seed=2, draw="mean")
    holes = means[:, ~mask]
    assert np.all((holes > 0) & (holes < 1)) and not np.isin(holes, (0.0, 1.0)).any()
    assert np.all(means[:, mask] == holed[mask])
    assert holes.std(0).mean() > 1e-4  # the resampled z differ


def test_bad_draw_and_effective_sample_size(fitted):
    imputer, holed, _ = fitted
    with pytest.raises(UserError, match="draw='mode'.*choose one of: sample, mean") as error:
        imputer.multiple_imputation(holed, m=2, draw="mode")
    assert "\n" not in str(error.value)
    ess = imputer.effective_sample_size(holed)
    assert ess.shape == (len(holed),) and np.all((ess >= 1) & (ess <= 50 + 1e-6))


# -- the experiment script -----------------------------------------------------------------
def _script(*args, timeout=600):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "miwae_coverage.py"),
                           *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_quick_refuses_to_write_to_experiments_results():
    out = os.path.join(ROOT, "experiments", "results")
    result = _script("--quick", f"--out_dir={out}", timeout=120)
    assert result.returncode != 0 and "--quick never writes into experiments/results/" in result.stderr


@pytest.mark.slow
def test_quick_run_writes_its_table_and_figure_to_a_temporary_folder():
    from test_experiments import _kl, ledger_kept, reads_noted
    with ledger_kept():
        result = _script("--quick")
    assert result.returncode == 0, result.stderr[-3000:]
    path = result.stdout.strip().splitlines()[-1].split("wrote ", 1)[1]
    assert path.startswith(tempfile.gettempdir()) and "experiments/results" not in path
    assert "s] structured: training MIWAE" in result.stdout  # progress lines with the time
    with open(path) as f:
        table = f.read()
    values = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0].endswith("(L=100, m=20)"):
            values[(cells[0].split(" holes")[0], cells[1])] = float(cells[3])
    for scheme in ("structured", "random"):
        pit = values[(scheme, "90 % coverage, randomized PIT")]
        plain = values[(scheme, "90 % coverage, plain [q5 %, q95 %] interval")]
        # near 0.90 (the Bernoulli decoder is binarized MNIST's own model), and the share of
        # the PIT values in [0.05, 0.95] that the histogram in the notes shows: its 18 inner
        # bins of width 0.05 (densities rounded to 0.01)
        assert 0.85 < pit < 0.95 and plain >= pit
        note = next(line for line in table.splitlines() if line.startswith(f"- {scheme}: "))
        density = [float(v) for v in note.split("(1 = uniform): ", 1)[1].split()]
        assert len(density) == 20 and abs(0.05 * sum(density[1:-1]) - pit) < 0.005
        # the single imputation beats the column means printed beside it
        line = next(line for line in table.splitlines() if line.startswith(f"| {scheme} holes")
                    and "RMSE missing (single imputation)" in line)
        means = float(line.rsplit("column means: ", 1)[1].split()[0])
        assert values[(scheme, "RMSE missing (single imputation)")] < means
        # the model's KL of q(z | x_obs) on the holed test images, its latent units in use
        assert " of 32 latent units in use" in _kl(table, f"{scheme} holes, MIWAE (L=100, "
                                                          "m=20)")[5]
    assert "Command: `python experiments/miwae_coverage.py --quick`" in table
    reads_noted(table, "mnist_5k test, binarized: structured holes",
                "mnist_5k test, binarized: random holes")
    assert ROOT not in table and "cores" in table  # a portable command
    figure = os.path.join(os.path.dirname(path), "miwae_coverage", "imputations.png")
    assert os.path.getsize(figure) > 10000
