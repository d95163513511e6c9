"""The results folder (--out DIR): what a cohort run writes there, and how a later run knows the folder
is an earlier cohort output, which it may write over, rather than a folder of the user's own, whose
files of the same names it must not replace (checked before any work: cli/_own_outputs.py, run.py).

A run writes, and only ever replaces, these in DIR: the three tables (OUTPUTS), the stored results
(PARTS/) and MARKER, a small JSON saying that sensorback cohort wrote the folder and in which results
format (VERSION, as every stored result says too). The marker is written before anything else, so even
a run killed before its first file leaves it; a folder an older sensorback wrote (no marker) is known
by its stored results. One run at a time: a run holds LOCK (held_by_this_run) from the moment its
arguments are checked, before it searches the study, and a second run into the same DIR is refused.
No numpy, dask or pyarrow here: the check runs before the command imports anything heavy.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import stat
from pathlib import Path

from ..errors import SensorbackError
from ..private import create_private, write_whole

PARTS = ".parts"
#: The layout of a stored result (.parts/*.json), named by the marker too. 2: seated figures are named 'seated_...'.
VERSION = 2
OUTPUTS = ("days.parquet", "days.csv", "files.csv")
MARKER = ".sensorback-cohort.json"
#: Locked (flock) by the run writing DIR; it says which process that is. Never removed (removing a
#: lock file another run is waiting to open would let two runs each lock a file of their own), but
#: with the DIR a run made and left unused (remove_unused).
LOCK = ".sensorback-cohort.lock"
WRITER = "sensorback cohort"
_PART_KEYS = {"version", "path", "fingerprint", "file", "days"}
_MARKER_MAX_BYTES = 4096


def write_marker(out: Path) -> None:
    write_whole(out / MARKER, json.dumps({"written_by": WRITER, "format": VERSION}).encode())


@contextlib.contextmanager
def held_by_this_run(out: Path, option: str = "--out"):
    """DIR for this run alone, until the block ends: an exclusive flock on DIR/LOCK (0600), or a
    one-line SensorbackError when another run holds it, before anything in DIR is touched. The
    kernel drops the lock when the holder's process ends however it ends (a crash, SIGKILL), so a
    dead run never blocks the next one; the descriptor is not inherited by the worker processes.
    Where the file system cannot lock (ENOLCK, some network mounts), the run goes on unlocked."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    path = out / LOCK
    fd = create_private(path, truncate=False)  # the holder's line is kept for the refusal to name
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = True
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                locked = False  # no locks here: nothing to hold
            else:
                raise SensorbackError(f"{option} {out}: another sensorback cohort run{_holder(path)} is using this "
                                      "folder; wait for it to end, or stop it and finish its work with --resume, "
                                      "or give another --out") from None
        if locked:
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        yield
    finally:
        os.close(fd)  # the lock goes with it


def remove_unused(out: Path) -> None:
    """DIR that this run made and ends without using (the study held no recording, Ctrl-C while it
    was searched): gone again, lock file and all, as a typo in the inputs leaves nothing behind. Called
    with the lock still held, so another run that opened the lock file meanwhile is refused; one
    that puts a file of its own in DIR keeps DIR (it is not empty, so it stays)."""
    try:
        (out / LOCK).unlink()
        out.rmdir()
    except OSError:
        pass


def _holder(path: Path) -> str:
    """' (pid 1234 on node7)', as the running holder wrote it; '' when it has not yet."""
    try:
        with open(path, "rb") as f:
            line = f.read(200).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f" ({line})" if line.startswith("pid ") and "\n" not in line else ""


def _json_of(path: Path, max_bytes: int | None = None):
    """The JSON in a regular file (never opens a FIFO, which could block); None when there is none."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        with open(path, "rb") as f:
            return json.loads(f.read(-1 if max_bytes is None else max_bytes + 1))
    except (OSError, ValueError):  # missing, unreadable, not JSON (UnicodeDecodeError is a ValueError)
        return None


def marker_format(out: Path) -> int | None:
    """The results format DIR's marker names; None when there is no marker sensorback cohort wrote."""
    doc = _json_of(out / MARKER, _MARKER_MAX_BYTES)
    if isinstance(doc, dict) and doc.get("written_by") == WRITER and type(doc.get("format")) is int:
        return doc["format"]
    return None


def is_stored_result(path: Path) -> bool:
    """A .parts/*.json file as a cohort run stores it (any version)."""
    doc = _json_of(path)
    return isinstance(doc, dict) and _PART_KEYS <= doc.keys()


def is_cohort_output(out: Path) -> bool:
    """DIR was written by sensorback cohort: it has the marker, or (written before there was one)
    stored results."""
    if marker_format(out) is not None:
        return True
    try:
        return any(q.suffix == ".json" and is_stored_result(q) for q in (out / PARTS).iterdir())
    except OSError:  # no .parts folder (or not a folder)
        return False


def _holds_something(path: Path) -> bool:
    """Something a run would write over or clear is there: anything but an empty regular file or
    an empty folder (nothing to lose)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    if stat.S_ISREG(st.st_mode):
        return st.st_size > 0
    if stat.S_ISDIR(st.st_mode):
        try:
            return any(os.scandir(path))
        except OSError:
            return True
    return True  # a link, a FIFO, ...: not something a run left


def written_over(out: Path) -> list[Path]:
    """What a run into DIR would replace or clear that no earlier cohort run wrote: nothing when DIR
    is new, empty, an earlier cohort output, or holds only files a run does not touch."""
    if not out.is_dir():
        return []
    found = []
    marker = out / MARKER
    if _holds_something(marker) and marker_format(out) is None:
        found.append(marker)
    if not is_cohort_output(out):
        found += [p for p in (*(out / name for name in OUTPUTS), out / PARTS) if _holds_something(p)]
    return found


def refuse_written_over(out: Path, option: str = "--out", describe=None) -> None:
    """A one-line SensorbackError naming the first file of the user's a run into DIR would replace
    (written_over); ``describe(path)`` may add what it looks like, e.g. ' (it looks like a recording)'."""
    found = written_over(out)
    if found:
        what = describe(found[0]) if describe is not None else ""
        raise SensorbackError(f"{option}: {found[0]} already exists and was not written by {WRITER}{what}; "
                              "choose another folder or delete it first")
