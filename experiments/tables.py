"""The tables, hole patterns and score of the tabular experiments (tabular_defaults.py,
tabular_imputation.py): scikit-learn's bundled tables, raw, as a user would pass them.

- Tables: breast_cancer (569 x 30), wine (178 x 13), diabetes (442 x 10, `scaled=False`:
  its sex column has two values) and digits (1,797 x 64, pixel counts 0-16).
- Patterns: MCAR 20 % and 50 % (each entry hidden with that probability) and MAR: half
  the columns (drawn) are always observed; each other column j is hidden in row i with
  probability 0.6 sigmoid(2 u_i), u the standardised value of one always-observed column
  drawn for j (so about 30 % of those entries, more in rows where u is high).
- Score: RMSE over the hidden entries in units of each column's standard deviation (over
  the complete table; constant columns count in units of 1).
"""

from typing import Callable, Dict, Tuple

import numpy as np

TABLES = ("breast_cancer", "wine", "diabetes", "digits")
PATTERNS = ("mcar20", "mcar50", "mar")


def load(name: str) -> np.ndarray:
    """The complete table [N, D] as float64."""
    from sklearn import datasets
    loaders: Dict[str, Callable] = {
        "breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine,
        "diabetes": lambda: datasets.load_diabetes(scaled=False),
        "digits": datasets.load_digits}
    return np.asarray(loaders[name]().data, dtype=np.float64)


def hide(x: np.ndarray, pattern: str, rng: np.random.Generator) -> np.ndarray:
    """A bool mask [N, D] of the entries to hide (True = hidden); no row loses every entry."""
    n, d = x.shape
    if pattern.startswith("mcar"):
        hidden = rng.random((n, d)) < int(pattern[4:]) / 100.0
    elif pattern == "mar":
        always = rng.permutation(d)[:d // 2]
        u = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)
        hidden = np.zeros((n, d), bool)
        for j in np.setdiff1d(np.arange(d), always):
            p = 0.6 / (1.0 + np.exp(-2.0 * u[:, rng.choice(always)]))
            hidden[:, j] = rng.random(n) < p
    else:
        raise ValueError(f"unknown pattern {pattern!r}; choose one of {PATTERNS}")
    empty = hidden.all(1)
    hidden[empty, rng.integers(0, d, empty.sum())] = False  # keep one entry of each row
    return hidden


def holed(x: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[hidden] = np.nan
    return out


def scaled_rmse(x: np.ndarray, imputed: np.ndarray, hidden: np.ndarray) -> float:
    """RMSE over the hidden entries in units of each column's standard deviation."""
    sd = x.std(0)
    err = (imputed - x) / np.where(sd > 0, sd, 1.0)
    return float(np.sqrt(np.mean(err[hidden] ** 2)))


def validation_split(x_holed: np.ndarray, share: float,
                     rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Hide a further `share` of the observed entries for choosing settings: (the table
    with them hidden too, the bool mask of those validation entries)."""
    observed = ~np.isnan(x_holed)
    valid = observed & (rng.random(x_holed.shape) < share)
    keep = (observed & ~valid).any(1)
    valid[~keep] = False  # a row keeps at least one observed entry
    return holed(x_holed, valid), valid


class Standardised:
    """Wrap an imputer that wants z-scores (the K-NNs, IterativeImputer): the launcher's
    `vae_tf.table_run.Rescaled` (standardised by the observed entries, put back on the raw
    scale) around a new `make()` for each table."""

    kind = "z"

    def __init__(self, make):
        self.make = make

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        """x imputed; the fitted `Rescaled` (its imputer, shift and scale) kept as `rescaled_`."""
        from vae_tf.table_run import Rescaled  # imported late: it starts TensorFlow
        self.rescaled_ = Rescaled(self.make(), self.kind).fit(x)
        return self.rescaled_.transform(x)


class UnitScaled(Standardised):
    """Wrap an imputer of [0, 1] data (the thesis's VAEImputer): min-max scaled by the
    observed entries, imputed, scaled back (`Rescaled(..., "unit")`)."""

    kind = "unit"
