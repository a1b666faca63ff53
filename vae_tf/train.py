"""Train steps (tf.function factories), evaluation and the epoch loop. Never reads FLAGS."""

import math
from typing import Callable, Dict, Iterable, Optional

import keras
import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.errors import TrainingDiverged
from vae_tf.models import VAE, encode_decode

TERMS = ("loss", "reconstruction", "kl")


def step_body(vae: VAE, optimizer: keras.optimizers.Optimizer,
              rng: tf.random.Generator) -> Callable:
    """The uncompiled step: one Adam update of the -ELBO on x [B, D]; batch-mean terms.

    Under a distribution strategy x is one replica's share of the global batch: sums
    are divided by the global batch size, so the replicas' gradients and terms add up
    to those of the global mean.
    """

    def step(x):
        count = tf.cast(tf.shape(x)[0], tf.float32)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            count = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
        with tf.GradientTape() as tape:
            logits, z_mean, z_log_var = encode_decode(vae, x, rng)
            terms = losses.elbo_terms(x, logits, z_mean, z_log_var, vae.likelihood,
                                      vae.log_scale())
            loss = tf.reduce_sum(terms["loss"]) / count
        variables = vae.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {name: tf.reduce_sum(terms[name]) / count for name in TERMS}

    return step


def make_train_step(vae: VAE, optimizer: keras.optimizers.Optimizer,
                    rng: tf.random.Generator, jit_compile: bool = False) -> Callable:
    """A compiled step: x [B, D] -> batch-mean terms after one Adam update."""
    return tf.function(step_body(vae, optimizer, rng), jit_compile=jit_compile,
                       reduce_retracing=True)


def make_multi_step(vae: VAE, optimizer: keras.optimizers.Optimizer,
                    rng: tf.random.Generator, jit_compile: bool = True) -> Callable:
    """A compiled loop of steps: xs [K, B, D] -> terms of each step, [K] each.

    Running several steps per call (and compiling them with XLA) removes the per-step
    Python and dispatch overhead that dominates a small MLP on a CPU.
    """
    step = step_body(vae, optimizer, rng)

    def multi(xs):
        k = tf.shape(xs)[0]
        out = {name: tf.TensorArray(tf.float32, size=k) for name in TERMS}
        for i in tf.range(k):
            terms = step(xs[i])
            out = {name: out[name].write(i, terms[name]) for name in TERMS}
        return {name: array.stack() for name, array in out.items()}

    return tf.function(multi, jit_compile=jit_compile, reduce_retracing=True)


def make_eval_step(vae: VAE, rng: tf.random.Generator) -> Callable:
    """A compiled evaluation: per-batch sums of the terms (one posterior draw); no update."""

    @tf.function(reduce_retracing=True)
    def step(x):
        logits, z_mean, z_log_var = encode_decode(vae, x, rng)
        terms = losses.elbo_terms(x, logits, z_mean, z_log_var, vae.likelihood,
                                  vae.log_scale())
        return {name: tf.reduce_sum(terms[name]) for name in TERMS}

    return step


def batches(x: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """A tf.data pipeline over the rows of x, in order."""
    return tf.data.Dataset.from_tensor_slices(x).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def evaluate(vae: VAE, x: np.ndarray, batch_size: int = 1000, seed: int = 0) -> Dict[str, float]:
    """Mean -ELBO terms over x, with a fresh generator so the result is repeatable."""
    step = make_eval_step(vae, tf.random.Generator.from_seed(seed))
    totals = {name: 0.0 for name in TERMS}
    for batch in batches(x, batch_size):
        for name, value in step(batch).items():
            totals[name] += float(value)
    return {name: total / len(x) for name, total in totals.items()}


def reconstruct(vae: VAE, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Deterministic mean reconstructions: the likelihood's mean at decoder(z_mean). [N, D]."""
    out = [vae.mean(vae(batch)).numpy() for batch in batches(x, batch_size)]
    return np.concatenate(out) if out else np.zeros_like(x)


def binarize(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli draws with the grey levels as probabilities (dynamic binarization)."""
    return (rng.uniform(size=x.shape) < x).astype(np.float32)


def epoch_chunks(x: np.ndarray, batch_size: int, steps_per_call: int, seed: int,
                 dynamic_binarization: bool = False) -> tf.data.Dataset:
    """One epoch of x shuffled by `seed`, as chunks of whole batches [K, B, D].

    Every example is used once per epoch: the last, smaller batch comes as its own chunk.
    With `dynamic_binarization` the epoch's data are fresh Bernoulli draws from x.
    """
    rng = np.random.default_rng(seed)
    x = x[rng.permutation(len(x))]
    if dynamic_binarization:
        x = binarize(x, rng)
    n_full = len(x) // batch_size
    full = x[:n_full * batch_size].reshape(n_full, batch_size, x.shape[1])
    chunks = tf.data.Dataset.from_tensor_slices(full).batch(steps_per_call)
    if len(x) % batch_size:
        chunks = chunks.concatenate(tf.data.Dataset.from_tensors(x[None, n_full * batch_size:]))
    return chunks.prefetch(tf.data.AUTOTUNE)


class EpochLoop:
    """Runs epochs of a compiled multi-step over shuffled batches with a progress bar.

    `on_step(global_step, terms)` is called for every step, so logging stays outside;
    the epoch's data order depends only on (seed, epoch), so a resumed run sees the
    same batches as an uninterrupted one.
    """

    def __init__(self, multi_step: Callable, x: np.ndarray, batch_size: int, seed: int,
                 steps_per_call: int = 10, verbose: int = 1,
                 chunks: Optional[Callable[[int], Iterable]] = None,
                 dynamic_binarization: bool = False):
        """verbose: 0 silent, 1 live progress bar, 2 one line per epoch (e.g. not a TTY).

        `chunks(seed)` yields the inputs of `multi_step` for one epoch; by default chunks
        of K batches [K, B, D] from `epoch_chunks` (distribute.py passes its own).
        """
        self.multi_step, self.x, self.batch_size = multi_step, x, batch_size
        self.seed, self.steps_per_call, self.verbose = seed, steps_per_call, verbose
        self.chunks = chunks or (lambda s: epoch_chunks(x, batch_size, steps_per_call, s,
                                                        dynamic_binarization))
        # Optional single-batch step for the very first batch (e.g. one traced for the
        # TensorBoard graph): x [B, D] -> batch-mean terms.
        self.first_step: Optional[Callable[[tf.Tensor], Dict]] = None

    def run_epoch(self, epoch: int, global_step: int, on_step: Callable) -> Dict[str, float]:
        n_batches = math.ceil(len(self.x) / self.batch_size)
        bar = keras.utils.Progbar(n_batches, verbose=self.verbose, unit_name="batch",
                                  stateful_metrics=["loss"])
        sums = {name: 0.0 for name in TERMS}
        seen = done = 0
        for chunk in self.chunks(self.seed * 100003 + epoch):
            values = self._run_chunk(chunk)
            for i in range(len(values["loss"])):
                size = min(self.batch_size, len(self.x) - done * self.batch_size)
                terms = {name: float(v[i]) for name, v in values.items()}
                done += 1
                if not math.isfinite(terms["loss"]):
                    raise TrainingDiverged(
                        f"the loss became {terms['loss']} at epoch {epoch + 1}, step {done}; "
                        "try a lower --learning_rate")
                seen += size
                for name in TERMS:
                    sums[name] += terms[name] * size
                on_step(global_step + done, terms)
            bar.update(done, values=[("loss", sums["loss"] / seen)])  # running mean
        return {name: total / seen for name, total in sums.items()}

    def _run_chunk(self, chunk: tf.Tensor) -> Dict[str, np.ndarray]:
        """Terms of every step of a chunk [K, B, D] -> {name: [K]}."""
        parts = []
        if self.first_step is not None:
            first, self.first_step = self.first_step, None
            parts.append({k: np.reshape(v, [1]) for k, v in first(chunk[0]).items()})
            chunk = chunk[1:]
        if not isinstance(chunk, tf.Tensor) or chunk.shape[0]:
            parts.append({k: np.asarray(v) for k, v in self.multi_step(chunk).items()})
        return {name: np.concatenate([p[name] for p in parts]).astype(np.float64)
                for name in TERMS}
