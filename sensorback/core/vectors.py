"""Unit vectors, row by row (the one normalisation every part of the core uses)."""

from __future__ import annotations

import numpy as np


def unit(v: np.ndarray) -> np.ndarray:
    if v.ndim == 1:
        return v / max(float(np.sqrt(v @ v)), 1e-12)
    norm = np.maximum(np.sqrt(v[:, 0] * v[:, 0] + v[:, 1] * v[:, 1] + v[:, 2] * v[:, 2]), 1e-12)
    out = np.empty(v.shape, order="F")  # columns contiguous
    for a in range(3):  # column by column: see SensorCalibration.apply_mean_var
        np.divide(v[:, a], norm, out=out[:, a])
    return out
