"""Vertical trunk velocity across a posture transition, from the acceleration magnitude.

Sitting down lowers the chest or hip by roughly 0.2-0.5 m and standing up raises it, whatever
the trunk angles before and after. The magnitude |a| does not depend on how the clip is mounted
or how the trunk rotates, so integrating (|a| - baseline) over a window that starts and ends at
rest gives the vertical velocity. Baselines are taken from the quiet first and last half
second (this absorbs offset and gain errors); velocity is forced to zero at both ends.
"""

from __future__ import annotations

import numpy as np

TARGET_GRID_HZ = 25.0
QUIET_S = 0.5
# A turn of this many degrees within a quiet end counts like 1 g of |a| spread (i.e. fails).
TURN_DEG_PER_G = 150.0
G = 9.81


def vertical_velocity(win: np.ndarray, grid_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Peak upward and downward trunk velocity (m/s, both >= 0), end quietness (g) and the
    largest tilt away from the starting posture (degrees).

    Windows have shape (w, m, 3). Standing up shows a clear upward peak (0.4-0.7 m/s) and only a
    small downward one; sitting down the reverse. quietness is the larger SD of |a| over the first
    and last QUIET_S: a window whose ends are not quiet does not hold a whole transition, and its
    velocities mean nothing.
    """
    w, m, _ = win.shape
    if w == 0:
        z = np.zeros(0, np.float32)
        return z, z.copy(), z.copy(), z.copy()
    win = win.astype(np.float64)
    mag = np.sqrt(np.einsum("wmc,wmc->wm", win, win))
    q = max(2, int(round(QUIET_S * grid_hz)))
    pre, post = mag[:, :q], mag[:, -q:]
    # Quiet ends: steady |a| and a trunk that is not turning (|a| can be steady half-way through
    # a slow lean, so a window starting or ending mid-transition must not count as whole).
    turn = np.maximum(_turn_deg(win[:, :q]), _turn_deg(win[:, -q:]))
    quiet = np.maximum(np.maximum(pre.std(axis=1), post.std(axis=1)), turn * (1.0 / TURN_DEG_PER_G))
    ramp = np.clip((np.arange(m) - q + 0.5) / (m - 2 * q), 0.0, 1.0)
    base = pre.mean(axis=1)[:, None] + (post.mean(axis=1) - pre.mean(axis=1))[:, None] * ramp
    dt = 1.0 / grid_hz
    vel = np.cumsum(mag - base, axis=1) * (G * dt)
    vel -= vel[:, -1:] * (np.arange(1, m + 1) / m)
    return (vel.max(axis=1).astype(np.float32), (-vel.min(axis=1)).astype(np.float32),
            quiet.astype(np.float32), _largest_tilt(win, q))


def _turn_deg(seg: np.ndarray) -> np.ndarray:
    """Angle between the mean direction of the first and of the second half of each segment."""
    h = seg.shape[1] // 2
    a, b = seg[:, :h].sum(axis=1), seg[:, h:].sum(axis=1)
    cos = np.einsum("wc,wc->w", a, b) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _largest_tilt(win: np.ndarray, q: int) -> np.ndarray:
    """Largest angle between the acceleration direction (averaged over blocks of about a quarter
    second) and the direction during the quiet start. Getting up or sitting down tilts the trunk
    (and pelvis) forward by 20-45 degrees; shuffling the feet or shifting weight does not."""
    w, m, _ = win.shape
    k = max(1, q // 2)
    blocks = win[:, : m // k * k].reshape(w, m // k, k, 3).sum(axis=2)
    start = win[:, :q].sum(axis=1)
    start /= np.linalg.norm(start, axis=1, keepdims=True)
    norm = np.sqrt(np.einsum("wbc,wbc->wb", blocks, blocks))
    cos = np.einsum("wbc,wc->wb", blocks, start) / np.maximum(norm, 1e-9)
    return np.degrees(np.arccos(np.clip(cos.min(axis=1), -1.0, 1.0))).astype(np.float32)
