"""Sample checks shared by every reader: the core trusts its input, so readers must not.

Rules (also in docs/native-format.md, "Validation"):
  * NaN/inf in t or acc -> error naming the sample;
  * timestamps must strictly increase; a step backwards -> error (never silently sorted);
  * an exact duplicate row (same t and same acc as the row before) -> dropped, with a note;
    a duplicate timestamp with different values -> error;
  * |a| > 50 g -> error (real wearables saturate at 8-16 g; more means wrong units or garbage).

check_time_axis adds the timing limits of sensorback.limits (rate, span, times, long gaps).

The fast path is three vectorised reductions (t increasing, acc min, acc max), cheap enough to
run on every load of a day-long file; the slower diagnosis only runs when something is wrong.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..errors import InputError, SensorbackError
from .. import limits
from ..limits import MAX_ACC_G
from ..timefmt import count, span, span_over
from .notes import LoadNotes

LIMIT_G = MAX_ACC_G
AXES = ("ax", "ay", "az")


def rate_not_needed(path, own_rate_hz: float) -> SensorbackError:
    """A sample rate given for a file that times its own samples (.sbr, .cwa, .gt3x, CSV with a
    time column): refused, since it would replace the file's rate and change every result."""
    return SensorbackError(f"--rate: {path} has its own timestamps ({own_rate_hz:g} Hz); --rate is only for "
                           "CSV files without a time column")


# locate(i, column=None) -> (line number or None, label): where sample i of this block lives in
# the file; column (0 the time, 1-3 the axes; None the sample as a whole) is the value a message
# is about, for readers that can tell where each value is (.sbr byte offsets); others ignore it.
# Chunked readers pass an offset locator, so locate(-1) names the previous chunk's last sample.
Locator = Callable[..., tuple[int | None, str]]
TIME, ACC = 0, 1  # columns: the time, and the first axis (|a| is about all three, which follow it)


def _fail(path, locate: Locator, i: int, message: str, column: int | None = None) -> InputError:
    line, label = locate(i, column)
    return InputError(path, f"{label}: {message}" if label else message, line=line)


def check_samples(
    t: np.ndarray,
    acc: np.ndarray,
    path,
    locate: Locator,
    notes: LoadNotes,
    *,
    columns: tuple[str, str, str, str] = ("t",) + AXES,
    prev: tuple[float, np.ndarray] | None = None,
    limit_g: float = LIMIT_G,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate one block (acc already in g); return (t, acc) with exact duplicates removed.

    prev is the last sample of the previous chunk, so chunked reading checks across chunk
    edges exactly like a whole load. Raises InputError at the first problem in file order.
    """
    n = int(t.shape[0])
    if n == 0:
        return t, acc
    lim3 = limit_g / math.sqrt(3.0)  # every axis within this => |a| within limit_g
    t_ok = bool(math.isfinite(t[0]) and math.isfinite(t[-1]))
    t_ok = t_ok and (n < 2 or bool(np.greater(t[1:], t[:-1]).all()))
    t_ok = t_ok and (prev is None or bool(t[0] > prev[0]))
    amin, amax = acc.min(), acc.max()  # NaN propagates, so NaN fails both tests below
    if t_ok and amin >= -lim3 and amax <= lim3:
        return t, acc
    return _diagnose(t, acc, path, locate, notes, columns, prev, limit_g, lim3)


def _diagnose(t, acc, path, locate, notes, columns, prev, limit_g, lim3):
    problems: list[tuple[int, str, int]] = []  # (sample index, message, column); report the earliest

    bad_t = ~np.isfinite(t)
    if bad_t.any():
        i = int(np.argmax(bad_t))
        problems.append((i, f"{_kind(t[i])} in column {columns[0]}", TIME))
    bad_a = ~np.isfinite(acc)
    if bad_a.any():
        i, j = np.unravel_index(int(np.argmax(bad_a)), acc.shape)
        problems.append((int(i), f"{_kind(acc[i, j])} in column {columns[1 + int(j)]}", 1 + int(j)))

    # Steps between consecutive samples, including the edge to the previous chunk.
    if prev is not None:
        tt = np.concatenate([[prev[0]], t])
        aa = np.concatenate([np.asarray(prev[1], dtype=acc.dtype).reshape(1, 3), acc])
    else:
        tt, aa = t, acc
    off = 1 if prev is not None else 0
    d = np.diff(tt)
    back = np.flatnonzero(d < 0)
    if back.size:
        k = int(back[0])
        i = k + 1 - off
        where = _prev_where(locate, i)
        problems.append(
            (i, f"timestamp {float(tt[k + 1])!r} goes backwards (previous sample{where} has {float(tt[k])!r}); "
                "samples must be in time order and sensorback does not re-sort them", TIME)
        )
    dup = np.flatnonzero(d == 0)
    drop = np.zeros(0, dtype=np.int64)
    if dup.size:
        same = (aa[dup + 1] == aa[dup]).all(axis=1)
        conflict = dup[~same]
        if conflict.size:
            k = int(conflict[0])
            i = k + 1 - off
            where = _prev_where(locate, i)
            problems.append(
                (i, f"duplicate timestamp {float(tt[k + 1])!r} (also on the previous sample{where}) "
                    "with different values; cannot tell which is right", TIME)
            )
        drop = dup[same] + 1 - off

    with np.errstate(invalid="ignore"):
        big_rows = np.flatnonzero((np.abs(acc) > lim3).any(axis=1))
    if big_rows.size:
        mag = np.sqrt((acc[big_rows].astype(np.float64) ** 2).sum(axis=1))
        over = np.flatnonzero(mag > limit_g)
        if over.size:
            i = int(big_rows[over[0]])
            problems.append(
                (i, f"acceleration magnitude {mag[over[0]]:.1f} g exceeds {limit_g:g} g "
                    "(wrong units or a corrupted value?)", ACC)
            )

    if problems:
        i, message, column = min(problems, key=lambda p: p[0])
        raise _fail(path, locate, i, message, column)
    if drop.size:
        line, label = locate(int(drop[0]))
        first = f"line {line}" if line is not None else label
        notes.add(
            f"dropped {count(drop.size, 'exact duplicate sample')} "
            f"(same timestamp and values as the sample before; first at {first})"
        )
        keep = np.ones(t.shape[0], dtype=bool)
        keep[drop] = False
        t, acc = t[keep], acc[keep]
    return t, acc


def _kind(x) -> str:
    return "NaN" if math.isnan(float(x)) else "infinite value"


def _prev_where(locate: Locator, i: int) -> str:
    # i - 1 may be -1 in chunked reads: chunk locators are offset, so they still resolve it.
    line, label = locate(i - 1, TIME)
    return f" on line {line}" if line is not None else f" ({label})"


# ----------------------------------------------------------------------------- timing limits


def check_time_axis(
    t: np.ndarray,
    rate_hz: float,
    path,
    locate: Locator,
    notes: LoadNotes,
    *,
    prev_t: float | None = None,
    t_first: float | None = None,
    skipped_before: float = 0.0,
    rate_from: str = "sample rate",
) -> float:
    """The timing limits of sensorback.limits on a validated block (finite, increasing t).

    Errors: a nominal or measured sample rate outside [MIN_RATE_HZ, MAX_RATE_HZ]; times beyond
    MAX_TIME_S from 0; more than MAX_DURATION_S of recorded time. Notes: a rate below
    LOW_RATE_HZ; gaps longer than MAX_GAP_S, which are not recorded time (the core starts afresh
    after them). Returns the time in such gaps. Chunked readers pass prev_t (last time of the
    previous chunk; the rate is judged on the first chunk only), t_first (first time of the
    recording) and skipped_before (what earlier chunks returned).
    """
    n = int(t.shape[0])
    if n == 0:
        return skipped_before
    first = float(t[0]) if t_first is None else float(t_first)
    for i in (0, n - 1):
        if abs(float(t[i])) > limits.MAX_TIME_S:
            raise _fail(path, locate, i, f"time {float(t[i]):.6g} s is more than 10 years from 0: not seconds "
                        "on the recording's axis (name the unit in the header, e.g. 'time (ms)')", TIME)
    if prev_t is None:
        problem = limits.rate_problem(rate_hz)
        if problem:
            raise InputError(path, f"{rate_from} {problem}")
        if n > 1:
            typical = float(np.median(np.diff(t[: 1 << 16])))
            measured = 1.0 / typical if typical > 0 else math.inf
            problem = limits.rate_problem(measured)
            if problem:
                raise InputError(path, f"samples are a median {typical:.6g} s apart, a sample rate of {problem}")
            low = limits.low_rate_note(min(measured, rate_hz))
        else:
            low = limits.low_rate_note(rate_hz)
        if low:
            notes.add(low)
    tt = t if prev_t is None else np.concatenate([[prev_t], t])  # with the edge to the last chunk
    off = 0 if prev_t is None else 1
    long = limits.long_steps(tt)  # step tt[i] -> tt[i + 1]
    gaps = tt[long + 1] - tt[long]
    if long.size:
        j = int(np.argmax(gaps))
        i = int(long[j]) + 1 - off  # the sample after the longest gap
        line, label = locate(i, TIME)
        where = f"line {line}" if line is not None else label
        at = f"before {where} (t = {float(t[i]):.6g} s)"
        limit = span(limits.MAX_GAP_S)
        longest = span_over(float(gaps[j]), limits.MAX_GAP_S)  # never 'a gap of 10 min, longer than 10 min'
        if long.size == 1:
            what = f"a gap of {longest} {at}, longer than {limit}:"
        else:
            total = span_over(float(gaps.sum()), long.size * limits.MAX_GAP_S)
            what = f"{long.size} gaps longer than {limit} ({total} in all; the longest, {longest}, {at}):"
        notes.add(f"{what} not counted as recorded time; the parts on either side are analysed separately")
    skipped = skipped_before + float(gaps.sum())
    recorded = float(t[-1]) - first - skipped
    if recorded > limits.MAX_DURATION_S:
        raise InputError(
            path,
            f"{span_over(recorded, limits.MAX_DURATION_S)} of recording (not counting gaps longer than "
            f"{span(limits.MAX_GAP_S)}), more than the {span(limits.MAX_DURATION_S)} any "
            "logger holds; split the file, or check its timestamps")
    return skipped
