"""The dataset loaders note each data file they read (vae_tf.datasets.files.READ_PATHS),
so a results fingerprint can list the data behind a table."""

import os

import fixtures
from vae_tf.datasets import files, load


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
