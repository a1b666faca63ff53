"""The one training engine: every model that trains runs through `Engine.fit`.

A model contributes an `Objective`: its trainable variables, what a checkpoint must hold,
and its loss as a pure function of a batch (per-example terms). The engine does the rest:
it keeps the data in variables and feeds each step a batch of row indices (shuffled per
epoch by `(seed, epoch)` only, so a resumed run sees the batches an uninterrupted one
would), runs several Adam steps per compiled call (XLA on one device), shows progress,
stops on a non-finite loss with the last good checkpoint kept, writes TensorBoard
scalars, saves a checkpoint every epoch and resumes from it, and runs the same step under
any `tf.distribute` strategy (each replica takes its share of the global batch; sums are
divided by the global batch size, so gradients and terms add up to the global mean).
The batch schedule is `batches.epoch_calls`; the bar, the epoch lines and the scalars'
grouping are `progress`'s.
"""

import math
import os
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from vae_tf import checkpoints
from vae_tf.batches import epoch_calls
from vae_tf.errors import TrainingDiverged
from vae_tf.objective import Objective  # noqa: F401  (what a model gives the engine)
from vae_tf.progress import default_verbosity, epoch_line, grouped_scalars, progress_bar

__all__ = ["Engine", "Objective", "default_verbosity"]  # the last for train_run.py, impute_run.py

# One tf.function per engine (per model trained): TensorFlow counts those as retracing of
# one function and warns; expected here, so that warning is dropped for ours only.
tf.get_logger().addFilter(lambda record: "Engine._compile" not in record.getMessage())

# TensorFlow's XLA compilation cache has no eviction (tensorflow/tensorflow#64170): every
# engine compiled with XLA keeps its machine code mapped until the process ends, about 216
# memory mappings for a small MLP (benchmarks/results/xla_mappings.md). A process that
# fits hundreds of models (a benchmark, a seed study) would reach the kernel's
# vm.max_map_count and die in LLVM ("Cannot allocate memory", then a segfault). Past this
# share of the limit, engines compile without XLA (slower steps), said once.
XLA_MAPPINGS_SHARE = 0.5
_said_no_xla = []


def mappings_used() -> Optional[float]:
    """The share of vm.max_map_count this process has mapped (Linux), else None."""
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            limit = int(f.read())
        with open("/proc/self/maps") as f:
            used = sum(1 for _ in f)
    except (OSError, ValueError):
        return None
    return used / limit if limit > 0 else None


def xla_room() -> bool:
    """False (and one warning per process) once the process has used more than
    XLA_MAPPINGS_SHARE of its memory mappings: another XLA compilation is then refused."""
    used = mappings_used()
    if used is None or used <= XLA_MAPPINGS_SHARE:
        return True
    if not _said_no_xla:
        _said_no_xla.append(True)
        logging.warning("this process has used %.0f%% of its memory mappings (vm.max_map_count),"
                        " mostly XLA code that TensorFlow never frees: models trained from "
                        "now on compile without XLA (slower steps, float rounding of their own); run "
                        "fewer fits per process to keep XLA", 100 * used)
    return False


class Engine:
    """Trains an `Objective` on `data` (arrays or variables with the same first dimension).

    Build the objective's variables inside `strategy.scope()`; build the engine outside it.
    `run` (a `rundir.RunDir`) turns on per-epoch checkpoints, resume, history.jsonl and
    TensorBoard scalars (`<tag>/<term>` per epoch, `steps/loss` every `log_every` steps).
    verbose: 0 silent, 1 a live progress bar and a line per epoch, 2 the line only.
    epsilon: Adam's (Keras's default 1e-7; TF 1's AdamOptimizer and PyTorch's use 1e-8).
    """

    def __init__(self, objective: Objective, data: Sequence[Union[np.ndarray, tf.Variable]],
                 batch_size: int, learning_rate: float, *, seed: int = 0, shuffle: bool = True,
                 steps_per_call: int = 10, jit_compile: bool = True,
                 strategy: Optional[tf.distribute.Strategy] = None, run=None,
                 tag: str = "train", log_every: int = 0, verbose: int = 0, max_to_keep: int = 3,
                 epsilon: float = 1e-7):
        self.objective, self.batch_size, self.seed = objective, int(batch_size), seed
        self.shuffle, self.steps_per_call, self.tag = shuffle, steps_per_call, tag
        self.verbose, self.log_every, self.run = verbose, log_every, run
        # Built outside any strategy scope, so get_strategy() is the default one here.
        self.distributed = strategy is not None and strategy is not tf.distribute.get_strategy()
        self.strategy = strategy or tf.distribute.get_strategy()
        with tf.device("/cpu:0"):  # plain variables, read by every replica
            self.data = [d if isinstance(d, tf.Variable) else
                         tf.Variable(np.asarray(d), trainable=False, name=f"data{i}")
                         for i, d in enumerate(data)]
        self.n = int(self.data[0].shape[0])
        with self.strategy.scope():
            self.optimizer = keras.optimizers.Adam(learning_rate, epsilon=epsilon)
            self.optimizer.build(objective.trainable_variables)
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.history: List[Dict[str, float]] = []
        self.manager = None
        self._in_step = not self.distributed and objective.updates_in_step
        self.xla = bool(jit_compile) and not self.distributed and xla_room()  # as compiled
        self._multi = self._compile(self.xla)
        if run is not None:
            self._restore(max_to_keep)

    # -- the compiled step -------------------------------------------------------------
    def replica_step(self, index: tf.Tensor, size: tf.Tensor):
        """One Adam step on this replica's share of the global batch.

        index [B]: the batch's rows, of which the first `size` are real (the epoch's last,
        smaller batch is padded to B so that every call has one shape and XLA compiles once;
        padded rows count for nothing).
        """
        objective, names = self.objective, self.objective.term_names
        n = tf.shape(index)[0]
        valid = tf.range(n) < size
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        if replicas > 1:
            r = context.replica_id_in_sync_group
            lo, hi = (r * n) // replicas, ((r + 1) * n) // replicas
            index, valid = index[lo:hi], valid[lo:hi]
        batch = tuple(tf.gather(v, index) for v in self.data)
        count = tf.cast(size, tf.float32)
        variables = objective.trainable_variables

        def total(t):  # the sum over the real rows, over the global batch's size
            return tf.reduce_sum(tf.where(valid, t, tf.zeros_like(t))) / count

        with tf.GradientTape() as tape:
            terms = objective.terms(batch)
            loss = total(terms["loss"])
            penalty = objective.penalty()
            if penalty is not None:
                loss += penalty / replicas
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        sums = {k: total(terms[k]) for k in names}
        if penalty is not None:
            sums["loss"] += penalty / replicas
        if self._in_step:
            objective.update_in_step(index, valid, batch, terms)
            return sums, {}
        return sums, {k: terms[k] for k in objective.output_names}

    def _compile(self, jit: bool) -> Callable:
        strategy, names = self.strategy, self.objective.term_names
        outs = () if self._in_step else self.objective.output_names

        def one(index, size):
            if not self.distributed:
                return self.replica_step(index, size)
            sums, outputs = strategy.run(self.replica_step, args=(index, size))
            return ({k: strategy.reduce(tf.distribute.ReduceOp.SUM, sums[k], axis=None)
                     for k in names},
                    {k: strategy.gather(outputs[k], axis=0) for k in outs})

        def multi(index, sizes):  # [K, B], [K] -> terms [K] each, outputs [K, B, ...]
            steps = tf.shape(index)[0]
            real = tf.reduce_sum(tf.cast(sizes > 0, tf.int32))  # the steps that run
            row = tf.concat([tf.shape(index)[1:], tf.shape(self.data[0])[1:]], 0)
            terms = {name: tf.TensorArray(tf.float32, size=steps) for name in names}
            kept = {name: tf.TensorArray(tf.float32, size=steps) for name in outs}
            for i in tf.range(real):
                sums, outputs = one(index[i], sizes[i])
                terms = {name: terms[name].write(i, sums[name]) for name in names}
                kept = {name: kept[name].write(i, outputs[name]) for name in outs}
            for i in tf.range(real, steps):  # steps of padding: zeros, never read
                terms = {name: terms[name].write(i, 0.0) for name in names}
                kept = {name: kept[name].write(i, tf.zeros(row)) for name in outs}
            return ({name: a.stack() for name, a in terms.items()},
                    {name: a.stack() for name, a in kept.items()})

        # Every call has the shape [K, B]: one trace and one XLA compilation per engine.
        return tf.function(multi, jit_compile=jit, input_signature=[
            tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)])

    # -- checkpoints -------------------------------------------------------------------
    def _restore(self, max_to_keep: int) -> None:
        checkpoint = tf.train.Checkpoint(optimizer=self.optimizer, epoch=self.epoch,
                                         **self.objective.trackables())
        self.manager = checkpoints.resume(checkpoint, os.path.join(self.run.path, "checkpoints"),
                                          max_to_keep, self.run.what)
        if self.manager.latest_checkpoint:
            logging.info("resumed from %s (epoch %d)", self.manager.latest_checkpoint,
                         self.start_epoch)
        self.history = self.run.read_history(self.start_epoch)

    @property
    def start_epoch(self) -> int:
        """The epochs done (restored from a checkpoint, or trained by `fit`)."""
        return int(self.epoch.numpy())

    # -- the epoch loop ----------------------------------------------------------------
    def epoch_rows(self, epoch: int) -> List[Tuple[np.ndarray, np.ndarray]]:
        """The calls of `epoch`: (rows [K, B], real rows per step [K]) each (`batches`)."""
        return epoch_calls(self.n, self.batch_size, self.steps_per_call, self.seed, epoch,
                           self.shuffle)

    def fit(self, epochs: int, learning_rate: Optional[Callable[[int], float]] = None,
            on_epoch_end: Optional[Callable[[int, Dict[str, float]], Dict]] = None
            ) -> List[Dict[str, float]]:
        """Train from the restored epoch up to `epochs`; returns the whole history.

        `learning_rate(e)` sets epoch e's rate (from 0); `on_epoch_end(epoch, terms)`
        returns more values for the epoch's record (e.g. test terms), before it is saved.
        """
        for e in range(self.start_epoch, epochs):
            rate = float(learning_rate(e)) if learning_rate else None
            if rate is not None:
                self.optimizer.learning_rate.assign(rate)
            t0 = time.perf_counter()
            try:
                terms = self._run_epoch(e, epochs)
            except TrainingDiverged as err:
                kept = (f"{self.manager.latest_checkpoint} (epoch {e}) is kept"
                        if self.manager and self.manager.latest_checkpoint else
                        "no checkpoint is kept")
                raise TrainingDiverged(f"{err}; {kept}") from None
            record = {"epoch": e + 1, "seconds": time.perf_counter() - t0,
                      **{f"{self.tag}/{k}": v for k, v in terms.items()}}
            if rate is not None:
                record[f"{self.tag}/learning_rate"] = rate
            if on_epoch_end:
                record.update(on_epoch_end(e + 1, terms) or {})
            self.history.append(record)
            self._save(record)
            if self.verbose:  # one line per epoch, after the bar's (verbose 1)
                print(f"epoch {e + 1}/{epochs}  {epoch_line(record)}  "
                      f"{record['seconds']:.1f}s", flush=True)
        return self.history

    def _save(self, record: Dict[str, float]) -> None:
        self.epoch.assign(record["epoch"])
        if self.run is None:
            return
        for group, values in grouped_scalars(record).items():
            self.run.writer.scalars(group, values, record["epoch"])
        self.run.writer.flush()
        self.run.write_history(self.history)  # before the checkpoint: resume cuts it back
        self.manager.save(checkpoint_number=record["epoch"])

    def _run_epoch(self, epoch: int, epochs: int) -> Dict[str, float]:
        names = self.objective.term_names
        calls = self.epoch_rows(epoch)
        n_batches = sum(int(np.count_nonzero(sizes)) for _, sizes in calls)
        bar = progress_bar(n_batches, self.verbose)
        sums = {name: 0.0 for name in names}
        seen = done = 0
        step0 = int(self.optimizer.iterations.numpy())
        for rows, sizes in calls:
            terms, outputs = self._multi(tf.constant(rows), tf.constant(sizes))
            values = {k: v.numpy().astype(np.float64) for k, v in terms.items()}
            real = int(np.count_nonzero(sizes))
            for i in range(real):
                done += 1
                loss = values["loss"][i]
                if not math.isfinite(loss):
                    raise TrainingDiverged(f"the loss became {loss} at epoch {epoch + 1}, "
                                           f"step {done} (learning rate "
                                           f"{float(self.optimizer.learning_rate.numpy()):g})")
                seen += int(sizes[i])
                for name in names:
                    sums[name] += values[name][i] * int(sizes[i])
                step = step0 + done
                if self.run is not None and self.log_every and step % self.log_every == 0:
                    self.run.writer.scalars("steps", {"loss": loss}, step)
            if outputs:  # the real rows of each step, and their outputs, in order
                kept = [(i, int(sizes[i])) for i in range(real)]
                arrays = {k: v.numpy() for k, v in outputs.items()}
                self.objective.apply_outputs(
                    np.concatenate([rows[i, :n] for i, n in kept]),
                    {k: (a[0, :kept[0][1]] if real == 1 else
                         np.concatenate([a[i, :n] for i, n in kept]))
                     for k, a in arrays.items()})
            if bar:
                bar.update(done, values=[("loss", sums["loss"] / seen)])
        return {name: total / seen for name, total in sums.items()}
