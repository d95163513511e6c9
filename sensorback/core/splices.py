"""Splices: places where samples are missing although the timestamps show no gap.

A recording whose clock was rebuilt from the sample count (a file exported at its nominal rate,
a receiver that numbers whatever arrived, recordings joined end to end; sensorback's own
devices/_clock.HostSampleClock closes up at most half a second) closes up what was lost:
the signal then steps from one still posture straight to another between two consecutive
samples. A worn sensor cannot do that, and when one side is still it cannot do it either if the
step is the whole of a big, lasting change (FAR_G below). A quick real lean of the trunk takes 150 ms or more, so at
20 Hz or faster it spreads over three samples or more and moves the samples around it; a trunk
that turned 6 degrees or more between two samples with half a second still on each side would
have started and stopped the turn within 50 ms, an angular acceleration whose tangential part
alone (tens of m/s^2 at the chest) no trunk reaches. (Below 20 Hz a sample interval can hold a
whole quick lean, and nothing is looked for.) So a step between two
still stretches is a gap in the data of unknown length, and the core treats it as one (a sit-down
or a stand-up may lie in it: core/decide.py).

Only epochs in whose span (the epochs a step's sides may lie in) some epoch's SD or change of mean
could hide such a step, and that are not walking, are looked at sample by sample: a few percent
of the data.
"""

from __future__ import annotations

import math

import numpy as np

# The step between two consecutive samples (g): about 6 degrees of tilt at 1 g. Samples are
# consecutive when their timestamps lie at most NEXT_SAMPLE sample intervals apart (a longer step
# in time is a gap the clock shows, which the core already sees). The two sides together may
# span at most MAX_SIDES_S by the clock (a packet or two lost inside them is no matter; a side
# reaching over a longer gap is no side).
JUMP_G = 0.1
NEXT_SAMPLE = 1.5
MAX_SIDES_S = 1.5
# Each side is this long (at least MIN_SIDE samples), still (its SD at most STILL_RATIO of the
# distance between the two sides' means, and at most STILL_G), and reads gravity alone: the two
# sides' mean magnitudes agree within SAME_G (a still sensor reads 1 g in any posture).
SIDE_S = 0.5
MIN_SIDE = 5
STILL_RATIO = 0.25
STILL_G = 0.05
SAME_G = 0.05
# One side still is enough when the step is big and is the change: the other side's mean (over
# SIDE_S; it may be busy, someone talking while standing) lies FAR_G or more from the still side's
# (about 20 degrees of tilt at 1 g) and the step between the two samples carries at least CARRY of
# that. A trunk at rest that turned 16 degrees or more within one sample interval (50 ms at most)
# and stayed there reached an angular velocity of 300 deg/s or more from rest within it, which no
# trunk does; on the 45 shared real recordings (13.5 h, continuous clocks) no step comes near it,
# while recordings of sitting and standing joined end to end show it wherever one side is still.
# The change must last: the busy side's median (per axis, over SIDE_S) lies FAR_G off as well, so
# that a knock of a few samples (a seat's thump, a tapped clip), which moves the mean but not the
# median, is no splice (it would otherwise hide a sit-down heard right next to it).
FAR_G = 0.35
CARRY = 0.8
# The still side reads gravity alone: its mean magnitude within GRAVITY_G of 1 g (uncalibrated
# sensors are off by a few percent; a stuck sensor's zeros are no posture).
GRAVITY_G = 0.15
# Below this rate a sample interval (over 50 ms) can hold the whole of a quick real lean (150-200
# ms), which then reads as a step between still samples: no splices are looked for.
MIN_RATE_HZ = 20.0
# The screen (see screen_share) is taken at this share of the least a step can show, for noise.
SCREEN_MARGIN = 0.9
# Walking is not looked at (periodic stepping in the window ending with the epoch, at
# WALKING_PERIODICITY or more): it holds no still half second.
WALKING_PERIODICITY = 0.5


def side_samples(rate_hz: float) -> int:
    return max(MIN_SIDE, int(round(SIDE_S * rate_hz)))


def epochs_back(epoch_s: float) -> int:
    """How many epochs before the one a step is judged in its sides may reach into."""
    return int(math.ceil(MAX_SIDES_S / epoch_s))


def screen_share(rate_hz: float, epoch_s: float) -> float:
    """The least share of a step D between two still sides that shows in the epochs they lie in, as
    an SD or a change of mean from the epoch before. The worst case is a step on an epoch boundary
    whose sides fill a share r of their epochs, the rest of each epoch placed to hide it: an SD of
    s a and s b (s = sqrt(r (1 - r)), a and b: how far those samples lie from each side) against a
    change of mean of D - (1 - r)(a + b), at best s D / (s + 2 (1 - r)) (1/3 for sides of half an
    epoch, 0.22 for a quarter); a step inside an epoch shows more (its SD holds both sides)."""
    r = min(1.0, side_samples(rate_hz) / (rate_hz * epoch_s))
    if r >= 1.0:
        return 0.5
    s = math.sqrt(r * (1.0 - r))
    return min(0.5, s / (s + 2.0 * (1.0 - r)))


def splice_epochs(t: np.ndarray, acc: np.ndarray, k: np.ndarray, starts: np.ndarray, n: np.ndarray,
                  mean: np.ndarray, var: np.ndarray, sd: np.ndarray, periodicity: np.ndarray, first: int,
                  rate_hz: float, epoch_s: float) -> np.ndarray:
    """Per epoch row first.., does a splice end in it? Rows before `first` are earlier epochs
    (history: at least those within epochs_back of the first new one, measured as when they were
    new). Epoch j (samples starts[j] .. starts[j] + n[j] - 1 of t/acc) owns the steps between
    samples i and i + 1 whose after side (i + 1 .. i + w, w = side_samples) ends inside it: each
    step is judged once, by the epoch in which it can first be judged, whatever the chunking.

    mean/var: each epoch's moments (NaN: no samples); sd: sqrt(var[:, 0] + var[:, 1] + var[:, 2]);
    periodicity: of stepping, in the window ending with each new epoch (rows first..)."""
    m = k.shape[0] - first
    out = np.zeros(max(m, 0), bool)
    if m <= 0 or rate_hz < MIN_RATE_HZ:
        return out
    w = side_samples(rate_hz)
    q = epochs_back(epoch_s)
    # The screen: between two still sides, a step D shows in the epochs the sides lie in (k - q
    # .. k) as an SD or a change of mean from the epoch before of at least screen_share D in one
    # of them. Only epochs whose span reaches that for D = JUMP_G are looked at.
    ok = n > 0
    score = np.array(sd, np.float64)  # per row: the larger of its SD and its change of mean
    moved = np.zeros(k.shape[0] - 1)
    for c in range(3):  # (column by column: numpy's reductions over rows of three are slow)
        d = mean[1:, c] - mean[:-1, c]
        moved += d * d
    score[1:] = np.fmax(score[1:], np.sqrt(moved))
    score[~ok] = 0.0
    top = score[first:].copy()
    calm = np.where(ok, sd, np.inf)  # per row: its SD (a still side needs a calm epoch to lie in)
    calmest = calm[first:].copy()
    end = k.shape[0]
    for back in range(1, q + 1):  # the rows back .. of each new one, those within q epochs
        lo = max(0, back - first)  # new rows with a row that far back
        if lo >= m:
            break
        near = k[first + lo - back:end - back] >= k[first + lo:] - q
        np.fmax(top[lo:], np.where(near, score[first + lo - back:end - back], 0.0), out=top[lo:])
        np.fmin(calmest[lo:], np.where(near, calm[first + lo - back:end - back], np.inf), out=calmest[lo:])
    at_least = SCREEN_MARGIN * screen_share(rate_hz, epoch_s) * JUMP_G
    # (walking holds no still half second: looked at only where a calm epoch lies in the span, as
    # where someone still was joined to someone walking or talking)
    look = np.flatnonzero((top >= at_least) & ok[first:]
                          & ((periodicity < WALKING_PERIODICITY) | (calmest <= STILL_G)))
    j = look + first
    lo = np.maximum(starts[j] - w, w)  # (a step's before side and the step before it are in the buffer)
    hi = starts[j] + n[j] - w
    keep = hi > lo
    look, lo, hi = look[keep], lo[keep], hi[keep]
    if look.size == 0:
        return out
    # every step those epochs own (i: between samples i and i + 1), with the one on either side:
    # the epochs come in runs whose steps touch, each run one slice of the samples
    brk = np.flatnonzero(lo[1:] != hi[:-1]) + 1
    run_lo, run_hi = lo[np.concatenate(([0], brk))], hi[np.concatenate((brk - 1, [lo.size - 1]))]
    segs = np.concatenate([acc[a - 1:b + 2] for a, b in zip(run_lo.tolist(), run_hi.tolist())])
    seg_len = run_hi - run_lo + 3  # samples per run: steps run_lo - 1 .. run_hi
    x = segs[1:] - segs[:-1]  # (all three axes in one pass)
    size2 = x[:, 0] * x[:, 0]
    size2 += x[:, 1] * x[:, 1]
    size2 += x[:, 2] * x[:, 2]
    size = np.sqrt(size2)
    # a big step with small ones either side (walking's big steps come in runs), owned by a run
    # (steps 1 .. run_hi - run_lo of its slice; its first and last step are only neighbours, and
    # the step from one run's slice into the next is none)
    seg_at = np.cumsum(seg_len) - seg_len  # where each run's samples begin in segs
    owned = np.ones(size.size, bool)
    owned[seg_at] = False
    owned[seg_at + seg_len - 2] = False
    owned[(seg_at + seg_len - 1)[:-1]] = False
    calm_before, calm_after = size[:-2] < 0.5 * JUMP_G, size[2:] < 0.5 * JUMP_G
    mid = size[1:-1]
    # (a step with one calm neighbour only can be a one-sided splice only if it is CARRY * FAR_G
    # or more: busy data, full of single big steps, gathers no sides for the rest)
    pos = np.flatnonzero(owned[1:-1] & (mid >= JUMP_G)
                         & ((calm_before & calm_after) | ((calm_before | calm_after) & (mid >= CARRY * FAR_G)))) + 1
    if pos.size == 0:
        return out
    step, calm_b, calm_f = size[pos], calm_before[pos - 1], calm_after[pos - 1]
    r = np.searchsorted(seg_at, pos, side="right") - 1
    i = run_lo[r] + (pos - seg_at[r] - 1)
    owner = np.searchsorted(lo, i, side="right") - 1
    # consecutive by the clock, and the sides within MAX_SIDES_S
    steady = (t[i + 1] - t[i] <= NEXT_SAMPLE / rate_hz) & (t[i + w] - t[i - w + 1] <= MAX_SIDES_S)
    i, owner, step, calm_b, calm_f = i[steady], owner[steady], step[steady], calm_b[steady], calm_f[steady]
    if i.size == 0:
        return out
    kk = np.arange(w)
    b = acc[(i - kk[::-1, None]).T]  # (steps, w, 3): i - w + 1 .. i
    f = acc[(i + 1 + kk[:, None]).T]  # i + 1 .. i + w
    mb, mf = b.mean(axis=1), f.mean(axis=1)
    gap = np.sqrt(((mf - mb) ** 2).sum(axis=1))
    sd_b = np.sqrt(b.var(axis=1).sum(axis=1))
    sd_f = np.sqrt(f.var(axis=1).sum(axis=1))
    still = np.minimum(STILL_RATIO * gap, STILL_G)
    mag_b, mag_f = np.sqrt((mb * mb).sum(axis=1)), np.sqrt((mf * mf).sum(axis=1))
    same = np.abs(mag_f - mag_b) <= SAME_G
    both = calm_b & calm_f & (gap >= JUMP_G) & (sd_b <= still) & (sd_f <= still) & same
    # one still side (see FAR_G), reading gravity alone (not a stuck sensor's zeros)
    still_b = calm_b & (sd_b <= STILL_G) & (np.abs(mag_b - 1.0) <= GRAVITY_G)
    still_f = calm_f & (sd_f <= STILL_G) & (np.abs(mag_f - 1.0) <= GRAVITY_G)
    one = (gap >= FAR_G) & (step >= CARRY * gap) & (still_b | still_f)
    if one.any():
        # ... and the change lasts: the busy side's median lies as far off, not only its mean (a
        # knock of a few samples, several g, moves the mean of half a second as much, not the median)
        o = np.flatnonzero(one)
        busy = np.where(still_b[o, None], np.median(f[o], axis=1), np.median(b[o], axis=1))
        rest = np.where(still_b[o, None], mb[o], mf[o])
        one[o] = np.sqrt(((busy - rest) ** 2).sum(axis=1)) >= FAR_G
    hit = both | one
    out[look[owner[hit]]] = True
    return out
