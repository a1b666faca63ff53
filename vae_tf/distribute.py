"""TensorFlow's own distribution strategies for the training loop.

`default` runs on one device (with the fast XLA multi-step path of train.py);
`mirrored` replicates the model on every local GPU, or on every logical CPU device when
there is no GPU (`--cpu_devices=N` splits the CPU into N, so the path runs here);
`multi_worker` reads the cluster from TF_CONFIG. The chief writes the run folder; other
workers write theirs under `<logdir>/workers/<type>-<index>`.
"""

import math
import os
from typing import Callable, Dict, Iterator

import numpy as np
import tensorflow as tf

from vae_tf.errors import UserError
from vae_tf.train import TERMS

from vae_tf.config import STRATEGIES  # noqa: E402  (one list of names)


def split_cpu(n: int) -> None:
    """Expose the CPU as n logical devices; must run before TensorFlow starts its runtime."""
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError:
        if len(tf.config.list_logical_devices("CPU")) != n:
            raise UserError(f"--cpu_devices={n}: TensorFlow had already started, so the CPU "
                            "cannot be split; pass the flag to a fresh process") from None


def make_strategy(name: str, cpu_devices: int = 0) -> tf.distribute.Strategy:
    """The strategy called `name`; `cpu_devices` > 1 first splits the CPU."""
    if name not in STRATEGIES:
        raise UserError(f"--strategy={name!r} is unknown; choose one of: {', '.join(STRATEGIES)}")
    if cpu_devices > 1:
        split_cpu(cpu_devices)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = ([d.name for d in tf.config.list_logical_devices("GPU")]
                   or [d.name for d in tf.config.list_logical_devices("CPU")])
        return tf.distribute.MirroredStrategy(devices)
    if not os.environ.get("TF_CONFIG"):
        raise UserError("--strategy=multi_worker reads the cluster from the TF_CONFIG "
                        "environment variable, which is not set; set it on every worker "
                        "(see README, 'Several devices and machines')")
    return tf.distribute.MultiWorkerMirroredStrategy()


def task_of(strategy: tf.distribute.Strategy):
    """(task_type, task_id) of this process, or (None, None) outside a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    task_type, task_id = task_of(strategy)
    if task_type is None or task_type == "chief":
        return True
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def worker_logdir(logdir: str, strategy: tf.distribute.Strategy) -> str:
    """The chief's run folder is `logdir`; every other worker writes beside it."""
    if is_chief(strategy):
        return logdir
    task_type, task_id = task_of(strategy)
    return os.path.join(logdir, "workers", f"{task_type}-{task_id}")


class DistributedSteps:
    """Epoch chunks and a compiled multi-step running a replica step under `strategy`.

    Call `chunks(seed)` to start an epoch (it yields the number of steps of each call)
    and the object itself with that number to run them; the terms come back reduced
    over replicas, one value per step.
    """

    def __init__(self, strategy: tf.distribute.Strategy, step_body: Callable,
                 x: np.ndarray, batch_size: int, steps_per_call: int):
        self.strategy, self.x = strategy, x
        self.batch_size, self.steps_per_call = batch_size, steps_per_call
        self._iterator: Iterator = iter(())

        @tf.function
        def multi(iterator, k):
            out = {name: tf.TensorArray(tf.float32, size=k) for name in TERMS}
            for i in tf.range(k):
                per_replica = strategy.run(step_body, args=(next(iterator),))
                out = {name: out[name].write(i, strategy.reduce(
                    tf.distribute.ReduceOp.SUM, per_replica[name], axis=None)) for name in TERMS}
            return {name: array.stack() for name, array in out.items()}

        self._multi = multi

    def chunks(self, seed: int):
        x = self.x[np.random.default_rng(seed).permutation(len(self.x))]
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA)
        batches = (tf.data.Dataset.from_tensor_slices(x).batch(self.batch_size)
                   .with_options(options))
        self._iterator = iter(self.strategy.experimental_distribute_dataset(batches))
        n_steps = math.ceil(len(x) / self.batch_size)
        for start in range(0, n_steps, self.steps_per_call):
            yield min(self.steps_per_call, n_steps - start)

    def __call__(self, k: int) -> Dict[str, tf.Tensor]:
        return self._multi(self._iterator, tf.constant(k))
