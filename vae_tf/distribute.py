"""TensorFlow's own distribution strategies for the training loop.

`default` runs on one device (the engine's XLA multi-step path);
`mirrored` replicates the model on every local GPU, or on every logical CPU device when
there is no GPU (`--cpu_devices=N` splits the CPU into N, so the path runs here);
`multi_worker` reads the cluster from TF_CONFIG. The chief writes the run folder; other
workers write theirs under `<logdir>/workers/<type>-<index>`.
"""

import os
from typing import Optional

import tensorflow as tf

from vae_tf import cluster
from vae_tf.config import STRATEGIES
from vae_tf.errors import UserError


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


_MADE = {}  # one strategy per name and process: a cluster's collectives start only once


def make_strategy(name: str, cpu_devices: int = 0) -> tf.distribute.Strategy:
    """The strategy called `name` (made once per process); `cpu_devices` > 1 first splits the CPU."""
    if name not in STRATEGIES:
        raise UserError(f"--strategy={name!r} is unknown; choose one of: {', '.join(STRATEGIES)}")
    if cpu_devices > 1:
        split_cpu(cpu_devices)
    if name == "default":
        return tf.distribute.get_strategy()
    if name not in _MADE:
        _MADE[name] = _make(name)
    return _MADE[name]


def _make(name: str) -> tf.distribute.Strategy:
    if name == "mirrored":
        devices = ([d.name for d in tf.config.list_logical_devices("GPU")]
                   or [d.name for d in tf.config.list_logical_devices("CPU")])
        return tf.distribute.MirroredStrategy(devices)
    cluster.rendezvous(*cluster.read_cluster())  # TensorFlow would wait for peers forever
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


def worker_subfolder(strategy: tf.distribute.Strategy) -> Optional[str]:
    """None for the chief (it writes the run folder); `workers/<type>-<index>` for the others."""
    if is_chief(strategy):
        return None
    task_type, task_id = task_of(strategy)
    return os.path.join("workers", f"{task_type}-{task_id}")
