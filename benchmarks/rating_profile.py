"""Where RatingVAE's training time goes.

The rating row of train_throughput.md runs at about a quarter of the matmul peak at batch
1000. This script times the parts of that training, in one process, on the same data as
that row (a 943 x 1682 random rating matrix, 6 % rated; items are the examples; the
default 200-32 model, XLA off as by default), each part a compiled tf.function timed as
the median of `--repeats` calls after two warm-up calls:

- one epoch through the engine (its Python loop included) and the epoch's first compiled
  call alone (at batch 1000 the whole epoch: 1,682 items make two steps, the second padded
  from 682 to 1,000 rows so that every step has one shape);
- one step on a full batch: the loss, its gradients and Adam; the same without Adam; the
  forward pass (the loss terms) only; the engine's gather of the batch's rows out of the
  data variables;
- the step's matmuls alone (exactly benchmarks/flops.py's count for the model: forward,
  weight gradients, input gradients but the data's), on random arrays of its shapes;
- the input dropout alone (a uniform draw over the whole [batch, users] mask and the
  comparison that keeps a rating), and Adam's update alone.

The peak is a 4096 x 4096 float32 matmul measured in the same run (train_throughput's:
NumPy, TensorFlow and torch if installed, the best median of 5). Writes
benchmarks/results/rating_profile.md (--quick: a temporary folder, never
benchmarks/results/).

    python benchmarks/rating_profile.py
    python benchmarks/rating_profile.py --quick
"""

import os
import sys
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import (git_commit, machine, median_ms, now, portable_command,  # noqa: E402
                    results_folder, write_results)
from flops import dense_flops, rating_layers  # noqa: E402
from throughput_rows import ITEMS, RATED, USERS, child_peak  # noqa: E402  (train_throughput's)

FLAGS = flags.FLAGS
HIDDEN, LATENT = 200, 32  # RatingVAE's defaults
FLOPS = dense_flops(rating_layers(USERS, HIDDEN, LATENT))  # per example


def define_flags() -> None:
    """The flags, defined when run as a script (a test imports this module)."""
    flags.DEFINE_bool("quick", False, "3 repeats; writes to a temporary folder.")
    flags.DEFINE_integer("repeats", 50, "Timed calls per part (after two warm-up calls).")
    flags.DEFINE_integer("batch", 1000, "Batch size (items per step), 1 to 1682.",
                         lower_bound=1, upper_bound=ITEMS)
    flags.DEFINE_string("out_dir", None, "Where the table goes (default benchmarks/results).")


def matmul_step(a: dict, mm):
    """The rating step's matmuls on arrays `a` (x, w1, wm, wv, wd): the forward layers, each
    weight gradient, each input gradient but the data's. mm(p, q, transpose_a,
    transpose_b) multiplies; stand-ins of the right shapes replace the activations' and
    the loss's gradients."""
    h = mm(a["x"], a["w1"], False, False)
    mean, log_var = mm(h, a["wm"], False, False), mm(h, a["wv"], False, False)
    out = mm(mean, a["wd"], False, False)  # the output's gradient has its shape: reuse it
    g_z = mm(out, a["wd"], False, True)
    g_h = mm(g_z, a["wm"], False, True) + mm(log_var, a["wv"], False, True)
    return (mm(mean, out, True, False), mm(h, g_z, True, False), mm(h, log_var, True, False),
            mm(a["x"], g_h, True, False))


SHAPES = {"x": (None, 2 * USERS), "w1": (2 * USERS, HIDDEN), "wm": (HIDDEN, LATENT),
          "wv": (HIDDEN, LATENT), "wd": (LATENT, USERS)}  # None: the batch


def step_matmuls(tf, b: int):
    """matmul_step on random float32 arrays of batch b, as one compiled function."""
    rng = np.random.default_rng(0)
    a = {k: tf.constant(rng.standard_normal(tuple(b if v is None else v for v in shape),
                                            dtype=np.float32))
         for k, shape in SHAPES.items()}
    return tf.function(lambda: matmul_step(a, lambda p, q, ta, tb: tf.matmul(
        p, q, transpose_a=ta, transpose_b=tb)))


def parts(b: int):
    """TensorFlow and the timed parts of RatingVAE's training at batch b."""
    from vae_tf.startup import import_tensorflow
    tf = import_tensorflow()
    import keras

    from vae_tf.engine import Engine
    from vae_tf.imputers import ratings
    rng = np.random.default_rng(0)
    data = np.where(rng.uniform(size=(USERS, ITEMS)) < RATED,
                    rng.integers(1, 6, size=(USERS, ITEMS)), np.nan).astype(np.float32)
    vae = ratings.RatingVAE(batch_size=b)  # its defaults: sigma, kl_weight, ...
    rated = ~np.isnan(data)
    vae.base_ = ratings.bias_baseline(data.astype(np.float64))
    x, m = vae._inputs(data, rated)
    keras.utils.set_random_seed(0)
    model = ratings.ItemVAE(USERS, LATENT, HIDDEN)
    model((x[:1], m[:1]))
    objective = ratings.RatedCells(model, tf.random.Generator.from_seed(0), vae.sigma,
                                   vae.kl_weight, vae.l2, vae.input_dropout)
    engine = Engine(objective, [x, m], b, vae.learning_rate, steps_per_call=vae.steps_per_call,
                    jit_compile=False)
    rows, sizes = engine.epoch_rows(0)[0]  # the epoch's first call: [K, b], [K]
    call_rows, call_sizes = tf.constant(rows), tf.constant(sizes)
    batch = (tf.constant(x[:b]), tf.constant(m[:b]))
    variables, optimizer = objective.trainable_variables, engine.optimizer

    def loss():
        return tf.reduce_mean(objective.terms(batch)["loss"]) + objective.penalty()

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss()
        optimizer.apply_gradients(zip(tape.gradient(value, variables), variables))

    @tf.function
    def gradients():
        with tf.GradientTape() as tape:
            value = loss()
        return tape.gradient(value, variables)

    zeros = [tf.zeros_like(v) for v in variables]
    epochs = iter(range(1, 10 ** 6))
    # Rows the steps that run compute (padding included; steps of size 0 do not run).
    computed = sum(r.shape[1] * int(np.count_nonzero(n)) for r, n in engine.epoch_rows(0))
    dropout = tf.function(lambda: batch[1] * tf.cast(
        objective.rng.uniform(tf.shape(batch[1])) >= vae.input_dropout, tf.float32))
    adam = tf.function(lambda: optimizer.apply_gradients(zip(zeros, variables)))
    # (part, function, examples per call, rows computed per call, whether it trains)
    return tf, [
        ("one epoch through the engine (Python loop included)",
         lambda: engine._run_epoch(next(epochs), 10 ** 6), ITEMS, computed, True),
        ("the epoch's first compiled call alone", lambda: engine._multi(call_rows, call_sizes),
         int(sizes.sum()), rows.shape[1] * int(np.count_nonzero(sizes)), True),
        ("one step: loss, gradients, Adam", step, b, b, True),
        ("one step without Adam: loss and gradients", gradients, b, b, True),
        ("forward only: the loss terms", tf.function(loss), b, b, False),
        ("the batch's gather out of the data variables (the engine's)",
         tf.function(lambda: [tf.gather(v, call_rows[0]) for v in engine.data]), b, b, False),
        ("the step's matmuls alone (flops.py's count)", step_matmuls(tf, b), b, b, True),
        ("the input dropout alone: a uniform draw over [batch, users], the kept mask",
         dropout, b, b, False),
        ("Adam's update alone", adam, b, b, False),
    ]


def main(_):
    folder = results_folder("rating_profile", FLAGS.quick, FLAGS.out_dir)
    repeats = 3 if FLAGS.quick else FLAGS.repeats
    t_start, load_start = time.perf_counter(), machine()
    tf, timed = parts(FLAGS.batch)
    peaks = child_peak()  # GFLOP/s of NumPy, torch (if installed) and TensorFlow
    best = max(peaks.values())
    step_ms, lines = None, []
    for name, fn, examples, computed, trains in timed:
        ms = median_ms(fn, repeats, warmup=2)
        step_ms = step_ms or (ms if name.startswith("one step:") else None)
        share = f"{ms / step_ms:.0%}" if step_ms and examples == FLAGS.batch else "-"
        useful = examples * FLOPS / ms / 1e6  # GFLOP/s of the counted matmul work
        figures = (f"{examples / ms * 1000:,.0f} | {useful:.0f} | {useful / best:.0%}"
                   if trains else "- | - | -")
        lines.append(f"| {name} | {ms:.2f} | {share} | {figures} | {computed:,} |")
        print(lines[-1], flush=True)
    write_results(folder, "rating_profile", (
            "# Where RatingVAE's training time goes, batch "
            f"{FLAGS.batch}\n\n- command: `{portable_command()}`\n- commit: {git_commit()}\n"
            f"- date: {now()}; wall time {time.perf_counter() - t_start:.0f} s\n"
            f"- machine at start: {load_start}\n- machine at end: {machine()}\n"
            f"- data: {USERS} users x {ITEMS} items, {RATED:.0%} rated (random, seed 0); "
            f"items are the examples; model {2 * USERS}-{HIDDEN}-{LATENT}-{USERS}, XLA off "
            f"(RatingVAE's default); median of {repeats} calls per part\n"
            f"- float32 4096x4096 matmul, median GFLOP/s: " + ", ".join(
                f"{k} {v:.0f}" for k, v in peaks.items()) + f"; **peak used: {best:.0f}**\n"
            f"- matmul FLOPs per example (benchmarks/flops.py): {FLOPS / 1e6:.4f} M\n\n"
            "| part | ms per call | share of one step | examples/s | GFLOP/s of the counted "
            "matmuls | % of peak | rows computed per call |\n"
            "|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(lines) + "\n"))


if __name__ == "__main__":
    define_flags()
    app.run(main)
