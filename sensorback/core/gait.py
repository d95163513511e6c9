"""Which way the wearer walks: the phase of the horizontal acceleration against the vertical one.

At the step frequency the trunk's horizontal acceleration is a quarter step out of phase with
its vertical acceleration, and always the same way round: on all 30 HAPT recordings (phone at
the waist, forward known from the sit/stand transitions) the component that leads the vertical
acceleration by a quarter step points the way the gravity vector moves when the trunk flexes
forward (docs/core.md, "Forward direction"). The 15 Casale chest recordings, all the same device
worn the same way, agree with each other. Sideways sway runs at half the step frequency (one
stride), so it hardly enters.

Per walking window this module gives one vector in the sensor's axes: Im(A conj V) / |V|^2,
with A the per-axis complex amplitude at the step frequency and V that of the vertical
acceleration. Its horizontal part is one vote for "forward"; core/forward.py counts the votes.
"""

from __future__ import annotations

import numpy as np

# Windows as periodic as walking (decide.WALK_PERIODICITY) are measured, every GAIT_EVERY-th epoch
# (by epoch index, so any chunking measures the same ones: consecutive 2 s windows share a second,
# and a vote every other second is as much as they tell); the estimate keeps only the epochs the
# decisions call walking.
MIN_PERIODICITY = 0.5
GAIT_EVERY = 2


def lead_vectors(win: np.ndarray, grid_hz: float, cadence_spm: np.ndarray) -> np.ndarray:
    """(w, 3) float32: Im(A conj V) / |V|^2 at each window's step frequency.

    win: (3, w, m) samples on a regular grid (as cadence.step_cadence takes them); cadence_spm:
    the step cadence measured on each window. The window's mean direction is "down".
    """
    _, w, m = win.shape
    out = np.full((w, 3), np.nan, np.float32)
    if w == 0:
        return out
    down = win.sum(axis=2, dtype=np.float64)
    down /= np.maximum(np.sqrt(down[0] ** 2 + down[1] ** 2 + down[2] ** 2), 1e-12)
    phase = (np.float32(2 * np.pi / 60.0) * cadence_spm.astype(np.float32))[:, None] * (np.arange(m, dtype=np.float32)
                                                                                     / np.float32(grid_hz))
    cos, sin = np.cos(phase), np.sin(phase)
    # A = sum (x - mean)(cos - i sin) = sum x cos - mean sum cos - i (sum x sin - mean sum sin)
    csum, ssum = cos.sum(axis=1), sin.sum(axis=1)
    re = np.empty((3, w))
    im = np.empty((3, w))
    for c in range(3):
        mean = win[c].mean(axis=1)
        re[c] = np.einsum("wm,wm->w", win[c], cos) - mean * csum
        im[c] = mean * ssum - np.einsum("wm,wm->w", win[c], sin)
    v_re = down[0] * re[0] + down[1] * re[1] + down[2] * re[2]
    v_im = down[0] * im[0] + down[1] * im[1] + down[2] * im[2]
    power = v_re * v_re + v_im * v_im
    ok = power > 1e-12
    # Im(A conj V) = A_im V_re - A_re V_im
    lead = (im * v_re - re * v_im) / np.where(ok, power, 1.0)
    out[ok] = lead.T[ok]
    return out
