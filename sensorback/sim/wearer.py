"""Turn a Timeline into trunk orientation and dynamic acceleration, sample by sample.

Everything is vectorised over a piece of the recording (an hour or so; the pieces join exactly,
see BodyMotionStream): the posture keyframes are interpolated with min-jerk pieces, stochastic
sway/micro-movement/typing layers are band-limited noise scaled by smoothed activity levels, and
stepping, rising and impacts are added bout by bout. Keeping each layer continuous across activity
boundaries avoids steps that no real trunk could produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.signal import sosfilt

from .chunked import BandNoise, RunningMean, TauAxis, band_filter, carry_cumsum, count_le
from .geometry import min_jerk, min_jerk_acc
from .timeline import Timeline

G = 9.81  # m/s^2 per g


@dataclass
class BodyMotion:
    """Trunk angles (deg; flexion, lateral, axial) and dynamic acceleration of the sensor
    location in the world frame (g, gravity not included), on the sample times tau."""

    theta: np.ndarray
    phi: np.ndarray
    psi: np.ndarray
    acc: np.ndarray


def band_noise(rng: np.random.Generator, n: int, fs: float, lo: float, hi: float) -> np.ndarray:
    """Unit-RMS noise limited to [lo, hi] Hz (2nd-order Butterworth), filter start-up discarded
    (short stretches; chunked.BandNoise gives the same noise for a whole recording in pieces)."""
    sos, warm = band_filter(fs, lo, hi)
    x = sosfilt(sos, rng.standard_normal(n + warm))[warm:]
    sd = float(np.std(x))
    return x / sd if sd > 0 else x


def slow_knots(rng: np.random.Generator, u0: float, u1: float, knot_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Smooth-ish random wander over times u0..u1: unit-SD knots every knot_s from u0, joined
    linearly (np.interp(u, *slow_knots(...)))."""
    knots = np.arange(np.float64(u0), np.float64(u1) + knot_s, knot_s)
    return knots, rng.standard_normal(knots.size)


def keyframe_angles(kt: np.ndarray, kv: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """(n, 3) posture from the keyframes (times kt in s, angles kv), min-jerk between consecutive
    keys, at instants tau (in order)."""
    if len(kt) == 1:
        return np.repeat(kv, tau.size, axis=0)
    i = np.clip(count_le(kt, tau) - 1, 0, len(kt) - 2)  # np.searchsorted(kt, tau, side="right") - 1
    s = min_jerk((tau - kt[i]) / (kt[i + 1] - kt[i]))
    return kv[i] + (kv[i + 1] - kv[i]) * s[:, None]


#: The sway and micro-movement layers of the trunk angles: band (Hz), scale, angle (column).
_ANGLE_NOISE = [(0.1, 0.5, 1.0, 0), (0.1, 0.5, 0.8, 1), (0.3, 2.0, 1.0, 0), (0.3, 2.0, 1.0, 1), (0.3, 2.0, 3.0, 2)]


@dataclass
class _BoutDraws:
    """A stepping bout's span of samples and what it draws from the generator."""

    bout: object
    i0: int
    i1: int
    cadence_knots: np.ndarray
    cadence_wander: np.ndarray
    phase0: float
    env_knots: np.ndarray
    env_wander: np.ndarray
    p: np.ndarray
    h2: float
    h3: float
    cum: float | None = None


class BodyMotionStream:
    """Trunk angles and world-frame dynamic acceleration for every sample of a recording, made
    piece by piece (piece(i0, i1), each piece following the last) and bit for bit the same
    whatever the pieces.

    Everything the motion draws from rng is drawn here, at the start and in a fixed order (rng is
    then left for the sensor's handling); the band-limited layers are drawn again piece by piece
    from saved generator states (sensorback.sim.chunked). ``tick(k)``: k more samples of that
    preparation done.
    """

    def __init__(self, tl: Timeline, axis: TauAxis, fs: float, rng: np.random.Generator,
                 tick: Callable[[int], None] | None = None):
        self.tl, self.axis, self.fs, self.dt = tl, axis, fs, 1.0 / fs
        n = axis.n
        k = np.asarray(tl.keys, dtype=np.float64)
        self.kt, self.kv = k[:, 0] / 1000.0, k[:, 1:]
        lv = sorted(tl.levels, key=lambda l: l.t0)
        self._lv_starts = np.array([l.t0 for l in lv])
        self._lv_vals = np.array([[l.sway_deg, l.micro_deg, l.work_g, l.breath] for l in lv])
        self.levels = RunningMean(self._raw_levels, n, max(1, int(fs)))
        self.angle_noise = [BandNoise(rng, n, fs, lo, hi, tick) for lo, hi, _, _ in _ANGLE_NOISE]
        self.acc_noise = [BandNoise(rng, n, fs, 1.0, 6.0, tick) for _ in range(3)]
        self.breath_knots, self.breath_wander = slow_knots(rng, axis.at(0), axis.at(n - 1), 20.0)
        self.breath_phase0 = rng.uniform(0, 2 * np.pi)
        self.breath_cum: float | None = None
        self.bouts: list[_BoutDraws] = []
        for b in tl.bouts:
            i0, i1 = axis.left(b.t0), axis.left(b.t1)
            if i1 - i0 < 2:
                continue
            u0, u1 = axis.at(i0) - b.t0, axis.at(i1 - 1) - b.t0
            ck, cw = slow_knots(rng, u0, u1, 4.0)
            phase0 = rng.uniform(0, 2 * np.pi)
            ek, ew = slow_knots(rng, u0, u1, 3.0)
            p = rng.uniform(0, 2 * np.pi, size=8)
            h2, h3 = rng.uniform(0.25, 0.5), rng.uniform(0.08, 0.2)
            self.bouts.append(_BoutDraws(b, i0, i1, ck, cw, phase0, ek, ew, p, h2, h3))
        self.shifts = [(s, axis.left(s.t0), axis.left(s.t1)) for s in tl.shifts]
        self.impacts = [(im, axis.left(im.t), axis.left(im.t + 6 * im.decay_s)) for im in tl.impacts]
        self.next = 0

    def _raw_levels(self, idx: np.ndarray) -> np.ndarray:
        """The activity levels (sway, micro, work, breath) in force at sample indices idx; smoothed
        over about a second (self.levels) so that intensities fade in and out."""
        tau = idx.astype(np.float64) / self.axis.rate
        i = np.clip(count_le(self._lv_starts, tau) - 1, 0, len(self._lv_starts) - 1)
        return self._lv_vals[i]

    def _angles(self, i0: int, i1: int) -> np.ndarray:
        return keyframe_angles(self.kt, self.kv, self.axis.span(i0, i1))

    def piece(self, i0: int, i1: int, tau: np.ndarray) -> BodyMotion:
        """Samples [i0, i1) (tau: their instants); pieces must come in order."""
        if i0 != self.next or i1 <= i0:
            raise ValueError("body motion pieces must follow each other")
        self.next = i1
        p, n, dt, fs, m = self.tl.person, self.axis.n, self.dt, self.fs, i1 - i0
        # The posture, with two samples either side for the second difference below.
        h0, h1 = (max(0, i0 - 2), min(n, i1 + 2)) if n >= 3 else (i0, i1)
        wide = self._angles(h0, h1)
        base = wide[i0 - h0:i1 - h0]

        # Rotating the trunk about the hips moves the sensor on a lever arm: tangential and
        # centripetal acceleration, computed from the smooth posture (not from the noise layers).
        if n >= 3:
            th, ph = np.deg2rad(wide[:, 0]), np.deg2rad(wide[:, 1])
            pos = p.lever_m * np.column_stack([np.cos(ph) * np.sin(th), -np.sin(ph), np.cos(ph) * np.cos(th)])
            del th, ph
            acc = np.gradient(np.gradient(pos, dt, axis=0), dt, axis=0)[i0 - h0:i1 - h0] / G
            del pos
        else:
            acc = np.zeros((m, 3))

        lev = self.levels.take(i0, i1)
        ang = base
        for ch, (lo, hi, scale, col) in enumerate(_ANGLE_NOISE):
            level = lev[:, 0] if ch < 2 else lev[:, 1]
            ang[:, col] += scale * level * self.angle_noise[ch].take(m)
        for col in range(3):
            acc[:, col] += lev[:, 2] * self.acc_noise[col].take(m)

        # Breathing: the chest rises and falls, tilting the sensor by about a degree.
        f_b = p.breath_hz * (1.0 + 0.08 * np.interp(tau, self.breath_knots, self.breath_wander))
        cum = carry_cumsum(f_b, self.breath_cum)
        self.breath_cum = cum[-1]
        phase = 2 * np.pi * cum * dt + self.breath_phase0
        wave = np.sin(phase) + 0.25 * np.sin(2 * phase + 1.0)
        ang[:, 0] -= p.breath_deg * lev[:, 3] * wave
        acc[:, 0] -= lev[:, 3] * (2 * np.pi * f_b) ** 2 * 0.004 * np.sin(phase) / G
        del wave, phase, f_b, cum, lev

        self._stepping(i0, i1, tau, fs, ang, acc)
        for s, a, b in self.shifts:
            a, b = max(a, i0), min(b, i1)
            if a >= b:
                continue
            sl = slice(a - i0, b - i0)
            T = s.t1 - s.t0
            a = min_jerk_acc((tau[sl] - s.t0) / T) / (T * T) / G
            acc[sl, 0] += s.dx_m * a
            acc[sl, 2] += s.dz_m * a
        for im, a, b in self.impacts:
            a, b = max(a, i0), min(b, i1)
            if a >= b:
                continue
            sl = slice(a - i0, b - i0)
            u = tau[sl] - im.t
            acc[sl, 2] += im.amp_g * np.exp(-u / im.decay_s) * np.sin(2 * np.pi * im.freq_hz * u)
        return BodyMotion(ang[:, 0], ang[:, 1], ang[:, 2], acc)

    def _stepping(self, i0: int, i1: int, tau: np.ndarray, fs: float, ang: np.ndarray, acc: np.ndarray) -> None:
        """Gait: vertical bounce at the step frequency with harmonics, anteroposterior surge at the
        step frequency (lagging the bounce by about a quarter step, as on real trunks), mediolateral
        sway at half of it (one stride), trunk rocking; amplitudes ramp up over the first steps and
        down over the last."""
        for d in self.bouts:
            a, c = max(d.i0, i0), min(d.i1, i1)
            if a >= c:
                continue
            b = d.bout
            sl = slice(a - i0, c - i0)
            u = tau[sl] - b.t0
            T = b.t1 - b.t0
            f = b.cadence_spm / 60.0 * (1.0 + 0.03 * np.interp(u, d.cadence_knots, d.cadence_wander))
            cum = carry_cumsum(f, None if a == d.i0 else d.cum)
            d.cum = cum[-1]
            ph = 2 * np.pi * cum / fs + d.phase0
            ramp = min(1.5, T / 3.0)
            env = min_jerk(u / ramp) * min_jerk((T - u) / ramp) * (1.0 + 0.08 * np.interp(u, d.env_knots, d.env_wander))
            p, h2, h3 = d.p, d.h2, d.h3
            vert = np.sin(ph) + h2 * np.sin(2 * ph + p[0]) + h3 * np.sin(3 * ph + p[1]) + 0.08 * np.sin(ph / 2 + p[2])
            # The forward acceleration lags the vertical one by 55-95 degrees of the step: measured on
            # real trunks (HAPT waist 57 +- 14, Casale chest 80 +- 9; docs/core.md, "Forward direction").
            ap = np.sin(ph - np.radians(55.0 + 40.0 * p[3] / (2 * np.pi))) + 0.5 * np.sin(2 * ph + p[4])
            ml = np.sin(ph / 2 + p[5]) + 0.25 * np.sin(1.5 * ph + p[6])
            acc[sl, 0] += b.ap_g * env * ap
            acc[sl, 1] += b.ml_g * env * ml
            acc[sl, 2] += b.vertical_g * env * vert
            rock = {"shuffle": 0.4, "pedal": 0.3}.get(b.kind, 1.0)
            ang[sl, 0] += rock * env * 1.0 * np.sin(ph + p[7])
            ang[sl, 1] += rock * env * 2.0 * np.sin(ph / 2 + p[5] + np.pi / 2)
            ang[sl, 2] += rock * env * 4.0 * np.sin(ph / 2 + p[5])
