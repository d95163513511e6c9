"""Physically obvious cases: the core must get them right whatever its thresholds are.

Simulated recordings come with ground truth (labels and the true mounting, sensor errors and
postures); a few cases are built here from first principles instead (a sensor resting on a
table, a seated wearer leaning forward, back and sideways). Margins are generous on purpose:
these tests catch a broken core, not a slightly retuned one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensorback.core import CoreOptions, analyze
from sensorback.core.states import CODE
from sensorback.samples import SampleBlock
from sensorback.sim import simulate
from sensorback.sim.geometry import UP, min_jerk, world_to_trunk

S = CODE  # state name -> code


@functools.lru_cache(maxsize=None)
def sim(scenario: str, seed: int, duration_s: float, rate_hz: float = 50.0, **kw):
    return simulate(scenario, seed=seed, rate_hz=rate_hz, duration_s=duration_s, **kw)


def rows_mask(epochs, labels, keep, margin_s: float = 2.0) -> np.ndarray:
    """Epochs lying inside (margin_s away from the edges of) label rows for which keep(label, code)."""
    sel = np.zeros(len(epochs), bool)
    for a, b, label, code in labels.rows():
        if keep(label, code):
            sel |= (epochs.t_start >= a + margin_s) & (epochs.t_end <= b - margin_s)
    return sel


def share(epochs, sel: np.ndarray, *states: str) -> float:
    assert sel.sum() >= 5, "too few labelled epochs to judge"
    return float(np.isin(epochs.state[sel], [S[s] for s in states]).mean())


# ------------------------------------------------------------------ first-principles recordings


def sensor_readings(f_sensor: np.ndarray, rng: np.random.Generator, noise_g=0.006, lsb_g=2.0 / 4096,
                    offset_g=(0.0, 0.0, 0.0), matrix=None, range_g: float = 2.0) -> np.ndarray:
    """What a cheap accelerometer reports for specific force f_sensor (g, sensor axes)."""
    a = f_sensor @ (np.eye(3) if matrix is None else np.asarray(matrix)).T + np.asarray(offset_g)
    a = a + rng.standard_normal(a.shape) * np.asarray(noise_g)
    if lsb_g:
        a = np.round(a / lsb_g) * lsb_g
        a = np.clip(a, -range_g, range_g - lsb_g)
    return a.astype(np.float32)


def still_on_table(duration_s: float, rate_hz: float = 50.0, seed: int = 0, imu: dict | None = None) -> SampleBlock:
    """A sensor resting still in a random orientation: constant gravity plus sensor noise."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * rate_hz)
    g = Rotation.random(random_state=seed).apply(UP)
    kw = {} if imu is None else dict(noise_g=imu["noise_g"], lsb_g=imu["lsb_g"], offset_g=imu["offset_g"],
                                     matrix=imu["matrix"], range_g=imu["range_g"])
    acc = sensor_readings(np.tile(g, (n, 1)), rng, **kw)
    return SampleBlock(np.arange(n) / rate_hz, acc, device="table", rate_hz=rate_hz)


def seated(segments: list[tuple[float, float, float]], rate_hz: float = 50.0, seed: int = 0,
           mount: Rotation | None = None) -> tuple[SampleBlock, list[tuple[float, float]]]:
    """A seated wearer holding trunk postures (duration s, flexion deg, lateral deg) in turn.

    Between postures the trunk moves smoothly over 3 s; throughout, breathing rocks it by about
    a degree (a wearer, unlike a table, is never perfectly still). Returns the samples and each
    segment's (start, end) time.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(sum(d for d, _, _ in segments) * rate_hz)) / rate_hz
    flex = np.zeros_like(t)
    lat = np.zeros_like(t)
    spans, t0, prev = [], 0.0, (segments[0][1], segments[0][2])
    for dur, f, lt in segments:
        sel = (t >= t0) & (t < t0 + dur)
        s = min_jerk((t[sel] - t0) / 3.0)
        flex[sel] = prev[0] + (f - prev[0]) * s
        lat[sel] = prev[1] + (lt - prev[1]) * s
        spans.append((t0, t0 + dur))
        t0, prev = t0 + dur, (f, lt)
    phase = rng.uniform(0, 2 * np.pi)
    breath = np.sin(2 * np.pi * 0.25 * t + phase)
    flex += 0.9 * breath + np.cumsum(rng.normal(0, 0.01, t.size))
    lat += 0.3 * breath
    f_trunk = world_to_trunk(flex, lat, np.zeros_like(t), np.tile(UP, (t.size, 1)))
    f_trunk += rng.normal(0, 0.004, f_trunk.shape)  # small body accelerations
    m = Rotation.random(random_state=seed) if mount is None else mount
    acc = sensor_readings(m.apply(f_trunk), rng)
    return SampleBlock(t, acc, device="synthetic", rate_hz=rate_hz), spans


def inner(epochs, span: tuple[float, float], margin_s: float = 5.0) -> np.ndarray:
    return (epochs.t_start >= span[0] + margin_s) & (epochs.t_end <= span[1] - margin_s)


# ------------------------------------------------------------------ labelled simulated recordings

LABELLED = [("demo", 1, 900.0), ("demo", 2, 900.0), ("demo", 3, 900.0), ("desk-day", 4, 7200.0),
            ("standing-desk-day", 5, 7200.0)]


@pytest.mark.parametrize("scenario,seed,duration", LABELLED)
def test_walking_is_moving(scenario, seed, duration):
    block, labels = sim(scenario, seed, duration)
    ep = analyze(block).epochs
    sel = rows_mask(ep, labels, lambda lab, code: lab == "moving" and code.startswith(("walk", "stairs")))
    assert share(ep, sel, "moving") >= 0.85


@pytest.mark.parametrize("scenario,seed,duration", LABELLED)
def test_ble_gaps_are_no_data(scenario, seed, duration):
    block, labels = sim(scenario, seed, duration)
    ep = analyze(block).epochs
    sel = rows_mask(ep, labels, lambda lab, code: lab == "no_data", margin_s=1.0)
    if not sel.any():
        pytest.skip("no BLE gap in this stretch")
    assert share(ep, sel, "no_data") == 1.0


@pytest.mark.parametrize("scenario,seed,duration", LABELLED)
def test_upright_sitting_is_never_slouching_and_long_slouches_mostly_are(scenario, seed, duration):
    block, labels = sim(scenario, seed, duration)
    ep = analyze(block).epochs
    upright = rows_mask(ep, labels, lambda lab, code: code == "sit_upright")
    assert share(ep, upright, "slouching") <= 0.05
    slouch = rows_mask(ep, labels, lambda lab, code: lab == "slouching", margin_s=5.0)
    assert share(ep, slouch, "slouching") >= 0.6


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lying_on_the_couch_is_lying(seed):
    block, labels = sim("demo", seed, 900.0)
    ep = analyze(block).epochs
    sel = rows_mask(ep, labels, lambda lab, code: lab == "lying")
    assert share(ep, sel, "lying") >= 0.8


def couch_sits(ep, labels):
    """Epochs of the demo's two short sits on the couch: straight down from walking, and after
    sitting up from lying."""
    rows = [(a, b) for a, b, _, code in labels.rows() if code == "sit_couch"]
    assert len(rows) == 2
    return [(ep.t_start >= a + 1.0) & (ep.t_end <= b) for a, b in rows]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_sitting_straight_down_from_walking_is_sitting_within_three_seconds(seed):
    """No window starts at rest, so only the landing (integrated back from the quiet end) shows it."""
    block, labels = sim("demo", seed, 900.0)
    ep = analyze(block).epochs
    from_walking, _ = couch_sits(ep, labels)
    assert share(ep, from_walking & (ep.t_start >= ep.t_start[from_walking][0] + 2.0), "sitting", "slouching") == 1.0


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_sitting_up_from_lying_is_sitting_not_standing(seed):
    """Rising out of lying reads as a rise in |a|; it is a sit-up, not a stand-up."""
    block, labels = sim("demo", seed, 900.0)
    ep = analyze(block).epochs
    _, after_lying = couch_sits(ep, labels)
    assert share(ep, after_lying, "sitting", "slouching") == 1.0


def test_the_landing_of_a_sit_down_needs_only_a_quiet_end():
    """Steps, then a 0.4 m descent over 1.5 s with a 35 deg lean, then rest: no quiet start, so no
    whole-window velocities, but the landing measure finds the descent (peak 1.875 * D / T)."""
    from sensorback.core import transition

    hz, m = transition.TARGET_GRID_HZ, int(6 * transition.TARGET_GRID_HZ)
    t = np.arange(m) / hz
    a_z = np.where(t < 3.0, 0.2 * np.sin(2 * np.pi * 2.0 * t), 0.0)  # stepping (g)
    s = (t - 3.0) / 1.5
    inside = (s > 0) & (s < 1)
    a_z = a_z - np.where(inside, 60 * s - 180 * s * s + 120 * s ** 3, 0.0) * 0.4 / 1.5 ** 2 / 9.81
    lean = np.radians(35.0) * np.sin(np.pi * np.clip(s, 0.0, 1.0)) + np.radians(5.0) * min_jerk(s)
    f = (1.0 + a_z)[:, None] * np.stack([np.sin(lean), np.zeros(m), np.cos(lean)], axis=1)
    win = f.T[:, None, :].astype(np.float32)  # (3 axes, 1 window, m samples)
    v_up, v_down, quiet, tilt, land_down, land_up, quiet_end, rise_up, _ = transition.vertical_velocity(win, hz)
    assert quiet[0] > transition.QUIET_G and np.isnan(v_down[0]) and np.isnan(v_up[0])
    assert quiet_end[0] <= transition.QUIET_G and tilt[0] >= 30.0 and np.isnan(rise_up[0])
    assert land_down[0] == pytest.approx(1.875 * 0.4 / 1.5, rel=0.15)
    assert land_up[0] < 0.2 * land_down[0]


def _walk_off(lean_deg: float, rise_m: float) -> np.ndarray:
    """One window (3 axes, 1, m): at rest, then a rise of rise_m over 1.5 s with the trunk leaning
    lean_deg forward and back, then stepping (no quiet end)."""
    from sensorback.core import transition

    hz, m = transition.TARGET_GRID_HZ, int(6 * transition.TARGET_GRID_HZ)
    t = np.arange(m) / hz
    s = (t - 0.8) / 1.5
    inside = (s > 0) & (s < 1)
    a_z = np.where(inside, 60 * s - 180 * s * s + 120 * s ** 3, 0.0) * rise_m / 1.5 ** 2 / 9.81
    a_z = a_z + np.where(t > 2.5, 0.2 * np.sin(2 * np.pi * 2.0 * (t - 2.5)), 0.0)  # stepping (g)
    lean = np.radians(lean_deg) * np.sin(np.pi * np.clip(s, 0.0, 1.0))
    f = (1.0 + a_z)[:, None] * np.stack([np.sin(lean), np.zeros(m), np.cos(lean)], axis=1)
    return f.T[:, None, :].astype(np.float32)


def test_the_walk_off_of_a_stand_up_into_walking_needs_only_a_quiet_start():
    """The landing's mirror: at rest, a 0.4 m rise over 1.5 s with a 35 deg lean, then steps: no
    quiet end, so no whole-window velocities, but the walk-off measure finds the rise (peak
    1.875 * D / T) and its lean, and heard.on_every_epoch calls it a walk-off."""
    from sensorback.core import transition
    from sensorback.core.epoch_stats import empty_stats
    from sensorback.core.heard import on_every_epoch

    hz = transition.TARGET_GRID_HZ
    v_up, v_down, quiet, tilt, land_down, _, quiet_end, rise_up, rise_down = transition.vertical_velocity(
        _walk_off(35.0, 0.4), hz)
    assert quiet[0] > transition.QUIET_G and quiet_end[0] > transition.QUIET_G
    assert np.isnan(v_up[0]) and np.isnan(land_down[0])
    assert rise_up[0] == pytest.approx(1.875 * 0.4 / 1.5, rel=0.15)
    assert rise_down[0] < 0.2 * rise_up[0] and tilt[0] >= 30.0
    nan = np.full(1, np.nan, np.float32)
    stats = replace(empty_stats(), k=np.zeros(1, np.int64), n=np.full(1, 50, np.int32), mean=np.array([[0.0, 0.0, 1.0]]),
                    var=np.full((1, 3), 1e-4), cadence_spm=np.zeros(1, np.float32), periodicity=np.zeros(1, np.float32),
                    v_up=v_up, v_down=v_down, quiet_g=quiet, tilt_deg=tilt, land_down=land_down, land_up=nan,
                    quiet_end_g=quiet_end, rise_up=rise_up, rise_down=rise_down,
                    gait_lead=np.full((1, 3), np.nan, np.float32), spliced=np.zeros(1, bool))
    assert on_every_epoch(stats, 0, 1, 60.0)[-1][0]


def test_starting_to_walk_from_standing_is_no_walk_off():
    """Standing still, then walking: the trunk barely leans, so whatever the steps integrate to,
    it is no rise from a seat."""
    from sensorback.core import transition
    from sensorback.core.heard import WALK_OFF_MIN_TILT_DEG

    _, _, _, tilt, _, _, _, rise_up, _ = transition.vertical_velocity(_walk_off(5.0, 0.0), transition.TARGET_GRID_HZ)
    assert not (rise_up[0] >= transition.LAND_SPEED and tilt[0] >= WALK_OFF_MIN_TILT_DEG)


def test_stooping_then_walking_off_is_no_walk_off():
    """Standing, stooping 60 deg to pick something up (the chest 0.3 m down and back up, rising a
    fifth faster than it went down) and walking off: the trunk leans far, but the velocity goes
    down about as much as it comes up, so it is no rise from a seat. (A straightening more than a
    third faster than the bend would pass: such a walk-off only settles epochs still open before
    it, which a standing trunk near its walking posture seldom leaves.)"""
    from sensorback.core import transition
    from sensorback.core.heard import TRANSITION_LOPSIDED, WALK_OFF_MIN_TILT_DEG

    hz, m = transition.TARGET_GRID_HZ, int(6 * transition.TARGET_GRID_HZ)
    t = np.arange(m) / hz

    def move(t0: float, dur: float, dist: float) -> np.ndarray:  # minimum-jerk vertical acceleration (g)
        s = (t - t0) / dur
        return np.where((s > 0) & (s < 1), 60 * s - 180 * s * s + 120 * s ** 3, 0.0) * dist / dur ** 2 / 9.81

    a_z = move(0.8, 1.2, -0.3) + move(2.0, 1.0, 0.3) + np.where(t > 3.0, 0.2 * np.sin(2 * np.pi * 2.0 * (t - 3.0)), 0.0)
    lean = np.radians(60.0) * np.sin(np.pi * np.clip((t - 0.8) / 2.1, 0.0, 1.0))
    f = (1.0 + a_z)[:, None] * np.stack([np.sin(lean), np.zeros(m), np.cos(lean)], axis=1)
    _, _, _, tilt, _, _, _, rise_up, rise_down = transition.vertical_velocity(f.T[:, None, :].astype(np.float32), hz)
    assert tilt[0] >= WALK_OFF_MIN_TILT_DEG or np.isnan(tilt[0])  # it leans (where measured) ...
    assert not (rise_up[0] >= transition.LAND_SPEED and rise_up[0] >= TRANSITION_LOPSIDED * rise_down[0])  # ... but no rise


def _swung_transition(t0: float, dist_m: float, lean_deg: float = 40.0, dur_s: float = 1.5,
                      landing_g: float = 0.0) -> np.ndarray:
    """One window (3 axes, 1, m) at rest, then from t0 a min-jerk vertical move of dist_m over
    dur_s with the trunk leaning lean_deg forward and back, then at rest. The chest swings round
    the hips (0.45 m below it) on the way: a centripetal acceleration toward them lowers |a| by
    up to 0.08 g, so |a| less 1 g does not integrate to zero across the movement. landing_g: a
    jolt (a 10 Hz ring of that amplitude, dying away in 0.08 s) four fifths of the way through,
    as a seat landed on hard gives."""
    from sensorback.core import transition

    hz, m = transition.TARGET_GRID_HZ, int(6 * transition.TARGET_GRID_HZ)
    s = (np.arange(m) / hz - t0) / dur_s
    inside = (s > 0) & (s < 1)
    a_z = np.where(inside, 60 * s - 180 * s * s + 120 * s ** 3, 0.0) * dist_m / dur_s ** 2 / 9.81
    lean = np.radians(lean_deg) * np.sin(np.pi * np.clip(s, 0.0, 1.0))
    omega = np.where(inside, np.radians(lean_deg) * np.pi / dur_s * np.cos(np.pi * s), 0.0)  # rad/s
    f = (1.0 + a_z)[:, None] * np.stack([np.sin(lean), np.zeros(m), np.cos(lean)], axis=1)
    f[:, 2] -= omega ** 2 * 0.45 / 9.81
    after = np.arange(m) / hz - (t0 + 0.8 * dur_s)
    f[:, 2] += np.where(after >= 0, landing_g * np.exp(-after / 0.08) * np.sin(2 * np.pi * 10.0 * after), 0.0)
    return f.T[:, None, :].astype(np.float32)


@pytest.mark.parametrize("dist_m", [-0.4, 0.4], ids=["sit-down", "stand-up"])
@pytest.mark.parametrize("lean_deg, dur_s, landing_g", [(40.0, 1.5, 0.0), (30.0, 2.0, 0.0), (40.0, 2.5, 0.0), (30.0, 2.0, 1.0)],
                         ids=["quick", "careful", "slow", "hard landing"])
def test_a_transition_reads_the_same_way_wherever_it_sits_in_the_window(dist_m, lean_deg, dur_s, landing_g):
    """|a| of a real transition does not integrate to zero (the chest swings round the hips), and
    the velocity is pulled back to zero over the whole window: a sit-down late in a window read
    upward, a stand-up early in one downward, so the first window over a sit-down could hear a
    stand-up (simulated exercise-bike seed 2: the following 19 min of sitting were called
    standing). A window whose reading flips once the velocity is also held at zero outside the
    movement now tells no direction: every window tells the movement's own direction or none,
    and at least one tells it surely, careful 2-2.5 s movements too (a fixed 0.06 g level for "moving"
    cut those in half where only one lobe passed it, and no window heard them), and one ending in
    a hard landing (a level set by the largest departure left out both lobes beside the jolt)."""
    from sensorback.core import transition
    from sensorback.core.heard import TRANSITION_LOPSIDED, TRANSITION_SPEED

    heard = sure = 0
    for t0 in np.arange(0.6, 5.5 - dur_s, 0.4):
        v_up, v_down, quiet, tilt, *_ = transition.vertical_velocity(
            _swung_transition(t0, dist_m, lean_deg, dur_s, landing_g), transition.TARGET_GRID_HZ)
        assert quiet[0] <= transition.QUIET_G and tilt[0] >= transition.MIN_TILT_DEG
        main, other = (v_down[0], v_up[0]) if dist_m < 0 else (v_up[0], v_down[0])
        assert np.isnan(main) or main > other, (t0, v_up[0], v_down[0])
        heard += bool(main > other)
        sure += bool(main >= TRANSITION_SPEED and main >= TRANSITION_LOPSIDED * other)
    assert heard >= 5 and sure >= 1, (heard, sure)


def test_a_sit_down_first_heard_upward_is_not_a_stand_up():
    """Simulated exercise-bike seed 2: the sit-down after the first walk (106-108 s) read upward
    in the first window that held it; heard as a stand-up, the 19 minutes of desk sitting after
    it were called standing (the wearer sits within 2 deg of how she stands)."""
    block, _ = sim("exercise-bike", 2, 3600.0)
    ep = analyze(block, CoreOptions()).epochs
    seated = (ep.t_start >= 150) & (ep.t_start < 1200)
    assert np.isin(ep.state[seated], [CODE["sitting"], CODE["slouching"]]).mean() > 0.95


def _standing_window(hz: float, m: int, ax_g: np.ndarray, az_g: np.ndarray) -> np.ndarray:
    """A window (3 axes, 1, m) of an upright trunk with extra forward (x) and vertical (z)
    acceleration in g."""
    f = np.stack([ax_g, np.zeros(m), 1.0 + az_g], axis=1)
    return f.T[:, None, :].astype(np.float32)


def test_a_quick_bob_tilts_the_acceleration_too_briefly_to_be_a_transition():
    """Standing, the trunk drops 6 cm in 0.25 s while swaying 6 cm forward, and comes back up
    (Casale subject11 at 1762 s does this while talking): for a quarter second the acceleration's
    direction is 15-25 deg off the upright and the drop is as fast as a sit-down's. A trunk that
    really leans for a sit-down or a stand-up stays leaned for half a second and more, so the tilt
    counts only what two neighbouring quarter-second blocks both hold."""
    from sensorback.core import transition

    hz, m = transition.TARGET_GRID_HZ, int(6 * transition.TARGET_GRID_HZ)
    t = np.arange(m) / hz

    def move(t0, T, d):  # min-jerk acceleration (g) of a displacement d (m) over T (s)
        s = (t - t0) / T
        return np.where((s > 0) & (s < 1), 60 * s - 180 * s * s + 120 * s ** 3, 0.0) * d / T ** 2 / 9.81

    bob = _standing_window(hz, m, move(2.5, 0.25, 0.06) + move(2.75, 0.6, -0.06),
                           move(2.5, 0.25, -0.06) + move(2.75, 0.6, 0.06))
    _, _, quiet, tilt, *_ = transition.vertical_velocity(bob, hz)
    assert quiet[0] <= transition.QUIET_G and tilt[0] < transition.MIN_TILT_DEG
    # the same drop inside a real lean of 25 deg held for a second is a transition's tilt
    s = np.clip((t - 2.0) / 1.5, 0.0, 1.0)
    lean = np.radians(25.0) * np.sin(np.pi * s)
    az = move(2.5, 0.25, -0.06) + move(2.75, 0.6, 0.06)
    f = (1.0 + az)[:, None] * np.stack([np.sin(lean), np.zeros(m), np.cos(lean)], axis=1)
    _, _, quiet, tilt, *_ = transition.vertical_velocity(f.T[:, None, :].astype(np.float32), hz)
    assert quiet[0] <= transition.QUIET_G and tilt[0] >= 20.0


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_sensor_left_on_the_desk_ends_up_not_worn(seed):
    block, labels = sim("demo", seed, 900.0)
    ep = analyze(block).epochs
    desk = [(a, b) for a, b, _, code in labels.rows() if code == "on_desk"]
    assert desk and desk[0][1] - desk[0][0] >= 150.0
    a, b = desk[0]
    last_half_minute = (ep.t_start >= b - 32.0) & (ep.t_end <= b - 2.0)
    assert share(ep, last_half_minute, "not_worn") == 1.0
    # and it is never called not worn while worn and moving
    walking = rows_mask(ep, labels, lambda lab, code: lab == "moving")
    assert share(ep, walking, "not_worn") == 0.0


def still_means(directions: np.ndarray, seed: int, offset_g, matrix) -> np.ndarray:
    """Epoch means of a sensor held still in each direction (30 s each at 50 Hz, one per second)."""
    rng = np.random.default_rng(seed)
    f = np.repeat(directions, 30, axis=0)
    return sensor_readings(f, rng, noise_g=0.002, offset_g=offset_g, matrix=matrix).astype(np.float64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_sphere_fit_recovers_offset_and_gain_from_orientations_all_round(seed):
    from sensorback.core.calibration import fit_sphere

    rng = np.random.default_rng(seed)
    dirs = Rotation.random(40, random_state=seed).apply(UP)
    offset, gains = rng.uniform(-0.08, 0.08, 3), rng.uniform(0.93, 1.07, 3)
    means = still_means(dirs, seed, offset, np.diag(gains))
    cal = fit_sphere(means, np.full(len(means), 0.005))
    assert np.allclose(cal.offset, offset, atol=0.005) and np.allclose(cal.gain, 1 / gains, atol=0.005), cal


def test_the_sphere_fit_on_a_few_hours_at_a_desk_falls_back_instead_of_giving_up():
    """Three hours of a simulated desk-day hold the trunk near upright and a few other postures:
    two axes see only a third of gravity's range. The full fit there trades gain for offset (a
    gain of 0.68 with an offset of -0.36 g fits those arcs too) and is rejected as implausible;
    the fit then keeps the poorly seen axes' gains and still corrects the magnitudes (without
    it, the whole calibration was skipped and 5 % of the epochs went wrong)."""
    from sensorback.core.pipeline import block_stats

    block, _ = sim("desk-day", 3, 10800.0)
    stats, sensor = block_stats(block, CoreOptions())
    assert sensor.note.startswith("offset, gain on 1 of 3 axes"), sensor.note
    still = stats.sd < 0.02
    mean, _ = sensor.apply_mean_var(stats.mean[still], stats.var[still])
    raw = np.linalg.norm(stats.mean[still], axis=1)
    fitted = np.linalg.norm(mean, axis=1)
    assert np.median(np.abs(fitted - 1)) < 0.5 * np.median(np.abs(raw - 1))
    assert np.all(np.abs(np.asarray(sensor.gain) - 1) <= 0.3) and np.all(np.abs(sensor.offset) <= 0.5)


def _held_near_upright(seed: int, world: Rotation, offset, gains) -> np.ndarray:
    """Still means of a sensor held within 9 degrees of upright (mounted as `world` says)."""
    rng = np.random.default_rng(seed)
    tilt = np.radians(rng.uniform(0.0, 9.0, 40))
    azimuth = rng.uniform(0.0, 2 * np.pi, 40)
    cone = Rotation.from_rotvec(np.column_stack([np.cos(azimuth), np.sin(azimuth), np.zeros(40)]) * tilt[:, None])
    return still_means(world.apply(cone.apply(UP)), seed, offset, np.diag(gains))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_sensor_only_ever_held_near_upright_still_gets_the_offset_across_its_cone(seed):
    """A chest sensor of a wearer who only sat and stood is held still within a few degrees of
    upright: too narrow a cone for a sphere fit. An offset across the cone still shows (|a| rises
    on one side of it and falls on the other) and is what turns a lean into a false change of
    |a|: that part is fitted, the part along the cone (indistinguishable from a gain) is not."""
    from sensorback.core.calibration import TILT_RESOLUTION_G, fit_sphere

    rng = np.random.default_rng(seed)
    world = Rotation.random(random_state=seed)  # however the clip is mounted
    offset = rng.choice([-1.0, 1.0], 3) * rng.uniform(0.02, 0.05, 3)
    means = _held_near_upright(seed, world, offset, np.ones(3))
    cal = fit_sphere(means, np.full(len(means), 0.005))
    assert cal.note.startswith("offset across the one cone"), cal.note
    axis = world.apply(UP)
    across = offset - (offset @ axis) * axis
    across *= 1.0 - TILT_RESOLUTION_G / np.linalg.norm(across)  # (less than the fit resolves is left)
    fitted = np.asarray(cal.offset)
    assert np.linalg.norm(fitted - across) < 0.004, (fitted, across)
    assert abs(fitted @ axis) < 0.004
    # with gain errors too, |a| comes out flat across the cone (what the transitions need)
    means = _held_near_upright(seed, world, offset, rng.uniform(0.97, 1.03, 3))
    cal = fit_sphere(means, np.full(len(means), 0.005))
    corrected = np.linalg.norm((means - np.asarray(cal.offset)) * np.asarray(cal.gain), axis=1)
    per_posture = corrected.reshape(40, 30).mean(axis=1)  # (each posture's noise averaged out)
    raw = np.linalg.norm(means, axis=1).reshape(40, 30).mean(axis=1)
    assert np.std(per_posture) < 0.3 * np.std(raw), (np.std(per_posture), np.std(raw))
    assert abs(np.mean(corrected) - 1.0) < 0.002


def test_the_cone_fit_makes_no_gain_a_stored_calibration_would_refuse():
    """Held near upright, |a| reading 0.4 g would take a common gain of 2.5: no sensor's error (a
    stored calibration refuses gains outside limits.MIN_GAIN to MAX_GAIN, and a live session
    would keep it for the sensor), so the fit is skipped; at 0.6 g (gain 1.67) it is made."""
    from sensorback.core.calibration import fit_sphere
    from sensorback.limits import MAX_GAIN

    world = Rotation.random(random_state=3)
    low = _held_near_upright(3, world, np.array([0.03, -0.02, 0.04]), np.full(3, 0.4))
    cal = fit_sphere(low, np.full(len(low), 0.005))
    assert re.fullmatch(r"skipped: the still postures read 0\.3\d g, too far from 1 g for a sensor's gain", cal.note), cal.note
    assert cal.offset == (0.0, 0.0, 0.0) and cal.gain == (1.0, 1.0, 1.0)
    fine = _held_near_upright(3, world, np.array([0.03, -0.02, 0.04]), np.full(3, 0.6))
    cal = fit_sphere(fine, np.full(len(fine), 0.005))
    assert cal.note.startswith("offset across the one cone"), cal.note
    assert len(set(cal.gain)) == 1 and 1.5 < cal.gain[0] <= MAX_GAIN, cal.gain  # (the offset along the cone is in it)

def test_a_sensor_held_in_one_posture_only_is_left_alone():
    from sensorback.core.calibration import fit_sphere

    means = still_means(np.repeat(UP[None, :], 40, axis=0), 0, np.array([0.03, -0.02, 0.01]), np.eye(3))
    cal = fit_sphere(means, np.full(len(means), 0.005))
    assert cal.note == "skipped: too few distinct still orientations"
    assert cal.offset == (0.0, 0.0, 0.0) and cal.gain == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("rate_hz", [12.5, 50.0, 100.0])
def test_a_sensor_still_on_a_table_ends_not_worn(seed, rate_hz):
    """Never handled, so only the slow path: 2 minutes at 50 Hz and above, 4x that at 12.5 Hz."""
    from sensorback.core.decide import not_worn_waits

    _, slow_epochs = not_worn_waits(CoreOptions(), rate_hz)
    assert slow_epochs == (480 if rate_hz == 12.5 else 120)
    block = still_on_table(slow_epochs + 180.0, rate_hz, seed)
    ep = analyze(block).epochs
    assert ep.state[-1] == S["not_worn"]
    assert (ep.state[-60:] == S["not_worn"]).all()


@pytest.mark.parametrize("step", [2, 5])
@pytest.mark.parametrize("thinning", ["pick", "mean"])
def test_real_wearers_recorded_at_low_rates_are_never_taken_for_a_table(step, thinning):
    """The bundled real excerpts thinned to 25 and 10 Hz: every n-th sample (a sensor without an
    anti-alias filter) or the mean of n (with one). An epoch mean of 5-10 samples is too noisy to
    show breathing within the usual 20 s, so the not-worn paths wait longer at low rates; with
    the 50 Hz waits, two of these excerpts had 47-57 epochs called not worn. The thinning is
    benchmarks/accuracy.py's (`--thin`), imported the way tests/test_label_audit.py does."""
    import sys

    from sensorback import formats

    repo = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo / "benchmarks"))
    from accuracy import thinned

    for path in sorted((repo / "recordings").glob("*_*.csv.gz")):
        ep = analyze(thinned(formats.load(path), step, thinning)).epochs
        assert len(ep) > 100 and (ep.state != S["not_worn"]).all(), (path.name, int((ep.state == S["not_worn"]).sum()))


@pytest.mark.parametrize("seed,rate_hz", [(1, 10.0), (2, 10.0), (4, 200.0)])
def test_the_desk_is_not_worn_and_the_chair_is_not_at_10_and_200_hz(seed, rate_hz):
    """At 10 Hz proving the sensor off the body takes 2.5 min instead of 20 s (settling then dates
    it back to when it went still); at 200 Hz a lone outlier epoch mean once ended it mid-desk."""
    block, labels = sim("demo", seed, 900.0, rate_hz=rate_hz)
    ep = analyze(block).epochs
    (a, b), = [(a, b) for a, b, _, code in labels.rows() if code == "on_desk"]
    on_desk = (ep.t_start >= a + 5.0) & (ep.t_end <= b)
    assert share(ep, on_desk, "not_worn") == 1.0
    worn = rows_mask(ep, labels, lambda lab, code: lab in ("sitting", "slouching", "standing", "lying"))
    assert share(ep, worn, "not_worn") == 0.0


def test_a_sensor_put_on_the_table_after_being_worn_ends_not_worn():
    worn, labels = sim("demo", 5, 900.0)
    # walk, sit, slouch, gap, stand up and walk: cut a few seconds before that walk ends (the
    # sensor is handled on its way to the table, as it is when someone takes it off: lying flat
    # and motionless without that, it could be a wearer lying still, who waits 30 min). The
    # 15-min demo's wearer is still slouching at 340 s, where the 12-min one was walking.
    rows = list(labels.rows())
    up = next(i for i, r in enumerate(rows) if r[3] == "sit_to_stand")
    cut = next(r[1] for r in rows[up:] if r[3] == "walk") - 3.0
    worn = worn.between(0.0, cut)
    table = still_on_table(300.0, 50.0, seed=5, imu=worn.meta["sim"]["imu"])
    t_table = table.t + cut + 5.0
    block = SampleBlock(np.concatenate([worn.t, t_table]), np.concatenate([worn.acc, table.acc]), rate_hz=50.0)
    ep = analyze(block).epochs
    assert (ep.state[ep.t_start >= t_table[-1] - 60.0] == S["not_worn"]).all()
    assert (ep.state[ep.t_end <= cut] != S["not_worn"]).all()


def test_a_wearer_sitting_very_still_is_not_taken_for_a_table():
    block, spans = seated([(600.0, 0.0, 0.0)], seed=3)
    ep = analyze(block).epochs
    assert share(ep, np.ones(len(ep), bool), "not_worn") <= 0.05



@pytest.mark.parametrize("seed", [1, 2, 3])
def test_short_dropouts_on_the_desk_leave_the_sensor_not_worn(seed):
    """Lost radio packets while the sensor lies on the desk: each dropout used to end not_worn
    (its epochs failed every stillness test, and the 20 s windows after it too), and the sensor,
    flat and still, was then lying until the 30 min wait for a wearer lying still ran out (4 % of
    every epoch of accuracy.py's desk-day+dropouts). A dropout now neither breaks nor extends the
    stillness; whether the sensor is worn holds across it. Each hole here ends 0.02 s before an
    epoch boundary: the one sample left in that epoch is no data either (its mean, in the
    stillness window, ended not_worn on its own)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from dropouts import cut_out

    block, labels = sim("demo", seed, 900.0)
    (a, b), = [(a, b) for a, b, _, code in labels.rows() if code == "on_desk"]
    assert b - a > 150
    cal = analyze(block).calibration
    plain = analyze(block, calibration=cal).epochs
    holes = [(t0, np.floor(t0) + 2.98 + i % 3) for i, t0 in enumerate(np.arange(a + 40.0, b - 15.0, 30.0))]
    holed = analyze(cut_out(block, holes), calibration=cal).epochs
    desk = lambda ep: (ep.t_start >= a + 30.0) & (ep.t_end <= b) & (ep.state != S["no_data"])  # noqa: E731
    assert share(plain, desk(plain), "not_worn") == 1.0
    assert (holed.state == S["no_data"]).sum() >= 4
    assert share(holed, desk(holed), "not_worn") == 1.0


# ------------------------------------------------------------------ postures and options

UPRIGHT, FORWARD, BACK, SIDE, MILD = 0, 1, 3, 5, 7
SEGMENTS = [
    (90.0, 0.0, 0.0),    # upright: the reference window
    (60.0, 30.0, 0.0),   # leaning forward 30 deg: the forward window
    (40.0, 0.0, 0.0),
    (120.0, -20.0, 0.0),  # leaning back 20 deg
    (40.0, 0.0, 0.0),
    (60.0, 0.0, 15.0),   # leaning 15 deg sideways
    (40.0, 0.0, 0.0),
    (60.0, 10.0, 0.0),   # a mild forward lean
    (40.0, 0.0, 0.0),
]


@functools.lru_cache(maxsize=None)
def lean_recording(seed: int):
    return seated(SEGMENTS, seed=seed)


def window(spans, i, margin_s: float = 10.0) -> tuple[float, float]:
    return spans[i][0] + margin_s, spans[i][1] - margin_s


def median_in(ep, span, name: str) -> float:
    return float(np.median(getattr(ep, name)[inner(ep, span)]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_leaning_back_while_sitting_is_never_slouching_with_a_forward_window(seed):
    block, spans = lean_recording(seed)
    opts = CoreOptions(reference_window=window(spans, UPRIGHT), forward_window=window(spans, FORWARD))
    ep = analyze(block, opts).epochs
    back = inner(ep, spans[BACK], margin_s=4.0)
    assert (ep.state[back] != S["slouching"]).all()
    assert median_in(ep, spans[BACK], "flexion_deg") == pytest.approx(-20.0, abs=5.0)
    assert median_in(ep, spans[BACK], "inclination_deg") == pytest.approx(20.0, abs=5.0)
    # the forward lean past the 20 degree threshold is slouching (the wearer has been seated all along)
    fwd = inner(ep, spans[FORWARD])
    assert share(ep, fwd, "slouching") >= 0.9
    assert median_in(ep, spans[FORWARD], "flexion_deg") == pytest.approx(30.0, abs=5.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_flexion_lateral_and_inclination_follow_the_trunk(seed):
    block, spans = lean_recording(seed)
    opts = CoreOptions(reference_window=window(spans, UPRIGHT), forward_window=window(spans, FORWARD))
    ep = analyze(block, opts).epochs
    for i in (UPRIGHT, 2, 4, 6, 8):
        assert median_in(ep, spans[i], "inclination_deg") <= 4.0
        assert abs(median_in(ep, spans[i], "flexion_deg")) <= 4.0
    assert median_in(ep, spans[MILD], "flexion_deg") == pytest.approx(10.0, abs=4.0)
    assert abs(median_in(ep, spans[SIDE], "lateral_deg")) == pytest.approx(15.0, abs=5.0)
    assert abs(median_in(ep, spans[SIDE], "flexion_deg")) <= 5.0
    assert median_in(ep, spans[SIDE], "inclination_deg") == pytest.approx(15.0, abs=5.0)
    assert abs(median_in(ep, spans[FORWARD], "lateral_deg")) <= 5.0


def test_the_reference_window_sets_zero_flexion():
    block, spans = lean_recording(0)
    base = analyze(block, CoreOptions(reference_window=window(spans, UPRIGHT),
                                      forward_window=window(spans, FORWARD))).epochs
    # upright := the mild 10 degree forward lean: everything moves about 10 degrees backward
    moved = analyze(block, CoreOptions(reference_window=window(spans, MILD),
                                       forward_window=window(spans, FORWARD))).epochs
    assert abs(median_in(moved, spans[MILD], "flexion_deg")) <= 3.0
    assert median_in(moved, spans[MILD], "inclination_deg") <= 4.0
    for i in (UPRIGHT, FORWARD, BACK):
        shift = median_in(base, spans[i], "flexion_deg") - median_in(moved, spans[i], "flexion_deg")
        assert shift == pytest.approx(10.0, abs=3.0), i


def test_the_forward_window_sets_the_sign_of_flexion():
    block, spans = lean_recording(1)
    ref = window(spans, UPRIGHT)
    ep = analyze(block, CoreOptions(reference_window=ref, forward_window=window(spans, BACK))).epochs
    assert median_in(ep, spans[BACK], "flexion_deg") == pytest.approx(20.0, abs=5.0)
    assert median_in(ep, spans[FORWARD], "flexion_deg") == pytest.approx(-30.0, abs=5.0)
    assert (ep.state[inner(ep, spans[FORWARD])] != S["slouching"]).all()


def test_the_slouch_threshold_option_moves_the_line():
    block, spans = lean_recording(2)
    kw = dict(reference_window=window(spans, UPRIGHT), forward_window=window(spans, FORWARD))
    fwd_share = {}
    for threshold in (20.0, 25.0, 40.0):
        ep = analyze(block, CoreOptions(slouch_threshold_deg=threshold, **kw)).epochs
        fwd_share[threshold] = share(ep, inner(ep, spans[FORWARD]), "slouching")
        assert share(ep, inner(ep, spans[FORWARD]), "sitting", "slouching") >= 0.9
    assert fwd_share[20.0] >= 0.9 and fwd_share[25.0] >= 0.9 and fwd_share[40.0] <= 0.1
    # and a 5 degree threshold makes the mild 10 degree lean a slouch
    ep = analyze(block, CoreOptions(slouch_threshold_deg=5.0, **kw)).epochs
    assert share(ep, inner(ep, spans[MILD]), "slouching") >= 0.9


# ------------------------------------------------------------------ mounting invariance


def rotated(block: SampleBlock, r: Rotation) -> SampleBlock:
    acc = (block.acc.astype(np.float64) @ r.as_matrix().T).astype(np.float32)
    return SampleBlock(block.t, acc, device=block.device, rate_hz=block.rate_hz)


def agreement(a, b) -> float:
    assert len(a) == len(b)
    return float((a.state == b.state).mean())


# Known failures, strict so a fix shows up. demo 9: a window ending as a sit-down's lean begins
# reads as a stand-up in one mounting only (by 0.001 g of quietness) and then silences the real
# sit-down for one window. (desk-day 2 failed the same way until the sphere fit stopped giving up
# on a narrow arc of orientations in one of its mountings.)
KNOWN = pytest.mark.xfail(strict=True, reason="known mounting sensitivity, see comment above")


@pytest.mark.parametrize("scenario,seed,duration", [
    ("demo", 1, 900.0), ("demo", 2, 900.0), ("demo", 3, 900.0), ("demo", 4, 900.0),
    ("demo", 5, 900.0), ("demo", 6, 900.0), pytest.param("demo", 9, 720.0, marks=KNOWN),
    ("desk-day", 1, 10800.0), ("desk-day", 2, 10800.0),
    ("standing-desk-day", 1, 10800.0), ("standing-desk-day", 3, 10800.0),
])
def test_rotating_the_sensor_axes_keeps_the_states(scenario, seed, duration):
    block, _ = sim(scenario, seed, duration)
    r = Rotation.random(random_state=1000 * seed)
    same = agreement(analyze(block).epochs, analyze(rotated(block, r)).epochs)
    assert same >= 0.97, f"only {same:.1%} of epochs keep their state"


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 9])
def test_mounting_the_clip_another_way_keeps_the_states(seed):
    """The same wearer and day (same sensor errors) with the clip mounted square vs at a random angle."""
    a, _ = sim("demo", seed, 900.0)
    b, _ = sim("demo", seed, 900.0, mount="identity")
    assert np.array_equal(a.t, b.t)
    same = agreement(analyze(a).epochs, analyze(b).epochs)
    assert same >= 0.97, f"only {same:.1%} of epochs keep their state"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_forward_from_transitions_ignores_lying_down_and_sitting_up(seed):
    """The demo's wearer lies down on a couch and sits up again: those windows tilt furthest to
    the side they lie on. Left out, the sit/stand leans alone give forward (which is where
    gravity moves as the trunk flexes: minus the body's anterior axis in the sensor's axes)."""
    block, _ = sim("demo", seed, 900.0)
    ref = analyze(block).calibration.reference
    truth = -(np.asarray(block.meta["sim"]["mount_rotation"]) @ np.array([1.0, 0.0, 0.0]))
    assert "transitions" in ref.forward_source
    assert np.degrees(np.arccos(np.clip(np.dot(ref.forward, truth), -1, 1))) < 12


def test_a_transition_whose_window_starts_before_the_recording_is_ignored():
    """A recording often starts with the sensor being clipped on: a moment of stillness, then a
    lift, reads like a whole stand-up in a window that reaches back before the first sample
    (Casale subject 05 sat for 10 minutes as "standing" because of one). Such windows are
    ignored; the same event later on still counts."""
    from dataclasses import replace as dc_replace

    from sensorback.core import CoreOptions
    from sensorback.core.decide import Decider
    from sensorback.core.pipeline import block_stats, estimate_calibration

    block, _ = sim("desk-day", 1, 900.0)
    options = CoreOptions()
    stats, sensor = block_stats(block, options)
    cal, _ = estimate_calibration(stats, options, sensor)
    seated = stats.take(stats.k >= 730)  # a recording that starts while the wearer sits

    def with_stand_up_at(i):
        s = dc_replace(seated, v_up=seated.v_up.copy(), v_down=seated.v_down.copy(),
                       quiet_g=seated.quiet_g.copy(), tilt_deg=seated.tilt_deg.copy())
        s.v_up[i], s.v_down[i], s.quiet_g[i], s.tilt_deg[i] = 0.8, 0.1, 0.005, 25.0
        return Decider(options, cal, block.rate_hz).decide_all(s).state

    sitting = [S["sitting"], S["slouching"]]
    # its 6 s window starts before the first epoch: ignored, so a wearer calm from the start is
    # sitting (before anything sure is seen, calm counts toward sitting: desk workers sit)
    early = with_stand_up_at(3)
    assert np.isin(early[60:], sitting).mean() > 0.95
    later = with_stand_up_at(100)    # the same event once its window lies inside the data
    assert np.isin(later[60:95], sitting).mean() > 0.95  # (95-99: the stand-up's own window)
    assert (later[105:] == S["standing"]).mean() > 0.95


def test_a_window_that_starts_calm_is_examined_whatever_its_last_epochs_sd():
    """A sit-down's landing can shake the last epoch of its window past 0.1 g while its last half
    second is quiet: the window used to be skipped (only windows whose last epoch was calm were
    examined), and vertical_velocity, which tests the quiet end itself, never saw it. A window that
    starts calm is examined too; one calm at neither end, or that never moved, is not."""
    from sensorback.core.epoch_stats import _transition_candidates

    span = 6
    k = np.arange(100, 130)
    sd = np.full(k.shape[0], 0.01)
    sd[10:14] = 0.3     # a movement whose window ending at epoch 113 ends moving but starts calm
    sd[20:29] = 0.3     # a longer one: the windows ending at 25-28 start and end moving
    cand = _transition_candidates(k, sd, span, None, None)
    assert 113 - 100 in cand and 114 - 100 in cand   # (114 ends calm: examined before as well)
    assert not set(range(25, 29)) & set(cand.tolist())  # calm at neither end
    assert not set(range(0, 10)) & set(cand.tolist())   # nothing moved
