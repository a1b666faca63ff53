"""Training throughput of every path on the engine, beside a plain PyTorch loop and the peak.

The model is the thesis's MLP VAE, 784-400-64 (one Dense(400, ReLU) layer each way,
latent 64), Adam 1e-3, on MNIST's 55,000 training images (grey levels, Bernoulli
likelihood). Rows, at each batch size (100 and 1000 by default):
- launcher: `python -m vae_tf.main --dataset=mnist --hidden_dim=400 --latent_dim=64
  --batch_size=B --epochs=E`, run unchanged; its figure is metrics.json's
  `train_images_per_second` (epochs after the first, which compiles).
- PyTorch: a plain loop of the same model (nn.Linear/ReLU, torch.optim.Adam,
  BCE-with-logits summed over pixels + the analytic KL, a randperm shuffle per epoch),
  the same data and batch, its epochs after the first. Needs torch (the optional `bench`
  extra: `pip install -e '.[bench]'`); without it the row says so and is skipped.
- the imputers that train on the engine, the same MLP: the thesis's fill-in algorithm
  (`VAEImputer`, structured holes), `MIWAEImputer` with 5 importance samples (its encoder
  reads [x, mask]: 1568 inputs), the item-based `RatingVAE` (a 943 x 1682 random rating
  matrix, 6 % rated, its own 200-32 sizes, one seed; examples are items; once with its
  default jit_compile=False and once with XLA), each the median of its `history_`
  seconds after the first epoch;
- mirrored: the launcher with `--strategy=mirrored --cpu_devices=2`.
- matmuls: the same model's matmuls alone (exactly the FLOPs counted below, on random
  arrays of the batch's shapes, an epoch's worth of steps; NumPy, torch and TensorFlow
  with XLA, each in its own child; the fastest): no activations, loss, Adam or data
  movement. A reference for what these matmuls cost here, not a proven ceiling (a loop
  could fuse the two latent heads into one matmul).

Every row runs in a fresh child process (this script with --child=...), so each reports
its own peak resident set (VmHWM: Python, TensorFlow, the data, everything). The parent
imports neither TensorFlow nor torch. Repeats alternate the rows (launcher, PyTorch, ...,
then again), so drifting load hits every row alike; the peak, a 4096 x 4096 float32
matmul (TensorFlow, NumPy and torch, the best median of 5 each), is measured in every
repeat of the same run. FLOPs per example are counted exactly, matmuls only: 2 * MACs
for every Dense layer forward, again for its weight gradient, and again for its input
gradient except where the input is the data (elementwise work, biases and Adam are not
counted: % of peak is the matmul work's share of the machine's peak). "vs PyTorch" is
given for the rows that train the same 784-400-64 model only (MIWAE's 5 draws and the
rating model do other work per example: compare them by % of peak).

    python benchmarks/train_throughput.py                    # MNIST from $VAE_TF_DATA_DIR
    python benchmarks/train_throughput.py --quick            # mnist_5k, 1 repeat, temp folder

Writes benchmarks/results/train_throughput.md (--quick: a temporary folder, never
benchmarks/results/) with the command, commit, date, cores and load; prints it. Asserts
nothing.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (git_commit, machine, now, portable_command, results_folder,  # noqa: E402
                    write_results)
from flops import D, dense_flops, mlp_layers, rating_layers  # noqa: E402
from throughput_rows import (ITEMS, MATMUL_LIBRARIES, USERS, dataset,  # noqa: E402
                             launcher_args, run_child)

flags.DEFINE_integer("repeats", 3, "Repeats of every row (medians reported).")
flags.DEFINE_list("batch_sizes", ["100", "1000"], "Batch sizes.")
flags.DEFINE_integer("epochs", 4, "Epochs of each timed fit (the first compiles, not counted).")
flags.DEFINE_bool("quick", False, "mnist_5k, 1 repeat, 2 epochs; writes to a temporary folder.")
flags.DEFINE_string("out_dir", None, "Where the table goes (default benchmarks/results).")
flags.DEFINE_string("child", None, "Internal: run one row here and print it as JSON.")
flags.DEFINE_integer("batch", 100, "Internal: the child's batch size.")
FLAGS = flags.FLAGS

RATING_H, RATING_L = 200, 32  # RatingVAE's defaults
ROWS = ("launcher", "pytorch", "matmuls", "thesis imputer", "miwae", "rating", "rating xla",
        "mirrored")
SAME_MODEL = ("launcher", "matmuls", "thesis imputer", "mirrored")  # compared with PyTorch
NAMES = {"launcher": "launcher (python -m vae_tf.main)",
         "pytorch": "plain PyTorch loop, same model",
         "matmuls": "the same model's matmuls alone, nothing else (a reference)",
         "thesis imputer": "VAEImputer (thesis fill-in, structured holes)",
         "miwae": "MIWAEImputer, 5 importance samples",
         "rating": f"RatingVAE ({USERS}x{ITEMS}, items, {RATING_H}-{RATING_L}, XLA off: default)",
         "rating xla": "RatingVAE, the same with jit_compile=True",
         "mirrored": "launcher, --strategy=mirrored on 2 logical CPUs"}


FLOPS = {"launcher": dense_flops(mlp_layers(D)), "pytorch": dense_flops(mlp_layers(D)),
         "matmuls": dense_flops(mlp_layers(D)),
         "thesis imputer": dense_flops(mlp_layers(D)),
         "miwae": dense_flops(mlp_layers(2 * D, samples=5)),
         "rating": dense_flops(rating_layers(USERS, RATING_H, RATING_L)),
         "mirrored": dense_flops(mlp_layers(D))}
FLOPS["rating xla"] = FLOPS["rating"]


# -- the parent: alternate the rows, collect, write --------------------------------------
def have_torch() -> bool:
    import importlib.util
    return importlib.util.find_spec("torch") is not None


def spawn(kind: str, batch: int = 0) -> dict:
    """Run one row in a fresh process; its figures (and peak resident set) as a dict."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as logdir:
        if kind in ("launcher", "mirrored"):
            args = launcher_args(kind, batch, logdir)
        else:
            args = [sys.executable, os.path.abspath(__file__), f"--child={kind}",
                    f"--batch={batch}", f"--epochs={FLAGS.epochs}"] + (
                        ["--quick"] if FLAGS.quick else [])
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"train_throughput: the {kind} row (batch {batch}) failed:\n"
                     f"{done.stderr[-3000:]}")
        out = json.loads(done.stdout.strip().splitlines()[-1])
        if kind in ("launcher", "mirrored"):
            with open(os.path.join(logdir, "metrics.json")) as f:
                out["per_second"] = json.load(f)["train_images_per_second"]
    print(f"  {kind:<15} batch {batch:>5}: {out.get('per_second', 0):>9.0f} /s  "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return out


def spawn_matmuls(batch: int) -> dict:
    """The matmuls row: each library in its own child (no thread pools left spinning from
    another's run); the fastest one's figure, and each one's."""
    libs = [lib for lib in MATMUL_LIBRARIES if lib != "torch" or have_torch()]
    outs = {lib: spawn(f"matmuls-{lib}", batch) for lib in libs}
    best = max(outs, key=lambda lib: outs[lib]["per_second"])
    return {"per_second": outs[best]["per_second"], "library": best,
            "each_library": {lib: o["per_second"] for lib, o in outs.items()},
            "peak_mb": max(o["peak_mb"] for o in outs.values())}


def benchmark() -> str:
    start, load_start = now(), machine()
    t_start = time.perf_counter()
    batches = [int(b) for b in FLAGS.batch_sizes]
    rows = [r for r in ROWS if r != "pytorch" or have_torch()]
    runs = {(b, r): [] for b in batches for r in rows}
    peaks = []
    for rep in range(FLAGS.repeats):
        print(f"repeat {rep + 1}/{FLAGS.repeats}", flush=True)
        peaks.append(spawn("peak"))
        for b in batches:
            for r in rows:
                runs[(b, r)].append(spawn_matmuls(b) if r == "matmuls" else spawn(r, b))
    peak_by_lib = {lib: statistics.median(p[lib] for p in peaks) for lib in peaks[0]
                   if lib != "peak_mb"}
    peak = max(peak_by_lib.values())
    lines = ["# Training throughput: every path on the engine, a plain PyTorch loop, the peak",
             "", f"- command: `{portable_command()}`", f"- commit: {git_commit()}",
             f"- date: {start}; wall time {time.perf_counter() - t_start:.0f} s",
             f"- machine at start: {load_start}", f"- machine at end: {machine()}",
             f"- data: {dataset()} training images; {FLAGS.epochs} epochs per fit, the first "
             f"(compilation) not counted; {FLAGS.repeats} repeat(s), rows alternating",
             "- float32 4096x4096 matmul, median GFLOP/s: " + ", ".join(
                 f"{lib} {v:.0f}" for lib, v in sorted(peak_by_lib.items()))
             + f"; **peak used: {peak:.0f} GFLOP/s** (the highest)",
             "- FLOPs per example (matmuls, exact; how: the script's docstring): " + ", ".join(
                 f"{r} {FLOPS[r] / 1e6:.4f} M" for r in rows if r != "mirrored"),
             ""]
    if "pytorch" not in rows:
        lines += ["PyTorch is not installed (`pip install -e '.[bench]'`): its row is skipped.",
                  ""]
    lines += ["| batch | path | examples/s (median) | each repeat | GFLOP/s | % of peak | "
              "vs PyTorch | peak RSS MB |", "|---:|---|---:|---|---:|---:|---:|---:|"]
    for b in batches:
        torch_rate = (statistics.median(o["per_second"] for o in runs[(b, "pytorch")])
                      if "pytorch" in rows else None)
        for r in rows:
            rates = [o["per_second"] for o in runs[(b, r)]]
            rate = statistics.median(rates)
            gflops = rate * FLOPS[r] / 1e9
            vs = f"{rate / torch_rate:.2f}x" if torch_rate and r in SAME_MODEL else "-"
            name = NAMES[r]
            if r == "matmuls":  # which library was faster, and each one's medians
                libs = {lib: statistics.median(o["each_library"][lib] for o in runs[(b, r)])
                        for lib in runs[(b, r)][0]["each_library"]}
                name += " (" + ", ".join(f"{k} {v:.0f}/s" for k, v in libs.items()) + ")"
            lines.append(f"| {b} | {name} | {rate:.0f} | "
                         f"{', '.join(f'{v:.0f}' for v in rates)} | {gflops:.0f} | "
                         f"{100 * gflops / peak:.0f}% | {vs} | "
                         f"{max(o['peak_mb'] for o in runs[(b, r)]):.0f} |")
    return "\n".join(lines) + "\n"


def main(_):
    if FLAGS.child:
        return run_child()
    folder = results_folder("train_throughput", FLAGS.quick, FLAGS.out_dir)
    if FLAGS.quick:
        FLAGS.repeats, FLAGS.epochs = 1, 2
    if not FLAGS.quick and not os.environ.get("VAE_TF_DATA_DIR"):
        sys.exit("train_throughput: VAE_TF_DATA_DIR is unset; point it at a folder holding "
                 "mnist/ (like ../shared/data), or pass --quick for the bundled mnist_5k")
    table = benchmark()
    print(table)
    write_results(folder, "train_throughput", table)


if __name__ == "__main__":
    app.run(main)
