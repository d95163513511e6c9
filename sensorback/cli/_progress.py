"""A small progress line on stderr, shown only for work that takes more than a moment."""

from __future__ import annotations

import sys
import threading
import time

from ..timefmt import precise_duration

_LOCK = threading.Lock()
_ACTIVE: list["Progress"] = []


def clear_active() -> None:
    """Erase a progress line that is on screen, so a message can be printed cleanly (it redraws)."""
    with _LOCK:
        for p in _ACTIVE:
            p._erase()


def interactive(json_output: bool = False) -> bool:
    """Progress is for a person watching a terminal: not for pipes, files or --json."""
    if json_output:
        return False
    try:
        return sys.stderr.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """``with Progress("analyzing day.sbr", total=n) as p: ... p.update(done)``

    Draws ``label [#####.....]  45%  12 s`` (or ``label ...  12 s`` without a total; the time as
    timefmt.precise_duration writes it, '1 h 05 min' in a long cohort run) from a background thread,
    starting only after ``delay`` seconds, and erases itself when done. A Ctrl-C (or kill) that ends
    it carries its label out, so that the command's last line says what was stopped: 'interrupted
    while writing day.csv.gz' (stopped_while; drawn or not, since the line is said either way).
    """

    WIDTH = 24

    def __init__(self, label: str, total: float | None = None, enabled: bool = True, delay: float = 0.7,
                 stream=None):
        self.label = label
        self.total = total
        self.done = 0.0
        self.enabled = enabled
        self.delay = delay
        self.stream = stream or sys.stderr
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = 0
        self._t0 = 0.0

    def update(self, done: float, label: str | None = None, total: float | None = None) -> None:
        """``done`` of the total so far; a new label (the next phase) and total, when given."""
        self.done = done
        if label is not None:
            self.label = label
        if total is not None:
            self.total = total

    def line(self) -> str:
        elapsed = time.monotonic() - self._t0
        if self.total:
            frac = min(max(self.done / self.total, 0.0), 1.0)
            filled = int(round(frac * self.WIDTH))
            bar = "#" * filled + "." * (self.WIDTH - filled)
            return f"{self.label} [{bar}] {100 * frac:3.0f}%  {precise_duration(elapsed)}"
        return f"{self.label} ...  {precise_duration(elapsed)}"

    def _draw(self) -> None:
        with _LOCK:
            text = self.line()
            pad = " " * max(0, self._drawn - len(text))
            self.stream.write("\r" + text + pad)
            self.stream.flush()
            self._drawn = len(text)

    def _erase(self) -> None:
        if self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        while True:
            self._draw()
            if self._stop.wait(0.2):
                return

    def __enter__(self) -> "Progress":
        self._t0 = time.monotonic()
        if self.enabled:
            with _LOCK:
                _ACTIVE.append(self)
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            with _LOCK:
                _ACTIVE.remove(self)
                self._erase()
        if isinstance(exc, KeyboardInterrupt) and stopped_while(exc) is None:  # the innermost label
            setattr(exc, _WHILE, self.label)


_WHILE = "sensorback_progress_label"


def stopped_while(e: BaseException | None) -> str | None:
    """The label of the innermost Progress that a Ctrl-C (a KeyboardInterrupt; a kill's Terminated
    too) ended, looked for along the exceptions ``e`` was raised from; None when none ran."""
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        label = getattr(e, _WHILE, None)
        if label is not None:
            return label
        e = e.__cause__
    return None
