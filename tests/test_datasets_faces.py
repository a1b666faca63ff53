"""ORL and Cropped Yale B faces from PGM folders the tests write; every bad-file error."""

import logging
import os

import numpy as np
import pytest

import fixtures
from vae_tf.datasets import load
from vae_tf.errors import UserError


def raises_one_line(name, data_dir, needle, match):
    with pytest.raises(UserError, match=match) as err:
        load(name, None if data_dir is None else str(data_dir))
    message = str(err.value)
    assert len(message.splitlines()) == 1 and str(needle) in message, message


@pytest.fixture(scope="module")
def orl(tmp_path_factory):
    folder = tmp_path_factory.mktemp("orl") / "orl_faces"
    fixtures.write_orl(str(folder))
    return folder


def test_orl_faces_split_and_values(orl):
    for data_dir in (orl, orl.parent):  # the s1..s40 folder or its parent
        data = load("orl_faces", str(data_dir))
        assert data.train.shape == (360, 112 * 92) and data.test.shape == (40, 112 * 92)
    assert data.image_shape == (112, 92, 1) and data.train.dtype == np.float32
    assert list(data.test_labels) == list(range(40)) and data.test_labels.dtype == np.int64
    assert list(data.train_labels[:10]) == [0] * 9 + [1]
    pixels = fixtures.write_pgm(str(orl / "s3" / "10.pgm"), 92, 112, seed=3 * 10 + 10)  # as written
    np.testing.assert_allclose(load("orl_faces", str(orl)).test[2], pixels.reshape(-1) / 255,
                               rtol=1e-6)


def _write(path, payload: bytes):
    with open(path, "wb") as f:
        f.write(payload)


ORL_CASES = [
    ("wrong size", lambda p: fixtures.write_pgm(os.path.join(p, "s7", "3.pgm"), 90, 112),
     os.path.join("s7", "3.pgm"), "image is 90x112 .* expected 92x112"),
    ("missing", lambda p: os.remove(os.path.join(p, "s40", "10.pgm")),
     os.path.join("s40", "10.pgm"),
     r"is missing \(399 of the 400 images found\); the ORL database has folders s1"),
    ("not a PGM", lambda p: _write(os.path.join(p, "s2", "5.pgm"), b"hello"),
     os.path.join("s2", "5.pgm"), "not a readable 8-bit grey PGM"),
    ("16-bit PGM", lambda p: _write(os.path.join(p, "s2", "5.pgm"),
                                    b"P5\n92 112\n65535\n" + bytes(2 * 92 * 112)),
     os.path.join("s2", "5.pgm"), "not a readable 8-bit grey PGM"),
    ("truncated PGM", lambda p: _write(os.path.join(p, "s2", "5.pgm"),
                                       b"P5\n92 112\n255\n" + bytes(500)),
     os.path.join("s2", "5.pgm"), "not a readable 8-bit grey PGM"),
]


@pytest.mark.parametrize("damage, file, message", [c[1:] for c in ORL_CASES],
                         ids=[c[0] for c in ORL_CASES])
def test_bad_orl_files(tmp_path, damage, file, message):
    fixtures.write_orl(str(tmp_path))
    damage(str(tmp_path))
    raises_one_line("orl_faces", tmp_path, file, message)


def test_faces_without_data_dir_say_where_to_get_them(tmp_path, monkeypatch):
    monkeypatch.delenv("VAE_TF_DATA_DIR", raising=False)  # no data root either
    raises_one_line("orl_faces", None, "cam-orl.co.uk", "not in TensorFlow Datasets.*s1 .. s40")
    raises_one_line("yale_faces", None, "ExtYaleB",
                    "not in TensorFlow Datasets.*CroppedYale/yaleBxx")
    raises_one_line("orl_faces", tmp_path / "nope", "nope", "no such folder")
    raises_one_line("orl_faces", tmp_path, os.path.join("s1", "1.pgm"), "is missing")


def test_yale_faces_skip_bad_and_ambient_and_log_it(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    root = fixtures.write_yale(str(tmp_path), subjects=(1, 2), bad=(3,))
    (tmp_path / "CroppedYale" / "yaleB01" / "yaleB01_P00.info").write_text("list\n")
    data = load("yale_faces", str(tmp_path))
    assert len(data.train) + len(data.test) == 2 * 63  # the .bad and _Ambient left out
    assert "skipped 2 '.bad' captures, 2 ambient images" in caplog.text
    # Every 5th valid image of a subject (file-name order, .bad left out) is test: 12 of 63.
    assert data.test.shape == (24, 192 * 168) and data.train.shape == (102, 192 * 168)
    assert list(data.test_labels) == [0] * 12 + [1] * 12
    assert data.image_shape == (192, 168, 1) and data.train.dtype == np.float32
    valid = [n for i, n in enumerate(fixtures.yale_condition_names(1)) if i != 3]
    first = fixtures.yale_condition_names(1).index(valid[4])  # the 5th valid image
    pixels = fixtures.write_pgm(os.path.join(root, "yaleB01", valid[4]), 168, 192,
                                seed=100 + first)  # rewrite the same pixels
    np.testing.assert_allclose(data.test[0], pixels.reshape(-1) / 255, rtol=1e-6)
    direct = load("yale_faces", root)  # CroppedYale/ itself
    np.testing.assert_array_equal(direct.train, data.train)


def test_bad_yale_folders(tmp_path):
    root = fixtures.write_yale(str(tmp_path), subjects=(1, 2))
    bad_size = os.path.join(root, "yaleB02", fixtures.yale_condition_names(2)[10])
    fixtures.write_pgm(bad_size, 640, 480)
    raises_one_line("yale_faces", tmp_path, bad_size, "image is 640x480 .* expected 168x192")
    os.remove(bad_size)
    raises_one_line("yale_faces", tmp_path, "yaleB02", "63 illumination images .* expected 64")
    raises_one_line("yale_faces", os.path.join(root, "yaleB01"), "yaleB01", "no CroppedYale")
    raises_one_line("yale_faces", tmp_path / "nope", "nope", "no such folder")
