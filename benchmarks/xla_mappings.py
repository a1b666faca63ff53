"""Memory mappings that XLA-compiled fits leave behind, with XLA and without.

TensorFlow's XLA compilation cache has no eviction (tensorflow/tensorflow#64170): the
machine code of every engine compiled with XLA stays mapped until the process ends. A
process that fits models one after another (a benchmark over many tables and seeds) grows
toward the kernel's vm.max_map_count and dies ("LLVM compilation error: Cannot allocate
memory", then a segfault). `vae_tf.engine.xla_room` compiles without XLA past half of it.

Each setting runs in a fresh child process that fits `--fits` MIWAEImputers one after
another (seeds 0, 1, ...) on scikit-learn's breast_cancer table (569 x 30, raw) with 20 %
of its entries hidden completely at random (hole seed `--seed`), each fit followed by a
`transform`, and counts /proc/self/maps after every fit. Rows: the table defaults
(1,000 optimizer steps, hidden 400) and a tiny model (one round, hidden 32, latent 4,
L = 20), each with jit_compile True and False. Figures: mappings per fit (the median
of the increments after the first fit), the fits a process could make before passing
XLA_MAPPINGS_SHARE of the limit, the median seconds of fit + transform (the first fit,
which traces, left out), and the RMSE over the hidden entries in column standard
deviations of the last fit (XLA rounds differently: not bit-identical).

    python benchmarks/xla_mappings.py
    python benchmarks/xla_mappings.py --quick   # 3 tiny fits per setting, a temporary folder

Writes benchmarks/results/xla_mappings.md (--quick: a temporary folder, never
benchmarks/results/) with the command, commit, date, seed, budget, wall time, cores and
load; prints it. Asserts nothing.
"""

import json
import os
import statistics
import subprocess
import sys
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import (git_commit, machine, now, portable_command, results_folder,  # noqa: E402
                    write_results)

flags.DEFINE_integer("fits", 12, "Fits per child process.", lower_bound=2)
flags.DEFINE_integer("seed", 0, "Seed of the holes.", lower_bound=0)
flags.DEFINE_bool("quick", False, "Three tiny fits per setting, written to a temporary "
                  "folder.")
flags.DEFINE_string("out_dir", None, "Folder for xla_mappings.md (default benchmarks/results; "
                    "with --quick a new temporary folder).")
flags.DEFINE_string("child", None, "Internal: run one setting (model:jit) and print JSON.")
FLAGS = flags.FLAGS

MODELS = {"table defaults": {},
          "tiny (1 round, hidden 32, latent 4, L = 20)": dict(
              epochs=1, hidden_dim=32, latent_dim=4, impute_samples=20)}


def maps() -> int:
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


def child(setting: str) -> None:
    """Fit FLAGS.fits imputers of one setting; print one JSON line of figures."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    from vae_tf.startup import import_tensorflow
    import_tensorflow()
    import vae_tf
    model, jit = setting.rsplit(":", 1)
    x = load_breast_cancer().data
    rng = np.random.default_rng(FLAGS.seed)
    hidden = rng.random(x.shape) < 0.2
    holed = np.where(hidden, np.nan, x)
    sd = x.std(axis=0)
    counts, seconds, rmse = [maps()], [], None
    for i in range(FLAGS.fits):
        t0 = time.perf_counter()
        imputer = vae_tf.MIWAEImputer(seed=i, jit_compile=jit == "True", **MODELS[model])
        filled = imputer.fit(holed).transform(holed)
        seconds.append(time.perf_counter() - t0)
        counts.append(maps())
        rmse = float(np.sqrt(np.mean(((filled - x) / sd)[hidden] ** 2)))
    print(json.dumps({"counts": counts, "seconds": seconds, "rmse": rmse}))


def main(argv):
    del argv
    if FLAGS.child:
        return child(FLAGS.child)
    folder = results_folder("xla_mappings", FLAGS.quick, FLAGS.out_dir)
    if FLAGS.quick:
        FLAGS.fits = 3
    from vae_tf.startup import import_tensorflow
    import_tensorflow()
    from vae_tf.engine import XLA_MAPPINGS_SHARE
    with open("/proc/sys/vm/max_map_count") as f:
        limit = int(f.read())
    models = list(MODELS)[1:] if FLAGS.quick else list(MODELS)
    start, rows = time.perf_counter(), []
    for model in models:
        for jit in (True, False):
            args = [sys.executable, os.path.abspath(__file__), f"--child={model}:{jit}",
                    f"--fits={FLAGS.fits}", f"--seed={FLAGS.seed}"]
            out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
            got = json.loads(out.strip().splitlines()[-1])
            steps = [b - a for a, b in zip(got["counts"][1:], got["counts"][2:])]
            per_fit = statistics.median(steps) if steps else got["counts"][1] - got["counts"][0]
            room = (XLA_MAPPINGS_SHARE * limit - got["counts"][1]) / per_fit if per_fit > 0 \
                else float("inf")
            rows.append(f"| {model} | {jit} | {got['counts'][0]} -> {got['counts'][-1]} | "
                        f"{per_fit:g} | {'unbounded' if room == float('inf') else f'{room:,.0f}'}"
                        f" | {statistics.median(got['seconds'][1:]):.2f} | {got['rmse']:.4f} |")
            print(rows[-1], flush=True)
    wall = time.perf_counter() - start
    lines = [
        "# XLA's memory mappings per fit", "",
        f"Command: `{portable_command()}`  ",
        f"Commit {git_commit()}, {now()}; {machine()}; seed {FLAGS.seed}; budget: "
        f"{FLAGS.fits} fits per setting, each in its own process; wall time {wall:.0f} s; "
        f"vm.max_map_count {limit:,}.", "",
        "Each setting is a fresh process that fits MIWAEImputer on breast_cancer (569 x 30, "
        "20 % MCAR holes) again and again and counts /proc/self/maps after every fit "
        "(benchmarks/xla_mappings.py's docstring).", "",
        f"| model | jit_compile | mappings (start -> after the last fit) | mappings per "
        f"fit | further fits before {XLA_MAPPINGS_SHARE:.0%} of the limit | median s per "
        "fit + transform | RMSE missing (last fit, column sd) |",
        "|---|---|---|---|---|---|---|", *rows, "",
        "With XLA every fit leaves its compiled code mapped, so a long-lived process "
        "reaches vm.max_map_count; without XLA the count stays flat. vae_tf's engines "
        f"compile without XLA once a process has used {XLA_MAPPINGS_SHARE:.0%} of the "
        "limit (vae_tf.engine.xla_room).", ""]
    text = "\n".join(lines)
    print(text)
    write_results(folder, "xla_mappings", text)


if __name__ == "__main__":
    app.run(main)
