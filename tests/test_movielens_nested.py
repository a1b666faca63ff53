"""experiments/movielens_nested.py: the validation carve, base-only loading, the --quick run."""

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "experiments", "movielens_nested.py")
RESULTS = os.path.join(ROOT, "experiments", "results")


def _script():
    sys.path.insert(0, ROOT)
    try:  # defines no flags: those are defined when it runs
        return importlib.import_module("experiments.movielens_nested")
    finally:
        sys.path.remove(ROOT)


def _ratings(seed=0, shape=(30, 40), share=0.3):
    rng = np.random.default_rng(seed)
    base = rng.integers(1, 6, shape).astype(np.float64)
    base[rng.random(shape) > share] = np.nan
    return base


def test_carve_validation_splits_the_base_ratings_only():
    carve = _script().carve_validation
    base = _ratings()
    rated = ~np.isnan(base)
    fit, val = carve(base, 0.1, (0, 1))
    in_fit, in_val = ~np.isnan(fit), ~np.isnan(val)
    assert not np.any(in_fit & in_val)  # disjoint
    assert np.array_equal(in_fit | in_val, rated)  # together exactly the base's ratings
    assert in_val.sum() == round(0.1 * rated.sum())
    assert np.array_equal(fit[in_fit], base[in_fit]) and np.array_equal(val[in_val], base[in_val])
    assert np.isnan(base).sum() == np.isnan(_ratings()).sum()  # the input is not modified


def test_carve_validation_is_seeded():
    carve = _script().carve_validation
    base = _ratings()
    first, again, other = (carve(base, 0.1, s)[1] for s in ((0, 1), (0, 1), (0, 2)))
    assert np.array_equal(np.isnan(first), np.isnan(again))
    assert not np.array_equal(np.isnan(first), np.isnan(other))  # another fold, another carve


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_carve_validation_refuses_an_empty_part(fraction):
    with pytest.raises(ValueError, match="fraction"):
        _script().carve_validation(_ratings(), fraction, 0)


def test_load_base_does_not_need_the_test_file(tmp_path):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u2.base").write_text("1\t1\t5\t0\n2\t3\t1\t0\n943\t1682\t3\t0\n")
    base = _script().load_base(str(tmp_path), 2)  # no u2.test in the folder
    assert base.shape == (943, 1682) and np.count_nonzero(~np.isnan(base)) == 3
    assert base[0, 0] == 5 and base[1, 2] == 1 and base[942, 1681] == 3


def test_on_edge_names_the_knobs_at_the_ends_of_the_grid():
    script = _script()
    config = script.get_config(False)
    grid = config.grid
    assert script.on_edge({"latent_dim": 32, "l2": 0.01, "epochs": 60}, grid) == ""
    assert script.on_edge({"latent_dim": 64, "l2": 0.01, "epochs": 80}, grid) == \
        "latent_dim=64 epochs=80"
    assert script.on_edge({"reg_item": 1, "reg_user": 5}, config.bias_grid) == "reg_item=1"


def _snapshot(folder):
    return sorted((os.path.relpath(os.path.join(d, f), folder),
                   os.stat(os.path.join(d, f)).st_mtime_ns)
                  for d, _, files in os.walk(folder) for f in files)


def _run(tmp_path, *extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, SCRIPT, "--quick", *extra], capture_output=True,
                          text=True, env=env, timeout=600, cwd=str(tmp_path))


def test_quick_refuses_experiments_results(tmp_path):
    before = _snapshot(RESULTS)
    result = _run(tmp_path, f"--out_dir={RESULTS}")
    assert result.returncode != 0 and "--quick never writes" in result.stderr
    assert _snapshot(RESULTS) == before


def _row(table, experiment, metric):
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 6 and cells[0] == experiment and cells[1] == metric:
            return cells
    raise AssertionError(f"no row {experiment!r} / {metric!r}")


@pytest.mark.slow
def test_quick_on_real_files(tmp_path):
    root = os.environ.get("VAE_TF_DATA_DIR")
    if not root:
        pytest.skip("VAE_TF_DATA_DIR is not set: real-data experiment skipped")
    from test_experiments import ledger_kept, reads_noted
    before = _snapshot(RESULTS)
    with ledger_kept():
        result = _run(tmp_path, f"--data_root={root}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert _snapshot(RESULTS) == before  # --quick writes a temporary folder only
    path = result.stdout.strip().splitlines()[-1]
    assert path.endswith("movielens_nested.md") and not path.startswith(RESULTS)
    assert "u1 rating VAE 2/2" in result.stdout and "s] u1 biases: test RMSE" in result.stdout
    with open(path) as f:
        table = f.read()
    reads_noted(table, "movielens u1-u5.test")  # u1.test, one of the five
    nested = _row(table, "nested", "RMSE (1 fold)")
    assert "chosen: u1 latent_dim=" in nested[5]
    assert float(_row(table, "nested", "MAE (1 fold)")[3]) < float(nested[3])
    assert _row(table, "nested, u1", "test RMSE")[3] == nested[3]
    from test_experiments import _kl  # the refitted rating VAE's KL over u1.base's items
    kl = _kl(table, "nested", "KL (nats, 1 fold)")
    assert kl[3:] == _kl(table, "nested, u1", "KL (nats)")[3:]
    # Each chosen setting is the one with the lowest validation RMSE the notes list, and its
    # test figures are those of that setting refitted on all of u1.base, recomputed here.
    script = _script()
    from vae_tf.datasets.movielens import load_movielens_fold
    from vae_tf.imputers.ratings import bias_baseline, rating_ensemble
    from vae_tf.datasets import data_dir_for
    folder = data_dir_for("movielens_100k", root)
    base = script.load_base(folder, 1).astype(np.float64)
    held = load_movielens_fold(folder, 1).test
    for name, experiment, refit in (
            ("rating VAE", "nested", lambda s: rating_ensemble(1, **s, seed=0).fit_transform(base)),
            ("biases", "nested, user + item biases", lambda s: bias_baseline(base, **s))):
        listed = next(line for line in table.splitlines()
                      if line.startswith(f"- u1 validation RMSE, {name}: "))
        scores = {}
        for part in listed.split(": ", 1)[1].split("; "):
            setting, score = part.rsplit(" ", 1)
            scores[setting] = float(score)
        best = min(scores, key=scores.get)
        fold = _row(table, f"{experiment}, u1", "test RMSE")
        assert f"chosen {best} (validation RMSE {scores[best]:.4f})" in fold[5], (best, fold)
        setting = {k: float(v) if "." in v else int(v)
                   for k, v in (word.split("=") for word in best.split())}
        rmse, mae = script.errors(refit(setting), held)
        assert fold[3] == f"{rmse:.4f}" and f"MAE {mae:.4f}" in fold[5], name
    assert _row(table, "Surprise SVD: published, not run here", "RMSE 0.934, MAE 0.737")[3] == "-"
    assert _row(table, "Surprise SVD++: published, not run here", "RMSE 0.919, MAE 0.721")
    assert "commit " in table and "cores" in table and "wall time" in table
    assert root not in table  # the header's command is portable
