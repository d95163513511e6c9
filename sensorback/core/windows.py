"""Resampling short windows of samples onto a fixed grid, all windows as one matrix.

Used by the cadence and transition detectors so irregular timing, jitter and small packet
losses do not matter. A grid value depends only on the two samples around it, so a streaming
processor that keeps the sample just before each window gets exactly the batch result.
"""

from __future__ import annotations

import numpy as np


def resample_windows(
    t: np.ndarray, acc: np.ndarray, ends: np.ndarray, window_s: float, grid_hz: float, rate_hz: float,
    min_coverage: float = 0.6,
) -> tuple[np.ndarray, np.ndarray]:
    """Windows [end - window_s, end) of acc on a grid of grid_hz.

    Returns (win, ok): win has shape (ok.sum(), m, 3); ok marks windows that hold at least
    min_coverage of their nominal samples (others are skipped, not interpolated across gaps).
    """
    m = int(round(window_s * grid_hz))
    starts = ends - window_s
    lo = np.searchsorted(t, starts, side="left")
    hi = np.searchsorted(t, ends, side="left")
    ok = (hi - lo) >= min_coverage * window_s * rate_hz
    if not ok.any():
        return np.zeros((0, m, 3)), ok
    grid = (starts[ok, None] + (np.arange(m) + 0.5) / grid_hz).ravel()
    win = np.stack([np.interp(grid, t, acc[:, a]) for a in range(3)], axis=-1).reshape(-1, m, 3)
    return win, ok


def grid_history_s(window_s: float) -> float:
    """How far back (seconds before an epoch's end) a window reaches."""
    return window_s
