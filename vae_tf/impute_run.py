"""`--mode=impute`: an imputer of the `imputers` wing on a dataset, judged on held-out data.

Images: the training split gets holes (seed) and is what the imputer is fitted on (the
K-NN's reference set, or the data the VAE imputers train on); the test split gets its own
holes (seed + 1) and is imputed by the fitted imputer. Errors compare the imputed test
images with the originals over all entries (the thesis's measure) and over the missing
entries only. For RGB CIFAR-10 and the faces the structured scheme uses the thesis's H/3
variant (the registry's `third_rows`). MovieLens: the imputer is fitted on ua.base's
matrix and fills its unrated cells; the ua.test ratings judge it.
"""

import time
from typing import Callable, Dict, Tuple

import numpy as np
import tensorflow as tf
from absl import logging

from vae_tf import datasets, distribute, plots, summaries
from vae_tf.checks import check_impute_data
from vae_tf.config import Config
from vae_tf.errors import UserError
from vae_tf.imputers import registry
from vae_tf.metrics import mae, rmse
from vae_tf.missing import apply_mask, fill, make_mask
from vae_tf.rundir import RunDir

N_SHOW = 10
# The launcher's flag for each imputer argument (library errors speak in argument names).
FLAG_OF = {"n_neighbors": "k", "n_seeds": "imputer_seeds"}


def make_imputer(config: Config, run: RunDir, ratings: bool, image_shape=None):
    """The imputer `config.imputer` with the run's settings, as its registry entry builds it
    (miwae, rating_vae: their own tuned defaults for the settings the user did not give;
    miwae: the convolutions on images of `image_shape`, or the MLP with --arch=mlp)."""
    kind = registry.RATINGS if ratings else registry.IMAGES
    return registry.build(config, run, kind, image_shape)


def run_impute(config: Config, data=None) -> Dict:
    """Impute with `config.imputer`; write metrics.json, TensorBoard and figures."""
    strategy = distribute.make_strategy(config.strategy, config.cpu_devices)  # before any op
    if config.deterministic:  # as in --mode=train; the imputers seed every draw themselves
        tf.config.experimental.enable_op_determinism()
    data = data if data is not None else datasets.load(config.dataset, config.data_dir)
    ratings = check_impute_data(config, data)
    run = RunDir.for_config(config, distribute.worker_subfolder(strategy))
    try:
        imputer = make_imputer(config, run, ratings, data.image_shape)
        if strategy.num_replicas_in_sync > 1:
            logging.info("training under --strategy=%s with %d replicas", config.strategy,
                         strategy.num_replicas_in_sync)
        pipeline = _ratings if ratings else _images
        t0 = time.perf_counter()
        try:
            metrics, pictures = pipeline(config, data, imputer)
        except UserError as e:  # the library speaks in argument names, the launcher in flags
            raise UserError(_flag_names(str(e))) from None
        metrics["seconds"] = time.perf_counter() - t0
        history = getattr(imputer, "history_", None)
        if history:
            metrics["final_loss"] = history[-1]["train/loss"]
        metrics.update(settings(config, imputer))
        run.write_json("metrics.json", metrics)
        pictures(run)
        logging.info("%s imputation of %s: test RMSE %.4f (missing entries only %.4f) in "
                     "%.1fs; wrote %s", config.imputer, config.dataset, metrics["rmse"],
                     metrics["rmse_missing"], metrics["seconds"], run.path)
        return metrics
    finally:
        run.close()


def _images(config: Config, data, imputer) -> Tuple[Dict, Callable]:
    own = registry.entry(config.imputer)
    third = datasets.third_rows(config.dataset) and config.missing == "structured"
    train_mask = make_mask(len(data.train), data.image_shape, config.missing, config.seed, third)
    test_mask = make_mask(len(data.test), data.image_shape, config.missing, config.seed + 1,
                          third)
    test_holed = apply_mask(data.test, test_mask)
    imputer.fit(apply_mask(data.train, train_mask))
    imputed = imputer.transform(test_holed)
    metrics = {**_errors(data.test, imputed, test_mask), "third_rows": third}
    if getattr(imputer, "filled_", None) is not None:  # the thesis's own output
        metrics.update(_errors(data.train, imputer.filled_, train_mask, "train_"))

    def pictures(run: RunDir) -> None:
        rows = [data.test[:N_SHOW], fill(test_holed[:N_SHOW]), imputed[:N_SHOW]]
        for tag, row in zip(("originals", "with_holes", "imputed"), rows):
            run.writer.image(f"images/{tag}", summaries.image_grid([row], data.image_shape), 0)
        label = config.imputer.upper() + (f" (K={config.k})" if "k" in own.own_flags else "")
        if config.imputer_seeds > 1:
            label += f", {config.imputer_seeds} seeds"
        plots.image_rows(run.file("figures", "imputation.png"), rows,
                         ["original test data", "test data with\nmissing values (grey)",
                          f"predicted by\n{label}"], data.image_shape,
                         f"{config.dataset}: {config.missing} missing values")

    return metrics, pictures


def _ratings(config: Config, data, imputer) -> Tuple[Dict, Callable]:
    """MovieLens: fill ua.base's unrated cells, judge on ua.test's ratings."""
    if registry.entry(config.imputer).unit_range:  # e.g. a Bernoulli decoder: 1..5 scaled
        predicted = 1.0 + 4.0 * imputer.fit_transform((data.train - 1.0) / 4.0)
    else:
        predicted = imputer.fit_transform(data.train)
    rated = ~np.isnan(data.test)
    truth = np.where(rated, data.test, 0)
    metrics = {"rmse": rmse(truth, predicted, rated), "mae": mae(truth, predicted, rated),
               "test_ratings": int(rated.sum()),
               "mean_predicted_rating": float(predicted[rated].mean())}
    metrics["rmse_missing"], metrics["mae_missing"] = metrics["rmse"], metrics["mae"]

    def pictures(run: RunDir) -> None:
        plots.ratings_by_truth(run.file("figures", "ratings.png"), data.test[rated],
                               predicted[rated], f"{config.dataset}: {config.imputer} "
                               f"predictions on ua.test (RMSE {metrics['rmse']:.3f})")

    return metrics, pictures


def settings(config: Config, imputer) -> Dict:
    return {"dataset": config.dataset, "imputer": config.imputer, "missing": config.missing,
            "seed": config.seed, "imputer_settings": imputer_settings(imputer)}


def imputer_settings(imputer) -> str:
    """`Name(setting=value, ...)`: every setting, as the fit resolved MIWAE's "auto" and None."""
    params = imputer.get_params(deep=False)
    shown = {k: v for k, v in params.items() if k not in ("logdir", "verbose")}
    for name in ("arch", "epochs"):
        resolved = getattr(imputer, f"_{name}", None)
        if callable(resolved):
            shown[name] = resolved()
    text = {k: imputer_settings(v) if k == "imputer" and v is not None else repr(v)
            for k, v in shown.items()}  # SeedEnsemble's member, resolved alike
    return f"{type(imputer).__name__}({', '.join(f'{k}={v}' for k, v in sorted(text.items()))})"


def _errors(truth, pred, mask, prefix="") -> Dict[str, float]:
    return {f"{prefix}rmse": rmse(truth, pred), f"{prefix}mae": mae(truth, pred),
            f"{prefix}rmse_missing": rmse(truth, pred, ~mask),
            f"{prefix}mae_missing": mae(truth, pred, ~mask)}


def _flag_names(message: str) -> str:
    for arg, flag in FLAG_OF.items():
        message = message.replace(arg, f"--{flag}")
    return message
