"""Train steps (tf.function factories), evaluation and the epoch loop. Never reads FLAGS."""

import math
import time
from typing import Callable, Dict, Iterable, List, Optional

import keras
import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.errors import TrainingDiverged
from vae_tf.models import VAE, encode_decode

TERMS = ("loss", "reconstruction", "kl")


def make_train_step(vae: VAE, optimizer: keras.optimizers.Optimizer,
                    rng: tf.random.Generator, jit_compile: bool = False) -> Callable:
    """A compiled step: one Adam update on a batch [B, D]; returns the batch-mean terms."""

    def step(x):
        with tf.GradientTape() as tape:
            logits, z_mean, z_log_var = encode_decode(vae, x, rng)
            terms = losses.elbo_terms(x, logits, z_mean, z_log_var)
            loss = tf.reduce_mean(terms["loss"])
        variables = vae.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {name: tf.reduce_mean(terms[name]) for name in TERMS}

    return tf.function(step, jit_compile=jit_compile, reduce_retracing=True)


def make_eval_step(vae: VAE, rng: tf.random.Generator) -> Callable:
    """A compiled evaluation: per-batch sums of the terms (one posterior draw); no update."""

    @tf.function(reduce_retracing=True)
    def step(x):
        logits, z_mean, z_log_var = encode_decode(vae, x, rng)
        terms = losses.elbo_terms(x, logits, z_mean, z_log_var)
        return {name: tf.reduce_sum(terms[name]) for name in TERMS}

    return step


def batches(x: np.ndarray, batch_size: int, seed: Optional[int] = None) -> tf.data.Dataset:
    """A tf.data pipeline over the rows of x, shuffled by `seed` (None: in order)."""
    if seed is not None:
        x = x[np.random.default_rng(seed).permutation(len(x))]
    return (tf.data.Dataset.from_tensor_slices(x).batch(batch_size)
            .prefetch(tf.data.AUTOTUNE))


def evaluate(vae: VAE, x: np.ndarray, batch_size: int = 1000, seed: int = 0) -> Dict[str, float]:
    """Mean -ELBO terms over x, with a fresh generator so the result is repeatable."""
    step = make_eval_step(vae, tf.random.Generator.from_seed(seed))
    totals = {name: 0.0 for name in TERMS}
    for batch in batches(x, batch_size):
        for name, value in step(batch).items():
            totals[name] += float(value)
    return {name: total / len(x) for name, total in totals.items()}


def reconstruct(vae: VAE, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Deterministic mean reconstructions sigmoid(decoder(z_mean)). [N, D] -> [N, D]."""
    out = [tf.sigmoid(vae(batch)).numpy() for batch in batches(x, batch_size)]
    return np.concatenate(out) if out else np.zeros_like(x)


class EpochLoop:
    """Runs epochs of a compiled step over shuffled batches with a progress bar.

    Callbacks: `on_step(global_step, terms)` every step and `on_epoch(epoch, means,
    seconds)` after each epoch, so logging and checkpointing stay outside the loop.
    """

    def __init__(self, train_step: Callable, x: np.ndarray, batch_size: int, seed: int,
                 verbose: int = 1):
        """verbose: 0 silent, 1 live progress bar, 2 one line per epoch (e.g. not a TTY)."""
        self.train_step, self.x, self.batch_size = train_step, x, batch_size
        self.seed, self.verbose = seed, verbose
        # Optional wrapper for the very first step, e.g. Writer.trace_graph for the graph.
        self.wrap_first_step: Optional[Callable[[Callable], object]] = None

    def run_epoch(self, epoch: int, global_step: int, on_step: Callable) -> Dict[str, float]:
        n_batches = math.ceil(len(self.x) / self.batch_size)
        bar = keras.utils.Progbar(n_batches, verbose=self.verbose, unit_name="batch",
                                  stateful_metrics=["loss"])
        sums = {name: 0.0 for name in TERMS}
        seen = 0
        for i, batch in enumerate(batches(self.x, self.batch_size, seed=self.seed * 100003 + epoch)):
            if self.wrap_first_step is not None:
                wrap, self.wrap_first_step = self.wrap_first_step, None
                out = wrap(lambda: self.train_step(batch))
            else:
                out = self.train_step(batch)
            terms = {k: float(v) for k, v in out.items()}
            if not math.isfinite(terms["loss"]):
                raise TrainingDiverged(
                    f"the loss became {terms['loss']} at epoch {epoch + 1}, step {i + 1}; "
                    "the last good checkpoint is kept: try a lower --learning_rate")
            size = int(batch.shape[0])
            seen += size
            for name in TERMS:
                sums[name] += terms[name] * size
            global_step += 1
            on_step(global_step, terms)
            bar.update(i + 1, values=[("loss", sums["loss"] / seen)])  # running mean
        return {name: total / seen for name, total in sums.items()}
