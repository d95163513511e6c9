"""The posture smoother (core/smoother.py): an exact integer scan, and decisions that do not
depend on how the stream was cut, checked against a plain per-epoch reading of the same rules."""

from __future__ import annotations

import numpy as np

from sensorback.core.smoother import Events, PostureSmoother, clip_scan


def sequential_scan(x, lo, hi, d0):
    out, d = [], d0
    for xi, a, b in zip(x.tolist(), lo.tolist(), hi.tolist()):
        d = min(max(d, a), b) + xi
        out.append(d)
    return np.array(out, np.int64)


def test_the_doubling_scan_equals_the_recurrence():
    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(1, 400))
        x = rng.integers(-60, 60, n) * (rng.random(n) < rng.random())
        q = rng.integers(20, 150, n)
        reset = rng.random(n) < 0.02
        lo = np.where(reset, 0, -q)
        d0 = int(rng.integers(-200, 200))
        assert np.array_equal(clip_scan(x, lo, -lo, d0), sequential_scan(x, lo, -lo, d0)), trial


def reference(x, reset, events, q_after, settles, offset, q0, lag, reach, hold, pending=None, cut=None):
    """Decision time and posture of every epoch, epoch by epoch, from the smoother's rules:
    committed (|D| >= the cost of switching after it), settled by a later settling commit (or the
    epoch before a reset, or before a cut unless held) `reach` epochs after it, by the lag, or by the first transition whose
    window starts after the epoch and no later than its commit. A guess (committed, not
    settling) is settled the same way, but keeps its own posture unless the first sure
    transition speaking for it claims it. events: (at, before, sit before, sure, other)."""
    n = x.shape[0]
    into = np.concatenate(([q0], q_after[:-1]))
    lo = np.where(reset, 0, -into)
    d = sequential_scan(x, lo, -lo, 0) + offset
    if pending is not None:  # a held epoch that commits the same way with the pending level is not held
        alt = d + pending
        hold = hold & ~((pending != 0) & np.where(d >= 0, alt >= q_after, alt <= -q_after))
    strong = (np.abs(d) >= q_after) & ~hold
    cut = np.zeros(n, bool) if cut is None else cut
    tau, val = np.full(n, -1), np.zeros(n, bool)
    for i in range(n):
        guess = strong[i] and not settles[i]
        c = next((j for j in range(i, n) if (strong[j] and (settles[j] or (j == i and not guess)))
                  or (j + 1 < n and (reset[j + 1] or (cut[j + 1] and not hold[j])))), None)
        t, v = (10**9, False)
        if c is not None:
            known = c if strong[c] and (settles[c] or (c == i and not guess)) else c + 1
            t, v = (known if c == i else max(known, c + reach)), d[c] >= 0
        if guess:
            v = d[i] >= 0
        if i + lag < t:
            t, v = i + lag, (d[i] >= 0 if guess else d[i + lag] >= 0 if i + lag < n else False)
        e = next(((a, b, s, other) for a, b, s, sure, other in events if b > i and (sure or not guess)), None)
        if e is not None and (c is None or e[1] <= c) and e[0] <= t:
            t = e[0]
            first, flags, claims = e[3]
            inside = first <= i < first + flags.shape[0]
            if guess:
                v = e[2] ^ bool(flags[i - first]) if inside and claims is not None and claims[i - first] else v
            else:
                v = e[2] ^ (inside and bool(flags[i - first]))
        if t < n:
            tau[i], val[i] = t, v
    return tau, val


def test_decisions_do_not_depend_on_the_chunking_and_follow_the_rules():
    rng = np.random.default_rng(1)
    q0 = 100
    for trial in range(150):
        n = int(rng.integers(5, 300))
        lag, reach = int(rng.integers(1, 60)), int(rng.integers(0, 8))
        x = (rng.integers(-30, 30, n) * (rng.random(n) < 0.8)).astype(np.int64)
        big = rng.random(n) < 0.02
        x[big] = rng.choice([-300, 300], big.sum())
        reset = rng.random(n) < 0.01
        at = np.sort(rng.choice(n, min(n, int(rng.integers(0, 6))), replace=False)).astype(np.int64)
        before = np.maximum(at - rng.integers(0, 8, at.size), 0)
        sit = rng.random(at.size) < 0.5
        sure = rng.random(at.size) < 0.7
        others = []
        for b in before:
            first = int(max(b - rng.integers(0, 40), 0))
            claims = rng.random(b - first) < 0.5 if rng.random() < 0.7 else None
            others.append((first, rng.random(b - first) < 0.3, claims))
        q_after = np.where(rng.random(n) < 0.3, rng.integers(20, 100, n), q0)
        settles = rng.random(n) < rng.random()
        offset = (rng.integers(-150, 150, n) * (rng.random(n) < 0.5)).astype(np.int64)
        hold = rng.random(n) < rng.random() * 0.3
        pending = (rng.integers(-300, 300, n) * hold * (rng.random(n) < 0.8)) if trial % 2 else None
        cut = rng.random(n) < 0.03 if trial % 3 else None
        tau, val = reference(x, reset, list(zip(at, before, sit, sure, others)), q_after, settles, offset, q0, lag, reach, hold,
                             pending, cut)
        for _ in range(3):
            sm = PostureSmoother(q0, lag, reach)
            final = np.full(n, -1, np.int8)
            open_from = []
            i = 0
            while i < n:
                k = min(int(rng.integers(1, 50)), n - i)
                sel = (at >= i) & (at < i + k)
                out = sm.step(i, x[i:i + k], reset[i:i + k], Events(at[sel], before[sel], sit[sel], [others[e] for e in np.flatnonzero(sel)], sure[sel]),
                              q_after[i:i + k], offset[i:i + k], settles[i:i + k], hold[i:i + k],
                              None if pending is None else pending[i:i + k], None if cut is None else cut[i:i + k])
                for j, v in enumerate(out.decided):
                    if v >= 0:
                        assert final[out.decided_from + j] in (-1, v), trial  # never changes its mind
                        final[out.decided_from + j] = v
                open_from.append(out.open_from)
                i += k
            done = tau >= 0
            assert np.array_equal(final[done], val[done].astype(np.int8)), trial
            assert (final[~done] == -1).all(), trial
            want = [next((i for i in range(n) if not (0 <= tau[i] <= j)), n) for j in range(n)]
            assert np.array_equal(np.concatenate(open_from), want), trial
            # the lag bounds how long any epoch stays open
            assert all(j - o < lag for j, o in enumerate(np.concatenate(open_from))), trial


def test_a_break_in_the_data_decides_the_open_epochs_before_it_as_they_stand():
    """Epochs left open by weak evidence (a posture level short of the switching cost) are
    settled by the next commit: after a break in the data that may hide a transition, that commit
    speaks of a posture the break may have changed to. A cut decides them as they stood instead;
    the score itself carries on."""
    n, q = 60, 100
    x = np.zeros(n, np.int64)
    x[:5] = 30  # sitting, surely: D reaches q at epoch 3
    offset = np.zeros(n, np.int64)
    offset[5:40] = -50  # then a level toward standing: sitting still, not strongly (held through the
    x[40:] = -60        # break, epochs 30-39, as decide.py does), then standing surely
    none = np.zeros(n, bool)

    def decided(cut):
        sm = PostureSmoother(q, max_lag=200)
        out = sm.step(0, x, none, Events.none(), None, offset, None, None, None, cut)
        return out.decided
    without = decided(None)
    assert (without[5:43] == 0).all()  # claimed by the standing after the break
    cut = none.copy()
    cut[35] = True  # known 5 epochs into the break
    with_cut = decided(cut)
    assert (with_cut[:35] == 1).all() and (with_cut[35:] == 0).all()
