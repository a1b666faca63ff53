"""Never a silently smaller dataset, and a read error is not a corrupt file.

These tests run WITHOUT $VAE_TF_ALLOW_SMALL_DATA (as the launcher does): a dataset
smaller than its original is a one-line UserError naming the file, the count found, the
original count and the fix; the variable turns it into a warning. An unreadable path is
a UserError "cannot be read", never an OSError.
"""

import builtins
import logging
import os
import shutil

import pytest

import fixtures
from conftest import real_data_dir
from vae_tf.datasets import ALLOW_SMALL_VAR, load
from vae_tf.datasets.movielens import load_movielens_fold
from vae_tf.errors import UserError


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    """The launcher's setting, whatever the test session sets."""
    monkeypatch.delenv(ALLOW_SMALL_VAR, raising=False)


def one_line_error(call, *needles):
    with pytest.raises(UserError) as err:
        call()
    message = str(err.value)
    assert len(message.splitlines()) == 1, message
    for needle in needles:
        assert str(needle) in message, message
    return message


def refused(name, data_dir, *needles):
    return one_line_error(lambda: load(name, str(data_dir)), *needles)


# --- smaller than the original -------------------------------------------------------

SMALL = {  # name -> (fixture writer, file or folder named, found, original)
    "mnist": (lambda p: fixtures.write_mnist_idx(p, n_train=5010, n_test=7),
              "train-images-idx3-ubyte.gz", "5010 images", 60000),
    "binarized_mnist": (fixtures.write_amat, "binarized_mnist_train.amat", "6 images", 50000),
    "cifar10_gray": (fixtures.write_cifar, "data_batch_1", "4 images", 10000),
    "omniglot_gr": (lambda p: fixtures.write_omniglot(p, "Greek", characters=2),
                    "images_background/Greek", "40 images", 480),
    "movielens_100k": (fixtures.write_movielens, "ua.base", "1886 ratings", 90570),
}


@pytest.mark.parametrize("name", list(SMALL))
def test_a_smaller_dataset_is_refused_unless_allowed(tmp_path, monkeypatch, caplog, name):
    write, where, found, original = SMALL[name]
    write(tmp_path)
    message = refused(name, tmp_path, where, f"holds {found} but the original has {original}",
                      f"{ALLOW_SMALL_VAR}=1")
    assert any(fix in message for fix in ("download", "restore", "unpack")), message
    monkeypatch.setenv(ALLOW_SMALL_VAR, "1")  # a smaller set on purpose: a warning
    caplog.set_level(logging.WARNING)
    assert len(load(name, str(tmp_path)).train) > 0
    assert f"holds {found}, not the {original}" in caplog.text


def test_omniglot_names_the_missing_characters(tmp_path):
    fixtures.write_omniglot(tmp_path, "Latin", characters=26)
    shutil.rmtree(tmp_path / "images_background" / "Latin" / "character03")
    refused("omniglot_en", tmp_path, "Latin: holds 500 images but the original has 520",
            "restore the missing characters (character03) from the original archive")
    fixtures.write_omniglot(tmp_path, "Latin", characters=27)  # one too many
    refused("omniglot_en", tmp_path, "character27: the original Latin alphabet has "
            "characters 01..26")


def test_a_smaller_movielens_fold_is_refused(tmp_path):
    fixtures.write_movielens(tmp_path)
    one_line_error(lambda: load_movielens_fold(str(tmp_path), 2), "u2.base",
                   "the original has 80000")


def test_orl_with_a_missing_image_is_refused_even_when_allowed(tmp_path, monkeypatch):
    fixtures.write_orl(str(tmp_path))
    os.remove(tmp_path / "s12" / "4.pgm")
    monkeypatch.setenv(ALLOW_SMALL_VAR, "1")
    refused("orl_faces", tmp_path, os.path.join("s12", "4.pgm"), "is missing (399 of the 400 "
            "images found)", "restore the missing files")


def test_yale_a_gap_in_the_subjects_is_refused_a_prefix_is_a_warning(tmp_path, monkeypatch,
                                                                     caplog):
    caplog.set_level(logging.WARNING)
    fixtures.write_yale(str(tmp_path), subjects=(1, 3), conditions=64)
    refused("yale_faces", tmp_path, "yaleB02 is missing but later subjects are there",
            "(2 of the 38 subjects found", "restore the missing subject folders")
    monkeypatch.setenv(ALLOW_SMALL_VAR, "1")  # on purpose: a warning
    assert len(load("yale_faces", str(tmp_path)).test) == 24
    assert "holds 2 of the 38 subjects" in caplog.text
    monkeypatch.delenv(ALLOW_SMALL_VAR)
    shutil.rmtree(tmp_path / "CroppedYale" / "yaleB03")  # yaleB01 alone: a subset, no gap
    caplog.clear()
    assert len(load("yale_faces", str(tmp_path)).test) == 12
    assert "holds 1 of the 38 subjects of the database (yaleB01 .. yaleB01)" in caplog.text
    os.rename(tmp_path / "CroppedYale" / "yaleB01", tmp_path / "CroppedYale" / "yaleB14")
    refused("yale_faces", tmp_path, "yaleB14: not a subject of the Extended Yale B database")


# --- the real files, cut short or damaged ---------------------------------------------

def test_real_ua_base_cut_in_half_is_refused(tmp_path):
    source = os.path.join(real_data_dir("movielens_100k"), "ml-100k")
    shutil.copytree(source, tmp_path / "ml-100k")
    lines = (tmp_path / "ml-100k" / "ua.base").read_text().splitlines(keepends=True)
    (tmp_path / "ml-100k" / "ua.base").write_text("".join(lines[:45285]))
    refused("movielens_100k", tmp_path, os.path.join("ml-100k", "ua.base"),
            "holds 45285 ratings but the original has 90570", "restore the original file")


def _yale_source(*parts):
    """The real CroppedYale folder, absolute: a symlink's target resolves from its own folder,
    so a relative $VAE_TF_DATA_DIR would leave every link under tmp_path dangling."""
    return os.path.abspath(os.path.join(real_data_dir("yale_faces"), "CroppedYale", *parts))


def _link_yale(tmp_path, leave_out):
    source = _yale_source()
    root = tmp_path / "CroppedYale"
    root.mkdir()
    for subject in sorted(os.listdir(source)):
        if subject not in leave_out:
            os.symlink(os.path.join(source, subject), root / subject)
    return root


def test_real_yale_with_a_subject_deleted_is_refused(tmp_path):
    _link_yale(tmp_path, {"yaleB05", "yaleB20"})
    refused("yale_faces", tmp_path, "yaleB05 is missing", "(22 of the 38 subjects found, 2 "
            "missing before yaleB25)")


def test_real_yale_with_an_image_deleted_is_refused(tmp_path):
    root = _link_yale(tmp_path, {"yaleB07"})
    source = _yale_source("yaleB07")
    (root / "yaleB07").mkdir()
    for f in sorted(os.listdir(source))[1:]:  # all but one image
        os.symlink(os.path.join(source, f), root / "yaleB07" / f)
    refused("yale_faces", tmp_path, "yaleB07: 63 illumination images", "expected 64",
            "restore the subject's original files")


# --- read errors ---------------------------------------------------------------------

WRITERS = {  # name -> (fixture writer, a file inside the data folder it reads)
    "mnist": (fixtures.write_mnist_idx, "t10k-labels-idx1-ubyte.gz"),
    "binarized_mnist": (fixtures.write_amat, "binarized_mnist_valid.amat"),
    "cifar10_rgb": (fixtures.write_cifar, os.path.join("cifar-10-batches-py", "test_batch")),
    "omniglot_en": (fixtures.write_omniglot, os.path.join("images_background", "Latin",
                                                          "character02", "1002_05.png")),
    "omniglot_gr": (lambda p: fixtures.write_omniglot(p, "Greek", as_zip=True),
                    "images_background_small1.zip"),
    "movielens_100k": (fixtures.write_movielens, os.path.join("ml-100k", "ua.test")),
    "orl_faces": (lambda p: fixtures.write_orl(str(p)), os.path.join("s3", "7.pgm")),
    "yale_faces": (lambda p: fixtures.write_yale(str(p), subjects=(1,)),
                   os.path.join("CroppedYale", "yaleB01", "yaleB01_P00A-130E+00.pgm")),
}


@pytest.fixture
def written(tmp_path, monkeypatch, request):
    """(name, folder, the file) with the fixture written; small fixtures allowed."""
    monkeypatch.setenv(ALLOW_SMALL_VAR, "1")
    write, file = WRITERS[request.param]
    write(tmp_path)
    assert os.path.isfile(tmp_path / file)
    return request.param, tmp_path, tmp_path / file


@pytest.mark.parametrize("written", list(WRITERS), indirect=True)
def test_permission_denied_is_cannot_be_read(written, monkeypatch):
    name, folder, target = written
    real_open = builtins.open

    def denying_open(file, *args, **kwargs):  # chmod 000 does not stop root: simulate it
        if os.fspath(file) == str(target):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denying_open)
    refused(name, folder, str(target), "cannot be read (permission denied)", "chmod u+r")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file whatever its mode")
@pytest.mark.parametrize("written", ["mnist", "omniglot_en"], indirect=True)
def test_a_file_without_read_permission_is_cannot_be_read(written):
    name, folder, target = written
    os.chmod(target, 0)
    refused(name, folder, str(target), "cannot be read (permission denied)")


@pytest.mark.parametrize("written", list(WRITERS), indirect=True)
def test_a_broken_link_or_a_folder_where_a_file_belongs_is_cannot_be_read(written):
    name, folder, target = written
    os.remove(target)
    os.symlink(folder / "nowhere", target)  # dangling
    refused(name, folder, str(target), "cannot be read (a broken symbolic link)")
    os.remove(target)
    os.mkdir(target)
    refused(name, folder, str(target), "cannot be read (a folder, not a file)")
