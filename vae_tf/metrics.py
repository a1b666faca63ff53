"""Error metrics used across training and imputation (numpy, float64 accumulation)."""

from typing import Optional

import numpy as np


def _errors(truth: np.ndarray, pred: np.ndarray, where: Optional[np.ndarray]) -> np.ndarray:
    truth = np.asarray(truth, np.float64)
    pred = np.asarray(pred, np.float64)
    if truth.shape != pred.shape:
        raise ValueError(f"shapes differ: truth {truth.shape} vs prediction {pred.shape}")
    diff = pred - truth
    return diff if where is None else diff[np.asarray(where, bool)]


def rmse(truth: np.ndarray, pred: np.ndarray, where: Optional[np.ndarray] = None) -> float:
    """Root mean squared error, over all entries or only where `where` is True."""
    d = _errors(truth, pred, where)
    return float(np.sqrt(np.mean(d * d))) if d.size else float("nan")


def mae(truth: np.ndarray, pred: np.ndarray, where: Optional[np.ndarray] = None) -> float:
    """Mean absolute error, over all entries or only where `where` is True."""
    d = _errors(truth, pred, where)
    return float(np.mean(np.abs(d))) if d.size else float("nan")
