"""A table of the user's own from the command line: `--mode=impute --dataset=csv`
(vae_tf/datasets/csv_table.py, vae_tf/table_run.py)."""

import csv
import json
import os

import numpy as np
import pytest

from test_main import events, launch
from vae_tf.config import make_config
from vae_tf.datasets import csv_table
from vae_tf.errors import UserError
from vae_tf.imputers import miwae
from vae_tf.table_run import holdout_mask

TINY = ("--epochs=2", "--batch_size=10", "--hidden_dim=8", "--latent_dim=2")


def _write(path, text):
    path.write_text(text)
    return str(path)


def _table(tmp_path, n=40, seed=0):
    """A CSV whose two real columns follow each other, a binary column and holes written
    as empty cells and as NA; observed cells in a text form float() would not give back."""
    rng = np.random.default_rng(seed)
    a = rng.normal(100, 15, n)
    lines = ["height,weight,smoker"]
    for i in range(n):
        cells = [f"{a[i]:.2f}", f"{a[i] * 0.7 + rng.normal(0, 2):.3f}",
                 "1.0" if rng.random() < 0.3 else "0"]
        if i % 5 == 1:
            cells[0] = ""
        if i % 7 == 2:
            cells[1] = "NA"
        lines.append(",".join(cells))
    return _write(tmp_path / "table.csv", "\n".join(lines) + "\n")


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_the_reader_keeps_each_cells_text_and_reads_missing_markers(tmp_path):
    path = _write(tmp_path / "t.csv", "a, b ,c\n1, NA,3.50\n,nan,?\n-2e3,4,null\n\n")
    table = csv_table.read_csv(path)
    assert table.header == ["a", "b", "c"]
    assert table.cells[0] == ["1", " NA", "3.50"]
    np.testing.assert_array_equal(np.isnan(table.values),
                                  [[False, True, False], [True, True, True],
                                   [False, False, True]])
    assert table.values[2, 0] == -2000.0


@pytest.mark.parametrize("text, words", [
    ("", "the file is empty"),
    ("a,b\n1,2\n", "1 row of data; imputation needs a table of at least two rows"),
    ("a,b\n1,2\n3\n", "line 3 has 1 cells but the header has 2"),
    ("a,b\n1,2\n3,4,5\n", "line 3 has 3 cells but the header has 2"),
    ("a,a\n1,2\n3,4\n", "the header names column 'a' twice"),
    ("a,\n1,2\n3,4\n", "column 2 of the header has no name"),
    ("a,city\n1,Paris\n3,Rome\n", "column 'city' holds text \\('Paris' on line 2\\)"),
    ("a,b\n1,inf\n3,4\n", "column 'b' holds 'inf' on line 2"),
    ("a,b\n1,\n3,NA\n", "column 'b' has no value; drop it"),
    ("a\n1\n2\n", "the table has one column"),
    ("a,b\n1,1e39\n3,4\n", "exceeds float32's range \\(about 3.4e38\\)"),
])
def test_bad_csvs_get_one_line_and_a_nonzero_exit_and_nothing_written(tmp_path, text, words):
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(UserError, match=words):
        csv_table.read_csv(path)
    logdir = tmp_path / "run"
    result = launch("--mode=impute", "--dataset=csv", f"--data_dir={path}",
                    f"--logdir={logdir}")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and path in lines[0], result.stderr
    assert not logdir.exists()


def test_a_table_too_large_for_memory_is_refused_by_estimate(tmp_path, monkeypatch):
    path = _table(tmp_path)
    monkeypatch.setattr(csv_table, "_memory", lambda: 3e4)
    with pytest.raises(UserError, match="40 rows x 3 columns needs about .* fewer --imputations"):
        csv_table.read_csv(path, imputations=10)
    assert csv_table.read_csv(path).values.shape == (40, 3)  # 16,800 bytes: under 80 % of 30,000


def test_files_that_are_not_csv_tables(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        csv_table.read_csv(str(tmp_path / "none.csv"))
    with pytest.raises(UserError, match="a folder"):
        csv_table.read_csv(str(tmp_path))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("caf\xe9,b\n1,2\n3,4\n".encode("latin-1"))
    with pytest.raises(UserError, match="not a UTF-8 text file"):
        csv_table.read_csv(str(latin))
    with pytest.raises(UserError, match="reads its table from --data_dir"):
        csv_table.read_csv(None)


@pytest.mark.parametrize("args, words", [
    (("--dataset=csv",), "pass --mode=impute"),
    (("--mode=impute", "--dataset=csv", "--imputer=rating_vae"), "--imputer=rating_vae"),
    (("--mode=impute", "--dataset=csv", "--missing=random"), "missing cells are its empty"),
    (("--mode=impute", "--dataset=csv", "--imputer=knn", "--imputations=3"), "use --imputer=miwae"),
    (("--mode=impute", "--dataset=mnist_5k", "--holdout=0.2"), "applies to --dataset=csv"),
    (("--mode=impute", "--dataset=csv", "--holdout=0.9"), r"must be a finite number in \(0, 0.5\]"),
])
def test_settings_a_table_does_not_take_are_refused(args, words):
    given = dict(a[2:].split("=", 1) for a in args)
    for key in ("holdout",):
        if key in given:
            given[key] = float(given[key])
    if "imputations" in given:
        given["imputations"] = int(given["imputations"])
    with pytest.raises(UserError, match=words):
        make_config("default", **given)


def test_a_tables_default_imputer_is_miwae_with_its_mlp():
    config = make_config("default", mode="impute", dataset="csv")
    assert config.imputer == "miwae" and config.arch == "mlp"


def test_holdout_keeps_an_observed_cell_in_every_row_and_column():
    observed = np.ones((30, 4), bool)
    observed[:, 3] = False
    observed[0, 3] = True  # a column observed once keeps its one cell
    observed[5] = [True, False, False, False]  # a row observed once too
    hold = holdout_mask(observed, 0.5, seed=0)
    assert not (hold & ~observed).any()
    assert ((observed & ~hold).any(1) == observed.any(1)).all()
    assert (observed & ~hold).any(0).all()
    assert 0.3 < hold.sum() / observed.sum() < 0.6


@pytest.mark.slow
def test_a_csv_is_imputed_from_the_command_line(tmp_path):
    path = _table(tmp_path)
    logdir = str(tmp_path / "run")
    result = launch("--mode=impute", "--dataset=csv", f"--data_dir={path}", f"--logdir={logdir}",
                    "--imputations=3", *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    source, out = _rows(path), _rows(os.path.join(logdir, "imputed.csv"))
    assert out[0] == source[0] and len(out) == len(source)
    spread = _rows(os.path.join(logdir, "spread.csv"))
    for i, (row, filled) in enumerate(zip(source[1:], out[1:]), 1):
        for j, cell in enumerate(row):
            if cell in ("", "NA"):
                value = float(filled[j])  # a finite number on the column's own scale
                assert np.isfinite(value) and (0 <= value <= 1 if j == 2 else 20 < value < 200)
                assert float(spread[i][j]) >= 0
            else:
                assert filled[j] == cell and spread[i][j] == ""  # as read
    for k in (1, 2, 3):
        drawn = _rows(os.path.join(logdir, f"imputed_{k}.csv"))
        assert drawn[0] == source[0] and len(drawn) == len(source)
    with open(os.path.join(logdir, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["rows"] == 40 and metrics["missing_cells"] == 8 + 6
    assert set(metrics["per_column"]) == {"height", "weight", "smoker"}
    assert metrics["holdout_cells"] == sum(v["holdout_cells"]
                                           for v in metrics["per_column"].values()) > 0
    real = miwae.AUTO_REAL
    assert metrics["column_likelihoods"] == [real, real, "bernoulli"]
    with open(os.path.join(logdir, "config.json")) as f:
        assert json.load(f)["fitted"]["likelihood"] == "mixed"
    assert os.path.exists(os.path.join(logdir, "figures", "holdout_error.png"))
    tags = events(logdir).Tags()["tensors"]
    assert "holdout/rmse_sd" in tags and "holdout_rmse_sd/height" in tags
    assert "estimated RMSE" in result.stderr and "height" in result.stderr
    assert not [f for f in os.listdir(logdir) if f.endswith(".tmp")]


@pytest.mark.slow
@pytest.mark.parametrize("imputer", ["knn", "vae"])
def test_the_thesis_imputers_take_a_raw_table_through_their_scaling(tmp_path, imputer):
    path = _table(tmp_path)
    logdir = str(tmp_path / imputer)
    extra = ("--k=3",) if imputer == "knn" else TINY
    result = launch("--mode=impute", "--dataset=csv", f"--data_dir={path}", f"--logdir={logdir}",
                    f"--imputer={imputer}", *extra)
    assert result.returncode == 0, result.stderr[-2000:]
    out = np.array(_rows(os.path.join(logdir, "imputed.csv"))[1:], dtype=float)
    assert 40 < out[:, 0].min() and out[:, 0].max() < 160  # on the column's own scale
