"""`--mode=impute`: the thesis's imputers on a dataset, judged on held-out data.

Images: the training split gets holes (seed) and is the K-NN reference set, or the data
the VAE fills in while it trains (the thesis's algorithm); the test split gets its own
holes (seed + 1) and is imputed by the fitted imputer. Errors compare the imputed test
images with the originals over all entries (the thesis's measure) and over the missing
entries only. For RGB CIFAR-10 and the faces the structured scheme uses the thesis's H/3
variant. MovieLens: the observed cells are ua.base's ratings; the imputer predicts every
other cell, and the ua.test ratings judge it.
"""

import dataclasses
import os
import sys
import time
from typing import Dict

import numpy as np
from absl import logging

from vae_tf import datasets, plots, summaries
from vae_tf.config import Config
from vae_tf.errors import UserError
from vae_tf.metrics import mae, rmse
from vae_tf.missing import apply_mask, fill, make_mask
from vae_tf.rundir import prepare_logdir, write_json

THIRD_ROWS = ("cifar10_rgb", "orl_faces", "yale_faces")  # the thesis's H/3 variant
N_SHOW = 10


def _imputer(config: Config, logdir: str, marker: float = 0.5):
    if config.imputer == "knn":
        from vae_tf.knn import KNNImputer
        return KNNImputer(config.k, marker=marker)
    if config.imputer == "miwae":
        from vae_tf.miwae import MIWAEImputer
        return MIWAEImputer(latent_dim=config.latent_dim, hidden_dim=config.hidden_dim,
                            epochs=config.epochs, batch_size=config.batch_size,
                            learning_rate=config.learning_rate, seed=config.seed,
                            logdir=logdir, verbose=_verbosity(),
                            hidden_layers=config.hidden_layers)
    from vae_tf.vae_imputer import VAEImputer
    return VAEImputer(latent_dim=config.latent_dim, hidden_dim=config.hidden_dim,
                      epochs=config.epochs, batch_size=config.batch_size,
                      learning_rate=config.learning_rate, init_stddev=config.init_stddev,
                      seed=config.seed, marker=marker, logdir=logdir, verbose=_verbosity())


def _verbosity() -> int:
    """A live progress bar on a terminal, one line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


def run_impute(config: Config, data=None) -> Dict:
    """Impute with `config.imputer`; write metrics.json, TensorBoard and figures."""
    data = data if data is not None else datasets.load(config.dataset, config.data_dir)
    if config.imputer == "knn" and config.k > len(data.train):
        raise UserError(f"--k={config.k} is more than the {len(data.train)} reference "
                        f"examples of {config.dataset}; pass --k={len(data.train)} or less")
    if config.imputer == "miwae" and data.likelihood == datasets.RATINGS:
        raise UserError(f"--imputer=miwae models images in [0, 1], not the ratings of "
                        f"{config.dataset}; use --imputer=rating_vae, knn or vae for it")
    if config.imputer == "rating_vae" and data.likelihood != datasets.RATINGS:
        raise UserError(f"--imputer=rating_vae predicts ratings, and {config.dataset} holds "
                        "images; use --imputer=miwae, knn or vae for it")
    if config.imputer != "knn" and config.batch_size > len(data.train):
        raise UserError(f"--batch_size={config.batch_size} is larger than the "
                        f"{len(data.train)} training examples; pass a smaller --batch_size")
    if data.likelihood == datasets.RATINGS:
        return _ratings(config, data)
    third = config.dataset in THIRD_ROWS and config.missing == "structured"
    train_mask = make_mask(len(data.train), data.image_shape, config.missing, config.seed, third)
    test_mask = make_mask(len(data.test), data.image_shape, config.missing, config.seed + 1, third)
    train_holed, test_holed = apply_mask(data.train, train_mask), apply_mask(data.test, test_mask)
    logdir = prepare_logdir(config)
    write_json(os.path.join(logdir, "config.json"), dataclasses.asdict(config))
    imputer = _imputer(config, logdir)
    t0 = time.perf_counter()
    metrics: Dict = {}
    if config.imputer in ("knn", "miwae"):
        imputed = imputer.fit(train_holed).transform(test_holed)
        if config.imputer == "miwae":
            metrics["final_loss"] = imputer.history_[-1]["loss"]
    else:
        train_filled = imputer.fit_transform(train_holed)
        imputed = imputer.transform(test_holed)
        metrics.update(_errors(data.train, train_filled, train_mask, prefix="train_"))
        metrics["final_loss"] = imputer.history_[-1]["loss"]
    metrics["seconds"] = time.perf_counter() - t0
    metrics.update(_errors(data.test, imputed, test_mask))
    metrics.update(settings(config, third))
    write_json(os.path.join(logdir, "metrics.json"), metrics)
    _pictures(config, data, test_holed, imputed, logdir)
    logging.info("%s imputation of %s (%s holes): test RMSE %.4f (missing only %.4f) in %.1fs; "
                 "wrote %s", config.imputer, config.dataset, config.missing, metrics["rmse"],
                 metrics["rmse_missing"], metrics["seconds"], logdir)
    return metrics


def settings(config: Config, third: bool = False) -> Dict:
    out = {"dataset": config.dataset, "imputer": config.imputer, "missing": config.missing,
           "seed": config.seed, "third_rows": third}
    if config.imputer == "knn":
        out["k"] = config.k
    elif config.imputer == "rating_vae":
        out["settings"] = "the tuned defaults of vae_tf.ratings.RatingVAE"
    else:
        out.update(epochs=config.epochs, batch_size=config.batch_size,
                   latent_dim=config.latent_dim, hidden_dim=config.hidden_dim,
                   learning_rate=config.learning_rate)
    return out


def _errors(truth, pred, mask, prefix="") -> Dict[str, float]:
    return {f"{prefix}rmse": rmse(truth, pred), f"{prefix}mae": mae(truth, pred),
            f"{prefix}rmse_missing": rmse(truth, pred, ~mask),
            f"{prefix}mae_missing": mae(truth, pred, ~mask)}


def _pictures(config: Config, data, holed, imputed, logdir: str) -> None:
    rows = [data.test[:N_SHOW], fill(holed[:N_SHOW]), imputed[:N_SHOW]]
    writer = summaries.Writer(logdir)
    for tag, row in zip(("originals", "with_holes", "imputed"), rows):
        writer.image(f"images/{tag}", summaries.image_grid([row], data.image_shape), 0)
    writer.close()
    plots.image_rows(os.path.join(logdir, "figures", "imputation.png"), rows,
                     ["original test data", "test data with\nmissing values (grey)",
                      f"predicted by\n{config.imputer.upper()}"
                      + (f" (K={config.k})" if config.imputer == "knn" else "")],
                     data.image_shape, f"{config.dataset}: {config.missing} missing values")


def _ratings(config: Config, data) -> Dict:
    """MovieLens: impute the user x movie matrix from ua.base, judge on ua.test."""
    logdir = prepare_logdir(config)
    write_json(os.path.join(logdir, "config.json"), dataclasses.asdict(config))
    t0 = time.perf_counter()
    if config.imputer == "rating_vae":  # ours: rated cells only, over the biases, in [1, 5]
        from vae_tf.ratings import RatingVAE
        predicted = RatingVAE(seed=config.seed).fit(data.train).predict()
    elif config.imputer == "knn":  # the thesis: raw ratings, marker 0; a user is not its own neighbour
        imputer = _imputer(config, logdir, marker=0.0)
        predicted = imputer.fit(data.train).transform(data.train, exclude=np.arange(len(data.train)))
    else:  # ratings 1..5 scaled to [0, 1] for the Bernoulli decoder, marker 0.5 (rating 3)
        imputer = _imputer(config, logdir, marker=0.5)
        predicted = 1.0 + 4.0 * imputer.fit_transform((data.train - 1.0) / 4.0)
    seconds = time.perf_counter() - t0
    rated = ~np.isnan(data.test)
    truth = np.where(rated, data.test, 0)
    metrics = {"rmse": rmse(truth, predicted, rated), "mae": mae(truth, predicted, rated),
               "seconds": seconds, "test_ratings": int(rated.sum()),
               "mean_predicted_rating": float(predicted[rated].mean()),
               **settings(config)}
    metrics["rmse_missing"], metrics["mae_missing"] = metrics["rmse"], metrics["mae"]
    write_json(os.path.join(logdir, "metrics.json"), metrics)
    plots.ratings_by_truth(os.path.join(logdir, "figures", "ratings.png"), data.test[rated],
                           predicted[rated], f"{config.dataset}: {config.imputer} predictions "
                           f"on ua.test (RMSE {metrics['rmse']:.3f})")
    logging.info("%s on %s: ua.test RMSE %.4f, MAE %.4f in %.1fs; wrote %s", config.imputer,
                 config.dataset, metrics["rmse"], metrics["mae"], seconds, logdir)
    return metrics
