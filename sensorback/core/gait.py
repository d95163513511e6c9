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

# Windows as periodic as walking (decide.WALK_PERIODICITY) are measured; the estimate keeps only
# the epochs the decisions call walking.
MIN_PERIODICITY = 0.5


def lead_vectors(win: np.ndarray, grid_hz: float, cadence_spm: np.ndarray) -> np.ndarray:
    """(w, 3) float32: Im(A conj V) / |V|^2 at each window's step frequency.

    win: (3, w, m) samples on a regular grid (as cadence.step_cadence takes them); cadence_spm:
    the step cadence measured on each window. The window's mean direction is "down".
    """
    _, w, m = win.shape
    out = np.full((w, 3), np.nan, np.float32)
    if w == 0:
        return out
    x = win.astype(np.float64)
    x -= x.mean(axis=2, keepdims=True)
    down = win.sum(axis=2, dtype=np.float64)
    down /= np.maximum(np.sqrt(down[0] ** 2 + down[1] ** 2 + down[2] ** 2), 1e-12)
    t = np.arange(m) / grid_hz
    e = np.exp(-2j * np.pi * (cadence_spm.astype(np.float64)[:, None] / 60.0) * t)  # (w, m)
    amp = np.stack([np.einsum("wm,wm->w", x[c], e) for c in range(3)])  # (3, w)
    vert = down[0] * amp[0] + down[1] * amp[1] + down[2] * amp[2]
    power = (vert * vert.conj()).real
    ok = power > 1e-12
    lead = (amp * vert.conj()).imag / np.where(ok, power, 1.0)
    out[ok] = lead.T[ok]
    return out
