"""Hard edges of the file parsers: an IDX header whose dimensions overflow, a gzip that
inflates past the original's size, a MovieLens split with one extra line. Each ends in
one line, exit 2, before anything is allocated or written (the CASES format of
test_bad_input.py)."""

import gzip
import logging
import math
import os
import struct
import tracemalloc

import pytest

import fixtures
from test_bad_input import run_case
from vae_tf.datasets import ALLOW_SMALL_VAR
from vae_tf.datasets.files import read_bytes
from vae_tf.datasets.mnist import original_size, parse_idx
from vae_tf.datasets.movielens import load_movielens_files, load_movielens_fold
from vae_tf.errors import UserError

TRAIN_IMAGES, TEST_IMAGES = "train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"
OVERFLOW = (2 ** 30, 2 ** 30, 16)  # 2**64 values: numpy's int64 product wraps to 0


def write_gz(path, *chunks):
    """A gzip of `chunks` (bytes), written one at a time."""
    with gzip.open(path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)


def add_line(path, line):
    with open(path, "a") as f:
        f.write(line)


def last_line(path):
    return open(path).read().splitlines()[-1] + "\n"


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    """Folders of damaged data, one per case."""
    return make_edges(tmp_path_factory.mktemp("edges"))


def make_edges(root):
    """Write the damaged data of every case under `root` (a pathlib.Path); their paths."""
    found = {}
    for name in ("overflow", "bomb"):
        found[name] = str(root / name)
        fixtures.write_mnist_idx(found[name], 5010, 7)
    write_gz(os.path.join(found["overflow"], TRAIN_IMAGES), struct.pack(">4i", 2051, *OVERFLOW))
    # The original's 10,000 test images (zeros), then 4 kB more: about 8 kB gzipped.
    write_gz(os.path.join(found["bomb"], TEST_IMAGES), struct.pack(">4i", 2051, 10000, 28, 28),
             bytes(10000 * 28 * 28 + 4096))
    for name in ("ml_repeat", "ml_shared"):
        found[name] = str(root / name)
        fixtures.write_movielens(found[name])
    ml = os.path.join(found["ml_repeat"], "ml-100k")
    add_line(os.path.join(ml, "ua.test"), last_line(os.path.join(ml, "ua.test")))
    ml = os.path.join(found["ml_shared"], "ml-100k")
    add_line(os.path.join(ml, "ua.test"), last_line(os.path.join(ml, "ua.base")))
    return found


CASES = [  # (name, flags with {placeholders}, what the line must say)
    ("IDX dimensions that overflow", ["--dataset=mnist", "--data_dir={overflow}"],
     f"{TRAIN_IMAGES}: header says 1073741824x1073741824x16 = 18446744073709551616 values "
     "but the file holds 0; the file is damaged or not an MNIST file: download it again"),
    ("a gzip inflating past the original", ["--dataset=mnist", "--data_dir={bomb}"],
     f"{TEST_IMAGES}: inflates to more than 7840016 bytes, the size of the original; the file "
     "is damaged or not the original: download it again"),
    ("ua.test with a rating repeated",
     ["--mode=impute", "--dataset=movielens_100k", "--data_dir={ml_repeat}"],
     "ua.test: user 943 rates item"),
    ("ua.test with a rating of ua.base",
     ["--mode=impute", "--dataset=movielens_100k", "--data_dir={ml_shared}"],
     "ua.test share a (user, item) rating; a split's two files must be disjoint"),
]


@pytest.mark.parametrize("name, args, needle", CASES, ids=[c[0] for c in CASES])
def test_a_hard_edge_is_one_line(edges, tmp_path, name, args, needle):
    # $VAE_TF_ALLOW_SMALL_DATA=1 (conftest.py): the fixtures' small counts are warnings, so
    # a warning logged before the error would show as a second line.
    result = run_case(edges, tmp_path, args)
    assert result.returncode == 2, result.stderr[-1500:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-1500:]
    assert lines[0].startswith("vae-tf: error: ") and needle in lines[0], lines[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "logs").exists()


# --- the parsers --------------------------------------------------------------------

def test_idx_dimensions_are_checked_exactly_before_any_array(tmp_path):
    path = str(tmp_path / TRAIN_IMAGES)
    for dims in (OVERFLOW, (2 ** 32 - 1,) * 3):  # the largest a header can hold
        write_gz(path, struct.pack(">i3I", 2051, *dims))
        shape = "x".join(map(str, dims))
        with pytest.raises(UserError, match=f"{shape} = {math.prod(dims)} values but the file "
                                            "holds 0; the file is damaged or not an MNIST file"):
            parse_idx(path, 3, original_size(TRAIN_IMAGES))


def test_a_gzip_is_inflated_no_further_than_the_limit(tmp_path):
    path = str(tmp_path / "zeros.gz")
    write_gz(path, bytes(1 << 20), bytes(1 << 20), bytes(1 << 20))  # 3 MB of zeros, 3 kB gzipped
    tracemalloc.start()
    try:
        with pytest.raises(UserError, match="zeros.gz: inflates to more than 1000 bytes"):
            read_bytes(path, 1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < (1 << 20), peak  # never the whole 3 MB
    assert len(read_bytes(path, 3 << 20)) == 3 << 20  # the limit itself is allowed
    plain = tmp_path / "plain"
    plain.write_bytes(bytes(10))
    with pytest.raises(UserError, match="plain: holds more than 9 bytes, the size of the original"):
        read_bytes(str(plain), 9)


def test_original_sizes_are_mnists():
    assert [original_size(f) for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                       TEST_IMAGES, "t10k-labels-idx1-ubyte.gz")] == [
        47040016, 60008, 7840016, 10008]  # the four files of yann.lecun.com, un-gzipped


@pytest.mark.parametrize("test_file, load", [("ua.test", load_movielens_files),
                                             ("u1.test", lambda d: load_movielens_fold(d, 1))])
def test_a_damaged_split_warns_of_no_count_before_its_error(tmp_path, monkeypatch, caplog,
                                                           test_file, load):
    monkeypatch.setenv(ALLOW_SMALL_VAR, "1")  # counts that differ only warn: none may come first
    root, _ = fixtures.write_movielens(tmp_path)
    add_line(os.path.join(root, test_file), last_line(os.path.join(root, test_file)))
    caplog.set_level(logging.WARNING)
    with pytest.raises(UserError, match=f"{test_file}: user 943 rates item .* more than once"):
        load(str(tmp_path))
    assert not caplog.records, caplog.text
