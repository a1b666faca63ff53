"""experiments/ledger.py: the append-only ledger of test-split reads, and the committed one."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "experiments"))
import ledger  # noqa: E402

SPLIT = "mnist test: structured holes"
READ = dict(experiment="experiments/miwae_vs_knn.py", split=SPLIT, setting="conv, 3 seeds",
            metric="RMSE missing", value=0.1824,
            results_file=os.path.join(ledger.REPO, "experiments", "results", "x.md"))


def _past_ledger(path, splits, reads=()):
    """A ledger whose rows read `splits`, written as the committed file is: by hand."""
    rows = [f"| 2026-11-2{i} | abc1234 | script.py | {s} | a setting | RMSE | 0.{i}000 | "
            f"experiments/results/x.md | past (from git history): abc1234 | "
            f"{reads[i] if i < len(reads) else '1'} |" for i, s in enumerate(splits)]
    path.write_text("# Test-split reads\n\nText above the table.\n\n" + ledger.HEADER + "\n"
                    + ledger.RULE + "\n" + "\n".join(rows) + "\n")
    return str(path)


def test_appending_keeps_every_past_byte(tmp_path):
    path = _past_ledger(tmp_path / "reads.md", [SPLIT, "movielens ua.test"])
    before = open(path, "rb").read()
    row = ledger.record_read(**READ, quick=False, ledger=path, commit="def5678")
    after = open(path, "rb").read()
    assert after.startswith(before) and after[len(before):] == row.encode()
    assert ledger.read_rows(path)[-1] == dict(zip(ledger.COLUMNS, [
        row.split(" | ")[0][2:], "def5678", READ["experiment"], SPLIT, "conv, 3 seeds",
        "RMSE missing", "0.1824", "experiments/results/x.md", ledger.RECORDED, "1"]))


def test_a_file_cut_after_its_last_row_gets_its_line_end_before_the_new_row(tmp_path):
    path = _past_ledger(tmp_path / "reads.md", [SPLIT])
    cut = open(path).read().rstrip("\n")
    open(path, "w").write(cut)
    ledger.record_read(**READ, quick=False, ledger=path, commit="def5678")
    assert open(path).read().startswith(cut + "\n| ")
    assert len(ledger.read_rows(path)) == 2


def test_a_missing_ledger_is_created_with_its_header(tmp_path):
    path = str(tmp_path / "reads.md")
    assert ledger.reads_before(SPLIT, path) == 0
    ledger.record_read(**READ, quick=False, ledger=path, commit="def5678")
    ledger.record_read(**READ, quick=False, ledger=path, commit="def5678")
    assert open(path).read().count(ledger.HEADER) == 1
    assert ledger.reads_before(SPLIT, path) == 2


def test_reads_are_counted_by_split(tmp_path):
    path = _past_ledger(tmp_path / "reads.md",
                        [SPLIT, "mnist test: random holes", SPLIT, "mnist test"])
    assert ledger.reads_before(SPLIT, path) == 2
    assert ledger.reads_before("mnist test: random holes", path) == 1
    assert ledger.reads_before("movielens ua.test", path) == 0
    ledger.record_read(**READ, quick=False, ledger=path, commit="def5678")
    assert ledger.reads_before(SPLIT, path) == 3
    assert ledger.reads_before("mnist test", path) == 1  # a prefix of the split is another


def test_the_note_says_how_often_and_when_it_is_a_lower_bound(tmp_path):
    path = _past_ledger(tmp_path / "reads.md", [SPLIT, SPLIT, "movielens ua.test"])
    assert "read 2 times before this run" in ledger.reads_note(SPLIT, path)
    assert "read once before" in ledger.reads_note("movielens ua.test", path)
    assert "had not been read before" in ledger.reads_note("mnist test", path)
    path = _past_ledger(tmp_path / "bound.md", [SPLIT, SPLIT], reads=("1", ledger.AT_LEAST))
    assert "read at least 2 times before" in ledger.reads_note(SPLIT, path)
    assert ledger.reads_before(SPLIT, path) == 2


def test_a_quick_run_writes_nothing(tmp_path):
    path = tmp_path / "reads.md"
    assert ledger.record_read(**READ, quick=True, ledger=str(path)) is None
    assert not path.exists()
    past = _past_ledger(path, [SPLIT])
    before = open(past, "rb").read()
    assert ledger.record_read(**READ, quick=True, ledger=past) is None
    assert open(past, "rb").read() == before


def test_quick_must_be_given_as_a_bool(tmp_path):
    with pytest.raises(TypeError, match="quick"):
        ledger.record_read(**READ, ledger=str(tmp_path / "reads.md"))
    with pytest.raises(ValueError, match=r"^quick='yes' is not a bool; pass the script's"):
        ledger.record_read(**READ, quick="yes", ledger=str(tmp_path / "reads.md"))


@pytest.mark.parametrize("split, closest", [("mnist tset: structured holes", SPLIT),
                                            ("movielens ua", "movielens ua.test"),
                                            ("MNIST test", "mnist test")])
def test_a_split_outside_the_list_is_refused_in_one_line(tmp_path, split, closest):
    path = tmp_path / "reads.md"
    for call in (lambda: ledger.record_read(**{**READ, "split": split}, quick=False,
                                            ledger=str(path), commit="def5678"),
                 lambda: ledger.record_read(**{**READ, "split": split}, quick=True,
                                            ledger=str(path)),
                 lambda: ledger.reads_before(split, str(path))):
        with pytest.raises(ValueError) as error:
            call()
        message = str(error.value)
        assert "\n" not in message and split in message and "SPLITS" in message
        assert f"e.g. {closest!r}" in message
    assert not path.exists()


@pytest.mark.parametrize("field, bad, shown", [
    ("value", float("nan"), "value=nan is not a finite number"),
    ("value", True, "value=True is not a finite number"),
    ("value", "0.18", "value='0.18' is not a finite number"),
    ("setting", "a | b", "setting='a | b' cannot be a cell"),
    ("metric", "", "metric='' cannot be a cell"),
    ("experiment", "two\nlines", "experiment='two\\nlines' cannot be a cell")])
def test_a_value_the_table_cannot_hold_is_refused_in_one_line(tmp_path, field, bad, shown):
    path = tmp_path / "reads.md"
    with pytest.raises(ValueError) as error:
        ledger.record_read(**{**READ, field: bad}, quick=False, ledger=str(path),
                           commit="def5678")
    assert str(error.value).startswith(shown) and "\n" not in str(error.value)
    assert not path.exists()


def test_a_file_that_is_not_a_ledger_is_refused_not_appended_to(tmp_path):
    path = tmp_path / "reads.md"
    path.write_text("# notes\n\nno table here\n")
    with pytest.raises(ValueError, match="no ledger table"):
        ledger.record_read(**READ, quick=False, ledger=str(path), commit="def5678")
    assert path.read_text() == "# notes\n\nno table here\n"


def test_image_split_names_come_from_the_list():
    assert ledger.image_split("mnist", "structured") == SPLIT
    assert ledger.image_split("mnist", binarized=True) == "mnist test, binarized"
    assert ledger.image_split("omniglot_en") == "omniglot_en test"
    # what the --quick runs score in MNIST's place
    assert ledger.image_split("mnist_5k", "random", binarized=True) == \
        "mnist_5k test, binarized: random holes"
    with pytest.raises(ValueError, match="SPLITS"):
        ledger.image_split("cifar10_rgb", "random")
    assert len(set(ledger.SPLITS)) == len(ledger.SPLITS)


def test_headline_is_the_first_scored_figure_and_names_the_others():
    figures = [("MIWAE", 0.19804), ("30-NN", 0.1939), ("VAE", None), ("means", 210.25)]
    assert ledger.headline(SPLIT, "RMSE missing", figures, "100 epochs") == (
        SPLIT, "100 epochs; beside it: 30-NN 0.1939; means 210.2; not scored: VAE",
        "RMSE missing, MIWAE", 0.19804)
    # a headline not scored (None, or a diverged NaN) gives way to the next figure
    split, setting, metric, value = ledger.headline(
        SPLIT, "test RMSE", [("thesis preset", float("nan")), ("default preset", 0.14)])
    assert (setting, metric, value) == ("not scored: thesis preset",
                                        "test RMSE, default preset", 0.14)
    assert ledger.headline(SPLIT, "RMSE", [("alone", 0.5)]) == (SPLIT, "alone", "RMSE, alone",
                                                                 0.5)
    assert ledger.headline(SPLIT, "RMSE", [("diverged", None)], "setting") is None
    with pytest.raises(ValueError, match="SPLITS"):
        ledger.headline("mnist tset", "RMSE", figures)


# The committed ledger.

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COMMIT = re.compile(r"^[0-9a-f]{7,40}(\+dirty)?$")
PAST = "past (from git history): "


def test_the_committed_ledger_parses():
    rows = ledger.read_rows()
    assert len(rows) >= 90  # the past rows filled from git history
    dates = [r["date"] for r in rows]
    assert all(DATE.match(d) for d in dates) and dates == sorted(dates)
    for row in rows:
        assert row["split"] in ledger.SPLITS, row
        assert COMMIT.match(row["commit"]), row
        assert all(row[c] for c in ledger.COLUMNS), row
        float(row["value"])
        assert row["reads"] in ("1", ledger.AT_LEAST), row
        assert row["source"] == ledger.RECORDED or row["source"].startswith(PAST), row
        assert row["source"] != ledger.RECORDED or row["reads"] == "1", row


def test_the_committed_ledger_counts_the_reads_it_names():
    # Each figure the notes quote as a later look at the same test split is a row here.
    rows = ledger.read_rows()
    structured = [r["value"] for r in rows if r["split"] == SPLIT]
    earlier = ("0.2173", "0.1980", "0.1944", "0.2149", "0.1963")  # MIWAE settings that missed
    assert set(earlier) <= set(structured)
    # the read that met the 0.95 target came after them all (later rows: the release's)
    assert structured.index("0.1824") > max(structured.index(v) for v in earlier)
    conv = [r for r in rows if r["split"] == SPLIT and "miwae_vs_knn_conv" in r["experiment"]]
    # that read at 32881a7, then the release's regeneration of the same study
    assert [(r["commit"], r["value"]) for r in conv] == [("32881a7", "0.1824"),
                                                        ("4a23b1c", "0.1826")]
    iwae = [r for r in rows if r["split"] == "mnist test, binarized"
            and "iwae_training" in r["experiment"]]
    # 700 epochs, the budget raised to 1,600 on that test figure, then the release's run,
    # whose budget was chosen on validation images: the split's 5th read in all
    assert [(r["commit"], r["value"]) for r in iwae] == [("84e8fea", "86.15"),
                                                        ("74ab1d7", "85.62"),
                                                        ("4a23b1c", "85.5383")]
    assert iwae[2]["source"] == ledger.RECORDED
    assert ledger.reads_before("mnist test, binarized") == 5
    nested = [r for r in rows if r["split"] == "movielens u1-u5.test"
              and "movielens_nested" in r["experiment"]]
    # the 3-model read, the 5-model read at the raised budget, then the release's run
    assert [r["value"] for r in nested] == ["0.9019", "0.9010", "0.9008"]
    assert nested[2]["commit"] == "4a23b1c" and nested[2]["source"] == ledger.RECORDED


def test_the_committed_ledgers_commits_resolve():
    if subprocess.run(["git", "rev-parse", "--git-dir"], cwd=ROOT,
                      capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    hashes = set()
    for row in ledger.read_rows():
        hashes.add(row["commit"].split("+")[0])
        if row["source"].startswith(PAST):
            hashes.update(h.strip() for h in row["source"][len(PAST):].split(","))
    missing = [h for h in sorted(hashes) if subprocess.run(
        ["git", "cat-file", "-e", f"{h}^{{commit}}"], cwd=ROOT).returncode != 0]
    assert not missing


@pytest.mark.parametrize("script, table, name", [
    ("default_runs", "default_runs", "experiments/default_runs.py"),
    ("miwae_defaults", "miwae_defaults_random",
     "experiments/miwae_defaults.py --table=miwae_defaults_random")])
def test_a_run_names_itself_in_the_ledger_by_its_script(tmp_path, monkeypatch, script, table,
                                                        name):
    from experiments import scaffold
    recorded = []
    monkeypatch.setattr("experiments.ledger.record_read", lambda *a, **k: recorded.append(a[0]))
    monkeypatch.setattr("experiments.fingerprint.record", lambda *a, **k: None)
    config = scaffold.Config(table=table, stage=None)
    run = scaffold.Run(script, config, False, None, str(tmp_path), None)
    run.write_table("t", "-", [], "-", test_reads=[("mnist test", "s", "RMSE", 0.1)])
    assert run.experiment == name and recorded == [name]
