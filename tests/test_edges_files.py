"""Hard edges of the file parsers: an IDX header whose dimensions overflow. Each ends in
one line, exit 2, before anything is allocated or written (the CASES format of
test_bad_input.py)."""

import gzip
import math
import os
import struct

import pytest

import fixtures
from test_bad_input import run_case
from vae_tf.datasets.mnist import parse_idx
from vae_tf.errors import UserError

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
OVERFLOW = (2 ** 30, 2 ** 30, 16)  # 2**64 values: numpy's int64 product wraps to 0


def write_gz(path, *chunks):
    """A gzip of `chunks` (bytes), written one at a time."""
    with gzip.open(path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    """Folders of damaged data, one per case."""
    root = tmp_path_factory.mktemp("edges")
    found = {"overflow": str(root / "overflow")}
    fixtures.write_mnist_idx(found["overflow"], 5010, 7)
    write_gz(os.path.join(found["overflow"], TRAIN_IMAGES), struct.pack(">4i", 2051, *OVERFLOW))
    return found


CASES = [  # (name, flags with {placeholders}, what the line must say)
    ("IDX dimensions that overflow", ["--dataset=mnist", "--data_dir={overflow}"],
     f"{TRAIN_IMAGES}: header says 1073741824x1073741824x16 = 18446744073709551616 values "
     "but the file holds 0; the file is damaged or not an MNIST file: download it again"),
]


@pytest.mark.parametrize("name, args, needle", CASES, ids=[c[0] for c in CASES])
def test_a_hard_edge_is_one_line(edges, tmp_path, name, args, needle):
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
            parse_idx(path, 3)
