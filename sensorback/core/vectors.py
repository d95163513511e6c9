"""Unit vectors, row by row, and the angles between them (the one normalisation and the one
row-wise angle every part of the core uses)."""

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


def take_rows(v: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Rows `at` of an (n, 3) array, gathered column by column into an array whose columns are
    contiguous (fancy-indexing rows of three gathers element by element, several times slower;
    later column-wise arithmetic then runs along contiguous memory). Fastest from an array whose
    columns are contiguous already."""
    out = np.empty((at.shape[0], 3), v.dtype, order="F")
    for a in range(3):
        np.take(v[:, a], at, out=out[:, a])
    return out


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (degrees) between rows of unit vectors, or between two unit vectors (NaN rows: NaN),
    from the chord between them: exact for small angles, where an arccos of the dot product loses
    digits."""
    d0, d1, d2 = a[..., 0] - b[..., 0], a[..., 1] - b[..., 1], a[..., 2] - b[..., 2]
    return np.degrees(2.0 * np.arcsin(np.minimum(0.5 * np.sqrt(d0 * d0 + d1 * d1 + d2 * d2), 1.0)))
