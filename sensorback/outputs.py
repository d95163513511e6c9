"""The files sensorback writes for the user besides recordings and databases (an epochs table, an
events file, an HTML report, a calibration file), known by how each writer begins its file, with the
writer's own constant or test, never by the file's name (a user's recording may be named day.epochs.csv).

Two users: an output option replaces an existing file only when it is an earlier one of its own kind
(cli/_own_outputs.py), and `sensorback cohort` leaves such files out when it looks for recordings in
a study folder (cohort/run.py), where an epochs table or events file would otherwise fail as a
recording. The writers are imported only when a file is looked at (and a report's or calibration's
module only when the file begins like one), so that the commands' start-up does not pay for them.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

_HEAD_BYTES = 4096
_JSON_MAX_BYTES = 1 << 20  # a calibration file is about 1 KB


def head(path: Path) -> bytes | None:
    """The first few KB of the file, gzip undone (a .csv.gz epochs table); None when unreadable."""
    try:
        with open(path, "rb") as f:
            start = f.read(_HEAD_BYTES)
    except OSError:
        return None
    if start[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as f:
                start = f.read(_HEAD_BYTES)
        except (OSError, EOFError):  # not gzip after all (gzip.BadGzipFile is an OSError), or cut short
            pass
    return start


def first_line(start: bytes) -> str:
    return start.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")


def _is_epochs(path: Path, start: bytes) -> bool:
    from .formats.epochs_csv import EPOCHS_HEADER

    return first_line(start) == EPOCHS_HEADER


def _is_events(path: Path, start: bytes) -> bool:
    from .formats.events_csv import EVENTS_HEADER

    return first_line(start) == ",".join(EVENTS_HEADER)


def _is_report(path: Path, start: bytes) -> bool:
    if not start.startswith(b"<"):
        return False
    from .report.html import is_report_page

    return is_report_page(start.decode("utf-8", "replace"))


def _is_calibration(path: Path, start: bytes) -> bool:
    if not start.lstrip().startswith(b"{"):
        return False
    from .calibrations import is_saved_calibration

    try:
        if path.stat().st_size > _JSON_MAX_BYTES:
            return False
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return is_saved_calibration(text)


@dataclass(frozen=True)
class Kind:
    what: str  # 'an epochs table sensorback wrote', for a refusal
    noun: str  # 'epochs table', for a count ('2 epochs tables')
    test: Callable[[Path, bytes], bool]  # of the file's path and head


#: Every kind of output, by the name an output option gives it (check_output(replaces=...)).
KINDS = {
    "epochs": Kind("an epochs table sensorback wrote", "epochs table", _is_epochs),
    "events": Kind("an events file sensorback wrote", "events file", _is_events),
    "report": Kind("an HTML report sensorback wrote", "HTML report", _is_report),
    "calibration": Kind("a calibration file sensorback wrote", "calibration file", _is_calibration),
}


def output_kind(path: Path, start: bytes | None = None) -> str | None:
    """The KINDS name of the output sensorback wrote that ``path`` is (``start``: its head, when
    already read), or None: not one, or unreadable."""
    if start is None:
        start = head(path)
    if start is None:
        return None
    return next((name for name, kind in KINDS.items() if kind.test(path, start)), None)


def what_it_is(path: Path, start: bytes | None) -> str:
    """' (it looks like a recording)', ' (it is an events file sensorback wrote)', or '' when unsure;
    ``start`` is the file's head (None: unreadable)."""
    if start is None:
        return " (it cannot be read)"
    from .extensions import DEVICE_EXT
    from .formats.csv_io import looks_like_samples
    from .formats.native import MAGIC
    from .sim.labels import HEADER as LABELS_HEADER

    if start.startswith(MAGIC[:5]) or path.name.lower().endswith(tuple(DEVICE_EXT)):
        return " (it looks like a recording)"
    if start.startswith(b"SQLite format 3\x00"):
        return " (it looks like a database)"
    kind = output_kind(path, start)
    if kind is not None:
        return f" (it is {KINDS[kind].what})"
    if first_line(start) == ",".join(LABELS_HEADER):
        return " (it looks like the labels of a recording)"
    if looks_like_samples(path, start):
        return " (it looks like a recording)"
    return ""
