"""sensorback calibrate: guided windows from a (demo/scripted) source, stored per device, used by monitor."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from sensorback.calibrations import CalibrationStore
from sensorback.errors import SensorbackError
from sensorback.live import guided_calibration
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
    block = calibration_recording(seed, ideal=True)
    said = []
    cal, notes, name, address = asyncio.run(guided_calibration(Scripted(block), said.append))
    assert name == "Sensor X" and address == "AA:BB"
    assert [s[:3] for s in said if s[1] == "/"] == ["1/3", "2/3", "3/3"]
    assert any("upright" in s for s in said) and any("slouch the way you usually do" in s for s in said)
    up, fwd = np.array(cal.reference.up), np.array(cal.reference.forward)
    assert np.degrees(np.arccos(up @ block.meta["true_up"])) < 3
    assert np.degrees(np.arccos(fwd @ block.meta["true_forward"])) < 6
    # the personal line: halfway to the wearer's usual slouch
    assert cal.reference.forward_known and abs(cal.usual_slouch_deg - block.meta["usual_slouch_deg"]) < 4
    assert cal.slouch_rule().line_deg == pytest.approx(cal.usual_slouch_deg / 2)
    assert cal.stand is not None


def test_guided_calibration_mild_slouch_gives_a_low_line():
    block = calibration_recording(2, usual_slouch_deg=8.0, ideal=True)
    cal, notes, *_ = asyncio.run(guided_calibration(Scripted(block), lambda s: None))
    assert 5.0 < cal.usual_slouch_deg < 11.0 and 2.5 < cal.slouch_rule().line_deg < 5.5
    assert np.degrees(np.arccos(np.array(cal.reference.forward) @ block.meta["true_forward"])) < 15


def test_guided_calibration_without_a_slouch_leaves_forward_to_be_learned():
    block = calibration_recording(0, usual_slouch_deg=1.5, ideal=True)
    cal, notes, *_ = asyncio.run(guided_calibration(Scripted(block), lambda s: None, stand=False))
    assert not cal.reference.forward_known and cal.usual_slouch_deg is None
    assert any("hardly leaned" in n for n in notes)
    assert cal.slouch_rule().depth_deg is None  # no slouch is called until forward is learned


def test_guided_calibration_source_ends_early():
    block = calibration_recording(0).slice(0, 200)
    with pytest.raises(SensorbackError, match="stopped sending"):
        asyncio.run(guided_calibration(Scripted(block), lambda s: None))


def run_until_epochs(session, n: int) -> None:
    """Run a live session until it has made n epochs, then stop it (within DEADLINE_S)."""
    async def go():
        async def later():
            while session.meters.epochs < n:
                await asyncio.sleep(0.01)
            await session.stop()
        await asyncio.wait_for(asyncio.gather(session.run(), later()), DEADLINE_S)

    asyncio.run(go())


def test_calibrate_demo_cli_stores_and_monitor_uses_it(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sensorback.cli.app import app

    monkeypatch.setenv("SENSORBACK_CONFIG", str(tmp_path / "config.toml"))
    r = CliRunner().invoke(app, ["calibrate", "--demo", "--speed", "100", "--out", str(tmp_path / "mine.json")])
    assert r.exit_code == 0, r.output
    assert "calibration saved for demo" in r.output and "slouching counts from" in r.output
    assert (tmp_path / "mine.json").stat().st_mode & 0o777 == 0o600
    found = CalibrationStore().load("demo")
    assert found is not None and found[0].reference.forward_source.startswith("calibrated slouch")
    assert found[0].usual_slouch_deg is not None
    mode = CalibrationStore().path.stat().st_mode & 0o777
    assert mode == 0o600
    # The demo calibration matches the simulated wearer's mounting (same seed); the sensor's own
    # errors (offsets of a few hundredths of a g) stay in, as they do for the demo monitor.
    true_up = np.array(calibration_recording(0).meta["true_up"])
    assert np.degrees(np.arccos(np.array(found[0].reference.up) @ true_up)) < 6

    from sensorback.live import LiveSession

    s = LiveSession(DemoSource("demo", speed=1000), device_key="demo", calibrations=CalibrationStore())
    seen = []
    s.subscribe(seen.append)
    run_until_epochs(s, 30)
    # The stored calibration, used as it is; at 1000x the source may have played 10 min of samples
    # before the session stops, and then the session has also learned the sensor's offset and
    # gain (live.py), under which the same reference is re-expressed (Calibration.with_sensor).
    assert not s.provisional
    assert s.calibration.reference == found[0].with_sensor(s.calibration.sensor).reference
    # said with the time it was saved as people read times (local, to the minute), not as stored
    from datetime import datetime

    saved = datetime.fromisoformat(found[1]["saved_at"]).astimezone().strftime("%Y-%m-%d %H:%M")
    assert [e.text for e in seen if e.kind == "calibration"][0] == f"calibration of demo-calibration from {saved}"


def test_a_demo_calibration_is_found_only_for_its_own_seed(tmp_path, monkeypatch):
    """Each seed is another wearer with the clip mounted another way: seed 0's calibration, stored
    under "demo", made 'monitor --demo --seed 1' read the whole demo as lying (upright 174 degrees
    off). A seed's calibration is stored and found under its own address."""
    from typer.testing import CliRunner

    from sensorback.cli.app import app
    from sensorback.live import LiveSession

    monkeypatch.setenv("SENSORBACK_CONFIG", str(tmp_path / "config.toml"))

    def monitor(seed):
        s = LiveSession(DemoSource("demo", speed=1000, seed=seed), calibrations=CalibrationStore())
        run_until_epochs(s, 5)
        return s

    r = CliRunner().invoke(app, ["calibrate", "--demo", "--speed", "100"])
    assert r.exit_code == 0 and "calibration saved for demo in" in r.output, r.output
    assert monitor(1).provisional  # seed 0's calibration is not seed 1's
    r = CliRunner().invoke(app, ["calibrate", "--demo", "--seed", "1", "--speed", "100"])
    assert r.exit_code == 0 and "calibration saved for demo-seed1 in" in r.output, r.output
    mine, theirs = CalibrationStore().load("demo-seed1")[0], CalibrationStore().load("demo")[0]
    s = monitor(1)
    assert not s.provisional and s.calibration.reference == mine.reference != theirs.reference
    assert monitor(0).calibration.reference == theirs.reference


def test_a_broken_calibrations_file_is_said_before_the_steps(tmp_path, monkeypatch):
    """The calibration could not be saved into it: the wearer went through the 30 s of steps, then
    got the error and had to do them again. Now nothing starts, and the file is left as it was."""
    from typer.testing import CliRunner

    from cli_checks import one_line_error
    from sensorback.cli.app import app

    monkeypatch.setenv("SENSORBACK_CONFIG", str(tmp_path / "config.toml"))
    broken = tmp_path / "calibrations.json"
    broken.write_text("{ not json")
    one_line_error(CliRunner().invoke(app, ["calibrate", "--demo", "--speed", "1000"]),
                   f"the calibrations file {broken} is broken")
    assert broken.read_text() == "{ not json"


def test_the_simulated_calibration_follows_the_guided_steps():
    from sensorback.live import GUIDED_STEPS
    from sensorback.sim.scenarios import GUIDED_S, GUIDED_SETTLE_S

    assert [st.name for st in GUIDED_STEPS] == list(GUIDED_SETTLE_S)
    assert all(st.seconds == GUIDED_S and st.settle_s == GUIDED_SETTLE_S[st.name] for st in GUIDED_STEPS)


def test_analyze_and_replay_apply_a_stored_calibration(tmp_path, monkeypatch):
    """--calibration FILE (from calibrate --out) or a device's name; the same calibration gives
    the same epochs as a stream with it; mistakes are one-line errors."""
    from typer.testing import CliRunner

    from sensorback import formats
    from sensorback.cli.app import app
    from sensorback.core import CoreOptions, analyze

    from cli_checks import one_line_error

    monkeypatch.setenv("SENSORBACK_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("SENSORBACK_DB", str(tmp_path / "sb.db"))
    runner = CliRunner()
    r = runner.invoke(app, ["calibrate", "--demo", "--speed", "200", "--out", str(tmp_path / "mine.json")])
    assert r.exit_code == 0, r.output
    rec = tmp_path / "demo.sbr"
    r = runner.invoke(app, ["simulate", "--scenario", "demo", "--seed", "0", "--duration", "300", "--out", str(rec)])
    assert r.exit_code == 0, r.output
    cal = CalibrationStore().load("demo")[0]
    want = analyze(formats.load(rec), CoreOptions(), cal).epochs
    for spec in (str(tmp_path / "mine.json"), "demo"):
        r = runner.invoke(app, ["analyze", str(rec), "--calibration", spec, "--epochs", str(tmp_path / "e.csv")])
        assert r.exit_code == 0, r.output
        assert "calibration: " in r.output
        rows = (tmp_path / "e.csv").read_text().splitlines()[1:]
        assert [row.split(",")[2] for row in rows] == [STATES[s] for s in want.state]
    r = runner.invoke(app, ["replay", str(rec), "--calibration", "demo", "--db", str(tmp_path / "r.db")])
    assert r.exit_code == 0, r.output
    assert "calibration: the calibration of" in r.output
    for args, fragments in (
        (["--calibration", "nobody"], ["--calibration nobody", "no device of that name", "demo"]),
        (["--calibration", str(tmp_path / "none.json")], ["no such file"]),
        (["--calibration", str(tmp_path)], [f"--calibration {tmp_path}: is a folder, not a calibration file"]),
        (["--calibration", "demo", "--reference-window", "1:5"], ["--calibration", "not both"]),
        (["--calibration", "demo", "--stand-window", "1:5"], ["--calibration", "not both"]),
        (["--stand-window", "1:99999"], ["--stand-window"]),
    ):
        one_line_error(runner.invoke(app, ["analyze", str(rec), *args]), *fragments)
    (tmp_path / "bad.json").write_text('{"calibration": {"sensor": 1}}')
    one_line_error(runner.invoke(app, ["analyze", str(rec), "--calibration", str(tmp_path / "bad.json")]),
                          "bad.json: not a usable calibration: the field 'sensor' must be a JSON object")


FAST_DEMO = ["--demo", "--speed", "1000"]


@pytest.mark.parametrize("args, fragments", [
    (FAST_DEMO + ["--device", "AA:BB:CC:DD:EE:FF"], ["--device: cannot be combined with --demo", "simulated sensor"]),
    (FAST_DEMO + ["--profile", "polar-h10"], ["--profile: cannot be combined with --demo", "simulated sensor"]),
    # the guided steps are the simulator's calibration scenario; no other scenario follows them
    (FAST_DEMO + ["--scenario", "desk-day"], ["No such option: --scenario"]),
    (["--seed", "3"], ["--seed: only with --demo"]),
])
def test_calibrate_refuses_options_that_do_not_fit(tmp_path, monkeypatch, args, fragments):
    from typer.testing import CliRunner

    from cli_checks import one_line_error
    from sensorback.cli.app import app

    monkeypatch.setenv("SENSORBACK_CALIBRATIONS", str(tmp_path / "cal.json"))
    one_line_error(CliRunner().invoke(app, ["calibrate", *args]), *fragments)
    assert not (tmp_path / "cal.json").exists()  # nothing calibrated, nothing saved


from sensorback.core.states import STATES  # noqa: E402


def test_a_calibration_from_another_mounting_is_warned_about(tmp_path, monkeypatch):
    """A clip worn differently from calibration day (here another simulated wearer's mounting)
    reads walking as lying or upside down: every posture would be wrong, silently. analyze says
    so on stderr; with the calibration of the recording's own mounting it says nothing."""
    from typer.testing import CliRunner

    from conftest import DEMO
    from sensorback.cli.app import app

    monkeypatch.setenv("SENSORBACK_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("SENSORBACK_DB", str(tmp_path / "sb.db"))
    runner = CliRunner()
    mine = tmp_path / "mine.json"
    assert runner.invoke(app, ["calibrate", "--demo", "--speed", "200", "--out", str(mine)]).exit_code == 0  # seed 0
    own = tmp_path / "own.sbr"
    assert runner.invoke(app, ["simulate", "--scenario", "demo", "--seed", "0", "--duration", "600",
                               "--out", str(own)]).exit_code == 0
    other = DEMO  # seed 1: clipped on otherwise
    r = runner.invoke(app, ["analyze", str(other), "--calibration", str(mine)])
    assert r.exit_code == 0, r.output
    (line,) = [ln for ln in r.stderr.splitlines() if ln.startswith("warning: ")]
    assert str(other) in line and "not worn as it was when calibrated" in line and "mine.json" in line
    r = runner.invoke(app, ["analyze", str(own), "--calibration", str(mine)])
    assert r.exit_code == 0 and "warning" not in r.stderr, r.stderr
    # replay, and monitor with the calibration calibrate stored for the demo sensor, say it too
    r = runner.invoke(app, ["replay", str(other), "--calibration", str(mine), "--db", str(tmp_path / "r.db")])
    assert r.exit_code == 0, r.output
    assert "not worn as it was when calibrated" in r.stderr and str(other) in r.stderr
    r = runner.invoke(app, ["replay", str(own), "--calibration", str(mine), "--db", str(tmp_path / "r.db")])
    assert r.exit_code == 0 and "warning" not in r.stderr, r.stderr
    # seed 1's sensor, clipped on otherwise than when 'calibrated' (seed 0's calibration stored for it)
    stored = CalibrationStore()
    stored.save(["demo-seed1"], stored.load("demo")[0], device="demo-demo-seed1")
    for seed, misfits in (("1", True), ("0", False)):
        r = runner.invoke(app, ["monitor", "--demo", "--seed", seed, "--speed", "2000", "--plain",
                                "--db", str(tmp_path / f"m{seed}.db")])
        assert r.exit_code == 0, r.output
        assert "calibration of demo" in r.stdout
        assert ("warning: walking reads" in r.stdout) is misfits, r.stdout[-1500:]
