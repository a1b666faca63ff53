"""The benchmarks' FLOP counts (the % of peak they print rests on them), the latent draw
schemes of miwae_draws.py; quick runs."""

import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def throughput():
    spec = importlib.util.spec_from_file_location(
        "bench_flops", os.path.join(ROOT, "benchmarks", "flops.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_thesis_mlp_flops_per_image(throughput):
    # Forward 2 * (784*400 + 2*400*64 + 64*400 + 400*784) = 1.408 M; weight gradients the
    # same; input gradients the same less the first layer's (its input is the data).
    forward = 2 * (784 * 400 + 2 * 400 * 64 + 64 * 400 + 400 * 784)
    assert forward == 1_408_000
    assert throughput.dense_flops(throughput.mlp_layers(784)) == 3 * forward - 2 * 784 * 400


def test_importance_samples_multiply_the_decoder_only(throughput):
    one = throughput.dense_flops(throughput.mlp_layers(1568, samples=1))
    five = throughput.dense_flops(throughput.mlp_layers(1568, samples=5))
    decoder = 3 * 2 * (64 * 400 + 400 * 784)
    assert five - one == 4 * decoder


class _Counted:
    """A stand-in array: only its shape, and every matmul's FLOPs added to a shared count."""

    def __init__(self, shape, count):
        self.shape, self.count = shape, count

    @property
    def T(self):
        return _Counted(self.shape[::-1], self.count)

    def __matmul__(self, other):
        (m, k), (k2, n) = self.shape, other.shape
        assert k == k2, (self.shape, other.shape)
        self.count[0] += 2 * m * k * n
        return _Counted((m, n), self.count)

    def __add__(self, other):
        assert self.shape == other.shape
        return self


def test_matmul_bound_row_does_exactly_the_counted_flops(throughput, monkeypatch):
    # The benchmark's "matmuls alone" row claims the launcher's FLOPs per example: its step,
    # run on shape-only stand-ins, must multiply exactly that many (and in valid shapes).
    monkeypatch.syspath_prepend(os.path.join(ROOT, "benchmarks"))
    names = ("common", "flops", "throughput_rows")  # experiments/ has a `common` too
    saved = {name: sys.modules.pop(name, None) for name in names}
    try:
        import throughput_rows
    finally:  # leave sys.modules as it was, for the tests that import experiments' common
        for name in names:
            sys.modules.pop(name, None)
            if saved[name] is not None:
                sys.modules[name] = saved[name]
    batch, count = 37, [0]
    shapes = {"x": (batch, 784), "w1": (784, 400), "wm": (400, 64), "wv": (400, 64),
              "w3": (64, 400), "w4": (400, 784)}
    grads = throughput_rows.matmul_step({k: _Counted(v, count) for k, v in shapes.items()})
    assert [g.shape for g in grads] == [(400, 784), (64, 400), (400, 64), (400, 64), (784, 400)]
    assert count[0] == batch * throughput.dense_flops(throughput.mlp_layers(784))


def test_rating_profile_matmuls_do_exactly_the_counted_flops(monkeypatch):
    # rating_profile's "matmuls alone" part claims flops.py's count for the rating model.
    monkeypatch.syspath_prepend(os.path.join(ROOT, "benchmarks"))
    names = ("common", "flops", "throughput_rows", "rating_profile")  # experiments/ has one
    saved = {name: sys.modules.pop(name, None) for name in names}
    try:
        import rating_profile
    finally:
        for name in names:
            sys.modules.pop(name, None)
            if saved[name] is not None:
                sys.modules[name] = saved[name]
    batch, count = 29, [0]

    def mm(p, q, ta, tb):
        (m, k), (k2, n) = p.shape[::-1] if ta else p.shape, q.shape[::-1] if tb else q.shape
        assert k == k2, (p.shape, q.shape, ta, tb)
        count[0] += 2 * m * k * n
        return _Counted((m, n), count)

    arrays = {k: _Counted(tuple(batch if v is None else v for v in shape), count)
              for k, shape in rating_profile.SHAPES.items()}
    grads = rating_profile.matmul_step(arrays, mm)
    assert [g.shape for g in grads] == [(32, 943), (200, 32), (200, 32), (1886, 200)]
    assert count[0] == batch * rating_profile.FLOPS


def test_conv_decoder_flops_per_draw(throughput):
    # conv.py's decoder on 28x28x1, latent 32, hidden 400: Dense 32*400 and 400*(7*7*64);
    # transposed convolutions 7*7 inputs x 16 taps x 64 x 32, then 14*14 x 16 x 32 x 1.
    macs = 12_800 + 1_254_400 + 1_605_632 + 100_352
    assert throughput.conv_decoder_flops((28, 28, 1), 32, 400) == 2 * macs == 5_946_368


@pytest.mark.slow  # runs the benchmark script end to end
def test_miwae_transform_quick_writes_a_temporary_table_and_never_the_results(tmp_path):
    # The default conv MIWAE fitted for one epoch on 100 mnist_5k images, 5 imputed.
    script = os.path.join(ROOT, "benchmarks", "miwae_transform.py")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, script, "--quick", f"--out_dir={tmp_path}"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    text = (tmp_path / "miwae_transform.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith(("| before", "| after"))]
    assert len(rows) == 2, text
    assert rows[1].split("|")[10].strip() == "1"  # the compiled step traced once
    for needle in ("- command: `python benchmarks/miwae_transform.py --quick", "- commit: ",
                   "seed 0", "wall time", "peak used", f"{os.cpu_count()} cores"):
        assert needle in text
    results = os.path.join(ROOT, "benchmarks", "results")
    refused = subprocess.run([sys.executable, script, "--quick", f"--out_dir={results}"],
                             capture_output=True, text=True, env=env, timeout=600)
    assert refused.returncode != 0
    assert "--quick never writes into benchmarks/results/" in refused.stderr
    typo = subprocess.run([sys.executable, script, "--quick", f"--out_dir={tmp_path}/typo",
                           "--stream_settings=float16:700"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert typo.returncode != 0 and typo.stderr.strip().splitlines()[-1] == (
        "miwae_transform: --stream_settings has 'float16:700'; pass dtype:L entries, dtype "
        "float32 or bfloat16, e.g. bfloat16:700")
    assert not (tmp_path / "typo").exists()  # refused before any work


def _load_latent_draws():
    spec = importlib.util.spec_from_file_location(
        "bench_latent_draws", os.path.join(ROOT, "benchmarks", "latent_draws.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("scheme", ["mc", "antithetic", "lhs", "rqmc", "rqmc_antithetic"])
def test_latent_draws_every_eps_is_standard_normal(scheme):
    # Across 1,000 rows (each randomised on its own) the first and the last of a row's
    # 16 draws are N(0, 1) in every dimension: the draws of z keep q's marginals.
    import numpy as np
    from scipy import stats
    draws = _load_latent_draws()
    eps = draws.scheme_eps(scheme, 16, 1000, 4, np.random.default_rng(0))
    assert eps.shape == (16, 1000, 4) and eps.dtype == np.float32
    for position in (0, 15):
        values = eps[position].ravel().astype(np.float64)
        assert abs(values.mean()) < 0.06 and abs(values.var() - 1) < 0.08, (position, scheme)
        assert stats.kstest(values, "norm").pvalue > 1e-3
    assert not np.allclose(eps[:, 0], eps[:, 1])  # rows are not one shared point set


def test_latent_draws_spread_a_rows_draws_as_each_scheme_says():
    import numpy as np
    from scipy.special import ndtr
    draws = _load_latent_draws()
    rng = np.random.default_rng(1)
    anti = draws.scheme_eps("antithetic", 8, 3, 5, rng)
    np.testing.assert_array_equal(anti[4:], -anti[:4])
    strata = np.floor(ndtr(draws.scheme_eps("lhs", 32, 3, 5, rng).astype(np.float64)) * 32)
    assert (np.sort(strata, axis=0) == np.arange(32)[:, None, None]).all()  # one per stratum
    # A row's 64 Sobol' points average 1/2 far more closely than 64 independent uniforms.
    sobol = ndtr(draws.scheme_eps("rqmc", 64, 200, 5, rng).astype(np.float64)).mean(axis=0)
    plain = ndtr(draws.scheme_eps("mc", 64, 200, 5, rng).astype(np.float64)).mean(axis=0)
    assert np.abs(sobol - 0.5).mean() < 0.2 * np.abs(plain - 0.5).mean()
    reflected = ndtr(draws.scheme_eps("rqmc_antithetic", 8, 3, 5, rng).astype(np.float64))
    np.testing.assert_allclose(reflected[4:], 1 - reflected[:4], atol=1e-6)
    with pytest.raises(ValueError, match="not one of mc, antithetic"):
        draws.scheme_eps("sobol", 8, 3, 5, rng)


@pytest.mark.slow  # runs the benchmark script end to end
def test_miwae_draws_quick_writes_a_temporary_table_and_never_the_results(tmp_path):
    # The default conv MIWAE fitted for one epoch on 100 mnist_5k images, 5 imputed.
    script = os.path.join(ROOT, "benchmarks", "miwae_draws.py")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, script, "--quick", f"--out_dir={tmp_path}"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    text = (tmp_path / "miwae_draws.md").read_text()
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
             if line.startswith("| ")]
    rows = [r for r in cells if r[1].isdigit()]  # L in the second column: not the header
    assert [(r[0], r[1]) for r in rows] == [("mc (reference)", "64")] + [
        (scheme, size) for size in ("16", "32")
        for scheme in ("mc", "antithetic", "lhs", "rqmc", "rqmc_antithetic")], text
    assert all(0 < float(r[3]) < 1 for r in rows)  # an RMSE of images in [0, 1]
    assert all(1 <= float(r[8]) <= int(r[1]) for r in rows)  # 1 <= ESS <= L
    for needle in ("- command: `python benchmarks/miwae_draws.py --quick", "- commit: ",
                   "seed 0", "wall time", "budget: ", f"{os.cpu_count()} cores"):
        assert needle in text
    results = os.path.join(ROOT, "benchmarks", "results")
    refused = subprocess.run([sys.executable, script, "--quick", f"--out_dir={results}"],
                             capture_output=True, text=True, env=env, timeout=600)
    assert refused.returncode != 0
    assert "--quick never writes into benchmarks/results/" in refused.stderr
    unknown = subprocess.run([sys.executable, script, "--quick", "--schemes=mc,sobol"],
                             capture_output=True, text=True, env=env, timeout=600)
    assert unknown.returncode != 0
    assert unknown.stderr.strip().splitlines() == [
        "miwae_draws: --schemes has sobol; pass some of mc, antithetic, lhs, rqmc, "
        "rqmc_antithetic"]


@pytest.mark.slow
def test_rating_vae_shared_fit_quick_on_real_files(tmp_path):
    # Three 2-epoch RatingVAEs on u1.base less 5 % validation ratings; no test file read.
    root = os.environ.get("VAE_TF_DATA_DIR")
    if not root:
        pytest.skip("VAE_TF_DATA_DIR is not set: real-data benchmark skipped")
    script = os.path.join(ROOT, "benchmarks", "rating_vae_shared_fit.py")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, script, "--quick", f"--out_dir={tmp_path}",
                           f"--data_root={root}"], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    text = (tmp_path / "rating_vae_shared_fit.md").read_text()
    values = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2 and cells[1][:1].isdigit():
            values[cells[0]] = float(cells[1])
    members = [values[f"member seed {k} alone"] for k in range(3)]
    ensemble = values["SeedEnsemble(RatingVAE(), 3): mean of clipped predictions (now)"]
    # RMSE is a norm: the mean prediction's is at most the members' mean, and it is none
    # of the members' own (three models, averaged).
    assert len(set(members)) == 3 and ensemble <= sum(members) / 3 + 1e-4
    assert all(abs(ensemble - m) > 5e-5 for m in members)
    assert "the old rule" in text and "no test file read" in text and "- commit: " in text
    results = os.path.join(ROOT, "benchmarks", "results")
    refused = subprocess.run([sys.executable, script, "--quick", f"--out_dir={results}",
                              f"--data_root={root}"], capture_output=True, text=True, env=env,
                             timeout=120)
    assert refused.returncode != 0
    assert "--quick never writes into benchmarks/results/" in refused.stderr


@pytest.mark.slow
def test_knn_speed_quick_notes_its_test_read_and_leaves_the_ledger(tmp_path):
    # (a) alone: 50 MNIST test images with structured holes, 10,000 references
    root = os.environ.get("VAE_TF_DATA_DIR")
    if not root:
        pytest.skip("VAE_TF_DATA_DIR is not set: real-data benchmark skipped")
    from test_experiments import ledger_kept
    from experiments import ledger
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with ledger_kept():
        done = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "knn_speed.py"),
                               "--quick", "--nolarge", f"--out_dir={tmp_path}"],
                              capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    text = (tmp_path / "knn_speed.md").read_text()
    assert f"- {ledger.reads_note('mnist test: structured holes')}\n" in text
    assert "## (a) Thesis setting: 50 test images" in text
