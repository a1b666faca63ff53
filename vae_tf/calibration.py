"""Calibration of multiple imputations: coverage of central intervals, randomized PIT.

Given m imputations `draws` [m, ...] of entries whose true values are `truth` [...]:

- `interval_coverage` (the literal reading): the fraction of entries whose true value
  lies in [q_lo, q_hi], the empirical (1 - level) / 2 and (1 + level) / 2 quantiles of
  the m draws (inverted-CDF quantiles, so the ends are values the draws took). For a
  continuous predictive and a calibrated model this is about `level`. For a discrete
  one it is not: the interval holds at least `level` of the draws' mass, often far more
  (a Bernoulli predictive with 0.05 < p < 0.95 gives the interval [0, 1], which covers
  every outcome), so a calibrated model scores well above `level`. It measures how
  often the truth lands in the interval, not calibration.
- `randomized_pit` / `pit_coverage` (the calibration measure, for any predictive):
  the rank of the truth among the m draws with ties broken at random, plus a uniform
  jitter, u = (#{draws < y} + K + V) / (m + 1), K uniform on 0 .. #{draws == y} and V
  uniform on [0, 1). If the truth is one more draw from the same predictive
  (calibration), the m + 1 values are exchangeable, the rank is uniform on 0 .. m and
  u is exactly uniform on [0, 1] for any m, discrete or not; the central coverage
  P((1 - level) / 2 <= u <= (1 + level) / 2) is then exactly `level`. Below `level`:
  the predictive is too narrow (overconfident); above: too wide. Without ties it is the
  interval between the draws' order statistics, i.e. `interval_coverage` up to O(1/m).
"""

from typing import Optional, Tuple

import numpy as np


def _check(truth, draws, level) -> Tuple[np.ndarray, np.ndarray]:
    truth, draws = np.asarray(truth), np.asarray(draws)
    if draws.ndim < 1 or draws.shape[1:] != truth.shape or len(draws) == 0:
        raise ValueError(f"draws {draws.shape} must be [m, *truth.shape] with m >= 1; "
                         f"truth is {truth.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r} must lie strictly between 0 and 1, e.g. 0.9")
    return truth, draws


def central_interval(draws: np.ndarray, level: float = 0.9) -> Tuple[np.ndarray, np.ndarray]:
    """Per-entry (lower, upper) empirical quantiles (1 -/+ level) / 2 of draws [m, ...]."""
    tail = (1.0 - level) / 2.0
    lower = np.quantile(draws, tail, axis=0, method="inverted_cdf")
    upper = np.quantile(draws, 1.0 - tail, axis=0, method="inverted_cdf")
    return lower, upper


def in_interval(truth: np.ndarray, draws: np.ndarray, level: float = 0.9) -> np.ndarray:
    """Per entry: does the truth lie in the central `level` interval of the draws? [...]"""
    truth, draws = _check(truth, draws, level)
    lower, upper = central_interval(draws, level)
    return (lower <= truth) & (truth <= upper)


def randomized_pit(truth: np.ndarray, draws: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """Randomized probability integral transform of the truth under the draws: [...] in [0, 1)."""
    truth, draws = _check(truth, draws, 0.5)
    below = np.sum(draws < truth, axis=0)
    ties = np.sum(draws == truth, axis=0)
    rank = below + rng.integers(0, ties + 1)  # uniform on below .. below + ties
    return (rank + rng.random(rank.shape)) / (len(draws) + 1)


def pit_covered(truth: np.ndarray, draws: np.ndarray, rng: np.random.Generator,
                level: float = 0.9) -> np.ndarray:
    """Per entry: does the randomized PIT fall in the central `level` of [0, 1]? [...]"""
    _check(truth, draws, level)
    u = randomized_pit(truth, draws, rng)
    tail = (1.0 - level) / 2.0
    return (u >= tail) & (u <= 1.0 - tail)


def _fraction(hits: np.ndarray, where: Optional[np.ndarray]) -> float:
    hits = hits if where is None else hits[np.asarray(where, bool)]
    return float(np.mean(hits)) if hits.size else float("nan")


def interval_coverage(truth: np.ndarray, draws: np.ndarray, where: Optional[np.ndarray] = None,
                      level: float = 0.9) -> float:
    """Fraction of entries (where `where` is True) whose truth lies in the central interval."""
    return _fraction(in_interval(truth, draws, level), where)


def pit_coverage(truth: np.ndarray, draws: np.ndarray, where: Optional[np.ndarray] = None,
                 level: float = 0.9, seed: int = 0) -> float:
    """Fraction of entries whose randomized PIT lies in the central `level` of [0, 1].

    Exactly `level` in expectation when the draws come from the truth's distribution.
    """
    return _fraction(pit_covered(truth, draws, np.random.default_rng(seed), level), where)
