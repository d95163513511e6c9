"""Calibration steps that cannot be used are refused, naming the step and why, and nothing is
stored; a slouch step that shows no lean falls back to the default with a note. The same checks
serve the guided steps (sensorback calibrate, the monitor's g key) and the windows of
analyze/replay (--reference-window / --forward-window / --stand-window).

The bad steps are the simulated wearer's own samples (sensorback.sources.demo.calibration_recording)
turned as a body would turn them: a slouch tipped to lying, a stand step taken over by a sensor
lying on a desk, a step shaken as by walking, or cut by a gap. Which way a slouch step leans is
not checked (core/personal.py: the slouch step is the better source of forward); a slouch
mirrored backward is taken as shown."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

from sensorback.calibrations import CalibrationStore
from sensorback.cli.app import app
from sensorback.errors import SensorbackError
from sensorback.live import LiveSession, guided_calibration
from sensorback.samples import SampleBlock
from sensorback.sources.demo import calibration_recording
from conftest import DEADLINE_S, DEMO
from test_calibrate_cli import Scripted

STEPS = {"upright": (0.0, 10.0), "slouch": (10.0, 20.0), "stand": (20.0, 30.0)}  # the guided steps' seconds


def edited(block: SampleBlock, step: str, change) -> SampleBlock:
    """A copy of the block with the samples of one guided step replaced by change(t, acc, block)."""
    acc = block.acc.astype(np.float64)
    a, b = STEPS[step]
    sel = (block.t >= a) & (block.t < b)
    acc[sel] = change(block.t[sel], acc[sel], block)
    return SampleBlock(block.t.copy(), acc, device=block.device, rate_hz=block.rate_hz, meta=dict(block.meta))


def turned(step_rotation):
    """Turn a step's samples by the rotation step_rotation(up, forward, lean) gives (unit vectors
    in the sensor's axes; lean: the step's mean direction)."""
    def change(t, acc, block):
        up, fwd = np.array(block.meta["true_up"]), np.array(block.meta["true_forward"])
        lean = acc.mean(axis=0) / np.linalg.norm(acc.mean(axis=0))
        return step_rotation(up, fwd, lean).apply(acc)
    return change


def tipped_to_lying(up, fwd, lean):
    axis = np.cross(up, fwd)
    return Rotation.from_rotvec(np.radians(60.0) * axis / np.linalg.norm(axis))


def shaken(t, acc, block):
    """Walking-like: 1.8 steps a second, 0.25 g."""
    return acc + 0.25 * np.sin(2 * np.pi * 1.8 * t)[:, None] * np.array([0.3, 0.3, 1.0])


def on_a_desk(t, acc, block):
    """The sensor taken off and lying flat: 1 g along one axis and its noise."""
    return np.array([0.0, 0.0, 1.0]) + np.random.default_rng(1).normal(0.0, 0.004, acc.shape)


def stayed_seated(block: SampleBlock) -> SampleBlock:
    """The wearer never stood up: from the moment the simulated wearer starts to rise (17.5 s, in
    the slouch step's last seconds) to the end, their own slouch of 13-17 s again."""
    acc = block.acc.astype(np.float64)
    rise = block.t >= 17.0
    acc[rise] = np.resize(acc[(block.t >= 13.0) & (block.t < 17.0)], acc[rise].shape)
    return SampleBlock(block.t.copy(), acc, device=block.device, rate_hz=block.rate_hz, meta=dict(block.meta))


def guided(block, **kw):
    return asyncio.run(guided_calibration(Scripted(block), lambda s: None, **kw))


@pytest.fixture(scope="module")
def block():
    return calibration_recording(0)


@pytest.mark.parametrize("step, change, message", [
    ("upright", shaken, (r"^calibrate: upright step: the trunk was moving \(0\.\d\d g; holding still is under "
                         r"0\.08 g\); sit upright and still, and try again$")),
    ("slouch", turned(tipped_to_lying), (r"^calibrate: slouch step: the trunk leaned \d+ deg from upright, as far "
                                         r"as lying down \(60 or more\)")),
    ("stand", on_a_desk, (r"^calibrate: stand step: the trunk was held \d+ deg from upright, as far as lying down "
                          r"\(60 or more\), not standing; stand up straight and stand still, and try again$")),
], ids=["upright-moving", "slouch-lying", "stand-off-body"])
def test_a_step_that_cannot_be_used_is_refused_naming_it(block, step, change, message):
    with pytest.raises(SensorbackError, match=message):
        guided(edited(block, step, change))


def test_a_stand_step_taken_seated_is_refused(block):
    """A stand step held in the chair passes every check on its direction (a slouch lies well short
    of lying), but nobody gets onto their feet without the rise the transition measure hears."""
    with pytest.raises(SensorbackError, match=r"^calibrate: stand step: no stand-up was felt after the slouch "
                                              r"step began \(still seated\?\); stand up straight and stand still, and "
                                              r"try again$"):
        guided(stayed_seated(block))
    # the same wearer who did stand up passes, with or without the stand step
    assert guided(block)[0].stand is not None and guided(stayed_seated(block), stand=False)[0].stand is None


def shifted(block: SampleBlock, dt: float) -> SampleBlock:
    return SampleBlock(block.t + dt, block.acc, device=block.device, rate_hz=block.rate_hz, meta=dict(block.meta))


# Wearers and sensors a review of the first version of the check got wrong (stop 28): stand-ups
# refused for a sit-down read in a window starting inside the stand-up (25 Hz, or the first
# sample off the epoch grid), and seated stand steps accepted for the lean into the slouch, read
# as a slow rise through the sensor's uncorrected errors in a window starting before the slouch.
@pytest.mark.parametrize("rate_hz, dt", [(50.0, 0.0), (50.0, 0.25), (25.0, 0.0), (25.0, 86400.9)])
def test_every_wearer_who_stood_passes_and_every_one_who_stayed_seated_is_refused(rate_hz, dt):
    for seed in (3, 9, 17, 22, 27, 28, 31, 35, 38, 40):
        block = calibration_recording(seed, rate_hz=rate_hz)
        assert guided(shifted(block, dt))[0].stand is not None, seed
        with pytest.raises(SensorbackError, match="no stand-up was felt after the slouch step began"):
            guided(shifted(stayed_seated(block), dt))


def _walk_then_sit(tl, end_s):
    """Upright and slouch steps, then up, a 12 s walk, straight down into a chair, and the "stand"
    step held there."""
    tl.stand(0.5)
    tl.sit_down()
    t0 = tl.now
    tl.sit(10.0, "calibrate_upright", reaches=False)
    tl.slouch(7.5, tl.usual_slouch(), 2.0, 0.5, line_deg=0.5 * tl.usual_slouch())
    tl.stand_up()
    tl.walk(12.0)
    tl.sit_down()
    ts = tl.now
    tl.sit(20.0, "sit_upright", reaches=False)
    tl.calibration_windows.update(upright=[t0 + 2, t0 + 10], slouch=[t0 + 13, t0 + 20], stand=[ts + 4, ts + 14])
    tl.fill_to(end_s)


def test_a_stand_step_after_sitting_straight_down_from_a_walk_is_refused(monkeypatch):
    """The walk showed the wearer on their feet, but a sit-down straight from it (heard by its
    landing, as the decisions hear it) came after: the stand step is seated. Sure of it with an
    ideal sensor; with the sensor's errors 2 of 20 simulated wearers still pass (their landing is
    not heard)."""
    from sensorback.core import CoreOptions, block_stats, from_windows
    from sensorback.core.calibration import IDENTITY
    from sensorback.sim import scenarios, simulate

    monkeypatch.setitem(scenarios.REGISTRY, "walk-then-sit",
                        scenarios.Scenario("walk-then-sit", "", 120.0, _walk_then_sit))
    options = CoreOptions()
    for ideal in (True, False):
        passed = []
        for seed in range(20):
            b, _ = simulate("walk-then-sit", seed=seed, ideal_sensor=ideal, gaps=False)
            w = b.meta["sim"]["calibration_windows"]
            stats, _ = block_stats(b, options, IDENTITY)
            try:
                from_windows(stats, options, tuple(w["upright"]), tuple(w["slouch"]), tuple(w["stand"]))
                passed.append(seed)
            except SensorbackError as e:
                assert "no stand-up was felt after the slouch step began" in str(e), str(e)
        assert len(passed) <= (0 if ideal else 2), (ideal, passed)


def test_a_dropout_over_the_stand_up_is_named(block):
    keep = ~((block.t >= 21.0) & (block.t < 22.0))  # a second of radio gap while the wearer rises
    gap = SampleBlock(block.t[keep], block.acc[keep], device="demo", rate_hz=block.rate_hz, meta=dict(block.meta))
    with pytest.raises(SensorbackError, match=r"^calibrate: stand step: no stand-up was felt after the slouch step "
                                              r"began \(still seated, or did the sensor's data drop out as you rose\?\); stand up straight"):
        guided(gap)


def test_a_step_without_samples_is_refused_naming_it(block):
    keep = ~((block.t >= 12.0) & (block.t < 20.5))  # a radio gap over the slouch step
    gap = SampleBlock(block.t[keep], block.acc[keep], device="demo", rate_hz=block.rate_hz, meta=dict(block.meta))
    with pytest.raises(SensorbackError, match=r"^calibrate: slouch step: no usable samples \(a radio gap, or the "
                                              r"sensor off\); check the sensor and try again$"):
        guided(gap)


def test_a_slouch_step_without_a_lean_falls_back_to_the_default_with_a_note():
    cal, notes, *_ = guided(calibration_recording(0, usual_slouch_deg=1.0))
    assert any(n.startswith("slouch step: the trunk hardly leaned (") and "deg from upright, under 4)" in n
               for n in notes), notes
    # nothing made up: forward left to be learned, no personal line (the default applies once it is)
    assert not cal.reference.forward_known and cal.usual_slouch_deg is None and cal.slouch_source == "default"


def test_the_monitor_g_key_refuses_a_bad_step_and_stores_nothing(tmp_path, block):
    cs = CalibrationStore(tmp_path / "cal.json")
    s = LiveSession(Scripted(edited(block, "slouch", turned(tipped_to_lying))), device_key="x", calibrations=cs)
    notes = []
    s.subscribe(lambda e: notes.append(e.text) if e.kind in ("note", "calibration") else None)
    s.calibrate_guided()
    asyncio.run(asyncio.wait_for(s.run(), DEADLINE_S))
    assert any(n.startswith("calibrate: slouch step: the trunk leaned") and "as far as lying down" in n
               for n in notes), notes
    assert not any(n.startswith("calibrated") for n in notes) and cs.load("x") is None


@pytest.mark.parametrize("args, message", [
    (["--reference-window", "5:30"], "--reference-window 5:30: the trunk was moving"),  # walking
    (["--reference-window", "55:75", "--forward-window", "600:700"],  # the sensor on a desk
     "--forward-window 600:700: the trunk leaned 104 deg from upright, as far as lying down (60 or more)"),
    (["--reference-window", "55:75", "--stand-window", "600:700"],  # the sensor on a desk
     "--stand-window 600:700: the trunk was held 104 deg from upright, as far as lying down (60 or more), not standing"),
    (["--reference-window", "55:75", "--stand-window", "200:210"],  # still slouched at the desk
     "--stand-window 200:210: no stand-up or walk after --reference-window began (55 s), so the wearer was "
     "still seated"),
], ids=["reference-walking", "forward-off-body", "stand-off-body", "stand-seated"])
def test_analyze_refuses_a_window_that_cannot_be_used(args, message):
    """recordings/demo.sbr: walking 0-35 s, sitting upright 52-77, slouched 32 deg 101-444, the
    sensor on a desk 582-762."""
    r = CliRunner().invoke(app, ["analyze", str(DEMO), *args])
    assert r.exit_code == 2, r.output
    line = r.output.strip().splitlines()[-1]
    assert line.startswith("error: ") and message in line, r.output
