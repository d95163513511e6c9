"""The events file of ``sensorback replay --events``: one row per coach event, exactly the columns
t,kind,detail (t in seconds on the recording's axis, 3 decimals), each row flushed as it is
written into a temp file beside it (sensorback.private.Replacing), renamed into place when the file
is closed, whether the replay finished or not: an interrupted or failed replay leaves the events up
to that point, and an earlier events file it replaces stays whole until then. .gz compresses, as
for the epochs file (each flush is a gzip sync point, so the rows written so far stay readable)."""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import naming
from ..private import Replacing

#: The columns, the first line of every events file: also how ``--events`` knows an earlier one it may replace.
EVENTS_HEADER = ("t", "kind", "detail")


class EventsFile:
    """``with EventsFile(path) as f: f.write(event)`` for events with t, kind and detail (CoachEvent)."""

    def __init__(self, path: Path):
        self.path = path
        self.rows = 0
        with naming(path):  # a full disk names the file
            self._file = Replacing(path, "w", gzip_level=6 if path.name.lower().endswith(".gz") else None,
                                   newline="", encoding="utf-8")
            self._fh = self._file.file
            try:
                self._writer = csv.writer(self._fh, lineterminator="\n")
                self._writer.writerow(EVENTS_HEADER)
                self._fh.flush()
            except BaseException:
                self._file.discard()
                raise

    def write(self, event) -> None:
        with naming(self.path):
            self._writer.writerow((f"{event.t:.3f}", event.kind, event.detail))
            self._fh.flush()
        self.rows += 1

    def close(self) -> None:
        """Put the file in place with the events written so far (also after a failure: they happened)."""
        if self._fh is not None:
            self._fh = None
            with naming(self.path):
                self._file.done()

    def discard(self) -> None:
        """Remove what was written: an earlier file of that name stays as it was (nothing happened)."""
        if self._fh is not None:
            self._fh = None
            self._file.discard()

    def __enter__(self) -> "EventsFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
