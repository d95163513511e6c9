"""How a signal stops a live session's screen, the same for both (ui.plain and ui.dashboard).

    stop = SignalStop(session)          # on_stop: what to do instead of session.stop() (the dashboard quits)
    stop.install(asyncio.get_running_loop())
    ...                                 # the session runs
    stop.remove()                       # the command's own handlers come back
    stop.stopped_by                     # the first signal that came (None: none)

Ctrl-C, SIGTERM or a closed terminal (SIGHUP) stop the session's source, and the session then
writes everything (sensorback.live.LiveSession.stop); the command learns which signal it was (a
hang-up ends it with 'terminated (SIGHUP)', exit 129, and no summary: nobody is left to read it).
A signal that is ignored stays ignored: under nohup the user asked to outlive the terminal. After a
hang-up, the outputs that were the gone terminal are pointed at /dev/null first (signals.hung_up):
what the screen still writes (a line, the dashboard's teardown) goes nowhere instead of failing on
the dead terminal (EIO), so that the session still ends and is stored.
"""

from __future__ import annotations

import signal
from typing import Any, Callable, Optional

from ..signals import STOPPING, off_loop, on_loop, silence_hung_up

SIGHUP = getattr(signal, "SIGHUP", None)


class SignalStop:
    """See the module docstring. on_stop(signal): called instead of starting session.stop()."""

    def __init__(self, session, on_stop: Optional[Callable[[int], Any]] = None):
        self.session = session
        self.on_stop = on_stop
        self.stopped_by: Optional[int] = None
        self._loop = None
        self._before: dict = {}

    def install(self, loop) -> None:
        self._loop = loop
        self._before = on_loop(loop, [sig for sig in STOPPING if signal.getsignal(sig) is not signal.SIG_IGN],
                               self._stop)

    def remove(self) -> None:
        if self._before:
            off_loop(self._loop, self._before)
            self._before = {}

    def stop(self, sig: int) -> None:
        """Stop as the signal ``sig`` would (ui.plain: SIGPIPE, when the output's reader is gone)."""
        self._stop(sig)

    def _stop(self, sig: int) -> None:
        if self.stopped_by is None:
            self.stopped_by = sig
        if sig == SIGHUP:
            silence_hung_up()
        if self.on_stop is not None:
            self.on_stop(sig)
        elif not (self.session.stop_requested or self.session.finished):  # an ended one has nothing to stop
            self._loop.create_task(self.session.stop())


__all__ = ["SignalStop"]
