"""Each experiment script's --quick path writes its table, with the thesis's numbers."""

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # every test here runs the launcher or a script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(script, tmp_path, *extra, table=None, as_a_user=False):
    """The script's --quick table. `as_a_user`: TensorFlow's logging at its defaults, and
    none of its start-up chatter (vae_tf.startup.CHATTER) nor INFO lines on stderr."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if as_a_user:
        del env["TF_CPP_MIN_LOG_LEVEL"]
    result = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", script), "--quick",
                             f"--out_dir={tmp_path}", *extra], capture_output=True, text=True,
                            env=env, timeout=900, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    if as_a_user:
        from vae_tf.startup import CHATTER
        noise = [line for line in result.stderr.splitlines()
                 if CHATTER.search(line) or "functional_saver.py" in line]
        assert not noise, noise
    name = table or script.replace(".py", "")
    with open(os.path.join(tmp_path, f"{name}.md")) as f:
        return f.read()


def _figure(path, rows):
    """The PNG at path has the size of `rows` rows of 10 images (vae_tf.plots.image_rows)."""
    import matplotlib.image
    height, width = matplotlib.image.imread(str(path)).shape[:2]
    assert rows * 75 <= height <= rows * 81 + 60  # image_rows: 75 px cells, 6 px gaps, a title
    assert 10 * 75 <= width <= 10 * 81 + 250  # ten images and the row labels


def _row(table, experiment, metric):
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 4 and cells[0] == experiment and cells[1] == metric:
            return cells
    raise AssertionError(f"no row {experiment!r} / {metric!r}")


def test_vae_reconstruction_quick(tmp_path):
    table = run("vae_reconstruction.py", tmp_path, f"--log_root={tmp_path}/logs")
    assert _row(table, "mnist (thesis preset)", "test RMSE")[2] == "0.1712"  # PROTOCOL.md
    assert _row(table, "mnist (thesis preset)", "test MAE")[2] == "0.0730"
    assert float(_row(table, "mnist (default preset)", "test RMSE")[3]) < 0.5
    kl = _row(table, "mnist (default preset)", "test KL (nats)")  # beside every RMSE
    assert float(kl[3]) > 0 and "latent units in use" in kl[5]
    # A collapsed run (KL under 1 nat, or near-identical reconstructions) carries its flag
    # on every row; 2 epochs may well be collapsed, which is what the flag is for.
    flag = kl[5].split(";")[0] if kl[5].startswith("collapsed") else ""
    if float(kl[3]) < 1.0:
        assert flag.startswith("collapsed (test KL")
    assert flag == "" or flag.startswith(("collapsed (test KL", "collapsed (reconstructions"))
    assert _row(table, "mnist (default preset)", "test RMSE")[5] == flag
    assert os.path.exists(tmp_path / "vae_reconstruction" / "mnist-thesis-reconstructions.png")
    assert "(vae_reconstruction/mnist-thesis-elbo.png)" in table  # the slides' ELBO per epoch
    assert os.path.exists(tmp_path / "vae_reconstruction" / "mnist-thesis-elbo.png")


def test_mnist_imputation_quick(tmp_path):
    table = run("mnist_imputation.py", tmp_path)
    assert _row(table, "thesis protocol, structured, 1-NN", "RMSE (all entries)")[2] == "0.1716"
    assert _row(table, "thesis protocol, structured, 100-NN", "seconds")[2] == "233.2"
    assert _row(table, "thesis protocol, structured, VAE (thesis algorithm)", "MAE (all entries)")[2] == "0.0500"
    ours = float(_row(table, "thesis protocol, structured, 1-NN", "RMSE (all entries)")[3])
    assert 0.05 < ours < 0.4
    assert "sound protocol, random, column means" in table
    for scheme in ("structured", "random"):  # the slides' completion figures
        assert f"(mnist_imputation/{scheme}.png)" in table
        _figure(tmp_path / "mnist_imputation" / f"{scheme}.png", rows=5)


def _data_root():
    root = os.environ.get("VAE_TF_DATA_DIR")
    if not root:
        pytest.skip("VAE_TF_DATA_DIR is not set: real-data experiment skipped")
    return root


def test_omniglot_imputation_quick_on_real_files(tmp_path):
    table = run("omniglot_imputation.py", tmp_path, f"--data_root={_data_root()}")
    assert _row(table, "omniglot_en, 1-NN", "RMSE (all entries)")[2] == "0.0890"
    assert _row(table, "omniglot_gr, VAE (thesis algorithm, merged splits)", "RMSE (all entries)")[2] == "0.1627"
    for name in ("omniglot_en", "omniglot_gr"):  # the slides' completion figures
        assert f"(omniglot_imputation/{name}.png)" in table
        _figure(tmp_path / "omniglot_imputation" / f"{name}.png", rows=4)
        assert 0 < float(_row(table, f"{name}, random holes (figure), 1-NN",
                               "RMSE missing (test drawers)")[3]) < 0.5


def test_small_data_imputation_quick_on_real_files(tmp_path):
    # One OMNIGLOT alphabet (pretraining runs on it) and one face set: the other two take
    # the same code paths and were the suite's slowest minute.
    table = run("small_data_imputation.py", tmp_path, f"--data_root={_data_root()}",
                "--datasets=omniglot_gr,orl_faces")
    for name in ("omniglot_gr", "orl_faces"):
        label = f"{name}, structured holes"
        means = float(_row(table, f"{label}, column means", "RMSE missing")[3])
        assert 0.05 < means < 0.4
        knn = [line for line in table.splitlines()
               if line.startswith(f"| {label}, K-NN, K=") and "| RMSE missing |" in line]
        miwae = [line for line in table.splitlines()
                 if line.startswith(f"| {label}, MIWAE 1x64, latent 8, K=2, ")
                 and "| RMSE missing |" in line]
        assert len(knn) == 1 and len(miwae) == 1 and "(chosen on validation)" in miwae[0]
        assert f"{label}: K-NN validation RMSE per K: K=1: " in table
        assert (f"{label}: MIWAE 1x64, latent 8, K=2 validation RMSE per epochs (snapshot mean): "
                "1: ") in table
    assert "Balinese, Early_Aramaic, Korean, Latin; validation drawers 13-15" in table
    for name in ("omniglot_gr",):  # OMNIGLOT's settings also run pretrained
        assert (f"{name}, structured holes: MIWAE 1x64, latent 8, K=2, pretrained on 500 "
                "holed MNIST images for 1 epochs validation RMSE per epochs (snapshot mean): "
                "1: ") in table
    assert "orl_faces, structured holes: MIWAE 1x64, latent 8, K=2, pretrained" not in table


def test_small_data_conv_seed_ensemble_quick_on_real_files(tmp_path):
    table = run("small_data_imputation.py", tmp_path, f"--data_root={_data_root()}",
                "--datasets=omniglot_en", "--omniglot_configs=cx32x4x2", "--miwae_seeds=2",
                "--pretrain_epochs=0", "--table=small_conv", table="small_conv")
    label = "omniglot_en, structured holes"
    name = "MIWAE conv (hidden 32), latent 4, K=2, mean of 2 seeds"
    rows = [line for line in table.splitlines()
            if line.startswith(f"| {label}, {name}, ") and "| RMSE missing |" in line]
    assert len(rows) == 1 and "(chosen on validation)" in rows[0]
    assert "each MIWAE setting the mean of 2 seeds" in table
    ensemble = re.search(re.escape(f"{label}: {name} validation RMSE per epochs (snapshot mean): ")
                         + r"1: [0-9.]+ \([0-9.]+\), 2: [0-9.]+ \(([0-9.]+)\)", table)
    seeds = re.search(re.escape(f"{label}: {name}: each seed alone at 2 epochs (snapshot mean): ")
                      + r"seed 0: ([0-9.]+), seed 1: ([0-9.]+)", table)
    assert ensemble and seeds, table
    assert seeds.group(1) != seeds.group(2)  # two models, not one seed twice
    # RMSE is a norm: the averaged imputation's is at most the mean of the two seeds'.
    assert float(ensemble.group(1)) <= (float(seeds.group(1)) + float(seeds.group(2))) / 2 + 1e-4


def test_small_data_refuses_a_table_path(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "experiments",
                                                          "small_data_imputation.py"),
                             "--quick", f"--out_dir={tmp_path}", "--table=a/b"],
                            capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("small_data_imputation: --table='a/b' is not a plain file name")
    assert not os.listdir(tmp_path)


def test_movielens_quick_on_real_files(tmp_path):
    table = run("movielens.py", tmp_path, f"--data_root={_data_root()}")
    assert _row(table, "K-NN vs VAE matrices (thesis's comparison)", "match %")[2] == "91.2515"  # the slide: 91.2514516501 %
    bias = float(_row(table, "ua.test, user + item biases", "RMSE")[3])
    mean = float(_row(table, "ua.test, global mean", "RMSE")[3])
    assert bias < mean  # the biases beat the global mean on held-out ratings


def test_likelihoods_quick(tmp_path):
    table = run("likelihoods.py", tmp_path, f"--log_root={tmp_path}/logs")
    for label in ("Bernoulli", "continuous Bernoulli", "Gaussian, learned sigma",
                  "Gaussian, sigma 0.1"):
        assert 0.02 < float(_row(table, f"mnist, {label}", "test RMSE")[3]) < 0.5
    # One figure per data set: a labelled row of ten prior draws per likelihood.
    assert "(likelihoods/samples_mnist.png)" in table
    _figure(tmp_path / "likelihoods" / "samples_mnist.png", rows=4)


def test_miwae_vs_knn_quick(tmp_path):
    # Both schemes and two seeds averaged in one run (the seed ensemble's own checks are
    # test_miwae_vs_knn_seed_ensemble_quick's, on this run's table).
    table = run("miwae_vs_knn.py", tmp_path, "--miwae_seeds=2")
    _seed_ensemble_checks(table)
    knn = [line for line in table.splitlines() if "(K tuned on validation) | RMSE missing" in line]
    assert len(knn) == 2  # one per scheme
    means = float(_row(table, "structured holes, column means", "RMSE missing")[3])
    miwae = float(_row(table, "structured holes, MIWAE (importance-weighted, L=100, mean of 2 "
                       "seeds)", "RMSE missing")[3])
    assert 0.1 < miwae < 1.2 * means
    assert "K-NN validation RMSE per K: K=1:" in table
    for scheme in ("structured", "random"):  # both schemes, each with its ratio and figure
        ratio = [line for line in table.splitlines()
                 if line.startswith(f"| {scheme} holes, MIWAE / ") and "RMSE missing ratio" in line]
        assert len(ratio) == 1 and ("met" in ratio[0] or "missed" in ratio[0])
        _figure(tmp_path / "miwae_vs_knn" / f"{scheme}.png", rows=4)
        assert f"(miwae_vs_knn/{scheme}.png)" in table


def _seed_ensemble_checks(table):
    label = "structured holes, MIWAE (importance-weighted, L=100, mean of 2 seeds)"
    ensemble = float(_row(table, label, "validation RMSE missing")[3])
    assert float(_row(table, label, "RMSE missing")[3]) > 0
    import re
    singles = [float(v) for v in re.findall(r"seed \d: (\d\.\d+) \(bound", table)]
    assert len(singles) == 4  # two seeds for each scheme, the structured ones first
    singles = singles[:2]
    # RMSE is a norm of the error: the averaged fill's is at most the mean of the two.
    assert ensemble <= sum(singles) / 2 + 1e-4
    assert "2 seeds averaged" in table


def test_miwae_vs_knn_refuses_a_table_path(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "miwae_vs_knn.py"),
                             "--quick", f"--out_dir={tmp_path}", "--table=../elsewhere"],
                            capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("miwae_vs_knn: --table='../elsewhere' is not a plain file name")
    assert not os.listdir(tmp_path)  # nothing written


def test_training_budget_quick(tmp_path):
    table = run("training_budget.py", tmp_path, f"--log_root={tmp_path}/logs")
    scores = {e: float(_row(table, f"mnist_5k, {e} epochs", "validation -ELBO (nats)")[3])
              for e in (1, 3)}
    assert scores[3] < scores[1]  # the resumed run trained on
    chosen = _row(table, "mnist_5k: chosen", "train_epochs")
    assert float(chosen[3]) == min(scores, key=scores.get)  # the lowest validation -ELBO
    assert "still falling at the largest budget" in chosen[5]
    assert "commit " in table and "cores" in table and "the test split is not read" in table
    for figure in ("mnist_5k.png", "mnist_5k_samples.png"):
        assert os.path.exists(tmp_path / "training_budget" / figure)


def test_miwae_defaults_quick(tmp_path):
    table = run("miwae_defaults.py", tmp_path)
    errors = {}
    for label, schedule in (("MLP 2x400, latent 32, K=5", (2, 4)),
                            ("MLP 2x600, latent 64, K=5", (2, 4)),
                            ("conv (hidden 400), latent 32, K=5", (1, 2))):
        for epochs in schedule:
            cells = _row(table, f"{label}, {epochs} epochs",
                         "validation RMSE missing (mean of structured)")
            errors[label, epochs] = float(cells[3])
            assert "fit " in cells[5]
    best = min(errors, key=errors.get)  # far inside the 20-minute budget: all admissible
    assert f"Chosen (lowest validation RMSE within the budget): {best[0]}, {best[1]} epochs" in table


def test_latent_2d_quick(tmp_path):
    table = run("latent_2d.py", tmp_path, f"--log_root={tmp_path}/logs", as_a_user=True)
    assert 0 < float(_row(table, "mnist_5k, default preset, latent 2", "test RMSE")[3]) < 0.5
    assert float(_row(table, "mnist_5k, default preset, latent 2", "test KL (nats)")[3]) > 0
    import matplotlib.image
    for fig in ("latent", "manifold"):  # the scatter of encodings and the decoded grid
        assert f"(latent_2d/{fig}.png)" in table
        image = matplotlib.image.imread(str(tmp_path / "latent_2d" / f"{fig}.png"))
        height, width = image.shape[:2]
        assert height > 300 and width > 300


def test_default_runs_quick(tmp_path):
    table = run("default_runs.py", tmp_path, f"--log_root={tmp_path}/logs")
    wall = _row(table, "mnist_5k, 2 epochs", "wall time of the command (s)")
    assert float(wall[3]) > 0 and "80 steps" in wall[5]  # 4,000 images / 100 x 2 epochs
    assert 0 < float(_row(table, "mnist_5k, 2 epochs", "test RMSE")[3]) < 0.5
    assert "of 32 latent units in use" in _row(table, "mnist_5k, 2 epochs", "test KL (nats)")[5]
    for kind in ("reconstructions", "samples"):
        assert f"(default_runs/mnist_5k_{kind}.png)" in table
        assert os.path.getsize(tmp_path / "default_runs" / f"mnist_5k_{kind}.png") > 1000


def test_tabular_imputation_quick_keeps_its_cells_and_resumes_them(tmp_path):
    table = run("tabular_imputation.py", tmp_path)
    for name in ("wine", "diabetes"):
        mean = float(_row(table, f"{name} mcar20", "column mean: RMSE (sd units)")[3])
        assert 0.8 < mean < 1.3  # the column mean is about one standard deviation off
        assert 0.0 < float(_row(table, name, "MIWAE 90 % interval coverage")[3]) <= 1.0
    assert "Target, best mean rank:" in table and "2 cells computed at commit" in table
    cells = (tmp_path / "tabular_imputation_cells.jsonl").read_text().splitlines()
    assert len(cells) == 2
    again = run("tabular_imputation.py", tmp_path)  # resumed: no cell computed again
    assert "(0 in this sitting)" in again
    assert len((tmp_path / "tabular_imputation_cells.jsonl").read_text().splitlines()) == 2
