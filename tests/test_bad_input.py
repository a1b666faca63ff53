"""The catalogue of bad input (BAD_INPUT.md): each gives one line, exit 2, no traceback,
and leaves nothing behind."""

import gzip
import os
import time
import subprocess
import sys

import numpy as np
import pytest

import fixtures


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """Folders of damaged data, one per case (and a live process holding one's lock)."""
    found = make_broken(tmp_path_factory.mktemp("broken"))
    yield found
    found["holder"].kill()
    found["holder"].wait()


def make_broken(root):
    """Write the damaged data of every case under `root` (a pathlib.Path); their paths."""
    def folder(name):
        path = root / name
        path.mkdir()
        return str(path)

    corrupt = folder("corrupt")
    fixtures.write_mnist_idx(corrupt, 5010, 7)
    with open(os.path.join(corrupt, "train-images-idx3-ubyte.gz"), "r+b") as f:
        f.truncate(100)
    magic = folder("magic")
    fixtures.write_mnist_idx(magic, 5010, 7)
    with gzip.open(os.path.join(magic, "t10k-images-idx3-ubyte.gz"), "wb") as f:
        f.write(fixtures.idx_bytes(np.zeros(7, np.uint8)))
    orl = folder("orl")
    fixtures.write_orl(orl)
    fixtures.write_pgm(os.path.join(orl, "s7", "3.pgm"), 90, 112)
    bad_ratings = folder("ml")
    ml_root, _ = fixtures.write_movielens(bad_ratings)
    with open(os.path.join(ml_root, "ua.test"), "a") as f:
        f.write("1\t2\t6\t880000000\n")
    ratings = folder("ml2")
    fixtures.write_movielens(ratings)
    (root / "file").write_text("not a folder")
    locked = folder("locked")  # a live run holds its lock: another process, until killed
    code = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'otherhost 4242'); time.sleep(900)")
    holder = subprocess.Popen([sys.executable, "-c", code, os.path.join(locked, ".lock")])
    deadline = time.time() + 30
    while time.time() < deadline and not _reads(os.path.join(locked, ".lock"), "otherhost 4242"):
        time.sleep(0.05)
    return {"holder": holder, "locked": locked, "corrupt": corrupt, "magic": magic, "orl": orl,
            "ml": bad_ratings, "ml2": ratings, "empty": folder("empty"),
            "file": str(root / "file")}


OFFLINE = "a TensorFlow Datasets name offline, without a data root"  # needs no network
CASES = [  # (name, flags with {placeholders}, what the line must say)
    ("unknown dataset", ["--dataset=cifar100"], "value should be one of"),
    ("missing data_dir", ["--dataset=mnist", "--data_dir=/no/such/folder"], "no such folder"),
    ("empty data_dir", ["--dataset=mnist", "--data_dir={empty}"], "mnist needs train-images"),
    ("corrupt gzip", ["--dataset=mnist", "--data_dir={corrupt}"], "truncated or corrupt"),
    ("wrong IDX magic", ["--dataset=mnist", "--data_dir={magic}"], "IDX magic number 2049"),
    ("PGM of the wrong size", ["--dataset=orl_faces", "--data_dir={orl}"], "expected 92x112"),
    ("out-of-range rating", ["--mode=impute", "--dataset=movielens_100k", "--data_dir={ml}"],
     "rating 6 out of range"),
    ("faces without data_dir", ["--dataset=yale_faces"], "not in TensorFlow Datasets"),
    ("K above the references", ["--mode=impute", "--imputer=knn", "--k=5000"],
     "more than the 4000 reference examples"),
    ("K = 0", ["--mode=impute", "--imputer=knn", "--k=0"], "--k=0 must be a positive integer"),
    ("batch larger than the data", ["--batch_size=5000"], "larger than the 4000 training"),
    ("zero epochs", ["--epochs=0"], "--epochs=0 must be a positive integer"),
    ("negative learning rate", ["--learning_rate=-0.01"], "must be a finite positive number"),
    ("infinite learning rate", ["--learning_rate=inf"], "must be a finite positive number"),
    ("infinite init stddev", ["--init_stddev=inf"], "--init_stddev=inf must be a finite"),
    ("huge init stddev", ["--init_stddev=1e6"],
     "--init_stddev=1000000.0 must be a finite number in (0, 1]"),
    ("negative seed", ["--seed=-1"], "--seed=-1 must be 0 to 4294967295 (2**32 - 1)"),
    ("seed above 2**32-1", ["--seed=99999999999"], "--seed=99999999999 must be 0 to 4294967295"),
    ("negative seed when imputing", ["--mode=impute", "--seed=-5"], "--seed=-5 must be 0 to"),
    ("a strategy for the K-NN", ["--mode=impute", "--imputer=knn", "--strategy=mirrored"],
     "--strategy=mirrored does not apply here (--imputer=knn does not train)"),
    ("--iwae_samples when imputing", ["--mode=impute", "--iwae_samples=100"],
     "--iwae_samples=100 does not apply here (it is a --mode=train setting"),
    ("--k when training", ["--k=5"], "--k=5 does not apply here (it is a --mode=impute"),
    ("too many logical CPUs", ["--strategy=mirrored", "--cpu_devices=1000"],
     "--cpu_devices=1000 must be 0 (off) to 64"),
    ("too many importance samples", ["--iwae_samples=10000000"],
     "--iwae_samples=10000000 must be 0 (off) to 100000"),
    ("a model larger than the memory", ["--hidden_dim=10000000"],
     "--hidden_dim=10000000 --latent_dim=32 --batch_size=100 need about"),
    ("a run folder in use by a live run", ["--logdir={locked}"],
     "is in use by another live run (otherhost 4242)"),
    ("--cpu_devices without the mirrored strategy", ["--cpu_devices=2"],
     "--cpu_devices=2 does not apply here (it splits the CPU for --strategy=mirrored)"),
    ("--data_dir for the bundled digits", ["--data_dir=/tmp"],
     "--data_dir=/tmp does not apply here (mnist_5k is bundled"),
    ("wrong flag type", ["--epochs=ten"], "invalid literal for int()"),
    ("unknown flag", ["--epoch=3"], "Unknown command line flag 'epoch'"),
    ("unknown enum value", ["--missing=blocks"], "value should be one of <structured|random>"),
    ("stray positional argument", ["train"], "unexpected argument 'train'"),
    ("unwritable logdir", ["--logdir={file}/run"], "cannot write there"),
    ("an imputer the dataset cannot use",
     ["--mode=impute", "--imputer=miwae", "--dataset=movielens_100k", "--data_dir={ml2}"],
     "--imputer=miwae models images and tables, and movielens_100k holds ratings; use "
     "--imputer=rating_vae, knn or vae for it"),
    ("train mode on ratings", ["--dataset=movielens_100k", "--data_dir={ml2}"],
     "does not model; use --mode=impute"),
    ("multi_worker without TF_CONFIG", ["--strategy=multi_worker"], "TF_CONFIG"),
    ("negative --iwae_samples", ["--iwae_samples=-1"], "--iwae_samples=-1 must be 0 (off) to"),
    ("--sigma without a Gaussian", ["--sigma=0.1"], "applies to --likelihood=gaussian only"),
    ("negative --sigma", ["--likelihood=gaussian", "--sigma=-1"], "must be 0 (learned) or"),
    ("a vanishing --sigma", ["--likelihood=gaussian", "--sigma=1e-30"],
     "--sigma=1e-30 must be 0 (learned) or a number from 0.001 to 10"),
    ("another likelihood when imputing", ["--mode=impute", "--likelihood=cbernoulli"],
     "--likelihood=cbernoulli does not apply here (it is a --mode=train setting"),
    ("--lr_decay above 1", ["--lr_decay=1.5"], "must be a finite number in (0, 1] (1: a constant"),
    ("--hidden_layers with conv", ["--arch=conv", "--hidden_layers=2"],
     "applies to --arch=mlp only"),
    ("the rating model on images", ["--mode=impute", "--imputer=rating_vae"],
     "--imputer=rating_vae predicts MovieLens ratings, and mnist_5k holds images; use "
     "--imputer=miwae, knn or vae for it"),
    ("an infinite --sigma", ["--likelihood=gaussian", "--sigma=inf"], "must be 0 (learned) or"),
    ("--lr_decay when imputing", ["--mode=impute", "--lr_decay=0.9"],
     "--lr_decay=0.9 does not apply here (it is a --mode=train setting"),
    ("a convolutional thesis imputer", ["--mode=impute", "--arch=conv"],
     "--arch=conv does not apply here (--imputer=vae has an MLP only; --mode=train and "
     "--imputer=miwae take --arch); drop it"),
    ("--hidden_layers for the thesis's imputer", ["--mode=impute", "--hidden_layers=2"],
     "--hidden_layers=2 does not apply here (--imputer=vae has one hidden layer"),
    ("--hidden_layers for MIWAE's default conv", ["--mode=impute", "--imputer=miwae",
                                                  "--hidden_layers=3"],
     "--hidden_layers=3 sets the MLP's layers, but --imputer=miwae fits conv.py's "
     "convolutions on images unless --arch=mlp is given; add --arch=mlp"),
    ("no draws for the bound", ["--train_samples=0"],
     "--train_samples=0 must be 1 (the ELBO) to 5000 (the IWAE bound)"),
    ("too many draws for the bound", ["--train_samples=5001"],
     "--train_samples=5001 must be 1 (the ELBO) to 5000 (the IWAE bound)"),
    ("--train_samples when imputing", ["--mode=impute", "--train_samples=5"],
     "--train_samples=5 does not apply here (it is a --mode=train setting"),
    ("a zero Adam epsilon", ["--adam_epsilon=0"],
     "--adam_epsilon=0.0 must be a finite number in (0, 1]"),
    ("a negative Adam epsilon", ["--adam_epsilon=-1e-8"],
     "--adam_epsilon=-1e-08 must be a finite number in (0, 1]"),
    ("--adam_epsilon for the MIWAE", ["--mode=impute", "--imputer=miwae", "--adam_epsilon=1e-8"],
     "--adam_epsilon=1e-08 does not apply here (--imputer=miwae keeps Keras's Adam epsilon"),
    ("unknown initialiser", ["--init=he"], "value should be one of <auto|thesis_pytorch>"),
    ("seeds for the K-NN", ["--mode=impute", "--imputer=knn", "--imputer_seeds=3"],
     "--imputer_seeds=3 does not apply here (--imputer=knn has no seed"),
    ("too many imputer seeds", ["--mode=impute", "--imputer=miwae", "--imputer_seeds=101"],
     "--imputer_seeds=101 must be 0 (the imputer's own count) to 100"),
    ("imputer seeds past the last seed", ["--mode=impute", "--imputer=miwae",
                                          "--imputer_seeds=3", "--seed=4294967294"],
     "--seed=4294967294: --imputer=miwae fits 3 models from seeds seed .. seed+2, past the"),
    ("absl's --log_dir for --logdir", ["--log_dir=elsewhere"],
     "--log_dir=elsewhere is absl's own flag (directory to write logfiles into), not this "
     "program's; did you mean --logdir=elsewhere?"),
    (OFFLINE, ["--dataset=omniglot_en"],
     "could not download or prepare 'omniglot' (cannot resolve github.com: no network); pass "
     "--data_dir=<folder with images_background/Latin/ or images_background.zip> or set "
     "VAE_TF_DATA_DIR=<data root laid out like shared/data, with omniglot/ in it>"),
]


def _online(name):
    from vae_tf.datasets import entry, tfds_source
    return tfds_source._online(entry(name).tfds_host)


def _reads(path, text):
    return os.path.exists(path) and open(path).read() == text


def run_case(broken, tmp_path, args):
    """Launch one case as a user would (TensorFlow's logging at its defaults)."""
    args = [a.format(**broken) for a in args]
    if not any(a.startswith("--logdir") for a in args):
        args.append(f"--logdir={tmp_path / 'out'}")
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CONFIG", "VAE_TF_DATA_DIR", "TF_CPP_MIN_LOG_LEVEL")}
    env["TFDS_DATA_DIR"] = str(tmp_path / "tfds")  # no copy prepared earlier in ~ counts
    return subprocess.run([sys.executable, "-m", "vae_tf.main", *args], capture_output=True,
                          text=True, env=env, timeout=600, cwd=str(tmp_path))


@pytest.mark.parametrize("name, args, needle", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line(broken, tmp_path, name, args, needle):
    if name == OFFLINE and _online("omniglot_en"):
        pytest.skip("this machine can reach TensorFlow Datasets' host: the case needs none")
    out = tmp_path / "out"
    result = run_case(broken, tmp_path, args)
    assert result.returncode == 2, result.stderr[-1500:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-1500:]
    assert lines[0].startswith("vae-tf: error: ") and needle in lines[0], lines[0]
    assert not out.exists()
    assert not (tmp_path / "logs").exists()


def test_a_data_root_without_the_dataset_folder_is_one_line(broken, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["VAE_TF_DATA_DIR"] = broken["empty"]
    result = subprocess.run([sys.executable, "-m", "vae_tf.main", "--dataset=omniglot_en",
                             f"--logdir={tmp_path}/out"], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"vae-tf: error: VAE_TF_DATA_DIR={broken['empty']} has no omniglot/ folder")
    assert not (tmp_path / "out").exists()
