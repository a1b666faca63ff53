"""MIWAE single imputation: plain Monte Carlo latent draws against variance-reduced ones.

`MIWAEImputer.transform` fills the holes with sum_l w_l E[x | z_l] over L draws
z_l = mean + exp(log_var / 2) * eps_l of q(z | x_obs). This benchmark asks whether
standard normal eps that are spread more evenly than independent draws reach the missing-
entry RMSE of plain Monte Carlo at L = `--reference_samples` (1000) with fewer draws.
The schemes (latent_draws.py) give every row its own randomisation and every eps is
N(0, 1) marginally: mc (independent draws, what `transform` does), antithetic (pairs eps,
-eps), lhs (a Latin hypercube per row), rqmc (a scrambled Sobol' set per row) and
rqmc_antithetic (Sobol' points and their reflections), the uniform ones through the
normal inverse CDF.

Fits `MIWAEImputer(image_shape=(28, 28))` (the default conv model) for `--epochs` on the
first `--n_train` MNIST training images with structured holes, then imputes `--n_valid`
validation images (the last 5,000 training images, never the test split) with structured
holes, as benchmarks/miwae_transform.py does (hole seeds: training +4, validation +6).
Every (scheme, L) is repeated for `--seeds` draw seeds (plain Monte Carlo at the reference
L for `--reference_seeds`), each through the same compiled function of (x0, mask, eps), so
only the eps differ. Per (scheme, L): the mean and standard deviation over seeds of the
RMSE over the missing entries, its difference from the reference's mean RMSE, the mean
squared distance of the imputed entries to the average of the reference runs, one run's
Monte Carlo error (its mean squared distance to the reference's expectation) estimated
from it, the median over rows of the weights' effective sample size, and the mean seconds
per transform.

    python benchmarks/miwae_draws.py          # MNIST from $VAE_TF_DATA_DIR/mnist
    python benchmarks/miwae_draws.py --quick  # mnist_5k, tiny sizes, a temporary folder

Writes benchmarks/results/miwae_draws.md (--quick: a temporary folder, never
benchmarks/results/) with the command, commit, date, seeds, budget, wall time, cores and
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

from common import (git_commit, machine, now, portable_command, results_folder,  # noqa: E402
                    write_results)
from latent_draws import SCHEMES, scheme_eps  # noqa: E402
from miwae_setup import data, define_flags, fitted  # noqa: E402

define_flags("miwae_draws", "mnist_5k: 100 images, 1 epoch, 5 imputed (its last training "
             "images), L = 16 and 32, reference L = 64, 2 seeds; writes to a temporary "
             "folder.")
flags.DEFINE_list("samples", ["256", "300", "384"], "The L every scheme is measured at.")
flags.DEFINE_list("schemes", list(SCHEMES), f"Draw schemes, of {', '.join(SCHEMES)}.")
flags.DEFINE_integer("seeds", 3, "Draw seeds per (scheme, L).", lower_bound=1)
flags.DEFINE_integer("reference_samples", 1000, "L of the plain Monte Carlo reference.",
                     lower_bound=2)
flags.DEFINE_integer("reference_seeds", 5, "Draw seeds of the reference.", lower_bound=1)
FLAGS = flags.FLAGS


def estimator(bound, width: int, latent: int):
    """(E[x | x_obs] [B, D], Kish's effective sample size 1 / sum_l w_l^2 [B]) of rows
    (x0 [B, D], mask [B, D]) from given eps [L, B, latent], compiled."""
    import tensorflow as tf
    spec = tf.TensorSpec([None, width], tf.float32)

    @tf.function(input_signature=[spec, spec, tf.TensorSpec([None, None, latent], tf.float32)])
    def means(x0, mask, eps):
        z_mean, z_log_var = bound.encode(x0, mask)
        z = z_mean + tf.exp(0.5 * z_log_var) * eps  # [L, B, latent]
        samples = tf.shape(eps)[0]
        out = tf.reshape(bound.decoder(tf.reshape(z, [-1, latent])), [samples, -1, width])
        log_w = bound.log_weights(x0, mask, out, z, z_mean, z_log_var)  # [L, B]
        w = tf.nn.softmax(log_w, axis=0)
        return tf.einsum("lb,lbd->bd", w, bound.mean(out)), 1 / tf.reduce_sum(w * w, axis=0)
    return means


def impute(means, x0, mask, scheme: str, samples: int, seed: int, rows: int):
    """(the holed rows' estimates [N_holed, D], their effective sample sizes [N_holed],
    seconds) of one scheme, L and draw seed."""
    import tensorflow as tf
    rng = np.random.default_rng(seed)
    holed = np.flatnonzero(~mask.all(axis=1))
    out, ess = np.empty((len(holed), x0.shape[1]), np.float32), np.empty(len(holed))
    t = time.perf_counter()
    for s in range(0, len(holed), rows):
        pick = holed[s:s + rows]
        eps = scheme_eps(scheme, samples, len(pick), means.input_signature[2].shape[-1], rng)
        guess, size = means(tf.constant(x0[pick]), tf.constant(mask[pick], tf.float32),
                            tf.constant(eps))
        out[s:s + len(pick)], ess[s:s + len(pick)] = guess.numpy(), size.numpy()
    return out, ess, time.perf_counter() - t


def benchmark():
    from vae_tf.startup import import_tensorflow
    import_tensorflow()
    from vae_tf.imputers.importance import rows_per_call
    t_start, load_start = time.perf_counter(), machine()
    train_holed, valid, holed, mask = data()
    imputer, fit_s = fitted(train_holed)
    x0 = np.where(mask, holed, 0).astype(np.float32)
    means = estimator(imputer.model_, x0.shape[1], imputer.latent_dim)
    rows_holed = ~mask.all(axis=1)
    truth, missing = valid[rows_holed], ~mask[rows_holed]

    def run(scheme, samples, seed):
        rows = rows_per_call(samples, imputer._chunk(x0.shape[1]))
        out, ess, seconds = impute(means, x0, mask, scheme, samples, seed, rows)
        error = float(np.sqrt(np.mean((out - truth)[missing] ** 2)))
        print(f"{scheme} L={samples} seed={seed}: RMSE {error:.5f}, median ESS "
              f"{np.median(ess):.1f}, {seconds:.1f} s", flush=True)
        return out, error, seconds, float(np.median(ess))

    ref_l, n_ref = FLAGS.reference_samples, FLAGS.reference_seeds
    runs = [("mc (reference)", ref_l, [run("mc", ref_l, 1000 + s) for s in range(n_ref)])]
    for samples in (int(v) for v in FLAGS.samples):
        runs += [(scheme, samples, [run(scheme, samples, 1000 * (1 + SCHEMES.index(scheme))
                                        + samples + s) for s in range(FLAGS.seeds)])
                 for scheme in FLAGS.schemes]
    reference = np.mean([out for out, *_ in runs[0][2]], axis=0)
    ref_rmse = statistics.mean(one[1] for one in runs[0][2])
    table, ref_error = [], float("nan")
    for name, samples, done in runs:
        errors = [one[1] for one in done]
        spread = statistics.stdev(errors) if len(errors) > 1 else float("nan")
        to_ref = statistics.mean(float(np.mean((out - reference)[missing] ** 2))
                                 for out, *_ in done)
        if done is runs[0][2]:  # the reference runs are in their own average
            ref_error = to_ref * n_ref / (n_ref - 1) if n_ref > 1 else float("nan")
        error = ref_error if done is runs[0][2] else to_ref - ref_error / n_ref
        table.append(f"| {name} | {samples:,} | {len(done)} | {statistics.mean(errors):.4f} | "
                     f"{spread:.4f} | {statistics.mean(errors) - ref_rmse:+.4f} | "
                     f"{1e4 * to_ref:.2f} | {1e4 * error:.2f} | "
                     f"{statistics.mean(one[3] for one in done):.1f} | "
                     f"{statistics.mean(one[2] for one in done):.1f} |")
    return dict(fit_s=fit_s, table=table, load_start=load_start, n_holed=int(rows_holed.sum()),
                n_valid=len(valid), n_train=len(train_holed),
                wall=time.perf_counter() - t_start)


def write(r) -> str:
    budget = (f"fit: {r['n_train']:,} {'mnist_5k' if FLAGS.quick else 'MNIST'} training "
              f"images with structured holes, {FLAGS.epochs} epoch(s), batch 100, "
              f"{r['fit_s']:.1f} s; imputed: {r['n_valid']:,} validation images "
              f"({r['n_holed']:,} with holes); {FLAGS.seeds} draw seeds per row, "
              f"{FLAGS.reference_seeds} for the reference")
    lines = [
        "# MIWAE single imputation: plain Monte Carlo against variance-reduced latent draws",
        "", f"- command: `{portable_command()}`", f"- commit: {git_commit()}",
        f"- date: {now()}; wall time {r['wall']:.0f} s; seed {FLAGS.seed}",
        f"- machine at start: {r['load_start']}", f"- machine at end: {machine()}",
        f"- budget: {budget}",
        "- model: MIWAEImputer(image_shape=(28, 28)): conv.py's encoder and decoder, latent "
        "32, hidden 400, K = 5", "",
        "RMSE over the missing entries, mean and standard deviation over the draw seeds; "
        f"vs reference: the mean RMSE less that of plain Monte Carlo at L = "
        f"{FLAGS.reference_samples:,}; MSE to reference: the mean squared distance of the "
        "imputed entries to the average of the reference runs; Monte Carlo error: one run's "
        "mean squared distance to the reference's expectation, estimated (the reference's "
        "own: n / (n - 1) times its MSE, as each run is part of the average; another "
        "row's: its MSE less the reference's error / n), both x 1e-4; ESS: Kish's "
        "effective sample size 1 / sum_l w_l^2 of a row's weights, median over the rows "
        "with holes, mean over seeds; seconds: one "
        "transform's, mean over seeds (eps generation included).", "",
        "| scheme | L | seeds | RMSE missing | sd | vs reference | MSE to reference | "
        "Monte Carlo error | ESS | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *r["table"]]
    return "\n".join(lines) + "\n"


def main(_):
    folder = results_folder("miwae_draws", FLAGS.quick, FLAGS.out_dir)
    unknown = sorted(set(FLAGS.schemes) - set(SCHEMES))
    if unknown:
        sys.exit(f"miwae_draws: --schemes has {', '.join(unknown)}; pass some of "
                 f"{', '.join(SCHEMES)}")
    if FLAGS.quick:
        FLAGS.n_train, FLAGS.epochs, FLAGS.n_valid, FLAGS.seeds = 100, 1, 5, 2
        FLAGS.samples, FLAGS.reference_samples, FLAGS.reference_seeds = ["16", "32"], 64, 2
    text = write(benchmark())
    print(text)
    write_results(folder, "miwae_draws", text)


if __name__ == "__main__":
    app.run(main)
