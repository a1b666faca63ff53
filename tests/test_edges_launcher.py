"""Hard edges of the launcher: flagfiles absl would misread, a TF_CONFIG TensorFlow would
hang on, a setting the run would ignore. Each gives one line, exit 2, and leaves nothing
behind (test_bad_input.py's rule)."""

import json
import os
import subprocess
import sys

import pytest

from test_bad_input import broken, run_case  # noqa: F401  (broken: a fixture)
from vae_tf.flagfiles import named

# The flagfiles of the cases, written in {flags}; {flags} in a file is its folder (a
# relative --flagfile line is read from the current folder, tmp_path, not from there).
FLAGFILES = {
    "latin1.flags": b"--epochs=2\n# caf\xe9 au lait\n",
    "includes_latin1.flags": b"--flagfile={flags}/latin1.flags\n",
    "self.flags": b"--epochs=2\n--flagfile={flags}/self.flags\n",
    "a.flags": b"--flagfile={flags}/b.flags\n",
    "b.flags": b"--epochs=2\n--flagfile={flags}/a.flags\n",
    "outer.flags": b"--flagfile=inner.flags\n",  # inner.flags is beside it, not in tmp_path
    "inner.flags": b"--epochs=2\n",
    # twice the same file, by two routes (absl reads it twice: no cycle), CRLF lines
    "diamond.flags": b"--flagfile={flags}/knn.flags\r\n--flagfile={flags}/k.flags\r\n",
    "knn.flags": b"--mode=impute\n--imputer=knn\n--flagfile={flags}/k.flags\n",
    "k.flags": b"# the K-NN's neighbours\n--k=0\n",
}

CASES = [  # (name, flags with {placeholders}, what the line must say)
    ("a missing flagfile", ["--flagfile=nosuch.flags"],
     "--flagfile=nosuch.flags: no such file in the current folder"),
    ("a missing flagfile, --flagfile FILE", ["--flagfile", "{empty}/nosuch.flags"],
     "/nosuch.flags: no such file; give the path of a flagfile (a text file of flags, one a "
     "line, e.g. --epochs=5)"),
    ("a folder as the flagfile", ["--flagfile={empty}"], "is a folder, not a file; give the "
     "path of a flagfile"),
    ("a flagfile not in UTF-8", ["--flagfile={flags}/latin1.flags"],
     "/latin1.flags is not UTF-8 text (byte 0xe9 at offset 16); save it as UTF-8"),
    ("an included flagfile not in UTF-8", ["--flagfile={flags}/includes_latin1.flags"],
     "/latin1.flags (named in "),
    ("a flagfile including itself", ["--epochs=1", "--flagfile={flags}/self.flags"],
     "/self.flags) includes itself ("),
    ("flagfiles including each other", ["--flagfile={flags}/a.flags"],
     "/b.flags) closes a cycle ("),
    ("an included flagfile by a path relative to its file", ["--flagfile={flags}/outer.flags"],
     "--flagfile=inner.flags (named in "),
    ("a flagfile included twice, in no cycle", ["--flagfile={flags}/diamond.flags"],
     "--k=0 must be a positive integer"),  # read through: the K-NN's own check answers
    ("--deterministic for the K-NN", ["--mode=impute", "--imputer=knn", "--deterministic"],
     "--deterministic=True does not apply here (--imputer=knn has no seed: it gives the same "
     "fill every time); drop it"),
]

TWO = '"worker": ["127.0.0.1:23456", "127.0.0.1:23457"]'
TF_CONFIG_CASES = [  # (name, TF_CONFIG, what the line must say)
    ("one address for two workers",
     '{"cluster": {"worker": ["127.0.0.1:23456", "127.0.0.1:23456"]}, '
     '"task": {"type": "worker", "index": 0}}',
     "TF_CONFIG's cluster lists the address '127.0.0.1:23456' twice (worker 0 and worker 1); "
     "give every task its own host:port"),
    ("one address for the chief and a worker",
     '{"cluster": {"chief": ["Host-A:2222"], "worker": ["host-a:2222"]}, '
     '"task": {"type": "chief", "index": 0}}',
     "lists the address 'host-a:2222' twice (chief 0 and worker 0)"),
    ("an IPv6 address without its closing bracket",
     '{"cluster": {"worker": ["[::1:23456", "127.0.0.1:23457"]}, '
     '"task": {"type": "worker", "index": 1}}',
     "TF_CONFIG's cluster address '[::1:23456' is not host:port (the host '[::1' opens or "
     "closes a bracket it does not match); give every task as e.g. \"10.0.0.2:12345\" "
     "(IPv6: \"[::1]:12345\")"),
    ("an IPv6 address without brackets",
     '{"cluster": {"worker": ["::1:23456"]}, "task": {"type": "worker", "index": 0}}',
     "an IPv6 host goes in brackets"),
    ("no IPv6 address in brackets",
     '{"cluster": {"worker": ["[::g]:23456"]}, "task": {"type": "worker", "index": 0}}',
     "'::g' in brackets is no IPv6 address"),
    ("an unknown rpc_layer",
     '{"cluster": {' + TWO + '}, "task": {"type": "worker", "index": 0}, "rpc_layer": "rdma"}',
     "TF_CONFIG's \"rpc_layer\" 'rdma' is unknown: TensorFlow serves grpc only; set "
     "\"rpc_layer\": \"grpc\" or leave it out"),
]


@pytest.fixture(scope="module")
def edges(broken, tmp_path_factory):  # noqa: F811
    """`broken`'s placeholders and {flags}, the folder of FLAGFILES."""
    return dict(broken, flags=make_flagfiles(tmp_path_factory.mktemp("flagfiles")))


def make_flagfiles(folder) -> str:
    """Write FLAGFILES into `folder` (a pathlib.Path); its path, the cases' {flags}."""
    for name, content in FLAGFILES.items():
        (folder / name).write_bytes(content.replace(b"{flags}", str(folder).encode()))
    return str(folder)


def _one_line(result, tmp_path, needle):
    assert result.returncode == 2, result.stderr[-1500:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-1500:]
    assert lines[0].startswith("vae-tf: error: ") and needle in lines[0], lines[0]
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("name, args, needle", CASES, ids=[c[0] for c in CASES])
def test_a_hard_edge_is_one_line(edges, tmp_path, name, args, needle):
    _one_line(run_case(edges, tmp_path, args), tmp_path, needle)


def test_a_cycle_is_named_file_by_file(edges, tmp_path):
    result = run_case(edges, tmp_path, ["--flagfile={flags}/a.flags"])
    a, b = (os.path.join(edges["flags"], f) for f in ("a.flags", "b.flags"))
    assert result.stderr.strip() == (
        f"vae-tf: error: --flagfile={a} (named in {b}) closes a cycle ({a} -> {b} -> {a}); "
        f"remove the line --flagfile={a} from {b}")


def run_with_tf_config(tmp_path, tf_config):
    """Launch --strategy=multi_worker with `tf_config` as a user would (run_case's way); a
    TF_CONFIG that TensorFlow would wait on forever fails the test by the timeout."""
    env = {k: v for k, v in os.environ.items() if k not in ("VAE_TF_DATA_DIR",
                                                            "TF_CPP_MIN_LOG_LEVEL")}
    env.update(TF_CONFIG=tf_config, VAE_TF_CLUSTER_TIMEOUT="5")
    return subprocess.run([sys.executable, "-m", "vae_tf.main", "--strategy=multi_worker",
                           f"--logdir={tmp_path / 'out'}"], capture_output=True, text=True,
                          env=env, timeout=60, cwd=str(tmp_path))


@pytest.mark.parametrize("name, tf_config, needle", TF_CONFIG_CASES,
                         ids=[c[0] for c in TF_CONFIG_CASES])
def test_a_tf_config_tensorflow_would_hang_on_is_one_line(tmp_path, name, tf_config, needle):
    json.loads(tf_config)  # the case is valid JSON: the check under test is the cluster's
    _one_line(run_with_tf_config(tmp_path, tf_config), tmp_path, needle)


@pytest.mark.parametrize("args, files", [
    (["--flagfile=a", "-flagfile=b", "--flagfile", "c", "-flagfile", "d"], ["a", "b", "c", "d"]),
    (["--flagfile= ~/e ", "--epochs=1", "--flagfile="], [os.path.expanduser("~/e")]),
    (["--flagfile=a", "--", "--flagfile=b"], ["a"]),  # absl reads no flag after "--"
    (["--flagfile"], []),  # absl's own one line: "--flagfile with no argument"
])
def test_the_flagfiles_named_are_those_absl_reads(args, files):
    assert named(args) == files
