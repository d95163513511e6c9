"""Which existing file an output option may write over: only one of the kind that option writes,
as sensorback wrote it (an earlier epochs table, events file, HTML report or calibration: users
re-run analyses), never anything else (a recording in any format, a database, a file of the user's
own). What each kind is, and how a file is known as one, is sensorback/outputs.py's.
A folder option (cohort --out) may write into a new or empty folder or an earlier output of its own,
as its writer tells (cohort/folder.py), never over the user's files of the names it writes.

check_output (_args.py) calls refuse_unless_own or refuse_unless_own_folder before any work starts.
Everything is imported only when an output already exists, so that the commands' start-up does not
pay for it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import SensorbackError


def refuse_unless_own(option: str, path: Path, kind: str) -> None:
    """A one-line SensorbackError unless ``path``, which the option would write, may be written
    over: it does not exist, it is one of ``kind`` (sensorback.outputs.KINDS) that sensorback wrote, it
    is empty (nothing to lose), or it is not a regular file (/dev/stdout, a FIFO: written to, not
    replaced)."""
    from ..outputs import KINDS, head, what_it_is

    what, test = KINDS[kind].what, KINDS[kind].test
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise SensorbackError(f"{option}: cannot look at {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
        return
    start = head(path)
    if start is not None and test(path, start):
        return
    raise SensorbackError(f"{option}: {path} already exists and is not {what}{what_it_is(path, start)}; "
                          "choose another name or delete it first")


def _describe(path: Path) -> str:
    """What a file the user has where a folder option would write looks like ('' for anything but a
    regular file: a FIFO is never opened, it could block)."""
    from ..outputs import head, what_it_is

    try:
        regular = stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return ""
    return what_it_is(path, head(path)) if regular else ""


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
