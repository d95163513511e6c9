"""``sensorback monitor --plain``: one line per event on stdout instead of the dashboard.

    asyncio.run(run_plain(session, make_notifier))

Prompts, nudges, state and connection changes, calibrations and notes, each as
``00:31:02  text`` (sample time), flushed at once, for logs and pipes; break prompts and slouch
nudges also go to the notifier (desktop notification or bell), made by ``make_notifier`` once the
sensor has connected (so that its notes, such as why the bell is used, come only when prompts can
follow: a sensor that never connects ends with the command's one error line alone). Ctrl-C or SIGTERM stops the
session's source, and the session then writes everything (sensorback.live.LiveSession.stop).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any, Callable, Optional

#: Connection changes printed (battery and signal notes only update a dashboard's meters).
PLAIN_STATUS = ("connecting", "connected", "disconnected", "reconnecting", "scanning", "stopped")


def plain_line(ev) -> Optional[str]:
    """The line printed for a LiveEvent, or None for those that only update meters."""
    from ..timefmt import clock

    if ev.kind == "epochs":
        return None
    if ev.kind == "status" and ev.data.kind not in PLAIN_STATUS:
        return None
    return f"{clock(ev.t)}  {ev.text}"


async def run_plain(session, make_notifier: Callable[[], Any]) -> None:
    """Run the session to its end, printing its events and sending its notifications."""
    from ..coach.text import notification_title

    loop = asyncio.get_running_loop()
    pending: set = set()
    made: list = []

    def notifier():
        if not made:
            made.append(make_notifier())
        return made[0]

    def on_event(ev) -> None:
        line = plain_line(ev)
        if line is not None:
            print(line, flush=True)
        if ev.kind == "status" and ev.data.kind == "connected":
            notifier()
        title = notification_title(ev.data) if ev.kind == "coach" else None
        if title is not None:
            task = loop.create_task(notifier().notify(title, ev.text))
            pending.add(task)
            task.add_done_callback(pending.discard)

    session.subscribe(on_event)

    def stop() -> None:
        if not session.stop_requested:
            loop.create_task(session.stop())

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not the main thread / Windows
            pass
    try:
        await session.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):  # pragma: no cover
                pass
        if pending:
            await asyncio.wait(pending, timeout=1.0)


__all__ = ["PLAIN_STATUS", "plain_line", "run_plain"]
