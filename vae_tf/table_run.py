"""`--mode=impute --dataset=csv --data_dir=TABLE.csv`: impute a table of the user's own.

A user's table has no ground truth, so the run estimates its own error first: it hides
`--holdout` of the observed cells (seeded; every row and column keeps an observed cell),
fits the imputer on what is left, imputes the hidden cells and compares them with the
values that were there: per column the RMSE, in the column's units and in standard
deviations, beside the column mean's on the same cells (what a do-nothing imputer
scores). The same fitted model then fills the table's missing cells, conditioning on
every observed cell, and the run writes `<logdir>/imputed.csv` (same header and row
order, observed cells as read). With `--imputations=M` (MIWAE), M completed tables drawn
from the model's predictive distribution, `imputed_1.csv` .. `imputed_M.csv`, and
`spread.csv`, each missing cell's standard deviation over the M draws (observed cells
empty). The estimates go to metrics.json, the console and TensorBoard (`holdout/`
scalars), and as a bar chart to figures/holdout_error.png; config.json gains the column
models MIWAE picked.

MIWAE takes the raw table (its column models scale inside); the thesis's K-NN sees it
standardised by the observed cells (the marker 0 is then the column mean) and the
thesis's VAE min-max scaled to [0, 1] (it models [0, 1] data), both put back on the
table's scale.
"""

import json
import os
import time
from typing import Dict

import numpy as np
from absl import logging

from vae_tf import plots
from vae_tf.config import Config
from vae_tf.datasets.csv_table import Table, publish, write_csv
from vae_tf.errors import UserError
from vae_tf.rundir import RunDir, write_json


class Rescaled:
    """An imputer of standardised (`kind="z"`) or [0, 1] (`kind="unit"`) data applied to a
    raw table: the scaling is fitted on the observed cells and undone on output."""

    def __init__(self, imputer, kind: str):
        self.imputer, self.kind = imputer, kind

    def fit(self, x: np.ndarray) -> "Rescaled":
        if self.kind == "z":
            self.shift, spread = np.nanmean(x, 0), np.nanstd(x, 0)
        else:
            self.shift, spread = np.nanmin(x, 0), np.nanmax(x, 0) - np.nanmin(x, 0)
        self.scale = np.where(spread > 0, spread, 1.0)
        self.imputer.fit((x - self.shift) / self.scale)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.shift) / self.scale
        if self.kind == "unit":
            z = np.clip(z, 0.0, 1.0)  # new rows outside the fitted range
        out = self.imputer.transform(z) * self.scale + self.shift
        return np.where(np.isnan(x), out, x)


def make_table_imputer(config: Config, run: RunDir, table: Table):
    """The imputer of `config.imputer` for a raw table (see the module docstring): built by
    its registry entry, wrapped in the scaling the entry asks for (`table_scaling`)."""
    from vae_tf.imputers import registry
    own = registry.entry(config.imputer)
    categorical = categorical_columns(config, table) if own.draws else None
    imputer = registry.build(config, run, registry.TABLE, categorical=categorical)
    return Rescaled(imputer, own.table_scaling) if own.table_scaling else imputer


def categorical_columns(config: Config, table: Table):
    """The column indices `--categorical` names; one-line UserError for a name not in the
    header or a column holding non-integer codes (checked before the run folder exists)."""
    names = [n.strip() for n in config.categorical.split(",") if n.strip()]
    unknown = [n for n in names if n not in table.header]
    if unknown:
        raise UserError(f"--categorical={config.categorical}: {unknown[0]!r} is not a column "
                        f"of {table.path} (columns: {', '.join(table.header[:8])}"
                        f"{', ...' if len(table.header) > 8 else ''}); name columns of the "
                        "header")
    for name in names:
        values = table.values[:, table.header.index(name)]
        values = values[~np.isnan(values)]
        if np.any(values != np.round(values)):
            raise UserError(f"--categorical={config.categorical}: column {name!r} holds "
                            "non-integer values; encode its categories as integer codes")
    return [table.header.index(n) for n in names]


def holdout_mask(observed: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Observed cells to hide for the error estimate; every row and every column keeps at
    least one observed cell (a row or column that would lose all keeps them all)."""
    rng = np.random.default_rng(seed)
    hold = observed & (rng.random(observed.shape) < share)
    left = observed & ~hold
    hold[~left.any(1)] = False
    hold[:, ~(observed & ~hold).any(0)] = False
    return hold


def run_table(config: Config, table: Table) -> Dict:
    """Impute `table`; write the completed table(s), metrics.json, TensorBoard, figures."""
    x, observed = table.values, ~table.missing
    if config.deterministic:  # as in --mode=train; the imputers seed every draw themselves
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()
    run = RunDir.for_config(config)
    tmps = []
    try:
        t0 = time.perf_counter()
        hold = holdout_mask(observed, config.holdout, config.seed)
        train = np.where(hold, np.nan, x)
        imputer = make_table_imputer(config, run, table)
        imputer.fit(train)
        estimate = imputer.transform(train)
        completed = imputer.transform(x)
        if not np.isfinite(completed).all():
            raise UserError(f"{table.path}: the imputer produced non-finite values; try "
                            "another --seed or --imputer, or check the table for extreme "
                            "values")
        per_column = _errors(x, train, estimate, hold, table.header)
        total = _pooled(x, train, estimate, hold)
        tmps.append(write_csv(run.file("imputed.csv"), table, completed))
        metrics = {"rows": int(x.shape[0]), "columns": int(x.shape[1]),
                   "missing_cells": int((~observed).sum()), "holdout_cells": int(hold.sum()),
                   "holdout": config.holdout, "holdout_rmse_sd": total["rmse_sd"],
                   "holdout_mean_rmse_sd": total["mean_rmse_sd"], "per_column": per_column}
        if config.imputations:
            draws = imputer.multiple_imputation(x, m=config.imputations, seed=config.seed)
            for k, draw in enumerate(draws, 1):
                tmps.append(write_csv(run.file(f"imputed_{k}.csv"), table, draw))
            tmps.append(write_csv(run.file("spread.csv"), table, draws.std(axis=0),
                                  observed=False))
            metrics["imputations"] = config.imputations
        fitted = _fitted(imputer)
        metrics.update(fitted)
        metrics["seconds"] = time.perf_counter() - t0
        publish(tmps)
        tmps = []
        run.write_json("metrics.json", metrics)
        _amend_config(run, fitted)
        _summaries(run, table, per_column, total)
        _report(config, table, per_column, total, metrics, run)
        return metrics
    finally:
        for tmp in tmps:  # a failure leaves no half-written table behind
            try:
                os.remove(tmp)
            except OSError:
                pass
        run.close()


def _errors(x, train, estimate, hold, header):
    """Per column: held-out cells, RMSE (column units and sd units), the column mean's."""
    out = {}
    for j, name in enumerate(header):
        rows = hold[:, j]
        if not rows.any():
            out[name] = {"holdout_cells": 0}
            continue
        sd = float(np.nanstd(train[:, j])) or 1.0
        err = estimate[rows, j] - x[rows, j]
        mean_err = np.nanmean(train[:, j]) - x[rows, j]
        rmse = float(np.sqrt(np.mean(err ** 2)))
        out[name] = {"holdout_cells": int(rows.sum()), "rmse": rmse, "rmse_sd": rmse / sd,
                     "mean_rmse_sd": float(np.sqrt(np.mean(mean_err ** 2))) / sd}
    return out


def _pooled(x, train, estimate, hold):
    sd = np.nanstd(train, 0)
    sd = np.where(sd > 0, sd, 1.0)
    err = ((estimate - x) / sd)[hold]
    mean_err = ((np.nanmean(train, 0) - x) / sd)[hold]
    if not hold.any():
        return {"rmse_sd": float("nan"), "mean_rmse_sd": float("nan")}
    return {"rmse_sd": float(np.sqrt(np.mean(err ** 2))),
            "mean_rmse_sd": float(np.sqrt(np.mean(mean_err ** 2)))}


def _fitted(imputer) -> Dict:
    """What the imputer picked from the data (MIWAE's column models)."""
    model = imputer.imputers_[0] if hasattr(imputer, "imputers_") else imputer
    if not hasattr(model, "likelihood_"):
        return {}
    return {"likelihood": model.likelihood_,
            "column_likelihoods": [str(v) for v in model.column_likelihoods_]}


def _amend_config(run: RunDir, fitted: Dict) -> None:
    if not fitted:
        return
    with open(run.file("config.json")) as f:
        config = json.load(f)
    config["fitted"] = fitted
    write_json(run.file("config.json"), config)


def _summaries(run: RunDir, table: Table, per_column, total) -> None:
    scored = {n: v for n, v in per_column.items() if v["holdout_cells"]}
    run.writer.scalars("holdout", {"rmse_sd": total["rmse_sd"],
                                   "column_mean_rmse_sd": total["mean_rmse_sd"]}, 0)
    run.writer.scalars("holdout_rmse_sd", {n: v["rmse_sd"] for n, v in scored.items()}, 0)
    plots.holdout_bars(run.file("figures", "holdout_error.png"), list(scored),
                       [v["rmse_sd"] for v in scored.values()],
                       [v["mean_rmse_sd"] for v in scored.values()],
                       f"{os.path.basename(table.path)}: estimated error on "
                       f"{sum(v['holdout_cells'] for v in scored.values())} held-out cells")


def _report(config, table, per_column, total, metrics, run) -> None:
    width = max(len(n) for n in table.header)
    logging.info("%s: %d rows x %d columns, %d missing cells; held out %d observed cells "
                 "to estimate the error", table.path, metrics["rows"], metrics["columns"],
                 metrics["missing_cells"], metrics["holdout_cells"])
    if "likelihood" in metrics:
        logging.info("column models: %s", ", ".join(
            f"{n} {k}" for n, k in zip(table.header, metrics["column_likelihoods"])))
    logging.info("%-*s  held-out  RMSE (sd)  column mean's", width, "column")
    for name, v in per_column.items():
        if v["holdout_cells"]:
            logging.info("%-*s  %8d  %9.3f  %13.3f", width, name, v["holdout_cells"],
                         v["rmse_sd"], v["mean_rmse_sd"])
    logging.info("%s imputation of %s: estimated RMSE %.3f sd (the column mean %.3f) in "
                 "%.1fs; wrote %s", config.imputer, table.path, total["rmse_sd"],
                 total["mean_rmse_sd"], metrics["seconds"], run.file("imputed.csv"))
