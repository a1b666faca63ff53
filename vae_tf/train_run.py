"""`--mode=train`, the training run: build the VAE, run the engine, write the outputs."""

import dataclasses
import os
from typing import Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from vae_tf import collapse, datasets, distribute, iwae, plots, summaries
from vae_tf.checks import check_train_data
from vae_tf.config import Config
from vae_tf.engine import Engine, default_verbosity
from vae_tf.evaluation import (evaluate, reconstruct, sample,
                               thesis_reconstruction_errors)
from vae_tf.initializers import thesis_pytorch_init
from vae_tf.marginal_likelihood import estimate_log_likelihood
from vae_tf.metrics import mae, rmse
from vae_tf.models import VAE
from vae_tf.rundir import RunDir

N_SHOW = 10  # images per row in the TensorBoard grids and figures


def build_model(config: Config, input_dim: int, image_shape=None) -> VAE:
    """The VAE of `config`, seeded (call inside the strategy's scope)."""
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    vae = VAE(input_dim, config.latent_dim, config.hidden_dim, config.init_stddev, config.seed,
              arch=config.arch, image_shape=image_shape, hidden_layers=config.hidden_layers,
              likelihood=config.likelihood, sigma=config.sigma)
    if config.init == "thesis_pytorch":
        thesis_pytorch_init(vae, config.seed)
    return vae


def run_train(config: Config, data: Optional[datasets.Dataset] = None,
              verbose: Optional[int] = None) -> Dict[str, float]:
    """Train (or resume) the VAE of `config`; write checkpoints, summaries and outputs."""
    strategy = distribute.make_strategy(config.strategy, config.cpu_devices)  # before any op
    data = data if data is not None else datasets.load(config.dataset, config.data_dir)
    check_train_data(config, data)
    iwae.check_fits_in_memory(config.train_samples, config.batch_size, data.dim,
                              config.hidden_dim, config.hidden_layers)
    if config.binarize:  # the test set is binarized once, with a fixed seed
        rng = np.random.default_rng(12345)
        data = dataclasses.replace(
            data, test=(rng.uniform(size=data.test.shape) < data.test).astype(np.float32))
    run = RunDir.for_config(config, distribute.worker_subfolder(strategy))
    try:
        with strategy.scope():
            vae = build_model(config, data.dim, data.image_shape)
            rng = tf.random.Generator.from_seed(config.seed)
        objective = iwae.make_objective(vae, rng, config.binarize, config.train_samples)
        engine = Engine(objective, [data.train], config.batch_size,
                        config.learning_rate, seed=config.seed,
                        steps_per_call=config.steps_per_call,
                        # XLA's CPU convolutions measured ~10x slower than TensorFlow's own.
                        jit_compile=config.jit_compile and config.arch == "mlp",
                        strategy=None if config.strategy == "default" else strategy, run=run,
                        log_every=config.log_every, epsilon=config.adam_epsilon,
                        verbose=default_verbosity() if verbose is None else verbose)
        if engine.start_epoch == 0:
            run.writer.hparams(dataclasses.asdict(config), os.path.basename(os.path.normpath(run.path)))
            # The model and its loss, not the optimizer: the thesis's figures.
            graph = summaries.model_graph if config.train_samples == 1 else iwae.model_graph
            run.writer.graph(graph(objective, config.batch_size, data.dim))
        history = engine.fit(config.epochs,
                             learning_rate=lambda e: config.learning_rate * config.lr_decay ** e,
                             on_epoch_end=_epoch_summaries(config, data, vae, run))
        if config.iwae_samples:
            nll = -float(np.mean(estimate_log_likelihood(vae, data.test, config.iwae_samples,
                                                         seed=config.seed + 2)))
            run.writer.scalars("test", {"iwae_nll": nll}, engine.start_epoch)
            if history:  # (empty when every record was lost: history.py)
                history[-1]["test/iwae_nll"] = nll
                run.write_history(history)
        return finish(config, data, vae, run, history)
    finally:
        run.close()


def _epoch_summaries(config: Config, data: datasets.Dataset, vae: VAE, run: RunDir):
    """After each epoch: the test terms (returned for the record) and the image grids."""
    shown = data.test[:N_SHOW]
    prior_z = np.random.default_rng(config.seed).standard_normal(
        (N_SHOW * 2, config.latent_dim)).astype(np.float32)

    def on_epoch_end(epoch: int, _terms) -> Dict[str, float]:
        test = evaluate(vae, data.test, seed=config.seed + 1)
        run.writer.image("images/reconstructions", summaries.image_grid(
            [shown, reconstruct(vae, shown)], data.image_shape), epoch)
        run.writer.image("images/samples", summaries.image_grid(
            [sample(vae, prior_z[:N_SHOW]), sample(vae, prior_z[N_SHOW:])],
            data.image_shape), epoch)
        return {f"test/{k}": v for k, v in test.items()}

    return on_epoch_end


def finish(config: Config, data: datasets.Dataset, vae: VAE, run: RunDir,
           history: List[Dict[str, float]]) -> Dict:
    """Save the model, metrics.json and figures of a (possibly resumed) run."""
    tmp_model = run.file("model.tmp.keras")
    vae.save(tmp_model)
    os.replace(tmp_model, run.file("model.keras"))
    recon = reconstruct(vae, data.test)
    # Records rebuilt from TensorBoard after damage have no seconds (history.py).
    seconds = [h["seconds"] for h in history if "seconds" in h]
    steady = seconds[1:] if len(seconds) > 1 else seconds  # the first epoch compiles
    last = history[-1] if history else {}
    test = ({"loss": last["test/loss"], "kl": last["test/kl"]} if "test/kl" in last
            else evaluate(vae, data.test, seed=config.seed + 1))
    diagnosis = collapse.diagnose(vae, data.test, test["kl"], recon)
    metrics = {
        "loss": last.get("train/loss"),
        "test_loss": test["loss"],
        # test_kl, latent_units_in_use (of latent_units), reconstruction_spread, collapsed
        # and collapse (what is wrong, "" when nothing): see collapse.py.
        **diagnosis,
        "reconstruction_rmse": rmse(data.test, recon),
        "reconstruction_mae": mae(data.test, recon),
        # The thesis's printed figure (see thesis_reconstruction_errors), beside the sound one.
        **dict(zip(("thesis_rmse", "thesis_mae"),
                   thesis_reconstruction_errors(vae, data.train, seed=config.seed + 3))),
        "epochs": int(history[-1]["epoch"]) if history else 0,
        "train_examples": len(data.train),
        "steps": (int(history[-1]["epoch"]) if history else 0)
                 * -(-len(data.train) // config.batch_size),  # optimizer steps in all
        # The whole run's, resumed parts included (history keeps every epoch's seconds).
        "train_seconds": float(sum(seconds)),
        "train_images_per_second": (len(data.train) * len(steady) / sum(steady)
                                    if steady and sum(steady) > 0 else None),
        # `loss` is the -ELBO for 1, the -IWAE bound with this many draws for K > 1.
        "train_samples": config.train_samples,
    }
    if history and "test/iwae_nll" in history[-1]:
        metrics["test_iwae_nll"] = history[-1]["test/iwae_nll"]
        metrics["iwae_samples"] = config.iwae_samples
    run.write_json("metrics.json", metrics)
    write_figures(config, data, vae, run, history, recon)
    logging.info("wrote %s (test loss %.3f, reconstruction RMSE %.4f, test KL %.2f, %d of %d "
                 "latent units in use)", run.path, metrics["test_loss"],
                 metrics["reconstruction_rmse"], metrics["test_kl"],
                 metrics["latent_units_in_use"], metrics["latent_units"])
    if metrics["collapsed"]:
        logging.warning("%s", collapse.warning_line(metrics))
    return metrics


def write_figures(config: Config, data: datasets.Dataset, vae: VAE, run: RunDir,
                  history: List[Dict[str, float]], recon: np.ndarray) -> None:
    shape = data.image_shape
    plots.image_rows(run.file("figures", "reconstructions.png"),
                     [data.test[:N_SHOW], recon[:N_SHOW]], ["test data", "reconstructed"],
                     shape, f"{config.dataset}: test images and their VAE reconstructions")
    z = np.random.default_rng(config.seed).standard_normal((30, config.latent_dim))
    plots.image_grid(run.file("figures", "samples.png"), sample(vae, z.astype(np.float32)),
                     shape, title=f"{config.dataset}: decoded draws from the prior")
    if history:
        trained = ("-ELBO" if config.train_samples == 1 else
                   f"-IWAE bound (K={config.train_samples}; test: -ELBO)")
        plots.loss_curves(run.file("figures", "loss.png"), history,
                          f"{config.dataset}: {trained} per epoch")
    if config.latent_dim == 2:
        z_mean, _ = vae.encode(data.test)
        plots.latent_scatter(run.file("figures", "latent.png"), np.asarray(z_mean),
                             data.test_labels)
        side = np.linspace(-2.5, 2.5, 15, dtype=np.float32)
        grid = np.array([[x, y] for y in side[::-1] for x in side], np.float32)
        plots.image_grid(run.file("figures", "manifold.png"), sample(vae, grid), shape,
                         cols=15, title="decoded latent grid z in [-2.5, 2.5]^2")
