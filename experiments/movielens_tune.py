"""How the rating VAE's defaults were chosen: validation RMSE on held-out base ratings.

From each training file (u1.base, u2.base by default) a seeded 5 % of the ratings is
held out as validation; every setting is fitted on the other 95 % and scored on that
5 %. Settings vary one at a time around the chosen defaults of
`vae_tf.imputers.ratings.RatingVAE` (single models, then the default ensemble of 3 seeds,
`rating_ensemble`). The u*.test and ua.test files' ratings are never scored here, but they
are not unseen: ml-100k's u1..u5 test files partition the ratings, so u2.base holds all
of u1.test and u3-u5.test, and every ua.test rating lies in u1.base or in u2.base
(together they hold the whole data). The settings were therefore chosen on data that
includes other folds' test ratings; a nested choice
inside each fold's base file would make the 5-fold figure clean (BUILD_NOTES.md,
MovieLens). Past the thesis (no thesis table); feeds experiments/movielens.py. It prints
its table instead of writing one, so run_all leaves it out.

    python experiments/movielens_tune.py --data_root=../shared/data
    python experiments/movielens_tune.py --data_root=../shared/data --folds=1 --quick
"""

import dataclasses
import os
import sys
import time

if not __package__:  # python experiments/movielens_tune.py: import the package, not its files
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from experiments import scaffold  # noqa: E402


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(scaffold.Config):
    """movielens_tune's folds, validation share and settings."""

    folds: tuple  # training files u<k>.base to carve validation from
    fraction: float  # share of the training ratings held out for validation
    # One change at a time from the chosen defaults (the empty dict), each a single model;
    # then the default ensemble of 3 seeds.
    settings: tuple


def get_config(quick: bool) -> Config:
    settings = ({}, {"kl_weight": 1.0}, {"kl_weight": 0.25}, {"input_dropout": 0.0},
                {"input_dropout": 0.4}, {"latent_dim": 16}, {"latent_dim": 64},
                {"hidden_dim": 500}, {"l2": 3e-3}, {"l2": 3e-2}, {"sigma": 1.0},
                {"epochs": 40}, {"epochs": 80})
    return Config(table="movielens_tune", stage=None, folds=(1, 2), fraction=0.05,
                  settings=({},) if quick else settings)


def define_flags() -> None:
    scaffold.define_ints("folds", "Training files u<k>.base to carve validation from.")
    flags.DEFINE_float("fraction", None, "Share of the training ratings held out for "
                       "validation.")


def carve(train: np.ndarray, fraction: float, seed: int):
    """Split the rated cells of `train` [U, I] into (fit, validation), NaN elsewhere."""
    users, items = np.nonzero(~np.isnan(train))
    held = np.random.default_rng(seed).random(len(users)) < fraction
    fit, val = train.copy(), np.full_like(train, np.nan)
    fit[users[held], items[held]] = np.nan
    val[users[held], items[held]] = train[users[held], items[held]]
    return fit, val


def val_rmse(pred: np.ndarray, val: np.ndarray) -> float:
    rated = ~np.isnan(val)
    return float(np.sqrt(np.mean((pred[rated] - val[rated]) ** 2)))


def main(run: scaffold.Run) -> None:
    from vae_tf.datasets.movielens import load_movielens_fold
    from vae_tf.imputers.ratings import bias_baseline, rating_ensemble
    c, data_dir = run.config, run.require("movielens_100k")
    settings = [dict(s, n_seeds=1) for s in c.settings] + [{}]
    folds = c.folds
    table = {}
    for fold in folds:
        train = load_movielens_fold(data_dir, fold).train.astype(np.float64)
        fit, val = carve(train, c.fraction, c.seed)
        table.setdefault("user + item biases", []).append(
            (val_rmse(bias_baseline(fit), val), 0.0))
        for s in settings:
            start = time.time()
            pred = rating_ensemble(s.get("n_seeds", 3), seed=c.seed, **{
                k: v for k, v in s.items() if k != "n_seeds"}).fit_transform(fit)
            name = ", ".join(f"{k}={v}" for k, v in s.items() if k != "n_seeds") or "defaults"
            name += " (1 seed)" if s.get("n_seeds") == 1 else " (ensemble of 3, the default)"
            table.setdefault(name, []).append((val_rmse(pred, val), time.time() - start))
            print(f"u{fold}: {name}: {table[name][-1][0]:.4f}", flush=True)
    print(f"\n| setting | " + " | ".join(f"u{k} validation RMSE" for k in folds)
          + " | mean | seconds per fit |")
    print("|---|" + "---|" * (len(folds) + 2))
    for name, values in table.items():
        rmses, secs = np.array(values).T
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in rmses)
              + f" | {rmses.mean():.4f} | {secs.mean():.0f} |")


if __name__ == "__main__":
    scaffold.start(get_config, main, define_flags, table=False)
