"""Whole-recording computations done one piece at a time, bit for bit as over the whole array.

The simulator's output must not depend on how it is cut into pieces (a seed, scenario, duration
and rate name one recording, whatever the memory it is made in). Each helper here reproduces one
numpy or scipy call over all n samples exactly, piece by piece:

* ``TauAxis``: ``np.arange(n) / rate`` and ``np.searchsorted`` on it, without the array;
* ``count_le``: ``np.searchsorted(edges, x, side="right")`` for a piece of sorted x, faster;
* ``carry_cumsum``: ``np.cumsum`` continued across pieces (it adds strictly left to right);
* ``BandNoise``: ``wearer.band_noise`` (normals, an IIR filter, division by the standard
  deviation of the whole series), drawn three times from saved generator states: the mean and
  the spread are numpy's pairwise sums, whose order of additions is known (``pairwise_sum``);
* ``RunningMean``: ``scipy.ndimage.uniform_filter1d(mode="nearest")``, which keeps a running
  window sum from the first sample on, so every later value carries its rounding;
* ``rows_matmul``: ``x @ m`` of (k, 3) rows that numpy gives to BLAS's matrix product for
  k >= 2 but to a matrix-vector product (other rounding) for one row;
* ``piece_bounds``: where pieces end, never inside a stretch that must be made in one go.

These rest on how numpy 2 and scipy carry out those calls; tests/test_sim.py checks each helper
against the call it stands for, and that small pieces give the recording made in one piece, so a
release that changed them would fail there first.
"""

from __future__ import annotations

import copy
import math
from typing import Callable, Iterator

import numpy as np
from scipy.signal import butter, sosfilt

#: Pieces of a pairwise sum are summed by numpy itself up to this many values.
_LEAF = 1 << 18
#: Rows per matrix product: below where OpenBLAS goes multi-threaded.
_MATMUL_ROWS = 1 << 14


class TauAxis:
    """The sensor's true sample instants ``np.arange(n, dtype=float64) / rate``, by index."""

    def __init__(self, n: int, rate: float):
        self.n, self.rate = int(n), float(rate)

    def at(self, i: int) -> float:
        return float(np.float64(i) / self.rate)

    def span(self, i0: int, i1: int) -> np.ndarray:
        """tau[i0:i1]: exactly the values of the whole array (integers are exact in float64)."""
        return np.arange(i0, i1, dtype=np.float64) / self.rate

    def left(self, x: float) -> int:
        """np.searchsorted(tau, x, side="left"): how many instants come before x."""
        n, x = self.n, float(x)
        if math.isnan(x):
            return n
        guess = x * self.rate  # then step to the exact answer
        i = 0 if guess <= 0 else n if guess >= n else math.ceil(guess)
        while i > 0 and self.at(i - 1) >= x:
            i -= 1
        while i < n and self.at(i) < x:
            i += 1
        return i


def count_le(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """np.searchsorted(edges, x, side="right") for sorted edges and non-decreasing x: how many
    edges are <= each x, by counting instead of a binary search per sample (several times faster
    for a piece of a day's samples)."""
    if x.size == 0:
        return np.zeros(0, dtype=np.intp)
    a, b = np.searchsorted(edges, [x[0], x[-1]], side="right")
    pos = np.searchsorted(x, edges[a:b], side="left")  # the first x at or after each edge
    return a + np.cumsum(np.bincount(pos, minlength=x.size + 1)[:x.size])


def carry_cumsum(x: np.ndarray, carry: float | None) -> np.ndarray:
    """np.cumsum of a piece, continuing the running total ``carry`` of the pieces before (None: first)."""
    if carry is None:
        return np.cumsum(x)
    return np.cumsum(np.concatenate(([carry], x)))[1:]


def pairwise_leaves(n: int, leaf: int = _LEAF) -> list[tuple[int, int]]:
    """The ranges, in order, into which numpy's pairwise summation of n values splits, down to
    ranges of at most ``leaf`` values (each of which numpy sums the same way on its own)."""
    out: list[tuple[int, int]] = []

    def split(lo: int, m: int) -> None:
        if m <= leaf:
            out.append((lo, lo + m))
            return
        m2 = m // 2
        m2 -= m2 % 8  # numpy halves on a multiple of its 8-fold unrolling
        split(lo, m2)
        split(lo + m2, m - m2)

    split(0, n)
    return out


def pairwise_sum(n: int, leaf_sums: dict[int, float], leaf: int = _LEAF) -> float:
    """np.add.reduce of n values, from the sums of its pairwise_leaves (keyed by start)."""

    def join(lo: int, m: int) -> float:
        if m <= leaf:
            return leaf_sums[lo]
        m2 = m // 2
        m2 -= m2 % 8
        return join(lo, m2) + join(lo + m2, m - m2)

    return join(0, n)


def band_filter(fs: float, lo: float, hi: float) -> tuple[np.ndarray, int]:
    """band_noise's filter (2nd-order Butterworth band, top below 0.45 fs) and its start-up length."""
    hi = min(hi, 0.45 * fs)
    return butter(2, [lo, hi], btype="band", fs=fs, output="sos"), int(3.0 * fs / lo)


class _Filtered:
    """Unit normals from ``rng`` through a sos filter, its first ``warm`` outputs dropped."""

    def __init__(self, rng: np.random.Generator, sos: np.ndarray, warm: int):
        self.rng, self.sos = rng, sos
        self.zi = np.zeros((sos.shape[0], 2))
        if warm > 0:
            self.take(warm)

    def take(self, k: int) -> np.ndarray:
        y, self.zi = sosfilt(self.sos, self.rng.standard_normal(k), zi=self.zi)
        return y


class BandNoise:
    """``band_noise(rng, n, fs, lo, hi)`` in consecutive pieces (take); ``rng`` is left where
    band_noise leaves it. Costs three draws of the normals (mean, spread, then the pieces)."""

    def __init__(self, rng: np.random.Generator, n: int, fs: float, lo: float, hi: float,
                 tick: Callable[[int], None] | None = None, leaf: int = _LEAF):
        self.sos, self.warm = band_filter(fs, lo, hi)
        self.n = n
        start = copy.deepcopy(rng)
        leaves = pairwise_leaves(n, leaf)
        # np.std: the pairwise sum of x, then of (x - mean)**2; the first pass moves rng on.
        for_mean = _Filtered(rng, self.sos, self.warm)
        sums = {}
        for a, b in leaves:
            sums[a] = float(np.add.reduce(for_mean.take(b - a)))
            if tick:
                tick(b - a)
        mean = pairwise_sum(n, sums, leaf) / n if n else math.nan
        for_spread = _Filtered(copy.deepcopy(start), self.sos, self.warm)
        for a, b in leaves:
            sums[a] = float(np.add.reduce(np.square(for_spread.take(b - a) - mean)))
            if tick:
                tick(b - a)
        self.sd = float(np.sqrt(pairwise_sum(n, sums, leaf) / n)) if n else math.nan
        self._out = _Filtered(start, self.sos, self.warm)
        self._given = 0

    def take(self, k: int) -> np.ndarray:
        """The next k values of the normalised noise."""
        if self._given + k > self.n:
            raise ValueError("band noise asked past its end")
        self._given += k
        x = self._out.take(k)
        return x / self.sd if self.sd > 0 else x


class RunningMean:
    """``uniform_filter1d(x, size, axis=0, mode="nearest")`` of an (n, c) array in consecutive
    pieces, for x given as a function of sample indices (values(idx) -> (len(idx), c), idx
    non-decreasing).

    scipy keeps the window's sum and adds each entering value minus the leaving one, dividing
    for every output; this continues that sum from piece to piece."""

    def __init__(self, values: Callable[[np.ndarray], np.ndarray], n: int, size: int):
        self.values, self.n, self.size = values, n, int(size)
        self.before = self.size // 2  # window: [k - before, k + after]
        self.after = self.size - self.before - 1
        self.next = 0
        self.total: np.ndarray | None = None

    def _x(self, idx: np.ndarray) -> np.ndarray:
        return self.values(np.clip(idx, 0, self.n - 1))  # mode="nearest"; idx in order

    def take(self, i0: int, i1: int) -> np.ndarray:
        if i0 != self.next or i1 <= i0:
            raise ValueError("running mean pieces must follow each other")
        self.next = i1
        m, size = i1 - i0, self.size
        # values from the one leaving the window at i0 (or the first window) to the last entering
        x = self._x(np.arange(i0 - 1 - self.before if i0 else -self.before, i1 + self.after))
        if i0 == 0:
            first = np.zeros(x.shape[1])
            for row in x[:size]:  # scipy: tmp = 0.0; tmp += each value in turn
                first = first + row
            run = np.cumsum(np.concatenate((first[None, :], x[size:] - x[:m - 1])), axis=0)
        else:
            run = np.cumsum(np.concatenate((self.total[None, :], x[size:] - x[:m])), axis=0)[1:]
        self.total = run[-1].copy()
        return run / size


def rows_matmul(x: np.ndarray, m: np.ndarray, alone: bool = False) -> np.ndarray:
    """x @ m for (k, 3) rows as numpy computes it for a block of two rows or more; ``alone``:
    the row was a block of its own in the whole computation (numpy's vector-matrix product).

    Done _MATMUL_ROWS at a time: BLAS gives every row the same rounding whatever the block, but
    splits big blocks over threads, which on a busy machine made a piece's product ~50x slower."""
    if x.shape[0] == 1 and not alone:
        return (np.concatenate((x, x)) @ m)[:1]
    if x.shape[0] <= _MATMUL_ROWS:
        return x @ m
    out = np.empty((x.shape[0], m.shape[1]), dtype=np.result_type(x, m))
    for i in range(0, x.shape[0], _MATMUL_ROWS):
        out[i:i + _MATMUL_ROWS] = rows_matmul(x[i:i + _MATMUL_ROWS], m)
    return out


def piece_bounds(n: int, size: int, keep_whole: list[tuple[int, int]] = ()) -> Iterator[tuple[int, int]]:
    """[i0, i1) pieces of about ``size`` samples covering [0, n), none of them cutting into a
    range of keep_whole (sorted by start; ranges that touch or overlap are kept whole together)."""
    size = max(1, int(size))
    merged: list[list[int]] = []
    for a, b in sorted(keep_whole):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    j = 0
    i0 = 0
    while i0 < n:
        i1 = min(n, i0 + size)
        while j < len(merged) and merged[j][1] <= i1:
            j += 1
        if j < len(merged) and merged[j][0] < i1 < merged[j][1]:
            a, b = merged[j]
            i1 = a if a > i0 else min(n, b)
        yield i0, i1
        i0 = i1
