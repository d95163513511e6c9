"""Files the user creates are theirs alone: readable and writable by the owner only (0600).

Recordings, databases, calibrations, exported epochs and events, HTML reports: they describe a
person's body and day. Every writer in sensorback creates its files through this module, so the
rule lives in one place:

    fd = create_private(path)                 # an os-level descriptor (native recordings)
    with open_private(path, "w", encoding="utf-8", newline="") as f: ...
    with open_private("day.csv.gz", "wt", gzip_level=3) as f: ...

A file that already existed is tightened to 0600 when it is overwritten (only a regular file the
user owns; a FIFO or /dev/stdout is left alone). Temporary files from ``tempfile.mkstemp`` are 0600
already.
"""

from __future__ import annotations

import gzip
import os
import stat
from typing import IO, Any

PRIVATE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def create_private(path: str | os.PathLike, *, exclusive: bool = False) -> int:
    """Open ``path`` for writing (created, or truncated; with ``exclusive`` it must not exist),
    readable and writable by its owner only. Returns the descriptor."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(os.fspath(path), flags, PRIVATE_MODE)
    try:
        if hasattr(os, "fchmod") and stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, PRIVATE_MODE)  # an existing file keeps its old mode on open
    except PermissionError:  # not ours (e.g. a shared folder's file): leave its mode
        pass
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_private(path: str | os.PathLike, mode: str = "w", *, gzip_level: int | None = None, **kwargs: Any) -> IO:
    """``open(path, mode, **kwargs)`` for writing a private file; mode is "w", "wt" or "wb".
    With ``gzip_level`` the file is a gzip stream (text or binary as mode says)."""
    if mode not in ("w", "wt", "wb"):
        raise ValueError(f"open_private: mode must be 'w', 'wt' or 'wb', not {mode!r}")
    fd = create_private(path)
    if gzip_level is None:
        return os.fdopen(fd, mode, **kwargs)
    os.close(fd)  # gzip opens by name; the file keeps its 0600
    return gzip.open(path, mode if mode == "wb" else "wt", compresslevel=gzip_level, **kwargs)


def writing_path(path: str | os.PathLike) -> str:
    """The temp file a whole file is written to before it is renamed into place: one per process,
    so that two commands writing the same name never write into one temp file (the last rename
    wins, and each file that lands is whole)."""
    return f"{os.fspath(path)}.{os.getpid()}.writing"


__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_MODE", "create_private", "open_private", "writing_path"]
