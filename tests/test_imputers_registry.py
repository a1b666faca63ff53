"""The imputer registry: every per-imputer fact the launcher and the package read, in one table.

The worked example of BUILD_NOTES.md ("Adding an imputer") is tested last: one entry,
building scikit-learn's SimpleImputer, is enough for the launcher to accept the name, refuse
the settings it does not take, and run it on images and on a table.
"""

import csv
import json
import os

import numpy as np
import pytest

import vae_tf
from vae_tf import checks, datasets, imputers
from vae_tf.config import IMPUTERS, Config, imputer_models, make_config
from vae_tf.errors import UserError
from vae_tf.imputers import registry
from vae_tf.rundir import RunDir


def test_the_package_exports_every_registered_class_and_nothing_else_by_hand():
    expected = {e.cls for e in registry.ENTRIES.values()} | set(registry.LIBRARY) | {"load_model"}
    assert set(vae_tf.__all__) == expected
    assert set(imputers.__all__) == expected - {"load_model"}
    for e in registry.ENTRIES.values():
        assert getattr(vae_tf, e.cls) is getattr(imputers, e.cls) is e.imputer_class


def test_the_launcher_choices_counts_and_help_come_from_the_registry():
    assert IMPUTERS == registry.NAMES == ("vae", "knn", "miwae", "rating_vae")
    field = next(f for f in Config.__dataclass_fields__.values() if f.name == "imputer")
    for e in registry.ENTRIES.values():
        assert f"{e.name} ({e.help})" in field.metadata["help"]
        assert imputer_models(e.name, 0) == e.models
        assert imputer_models(e.name, 4) == 4
    assert imputer_models("rating_vae", 0) == 3 and imputer_models("miwae", 0) == 1


@pytest.mark.parametrize("name", registry.NAMES)
def test_each_entry_builds_its_class_for_every_kind_of_data_it_takes(tmp_path, name):
    e = registry.entry(name)
    run = RunDir(str(tmp_path / "run"), "logdir")
    try:
        for kind in sorted(e.data):
            dataset = {"ratings": "movielens_100k", "table": "csv"}.get(kind, "mnist_5k")
            config = make_config(mode="impute", imputer=name, dataset=dataset)
            built = registry.build(config, run, kind, image_shape=(28, 28, 1))
            if e.models > 1:  # averaged over its default count of seeds
                assert built.n_seeds == e.models
                built = built.imputer
            assert type(built) is e.imputer_class, (name, kind)
    finally:
        run.close()


def test_data_an_imputer_does_not_take_is_refused_naming_the_ones_that_do():
    with pytest.raises(UserError, match=r"^--imputer=rating_vae predicts MovieLens ratings, and "
                       r"mnist_5k holds images; use --imputer=miwae, knn or vae for it$"):
        checks.check_kind(make_config(mode="impute", imputer="rating_vae"), ratings=False)
    with pytest.raises(UserError, match=r"^--imputer=miwae models images and tables, and "
                       r"movielens_100k holds ratings; use --imputer=rating_vae, knn or vae"):
        checks.check_kind(make_config(mode="impute", imputer="miwae",
                                      dataset="movielens_100k"), ratings=True)
    with pytest.raises(UserError, match=r"rating_vae predicts MovieLens ratings; use miwae, "
                       r"knn or vae\); drop it$"):
        make_config(mode="impute", imputer="rating_vae", dataset="csv")


@pytest.mark.parametrize("imputer, flag, words", [
    ("knn", dict(epochs=3), "--imputer=knn does not train"),
    ("knn", dict(adam_epsilon=1e-8), "--imputer=knn does not train"),
    ("knn", dict(imputer_seeds=2), "--imputer=knn has no seed"),
    ("knn", dict(arch="conv"), "--imputer=knn has an MLP only; --mode=train and "
                               "--imputer=miwae take --arch"),
    ("vae", dict(k=3), "it sets the K-NN's neighbours, not --imputer=vae's"),
    ("vae", dict(hidden_layers=2), "--imputer=vae has one hidden layer; miwae --arch=mlp"),
    ("miwae", dict(init_stddev=0.1), "--imputer=miwae starts from Glorot weights"),
    ("rating_vae", dict(adam_epsilon=1e-8), "the thesis's imputer (vae) takes it"),
])
def test_a_flag_the_entry_does_not_list_is_refused(imputer, flag, words):
    with pytest.raises(UserError, match="does not apply here") as caught:
        make_config(mode="impute", imputer=imputer, **flag)
    assert words in str(caught.value)


@pytest.mark.parametrize("imputer, flag", [
    ("knn", dict(k=3)), ("vae", dict(init_stddev=0.1, adam_epsilon=1e-8, epochs=2)),
    ("miwae", dict(hidden_layers=3, arch="mlp", imputer_seeds=2)), ("rating_vae", dict(epochs=2)),
])
def test_a_flag_the_entry_lists_is_taken(imputer, flag):
    config = make_config(mode="impute", imputer=imputer, **flag)
    assert all(getattr(config, k) == v for k, v in flag.items())


def test_defaults_named_by_the_registry():
    # a table's default imputer is the one drawing imputations; MIWAE's arch on images
    assert make_config(mode="impute", dataset="csv").imputer == registry.takers(
        registry.TABLE, draws=True)[0] == "miwae"
    assert make_config(mode="impute", imputer="miwae").arch == registry.entry("miwae").image_arch
    assert make_config(mode="impute", imputer="vae").arch == "mlp"
    with pytest.raises(UserError, match=r"^--imputer='mice' is unknown; choose one of: vae, "
                       r"knn, miwae, rating_vae$"):
        make_config(mode="impute", imputer="mice")


# -- the worked example: one entry adds an imputer ----------------------------------------
def _build_median(config, run, kind, image_shape=None, categorical=None):
    from sklearn.impute import SimpleImputer
    return SimpleImputer(strategy="median", keep_empty_features=kind != registry.TABLE)


MEDIAN = registry.Entry(
    "median", "SimpleImputer", "sklearn.impute", "each column's median",
    frozenset({registry.IMAGES, registry.TABLE}), "fills holes", _build_median, trains=False,
    table_scaling=None)


@pytest.fixture
def median(monkeypatch):
    monkeypatch.setitem(registry.ENTRIES, "median", MEDIAN)
    monkeypatch.setattr(registry, "NAMES", registry.NAMES + ("median",))
    return MEDIAN


def test_one_entry_adds_an_imputer_to_the_launcher(median, tmp_path):
    pytest.importorskip("sklearn")
    from sklearn.impute import SimpleImputer
    from vae_tf.impute_run import run_impute
    from vae_tf.missing import apply_mask, make_mask
    from vae_tf.table_run import run_table
    from vae_tf.datasets import csv_table

    # settings it does not take are refused, its count of models is the entry's
    with pytest.raises(UserError, match="--imputer=median does not train"):
        make_config(mode="impute", imputer="median", epochs=3)
    with pytest.raises(UserError, match="not --imputer=median's"):
        make_config(mode="impute", imputer="median", k=3)
    with pytest.raises(UserError, match=r"median fills holes, and movielens_100k holds "
                       r"ratings; use --imputer=rating_vae, knn or vae"):
        checks.check_kind(make_config(mode="impute", imputer="median",
                                      dataset="movielens_100k"), ratings=True)
    assert imputer_models("median", 0) == 1

    # images: the run imputes the test split as the library would
    config = make_config(mode="impute", imputer="median", logdir=str(tmp_path / "images"))
    data = datasets.load("mnist_5k", None)
    metrics = run_impute(config, data)
    train_holed = apply_mask(data.train, make_mask(len(data.train), data.image_shape,
                                                   "structured", 0, False))
    test_mask = make_mask(len(data.test), data.image_shape, "structured", 1, False)
    expected = SimpleImputer(strategy="median", keep_empty_features=True).fit(
        train_holed).transform(apply_mask(data.test, test_mask))
    want = float(np.sqrt(np.mean((expected - data.test)[~test_mask] ** 2)))
    assert metrics["rmse_missing"] == pytest.approx(want, rel=1e-5)
    assert metrics["imputer_settings"].startswith("SimpleImputer(")
    assert os.path.exists(tmp_path / "images" / "figures" / "imputation.png")

    # a table from a CSV: its cells filled with the observed column medians
    path = tmp_path / "t.csv"
    rows = [["a", "b"], ["1", "10"], ["", "30"], ["5", ""], ["3", "20"], ["7", "40"]]
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    config = make_config(mode="impute", imputer="median", dataset="csv", data_dir=str(path),
                         logdir=str(tmp_path / "table"), holdout=0.2)
    run_table(config, csv_table.read_csv(str(path)))
    with open(tmp_path / "table" / "imputed.csv") as f:
        out = list(csv.reader(f))
    assert out[0] == ["a", "b"] and len(out) == len(rows)
    assert out[1] == ["1", "10"] and out[4] == ["3", "20"]  # observed cells as read
    with open(tmp_path / "table" / "config.json") as f:
        assert json.load(f)["imputer"] == "median"
    filled = [float(out[2][0]), float(out[3][1])]
    assert all(np.isfinite(filled)) and 1 <= filled[0] <= 7 and 10 <= filled[1] <= 40


def test_impute_samples_reaches_miwae_and_is_refused_where_nothing_draws_them(tmp_path):
    run = RunDir(str(tmp_path / "run"), "logdir")
    try:
        config = make_config(mode="impute", imputer="miwae", impute_samples=50)
        assert registry.build(config, run, registry.IMAGES).impute_samples == 50
        default = make_config(mode="impute", imputer="miwae")  # 0: the imputer's own
        assert registry.build(default, run, registry.IMAGES).impute_samples == 1000
    finally:
        run.close()
    with pytest.raises(UserError, match=r"^--impute_samples=50 does not apply here "
                       r"\(--imputer=vae draws no importance samples; miwae does\); drop it$"):
        make_config(mode="impute", imputer="vae", impute_samples=50)
    with pytest.raises(UserError, match=r"^--impute_samples=50 does not apply here \(it is a "
                       r"--mode=impute setting\); drop it$"):
        make_config(impute_samples=50)


def test_impute_dtype_reaches_miwae_and_is_refused_where_nothing_draws(tmp_path):
    run = RunDir(str(tmp_path / "run"), "logdir")
    try:
        config = make_config(mode="impute", imputer="miwae", impute_dtype="bfloat16")
        assert registry.build(config, run, registry.IMAGES).impute_dtype == "bfloat16"
        default = make_config(mode="impute", imputer="miwae")
        assert registry.build(default, run, registry.IMAGES).impute_dtype == "float32"
    finally:
        run.close()
    with pytest.raises(UserError, match=r"^--impute_dtype=bfloat16 does not apply here "
                       r"\(--imputer=knn decodes no importance samples; miwae does\); drop it$"):
        make_config(mode="impute", imputer="knn", impute_dtype="bfloat16")
    with pytest.raises(UserError, match=r"^--impute_dtype=bfloat16 does not apply here \(it is "
                       r"a --mode=impute setting\); drop it$"):
        make_config(impute_dtype="bfloat16")
    with pytest.raises(UserError, match=r"--impute_dtype"):
        make_config(mode="impute", imputer="miwae", impute_dtype="float16")
