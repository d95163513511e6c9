"""benchmarks/forward_cues.py's breathing measures on synthetic breathing whose shape and direction are known.

The benchmark scripts are not a package; as tests/test_label_audit.py does, benchmarks/ goes on
sys.path. The real-data findings the script prints are in docs/core.md ("Forward direction").
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import forward_cues  # noqa: E402

FS = 50.0


def breathing_tilt(n_s: float, period_s: float, inhale_share: float, rng) -> np.ndarray:
    """One breath after another: the tilt (radians, 0 at end-expiration, 1 at end-inspiration,
    scaled later) rising linearly for inhale_share of each breath and falling back for the rest,
    each breath's length varying by +-10 %."""
    out = []
    while len(out) < n_s * FS:
        n = int(period_s * FS * rng.uniform(0.9, 1.1))
        k = max(1, int(round(inhale_share * n)))
        out.extend(np.concatenate([np.linspace(0.0, 1.0, k, endpoint=False), np.linspace(1.0, 0.0, n - k, endpoint=False)]))
    return np.asarray(out[: int(n_s * FS)])


def recording(lean_dir: np.ndarray, inhale_share: float, noise_g: float = 0.002, seed: int = 1):
    """Samples of a still sensor whose upright is +y and whose tilt oscillates by 0.4 degrees
    along lean_dir (a horizontal unit vector: the way gravity moves on inspiration)."""
    rng = np.random.default_rng(seed)
    tilt = np.radians(0.4) * breathing_tilt(120.0, 4.0, inhale_share, rng)
    up = np.array([0.0, 1.0, 0.0])
    g = np.cos(tilt)[:, None] * up + np.sin(tilt)[:, None] * lean_dir
    t = np.arange(g.shape[0]) / FS
    return t, g + rng.normal(0.0, noise_g, g.shape), up


def mean_breath(t, a, fwd, side):
    wide, narrow = forward_cues.breath_band(forward_cues.unit(a), FS, fwd, side)
    ref = np.linalg.eigh(np.cov(narrow))[1][:, 1]
    return forward_cues.breaths(wide, narrow, FS, ref), ref


def test_fast_inspiration_points_the_breathing_cue_along_the_lean_it_makes():
    fwd = np.array([0.0, 0.0, -1.0])   # a chest sensor: the trunk flexing forward moves gravity to -z
    side = np.cross(np.array([0.0, 1.0, 0.0]), fwd)
    back = -fwd
    # inspiration (a third of the breath) tilts the sensor backward, expiration returns it
    t, a, _ = recording(back, inhale_share=1 / 3)
    b, ref = mean_breath(t, a, fwd, side)
    assert 25 <= len(b) <= 32  # 120 s of 4 s breaths, less the filter edges
    fast, skew, ratio = forward_cues.fast_phase(b, ref)
    assert fast @ np.array([-1.0, 0.0]) > np.cos(np.radians(15))  # the fast phase moves backward
    assert ratio > 10  # one clear axis
    assert forward_cues.skew_along(b, np.array([1.0, 0.0])) < -0.3


def test_the_cue_turns_with_the_breathing_and_says_nothing_of_symmetric_breaths():
    fwd = np.array([0.0, 0.0, -1.0])
    side = np.cross(np.array([0.0, 1.0, 0.0]), fwd)
    # the same asymmetric breathing tilting the sensor sideways gives a sideways "forward":
    # the breathing axis decides the direction, which is what makes the cue unreliable on real
    # chests (docs/core.md)
    t, a, _ = recording(side, inhale_share=1 / 3, seed=2)
    b, ref = mean_breath(t, a, fwd, side)
    fast, _, _ = forward_cues.fast_phase(b, ref)
    assert abs(fast @ np.array([0.0, 1.0])) > np.cos(np.radians(15))
    # inspiration as long as expiration: no asymmetry to read
    t, a, _ = recording(-fwd, inhale_share=0.5, seed=3)
    b, ref = mean_breath(t, a, fwd, side)
    assert abs(forward_cues.skew_along(b, np.array([1.0, 0.0]))) < 0.2


def test_still_stretches_keep_quiet_runs_and_leave_movement_out():
    rng = np.random.default_rng(4)
    t = np.arange(int(100 * FS)) / FS
    a = np.tile([0.0, 1.0, 0.0], (t.size, 1)) + rng.normal(0.0, 0.003, (t.size, 3))
    moving = (t >= 40) & (t < 50)
    a[moving] += rng.normal(0.0, 0.2, (int(moving.sum()), 3))
    got = forward_cues.still_stretches(t, a, [(0.0, 100.0)], FS, 2.0)
    spans = [(t[i0], t[i1 - 1]) for i0, i1 in got]
    assert len(spans) == 2
    assert spans[0][0] == 0.0 and 39.0 <= spans[0][1] < 40.0
    assert 50.0 <= spans[1][0] < 51.0 and spans[1][1] > 98.0
    # too short a quiet run is not a stretch
    assert forward_cues.still_stretches(t[: int(10 * FS)], a[: int(10 * FS)], [(0.0, 10.0)], FS, 2.0) == []
