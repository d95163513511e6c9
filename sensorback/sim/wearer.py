"""Turn a Timeline into trunk orientation and dynamic acceleration, sample by sample.

Everything is vectorised over the whole recording: the posture keyframes are interpolated with
min-jerk pieces, stochastic sway/micro-movement/typing layers are band-limited noise scaled by
smoothed activity levels, and stepping, rising and impacts are added bout by bout. Keeping each
layer continuous across activity boundaries avoids steps that no real trunk could produce.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, sosfilt

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
    """Unit-RMS noise limited to [lo, hi] Hz (2nd-order Butterworth), filter start-up discarded."""
    hi = min(hi, 0.45 * fs)
    sos = butter(2, [lo, hi], btype="band", fs=fs, output="sos")
    warm = int(3.0 * fs / lo)
    x = sosfilt(sos, rng.standard_normal(n + warm))[warm:]
    sd = float(np.std(x))
    return x / sd if sd > 0 else x


def slow_noise(rng: np.random.Generator, u: np.ndarray, knot_s: float) -> np.ndarray:
    """Smooth-ish random wander (unit SD knots every knot_s, linearly joined)."""
    if u.size == 0:
        return np.zeros(0)
    knots = np.arange(u[0], u[-1] + knot_s, knot_s)
    return np.interp(u, knots, rng.standard_normal(knots.size))


def keyframe_angles(tl: Timeline, tau: np.ndarray) -> np.ndarray:
    """(n, 3) posture from the keyframes, min-jerk between consecutive keys."""
    k = np.asarray(tl.keys, dtype=np.float64)
    kt, kv = k[:, 0] / 1000.0, k[:, 1:]
    if len(kt) == 1:
        return np.repeat(kv, tau.size, axis=0)
    i = np.clip(np.searchsorted(kt, tau, side="right") - 1, 0, len(kt) - 2)
    s = min_jerk((tau - kt[i]) / (kt[i + 1] - kt[i]))
    return kv[i] + (kv[i + 1] - kv[i]) * s[:, None]


def _levels(tl: Timeline, tau: np.ndarray, fs: float) -> np.ndarray:
    """(n, 4) sway, micro, work, breath levels, smoothed over ~1 s so intensities fade in/out."""
    lv = sorted(tl.levels, key=lambda l: l.t0)
    starts = np.array([l.t0 for l in lv])
    vals = np.array([[l.sway_deg, l.micro_deg, l.work_g, l.breath] for l in lv])
    i = np.clip(np.searchsorted(starts, tau, side="right") - 1, 0, len(lv) - 1)
    out = vals[i]
    size = max(1, int(fs))
    return uniform_filter1d(out, size=size, axis=0, mode="nearest")


def _span(tau: np.ndarray, t0: float, t1: float) -> slice:
    i0, i1 = np.searchsorted(tau, [t0, t1], side="left")
    return slice(int(i0), int(i1))


def _stepping(tl: Timeline, tau: np.ndarray, fs: float, rng, ang: np.ndarray, acc: np.ndarray) -> None:
    """Gait: vertical bounce at the step frequency with harmonics, anteroposterior surge at the
    step frequency (lagging the bounce by about a quarter step, as on real trunks), mediolateral
    sway at half of it (one stride), trunk rocking; amplitudes ramp up over the first steps and
    down over the last."""
    for b in tl.bouts:
        sl = _span(tau, b.t0, b.t1)
        u = tau[sl] - b.t0
        if u.size < 2:
            continue
        T = b.t1 - b.t0
        f = b.cadence_spm / 60.0 * (1.0 + 0.03 * slow_noise(rng, u, 4.0))
        ph = 2 * np.pi * np.cumsum(f) / fs + rng.uniform(0, 2 * np.pi)
        ramp = min(1.5, T / 3.0)
        env = min_jerk(u / ramp) * min_jerk((T - u) / ramp) * (1.0 + 0.08 * slow_noise(rng, u, 3.0))
        p = rng.uniform(0, 2 * np.pi, size=8)
        h2, h3 = rng.uniform(0.25, 0.5), rng.uniform(0.08, 0.2)
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


def body_motion(tl: Timeline, tau: np.ndarray, fs: float, rng: np.random.Generator) -> BodyMotion:
    """Trunk angles and world-frame dynamic acceleration for every sample time in tau."""
    p = tl.person
    n = tau.size
    dt = 1.0 / fs
    base = keyframe_angles(tl, tau)

    # Rotating the trunk about the hips moves the sensor on a lever arm: tangential and
    # centripetal acceleration, computed from the smooth posture (not from the noise layers).
    th, ph = np.deg2rad(base[:, 0]), np.deg2rad(base[:, 1])
    pos = p.lever_m * np.column_stack([np.cos(ph) * np.sin(th), -np.sin(ph), np.cos(ph) * np.cos(th)])
    del th, ph
    if n >= 3:
        acc = np.gradient(np.gradient(pos, dt, axis=0), dt, axis=0) / G
    else:
        acc = np.zeros((n, 3))
    del pos

    lev = _levels(tl, tau, fs)
    ang = base
    for ch, (lo, hi, scale, col) in enumerate(
        [(0.1, 0.5, 1.0, 0), (0.1, 0.5, 0.8, 1), (0.3, 2.0, 1.0, 0), (0.3, 2.0, 1.0, 1), (0.3, 2.0, 3.0, 2)]
    ):
        level = lev[:, 0] if ch < 2 else lev[:, 1]
        ang[:, col] += scale * level * band_noise(rng, n, fs, lo, hi)
    for col in range(3):
        acc[:, col] += lev[:, 2] * band_noise(rng, n, fs, 1.0, 6.0)

    # Breathing: the chest rises and falls, tilting the sensor by about a degree.
    f_b = p.breath_hz * (1.0 + 0.08 * slow_noise(rng, tau, 20.0))
    phase = 2 * np.pi * np.cumsum(f_b) * dt + rng.uniform(0, 2 * np.pi)
    wave = np.sin(phase) + 0.25 * np.sin(2 * phase + 1.0)
    ang[:, 0] -= p.breath_deg * lev[:, 3] * wave
    acc[:, 0] -= lev[:, 3] * (2 * np.pi * f_b) ** 2 * 0.004 * np.sin(phase) / G
    del wave, phase, f_b, lev

    _stepping(tl, tau, fs, rng, ang, acc)
    for s in tl.shifts:
        sl = _span(tau, s.t0, s.t1)
        T = s.t1 - s.t0
        a = min_jerk_acc((tau[sl] - s.t0) / T) / (T * T) / G
        acc[sl, 0] += s.dx_m * a
        acc[sl, 2] += s.dz_m * a
    for im in tl.impacts:
        sl = _span(tau, im.t, im.t + 6 * im.decay_s)
        u = tau[sl] - im.t
        acc[sl, 2] += im.amp_g * np.exp(-u / im.decay_s) * np.sin(2 * np.pi * im.freq_hz * u)
    return BodyMotion(ang[:, 0], ang[:, 1], ang[:, 2], acc)
