"""``sensorback monitor --plain``: one line per event on stdout instead of the dashboard.

    asyncio.run(run_plain(session, make_notifier))

Prompts, nudges, state and connection changes, calibrations and notes, each as
``00:31:02  text`` (sample time), for logs and pipes, in the order of their sample times (equal
times as they came): ``InTimeOrder`` holds a line until the session says nothing earlier can
follow (its ``settled`` events), which is as soon as the core has settled the epochs up to it. A
lost connection and the end are said at once, after what waits (no samples will come to settle
it): the epochs the core still held back then follow them. Break prompts and slouch
nudges also go to the notifier (desktop notification or bell), made by ``make_notifier`` once the
sensor has connected (so that its notes, such as why the bell is used, come only when prompts can
follow: a sensor that never connects ends with the command's one error line alone). Ctrl-C, SIGTERM or a
closed terminal (SIGHUP; not when it is ignored, as under nohup) stops the session as the dashboard's do
(ui.stopping.SignalStop); run_plain returns which signal it was. A line the gone terminal cannot take (EIO,
before its SIGHUP is handled) is dropped, so that the session still ends and is stored. A pipe whose
reader is gone (EPIPE: `monitor --plain | head -3`) stops the session the same way, as SIGPIPE (the
rest of stdout goes to /dev/null): everything seen so far is stored, as on Ctrl-C. Gone only while the
session ends (its last lines, the final flush), it is still answered: nothing is left to stop.
"""

from __future__ import annotations

import asyncio
import errno
import heapq
import math
import signal
import sys
from typing import Any, Callable, Optional

from ..signals import to_devnull
from .stopping import SignalStop

#: run_plain's answer when the output's reader went away (the signal a shell would have sent).
READER_GONE = getattr(signal, "SIGPIPE", 13)

#: Connection changes printed (battery and signal notes only update a dashboard's meters).
PLAIN_STATUS = ("connecting", "connected", "disconnected", "reconnecting", "scanning", "stopped")
#: Connection changes said at once, after every line waiting: nothing will settle it while they last.
SAID_AT_ONCE = ("disconnected", "reconnecting", "stopped")


class InTimeOrder:
    """Lines by sample time, each written once nothing dated before it can follow (``settle``);
    lines without a time are written at once. Stable: equal times keep the order they came in."""

    def __init__(self, write: Callable[[str], Any]):
        self.write = write
        self.settled = -math.inf
        self._waiting: list[tuple[float, int, str]] = []
        self._n = 0

    def add(self, t: Optional[float], line: str) -> None:
        if t is None:
            self.write(line)
            return
        heapq.heappush(self._waiting, (float(t), self._n, line))
        self._n += 1
        self.settle(self.settled)

    def settle(self, t: float) -> None:
        """Nothing dated before ``t`` will follow: write what waits up to it."""
        self.settled = max(self.settled, float(t))
        while self._waiting and self._waiting[0][0] <= self.settled:
            self.write(heapq.heappop(self._waiting)[2])

    def flush(self) -> None:
        self.settle(math.inf)


def plain_line(ev) -> Optional[str]:
    """The line printed for a LiveEvent, or None for those that only update meters."""
    from ..timefmt import clock

    if ev.kind in ("epochs", "settled"):
        return None
    if ev.kind == "status" and ev.data.kind not in PLAIN_STATUS:
        return None
    return f"{clock(ev.t)}  {ev.text}"


async def run_plain(session, make_notifier: Callable[[], Any]) -> Optional[int]:
    """Run the session to its end, printing its events and sending its notifications; the signal
    that stopped it (None: the source ended by itself)."""
    from ..coach.text import notification_title

    loop = asyncio.get_running_loop()
    pending: set = set()
    made: list = []

    def notifier():
        if not made:
            made.append(make_notifier())
        return made[0]

    stop = SignalStop(session)

    def write(line: str) -> None:
        try:
            print(line, flush=True)
        except OSError as e:
            if e.errno == errno.EPIPE:  # nobody reads any more (`| head`): stop, and store it all
                to_devnull(sys.stdout)
                # Said even when the session is already ending (its last lines, the final flush):
                # the command ends as a pipe ends all the same.
                stop.stop(READER_GONE)
            elif e.errno != errno.EIO:
                raise
            # A hung-up terminal (its SIGHUP is on its way, or was ignored): what it cannot show is
            # dropped, so that the session still ends and is stored.

    order = InTimeOrder(write)

    def on_event(ev) -> None:
        if ev.kind == "settled":
            order.settle(ev.t)
        line = plain_line(ev)
        if line is not None:
            if ev.kind == "status" and ev.data.kind in SAID_AT_ONCE:
                order.flush()
                order.write(line)
            else:
                order.add(ev.t, line)
        if ev.kind == "status" and ev.data.kind == "connected":
            notifier()
        title = notification_title(ev.data) if ev.kind == "coach" else None
        if title is not None:
            task = loop.create_task(notifier().notify(title, ev.text))
            pending.add(task)
            task.add_done_callback(pending.discard)

    session.subscribe(on_event)
    stop.install(loop)
    try:
        await session.run()
    finally:
        order.flush()
        stop.remove()  # the command's own handlers come back
        if pending:
            await asyncio.wait(pending, timeout=1.0)
    return stop.stopped_by


__all__ = ["InTimeOrder", "PLAIN_STATUS", "READER_GONE", "SAID_AT_ONCE", "plain_line", "run_plain"]
