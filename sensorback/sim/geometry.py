"""Frames, rotations and smooth motion profiles shared by the wearer and sensor models.

Body (trunk) frame: x anterior, y left, z up along the spine. World frame: X forward (walking
heading), Y left, Z up. Trunk orientation is intrinsic Z-Y-X: axial rotation psi, then flexion
theta (positive = bending forward), then lateral lean phi (positive = leaning to the right).
An accelerometer at rest reads the reaction to gravity, +1 g along world Z, in its own frame.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

UP = np.array([0.0, 0.0, 1.0])


def min_jerk(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk 0->1 profile: how people move a limb or the trunk between two postures
    (zero velocity and acceleration at both ends, so joined pieces stay smooth)."""
    s = np.clip(s, 0.0, 1.0)
    return np.clip(s * s * s * (10.0 - 15.0 * s + 6.0 * s * s), 0.0, 1.0)


def min_jerk_acc(s: np.ndarray) -> np.ndarray:
    """Second derivative of min_jerk with respect to s (multiply by distance / duration**2)."""
    inside = (s > 0.0) & (s < 1.0)
    return np.where(inside, 60.0 * s - 180.0 * s * s + 120.0 * s * s * s, 0.0)


def min_jerk_inverse(y: float) -> float:
    """s in [0, 1] with min_jerk(s) == y (monotonic, so bisection is exact enough)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if min_jerk(np.float64(mid)) < y:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def trunk_rotation(theta_deg, phi_deg, psi_deg) -> Rotation:
    """Body -> world rotation(s) for flexion theta, lateral lean phi, axial rotation psi."""
    ang = np.column_stack([np.atleast_1d(psi_deg), np.atleast_1d(theta_deg), np.atleast_1d(phi_deg)])
    return Rotation.from_euler("ZYX", ang, degrees=True)


def world_to_trunk(theta_deg, phi_deg, psi_deg, v: np.ndarray) -> np.ndarray:
    """Express world vectors v (n, 3) in trunk axes: trunk_rotation(...).inv().apply(v), written
    out with numpy because building a million scipy rotations dominates the run time."""
    out = np.empty_like(v, dtype=np.float64)
    a = np.deg2rad(psi_deg)
    c, s = np.cos(a), np.sin(a)
    x = c * v[:, 0] + s * v[:, 1]
    out[:, 1] = c * v[:, 1] - s * v[:, 0]
    a = np.deg2rad(theta_deg)
    c, s = np.cos(a), np.sin(a)
    out[:, 0] = c * x - s * v[:, 2]
    z = s * x + c * v[:, 2]
    a = np.deg2rad(phi_deg)
    c, s = np.cos(a), np.sin(a)
    y = out[:, 1]
    out[:, 2] = c * z - s * y
    out[:, 1] = c * y + s * z
    return out


def random_rotation(rng: np.random.Generator) -> Rotation:
    """Uniformly random orientation (normalised Gaussian quaternion), e.g. how a clip is mounted."""
    q = rng.normal(size=4)
    return Rotation.from_quat(q / np.linalg.norm(q))


def small_rotation(rng: np.random.Generator, lo_deg: float, hi_deg: float) -> Rotation:
    """A rotation by lo..hi degrees about a random axis (re-clipping, an uneven desk)."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    return Rotation.from_rotvec(axis * np.deg2rad(rng.uniform(lo_deg, hi_deg)))

