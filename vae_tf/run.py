"""One training run end to end: data, logdir, checkpoints, summaries, outputs."""

import dataclasses
import os
import sys
import time
from typing import Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from vae_tf import datasets, distribute, plots, summaries
from vae_tf.config import Config
from vae_tf.errors import TrainingDiverged, UserError
from vae_tf.metrics import mae, rmse
from vae_tf.rundir import prepare_logdir, read_history, write_history, write_json
from vae_tf.models import VAE
from vae_tf.likelihood import estimate_log_likelihood
from vae_tf.train import (EpochLoop, binarize, evaluate, make_multi_step, make_train_step,
                          reconstruct, step_body)

N_SHOW = 10  # images per row in the TensorBoard grids and figures


def build_model(config: Config, input_dim: int, image_shape=None):
    """The VAE, its Adam optimizer (slots built) and the sampling generator."""
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    vae = VAE(input_dim, config.latent_dim, config.hidden_dim, config.init_stddev, config.seed,
              arch=config.arch, image_shape=image_shape, hidden_layers=config.hidden_layers,
              likelihood=config.likelihood, sigma=config.sigma)
    optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
    optimizer.build(vae.trainable_variables)
    rng = tf.random.Generator.from_seed(config.seed)
    return vae, optimizer, rng


def run_train(config: Config, data: Optional[datasets.Dataset] = None,
              verbose: Optional[int] = None) -> Dict[str, float]:
    """Train (or resume) the VAE of `config`; write checkpoints, summaries and outputs."""
    strategy = distribute.make_strategy(config.strategy, config.cpu_devices)  # before any op
    data = data if data is not None else datasets.load(config.dataset, config.data_dir)
    if data.likelihood != datasets.BERNOULLI:
        raise UserError(f"--dataset={config.dataset} holds ratings, which --mode=train does "
                        "not model; use --mode=impute for it")
    for split in ("train", "test"):
        datasets.check_finite_unit(split, getattr(data, split), config.dataset)
    if config.batch_size > len(data.train):
        raise UserError(f"--batch_size={config.batch_size} is larger than the "
                        f"{len(data.train)} training examples of {config.dataset}; "
                        f"pass --batch_size={min(len(data.train), 100)} or less")
    if config.binarize:  # the test set is binarized once, with a fixed seed
        data = dataclasses.replace(data, test=binarize(data.test, np.random.default_rng(12345)))
    logdir = distribute.worker_logdir(prepare_logdir(config), strategy)
    os.makedirs(logdir, exist_ok=True)
    write_json(os.path.join(logdir, "config.json"), dataclasses.asdict(config))
    if verbose is None:  # a live bar on a terminal, one line per epoch in a log file
        verbose = 1 if sys.stdout.isatty() else 2

    with strategy.scope():
        vae, optimizer, rng = build_model(config, data.dim, data.image_shape)
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    scale = {"raw_scale": vae.raw_scale} if vae.raw_scale is not None else {}
    checkpoint = tf.train.Checkpoint(encoder=vae.encoder, decoder=vae.decoder,
                                     optimizer=optimizer, epoch=epoch, rng=rng, **scale)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(logdir, "checkpoints"),
                                         max_to_keep=3)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        logging.info("resumed from %s (epoch %d)", manager.latest_checkpoint, int(epoch.numpy()))
    start = int(epoch.numpy())

    writer = summaries.Writer(logdir)
    history_path = os.path.join(logdir, "history.jsonl")
    history = read_history(history_path, start)
    if config.strategy == "default":
        # XLA's CPU convolutions measured ~10x slower than TensorFlow's own: MLP only.
        jit = config.jit_compile and config.arch == "mlp"
        loop = EpochLoop(make_multi_step(vae, optimizer, rng, jit), data.train,
                         config.batch_size, config.seed, config.steps_per_call, verbose,
                         dynamic_binarization=config.binarize)
    else:  # replicas: tf.distribute's own loop (strategy.run, reduced terms)
        steps = distribute.DistributedSteps(strategy, step_body(vae, optimizer, rng),
                                            data.train, config.batch_size, config.steps_per_call)
        loop = EpochLoop(steps, data.train, config.batch_size, config.seed,
                         config.steps_per_call, verbose, chunks=steps.chunks)
    if start == 0:
        writer.hparams(dataclasses.asdict(config))
    if start == 0 and config.strategy == "default":  # its first step, traced, gives the graph
        single_step = make_train_step(vae, optimizer, rng)
        loop.first_step = lambda x: writer.trace_graph(lambda: single_step(x))

    def on_step(step: int, terms: Dict[str, float]) -> None:
        if step % config.log_every == 0:
            writer.scalars("steps", {"loss": terms["loss"]}, step)

    shown = data.test[:N_SHOW]
    prior_z = np.random.default_rng(config.seed).standard_normal(
        (N_SHOW * 2, config.latent_dim)).astype(np.float32)
    seconds, sizes = [], []
    for e in range(start, config.epochs):
        t0 = time.perf_counter()
        learning_rate = config.learning_rate * config.lr_decay ** e  # the flags win on resume
        optimizer.learning_rate.assign(learning_rate)
        try:
            train_terms = loop.run_epoch(e, int(optimizer.iterations.numpy()), on_step)
        except TrainingDiverged as err:
            kept = (f"{manager.latest_checkpoint} (epoch {e}) is kept" if manager.latest_checkpoint
                    else "no epoch had finished, so there is no checkpoint")
            raise TrainingDiverged(f"{err} (epoch {e + 1} ran at {learning_rate:g}); "
                                   f"{kept}") from None
        seconds.append(time.perf_counter() - t0)
        sizes.append(len(data.train))
        test_terms = evaluate(vae, data.test, seed=config.seed + 1)
        writer.scalars("train", {**train_terms, "learning_rate": learning_rate}, e + 1)
        writer.scalars("test", test_terms, e + 1)
        writer.image("images/reconstructions", summaries.image_grid(
            [shown, reconstruct(vae, shown)], data.image_shape), e + 1)
        writer.image("images/samples", summaries.image_grid(
            [sample(vae, prior_z[:N_SHOW]), sample(vae, prior_z[N_SHOW:])], data.image_shape), e + 1)
        writer.flush()
        history.append({"epoch": e + 1, "seconds": seconds[-1],
                        **{f"train/{k}": v for k, v in train_terms.items()},
                        **{f"test/{k}": v for k, v in test_terms.items()}})
        write_history(history_path, history)  # before the checkpoint: resume filters it
        epoch.assign(e + 1)
        manager.save(checkpoint_number=e + 1)
        logging.info("epoch %d/%d  train loss %.3f (rec %.3f, kl %.3f)  test loss %.3f  %.1fs",
                     e + 1, config.epochs, train_terms["loss"], train_terms["reconstruction"],
                     train_terms["kl"], test_terms["loss"], seconds[-1])
    if config.iwae_samples:
        nll = -float(np.mean(estimate_log_likelihood(vae, data.test, config.iwae_samples,
                                                     seed=config.seed + 2)))
        writer.scalars("test", {"iwae_nll": nll}, int(epoch.numpy()))
        history[-1]["test/iwae_nll"] = nll
    writer.close()
    return finish(config, data, vae, logdir, history, seconds, sizes)


def sample(vae: VAE, z: np.ndarray) -> np.ndarray:
    """Decoded means (the likelihood's mean of decoder(z)) for latent draws z [n, L]."""
    return vae.mean(vae.decoder(z)).numpy()


def finish(config: Config, data: datasets.Dataset, vae: VAE, logdir: str,
           history: List[Dict[str, float]], seconds: List[float], sizes: List[int]) -> Dict:
    """Save the model, metrics.json and figures of a (possibly resumed) run."""
    tmp_model = os.path.join(logdir, "model.tmp.keras")
    vae.save(tmp_model)
    os.replace(tmp_model, os.path.join(logdir, "model.keras"))
    recon = reconstruct(vae, data.test)
    steady = (seconds[1:], sizes[1:]) if len(seconds) > 1 else (seconds, sizes)
    if history:
        loss, test_loss = history[-1]["train/loss"], history[-1]["test/loss"]
    else:
        loss, test_loss = None, evaluate(vae, data.test, seed=config.seed + 1)["loss"]
    metrics = {
        "loss": loss,
        "test_loss": test_loss,
        "reconstruction_rmse": rmse(data.test, recon),
        "reconstruction_mae": mae(data.test, recon),
        "epochs": int(history[-1]["epoch"]) if history else 0,
        # The whole run's, resumed parts included (history keeps every epoch's seconds).
        "train_seconds": float(sum(h.get("seconds", 0.0) for h in history)),
        "train_images_per_second": (sum(steady[1]) / sum(steady[0])) if steady[0] else None,
    }
    if history and "test/iwae_nll" in history[-1]:
        metrics["test_iwae_nll"] = history[-1]["test/iwae_nll"]
        metrics["iwae_samples"] = config.iwae_samples
    write_json(os.path.join(logdir, "metrics.json"), metrics)
    write_figures(config, data, vae, logdir, history, recon)
    logging.info("wrote %s (test loss %.3f, reconstruction RMSE %.4f)", logdir,
                 metrics["test_loss"], metrics["reconstruction_rmse"])
    return metrics


def write_figures(config: Config, data: datasets.Dataset, vae: VAE, logdir: str,
                  history: List[Dict[str, float]], recon: np.ndarray) -> None:
    fig_dir = os.path.join(logdir, "figures")
    shape = data.image_shape
    plots.image_rows(os.path.join(fig_dir, "reconstructions.png"),
                     [data.test[:N_SHOW], recon[:N_SHOW]], ["test data", "reconstructed"],
                     shape, f"{config.dataset}: test images and their VAE reconstructions")
    z = np.random.default_rng(config.seed).standard_normal((30, config.latent_dim))
    plots.image_grid(os.path.join(fig_dir, "samples.png"), sample(vae, z.astype(np.float32)),
                     shape, title=f"{config.dataset}: decoded draws from the prior")
    if history:
        plots.loss_curves(os.path.join(fig_dir, "loss.png"), history,
                          f"{config.dataset}: -ELBO per epoch")
    if config.latent_dim == 2:
        z_mean, _ = vae.encoder(data.test)
        plots.latent_scatter(os.path.join(fig_dir, "latent.png"), np.asarray(z_mean),
                             data.test_labels)
        side = np.linspace(-2.5, 2.5, 15, dtype=np.float32)
        grid = np.array([[x, y] for y in side[::-1] for x in side], np.float32)
        plots.image_grid(os.path.join(fig_dir, "manifold.png"), sample(vae, grid), shape,
                         cols=15, title="decoded latent grid z in [-2.5, 2.5]^2")
