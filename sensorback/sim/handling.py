"""The sensor off the trunk: unclipping it, leaving it on the desk, clipping it back on.

While on the desk the sensor only sees gravity in whatever face-down orientation it landed in.
During handling its orientation travels (slerp plus a hand wobble) between the worn orientation
and the desk orientation, while the hand carries it over ~0.5 m with some fumbling.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from .geometry import UP, min_jerk, min_jerk_acc
from .timeline import Timeline
from .wearer import G, band_noise

# worn_orientation(i) -> sensor->world rotation of the sensor at sample i while it is worn
WornOrientation = Callable[[int], Rotation]


def render_offbody(tl: Timeline, tau: np.ndarray, fs: float, rng: np.random.Generator,
                   f_sensor: np.ndarray, worn_orientation: WornOrientation) -> None:
    """Overwrite f_sensor (specific force in sensor axes, g) wherever the sensor is off the body."""
    n = tau.size
    for ob in tl.offbody:
        i0, i1 = (int(i) for i in np.searchsorted(tau, [ob.t0, ob.t1], side="left"))
        if i1 <= i0:
            continue
        if ob.kind == "desk":
            f_sensor[i0:i1] = ob.desk.apply(UP, inverse=True)
            continue
        T = ob.t1 - ob.t0
        u = (tau[i0:i1] - ob.t0) / T
        if ob.kind == "take_off":
            start, end = worn_orientation(max(i0 - 1, 0)), ob.desk
            reach = np.asarray(ob.reach_m)
        else:
            start, end = ob.desk, worn_orientation(min(i1, n - 1))
            reach = -np.asarray(ob.reach_m)
        # Fumble with the clip for the first and last 20%, travel in between.
        s = (u - 0.2) / 0.6
        path = Slerp([0.0, 1.0], Rotation.concatenate([start, end]))(min_jerk(s))
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        wobble_deg = rng.uniform(10.0, 40.0) * np.sin(np.pi * u) * np.sin(2 * np.pi * rng.uniform(0.5, 1.5) * u * T)
        orient = Rotation.from_rotvec(np.deg2rad(wobble_deg)[:, None] * axis) * path
        travel = 0.6 * T
        acc = np.outer(min_jerk_acc(s) / (travel * travel) / G, reach)
        fumble = rng.uniform(0.05, 0.15) * np.sin(np.pi * u)
        m = i1 - i0
        for col in range(3):
            acc[:, col] += fumble * (band_noise(rng, m, fs, 2.0, 8.0) if m > 8 else 0.0)
        f_sensor[i0:i1] = orient.apply(UP + acc, inverse=True)
