"""The wearer's upright posture and forward direction, in the sensor's own axes.

The clip can be mounted any way round, so "upright" and "forward" must be learned: from a
window the wearer marks (sat upright here / leaned forward here) or from the data. Walking is
the one activity where the trunk is reliably upright, so walking bouts give the automatic
upright reference. Forward is the direction in which the trunk tilts furthest (people flex
forward far more than they lean back or sideways).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_WALKING_EPOCHS = 10
MIN_FORWARD_LEAN_DEG = 8.0


@dataclass(frozen=True)
class Reference:
    """up/forward: unit vectors in the calibrated sensor frame (forward is perpendicular to up)."""

    up: tuple[float, float, float]
    forward: tuple[float, float, float]
    up_source: str
    forward_source: str

    def to_dict(self) -> dict:
        return {"up": list(self.up), "forward": list(self.forward),
                "up_source": self.up_source, "forward_source": self.forward_source}


def unit(v: np.ndarray) -> np.ndarray:
    if v.ndim == 1:
        return v / max(float(np.sqrt(v @ v)), 1e-12)
    norm = np.maximum(np.sqrt(v[:, 0] * v[:, 0] + v[:, 1] * v[:, 1] + v[:, 2] * v[:, 2]), 1e-12)
    out = np.empty(v.shape, order="F")  # columns contiguous
    for a in range(3):  # column by column: see SensorCalibration.apply_mean_var
        np.divide(v[:, a], norm, out=out[:, a])
    return out


def window_direction(g: np.ndarray, t_mid: np.ndarray, window: tuple[float, float]) -> np.ndarray | None:
    sel = (t_mid >= window[0]) & (t_mid < window[1]) & np.isfinite(g[:, 0])
    if not sel.any():
        return None
    return unit(np.median(g[sel], axis=0))


def estimate_up(g: np.ndarray, walking: np.ndarray, still_upright_candidates: np.ndarray) -> tuple[np.ndarray, str]:
    """Upright from walking bouts; without walking, the most common still posture (less reliable)."""
    if walking.sum() >= MIN_WALKING_EPOCHS:
        return unit(np.median(g[walking], axis=0)), f"walking ({int(walking.sum())} s)"
    pool = g[still_upright_candidates]
    if pool.shape[0] == 0:
        pool = g[np.isfinite(g[:, 0])]
    if pool.shape[0] == 0:
        return np.array([0.0, 0.0, 1.0]), "default (no usable data)"
    return unit(np.median(pool, axis=0)), "typical posture (no walking found; pass --reference-window for accuracy)"


MIN_TRANSITIONS = 3
MIN_TRANSITION_TILT_DEG = 10.0
# A window whose trunk reaches this far from upright holds a lie-down or a sit-up, whose largest
# tilt points to the side the wearer lies on, not forward: it is left out.
MAX_TRANSITION_TILT_DEG = 60.0


def forward_from_transitions(g: np.ndarray, up: np.ndarray, k: np.ndarray, events: np.ndarray,
                             span: int) -> tuple[np.ndarray, int] | None:
    """Forward from sit-to-stand and stand-to-sit transitions.

    Everyone leans forward to move their weight over their feet when getting up or sitting
    down, whatever their usual posture, so the largest tilt inside each transition window
    points forward. Needs a few transitions with a clear lean; returns (direction, count).
    """
    ev = np.flatnonzero(events)
    if ev.size < MIN_TRANSITIONS:
        return None
    # (events, span) matrix of the epochs in each window; epochs without data are skipped.
    want = k[ev, None] - np.arange(span)[::-1]
    pos = np.clip(np.searchsorted(k, want), 0, k.shape[0] - 1)
    present = k[pos] == want
    gw = g[pos]
    d = gw - (gw @ up)[..., None] * up
    size = np.where(present, np.nan_to_num(np.linalg.norm(d, axis=2), nan=-1.0), -1.0)
    best = np.argmax(size, axis=1)
    rows = np.arange(ev.size)
    reclined = (present & (np.nan_to_num(gw @ up, nan=1.0) < np.cos(np.radians(MAX_TRANSITION_TILT_DEG)))).any(axis=1)
    big = (size[rows, best] >= np.sin(np.radians(MIN_TRANSITION_TILT_DEG))) & ~reclined
    leans = d[rows, best][big] / size[rows, best][big, None]
    if len(leans) < MIN_TRANSITIONS:
        return None
    mean = np.mean(leans, axis=0)
    mean -= (mean @ up) * up
    if np.linalg.norm(mean) < 0.3:  # leans point every which way: no consistent forward
        return None
    return unit(mean), len(leans)


def estimate_forward(g: np.ndarray, up: np.ndarray, pool: np.ndarray) -> tuple[np.ndarray, str]:
    """Principal axis of postural tilt, signed toward the side with the larger tilts
    (the fallback when there are too few transitions)."""
    # Every 4th epoch is plenty for a direction and keeps this cheap on long recordings.
    gp = g[pool][::4]
    d = gp - np.outer(gp @ up, up)
    if d.shape[0] >= 5:
        cov = d.T @ d / d.shape[0]
        vals, vecs = np.linalg.eigh(cov)
        axis = vecs[:, -1]
        axis = unit(axis - (axis @ up) * up)
        proj = d @ axis
        if np.percentile(proj, 95) < -np.percentile(proj, 5):
            axis = -axis
        lean = np.degrees(np.arcsin(min(1.0, float(np.percentile(np.abs(proj), 95)))))
        if lean >= 3.0:
            return axis, "inferred from the direction of the largest tilts"
    # No usable tilt at all: any perpendicular direction, flagged as such.
    helper = np.eye(3)[int(np.argmin(np.abs(up)))]
    return unit(helper - (helper @ up) * up), "unknown (no tilts observed; pass --forward-window)"


def forward_from_window(g_lean: np.ndarray, up: np.ndarray) -> np.ndarray | None:
    d = g_lean - (g_lean @ up) * up
    if np.degrees(np.arcsin(min(1.0, float(np.linalg.norm(d))))) < MIN_FORWARD_LEAN_DEG:
        return None
    return unit(d)


def angles(g: np.ndarray, ref: Reference) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inclination from upright, forward flexion (+ forward) and lateral lean, degrees."""
    up = np.asarray(ref.up)
    fwd = np.asarray(ref.forward)
    side = np.cross(up, fwd)
    # The projections in float64, the angles in float32 (what they are stored as; the
    # trigonometry runs several times faster). Inclination as an arctangent of the sideways and
    # upward parts: as exact near upright as anywhere else, unlike arccos.
    cu, cf, cs = ((g @ v).astype(np.float32) for v in (up, fwd, side))
    deg = np.float32(180.0 / np.pi)
    incl = np.arctan2(np.sqrt(cf * cf + cs * cs), cu)
    flex = np.arctan2(cf, cu)
    lat = np.arctan2(cs, cu)
    for a in (incl, flex, lat):
        a *= deg
    return incl, flex, lat
