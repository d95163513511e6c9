"""GGIRread's published test figures for its .cwa test files, and how to compare a reader with them.

GGIRread (Apache-2.0, tests/testthat/test_readAxivity.R) publishes exact figures (row counts, times,
sums, single values) for ``readAxivity`` on ``ax3_testfile.cwa``, ``ax6_testfile.cwa`` and a copy with
corrupt blocks. ``readAxivity`` does not return the device's samples: it resamples them linearly onto a
regular grid at the header's rate, from the start of the first requested block to the start of the
block after the last, and fills the time of a block whose next valid block does not follow on with its
last value scaled to 1 g. So its figures can only be met exactly by applying that documented
procedure to a reader's samples; ``resample_like_ggir`` does that, from this description:

* grid: ``start, start + 1/f, ...`` up to the end time (the start of block ``end``, or for a read to the
  end of the file, the last block's start plus 3 blocks' worth of samples), without the last point;
* blocks are taken one after the other; each block's samples are spread evenly from its start to the
  next valid block's start; the grid points up to the block's last sample are interpolated linearly
  between the previous grid point (its value as already computed) and the block's samples;
* a block is imputed instead when the next valid block's sequence number is not one more, or the rate
  this implies is off the nominal by more than 10 %: its grid points before its last sample get the
  last computed value divided by its length (if that is 0.8-1.2 g, else 0, 0, 1);
* the last block of the file has no next block: its samples are spread from the previous block's start
  to its own start plus its length at the previous block's rate (as GGIRread does);
* at most 200 grid points (plus the time jump) are filled per block.

The reader under test supplies the valid blocks: (sequence number, start time, samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# test_readAxivity.R at the fetched GGIRread commit (45ef623). Times there are Unix seconds of the
# device clock read in Europe/Berlin (UTC+1 in February 2019, December 2019); for the device clock
# read as UTC (what sensorback does) add 3600 s. Sums are floor(sum(abs(x, y, z))).
AX3 = {
    "blocks_1_4": {"rows": 364, "time5": 1551174907.255 + 3600, "abs_sum_floor": 603, "x1": 0.7656, "y4": -0.3125},
    "whole": {"rows": 17599, "time5": 1551174906.040 + 3600, "abs_sum_floor": 25367},
    # the corrupt copy (blocks 0, 13, 14, 142, 143, 144 corrupt)
    "corrupt_1_20": {"rows": 2306, "abs_sum_floor": 3244},
}
AX6 = {
    # data[,5:7] are the accelerometer columns (2:4 are the gyroscope, which sensorback does not read)
    "blocks_1_4": {"rows": 121, "time5": 1577131447.144 + 3600, "acc_abs_sum_floor": 10, "x30": -0.009452909},
    "whole": {"rows": 11428, "time5": 1577131446.740 + 3600},
}


@dataclass
class Block:
    index: int  # data block number in the file
    sequence: int
    start: float
    acc: np.ndarray  # (n, 3)


def _seq_len(a: float, b: float, step: float) -> int:
    return int(math.floor((b - a) / step + 1e-10)) + 1


def _interp(raw_t, raw_a, stop, grid):
    """Linear interpolation as GGIRread's resample(): points up to raw_t[stop - 1]; the bracketing
    index only moves forward, starting at 1."""
    u = raw_t[stop - 1]
    last = 0
    while last < len(grid) and grid[last] <= u:
        last += 1
    out = np.zeros((last, raw_a.shape[1]))
    for j in range(raw_a.shape[1]):
        pos = 1
        for p in range(last):
            while raw_t[pos] < grid[p]:
                pos += 1
            w = (grid[p] - raw_t[pos - 1]) / (raw_t[pos] - raw_t[pos - 1])
            out[p, j] = w * (raw_a[pos, j] - raw_a[pos - 1, j]) + raw_a[pos - 1, j]
    return out


def resample_like_ggir(blocks: list[Block], n_blocks: int, start: int, end: int, rate: float,
                       tol: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """GGIRread's output grid times and (x, y, z) for data blocks [start, end) of a file of n_blocks,
    from the valid blocks a reader found (see the module docstring)."""
    step = 1.0 / rate
    by_index = {b.index: b for b in blocks}
    end = min(end, n_blocks)
    if end < n_blocks:
        e = end
        while e not in by_index:
            e += 1
        end = e
        end_t = by_index[e].start
    else:
        e = end - 1
        while e not in by_index:
            e -= 1
        end = e + 1
        n = len(by_index[e].acc)
        end_t = by_index[e].start + 3 * n * step
    s = start
    while s not in by_index:
        s += 1
    prev = by_index[s]
    grid = prev.start + np.arange(_seq_len(prev.start, end_t, step)) * step
    nr = len(grid) - 1
    grid = grid[:nr]
    res = np.zeros((nr, 3))
    pos = 0  # 0-based next grid point to fill
    raw_t0 = prev.start - 0.00001
    raw_a0 = prev.acc[0].astype(np.float64)
    prev_start = prev_len = None  # set by the first block read (GGIRread needs two blocks)
    last = -1
    for ii in range(s + 1, end + 1):
        if ii == n_blocks:
            new_end = (prev.start - prev_start) / prev_len * len(prev.acc) + prev.start
            prev_len = len(prev.acc)
            times = np.linspace(prev_start, new_end, prev_len + 1)
            nxt = prev
            seq_break = False
        else:
            if ii not in by_index:
                continue
            nxt = by_index[ii]
            prev_start, prev_len = prev.start, len(prev.acc)
            times = np.linspace(prev_start, nxt.start, prev_len + 1)
            seq_break = nxt.sequence != 0 and nxt.sequence - prev.sequence != 1
        raw_last = prev_len + 1  # number of raw points used (1-based index of the last one)
        raw_t = np.concatenate([[raw_t0], times])
        observed = raw_last / (raw_t[raw_last - 1] - raw_t[0])
        impute = seq_break or abs(observed - rate) / rate > tol
        lim = min(pos + 200, nr - 1)
        if raw_t[raw_last - 1] > grid[lim]:
            lim = min(lim + int(math.floor((raw_t[raw_last - 1] - grid[lim]) * rate)), nr - 1)
        window = grid[pos:lim + 1]
        if impute:
            v = raw_a0[:3]
            g = math.sqrt(float((v ** 2).sum()))
            v = v / g if 0.8 < g < 1.2 else np.array([0.0, 0.0, 1.0])
            k = int((window < raw_t[raw_last - 1]).sum())
            tmp = np.tile(v, (k, 1))
        else:
            raw_a = np.vstack([raw_a0[None, :], prev.acc.astype(np.float64)])
            tmp = _interp(raw_t, raw_a, raw_last, window)
        last = pos + len(tmp) - 1
        if last >= pos:
            res[pos:last + 1] = tmp
        raw_t0 = grid[last]
        raw_a0 = res[last].copy()
        prev = nxt
        pos = last + 1
    return grid[:last + 1], res[:last + 1]


def blocks_from_samples(t_abs: np.ndarray, acc: np.ndarray, per_block: int, indices: list[int]) -> list[Block]:
    """Split a reader's samples into its blocks (all of per_block samples) with their file indices;
    each block's start is the time of its first sample."""
    out = []
    for k, idx in enumerate(indices):
        a, b = k * per_block, (k + 1) * per_block
        out.append(Block(idx, idx, float(t_abs[a]), acc[a:b]))
    return out
