"""Per-epoch sample statistics: the only step that touches every sample.

Everything here depends only on the samples inside each epoch (and, for the cadence and
transition windows, a fixed stretch ending at the epoch's end), never on how the stream was
chunked, so streaming and batch agree bit for bit. Nothing here depends on calibration either:
means and variances of an affine per-axis correction follow exactly from the raw ones, and the
window measures are built to be insensitive to offset and gain errors.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import cadence, gait, transition
from .runs import sliding_reduce
from .splices import epochs_back, splice_epochs
from .windows import TARGET_GRID_HZ, window_matrix

# An epoch needs this much movement (SD of |a| vector, g) to be checked for stepping.
CADENCE_MIN_SD_G = 0.06
# A transition window is examined when some epoch in it moved this much, and its last epoch
# is calm enough to be the quiet end of a transition.
TRANSITION_ACTIVE_SD_G = 0.04
TRANSITION_END_MAX_SD_G = 0.1


@dataclass
class EpochStats:
    """Raw statistics of the epochs that contain samples.

    k: epoch index (epoch k covers [k*epoch_s, (k+1)*epoch_s) on the recording's time axis);
    n: samples (0, with NaN moments, where every sample read exactly (0, 0, 0): a stuck sensor);
    mean/var: per-axis mean and variance (g, g^2) of the raw samples;
    cadence_spm / periodicity: stepping in the window ending here (0 where not measured);
    v_up / v_down / quiet_g / tilt_deg: peak vertical trunk velocities (m/s) across the
    transition window ending here, how quiet its ends were, and the largest tilt away from the
    starting posture held for half a second within it (NaN where not measured);
    land_down / land_up / quiet_end_g: the same velocities over the window's last seconds, from
    its end alone, for windows that do not start quiet, and how quiet the end alone was;
    rise_up / rise_down: the same velocities over the window's first seconds, from its start
    alone, for windows that start quiet but do not end so (a stand-up straight into walking);
    gait_lead: (n, 3) for walking-like windows, the step-frequency acceleration that leads the
    vertical one by a quarter step, in raw sensor axes (core/gait.py; NaN elsewhere);
    spliced: a splice ends in the epoch: samples are missing there though the timestamps show
    no gap (core/splices.py).
    """

    k: np.ndarray
    n: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    cadence_spm: np.ndarray
    periodicity: np.ndarray
    v_up: np.ndarray
    v_down: np.ndarray
    quiet_g: np.ndarray
    tilt_deg: np.ndarray
    land_down: np.ndarray
    land_up: np.ndarray
    quiet_end_g: np.ndarray
    rise_up: np.ndarray
    rise_down: np.ndarray
    gait_lead: np.ndarray
    spliced: np.ndarray

    def __len__(self) -> int:
        return int(self.k.shape[0])

    @property
    def sd(self) -> np.ndarray:
        """Raw movement intensity: SD of the acceleration vector (g)."""
        v = self.var
        return np.sqrt(v[:, 0] + v[:, 1] + v[:, 2])

    @classmethod
    def concat(cls, parts: list["EpochStats"]) -> "EpochStats":
        parts = [p for p in parts if len(p)]
        if not parts:
            return empty_stats()
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})

    def take(self, sel) -> "EpochStats":
        return EpochStats(**{f.name: getattr(self, f.name)[sel] for f in fields(self)})


def empty_stats() -> EpochStats:
    z = np.zeros(0, np.float32)
    return EpochStats(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros((0, 3)), np.zeros((0, 3)),
                      *(z.copy() for _ in range(11)), np.zeros((0, 3), np.float32), np.zeros(0, bool))


def epoch_index(t: np.ndarray, epoch_s: float) -> np.ndarray:
    """Epoch of each timestamp; the one definition used everywhere (batch, streaming, cuts)."""
    return np.floor(t * (1.0 / epoch_s)).astype(np.int64)


def epoch_boundaries(t: np.ndarray, ks: np.ndarray, settings: "WindowSettings") -> np.ndarray:
    """Index of the first sample in epoch k (or later) for each k in ks.

    Touches only a few samples per epoch: a guess from the nominal rate, corrected by local
    steps, checked by epoch_index's own rule so the answer agrees with it exactly; anything still
    unresolved (gaps, odd timing) falls back to a binary search. (Sample 0 lies before epoch k
    and some sample in it or later, as at every caller: exactly one index passes the check, so
    the path taken to it does not change it.)
    """
    n = t.shape[0]
    if ks.size == 0:
        return np.zeros(0, np.int64)
    e = settings.epoch_s
    edge = ks * e
    rate = settings.rate_hz
    # Initial guess from a coarse time -> index map (follows drift, drops and gaps) and one
    # Newton step at the nominal rate for every guess, then more for those not settled.
    coarse = np.arange(0, n, 256)
    g = np.clip(np.round(np.interp(edge, t[coarse], coarse)).astype(np.int64), 1, n - 1)
    g = np.clip(g + np.round((edge - t[g]) * rate + 0.5).astype(np.int64), 1, n - 1)
    per_s = 1.0 / e

    def settled(g, ks):
        # epoch_index(t[g], e) >= ks and epoch_index(t[g - 1], e) < ks without the floors: for
        # a whole number k, floor(y) >= k exactly when y >= k
        return (t[g] * per_s >= ks) & (t[g - 1] * per_s < ks)

    bad = np.flatnonzero(~settled(g, ks))
    for _ in range(4):
        if bad.size == 0:
            return g
        gb = np.clip(g[bad] + np.round((edge[bad] - t[g[bad]]) * rate + 0.5).astype(np.int64), 1, n - 1)
        g[bad] = gb
        bad = bad[~settled(gb, ks[bad])]
    # A step can stall or swing next to the answer (a jittered sample half an interval from the
    # edge rounds back where it was): the samples either side settle most of those.
    for d in (-1, 1, -2, 2):
        if bad.size == 0:
            return g
        gb = np.clip(g[bad] + d, 1, n - 1)
        hit = settled(gb, ks[bad])
        g[bad[hit]] = gb[hit]
        bad = bad[~hit]
    # Packet losses right at a boundary can make the steps oscillate: settle those by bisection,
    # then nudge onto epoch_index's own verdict.
    if bad.size:
        gb = np.clip(np.searchsorted(t, edge[bad], side="left"), 1, n - 1)
        for _ in range(3):
            gb = np.where(epoch_index(t[gb - 1], e) >= ks[bad], np.maximum(gb - 1, 1), gb)
            gb = np.where(epoch_index(t[gb], e) < ks[bad], np.minimum(gb + 1, n - 1), gb)
        g[bad] = gb
    return g


@dataclass(frozen=True)
class WindowSettings:
    epoch_s: float
    rate_hz: float
    cadence_window_s: float
    transition_window_s: float

    def epochs_in(self, window_s: float) -> int:
        """Windows are whole epochs long."""
        return max(1, int(round(window_s / self.epoch_s)))

    @property
    def history_epochs(self) -> int:
        """Epochs before a new epoch that its windows may reach back into."""
        return max(self.epochs_in(self.cadence_window_s), self.epochs_in(self.transition_window_s))


@dataclass
class Layout:
    """Where each epoch's samples are in a buffer: enough to cut windows without searching again."""

    t: np.ndarray
    acc: np.ndarray
    settings: WindowSettings
    k_first: int
    dense: np.ndarray  # dense[j]: first sample of epoch k_first + j (empty epochs: the next one)

    def window(self, k: np.ndarray, window_s: float, target_hz: float, min_cov: float):
        s = self.settings
        span = s.epochs_in(window_s)
        lo = self.dense[np.maximum(k - span + 1 - self.k_first, 0)]
        hi = self.dense[k + 1 - self.k_first]
        return window_matrix(self.t, self.acc, lo, hi, (k - span + 1) * s.epoch_s, span * s.epoch_s,
                             s.rate_hz, target_hz, min_cov)


def measure_epochs(t: np.ndarray, acc: np.ndarray, settings: WindowSettings, first_new: int = 0
                   ) -> tuple[Layout, EpochStats]:
    """Counts, moments and cadence of the epochs made of samples t[first_new:] (whole epochs only).

    Samples before first_new are history that the cadence windows may reach back into. The
    transition measures are left NaN: they need the sensor calibration (add_transitions).
    """
    k_first = int(epoch_index(t[:1], settings.epoch_s)[0])
    k_last = int(epoch_index(t[-1:], settings.epoch_s)[0])
    dense = np.empty(k_last - k_first + 2, np.int64)
    dense[0] = 0
    dense[-1] = t.shape[0]
    dense[1:-1] = epoch_boundaries(t, np.arange(k_first + 1, k_last + 1), settings)
    layout = Layout(t, acc, settings, k_first, dense)
    if t.shape[0] == first_new:
        return layout, empty_stats()
    nonempty = dense[1:] > dense[:-1]
    k = np.flatnonzero(nonempty) + k_first
    starts_all = dense[:-1][nonempty]
    keep = starts_all >= first_new
    # (the epochs just before the first new one that a splice's sides may reach into are
    # measured too, exactly as they were when they were new: core/splices.py)
    new = np.flatnonzero(keep)
    if new.size:
        keep |= k >= k[new[0]] - epochs_back(settings.epoch_s)
    k, starts = k[keep], starts_all[keep]
    n = np.diff(np.append(starts, t.shape[0])).astype(np.int32)
    sums, sq = _sums_and_squares(acc, starts)
    mean, var = np.empty(sums.shape, order="F"), np.empty(sums.shape, order="F")  # columns contiguous
    nf = n.astype(np.float64)  # (the counts cast once, not in every division)
    for c in range(3):  # column by column: broadcasting across rows of three is slow
        m = np.divide(sums[:, c], nf, out=mean[:, c])
        v = np.divide(sq[:, c], nf, out=var[:, c])
        v -= m * m
        np.maximum(v, 0.0, out=v)
    # A working accelerometer never reads exactly (0, 0, 0): gravity alone is 1 g. An epoch whose
    # every sample does is a stuck sensor: it counts as an epoch without samples (no_data).
    stuck = np.flatnonzero((sq[:, 0] == 0) & (sq[:, 1] == 0) & (sq[:, 2] == 0))
    if stuck.size:
        n[stuck] = 0
        mean[stuck] = var[stuck] = np.nan
    sd = np.sqrt(var[:, 0] + var[:, 1] + var[:, 2])
    old = int(np.searchsorted(starts, first_new))  # the history epochs: only their moments were wanted
    rows = (k, starts, n, mean, var, sd)  # (history and new: what the splices look at)
    k, starts, n, mean, var, sd = k[old:], starts[old:], n[old:], mean[old:], var[old:], sd[old:]

    cad = np.zeros(k.shape[0], np.float32)
    per = np.zeros(k.shape[0], np.float32)
    lead = np.full((k.shape[0], 3), np.nan, np.float32)
    busy = np.flatnonzero(sd >= CADENCE_MIN_SD_G)
    if busy.size:
        win, ok, ghz = layout.window(k[busy], settings.cadence_window_s, TARGET_GRID_HZ, 0.6)
        at = busy[ok]
        cad[at], per[at] = cadence.step_cadence(win, ghz)
        steps = np.flatnonzero((per[at] >= gait.MIN_PERIODICITY) & (k[at] % gait.GAIT_EVERY == 0))
        if steps.size:
            lead[at[steps]] = gait.lead_vectors(win[:, steps], ghz, cad[at[steps]])
    spliced = splice_epochs(t, acc, *rows, per, old, settings.rate_hz, settings.epoch_s)
    nan = np.full(k.shape[0], np.nan, np.float32)
    return layout, EpochStats(k, n, mean, var, cad, per, nan, *(nan.copy() for _ in range(8)), lead, spliced)


def add_transitions(layout: Layout, stats: EpochStats, offset, gain,
                    prev_k: np.ndarray | None = None, prev_sd: np.ndarray | None = None) -> None:
    """Fill in the transition measures of stats, on samples corrected by offset/gain.

    Calibration matters here: with an uncorrected offset of a few hundredths of a g, |a| changes
    as the trunk tilts during a transition, and that change integrates into a false velocity.
    prev_k/prev_sd are the indices and raw SDs of recent earlier epochs (streaming history).
    """
    if len(stats) == 0:
        return
    s = layout.settings
    cand = _transition_candidates(stats.k, stats.sd, s.epochs_in(s.transition_window_s), prev_k, prev_sd)
    if cand.size == 0:
        return
    win, ok, ghz = layout.window(stats.k[cand], s.transition_window_s, transition.TARGET_GRID_HZ, 0.8)
    for c in range(3):
        win[c] -= np.float32(offset[c])
        win[c] *= np.float32(gain[c])
    idx = cand[ok]
    (stats.v_up[idx], stats.v_down[idx], stats.quiet_g[idx], stats.tilt_deg[idx],
     stats.land_down[idx], stats.land_up[idx], stats.quiet_end_g[idx], stats.rise_up[idx],
     stats.rise_down[idx]) = transition.vertical_velocity(win, ghz)


def _sums_and_squares(acc: np.ndarray, starts: np.ndarray, piece: int = 1 << 15) -> tuple[np.ndarray, np.ndarray]:
    """Per-epoch sums of acc and of acc**2, in float32, piece by piece so the squares stay in cache.

    float32 accumulation gives a relative variance error of ~1e-7 typically (0.3% at the 99th
    percentile), far below what any threshold cares about, at a fifth of the cost of float64.
    Each epoch is summed on its own, so the pieces do not change any result.
    """
    sums = np.empty((starts.shape[0], 3), np.float32)
    sq = np.empty((starts.shape[0], 3), np.float32)
    ends = np.append(starts[1:], acc.shape[0])
    buf = np.empty((piece, 3), np.float32)
    i = 0
    while i < starts.shape[0]:
        a = int(starts[i])
        # as many whole epochs as fit in the buffer (at least one)
        j = max(i + 1, int(np.searchsorted(ends, a + piece, side="right")))
        b = int(ends[j - 1])
        local = starts[i:j] - a
        np.add.reduceat(acc[a:b], local, axis=0, out=sums[i:j])
        tmp = buf[: b - a] if b - a <= piece else np.empty((b - a, 3), np.float32)
        np.square(acc[a:b], out=tmp)
        np.add.reduceat(tmp, local, axis=0, out=sq[i:j])
        i = j
    return sums, sq


def _transition_candidates(k, sd, span, prev_k, prev_sd) -> np.ndarray:
    """Epochs whose transition window saw movement and that end calm, or start calm."""
    all_k = k if prev_k is None else np.concatenate([prev_k, k])
    all_sd = sd if prev_sd is None else np.concatenate([prev_sd, sd])
    base = int(all_k[0])
    dense = np.zeros(int(all_k[-1]) - base + 1 + span)
    dense[span + all_k - base] = all_sd
    # max over epochs k-span+1 .. k (dense is padded with span zeros in front); the sliding
    # maxima start with the window ending at row span - 1
    active = sliding_reduce(dense, np.maximum, (span,))[0][k - base + 1]
    # An epoch whose last half second is quiet can still move 0.1 g or more in its first half (a
    # sit-down's landing, a stand-up's last straightening): a window that starts calm is examined
    # whatever its last epoch's SD; vertical_velocity tests the quiet end itself.
    starts_calm = (dense[k - base + 1] < TRANSITION_END_MAX_SD_G) & (k - span + 1 >= base)
    return np.flatnonzero((active >= TRANSITION_ACTIVE_SD_G) & ((sd < TRANSITION_END_MAX_SD_G) | starts_calm))
