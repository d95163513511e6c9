"""Run lengths and forward fills that carry over from one chunk of epochs to the next.

These are the only pieces of memory in the decisions, so streaming equals batch exactly when
each chunk starts from the previous chunk's carry.
"""

from __future__ import annotations

import numpy as np


def _last_true(mask: np.ndarray, dtype) -> np.ndarray:
    """For each position, the index of the last True at or before it (-1 before the first).

    Built from the positions of True and np.repeat rather than a running maximum (the masks
    here come in long runs, and np.maximum.accumulate is several times slower): one repeat of
    each True's index over its run, or, when most positions are True, an index ramp with only
    the runs of False filled in (repeating every index one at a time is the slow case).
    """
    n = mask.shape[0]
    at = np.flatnonzero(mask)
    if 2 * at.size > n:
        out = np.arange(n, dtype=dtype)
        off = np.flatnonzero(~mask)
        if off.size:
            begins = np.empty(off.size, bool)  # first False of each run of them
            begins[0] = True
            np.not_equal(off[1:], off[:-1] + 1, out=begins[1:])
            first = np.flatnonzero(begins)
            out[off] = np.repeat((off[first] - 1).astype(dtype), np.diff(np.append(first, off.size)))
        return out
    bounds = np.empty(at.size + 2, np.int64)  # each True's run: from it to the next one
    bounds[0], bounds[-1] = 0, n
    bounds[1:-1] = at
    vals = np.empty(at.size + 1, dtype)
    vals[0] = -1
    vals[1:] = at
    return np.repeat(vals, np.diff(bounds))


def next_true(mask: np.ndarray) -> np.ndarray:
    """For each position, the index of the first True at or after it (len(mask) where none)."""
    n = mask.shape[0]
    i = np.where(mask, np.arange(n), n)
    return np.minimum.accumulate(i[::-1])[::-1]


def _int_type(n: int):
    """The narrowest integer type that holds n (half the memory traffic of int64)."""
    return np.int32 if n < 2**31 - 1 else np.int64


def _first_at_least_0(last: np.ndarray) -> int:
    """Where a _last_true answer stops being -1. (The 0 is of the array's own type: a Python int
    against an int32 array makes searchsorted cast the whole array to int64 first, ten times the
    cost of the search.)"""
    return int(np.searchsorted(last, last.dtype.type(0)))


def run_length(flags: np.ndarray, carry: int) -> np.ndarray:
    """Length of the run of True ending at each position (0 where False); carry = run before."""
    n = flags.shape[0]
    dtype = _int_type(n + carry + 1)
    last_false = _last_true(~flags, dtype)
    run = np.arange(n, dtype=dtype)
    run -= last_false  # 0 wherever flags is False
    if carry:  # positions before the first False continue the run carried in
        run[: _first_at_least_0(last_false)] += carry
    return run


def run_length_over(flags: np.ndarray, counted: np.ndarray, carry: int) -> np.ndarray:
    """run_length counted over the `counted` positions only: a position not counted (an epoch
    without data) neither breaks the run nor adds to it, and shows the run as it stood."""
    if counted.all():
        return run_length(flags, carry)
    on = flags & counted
    total = np.cumsum(on, dtype=np.int64)
    last_break = _last_true(counted & ~flags, _int_type(flags.shape[0]))
    run = total - total.take(np.maximum(last_break, 0))
    run[: _first_at_least_0(last_break)] = total[: _first_at_least_0(last_break)] + carry
    return run


def hold_through(values: np.ndarray, keep: np.ndarray, carry) -> np.ndarray:
    """values where keep; elsewhere the value at the last kept position before (or carry)."""
    pos = _last_true(keep, _int_type(values.shape[0]))
    out = values.take(np.maximum(pos, 0))  # (take: fancy indexing with int32 indices is twice as slow)
    out[: _first_at_least_0(pos)] = carry
    return out


def forward_fill(codes: np.ndarray, carry: int) -> np.ndarray:
    """Replace 0 by the last non-zero code before it (or carry)."""
    return hold_through(codes, codes != 0, carry)


def hysteresis(enter: np.ndarray, stay: np.ndarray, carry: bool) -> np.ndarray:
    """On where `enter`, and stays on while `stay` (or enter) holds; carry = on before."""
    dtype = _int_type(enter.shape[0])
    last_break = _last_true(~(enter | stay), dtype)
    on = _last_true(enter, dtype) > last_break
    if carry:
        on[: _first_at_least_0(last_break)] = True
    return on


def since_last(flags: np.ndarray, carry: int, at: np.ndarray) -> tuple[np.ndarray, int]:
    """Epochs since the last True flag (0 where it is True) at the positions `at` only, and the
    carry for the next chunk; carry = that count at the last epoch before this chunk.

    The same as run_length(~flags, carry)[at], for the price of one pass when `at` is empty.
    """
    nz = np.flatnonzero(flags)
    new_carry = flags.shape[0] - 1 - int(nz[-1]) if nz.size else carry + flags.shape[0]
    if at.size == 0:
        return np.zeros(0, np.int64), new_carry
    j = np.searchsorted(nz, at, side="right") - 1
    last = np.where(j >= 0, nz[np.maximum(j, 0)] if nz.size else 0, -1 - carry)
    return at - last, new_carry


def rolling_count(flags: np.ndarray, history: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Number of True among the last `window` flags at each position; history = earlier flags.

    Returns (counts, new_history) where new_history holds the last window-1 flags.
    """
    allf = np.concatenate([history, flags]).astype(np.int32)
    csum = np.concatenate([[0], np.cumsum(allf)])
    end = np.arange(history.shape[0], allf.shape[0]) + 1
    counts = csum[end] - csum[np.maximum(end - window, 0)]
    return counts, allf[-(window - 1):].astype(bool) if window > 1 else np.zeros(0, bool)


def sliding_reduce(x: np.ndarray, op: np.ufunc, windows: tuple[int, ...]) -> list[np.ndarray]:
    """op (np.maximum or np.minimum) over windows of consecutive rows of x, for each length in
    `windows`; all windows end at the same rows: max(windows) - 1, ..., len(x) - 1.

    Doubling: after s passes each row holds op over the 2**s rows starting there, and one more
    comparison of two overlapping spans covers any length exactly; about log2(w) passes instead
    of the w a plain sliding filter needs. Exact, and NaN anywhere in a window gives NaN there.
    Each level is dropped as soon as the next exists (holding them all costs fresh memory).
    """
    w = max(windows)
    n_out = x.shape[0] - w + 1
    done: dict[int, np.ndarray] = {}
    cur, span = x, 1
    while True:
        for length in windows:
            if 1 << (length.bit_length() - 1) == span:  # span is the largest power of two <= length
                first = w - length
                a = cur[first:first + n_out]
                done[length] = a if span == length else op(a, cur[first + length - span:first + length - span + n_out])
        if span * 2 > w:
            return [done[length] for length in windows]
        cur = op(cur[:-span], cur[span:])
        span *= 2
