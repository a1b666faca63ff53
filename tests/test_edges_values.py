"""Hard edges of the values a user hands over: model files load_model refuses in one line
(none runs code), values beyond float32's range (no numpy warning on the way), and a
SeedEnsemble given a name instead of an imputer."""

import json
import re
import warnings
import zipfile

import numpy as np
import pytest
import tensorflow as tf

import vae_tf
from test_main import launch
from vae_tf.errors import UserError
from vae_tf.models import VAE

FIX = "; the file is damaged or not a vae_tf model: pass a run folder (--logdir) or its model.keras"


# -- load_model -----------------------------------------------------------------------

def _rewrite(source, target, edit=None, drop=(), weights_from=None) -> str:
    """A copy of the .keras zip `source` at `target`: config.json passed through `edit`,
    the members in `drop` left out, model.weights.h5 taken from `weights_from`."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            if name in drop:
                continue
            data = old.read(name)
            if name == "config.json" and edit is not None:
                data = json.dumps(edit(json.loads(data))).encode()
            if name == "model.weights.h5" and weights_from is not None:
                with zipfile.ZipFile(weights_from) as other:
                    data = other.read(name)
            new.writestr(name, data)
    return str(target)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real vae_tf model file, and one of another hidden width."""
    root = tmp_path_factory.mktemp("saved")
    VAE(10, 2, 6, seed=3).save(str(root / "model.keras"))
    VAE(10, 2, 7, seed=3).save(str(root / "wider.keras"))
    return root


def _names(module, name, config):
    def edit(c):
        c.update(module=module, class_name=name, config=config)
        c.pop("registered_name")
        return c
    return edit


def _dtype(dtype):
    def edit(c):
        c["config"]["dtype"] = dtype
        return c
    return edit


def test_a_good_model_file_still_loads(saved):
    x = np.random.default_rng(0).uniform(size=(3, 10)).astype(np.float32)
    again = vae_tf.load_model(str(saved / "model.keras"))
    assert isinstance(again, VAE) and again.dtype_policy.name == "float32"
    assert again.reconstruct(x).shape == (3, 10)


@pytest.mark.parametrize("case, problem", [
    ("config_json", "not a .keras model file (a zip archive)"),
    ("no_weights", "the archive has no model.weights.h5"),
    ("other_shape", "its weights do not fit the model its config describes"),
    ("os_system", "its config names os.system, not vae_tf.models.VAE"),
    ("builtins_exec", "its config names builtins.exec, not vae_tf.models.VAE"),
    ("float64", "its config sets dtype 'float64', but vae_tf models are float32"),
    ("nonsense_dtype", "its config sets dtype 'nonsense', but vae_tf models are float32"),
])
def test_bad_model_files_are_refused_in_one_line_and_run_no_code(saved, tmp_path, case,
                                                                 problem):
    good, ran = str(saved / "model.keras"), tmp_path / "ran"  # `ran` appears if code runs
    command = f"touch {ran}"
    path = str(tmp_path / "bad.keras")
    if case == "config_json":  # a run's config.json, or the model's own
        path = str(tmp_path / "config.json")
        with zipfile.ZipFile(good) as archive, open(path, "wb") as f:
            f.write(archive.read("config.json"))
    elif case == "no_weights":
        _rewrite(good, path, drop=("model.weights.h5",))
    elif case == "other_shape":  # hidden 7's weights under a config of hidden 6
        _rewrite(good, path, weights_from=str(saved / "wider.keras"))
    elif case == "os_system":
        _rewrite(good, path, edit=_names("os", "system", {"command": command}))
    elif case == "builtins_exec":
        _rewrite(good, path, edit=_names("builtins", "exec",
                                         f"__import__('os').system({command!r})"))
    else:
        _rewrite(good, path, edit=_dtype("float64" if case == "float64" else "nonsense"))
    with pytest.raises(UserError) as error:
        vae_tf.load_model(path)
    assert str(error.value) == f"{path}: {problem}{FIX}"
    assert not ran.exists()


def test_folders_without_a_model_say_what_they_are(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError) as error:
        vae_tf.load_model(str(empty))
    assert str(error.value) == (f"{empty}: an empty folder; pass the folder of a finished run "
                                "(--logdir) or its model.keras")
    run = tmp_path / "run"
    tf.train.Checkpoint(step=tf.Variable(1)).save(str(run / "checkpoints" / "ckpt"))
    with pytest.raises(UserError) as error:
        vae_tf.load_model(str(run / "checkpoints"))
    assert str(error.value) == (
        f"{run / 'checkpoints'}: a run's checkpoints folder (training state, not a model); "
        f"pass the run folder above it ({run}) or its model.keras")


# -- values beyond float32's range ----------------------------------------------------

TINY = dict(epochs=1, batch_size=20, latent_dim=2, hidden_dim=8)
TOO_LARGE = ("X column {} holds 1e+39 (row 3), which exceeds float32's range (about 3.4e38) "
             "the imputers compute in; rescale the column, e.g. divide it by 1e+39")


def _table(big=None):
    """40 x 4 values in [0, 1] with holes; `big` at row 3, column 2."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(40, 4))
    x[rng.uniform(size=x.shape) < 0.2] = np.nan
    x[:, 0] = np.where(np.isnan(x[:, 0]), 0.5, x[:, 0])  # every row observes something
    if big is not None:
        x[3, 2] = big
    return x


def _imputer(name):
    return {"miwae": lambda: vae_tf.MIWAEImputer(**TINY),
            "vae": lambda: vae_tf.VAEImputer(**TINY),
            "knn": lambda: vae_tf.KNNImputer(n_neighbors=3),
            "ensemble": lambda: vae_tf.SeedEnsemble(vae_tf.MIWAEImputer(**TINY), n_seeds=2),
            }[name]()


@pytest.mark.parametrize("name", ["miwae", "vae", "knn", "ensemble"])
def test_a_value_beyond_float32_is_refused_in_fit_without_numpy_warnings(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning would fail the test
        with pytest.raises(UserError) as error:
            _imputer(name).fit(_table(big=1e39))
        assert str(error.value) == TOO_LARGE.format(2)
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame(_table(big=-1e39), columns=["a", "b", "c", "d"])
        with pytest.raises(UserError, match=re.escape("X column 'c' holds -1e+39 (row 3)")):
            _imputer(name).fit_transform(frame)


@pytest.mark.parametrize("name", [pytest.param("miwae", marks=pytest.mark.slow), "knn"])
def test_a_value_beyond_float32_is_refused_in_transform(name):  # MIWAE trains (~10 s)
    imputer = _imputer(name).fit(_table())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserError) as error:
            imputer.transform(_table(big=1e39))
    assert str(error.value) == TOO_LARGE.format(2)


def test_knn_refuses_a_marker_whose_squared_distances_overflow_float32():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserError) as error:
            vae_tf.KNNImputer(n_neighbors=3, marker=1e30).fit_transform(_table())
        assert str(error.value) == (
            "KNNImputer(marker=1e+30): squared distances to a marker this large exceed "
            "float32's range (about 3.4e38) over 4 columns; pass a marker within the data's "
            "range, e.g. marker=0")
        out = vae_tf.KNNImputer(n_neighbors=3, marker=1e15).fit_transform(_table())
    assert np.isfinite(out).all()  # a large marker within the bound still imputes


def test_a_csv_value_beyond_float32_gets_one_line_from_the_launcher(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b\n1,2\n3,-1e39\n")
    logdir = tmp_path / "run"
    result = launch("--mode=impute", "--dataset=csv", f"--data_dir={path}", f"--logdir={logdir}")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"vae-tf: error: --data_dir={path}: column 'b' holds '-1e39' on line 3, which exceeds "
        "float32's range (about 3.4e38) the models compute in; rescale the column (e.g. "
        "write it in larger units)")
    assert not logdir.exists()


# -- SeedEnsemble given something other than an imputer -------------------------------

@pytest.mark.parametrize("given, got, example", [
    ("vae", "the string 'vae'", "VAEImputer()"),
    ("knn", "the string 'knn'", "MIWAEImputer()"),  # K-NN has no seed: a trained one
    (vae_tf.MIWAEImputer, "the class MIWAEImputer", "MIWAEImputer()"),
    (3, "an object of type int", "MIWAEImputer()"),
])
def test_seed_ensemble_wants_an_imputer_object(given, got, example):
    with pytest.raises(UserError) as error:
        vae_tf.SeedEnsemble(given).fit(_table())
    assert str(error.value) == (f"SeedEnsemble(imputer=...): wants an imputer object, got "
                                f"{got}; pass e.g. SeedEnsemble({example}, n_seeds=3)")
