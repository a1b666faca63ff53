"""Training throughput of the thesis MLP VAE (784-400-64) and the convolutional VAE
against the machine's matmul peak, on one device and mirrored over 2 logical CPUs.

Prints a table; asserts nothing. Every configuration runs interleaved in one process,
`--repeats` times, and the table gives medians, so the ratios are side by side.

    python benchmarks/train_throughput.py --repeats=5
"""

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
from vae_tf.models import VAE  # noqa: E402
from vae_tf.train import epoch_chunks, make_multi_step, make_train_step, step_body  # noqa: E402

flags.DEFINE_integer("repeats", 5, "Interleaved repetitions of every measurement.")
flags.DEFINE_integer("images", 20000, "Images per timed pass.")
flags.DEFINE_list("batch_sizes", ["100", "1000"], "Batch sizes to measure.")
FLAGS = flags.FLAGS
D, H, L = 784, 400, 64


def train_flops_per_image() -> float:
    """Matmul FLOPs of one forward+backward pass: 3x the forward's 2*MACs."""
    forward = 2 * (D * H + H * 2 * L + L * H + H * D)
    return 3.0 * forward


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


def fit_baseline(batch_size: int):
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

    def run(x):
        model.fit(x, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)

    return run


def ours(batch_size: int, jit: bool, steps_per_call: int, arch: str = "mlp"):
    vae = VAE(D, L, H, arch=arch, image_shape=(28, 28, 1))
    opt = keras.optimizers.Adam(1e-3)
    opt.build(vae.trainable_variables)
    rng = tf.random.Generator.from_seed(0)
    if steps_per_call == 1:
        step = make_train_step(vae, opt, rng, jit_compile=jit)

        def run(x):
            ds = tf.data.Dataset.from_tensor_slices(x).batch(batch_size).prefetch(2)
            for batch in ds:
                float(step(batch)["loss"])
        return run
    multi = make_multi_step(vae, opt, rng, jit_compile=jit)

    def run(x):
        for chunk in epoch_chunks(x, batch_size, steps_per_call, seed=0):
            multi(chunk)["loss"].numpy()
    return run


def mirrored(batch_size: int, steps_per_call: int):
    """The MLP under MirroredStrategy over the logical CPU devices (2 by default)."""
    strategy = distribute.make_strategy("mirrored")
    with strategy.scope():
        vae = VAE(D, L, H)
        opt = keras.optimizers.Adam(1e-3)
        opt.build(vae.trainable_variables)
        rng = tf.random.Generator.from_seed(0)

    def run(x):
        steps = distribute.DistributedSteps(strategy, step_body(vae, opt, rng), x, batch_size,
                                            steps_per_call)
        for k in steps.chunks(seed=0):
            steps(k)["loss"].numpy()
    return run


def main(_):
    x = np.random.default_rng(0).uniform(size=(FLAGS.images, D)).astype(np.float32)
    x = (x > 0.7).astype(np.float32)
    runners = {}
    for b in map(int, FLAGS.batch_sizes):
        runners[(b, "keras model.fit")] = fit_baseline(b)
        runners[(b, "ours, step per call")] = ours(b, jit=False, steps_per_call=1)
        runners[(b, "ours, step per call, XLA")] = ours(b, jit=True, steps_per_call=1)
        runners[(b, "ours, 20 steps per call, XLA")] = ours(b, jit=True, steps_per_call=20)
        runners[(b, "ours, mirrored on 2 logical CPUs")] = mirrored(b, steps_per_call=20)
        runners[(b, "conv, 20 steps per call")] = ours(b, jit=False, steps_per_call=20,
                                                       arch="conv")
    for run in runners.values():  # warm-up: tracing and compilation
        run(x[: 4 * 1000])
    times = {k: [] for k in runners}
    peaks = []
    for _ in range(FLAGS.repeats):
        peaks.append(matmul_peak())
        for key, run in runners.items():
            t0 = time.perf_counter()
            run(x)
            times[key].append(time.perf_counter() - t0)
    peak = statistics.median(peaks)
    flops = train_flops_per_image()
    flops_conv = conv_train_flops((28, 28, 1), L, H)
    print(f"float32 matmul peak (2048^3, median of {FLAGS.repeats}): {peak:.1f} GFLOP/s")
    print(f"training FLOPs per image (784-400-64 MLP, fwd+bwd matmuls): {flops / 1e6:.2f} M; "
          f"conv: {flops_conv / 1e6:.2f} M")
    print(f"{'batch':>6} | {'configuration':<30} | {'images/s':>9} | {'GFLOP/s':>8} | "
          f"{'% peak':>6} | {'vs fit':>6}")
    for b in map(int, FLAGS.batch_sizes):
        base = FLAGS.images / statistics.median(times[(b, "keras model.fit")])
        for (bb, name), ts in times.items():
            if bb != b:
                continue
            ips = FLAGS.images / statistics.median(ts)
            gf = ips * (flops_conv if name.startswith("conv") else flops) / 1e9
            print(f"{b:>6} | {name:<30} | {ips:>9.0f} | {gf:>8.1f} | {100 * gf / peak:>5.1f}% | "
                  f"{ips / base:>5.2f}x")


if __name__ == "__main__":
    distribute.split_cpu(2)  # before TensorFlow starts: the mirrored rows use 2 logical CPUs
    app.run(main)
