"""The dashboard, headless through Textual's pilot: a break prompt shows during an accelerated demo,
and the keys snooze, mark the exercise done, start a guided calibration and quit."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("textual")

from sensorback.coach import CoachSettings  # noqa: E402
from sensorback.live import CalibrationStore, LiveSession  # noqa: E402
from sensorback.sources.demo import DemoSource  # noqa: E402
from sensorback.store import open_store  # noqa: E402
from sensorback.ui.dashboard import MonitorApp, angle_bar, today_line  # noqa: E402
from sensorback.ui.notify import Notifier  # noqa: E402
from conftest import DEADLINE_S, HoldingSource, async_until  # noqa: E402


def _text(app, wid):
    return str(app.query_one(wid).render())


async def _until(pilot, cond, what):
    await async_until(cond, what, poll_s=0.05, sleep=pilot.pause)


def test_dashboard_prompt_and_keys(tmp_path):
    store = open_store(str(tmp_path / "sb.db"))
    # the first hour of the desk-day: walking in, then a seated session long enough for a prompt
    # (held at the first prompt while the test reads the screen and presses keys)
    source = HoldingSource(DemoSource("desk-day", speed=1000, duration_s=3600.0),
                           lambda: session.meters.prompts > 0)
    session = LiveSession(source, settings=CoachSettings(sit_limit_min=2), store=store,
                          device_key="demo", calibrations=CalibrationStore(tmp_path / "cal.json"),
                          recorder_kwargs={"max_epochs": 5000, "max_seconds": 600})
    rung = []
    app = MonitorApp(session, Notifier(bell=lambda: rung.append(1), enabled=False))

    async def go():
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: session.meters.prompts > 0, "a break prompt")
            app.refresh_view()
            await pilot.pause()
            events = "\n".join(app.log_lines)
            assert "break prompt: you have been sitting 2 min" in events
            assert "Sitting clock:" in _text(app, "#clock") and "slouch at 20" in _text(app, "#bar")
            assert _text(app, "#totals").startswith("Today: seated ")
            assert "battery 8" in _text(app, "#connection")
            await _until(pilot, lambda: app.notifications, "the bell")
            assert app.notifications[0][2] == "bell" and rung
            await pilot.press("s")
            assert any(e.kind == "snoozed" for e in session.events)
            await pilot.press("d")
            assert session.meters.exercises == 1
            app.refresh_view()
            assert "done:" in "\n".join(app.log_lines)
            await pilot.press("g")  # the guided calibration: its first step shows (no samples come while held)
            assert "calibrating: sit upright and still, looking ahead, 30 s left" in _text(app, "#state")
            await pilot.press("q")
            await pilot.pause()
        return app.return_code

    rc = asyncio.run(asyncio.wait_for(go(), 2 * DEADLINE_S))
    assert rc == 0
    assert session.stop_requested and session.session_ids
    assert len(store.exercises(0, 4e9)) == 1
    assert len(store.epochs(0, 4e9)) == session.meters.epochs > 0
    assert store.session(session.session_ids[0]).ended_at is not None
    store.close()


def test_angle_bar():
    bar = angle_bar(10.0, 20.0, width=20)
    assert bar.count("█") == 5 and "│" in bar and "10°" in bar
    assert angle_bar(None, 20.0).count("█") == 0
    assert angle_bar(90.0, 20.0, width=20).count("█") == 20


def test_angle_bar_says_a_learned_slouch_line_in_whole_degrees():
    """A calibrated or learned line is a float (16.2107...): the bar names it as the notes do
    ('slouching counts from 16 degrees'), not to four decimals."""
    assert angle_bar(35.0, 16.2107).endswith("  35° (slouch at 16°)")
    assert angle_bar(None, 14.1984).endswith("  --° (slouch at 14°)")


def test_dashboard_shows_no_trunk_angle_while_the_sensor_is_off(tmp_path):
    """Not worn, the sensor lies on the desk at whatever angle (-111° in the demo): that is not the
    wearer's trunk, so the bar shows '--°' (worn again, the angle comes back)."""
    store = open_store(str(tmp_path / "sb.db"))
    source = HoldingSource(DemoSource("demo", speed=1000), lambda: session.meters.state == "not_worn")
    session = LiveSession(source, store=store, device_key="demo",
                          calibrations=CalibrationStore(tmp_path / "cal.json"),
                          recorder_kwargs={"max_epochs": 5000, "max_seconds": 600})
    app = MonitorApp(session, Notifier(bell=lambda: None, enabled=False))
    seen = {}

    async def go():
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, lambda: session.meters.state == "not_worn", "the sensor taken off")
            app.refresh_view()
            seen["off"] = (_text(app, "#bar"), session.meters.flexion_deg)
            await pilot.press("q")
            await pilot.pause()

    asyncio.run(asyncio.wait_for(go(), 2 * DEADLINE_S))
    bar, flexion = seen["off"]
    assert flexion is not None  # the core still measures the sensor's angle ...
    assert "--°" in bar and "█" not in bar, bar  # ... but the dashboard does not call it the trunk's
    assert angle_bar(flexion, 20.0) != angle_bar(None, 20.0)
    store.close()


def test_today_line_says_seated_for_sitting_and_slouching_together():
    """The day's totals call sitting + slouching 'seated', as analyze and the report do; 'sitting'
    alone is the state."""
    from collections import Counter

    line = today_line(Counter(sitting=600.0, slouching=1500.0, standing=300.0, moving=120.0))
    assert line == "Today: seated 35 min (25 min of it slouching), standing 5 min, moving 2 min"
    assert today_line(Counter()).startswith("Today: seated 0 s (0 s of it slouching)")


@pytest.mark.parametrize("key", ["ctrl+c", "ctrl+q"])
def test_ctrl_c_and_ctrl_q_stop_the_monitor_like_q(tmp_path, key):
    """In the dashboard the terminal is raw, so Ctrl-C arrives as a key, not as SIGINT: it must still
    stop the monitor as the docs and --help promise (Textual's own ctrl+c only says 'press ctrl+q'),
    and Textual's ctrl+q must stop the source and end the stored session as q does."""
    store = open_store(str(tmp_path / "sb.db"))
    source = HoldingSource(DemoSource("demo", speed=1000), lambda: session.meters.epochs >= 60)
    session = LiveSession(source, store=store, device_key="demo",
                          calibrations=CalibrationStore(tmp_path / "cal.json"),
                          recorder_kwargs={"max_epochs": 5000, "max_seconds": 600})
    app = MonitorApp(session, Notifier(bell=lambda: None, enabled=False))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: session.meters.epochs >= 60, "a minute of epochs")
            await pilot.press(key)
            await _until(pilot, lambda: session.finished, "the session to finish")
        return app.return_code

    rc = asyncio.run(asyncio.wait_for(go(), 2 * DEADLINE_S))
    assert rc == 0 and app.error is None
    assert session.stop_requested
    stored = store.epochs(0, 4e9)
    assert len(stored) == session.meters.epochs >= 60
    assert len(set(stored.t_start.tolist())) == len(stored)
    assert store.session(session.session_ids[0]).ended_at is not None
    store.close()


@pytest.mark.parametrize("when", ["running", "ended", "stalled"])
def test_dashboard_in_a_closed_terminal_ends_the_session(tmp_path, monkeypatch, when):
    """The terminal the dashboard runs in closes (a real hang-up: the kernel sends SIGHUP and
    SIGCONT, and later writes to it fail), while the demo runs or once it has ended and the
    dashboard waits for q, or then after it stopped reading (a stalled connection: the dashboard
    blocked on its output): as with --plain, the session's source is stopped and the session written
    and ended as after q, and the command ends as any does on SIGHUP, exit 129. The SIGHUP went down
    the generic path (raised in the middle of Textual's loop), and the SIGCONT then made Textual
    start drawing again on the gone terminal: 'RuntimeError: no running event loop', exit 1. And
    the write that failed on the gone terminal killed Textual's output thread, whose full queue then
    blocked the dashboard for good (spinning, never ending): always when stalled, at times otherwise."""
    import os

    from conftest import hang_up_when_shown, on_a_terminal

    from sensorback.store import demo_db_path

    for name, value in (("SENSORBACK_CONFIG", tmp_path / "config.toml"), ("SENSORBACK_DB", tmp_path / "sb.db"),
                        ("XDG_DATA_HOME", tmp_path / "data"), ("SENSORBACK_NOTIFY", "0"),
                        ("SENSORBACK_CALIBRATIONS", tmp_path / "calibrations.json"), ("TERM", "xterm-256color")):
        monkeypatch.setenv(name, str(value))
    speed, shown = ("30", b"SITTING") if when == "running" else ("2000", b"press q")  # past the sit-down (00:00:52)
    proc, main = on_a_terminal(["monitor", "--demo", "--speed", speed, "--record", str(tmp_path / "r.sbr")],
                               rows_cols=(30, 100))
    hang_up_when_shown(proc, main, shown, stalled=when == "stalled")
    assert proc.returncode == 129
    db = demo_db_path()
    store = open_store(str(db))
    (info,) = store.sessions(0, 4e9)
    stored = len(store.epochs(0, 4e9))
    store.close()
    assert info.ended_at is not None
    if when == "running":
        assert 52 < stored < 900, stored  # past the sit-down, stopped well before the demo's end
    else:
        assert stored == 900
    assert os.stat(db).st_mode & 0o777 == 0o600
    from sensorback.formats import read_native

    assert len(read_native(tmp_path / "r.sbr")) > 52 * 50  # the recording closed whole
    assert os.stat(tmp_path / "r.sbr").st_mode & 0o777 == 0o600
