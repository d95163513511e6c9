"""The dashboard at 80x24 (Textual's pilot): the event log scrolls with the newest line in view, so a
break prompt shows when it comes and "the source ended; press q" shows at the end."""

from __future__ import annotations

import asyncio
import html
import re
import time

import pytest

pytest.importorskip("textual")

from sensorback.coach import CoachSettings  # noqa: E402
from sensorback.live import CalibrationStore, LiveSession  # noqa: E402
from sensorback.sources.demo import DemoSource  # noqa: E402
from sensorback.ui.dashboard import MonitorApp  # noqa: E402
from sensorback.ui.notify import Notifier  # noqa: E402

DEADLINE_S = 120.0  # generous: the machine may be busy


class Gate:
    """A source that pauses after the block during which ``hold()`` became true, until opened."""

    def __init__(self, source, hold):
        self.source, self.hold = source, hold
        self.paused = asyncio.Event()
        self.opened = asyncio.Event()

    def __aiter__(self):
        return self._run()

    async def _run(self):
        async for item in self.source:
            yield item  # the session has handled it when the next one is asked for
            if not self.opened.is_set() and self.hold():
                self.paused.set()
                await self.opened.wait()

    async def stop(self):
        self.opened.set()
        await self.source.stop()


async def until(pilot, cond, what):
    end = time.monotonic() + DEADLINE_S
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def shown(app) -> tuple[list[str], str]:
    """(the log lines in view, the whole screen's text as drawn)."""
    log = app.query_one("#events")
    top, rows = round(log.scroll_y), log.scrollable_content_region.height
    screen = html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")
    return app.log_lines[top:top + rows], " ".join(screen.split())


def test_the_event_log_keeps_the_newest_line_in_view_at_80x24(tmp_path):
    session = LiveSession(DemoSource("demo", speed=1000), settings=CoachSettings(sit_limit_min=2),
                          device_key="demo", calibrations=CalibrationStore(tmp_path / "cal.json"))
    gate = Gate(session.source, lambda: session.meters.prompts > 0)
    session.source = gate
    app = MonitorApp(session, Notifier(bell=lambda: None, enabled=False))

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, gate.paused.is_set, "the first break prompt")
            await pilot.pause(0.1)
            visible, screen = shown(app)
            assert any("break prompt: you have been sitting 2 min" in ln for ln in visible), visible
            assert "break prompt: you have been sitting 2 min" in screen
            gate.opened.set()
            await until(pilot, lambda: any("press q" in n for n in app._notes), "the end of the source")
            await pilot.pause(0.1)
            visible, screen = shown(app)
            lines = app.log_lines
            assert len(lines) > len(visible)  # more than fits: it scrolled
            assert visible[-1] == lines[-1] and lines[-1].endswith("the source ended; press q to quit")
            assert "the source ended; press q to quit" in screen
            assert any("break prompt: you have been sitting" in ln for ln in lines)  # kept, above
            assert all(len(ln) <= 80 for ln in lines)  # wrapped, not cut off
            await pilot.press("q")
            await pilot.pause()
        return app.return_code

    assert asyncio.run(asyncio.wait_for(go(), DEADLINE_S + 30)) == 0
