"""The vectorised building blocks of the decisions against plain loops that say what they mean.

The fast versions (np.repeat fills, doubling sliding maxima, per-axis window gathers) must give
exactly what the obvious loops give, on random inputs of every awkward shape: empty, all True,
all False, carries in and out.
"""

from __future__ import annotations

import numpy as np
import pytest

from sensorback.core.runs import (forward_fill, hold_through, hysteresis, rolling_count, run_length, run_length_over,
                                  sliding_reduce)
from sensorback.core.windows import window_matrix


def naive_run_length(flags, carry):
    out, run = [], carry
    for f in flags:
        run = run + 1 if f else 0
        out.append(run)
    return np.array(out, dtype=np.int64)


def naive_forward_fill(codes, carry):
    out, last = [], carry
    for c in codes:
        last = c if c != 0 else last
        out.append(last)
    return np.array(out)


def naive_hysteresis(enter, stay, carry):
    out, on = [], carry
    for e, s in zip(enter, stay):
        on = bool(e) or (on and bool(s))
        out.append(on)
    return np.array(out, dtype=bool)


def random_cases(n_cases=400, seed=7):
    rng = np.random.default_rng(seed)
    for _ in range(n_cases):
        n = int(rng.integers(0, 60))
        p = rng.choice([0.0, 0.1, 0.5, 0.9, 1.0])
        yield rng, n, rng.random(n) < p


def test_run_length_matches_the_loop_with_any_carry():
    for rng, n, flags in random_cases():
        carry = int(rng.choice([0, 1, 7, 10**9]))
        got = run_length(flags, carry)
        assert np.array_equal(got, naive_run_length(flags, carry)), (flags, carry)
        assert got.shape == (n,)


def test_forward_fill_matches_the_loop():
    for rng, n, flags in random_cases():
        codes = (rng.integers(1, 4, n) * flags).astype(np.int8)
        carry = int(rng.integers(0, 4))
        assert np.array_equal(forward_fill(codes, carry), naive_forward_fill(codes, carry)), (codes, carry)


def test_run_length_over_matches_the_loop():
    """Positions not counted (epochs without data) neither break the run nor add to it."""
    for rng, n, flags in random_cases():
        counted = rng.random(n) < rng.choice([0.0, 0.5, 0.9, 1.0])
        carry = int(rng.choice([0, 1, 7, 10**9]))
        want, run = [], carry
        for f, c in zip(flags.tolist(), counted.tolist()):
            if c:
                run = run + 1 if f else 0
            want.append(run)
        got = run_length_over(flags, counted, carry)
        assert np.array_equal(got, np.array(want, np.int64)), (flags, counted, carry)


def test_hold_through_matches_the_loop():
    """Values may be 0 (a posture level): only the mask says which are kept."""
    for rng, n, flags in random_cases():
        values = rng.integers(-3, 4, n).astype(np.int64)
        carry = int(rng.integers(-3, 4))
        want, last = [], carry
        for v, k in zip(values.tolist(), flags.tolist()):
            last = v if k else last
            want.append(last)
        assert np.array_equal(hold_through(values, flags, carry), np.array(want, np.int64)), (values, flags, carry)


def test_hysteresis_matches_the_loop():
    for rng, n, enter in random_cases():
        stay = rng.random(n) < rng.random()
        for carry in (False, True):
            assert np.array_equal(hysteresis(enter, stay, carry), naive_hysteresis(enter, stay, carry))


def test_chunked_run_lengths_equal_one_pass():
    rng = np.random.default_rng(3)
    flags = np.repeat(rng.random(300) < 0.5, rng.integers(1, 40, 300))
    whole = run_length(flags, 0)
    cuts = np.sort(rng.choice(np.arange(1, flags.shape[0]), 25, replace=False))
    parts, carry = [], 0
    for piece in np.split(flags, cuts):
        got = run_length(piece, carry)
        parts.append(got)
        carry = int(got[-1]) if got.size else carry
    assert np.array_equal(np.concatenate(parts), whole)


def test_rolling_count_matches_the_loop():
    for rng, n, flags in random_cases(100):
        hist = rng.random(4) < 0.5
        counts, new_hist = rolling_count(flags, hist, 5)
        allf = np.concatenate([hist, flags])
        want = [int(allf[max(0, i - 4):i + 1].sum()) for i in range(4, allf.shape[0])]
        assert np.array_equal(counts, np.array(want, dtype=counts.dtype))
        assert np.array_equal(new_hist, allf[-4:])


@pytest.mark.parametrize("op,ref", [(np.maximum, np.max), (np.minimum, np.min)])
def test_sliding_reduce_matches_windows_taken_one_by_one(op, ref):
    rng = np.random.default_rng(11)
    for w in (1, 2, 3, 7, 8, 16, 20, 33):
        x = rng.normal(size=(90, 3)).astype(np.float32)
        x[rng.random(90) < 0.05] = np.nan
        lengths = sorted({w, max(1, w // 2), max(1, w - 3)}, reverse=True)
        out = sliding_reduce(x, op, tuple(lengths))
        for length, got in zip(lengths, out):
            want = np.array([ref(x[j + w - length:j + w], axis=0) for j in range(90 - w + 1)])
            assert np.array_equal(got, want, equal_nan=True), (w, length)


def test_window_gather_is_the_same_for_any_memory_layout():
    """The fast per-axis gather from a contiguous float32 buffer and the general path agree."""
    rng = np.random.default_rng(5)
    rate = 50.0
    t = np.cumsum(np.full(2000, 1 / rate) + rng.normal(0, 0.001, 2000))
    acc = rng.normal(size=(2000, 3)).astype(np.float32)
    lo = np.array([0, 100, 400, 1500])
    hi = lo + 100
    starts = t[lo]
    fast, ok, _ = window_matrix(t, acc, lo, hi, starts, 2.0, rate, 12.5, 0.6)
    general, ok2, _ = window_matrix(t, np.asfortranarray(acc), lo, hi, starts, 2.0, rate, 12.5, 0.6)
    assert fast.shape[0] == 3 and np.array_equal(ok, ok2)
    assert np.array_equal(fast, general)
    # and each plane is that axis of the samples picked
    picked = np.asfortranarray(acc)[:, 1]
    assert set(np.unique(fast[1])).issubset(set(picked))
