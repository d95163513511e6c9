"""Splices: places where samples are missing although the timestamps show no gap.

A recording whose clock was rebuilt from the sample count (a file exported at its nominal rate,
a receiver that numbers whatever arrived, recordings joined end to end; sensorback's own
devices/_clock.HostSampleClock closes up at most half a second) closes up what was lost:
the signal then steps from one still posture straight to another between two consecutive
samples. A worn sensor cannot do that. A trunk that turns even 6 degrees within one sample
interval (10-100 ms) and is still on both sides would have to start and stop that turn within a
sample: an angular acceleration of thousands of degrees per second squared, whose tangential
part alone (tens of m/s^2 at the chest) would show on both sides. Real movements, however quick,
spread a turn over several samples and move the samples around the jump. So a step between two
still stretches is a gap in the data of unknown length, and the core treats it as one (a sit-down
or a stand-up may lie in it: core/decide.py).

Only epochs whose own statistics could hide such a step are looked at sample by sample, so the
cost is a few percent of one pass over the data.
"""

from __future__ import annotations

import numpy as np

# The step between two consecutive samples (g): about 6 degrees of tilt at 1 g. Samples are
# consecutive when their timestamps lie at most NEXT_SAMPLE sample intervals apart (a longer step
# in time is a gap the clock shows, which the core already sees).
JUMP_G = 0.1
NEXT_SAMPLE = 1.5
# Each side is this long (at least MIN_SIDE samples), still (its SD at most STILL_RATIO of the
# step between the two sides' means, and at most STILL_G), and reads gravity alone: the two
# sides' mean magnitudes agree within SAME_G (a still sensor reads 1 g in any posture).
SIDE_S = 0.5
MIN_SIDE = 5
STILL_RATIO = 0.25
STILL_G = 0.05
SAME_G = 0.05
# An epoch is looked at when its SD, or the change of its mean from the epoch before, reaches
# this share of JUMP_G: a step of JUMP_G anywhere in the samples it is judged on shows as one of
# the two (see splice_epochs). Walking is not looked at (periodic stepping in the window ending
# with the epoch, at WALKING_PERIODICITY or more): it holds no still half second.
SCREEN_SHARE = 0.3
WALKING_PERIODICITY = 0.5


def side_samples(rate_hz: float) -> int:
    return max(MIN_SIDE, int(round(SIDE_S * rate_hz)))


def splice_epochs(t: np.ndarray, acc: np.ndarray, starts: np.ndarray, n: np.ndarray, mean: np.ndarray, sd: np.ndarray,
                  prev_mean: np.ndarray, periodicity: np.ndarray, rate_hz: float) -> np.ndarray:
    """Per epoch, does a splice end in it? Epoch j (samples starts[j] .. starts[j] + n[j] - 1 of
    acc) owns the steps between samples i and i + 1 whose after side (i + 1 .. i + w, w =
    side_samples) ends inside it: each step is judged once, by the epoch in which it can first
    be judged, whatever the chunking (the samples before starts[0] are history).

    mean/sd: each epoch's (NaN: no samples); prev_mean: the mean of the epoch before epoch 0
    (NaN: none, or not adjacent); periodicity: of stepping, in the window ending with each."""
    m = starts.shape[0]
    out = np.zeros(m, bool)
    if m == 0:
        return out
    w = side_samples(rate_hz)
    # A step of size D that epoch j owns lies in its first n - w samples or in the last w of
    # the epoch before: it shows as an SD of D sqrt(f (1 - f)) in epoch j (f: the share of the
    # epoch before it) or as a change of mean of at least min(w/n, 1 - w/n) D from the epoch
    # before; with w about half an epoch, at least D / 2 either way.
    screen = SCREEN_SHARE * JUMP_G
    moved2 = np.zeros(m)
    for c in range(3):  # (column by column: numpy's reductions over rows of three are slow)
        x = np.diff(mean[:, c], prepend=prev_mean[c])
        moved2 += x * x
    with np.errstate(invalid="ignore"):
        look = np.flatnonzero(((sd >= screen) | (moved2 >= screen * screen)) & (periodicity < WALKING_PERIODICITY))
    lo = np.maximum(starts[look] - w, w)  # (a step's before side and the step before it are in the buffer)
    hi = starts[look] + n[look] - w
    keep = hi > lo
    look, lo, hi = look[keep], lo[keep], hi[keep]
    if look.size == 0:
        return out
    # every step those epochs own, and the one on either side of each, in one gather
    count = hi - lo + 2
    owner = np.repeat(np.arange(look.size), count)
    i = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count) + np.repeat(lo - 1, count)
    size2 = np.zeros(i.shape[0], np.float32)
    for c in range(3):
        col = acc[:, c]
        x = col[i + 1] - col[i]
        size2 += x * x
    size = np.sqrt(size2)
    # a big step with small ones either side (walking's big steps come in runs) between samples
    # the clock says are consecutive
    inner = np.ones(i.shape[0], bool)
    ends = np.cumsum(count)
    inner[ends - 1] = inner[ends - count] = False
    mid = np.flatnonzero(inner)
    big = mid[(size[mid] >= JUMP_G) & (size[mid - 1] < 0.5 * JUMP_G) & (size[mid + 1] < 0.5 * JUMP_G)]
    big = big[t[i[big] + 1] - t[i[big]] <= NEXT_SAMPLE / rate_hz]
    if big.size == 0:
        return out
    i, owner = i[big], owner[big]
    # the still sides of each big step
    k = np.arange(w)
    b = acc[(i - k[::-1, None]).T]  # (steps, w, 3): i - w + 1 .. i
    f = acc[(i + 1 + k[:, None]).T]  # i + 1 .. i + w
    mb, mf = b.mean(axis=1), f.mean(axis=1)
    gap = np.sqrt(((mf - mb) ** 2).sum(axis=1))
    sd_b = np.sqrt(b.var(axis=1).sum(axis=1))
    sd_f = np.sqrt(f.var(axis=1).sum(axis=1))
    still = np.minimum(STILL_RATIO * gap, STILL_G)
    same = np.abs(np.sqrt((mf * mf).sum(axis=1)) - np.sqrt((mb * mb).sum(axis=1))) <= SAME_G
    ok = (gap >= JUMP_G) & (sd_b <= still) & (sd_f <= still) & same
    out[look[owner[ok]]] = True
    return out
