"""sensorback calibrate: guided windows from a (demo/scripted) source, stored per device, used by monitor."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from sensorback.cli.live_cmds import guided_calibration
from sensorback.errors import SensorbackError
from sensorback.live import CalibrationStore
from sensorback.samples import SampleBlock
from sensorback.sources.base import SourceStatus
from sensorback.sources.demo import DemoSource, calibration_recording
from conftest import DEADLINE_S


class Scripted:
    """A source that plays a block in 0.5 s pieces, as fast as possible."""

    def __init__(self, block: SampleBlock, name="Sensor X", address="AA:BB"):
        self.block, self.name, self.address, self.stopped = block, name, address, False

    def __aiter__(self):
        return self._run()

    async def _run(self):
        yield SourceStatus("connected", "Sensor X connected", 0.0, values={"device": self.name, "address": self.address})
        n = len(self.block)
        for i in range(0, n, 25):
            if self.stopped:
                break
            yield self.block.slice(i, min(n, i + 25))
            await asyncio.sleep(0)
        yield SourceStatus("stopped")

    async def stop(self):
        self.stopped = True


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_guided_calibration_any_mount(seed):
    block = calibration_recording(seed, mount=None)
    said = []
    cal, notes, name, address = asyncio.run(guided_calibration(Scripted(block), said.append))
    assert name == "Sensor X" and address == "AA:BB"
    assert any("upright" in s for s in said) and any("lean forward" in s for s in said)
    up, fwd = np.array(cal.reference.up), np.array(cal.reference.forward)
    assert np.degrees(np.arccos(up @ block.meta["true_up"])) < 3
    assert np.degrees(np.arccos(fwd @ block.meta["true_forward"])) < 5


def test_guided_calibration_without_lean_is_an_error():
    block = calibration_recording(0, lean_deg=3.0)
    with pytest.raises(SensorbackError, match="lean forward far enough"):
        asyncio.run(guided_calibration(Scripted(block), lambda s: None))


def test_guided_calibration_source_ends_early():
    block = calibration_recording(0).slice(0, 200)
    with pytest.raises(SensorbackError, match="stopped sending"):
        asyncio.run(guided_calibration(Scripted(block), lambda s: None))


def test_calibrate_demo_cli_stores_and_monitor_uses_it(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sensorback.cli.app import app

    monkeypatch.setenv("SENSORBACK_CONFIG", str(tmp_path / "config.toml"))
    r = CliRunner().invoke(app, ["calibrate", "--demo", "--speed", "100"])
    assert r.exit_code == 0, r.output
    assert "calibration saved for demo" in r.output
    found = CalibrationStore().load("demo")
    assert found is not None and found[0].reference.forward_source == "calibrated lean"
    # The demo calibration matches the simulated wearer's mounting (same seed).
    from sensorback.sim import simulate

    sim, _ = simulate("desk-day", seed=0, duration_s=1.0)
    true_up = np.array(sim.meta["sim"]["mount_rotation"]) @ np.array([0, 0, 1.0])
    assert np.degrees(np.arccos(np.array(found[0].reference.up) @ true_up)) < 3

    from sensorback.live import LiveSession

    s = LiveSession(DemoSource("demo", speed=1000), device_key="demo", calibrations=CalibrationStore())

    async def go():
        async def later():
            while s.meters.epochs < 30:
                await asyncio.sleep(0.01)
            await s.stop()
        await asyncio.wait_for(asyncio.gather(s.run(), later()), DEADLINE_S)

    asyncio.run(go())
    assert not s.provisional and s.calibration.reference == found[0].reference
