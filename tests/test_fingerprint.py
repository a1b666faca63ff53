"""experiments/fingerprint.py: a results file is current until its code, config or data change.

Each test builds a tiny repository in a temporary folder (a script, a module under vae_tf/
imported for real, a data root) and records a fingerprint there; no experiment runs.
"""

import hashlib
import importlib.util
import json
import os
import sys

import pytest

import fixtures
from vae_tf.datasets import files, load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "experiments"))
import fingerprint  # noqa: E402
from fingerprint_hashes import code_hash, first_difference  # noqa: E402

MODULE = '''"""A fake library module."""

SCALE = 2  # the factor


def scaled(x):
    """x times SCALE."""
    return SCALE * x
'''
SCRIPT = '''"""A fake experiment script."""

import sys

print("table")
'''
CONFIG = {"seed": 0, "budget": {"epochs": 10, "grid": [1, 2]}, "variants": ("a", "b")}


class Repo:
    """A temporary repository with one imported vae_tf module, a script and a data root."""

    def __init__(self, tmp_path, monkeypatch):
        self.root, self.data, self.out = (str(tmp_path / d) for d in ("repo", "data", "out"))
        for folder in ("vae_tf", "experiments", self.out, os.path.join(self.data, "mnist")):
            os.makedirs(os.path.join(self.root, folder), exist_ok=True)
        self.module = self.write("vae_tf/fake_lib.py", MODULE)
        self.script = self.write("experiments/fake_script.py", SCRIPT)
        self.datafile = os.path.join(self.data, "mnist", "images.bin")
        with open(self.datafile, "wb") as f:
            f.write(bytes(range(256)))
        spec = importlib.util.spec_from_file_location("fake_lib_for_fingerprint", self.module)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        monkeypatch.setitem(sys.modules, spec.name, module)
        monkeypatch.setattr(files, "READ_PATHS", set())  # only what this test reads
        files.note_read(self.datafile)
        self.config = dict(CONFIG)

    def write(self, rel: str, text: str) -> str:
        path = os.path.join(self.root, rel)
        with open(path, "w") as f:
            f.write(text)
        return path

    def record(self, name="table", **kwargs):
        with open(os.path.join(self.out, f"{name}.md"), "w") as f:
            f.write("# a table\n")
        return fingerprint.record(name, self.config, self.out, script=self.script,
                                  repo=self.root, data_root=self.data, **kwargs)

    def status(self, config=None, data_root="same"):
        config = self.config if config is None else config
        return fingerprint.status(self.out, lambda name: config, repo=self.root,
                                  data_root=self.data if data_root == "same" else data_root)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    return Repo(tmp_path, monkeypatch)


def test_a_recorded_fingerprint_is_current_right_after(repo):
    saved = json.load(open(repo.record()))
    assert repo.status() == [("table", "current", "")]
    assert saved["script"]["path"] == "experiments/fake_script.py"
    assert list(saved["modules"]) == ["vae_tf/fake_lib.py"]  # not the modules outside the repo
    assert saved["data"] == {"mnist/images.bin": {
        "size": 256, "sha256": hashlib.sha256(bytes(range(256))).hexdigest()}}
    assert saved["config"] == {"seed": 0, "budget": {"epochs": 10, "grid": [1, 2]},
                               "variants": ["a", "b"]}


@pytest.mark.parametrize("old, new", [
    ('"""x times SCALE."""', '"""Twice x, or SCALE times x."""'),  # a docstring
    ('"""A fake library module."""', '"""A module\n\nwith a longer docstring."""'),
    ("# the factor", "# how much larger"),  # a comment
    ("    return", "\n    # why\n    return"),  # a comment line and a blank line
])
def test_docstring_and_comment_edits_leave_it_current(repo, old, new):
    repo.record()
    repo.write("vae_tf/fake_lib.py", MODULE.replace(old, new))
    assert repo.status() == [("table", "current", "")]


@pytest.mark.parametrize("old, new", [
    ("SCALE = 2", "SCALE = 3"), ("SCALE * x", "x * SCALE"), ('"""x times SCALE."""', "pass")])
def test_a_code_edit_makes_it_stale_naming_the_module(repo, old, new):
    repo.record()
    repo.write("vae_tf/fake_lib.py", MODULE.replace(old, new))
    assert repo.status() == [("table", "stale", "vae_tf/fake_lib.py changed")]


def test_a_removed_module_or_an_edited_script_is_named(repo):
    repo.record()
    os.remove(repo.module)
    assert repo.status() == [("table", "stale", "vae_tf/fake_lib.py removed")]
    repo.write("experiments/fake_script.py", SCRIPT.replace('"table"', '"tables"'))
    assert repo.status()[0][2] == "experiments/fake_script.py changed, vae_tf/fake_lib.py removed"


def test_a_config_change_names_the_key_and_both_values(repo):
    repo.record()
    assert repo.status(dict(CONFIG, budget={"epochs": 20, "grid": [1, 2]})) == [
        ("table", "stale", "config budget.epochs: 10 -> 20")]
    assert repo.status(dict(CONFIG, variants=["a"]))[0][2] == \
        'config variants: ["a", "b"] -> ["a"]'
    assert repo.status(dict(CONFIG, lr=0.001))[0][2] == "config lr: added (0.001)"
    assert repo.status({"seed": 0})[0][2] == \
        'config budget: removed (was {"epochs": 10, "grid": [1, 2]})'
    assert repo.status(dict(CONFIG, seed=False))[0][2] == "config seed: 0 -> false"
    unknown = fingerprint.status(repo.out, lambda name: None, repo=repo.root,
                                 data_root=repo.data)
    assert unknown == [("table", "current", "config not checked")]


def test_config_change_compares_the_config_alone(repo):
    repo.record()
    repo.write("vae_tf/fake_lib.py", MODULE.replace("SCALE = 2", "SCALE = 3"))  # code: stale
    assert fingerprint.config_change(repo.out, "table", repo.config) is None
    assert fingerprint.config_change(repo.out, "table", dict(CONFIG, seed=1)) == \
        "config seed: 0 -> 1"
    assert fingerprint.config_change(repo.out, "other", repo.config) == fingerprint.NOT_RECORDED
    with open(fingerprint.fingerprint_path(repo.out, "table"), "w") as f:
        f.write("[]")
    assert fingerprint.config_change(repo.out, "table", repo.config).startswith(
        "fingerprint unreadable")


@pytest.mark.parametrize("damage, how", [
    (lambda path: open(path, "r+b").write(b"\xff"), "changed"),  # same size, other bytes
    (lambda path: open(path, "ab").write(b"\x00"), "changed"),
    (os.remove, "removed"),
])
def test_a_data_file_change_is_caught(repo, damage, how):
    repo.record()
    damage(repo.datafile)
    assert repo.status() == [("table", "stale", f"mnist/images.bin {how}")]


def test_without_the_data_root_the_data_is_not_checked(repo, monkeypatch):
    repo.record()
    monkeypatch.delenv(fingerprint.DATA_DIR_VAR, raising=False)
    os.remove(repo.datafile)
    assert repo.status(data_root=None) == [
        ("table", "current", "data not checked: 1 of 1 files, no data root (set "
                             "VAE_TF_DATA_DIR)")]


def test_a_missing_or_damaged_fingerprint_is_stale(repo):
    repo.record()
    repo.record("older")
    os.remove(fingerprint.fingerprint_path(repo.out, "older"))
    assert repo.status() == [("older", "stale", fingerprint.NOT_RECORDED),
                             ("table", "current", "")]
    with open(fingerprint.fingerprint_path(repo.out, "table"), "w") as f:
        f.write("{")
    assert repo.status()[1][:2] == ("table", "stale")
    assert "fingerprint unreadable" in repo.status()[1][2]


def test_hashes_from_another_python_are_not_compared(repo):
    path = repo.record()
    saved = json.load(open(path))
    json.dump(dict(saved, python="2.7"), open(path, "w"))
    assert repo.status()[0][1:] == ("stale", f"code hashed under Python 2.7, this is "
                                             f"{sys.version_info.major}.{sys.version_info.minor}")


def test_named_stages_without_a_results_file_are_stale(repo):
    repo.record()
    got = fingerprint.status(repo.out, None, names=["table", "new_one"], repo=repo.root,
                             data_root=repo.data)
    assert got == [("table", "current", "config not checked"),
                   ("new_one", "stale", "no results file yet")]


def test_inputs_are_hashed_by_their_bytes(repo):
    numbers = repo.write("experiments/numbers.json", '{"a": 1}')
    repo.record(inputs=[numbers])
    assert repo.status()[0][1] == "current"
    repo.write("experiments/numbers.json", '{"a": 2}')
    assert repo.status() == [("table", "stale", "experiments/numbers.json changed")]


def test_code_hash_ignores_docstrings_and_comments_only():
    base = code_hash(MODULE.encode())
    assert code_hash(MODULE.replace("# the factor", "").encode()) == base
    assert code_hash(MODULE.replace("SCALE = 2", "SCALE = 2.0").encode()) != base
    assert code_hash(b"def broken(:\n") != code_hash(b"def broken( :\n")  # raw bytes


def test_first_difference_of_nested_configs():
    assert first_difference({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}}) == \
        "config a.c: 2 -> 3"
    assert first_difference({"a": 1}, {"a": 1}) is None


def test_plan_respects_the_budget_and_the_order():
    minutes = {"a": 20, "b": 50, "c": 10, "d": 200, "e": 30}
    got = fingerprint.plan(["a", "b", "c", "d", "e"], minutes, 60)
    assert (got.run, got.later, got.too_long) == (["a", "c", "e"], ["b"], ["d"])
    assert sum(minutes[s] for s in got.run) <= 60
    assert fingerprint.plan(["e", "a"], minutes, 30).run == ["e"]  # first come, first run
    everything = fingerprint.plan(["d", "a"], minutes, None)
    assert everything.run == ["d", "a"] and not everything.later + everything.too_long
    lines = got.lines()
    assert lines[0] == "to run now: a (20 min), c (10 min), e (30 min); about 60 min of the " \
                       "60 min budget"
    assert lines[1:] == ["left for a later sitting: b (50 min)",
                         "longer than the whole budget, not run: d (200 min); give a larger "
                         "--budget"]


@pytest.mark.parametrize("budget", [0, -5, float("nan"), float("inf")])
def test_plan_refuses_a_budget_that_is_not_positive_minutes(budget):
    with pytest.raises(SystemExit, match=r"--budget=.* is not a positive number of minutes"):
        fingerprint.plan(["a"], {"a": 1}, budget)


def test_status_lines_and_exit_code():
    lines, code = fingerprint.status_lines([("a", "current", ""), ("long_name", "stale", "x")])
    assert lines == ["a          current", "long_name  stale    x", "1 of 2 results stale"]
    assert code == 1
    assert fingerprint.status_lines([("a", "current", "")]) == (
        ["a  current", "all 1 results current"], 0)


def test_the_loaders_note_the_files_they_read(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_TF_ALLOW_SMALL_DATA", "1")
    monkeypatch.setattr(files, "READ_PATHS", set())
    fixtures.write_mnist_idx(tmp_path / "mnist", n_train=5010, n_test=3)
    load("mnist", str(tmp_path / "mnist"))
    ml_root, _ = fixtures.write_movielens(str(tmp_path), users=943, per_user=12)
    load("movielens_100k", ml_root)
    read = {os.path.relpath(p, tmp_path) for p in files.READ_PATHS}
    assert {f"mnist/{f}" for f in os.listdir(tmp_path / "mnist")} <= read
    assert {"ml-100k/ua.base", "ml-100k/ua.test"} <= read
