"""Which existing file an output option may write over: only one of the kind that option writes,
as sensorback wrote it (an earlier epochs table, events file, HTML report or calibration: users
re-run analyses), never anything else (a recording in any format, a database, a file of the user's
own). Each kind is known by how its writer begins the file, with the writer's own constant or test.
A folder option (cohort --out) may write into a new or empty folder or an earlier output of its own,
as its writer tells (cohort/folder.py), never over the user's files of the names it writes.

check_output (_args.py) calls refuse_unless_own or refuse_unless_own_folder before any work starts.
Everything is imported only when an output already exists, so that the commands' start-up does not
pay for it.
"""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

from ..errors import SensorbackError

_HEAD_BYTES = 4096
_JSON_MAX_BYTES = 1 << 20  # a calibration file is about 1 KB


def _head(path: Path) -> bytes | None:
    """The first few KB of the file, gzip undone (a .csv.gz epochs table); None when unreadable."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError:
        return None
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as f:
                head = f.read(_HEAD_BYTES)
        except (OSError, EOFError):  # not gzip after all (gzip.BadGzipFile is an OSError), or cut short
            pass
    return head


def _first_line(head: bytes) -> str:
    return head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")


def _is_epochs(path: Path, head: bytes) -> bool:
    from ..formats.epochs_csv import EPOCHS_HEADER

    return _first_line(head) == EPOCHS_HEADER


def _is_events(path: Path, head: bytes) -> bool:
    from ..formats.events_csv import EVENTS_HEADER

    return _first_line(head) == ",".join(EVENTS_HEADER)


def _is_report(path: Path, head: bytes) -> bool:
    from ..report.html import is_report_page

    return is_report_page(head.decode("utf-8", "replace"))


def _is_calibration(path: Path, head: bytes) -> bool:
    from ..calibrations import is_saved_calibration

    if not head.lstrip().startswith(b"{"):
        return False
    try:
        if path.stat().st_size > _JSON_MAX_BYTES:
            return False
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return is_saved_calibration(text)


#: What each option may replace: the words for it in a refusal, and the test of a file's head.
KINDS = {
    "epochs": ("an epochs table sensorback wrote", _is_epochs),
    "events": ("an events file sensorback wrote", _is_events),
    "report": ("an HTML report sensorback wrote", _is_report),
    "calibration": ("a calibration file sensorback wrote", _is_calibration),
}


def _what_it_is(path: Path, head: bytes | None) -> str:
    """' (it looks like a recording)', ' (it is an events file sensorback wrote)', or '' when unsure."""
    if head is None:
        return " (it cannot be read)"
    from ..extensions import DEVICE_EXT
    from ..formats.csv_io import looks_like_samples
    from ..formats.native import MAGIC
    from ..sim.labels import HEADER as LABELS_HEADER

    if head.startswith(MAGIC[:5]) or path.name.lower().endswith(tuple(DEVICE_EXT)):
        return " (it looks like a recording)"
    if head.startswith(b"SQLite format 3\x00"):
        return " (it looks like a database)"
    for what, test in KINDS.values():
        if test(path, head):
            return f" (it is {what})"
    if _first_line(head) == ",".join(LABELS_HEADER):
        return " (it looks like the labels of a recording)"
    if looks_like_samples(path, head):
        return " (it looks like a recording)"
    return ""


def refuse_unless_own(option: str, path: Path, kind: str) -> None:
    """A one-line SensorbackError unless ``path``, which the option would write, may be written
    over: it does not exist, it is one of ``kind`` (KINDS) that sensorback wrote, it is empty
    (nothing to lose), or it is not a regular file (/dev/stdout, a FIFO: written to, not replaced)."""
    what, test = KINDS[kind]
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise SensorbackError(f"{option}: cannot look at {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
        return
    head = _head(path)
    if head is not None and test(path, head):
        return
    raise SensorbackError(f"{option}: {path} already exists and is not {what}{_what_it_is(path, head)}; "
                          "choose another name or delete it first")


def _describe(path: Path) -> str:
    """What a file the user has where a folder option would write looks like ('' for anything but a
    regular file: a FIFO is never opened, it could block)."""
    try:
        regular = stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return ""
    return _what_it_is(path, _head(path)) if regular else ""


def refuse_unless_own_folder(option: str, folder: Path, kind: str) -> None:
    """A one-line SensorbackError unless the folder the option writes into is new, empty, an earlier
    output of ``kind`` (only 'cohort': sensorback cohort's results) or holds none of the files it
    would write; the error names the first such file and what it looks like."""
    if kind != "cohort":
        raise ValueError(f"refuse_unless_own_folder: unknown kind {kind!r}")
    if not folder.is_dir():
        return
    from ..cohort.folder import refuse_written_over

    refuse_written_over(folder, option, describe=_describe)
