"""The events file of ``sensorback replay --events``: one row per coach event, exactly the columns
t,kind,detail (t in seconds on the recording's axis, 3 decimals), each row flushed as it is
written, so an interrupted or failed replay leaves the events up to that point."""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import naming
from ..private import open_private

EVENTS_HEADER = ("t", "kind", "detail")


class EventsFile:
    """``with EventsFile(path) as f: f.write(event)`` for events with t, kind and detail (CoachEvent)."""

    def __init__(self, path: Path):
        self.path = path
        self.rows = 0
        with naming(path):  # a full disk names the file
            self._fh = open_private(path, "w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._fh, lineterminator="\n")
            self._writer.writerow(EVENTS_HEADER)
            self._fh.flush()

    def write(self, event) -> None:
        with naming(self.path):
            self._writer.writerow((f"{event.t:.3f}", event.kind, event.detail))
            self._fh.flush()
        self.rows += 1

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            with naming(self.path):
                fh.close()

    def __enter__(self) -> "EventsFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
