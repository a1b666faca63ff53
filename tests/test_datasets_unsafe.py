"""Crafted inputs: CIFAR-10 pickles that would run code, OMNIGLOT zips that are bombs or
point outside the archive. Each is refused in one UserError line and runs nothing."""

import builtins
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

import fixtures
from vae_tf.datasets import ALLOW_SMALL_VAR, load
from vae_tf.datasets import cifar, omniglot
from vae_tf.errors import UserError


@pytest.fixture(autouse=True)
def small_data_allowed(monkeypatch):
    """The fixtures are small on purpose: these tests are about crafted files."""
    monkeypatch.setenv(ALLOW_SMALL_VAR, "1")


def one_line_error(name, data_dir, *needles):
    with pytest.raises(UserError) as err:
        load(name, str(data_dir))
    message = str(err.value)
    assert len(message.splitlines()) == 1, message
    for needle in needles:
        assert str(needle) in message, message
    return message


# --- CIFAR-10 pickles ------------------------------------------------------------------

@pytest.mark.parametrize("python2", [True, False], ids=["official (Python 2)", "protocol 4"])
def test_cifar_batches_as_the_official_files_and_as_numpy_2_writes_them(tmp_path, python2):
    batches = fixtures.write_cifar(tmp_path, n_per_batch=3, python2=python2)
    data = load("cifar10_rgb", str(tmp_path))
    assert data.train.shape == (15, 3072) and data.test.shape == (3, 3072)
    np.testing.assert_array_equal(data.test_labels, batches["test_batch"][1])
    first = batches["data_batch_1"][0][0]  # uint8 [3072]: red plane, green, blue
    np.testing.assert_allclose(data.train[0, :3], first[[0, 1024, 2048]] / 255, rtol=1e-6)


def test_the_allowed_globals_are_exactly_what_numpy_pickles_an_array_with():
    array = np.zeros((2, 3072), np.uint8)
    found = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            found.add((module, name))
            return cifar.ALLOWED.get((module, name)) or super().find_class(module, name)

    for raw in (pickle.dumps(array, protocol=3), pickle.dumps(array, protocol=4),
                fixtures.python2_pickle(array)):  # the official batches' format
        np.testing.assert_array_equal(Recorder(io.BytesIO(raw), encoding="bytes").load(), array)
    assert found == set(cifar.ALLOWED), found


PAYLOADS = {  # what a crafted pickle could call, and the name the refusal shows
    "os.system": (lambda marker: fixtures.Payload(os.system, f"touch {marker}"), "system"),
    "builtins.open": (lambda marker: fixtures.Payload(builtins.open, str(marker), "w"), "open"),
    "builtins.eval": (lambda marker: fixtures.Payload(builtins.eval, f"open({str(marker)!r}, "
                                                                      "'w')"), "eval"),
}


@pytest.mark.parametrize("payload", list(PAYLOADS))
def test_a_crafted_batch_is_refused_and_runs_nothing(tmp_path, payload):
    fixtures.write_cifar(tmp_path)
    marker = tmp_path / "payload_ran"
    make, shown = PAYLOADS[payload]
    batch = {b"data": make(marker), b"labels": [1]}
    for raw in (fixtures.python2_pickle(batch), pickle.dumps(batch, protocol=4)):
        (tmp_path / "cifar-10-batches-py" / "data_batch_2").write_bytes(raw)
        message = one_line_error("cifar10_rgb", tmp_path, "data_batch_2", "refused to unpickle",
                                 f".{shown}'", "cifar-10-python.tar.gz")
        assert "could run code" in message
        assert not marker.exists(), "the payload ran"
    if payload == "builtins.open":  # the payload is live: a plain unpickler would run it
        pickle.loads(raw)
        assert marker.exists()


def test_other_ways_to_pickle_an_array_are_refused_too(tmp_path):
    fixtures.write_cifar(tmp_path)
    batch = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [1]}
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(batch, protocol=5))
    one_line_error("cifar10_rgb", tmp_path, "test_batch", "refused to unpickle", "_frombuffer")


# --- OMNIGLOT zips ---------------------------------------------------------------------

def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)


def _files_under(folder):
    return sorted(os.path.relpath(os.path.join(r, f), folder)
                  for r, _, files in os.walk(folder) for f in files)


@pytest.mark.parametrize("name", ["../../evil/character01/0001_01.png",
                                  "images_background/../../Latin/character01/0001_01.png",
                                  "/tmp/Latin/character01/0001_01.png",
                                  "C:/Latin/character01/0001_01.png"])
def test_a_member_path_outside_the_archive_is_refused(tmp_path, name):
    path = tmp_path / "images_background_small1.zip"
    _zip(path, {"images_background_small1/Latin/character01/0001_01.png": fixtures.omniglot_png(0),
                name: fixtures.omniglot_png(1)})
    assert name in zipfile.ZipFile(path).namelist()  # zipfile keeps the name as written
    before = _files_under(tmp_path)
    one_line_error("omniglot_en", tmp_path, path.name, repr(name), "path outside the archive",
                   "download it again")
    assert _files_under(tmp_path) == before  # nothing extracted


def test_a_member_decompressing_to_2_mb_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "images_background.zip"
    bomb = "images_background/Latin/character01/0001_01.png"
    _zip(path, {bomb: bytes(2 << 20)})
    assert path.stat().st_size < 10_000  # 2 MB of zeros compress to a few kB
    message = one_line_error("omniglot_en", path, path.name, "declares 2097152 bytes",
                             f"over the {omniglot.MAX_MEMBER_BYTES} bytes bound")
    assert "decompression bomb" in message


def test_members_declaring_too_much_in_all_are_refused(tmp_path):
    path = tmp_path / "images_background.zip"
    count, declared = 201, omniglot.MAX_MEMBER_BYTES  # each within bounds, 201 MB in all
    _zip(path, {f"images_background/Latin/character01/{i:04d}_01.png": b"" for i in range(count)})
    raw = bytearray(path.read_bytes())
    start = 0
    for _ in range(count):  # declare each member's uncompressed size in the central directory
        start = raw.index(b"PK\x01\x02", start)
        raw[start + 24:start + 28] = struct.pack("<I", declared)
        start += 4
    path.write_bytes(bytes(raw))
    assert sum(i.file_size for i in zipfile.ZipFile(path).infolist()) == count * declared
    one_line_error("omniglot_en", tmp_path, path.name,
                   f"{count} members declare {count * declared} bytes",
                   f"over the {omniglot.MAX_ARCHIVE_BYTES} bytes bound")


def test_the_real_archive_is_within_the_bounds():
    from conftest import real_data_dir
    path = os.path.join(real_data_dir("omniglot"), "images_background_small1.zip")
    infos = zipfile.ZipFile(path).infolist()
    omniglot.check_archive(path, infos)  # no error
    assert max(i.file_size for i in infos) * 1000 < omniglot.MAX_MEMBER_BYTES
