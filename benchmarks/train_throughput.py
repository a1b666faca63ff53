"""Training throughput on the engine (vae_tf/engine.py) against the machine's matmul peak.

Rows, at each batch size: a straightforward Keras VAE trained with `model.fit` (the
reference); the thesis MLP VAE (784-400-64) trained through `Engine` with the `ELBO`
objective, as `--mode=train` does: one step per compiled call without and with XLA,
`--steps_per_call` steps per XLA call, and under MirroredStrategy over `--cpu_devices`
logical CPUs; the convolutional VAE; and the imputers that train on the engine: the
thesis's `VAEImputer` (the same MLP, on the images with 40 % holes), `MIWAEImputer`
(train_samples=5) and `RatingVAE` (a random 943 x 1682 matrix with 6 % ratings, one
seed; its examples are the 1682 items).

Prints a table; asserts nothing. The `Engine` and `model.fit` rows run interleaved in
one process, `--repeats` times each: each timing is one epoch of `--images` random binary
images, after a warm-up epoch that compiles; the table gives medians. The imputers time
themselves: one fit of 1 + `--repeats` epochs each, the median of their per-epoch
`history_[e]["seconds"]` after the first epoch (which compiles). The CPU is split into
`--cpu_devices` logical devices before TensorFlow starts, for every row.

    python benchmarks/train_throughput.py --repeats=5
    python benchmarks/train_throughput.py --repeats=1 --images=4000   # a quick check
"""

import contextlib
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from vae_tf import distribute, losses  # noqa: E402
from vae_tf.conv import conv_train_flops  # noqa: E402
from vae_tf.engine import Engine  # noqa: E402
from vae_tf.imputers.miwae import MIWAEImputer  # noqa: E402
from vae_tf.imputers.ratings import RatingVAE  # noqa: E402
from vae_tf.imputers.vae import VAEImputer  # noqa: E402
from vae_tf.models import VAE  # noqa: E402
from vae_tf.train import ELBO  # noqa: E402

flags.DEFINE_integer("repeats", 5, "Timed epochs of every configuration (medians reported).")
flags.DEFINE_integer("images", 20000, "Images per epoch.")
flags.DEFINE_list("batch_sizes", ["100", "1000"], "Batch sizes to measure.")
flags.DEFINE_integer("steps_per_call", 20, "Steps per compiled call (multi-step rows, imputers).")
flags.DEFINE_integer("cpu_devices", 2, "Logical CPU devices of the mirrored row.")
FLAGS = flags.FLAGS
D, H, L = 784, 400, 64
USERS, ITEMS, RATED, HOLES = 943, 1682, 0.06, 0.4


def mlp_flops(d_in: int, hidden: int, latent: int, d_out: int, samples: int = 1) -> float:
    """Matmul FLOPs per example of one training step: 3x the forward's 2*MACs."""
    forward = d_in * hidden + hidden * 2 * latent + samples * (latent * hidden + hidden * d_out)
    return 3.0 * 2 * forward


def rating_flops(model: RatingVAE) -> float:
    """The same for the item VAE: [residuals, mask] -> hidden -> 2L; linear decoder to users."""
    h, l = model.hidden_dim, model.latent_dim
    return 3.0 * 2 * (2 * USERS * h + h * 2 * l + l * USERS)


def matmul_peak(n: int = 2048, reps: int = 10) -> float:
    """float32 GFLOP/s of a large square matmul (the machine's practical peak)."""
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    f = tf.function(lambda a, b: tf.matmul(a, b))
    f(a, b).numpy()
    t0 = time.perf_counter()
    for _ in range(reps):
        c = f(a, b)
    c.numpy()
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


def fit_baseline(x: np.ndarray, batch_size: int):
    """A straightforward Keras VAE trained with model.fit (keras.io style train_step)."""

    class FitVAE(keras.Model):
        def __init__(self):
            super().__init__()
            self.vae = VAE(D, L, H)
            self.seed_gen = keras.random.SeedGenerator(0)

        def train_step(self, data):
            x = data
            with tf.GradientTape() as tape:
                z_mean, z_log_var = self.vae.encoder(x)
                eps = keras.random.normal(tf.shape(z_mean), seed=self.seed_gen)
                logits = self.vae.decoder(z_mean + tf.exp(0.5 * z_log_var) * eps)
                loss = tf.reduce_mean(losses.elbo_terms(x, logits, z_mean, z_log_var)["loss"])
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            return {"loss": loss}

    model = FitVAE()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return lambda: model.fit(x, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)


def on_engine(data: tf.Variable, batch_size: int, steps_per_call: int, jit: bool,
              arch: str = "mlp", strategy=None):
    """The VAE trained through `Engine` on the ELBO (the launcher's path): one more epoch a call."""
    with strategy.scope() if strategy else contextlib.nullcontext():
        vae = VAE(D, L, H, arch=arch, image_shape=(28, 28, 1))
        objective = ELBO(vae, tf.random.Generator.from_seed(0))
    engine = Engine(objective, [data], batch_size, 1e-3, steps_per_call=steps_per_call,
                    jit_compile=jit, strategy=strategy)
    return lambda: engine.fit(engine.start_epoch + 1)


def imputer_rows(x: np.ndarray, batch_size: int):
    """(name, examples per second, FLOPs per example) of each imputer, from its history_."""
    rng = np.random.default_rng(0)
    holed = np.where(rng.uniform(size=x.shape) < HOLES, np.nan, x).astype(np.float32)
    ratings = np.where(rng.uniform(size=(USERS, ITEMS)) < RATED,
                       rng.integers(1, 6, size=(USERS, ITEMS)), np.nan).astype(np.float32)
    settings = dict(epochs=1 + FLAGS.repeats, batch_size=batch_size,
                    steps_per_call=FLAGS.steps_per_call)
    vae = VAEImputer(**settings)
    miwae = MIWAEImputer(train_samples=5, **settings)
    rating = RatingVAE(n_seeds=1, **dict(settings, batch_size=min(batch_size, ITEMS)))
    rows = [(f"VAEImputer (thesis algorithm, {HOLES:.0%} holes)", vae, holed, len(x),
             mlp_flops(D, vae.hidden_dim, vae.latent_dim, D)),
            ("MIWAEImputer, train_samples=5", miwae, holed, len(x),
             mlp_flops(2 * D, miwae.hidden_dim, miwae.latent_dim, D, miwae.train_samples)),
            (f"RatingVAE ({USERS}x{ITEMS}, {RATED:.0%} rated, items)", rating, ratings, ITEMS,
             rating_flops(rating))]
    out = []
    for name, model, data, examples, flops in rows:
        seconds = [h["seconds"] for h in model.fit(data).history_[1:]]  # the first compiles
        out.append((name, examples / statistics.median(seconds), flops))
    return out


def main(_):
    strategy = distribute.make_strategy("mirrored", FLAGS.cpu_devices)  # before any TF op
    tf.get_logger().setLevel("ERROR")  # the strategy's INFO lines; each engine's tracing
    x = np.random.default_rng(0).uniform(size=(FLAGS.images, D)).astype(np.float32)
    x = (x > 0.7).astype(np.float32)
    with tf.device("/cpu:0"):  # one copy of the images, read by every engine
        data = tf.Variable(x, trainable=False, name="images")
    k, n_cpu = FLAGS.steps_per_call, FLAGS.cpu_devices
    flops, flops_conv = mlp_flops(D, H, L, D), conv_train_flops((28, 28, 1), L, H)
    runners = {}
    for b in map(int, FLAGS.batch_sizes):
        runners[(b, "keras model.fit")] = fit_baseline(x, b), flops
        runners[(b, "engine, step per call")] = on_engine(data, b, 1, jit=False), flops
        runners[(b, "engine, step per call, XLA")] = on_engine(data, b, 1, jit=True), flops
        runners[(b, f"engine, {k} steps per call, XLA")] = on_engine(data, b, k, jit=True), flops
        runners[(b, f"engine, mirrored on {n_cpu} logical CPUs")] = (
            on_engine(data, b, k, jit=False, strategy=strategy), flops)
        runners[(b, f"engine, conv, {k} steps per call")] = (
            on_engine(data, b, k, jit=False, arch="conv"), flops_conv)
    for run, _ in runners.values():  # warm-up: tracing and compilation
        run()
    times = {key: [] for key in runners}
    peaks = []
    for _ in range(FLAGS.repeats):
        peaks.append(matmul_peak())
        for key, (run, _) in runners.items():
            t0 = time.perf_counter()
            run()
            times[key].append(time.perf_counter() - t0)
    results = {key: (FLAGS.images / statistics.median(ts), runners[key][1])
               for key, ts in times.items()}
    for b in map(int, FLAGS.batch_sizes):
        for name, per_second, row_flops in imputer_rows(x, b):
            results[(b, name)] = per_second, row_flops
    peak = statistics.median(peaks)
    print(f"float32 matmul peak (2048^3, median of {FLAGS.repeats}): {peak:.1f} GFLOP/s")
    print(f"training FLOPs per image (784-400-64 MLP, fwd+bwd matmuls): {flops / 1e6:.2f} M; "
          f"conv: {flops_conv / 1e6:.2f} M")
    print(f"{'batch':>6} | {'configuration':<44} | {'examples/s':>10} | {'GFLOP/s':>8} | "
          f"{'% peak':>6} | {'vs fit':>6}")
    for b in map(int, FLAGS.batch_sizes):
        base = results[(b, "keras model.fit")][0]
        for (bb, name), (per_second, row_flops) in results.items():
            if bb != b:
                continue
            gf = per_second * row_flops / 1e9
            vs = "-" if name.startswith("RatingVAE") else f"{per_second / base:.2f}x"
            print(f"{b:>6} | {name:<44} | {per_second:>10.0f} | {gf:>8.1f} | "
                  f"{100 * gf / peak:>5.1f}% | {vs:>6}")


if __name__ == "__main__":
    app.run(main)
