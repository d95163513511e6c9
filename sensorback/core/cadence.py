"""Step cadence from the vertical acceleration over a short window, by autocorrelation.

Walking shows a strong autocorrelation peak at the step period (0.33-1.0 s); fidgeting and
typing do not.
"""

from __future__ import annotations

import numpy as np

MIN_STEP_S, MAX_STEP_S = 0.33, 1.0


def step_cadence(win: np.ndarray, grid_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Cadence (steps/min) and periodicity (0..1) of windows sampled at grid_hz, shape (3, w, m)."""
    _, w, m = win.shape
    if w == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    # The window's mean direction is "down"; steps show along it.
    down = win.sum(axis=2)
    down /= np.maximum(np.sqrt(down[0] * down[0] + down[1] * down[1] + down[2] * down[2]), 1e-9)
    vert = win[0] * down[0][:, None]
    vert += win[1] * down[1][:, None]
    vert += win[2] * down[2][:, None]
    vert -= vert.mean(axis=1, keepdims=True)
    energy = np.einsum("wm,wm->w", vert, vert) / m
    lag_lo, lag_hi = int(np.floor(MIN_STEP_S * grid_hz)), int(np.ceil(MAX_STEP_S * grid_hz))
    lags = np.arange(lag_lo, lag_hi + 1)
    # Only the lags a step can take: unbiased (divided by overlap) and normalised by energy. One
    # row per lag (each lag's products are summed along a window's row; the rows then compare
    # and reduce as long contiguous rows, not as short columns).
    r = np.empty((lags.shape[0], w))
    for row, L in zip(r, lags):
        np.divide(np.einsum("wm,wm->w", vert[:, : m - L], vert[:, L:]), m - L, out=row)
    r /= np.maximum(energy, 1e-12)
    rows = np.arange(w)
    # A step is a peak: a maximum at either end of the lag range is the slope of a peak outside it
    # (typically the stride, two steps, just beyond MAX_STEP_S), not a step period.
    peaked = np.full(r.shape, -np.inf)
    np.copyto(peaked[1:-1], r[1:-1], where=(r[1:-1] >= r[:-2]) & (r[1:-1] > r[2:]))
    best = np.argmax(peaked, axis=0)
    found = np.isfinite(peaked[best, rows])
    peak = r[best, rows]
    left = r[np.maximum(best - 1, 0), rows]
    right = r[np.minimum(best + 1, r.shape[0] - 1), rows]
    denom = left - 2 * peak + right
    safe = np.where(np.abs(denom) > 1e-12, denom, 1.0)
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / safe, 0.0)
    lag_s = (lag_lo + best + np.clip(shift, -0.5, 0.5)) / grid_hz
    valid = (energy > 1e-8) & found
    cadence = np.where(valid, 60.0 / lag_s, 0.0).astype(np.float32)
    strength = np.where(valid, np.clip(peak, 0.0, 1.0), 0.0).astype(np.float32)
    return cadence, strength
