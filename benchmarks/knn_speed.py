"""K-NN imputation speed: ours against scikit-learn's KNNImputer, timed as a user calls it.

(a) The thesis's MNIST setting (PROTOCOL.md): 250 test images (the first 25 of each
tenth) with structured holes, 10,000 complete training images as references, K = 10.
Each timing is `KNNImputer(10).fit(ref).transform(queries)`, fit inside the timer, for
vae_tf's imputer (thesis distance, softmax weights) and for `sklearn.impute.KNNImputer(
n_neighbors=10)` (nan-euclidean distance, uniform weights), interleaved in one process
after one untimed warm-up call of each; the table gives the median of the repeats, their
ratio, and RMSE / MAE over the missing entries. One more row times ours with holes in the
references too (its general path).
(b) 10,000 test images with structured holes x the 60,000 training images, in a fresh
child process that loads the data, runs fit + transform and reports its own peak resident
set (VmHWM from /proc/self/status), with its resident set before the call (the data) beside
it. Not getrusage(RUSAGE_CHILDREN): a child's ru_maxrss starts from the parent's resident
set at the fork (a child running `pass` under an 800 MB parent reports ~800 MB).

    python benchmarks/knn_speed.py            # MNIST from $VAE_TF_DATA_DIR/mnist
    python benchmarks/knn_speed.py --quick    # a smaller run, written to a temporary folder
    python benchmarks/knn_speed.py --out_dir= --nolarge   # (a) at full size, printed only

Writes its table to benchmarks/results/knn_speed.md (--out_dir elsewhere, empty: print only;
--quick: a temporary folder, never benchmarks/results/) with the command, commit, date, core
count and the load average at start, and prints it. Asserts nothing. Both runs score MNIST's
test images with structured holes: the table says how often that split had been read
before, and a run without --quick appends its read to experiments/results/test_reads.md.
"""

import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

from vae_tf.datasets import load
from vae_tf.errors import UserError
from vae_tf.imputers.knn import KNNImputer
from vae_tf.metrics import mae, rmse
from vae_tf.missing import apply_mask, make_mask

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RESULTS, ROOT, git_commit, portable_command, status_kb  # noqa: E402

sys.path.append(ROOT)  # the experiments package: its ledger of test-split reads
from experiments import ledger  # noqa: E402

flags.DEFINE_string("data_dir", None, "Folder with the MNIST IDX files "
                    "(default: $VAE_TF_DATA_DIR/mnist).")
flags.DEFINE_integer("repeats", 7, "Timed runs of ours (median reported).")
flags.DEFINE_integer("sk_repeats", 3, "Timed runs of scikit-learn's (median reported).")
flags.DEFINE_bool("quick", False, "50 queries, one scikit-learn run, 1,000 x 6,000 for (b); "
                  "writes to a temporary folder.")
flags.DEFINE_string("out_dir", None, "Folder for knn_speed.md (default: benchmarks/results, or "
                    "a temporary folder with --quick); empty: print the table only.")
flags.DEFINE_bool("large", True, "Run (b), the 10,000 x 60,000 child process.")
flags.DEFINE_string("child_large", None, "Internal: 'queries,references' of run (b), done "
                    "in this process; prints one JSON line.")
FLAGS = flags.FLAGS


def holes(x, seed):
    mask = make_mask(len(x), (28, 28, 1), "structured", seed)
    return apply_mask(x, mask), mask


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def large_child(n_q, n_ref):
    """Run (b) here and print its figures as JSON (this process does nothing else)."""
    data = load("mnist", FLAGS.data_dir)
    ref = np.concatenate([data.train, data.validation])[:n_ref]
    truth = data.test[:n_q]
    queries, mask = holes(truth, seed=3)
    del data
    before = status_kb("VmRSS")
    out, seconds = timed(lambda: KNNImputer(10).fit(ref).transform(queries))
    print(json.dumps({"seconds": seconds, "rss_before_mb": before / 1024,
                      "peak_mb": status_kb("VmHWM") / 1024,
                      "rmse": rmse(truth, out, ~mask), "mae": mae(truth, out, ~mask)}))


def run_large(n_q, n_ref):
    args = [sys.executable, os.path.abspath(__file__), f"--child_large={n_q},{n_ref}"]
    if FLAGS.data_dir:
        args.append(f"--data_dir={FLAGS.data_dir}")
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"knn_speed: the large run failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def benchmark():
    out_dir = FLAGS.out_dir
    if FLAGS.quick and out_dir and os.path.abspath(out_dir) == RESULTS:
        sys.exit("knn_speed: --quick never writes to benchmarks/results; drop --out_dir")
    load_start = os.getloadavg()
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    per_tenth, sk_repeats = (5, 1) if FLAGS.quick else (25, FLAGS.sk_repeats)
    repeats = 2 if FLAGS.quick else FLAGS.repeats
    big = (1000, 6000) if FLAGS.quick else (10000, 60000)

    data = load("mnist", FLAGS.data_dir)
    train = np.concatenate([data.train, data.validation])  # the 60,000 training images
    q_idx = np.concatenate([np.arange(t * 1000, t * 1000 + per_tenth) for t in range(10)])
    truth = data.test[q_idx]
    queries, q_mask = holes(truth, seed=1)
    ref = train[:10000]
    ref_holed, _ = holes(ref, seed=2)

    from sklearn.impute import KNNImputer as SkKNN
    KNNImputer(10).fit(ref).transform(queries)  # untimed warm-ups: threads, BLAS, imports
    SkKNN(n_neighbors=10).fit(ref).transform(queries[:10])
    ours, theirs, general = [], [], []
    for i in range(max(repeats, sk_repeats)):  # interleaved: the same load for both
        if i < repeats:
            ours.append(timed(lambda: KNNImputer(10).fit(ref).transform(queries)))
            general.append(timed(lambda: KNNImputer(10).fit(ref_holed).transform(queries)))
        if i < sk_repeats:
            theirs.append(timed(lambda: SkKNN(n_neighbors=10).fit(ref).transform(queries)))
    large = run_large(*big) if FLAGS.large else None
    load_end = os.getloadavg()

    def row(name, runs):
        med = statistics.median(s for _, s in runs)
        each = ", ".join(f"{s:.3f}" for _, s in runs)
        out = runs[0][0]
        return med, (f"| {name} | {med:.3f} | {each} | {rmse(truth, out, ~q_mask):.4f} | "
                     f"{mae(truth, out, ~q_mask):.4f} |")

    ours_s, ours_row = row("vae_tf `KNNImputer(10)` (thesis distance, softmax weights)", ours)
    sk_s, sk_row = row("`sklearn.impute.KNNImputer(n_neighbors=10)` (nan-euclidean, "
                       "uniform)", theirs)
    _, general_row = row("vae_tf, the references with structured holes too (general path)",
                         general)
    n_q = len(queries)
    split = ledger.image_split("mnist", "structured")
    lines = [
        "# K-NN imputation speed", "",
        f"- command: `{portable_command()}`",
        f"- commit: {git_commit()}",
        f"- date: {date}",
        f"- machine: {os.cpu_count()} cores; load average (1, 5, 15 min) at start "
        f"{', '.join(f'{x:.2f}' for x in load_start)}, at end "
        f"{', '.join(f'{x:.2f}' for x in load_end)}",
        f"- numpy {np.__version__}, scikit-learn {__import__('sklearn').__version__}",
        f"- {ledger.reads_note(split)}",
        "",
        f"## (a) Thesis setting: {n_q} test images with structured holes, 10,000 complete "
        "references, K = 10", "",
        "Timed as a user calls it: `fit(ref).transform(queries)`, both inside the timer; "
        "errors over the missing entries only.", "",
        "| imputer | median s | runs (s) | RMSE missing | MAE missing |",
        "|---|---|---|---|---|", ours_row, sk_row, general_row, "",
        f"**Speed-up: {sk_s / ours_s:.0f}x** (median of scikit-learn's / median of ours, "
        f"{len(theirs)} and {len(ours)} runs).", "",
        f"## (b) {big[0]:,} test images with structured holes x {big[1]:,} complete "
        "training images, K = 10", ""]
    if large is None:
        lines += ["Not run (--nolarge).", ""]
    else:
        lines += [
            "Fit + transform in a fresh child process. Peak resident = the child's VmHWM (all "
            "of it: Python, the data, the imputer); before = its resident set once the data "
            "were loaded.", "",
            "| queries | references | seconds | peak resident MB | resident MB before | "
            "RMSE missing | MAE missing |", "|---|---|---|---|---|---|---|",
            f"| {big[0]:,} | {big[1]:,} | {large['seconds']:.2f} | {large['peak_mb']:.0f} | "
            f"{large['rss_before_mb']:.0f} | "
            f"{large['rmse']:.4f} | {large['mae']:.4f} |", ""]
    text = "\n".join(lines)
    print(text)
    if out_dir is None:
        out_dir = tempfile.mkdtemp(prefix="knn_speed_") if FLAGS.quick else RESULTS
    path = None
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "knn_speed.md")
        with open(path, "w") as f:
            f.write(text)
        print(f"written: {path}")
    scores = {name: rmse(truth, runs[0][0], ~q_mask) for name, runs in
              (("ours", ours), ("scikit-learn", theirs))}
    setting = (f"KNNImputer(10): (a) {n_q} test images x 10,000 references"
               + (f"; (b) {big[0]:,} x {big[1]:,} ({large['rmse']:.4f})" if large else "")
               + f"; scikit-learn on (a) {scores['scikit-learn']:.4f}")
    ledger.record_read("benchmarks/knn_speed.py", split, setting, "RMSE missing, (a)",
                       scores["ours"], path or "printed only (--out_dir=)", quick=FLAGS.quick)


def main(_):
    try:
        if FLAGS.child_large:
            large_child(*map(int, FLAGS.child_large.split(",")))
        else:
            benchmark()
    except UserError as e:
        sys.exit(f"knn_speed: {e}")


if __name__ == "__main__":
    app.run(main)
