"""The sensor off the trunk: unclipping it, leaving it on the desk, clipping it back on.

While on the desk the sensor only sees gravity in whatever face-down orientation it landed in.
During handling its orientation travels (slerp plus a hand wobble) between the worn orientation
and the desk orientation, while the hand carries it over ~0.5 m with some fumbling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from .chunked import TauAxis
from .geometry import UP, min_jerk, min_jerk_acc
from .timeline import OffBody, Timeline
from .wearer import G, band_noise

# worn_orientation(i) -> sensor->world rotation of the sensor at sample i while it is worn
WornOrientation = Callable[[int], Rotation]


@dataclass
class Handling:
    """One stretch of the sensor off the trunk, as samples [i0, i1), and what it draws.

    For taking off and putting on, ``worn_at`` is the sample whose worn orientation the hand
    starts from (the one before) or ends at (the one after); the rest is drawn from the generator."""

    ob: OffBody
    i0: int
    i1: int
    worn_at: int = -1
    axis: np.ndarray | None = None
    wobble_deg: float = 0.0
    wobble_hz: float = 0.0
    fumble_g: float = 0.0
    fumble: list = field(default_factory=list)

    def samples_needed(self) -> tuple[int, int]:
        """The samples that must be made together to render it: its own and worn_at."""
        if self.ob.kind == "desk":
            return self.i0, self.i1
        return min(self.i0, self.worn_at), max(self.i1, self.worn_at + 1)


def plan_offbody(tl: Timeline, axis: TauAxis, fs: float, rng: np.random.Generator) -> list[Handling]:
    """Every stretch off the body that holds samples, drawing from rng what rendering it needs,
    in the order rendering the whole recording at once would draw it."""
    n = axis.n
    out = []
    for ob in tl.offbody:
        i0, i1 = axis.left(ob.t0), axis.left(ob.t1)
        if i1 <= i0:
            continue
        if ob.kind == "desk":
            out.append(Handling(ob, i0, i1))
            continue
        h = Handling(ob, i0, i1, max(i0 - 1, 0) if ob.kind == "take_off" else min(i1, n - 1))
        m = i1 - i0
        h.axis = rng.normal(size=3)
        h.axis /= np.linalg.norm(h.axis)
        h.wobble_deg = rng.uniform(10.0, 40.0)
        h.wobble_hz = rng.uniform(0.5, 1.5)
        h.fumble_g = rng.uniform(0.05, 0.15)
        h.fumble = [band_noise(rng, m, fs, 2.0, 8.0) if m > 8 else 0.0 for _ in range(3)]
        out.append(h)
    return out


def render_offbody(handlings: list[Handling], i0: int, tau: np.ndarray, f_sensor: np.ndarray,
                   worn_orientation: WornOrientation) -> None:
    """Overwrite f_sensor (specific force in sensor axes, g, of samples i0.. with instants tau)
    wherever the sensor is off the body. Every handling that overlaps the piece must lie in it
    with its worn_at sample (see Handling.samples_needed); a desk stretch may be cut."""
    i1 = i0 + tau.size
    for h in handlings:
        ob = h.ob
        if h.i1 <= i0 or h.i0 >= i1:
            continue
        if ob.kind == "desk":
            f_sensor[max(h.i0, i0) - i0:min(h.i1, i1) - i0] = ob.desk.apply(UP, inverse=True)
            continue
        a, b = h.samples_needed()
        if a < i0 or b > i1:
            raise ValueError("a handling of the sensor was cut between pieces")
        T = ob.t1 - ob.t0
        u = (tau[h.i0 - i0:h.i1 - i0] - ob.t0) / T
        if ob.kind == "take_off":
            start, end = worn_orientation(h.worn_at), ob.desk
            reach = np.asarray(ob.reach_m)
        else:
            start, end = ob.desk, worn_orientation(h.worn_at)
            reach = -np.asarray(ob.reach_m)
        # Fumble with the clip for the first and last 20%, travel in between.
        s = (u - 0.2) / 0.6
        path = Slerp([0.0, 1.0], Rotation.concatenate([start, end]))(min_jerk(s))
        wobble_deg = h.wobble_deg * np.sin(np.pi * u) * np.sin(2 * np.pi * h.wobble_hz * u * T)
        orient = Rotation.from_rotvec(np.deg2rad(wobble_deg)[:, None] * h.axis) * path
        travel = 0.6 * T
        acc = np.outer(min_jerk_acc(s) / (travel * travel) / G, reach)
        fumble = h.fumble_g * np.sin(np.pi * u)
        for col in range(3):
            acc[:, col] += fumble * h.fumble[col]
        f_sensor[h.i0 - i0:h.i1 - i0] = orient.apply(UP + acc, inverse=True)
