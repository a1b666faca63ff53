"""Hard edges of run folders: a damaged history, a resume with other settings, checkpoints
of another model, and an imputer pointed at another kind of run.

A refusal is one line, exit 2, and leaves the folder as it was (so it still resumes); a
repair (the history) says in one line what it did and the run goes on.
"""

import json
import os
import shutil

import numpy as np
import pytest

from test_bad_input import run_case
from vae_tf.errors import UserError

TINY = ["--epochs=2", "--latent_dim=2", "--hidden_dim=16"]
# Each refused folder is a copy of one tiny finished run, damaged as its name says.
CASES = [  # (name, flags with {folders}, what the line must say)
    ("another learning rate", TINY + ["--learning_rate=0.003", "--logdir={lr}"],
     "--logdir={lr} holds a run with different learning_rate (saved 0.001, given 0.003); "
     "pass --learning_rate=0.001 to resume it, or pass a new --logdir for a run with these "
     "settings"),
    ("another batch size and seed", TINY + ["--batch_size=50", "--seed=1", "--logdir={batch}"],
     "holds a run with different batch_size (saved 100, given 50), seed (saved 0, given 1); "
     "pass --batch_size=100 --seed=0 to resume it"),
    ("imputing in a training run's folder",
     ["--mode=impute", "--epochs=1", "--latent_dim=2", "--hidden_dim=16", "--logdir={train}"],
     "holds a run with different mode (saved 'train', given 'impute'); pass --mode=train to "
     "resume it"),
    ("config.json edited to another size",
     ["--epochs=2", "--latent_dim=2", "--hidden_dim=32", "--logdir={edited}"],
     "--logdir={edited} holds checkpoints of another model (ckpt-2: vae/decoder/hidden/kernel "
     "has shape (2, 16) there, (2, 32) in this run's model); pass a new --logdir for this "
     "model"),
    ("training in an imputer's folder", TINY + ["--logdir={fit}"],
     "--logdir={fit} holds checkpoints/, history.jsonl, fit.json but no config.json: another "
     "kind of run (an imputer's fit from the library?), or one whose config.json was deleted; "
     "pass a new --logdir"),
]
# Damaged histories are repaired: (name, flags, what the one warning line says).
REPAIRS = [
    ("damaged history lines", TINY + ["--logdir={damaged}"],
     "history.jsonl: lines 2-4 are not an epoch's record (dropped); rebuilt epoch 2 from the "
     "TensorBoard events"),
    ("history cut short", ["--epochs=3", "--latent_dim=2", "--hidden_dim=16", "--logdir={cut}"],
     "history.jsonl: no record of epoch 2; rebuilt epoch 2 from the TensorBoard events"),
]


def _holed(n=40, d=64, seed=0):
    """n x d values in [0, 1] with a fifth of them missing."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, d)).astype(np.float32)
    x[rng.uniform(size=x.shape) < 0.2] = np.nan
    return x


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Folder name -> path: a tiny finished training run, its damaged copies, an imputer's."""
    root = tmp_path_factory.mktemp("runs")
    done = root / "run"
    result = run_case({}, root, TINY + [f"--logdir={done}"])
    assert result.returncode == 0, result.stderr[-2000:]
    found = {"run": str(done)}
    for name in ("lr", "batch", "train", "edited", "resumes", "damaged", "cut"):
        found[name] = _copy(done, root / name)
    config = root / "edited" / "config.json"
    config.write_text(config.read_text().replace('"hidden_dim": 16', '"hidden_dim": 32'))
    lines = (done / "history.jsonl").read_bytes().splitlines()
    (root / "damaged" / "history.jsonl").write_bytes(
        b"\n".join([lines[0], b"\xff\xfe not UTF-8", b"5", b'{"epoch": "x"}']) + b"\n")
    (root / "cut" / "history.jsonl").write_bytes(lines[0] + b"\n")
    from vae_tf.imputers.vae import VAEImputer
    found["fit"] = str(root / "fit")
    VAEImputer(latent_dim=2, hidden_dim=16, epochs=1, logdir=found["fit"]).fit(_holed())
    return found


def _copy(folder, to):
    """A copy of a run folder (its lock aside) at `to`; its path."""
    return str(shutil.copytree(folder, to, ignore=shutil.ignore_patterns(".lock")))


def _snapshot(folder):
    """Every file of `folder` (its lock aside) -> its bytes."""
    out = {}
    for parent, _, names in os.walk(folder):
        for name in names:
            if name != ".lock":
                path = os.path.join(parent, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, folder)] = f.read()
    return out


def _one_line(result):
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vae-tf: error: "), result.stderr[-2000:]
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("name, args, needle", CASES, ids=[c[0] for c in CASES])
def test_a_run_folder_of_other_settings_or_kind_is_refused_in_one_line(runs, tmp_path, name,
                                                                        args, needle):
    folder = args[-1].split("=", 1)[1].format(**runs)
    before = _snapshot(folder)
    line = _one_line(run_case(runs, tmp_path, args))
    assert needle.format(**runs) in line, line
    assert _snapshot(folder) == before  # nothing written: it resumes as before


@pytest.mark.slow
@pytest.mark.parametrize("name, args, needle", REPAIRS, ids=[c[0] for c in REPAIRS])
def test_a_damaged_history_is_rebuilt_and_said_in_one_line(runs, tmp_path, name, args, needle):
    result = run_case(runs, tmp_path, args)
    assert result.returncode == 0, result.stderr[-2000:]
    said = [line for line in result.stderr.splitlines() if "history.jsonl" in line]
    assert len(said) == 1 and needle in said[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    folder = args[-1].split("=", 1)[1].format(**runs)
    epochs = int(args[0].split("=")[1])
    with open(os.path.join(folder, "history.jsonl")) as f:
        history = [json.loads(line) for line in f]
    assert [h["epoch"] for h in history] == list(range(1, epochs + 1))
    assert all(np.isfinite(h["train/loss"]) and "test/loss" in h for h in history)
    with open(os.path.join(folder, "metrics.json")) as f:
        assert json.load(f)["epochs"] == epochs


@pytest.mark.slow
def test_a_refused_folder_resumes_with_its_own_settings(runs, tmp_path):
    _one_line(run_case(runs, tmp_path, TINY + ["--learning_rate=0.003", "--logdir={resumes}"]))
    result = run_case(runs, tmp_path, ["--epochs=3", "--latent_dim=2", "--hidden_dim=16",
                                       "--logdir={resumes}"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(epoch 2)" in result.stderr  # resumed from the second checkpoint
    with open(os.path.join(runs["resumes"], "config.json")) as f:
        assert json.load(f)["epochs"] == 3  # config.json says what the folder holds


# -- the library: a trained imputer's logdir ---------------------------------------------

@pytest.fixture(scope="module")
def training_folder(tmp_path_factory, tiny_data):
    """A training run's folder: its config.json, one epoch's checkpoint, history and events."""
    import tensorflow as tf

    from vae_tf.config import make_config
    from vae_tf.elbo import ELBO
    from vae_tf.engine import Engine
    from vae_tf.models import VAE
    from vae_tf.rundir import RunDir
    folder = tmp_path_factory.mktemp("train") / "run"
    run = RunDir.for_config(make_config(epochs=1, latent_dim=2, hidden_dim=8, logdir=str(folder)))
    try:
        objective = ELBO(VAE(tiny_data.dim, 2, 8), tf.random.Generator.from_seed(0))
        Engine(objective, [tiny_data.train], 100, 1e-3, jit_compile=False, run=run).fit(1)
    finally:
        run.close()
    return folder




def _vae(**kw):
    from vae_tf.imputers.vae import VAEImputer
    return VAEImputer(latent_dim=2, hidden_dim=8, epochs=1, jit_compile=False, **kw)


def _miwae(**kw):
    from vae_tf.imputers.miwae import MIWAEImputer
    return MIWAEImputer(arch="mlp", latent_dim=2, hidden_dim=8, epochs=1, batch_size=20, **kw)


def _ratings(**kw):
    from vae_tf.imputers.ratings import RatingVAE
    return RatingVAE(latent_dim=2, hidden_dim=8, epochs=1, **kw)


IMPUTERS = [(_vae, _holed), (_miwae, _holed), (_ratings, lambda: 1 + 4 * _holed())]


@pytest.mark.parametrize("make, data", IMPUTERS, ids=["vae", "miwae", "rating_vae"])
def test_a_trained_imputer_refuses_a_training_runs_folder_writing_nothing(training_folder,
                                                                         tmp_path, make, data):
    folder = _copy(training_folder, tmp_path / "run")
    before = _snapshot(folder)
    with pytest.raises(UserError) as error:
        make(logdir=folder).fit(data())
    assert str(error.value) == (f"logdir={folder} holds a --mode=train run (its config.json), "
                                "not an imputer's fit; pass a new folder (a fit there would "
                                "write into that run)")
    assert _snapshot(folder) == before


def test_checkpoints_without_a_fit_json_are_refused_and_a_seed_ensemble_checks_too(
        training_folder, tmp_path):
    from vae_tf.imputers.ensemble import SeedEnsemble
    folder = _copy(training_folder, tmp_path / "run")
    os.remove(os.path.join(folder, "config.json"))  # checkpoints of some run, and no record
    before = _snapshot(folder)
    for imputer in (_vae(logdir=folder), SeedEnsemble(_vae(logdir=folder), n_seeds=2)):
        with pytest.raises(UserError) as error:
            imputer.fit(_holed())
        assert str(error.value) == (f"logdir={folder} holds checkpoints/, history.jsonl of "
                                    "another run but no fit.json (the record of an imputer's "
                                    "fit); pass a new folder, or an earlier fit's folder to "
                                    "resume it")
        assert _snapshot(folder) == before  # no fit.json, no seed-0/


def test_the_launchers_imputation_folder_still_takes_its_fit_and_resumes_it(tmp_path):
    from vae_tf.config import make_config
    from vae_tf.rundir import RunDir
    folder = str(tmp_path / "run")
    RunDir.for_config(make_config(mode="impute", logdir=folder)).close()  # config.json first
    x = _holed()
    assert [h["epoch"] for h in _vae(logdir=folder).fit(x).history_] == [1]
    assert os.path.exists(os.path.join(folder, "fit.json"))
    assert [h["epoch"] for h in _vae(logdir=folder).set_params(epochs=2).fit(x).history_] \
        == [1, 2]
