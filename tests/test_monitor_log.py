"""The dashboard at 80x24 (Textual's pilot): the event log scrolls with the newest line in view, so a
break prompt shows when it comes and "the source ended; press q" shows at the end."""

from __future__ import annotations

import asyncio
import html
import re

import pytest

pytest.importorskip("textual")

from sensorback.coach import CoachSettings  # noqa: E402
from sensorback.live import CalibrationStore, LiveSession  # noqa: E402
from sensorback.sources.demo import DemoSource  # noqa: E402
from sensorback.ui.dashboard import MonitorApp  # noqa: E402
from sensorback.ui.notify import Notifier  # noqa: E402
from conftest import DEADLINE_S, HoldingSource, async_until  # noqa: E402


async def until(pilot, cond, what):
    """async_until, the pilot letting the app run (and redraw) between polls."""
    return await async_until(cond, what, poll_s=0.05, sleep=pilot.pause)


def shown(app) -> tuple[list[str], str]:
    """(the log lines in view, the whole screen's text as drawn)."""
    log = app.query_one("#events")
    top, rows = round(log.scroll_y), log.scrollable_content_region.height
    screen = html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")
    return app.log_lines[top:top + rows], " ".join(screen.split())


def test_the_event_log_keeps_the_newest_line_in_view_at_80x24(tmp_path):
    session = LiveSession(DemoSource("demo", speed=1000), settings=CoachSettings(sit_limit_min=2),
                          device_key="demo", calibrations=CalibrationStore(tmp_path / "cal.json"))
    # held at the first break prompt while the test reads the screen
    source = HoldingSource(session.source, lambda: session.meters.prompts > 0)
    session.source = source
    app = MonitorApp(session, Notifier(bell=lambda: None, enabled=False))
    PROMPT, END = "break prompt: you have been sitting 2 min", "the source ended; press q to quit"

    def prompt_shown():
        visible, screen = shown(app)
        return any(PROMPT in ln for ln in visible) and PROMPT in screen

    def end_shown():
        visible, screen = shown(app)
        return bool(visible) and visible[-1].endswith(END) and END in screen

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: session.meters.prompts > 0, "the first break prompt")
            # the session is held there: the prompt, once drawn, is the log's newest line and in view
            await until(pilot, prompt_shown, f"{PROMPT!r} in the log's view and on the screen")
            visible, screen = shown(app)
            assert any(PROMPT in ln for ln in visible), visible
            assert PROMPT in screen
            source.release()
            await until(pilot, lambda: any("press q" in n for n in app._notes), "the end of the source")
            await until(pilot, end_shown, f"{END!r} as the log's last line in view and on the screen")
            visible, screen = shown(app)
            lines = app.log_lines
            assert len(lines) > len(visible)  # more than fits: it scrolled
            assert visible[-1] == lines[-1] and lines[-1].endswith(END)
            assert END in screen
            assert any("break prompt: you have been sitting" in ln for ln in lines)  # kept, above
            # wrapped to the width left beside the scrollbar: RichLog wrapped at 78 columns at least,
            # so at 80x24 the ends of long lines ('... the shoulders d[rop]') were under it
            width = app.query_one("#events").scrollable_content_region.width
            assert 60 < width < 80 and all(len(ln) <= width for ln in lines), [ln for ln in lines if len(ln) > width]
            await pilot.press("q")
            await pilot.pause()
        return app.return_code

    assert asyncio.run(asyncio.wait_for(go(), DEADLINE_S + 30)) == 0


# ------------------------------------------------------------------ no notification service: said once

UNAVAILABLE = "desktop notifications unavailable (no D-Bus session bus)"


@pytest.fixture
def no_bus(monkeypatch, tmp_path):
    import os
    from pathlib import Path

    if Path(f"/run/user/{os.getuid()}/bus").exists():
        pytest.skip("this machine has a D-Bus session bus")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("SENSORBACK_NOTIFY", raising=False)
    monkeypatch.setenv("SENSORBACK_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("SENSORBACK_DB", str(tmp_path / "sb.db"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # where 'monitor --demo' stores (demo.db)
    monkeypatch.setenv("SENSORBACK_CALIBRATIONS", str(tmp_path / "cal.json"))


def test_the_notifier_says_once_why_it_rings_the_bell(no_bus):
    notes, rung = [], []
    n = Notifier(bell=lambda: rung.append(1), on_note=notes.append)
    assert [x.startswith(UNAVAILABLE) for x in notes] == [True]  # at once, before any prompt
    assert [asyncio.run(n.notify("Time for a break", "up you get")) for _ in range(3)] == ["bell"] * 3
    assert len(notes) == 1 and len(rung) == 3
    quiet = []
    Notifier(bell=lambda: None, on_note=quiet.append, enabled=False)  # turned off on purpose: nothing said
    assert quiet == []


def test_the_dashboard_says_it_once(no_bus, tmp_path):
    session = LiveSession(DemoSource("demo", speed=1000), settings=CoachSettings(sit_limit_min=2),
                          device_key="demo", calibrations=CalibrationStore(tmp_path / "cal.json"))
    app = MonitorApp(session)  # its own notifier, as 'sensorback monitor' makes it

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: any("press q" in n for n in app._notes), "the end of the source")
            await until(pilot, lambda: len(app.notifications) >= session.meters.prompts > 0, "the prompts' bells")
            # the log drawn up to its last line (the source's end, written after the note at the start)
            await until(pilot, lambda: any(ln.endswith("the source ended; press q to quit") for ln in app.log_lines),
                        "the end of the source drawn in the log")
            said = [ln for ln in app.log_lines if "desktop notifications unavailable" in ln]
            assert len(said) == 1 and UNAVAILABLE in said[0], app.log_lines
            assert {how for _, _, how in app.notifications} == {"bell"}
            await pilot.press("q")
            await pilot.pause()
        return app.return_code

    assert asyncio.run(asyncio.wait_for(go(), DEADLINE_S + 30)) == 0


def test_a_plain_demo_run_says_it_once_and_is_one_session(no_bus):
    """Also: one run is one stored session (a calibration change mid-run is a calibration event in
    it: tests/test_live.py::test_upright_key_recalibrates_in_the_same_session)."""
    import os
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "sensorback.cli", "monitor", "--demo", "--plain", "--scenario", "demo",
           "--speed", "1000", "--set", "sit_limit_min=2", "--set", "reprompt_min=1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=DEADLINE_S, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("break prompt: you have been sitting") >= 2  # more than one bell rung
    said = [ln for ln in done.stderr.splitlines() if "desktop notifications unavailable" in ln]
    assert said == [f"note: {UNAVAILABLE}; prompts and nudges ring the terminal bell instead"], done.stderr
    assert " epochs stored (session 1) in " in done.stderr.splitlines()[-2], done.stderr
