"""Short windows of samples on a fixed time grid, all windows as one matrix.

Used by the cadence and transition detectors. Windows start and end on epoch boundaries, so
their sample ranges come straight from the epoch start indices. Each grid point takes the
sample nearest to it in time (found from the nominal rate plus one correction step), so jitter,
drift and lost packets do not distort the time axis, and no sample outside the window is ever
used: streaming and batch agree exactly.
"""

from __future__ import annotations

import numpy as np

TARGET_GRID_HZ = 12.5


def grid_step(rate_hz: float, target_hz: float = TARGET_GRID_HZ) -> tuple[int, float]:
    """Decimation step and the resulting grid rate for a nominal sample rate."""
    step = max(1, int(round(rate_hz / target_hz)))
    return step, rate_hz / step


def window_matrix(
    t: np.ndarray, acc: np.ndarray, lo: np.ndarray, hi: np.ndarray, starts_s: np.ndarray,
    window_s: float, rate_hz: float, target_hz: float = TARGET_GRID_HZ, min_coverage: float = 0.6,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Windows of samples [lo, hi) (times [starts_s, starts_s + window_s)) on a regular grid.

    Returns (win, ok, grid_hz): win has shape (3, ok.sum(), m), one plane per axis so that every
    later step runs along long contiguous rows; windows with less than min_coverage of their
    nominal samples are left out (ok False).
    """
    step, grid_hz = grid_step(rate_hz, target_hz)
    nominal = int(round(window_s * rate_hz))
    m = max(4, nominal // step)
    ok = (hi - lo) >= min_coverage * nominal
    if not ok.any():
        return np.zeros((3, 0, m), np.float32), ok, grid_hz
    # int32 indices where they fit (three per sample, see below): half the memory traffic
    itype = np.int32 if 3 * acc.shape[0] < 2**31 - 1 else np.int64
    first, last = lo[ok].astype(itype), (hi[ok] - 1).astype(itype)
    offsets = np.arange(m, dtype=itype) * step
    idx = first[:, None] + offsets
    # Windows with the nominal sample count over the nominal span lost nothing: every step-th
    # sample is the nearest to its grid point. Others search by time.
    cnt = last - first + 1
    # (times gathered with take: fancy indexing with int32 indices is twice as slow)
    span = t.take(last) - t.take(first)
    irregular = np.flatnonzero((cnt != nominal) | (np.abs(span - (nominal - 1) / rate_hz) > 1.5 / rate_hz))
    if irregular.size:
        f, l = first[irregular, None], last[irregular, None]
        grid = starts_s[ok][irregular, None] + (offsets + 0.5) / rate_hz
        j = np.clip(f + np.floor((grid - t.take(f)) * rate_hz + 0.5).astype(itype), f, l)
        idx[irregular] = np.clip(j + np.round((grid - t.take(j)) * rate_hz).astype(itype), f, l)
    if acc.dtype != np.float32 or not acc.flags.c_contiguous:
        return np.ascontiguousarray(np.moveaxis(acc[idx], -1, 0), np.float32), ok, grid_hz
    # One gather per axis from the flat buffer (faster than gathering rows of three).
    flat = acc.reshape(-1)
    win = np.empty((3,) + idx.shape, np.float32)
    idx *= 3
    for c in range(3):
        if c:
            idx += 1
        # every index is inside the buffer by construction; mode="clip" lets take write
        # straight into `out` (the default mode stages the result in a temporary first)
        np.take(flat, idx, out=win[c], mode="clip")
    return win, ok, grid_hz
