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

from . import cadence, transition
from .windows import resample_windows

# An epoch needs this much movement (SD of |a| vector, g) to be checked for stepping.
CADENCE_MIN_SD_G = 0.03
# A transition window is examined when some epoch in it moved this much, and its last epoch
# is calm enough to be the quiet end of a transition.
TRANSITION_ACTIVE_SD_G = 0.04
TRANSITION_END_MAX_SD_G = 0.1


@dataclass
class EpochStats:
    """Raw statistics of the epochs that contain samples.

    k: epoch index (epoch k covers [k*epoch_s, (k+1)*epoch_s) on the recording's time axis);
    n: samples; mean/var: per-axis mean and variance (g, g^2) of the raw samples;
    cadence_spm / periodicity: stepping in the window ending here (0 where not measured);
    v_up / v_down / quiet_g: peak vertical trunk velocities (m/s) across the transition window
    ending here and how quiet its ends were (NaN where not measured).
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

    def __len__(self) -> int:
        return int(self.k.shape[0])

    @property
    def sd(self) -> np.ndarray:
        """Raw movement intensity: SD of the acceleration vector (g)."""
        return np.sqrt(self.var.sum(axis=1))

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
                      z, z.copy(), z.copy(), z.copy(), z.copy())


def epoch_index(t: np.ndarray, epoch_s: float) -> np.ndarray:
    return np.floor(t / epoch_s).astype(np.int64)


@dataclass(frozen=True)
class WindowSettings:
    epoch_s: float
    rate_hz: float
    cadence_window_s: float
    transition_window_s: float

    @property
    def history_s(self) -> float:
        """Seconds of samples before a new epoch that its windows may reach back to."""
        return max(self.cadence_window_s, self.transition_window_s)

    @property
    def history_epochs(self) -> int:
        return int(np.ceil(self.transition_window_s / self.epoch_s))


def compute_epoch_stats(
    t: np.ndarray,
    acc: np.ndarray,
    settings: WindowSettings,
    first_new: int = 0,
    prev_k: np.ndarray | None = None,
    prev_sd: np.ndarray | None = None,
) -> EpochStats:
    """Statistics of the epochs made of samples t[first_new:] (whole epochs only).

    Samples before first_new are history: earlier samples the windows may reach back into.
    prev_k/prev_sd are the indices and raw SDs of recent earlier epochs, for the same reason.
    """
    tn, an = t[first_new:], acc[first_new:]
    if tn.shape[0] == 0:
        return empty_stats()
    idx = epoch_index(tn, settings.epoch_s)
    starts = np.concatenate(([0], np.flatnonzero(idx[1:] != idx[:-1]) + 1))
    k = idx[starts]
    n = np.diff(np.append(starts, tn.shape[0])).astype(np.int32)
    sums = np.add.reduceat(an, starts, axis=0, dtype=np.float64)
    mean = sums / n[:, None]
    sq = np.add.reduceat(np.square(an), starts, axis=0, dtype=np.float64)
    var = np.maximum(sq / n[:, None] - mean * mean, 0.0)
    sd = np.sqrt(var.sum(axis=1))
    ends = (k + 1) * settings.epoch_s

    cad = np.zeros(k.shape[0], np.float32)
    per = np.zeros(k.shape[0], np.float32)
    busy = np.flatnonzero(sd >= CADENCE_MIN_SD_G)
    if busy.size:
        win, ok = resample_windows(t, acc, ends[busy], settings.cadence_window_s, cadence.GRID_HZ, settings.rate_hz)
        c, p = cadence.step_cadence(win)
        cad[busy[ok]] = c
        per[busy[ok]] = p

    vup = np.full(k.shape[0], np.nan, np.float32)
    vdown = vup.copy()
    quiet = vup.copy()
    cand = _transition_candidates(k, sd, settings.history_epochs, prev_k, prev_sd)
    if cand.size:
        win, ok = resample_windows(t, acc, ends[cand], settings.transition_window_s, transition.GRID_HZ,
                                   settings.rate_hz, min_coverage=0.8)
        up, down, q = transition.vertical_velocity(win)
        vup[cand[ok]], vdown[cand[ok]], quiet[cand[ok]] = up, down, q
    return EpochStats(k, n, mean, var, cad, per, vup, vdown, quiet)


def _transition_candidates(k, sd, span, prev_k, prev_sd) -> np.ndarray:
    """Epochs whose transition window saw movement and that end calm."""
    all_k = k if prev_k is None else np.concatenate([prev_k, k])
    all_sd = sd if prev_sd is None else np.concatenate([prev_sd, sd])
    base = int(all_k[0])
    dense = np.zeros(int(all_k[-1]) - base + 1 + span)
    dense[span + all_k - base] = all_sd
    # max over epochs k-span+1 .. k (dense is padded with span zeros in front)
    windows = np.lib.stride_tricks.sliding_window_view(dense, span)
    active = windows.max(axis=1)[k - base + 1]
    return np.flatnonzero((active >= TRANSITION_ACTIVE_SD_G) & (sd < TRANSITION_END_MAX_SD_G))
