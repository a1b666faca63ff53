"""MIWAE imputation speed: `transform` of 1,000 holed MNIST images, before and after.

Fits `MIWAEImputer(image_shape=(28, 28))` (the default conv model, K = 5, seed `--seed`)
for `--epochs` on the first `--n_train` MNIST training images with structured (half-image)
holes, then imputes `--n_valid` validation images with structured holes: MNIST's
validation split (the last 5,000 images of the training file), never the test split; the
hole seeds are experiments/miwae_defaults.py's (training +4, validation +6). Rows, each
timed once as a user calls it, every one from the imputer's fresh draw stream:

- before: `importance.eager_transform` at L = 1000, the estimator as it ran before the
  compiled path: eagerly, on every row, in `MIWAEImputer._chunk`'s memory-bounded chunks;
- after: `transform` with the defaults: one tf.function call per `rows_per_call` rows
  with holes (rows without holes skipped), L = `impute_samples`'s default;
- `transform` at each further L in `--samples`;
- `transform` with impute_dtype="bfloat16" (the decoder's arithmetic in bfloat16, the
  weights and means in float32) at each L in `--bfloat16_samples`.
Each gives its seconds (tracing included) and this process's CPU time, the RMSE and MAE
over the missing entries and the RMSE's difference from the before row. "GFLOP/s" counts
conv.py's decoder forward pass per draw (flops.py), against a 4096 x 4096 float32
matmul's rate measured in the same run (throughput_rows.child_peak: NumPy, TensorFlow,
torch if installed), the bfloat16 rows against TensorFlow's bfloat16 matmul; the header
names the CPU's extensions (AMX and AVX512-BF16 make bfloat16 fast).

A second table repeats `transform` from `--streams` fresh draw streams for each dtype:L
in `--stream_settings`: the RMSE's Monte Carlo spread (each row above is one stream's)
beside what L and the dtype change. A third times the parts of one call of each path
(median of `--repeats`): the encoder, the L draws, the decoder, the log weights (the
eager path's over all entries with x broadcast, the compiled path's as
x0 . l - mask . softplus(l)), the weighted mean, and the whole call with its
numpy <-> tensor copies. A fourth times the decoder alone at several draws per call
(wall and CPU time per draw, and the wall time of its bfloat16 copy).

    python benchmarks/miwae_transform.py          # MNIST from $VAE_TF_DATA_DIR/mnist
    python benchmarks/miwae_transform.py --quick  # mnist_5k, tiny sizes, a temporary folder

Writes benchmarks/results/miwae_transform.md (--quick: a temporary folder, never
benchmarks/results/) with the command, commit, date, seed, budget, wall time, cores and
load; prints it. Asserts nothing.
"""

import os
import statistics
import sys
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import (cpu_features, git_commit, machine, median_ms, now,  # noqa: E402
                    portable_command, results_folder, write_results)
from flops import conv_decoder_flops  # noqa: E402
from miwae_setup import data, define_flags, fitted  # noqa: E402
from throughput_rows import child_peak  # noqa: E402

define_flags("miwae_transform", "mnist_5k: 100 images, 1 epoch, 5 imputed (its last training "
             "images), L = 100 for the old setting, no further L, 1 repeat, a 1024 x 1024 "
             "peak; writes to a temporary folder.")
flags.DEFINE_list("samples", ["700", "500", "300"], "Further L to time (empty: none).")
flags.DEFINE_list("bfloat16_samples", ["1000"], "L to time with impute_dtype='bfloat16' "
                  "(empty: none).")
flags.DEFINE_list("stream_settings", ["float32:1000", "float32:700", "bfloat16:1000",
                                       "bfloat16:700"],
                  "dtype:L settings whose transform is repeated over --streams draw streams "
                  "(empty: none).")
flags.DEFINE_integer("streams", 3, "Draw streams per --stream_settings entry.", lower_bound=1)
flags.DEFINE_integer("repeats", 5, "Timed calls per part (median reported).", lower_bound=1)
FLAGS = flags.FLAGS
OLD_SAMPLES = 1000  # impute_samples's default before the compiled path


def old_samples() -> int:
    return 100 if FLAGS.quick else OLD_SAMPLES


def parts(imputer, x, mask, samples: int, rows: int, compiled: bool):
    """[(part, ms)] of one call on the first `rows` rows at L = samples, eager or compiled."""
    import tensorflow as tf

    from vae_tf import losses
    from vae_tf.models import reparameterize
    bound, d = imputer.model_, x.shape[1]
    x0 = tf.constant(np.where(mask, x, 0)[:rows], tf.float32)
    m = tf.constant(mask[:rows], tf.float32)
    rng = tf.random.Generator.from_seed(0)
    wrap = tf.function if compiled else (lambda f: f)
    encode = wrap(lambda: bound.encode(x0, m))
    z_mean, z_log_var = encode()
    draw = wrap(lambda: reparameterize(z_mean, z_log_var, rng, samples=samples))
    z = draw()
    decode = wrap(lambda: tf.reshape(bound.decoder(tf.reshape(z, [-1, z.shape[-1]])),
                                     [samples, -1, d]))
    logits = decode()
    if compiled:
        weights = wrap(lambda: losses.masked_log_weights(x0, m, logits, z, z_mean, z_log_var))
        step = imputer._importance_step()

        def call():
            return step.function(tf.constant(np.where(mask, x, 0)[:rows], tf.float32),
                                 tf.constant(mask[:rows], tf.float32)).numpy()
    else:
        def weights():
            return losses.masked_bound(x0, m, logits, z, z_mean, z_log_var)["log_weights"]

        def call():
            w, means = imputer._weights_and_means(x[:rows], mask[:rows], numpy=False)
            return tf.einsum("lb,lbd->bd", w, means).numpy()
    log_w = weights()
    mean = wrap(lambda: tf.einsum("lb,lbd->bd", tf.nn.softmax(log_w, axis=0),
                                  tf.sigmoid(logits)))
    named = [("encoder", encode), ("the L draws of z", draw),
             ("decoder on the L x rows draws", decode), ("log importance weights", weights),
             ("softmax, sigmoid, weighted mean", mean),
             ("the whole call, numpy in and out", call)]
    return [(name, median_ms(fn, FLAGS.repeats)) for name, fn in named]


def decoder_per_call(imputer):
    """[(draws per call, wall µs, CPU µs, bfloat16 copy's wall µs per draw)] of conv.py's
    decoder, compiled."""
    import tensorflow as tf

    from vae_tf.models import low_precision_copy
    spec = [tf.TensorSpec([None, imputer.latent_dim])]
    fns = [tf.function(imputer.model_.decoder, input_signature=spec),
           tf.function(low_precision_copy(imputer.model_.decoder, imputer.latent_dim),
                       input_signature=spec)]
    sizes, total = ((128, 256), 256) if FLAGS.quick else ((128, 256, 1024, 4096), 4096)
    z = tf.random.stateless_normal((total, imputer.latent_dim), seed=(0, FLAGS.seed))
    out = []
    for size in sizes:
        batches = [z[i:i + size] for i in range(0, total, size)]
        row = [size]
        for k, fn in enumerate(fns):
            fn(batches[0])
            walls, cpus = [], []
            for _ in range(FLAGS.repeats):
                t, cpu = time.perf_counter(), time.process_time()
                for batch in batches:
                    fn(batch).numpy()
                walls.append(time.perf_counter() - t)
                cpus.append(time.process_time() - cpu)
            row += [1e6 * statistics.median(walls) / total] + \
                ([1e6 * statistics.median(cpus) / total] if k == 0 else [])
        out.append(tuple(row))
    return out


def stream_settings():
    """--stream_settings as [(impute_dtype, L)]; exits with one line on a bad entry."""
    from vae_tf.config import IMPUTE_DTYPES  # MIWAEImputer's choices (no TensorFlow import)
    out = []
    for setting in FLAGS.stream_settings:
        dtype, _, samples = setting.partition(":")
        if dtype not in IMPUTE_DTYPES or not samples.isdigit() or int(samples) < 1:
            sys.exit(f"miwae_transform: --stream_settings has {setting!r}; pass dtype:L "
                     f"entries, dtype {' or '.join(IMPUTE_DTYPES)}, e.g. bfloat16:700")
        out.append((dtype, int(samples)))
    return out


def over_streams(imputer, valid, holed, mask):
    """[(dtype, L, [seconds], [RMSE missing])]: `transform` once from each of --streams
    fresh draw streams (the imputer's seed + 1 + s), per --stream_settings entry: how far
    Monte Carlo noise alone moves the error, beside what L and the dtype move it by."""
    import tensorflow as tf

    from vae_tf.metrics import rmse
    out = []
    for dtype, samples in ([] if FLAGS.quick else stream_settings()):
        setting = f"{dtype}:{samples}"
        seconds, errors = [], []
        for s in range(FLAGS.streams):
            imputer._after_fit(imputer.model_)  # no compiled step yet: its tracing counted
            imputer._draw_rng = tf.random.Generator.from_seed(FLAGS.seed + 1 + s)
            imputer.set_params(impute_samples=samples, impute_dtype=dtype)
            t = time.perf_counter()
            filled = imputer.transform(holed)
            seconds.append(time.perf_counter() - t)
            errors.append(rmse(valid, filled, ~mask))
            print(f"streams: {setting} stream {s}: {seconds[-1]:.2f} s, RMSE {errors[-1]:.4f}",
                  flush=True)
        out.append((dtype, samples, seconds, errors))
    imputer.set_params(impute_dtype="float32")
    return out


def benchmark():
    from vae_tf.startup import import_tensorflow
    import_tensorflow()
    from vae_tf.imputers.importance import eager_transform, rows_per_call
    from vae_tf.metrics import mae, rmse
    t_start, load_start = time.perf_counter(), machine()
    train_holed, valid, holed, mask = data()
    imputer, fit_s = fitted(train_holed)
    default_l = imputer.impute_samples
    n_holed = int((~mask.all(axis=1)).sum())
    per_draw = conv_decoder_flops((28, 28, 1), imputer.latent_dim, imputer.hidden_dim)

    old = old_samples()
    rows = [("before: eager, every row, memory chunks", old, True, "float32"),
            ("after: `transform`, the defaults", default_l, False, "float32")]
    rows += [("compiled `transform`", int(v), False, "float32")
             for v in ([] if FLAGS.quick else FLAGS.samples) if int(v) != default_l]
    rows += [("compiled `transform`, impute_dtype=\"bfloat16\"",
              old_samples() if FLAGS.quick else int(v), False, "bfloat16")
             for v in FLAGS.bfloat16_samples]
    results = []
    for name, samples, eager, dtype in rows:
        imputer._after_fit(imputer.model_)  # a fresh draw stream, no compiled step yet
        imputer.set_params(impute_samples=samples, impute_dtype=dtype)
        t, cpu = time.perf_counter(), time.process_time()
        out = eager_transform(imputer, holed, mask) if eager else imputer.transform(holed)
        seconds = (time.perf_counter() - t, time.process_time() - cpu)
        chunk = imputer._chunk(784)
        results.append((name, samples, min(chunk, len(valid)), len(valid), out, seconds, None,
                        dtype)
                       if eager else (name, samples, min(rows_per_call(samples, chunk), n_holed),
                                      n_holed, out, seconds, imputer._importance_step().traces(),
                                      dtype))
    imputer.set_params(impute_dtype="float32")
    peaks = child_peak(1024, 3, bfloat16=True) if FLAGS.quick else child_peak(bfloat16=True)
    best = max(v for k, v in peaks.items() if "bfloat16" not in k)
    before_rmse = rmse(valid, results[0][4], ~mask)
    table = []
    for name, samples, per_call, imputed, out, (seconds, cpu), traces, dtype in results:
        error = rmse(valid, out, ~mask)
        gflops = imputed * samples * per_draw / seconds / 1e9
        peak = peaks["tensorflow bfloat16"] if dtype == "bfloat16" else best
        table.append(
            f"| {name} | {samples:,} | {per_call} | {imputed:,} | {seconds:.2f} | {cpu:.1f} | "
            f"{1000 * seconds / len(valid):.1f} | {gflops:.0f} | {gflops / peak:.0%} | "
            f"{'-' if traces is None else traces} | {error:.4f} | "
            f"{mae(valid, out, ~mask):.4f} | {error - before_rmse:+.4f} |")
        print(table[-1], flush=True)
    before_rows = min(len(valid), imputer.set_params(impute_samples=old)._chunk(784))
    before_parts = parts(imputer, valid, mask, old, before_rows, False)
    after_rows = min(len(valid), rows_per_call(
        default_l, imputer.set_params(impute_samples=default_l)._chunk(784)))
    after_parts = parts(imputer, valid, mask, default_l, after_rows, True)
    streams = over_streams(imputer, valid, holed, mask)
    return dict(fit_s=fit_s, table=table, peaks=peaks, best=best, load_start=load_start,
                per_call=decoder_per_call(imputer), streams=streams,
                wall=time.perf_counter() - t_start, parts=(before_parts, after_parts),
                shapes=(before_rows, after_rows, default_l), n_holed=n_holed,
                n_valid=len(valid), n_train=len(train_holed), per_draw=per_draw)


def streams_section(streams) -> list:
    """The table of over_streams' results (nothing with --quick)."""
    if not streams:
        return []
    ref = statistics.mean(streams[0][3])
    lines = [f"## The same transform from {FLAGS.streams} draw streams", "",
             "Each setting's `transform` of the same images from fresh draw streams (the "
             "imputer's seed + 1, + 2, ...; tracing included in each): the spread of the RMSE "
             "is the Monte Carlo noise the rows above carry. Difference: from the first "
             "setting's mean.", "",
             "| impute_dtype | L | seconds, median (min-max) | RMSE missing, mean | sd | "
             "min-max | mean - first setting's |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for dtype, samples, seconds, errors in streams:
        sd = statistics.stdev(errors) if len(errors) > 1 else 0.0
        lines.append(f"| {dtype} | {samples:,} | {statistics.median(seconds):.2f} "
                     f"({min(seconds):.2f}-{max(seconds):.2f}) | {statistics.mean(errors):.4f} "
                     f"| {sd:.4f} | {min(errors):.4f}-{max(errors):.4f} | "
                     f"{statistics.mean(errors) - ref:+.4f} |")
    return lines + [""]


def write(r) -> str:
    old = old_samples()
    (before_parts, after_parts), (before_rows, after_rows, default_l) = r["parts"], r["shapes"]
    budget = (f"fit: {r['n_train']:,} {'mnist_5k' if FLAGS.quick else 'MNIST'} training "
              f"images with structured holes, {FLAGS.epochs} epoch(s), batch 100, "
              f"{r['fit_s']:.1f} s; imputed: {r['n_valid']:,} validation images "
              f"({r['n_holed']:,} with holes), each row timed once")
    lines = [
        "# MIWAE imputation speed: `transform` before and after the compiled path", "",
        f"- command: `{portable_command()}`", f"- commit: {git_commit()}",
        f"- date: {now()}; wall time {r['wall']:.0f} s; seed {FLAGS.seed}",
        f"- machine at start: {r['load_start']}", f"- machine at end: {machine()}",
        f"- budget: {budget}",
        "- model: MIWAEImputer(image_shape=(28, 28)): conv.py's encoder and decoder, latent "
        f"32, hidden 400, K = 5; decoder forward {r['per_draw'] / 1e6:.2f} MFLOP per draw",
        f"- CPU extensions: {cpu_features()}",
        f"- {'1024x1024' if FLAGS.quick else '4096x4096'} matmul, median GFLOP/s: "
        + ", ".join(f"{k} {v:.0f}" for k, v in r["peaks"].items())
        + f"; **float32 peak used: {r['best']:.0f}** (the bfloat16 rows: TensorFlow's "
        "bfloat16 matmul)", "",
        f"## transform of {r['n_valid']:,} validation images", "",
        "Seconds as a user calls it (the compiled rows' tracing included); errors over the "
        "missing entries; GFLOP/s = imputed rows x L x the decoder's forward FLOPs / seconds. "
        "CPU s: this process's CPU time in the call (both cores' work; on a busy machine "
        "the seconds grow, the CPU time much less). Traces: how often the compiled step was "
        "traced in the call.", "",
        "| path | L | rows per call | rows imputed | seconds | CPU s | ms per image | GFLOP/s | "
        "% of peak | traces | RMSE missing | MAE missing | RMSE - before |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", *r["table"], "",
        *streams_section(r["streams"]),
        "## One call's parts, ms (median of " f"{FLAGS.repeats})", "",
        f"Before: eager, {before_rows} rows x L = {old:,}. After: each part a "
        f"tf.function, {after_rows} row(s) x L = {default_l:,}.", "",
        "| part | before ms | after ms | before µs per draw | after µs per draw |",
        "|---|---:|---:|---:|---:|"]
    for (name, b), (_, a) in zip(before_parts, after_parts):
        lines.append(f"| {name} | {b:.2f} | {a:.2f} | {1000 * b / (before_rows * old):.1f} | "
                     f"{1000 * a / (after_rows * default_l):.1f} |")
    lines += [
        "", "## conv.py's decoder alone, by draws per call", "",
        f"{r['per_call'][-1][0]:,} draws decoded in calls of each size (a tf.function), median "
        f"of {FLAGS.repeats}: what DRAWS_PER_CALL (importance.py) rests on.", "",
        "| draws per call | wall µs per draw | CPU µs per draw | GFLOP/s (wall) | "
        "bfloat16 copy: wall µs per draw | bfloat16 GFLOP/s (wall) |",
        "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {size:,} | {wall:.1f} | {cpu:.1f} | {r['per_draw'] / wall / 1e3:.0f} | "
              f"{half:.1f} | {r['per_draw'] / half / 1e3:.0f} |"
              for size, wall, cpu, half in r["per_call"]]
    return "\n".join(lines) + "\n"


def main(_):
    folder = results_folder("miwae_transform", FLAGS.quick, FLAGS.out_dir)
    stream_settings()  # before any work: a typo costs no run
    if FLAGS.quick:
        FLAGS.n_train, FLAGS.epochs, FLAGS.n_valid, FLAGS.repeats = 100, 1, 5, 1
    text = write(benchmark())
    print(text)
    write_results(folder, "miwae_transform", text)


if __name__ == "__main__":
    app.run(main)
