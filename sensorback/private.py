"""Files the user creates are theirs alone: readable and writable by the owner only (0600).

Recordings, databases, calibrations, exported epochs and events, HTML reports: they describe a
person's body and day. Every writer in sensorback creates its files through this module, so the
rule lives in one place:

    fd = create_private(path)                 # an os-level descriptor (native recordings)
    with open_private(path, "w", encoding="utf-8", newline="") as f: ...
    with open_private("day.csv.gz", "wt", gzip_level=3) as f: ...
    with Replacing(path, "w", newline="") as f: ...   # a whole file: a temp file renamed into place
    write_whole(path, data)                   # bytes as a whole file, flushed to disk, at once

A file that already existed is tightened to 0600 when it is overwritten (only a regular file the
user owns; a FIFO or /dev/stdout is left alone). Temporary files from ``tempfile.mkstemp`` are 0600
already.
"""

from __future__ import annotations

import gzip
import io
import os
import socket
import stat
from contextlib import contextmanager
from typing import IO, Any, Iterator

from .errors import SensorbackError
from .signals import process_exists

PRIVATE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def make_private_dirs(folder: str | os.PathLike) -> None:
    """Create ``folder`` and every missing parent, each 0700 (``mkdir(parents=True, mode=...)`` gives
    the mode to the last folder only, and the umask cuts it: ~/.config or ~/.local/share made on a
    first run came out 0755). Folders that exist are left as they are (tighten_own_dir for
    sensorback's own)."""
    missing = []
    path = os.path.abspath(os.fspath(folder))
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, PRIVATE_DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
            continue  # made meanwhile (another sensorback): not ours to change
        os.chmod(path, PRIVATE_DIR_MODE)


def tighten_own_dir(folder: str | os.PathLike) -> None:
    """Make a folder that is sensorback's own (its default config or data folder) 0700, as an older
    version or another program may have left it 0755; a folder the user does not own is left."""
    try:
        if stat.S_IMODE(os.stat(folder).st_mode) != PRIVATE_DIR_MODE:
            os.chmod(folder, PRIVATE_DIR_MODE)
    except (PermissionError, FileNotFoundError):
        pass


def own_folder(folder: str | os.PathLike) -> None:
    """sensorback's own default folder (config, data) before a write into it: made 0700 with any
    missing parents (make_private_dirs), or made 0700 if it exists looser (tighten_own_dir)."""
    make_private_dirs(folder)
    tighten_own_dir(folder)


def check_named_folder(path: str | os.PathLike, env_var: str) -> None:
    """A file about to be written in a folder the user named (through ``env_var``, or directly):
    that folder must exist, or a one-line error names it (sensorback creates only its own default
    folders: a missing one is a typo to show, as for --db and every named output)."""
    folder = os.path.dirname(os.fspath(path)) or "."
    if not os.path.isdir(folder):
        named = f"${env_var}" if os.environ.get(env_var) else os.fspath(path)
        raise SensorbackError(f"{named}: there is no folder {folder} (create it first)")


def make_own_file_private(path: str | os.PathLike) -> int | None:
    """A file of the user's that sensorback goes on writing into (an existing database), made 0600
    when others may read it (an older version or another program left it 0644): returns the mode it
    had then, else None. A missing file, one that is not a regular file or one another user owns is
    left as it is (that is theirs to decide)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or not st.st_mode & 0o077:
            return None
        os.chmod(path, PRIVATE_MODE)
        if os.stat(path).st_mode & 0o077:  # a file system that ignores modes (vfat, some network mounts)
            return None
    except (FileNotFoundError, PermissionError):
        return None
    return stat.S_IMODE(st.st_mode)


def create_private(path: str | os.PathLike, *, exclusive: bool = False, truncate: bool = True) -> int:
    """Open ``path`` for writing (created, or truncated; with ``exclusive`` it must not exist; without
    ``truncate`` an existing file keeps its content, e.g. a lock file another process holds),
    readable and writable by its owner only. Returns the descriptor."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC if truncate else 0)
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
    # The gzip header keeps the file's name ('gunzip -N' restores it): the name the temp file of
    # writing_path will be renamed to, not the temp name.
    name = os.fspath(path).removesuffix(writing_path(""))
    packed = _GzipWriter(name, "wb", compresslevel=gzip_level, fileobj=os.fdopen(fd, "wb"))
    return packed if mode == "wb" else io.TextIOWrapper(packed, **kwargs)


class _GzipWriter(gzip.GzipFile):
    """A gzip stream on a file it was given, which it closes too (GzipFile leaves it open)."""

    def close(self) -> None:
        file = self.fileobj
        try:
            super().close()
        finally:
            if file is not None:
                file.close()


def writing_path(path: str | os.PathLike) -> str:
    """The temp file a whole file is written to before it is renamed into place (FILE.HOST-PID.writing):
    one per process, so that two commands writing the same name never write into one temp file (the
    last rename wins, and each file that lands is whole), also from two hosts sharing the folder."""
    return f"{os.fspath(path)}.{socket.gethostname()}-{os.getpid()}.writing"


@contextmanager
def temp_named_as(tmp: str | None, path: str | os.PathLike) -> Iterator[None]:
    """An OSError that names the hidden temp file ``tmp`` (writing_path: a path under /proc, an
    output name whose temp name is too long) raised again naming ``path``, the output the user
    asked for."""
    try:
        yield
    except OSError as e:
        if tmp is not None and e.errno is not None and isinstance(e.filename, str) and e.filename == tmp:
            raise OSError(e.errno, e.strerror or str(e), os.fspath(path)) from None
        raise


def _writer_of(entry: str, name: str) -> int | None:
    """The process id in ``entry`` when it is a temp file of ``name`` written on this host, else None."""
    if not (entry.startswith(name + ".") and entry.endswith(".writing")):
        return None
    host, _, pid = entry[len(name) + 1:-len(".writing")].rpartition("-")
    if host != socket.gethostname() or not (pid.isascii() and pid.isdigit() and len(pid) <= 10):
        return None
    return int(pid)


def fresh_writing_path(path: str | os.PathLike) -> str:
    """writing_path(path), after removing the temp files of writers of the same ``path`` on this host
    that were killed (their process is gone): a kill leaves its temp file behind (nothing can run
    then), and a week-long recording's is hundreds of MB. A temp file whose writer still runs, or
    that another host or another user wrote, is left alone."""
    target = os.fspath(path)
    folder, name = os.path.split(target)
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        entries = []
    for entry in entries:
        pid = _writer_of(entry, name)
        if pid is None or pid == os.getpid() or process_exists(pid):  # (still writing it)
            continue
        leftover = os.path.join(folder, entry)
        try:
            if os.lstat(leftover).st_uid == os.getuid():  # (another user's is theirs to clear)
                os.unlink(leftover)
        except OSError:
            pass
    return writing_path(target)


class Replacing:
    """A private file written as a whole: into its temp file beside it (writing_path), which done()
    renames over ``path`` and discard() removes. A file it replaces (an earlier epochs table, events
    file or report) stays whole and readable until the new one is complete, and the new one is 0600
    whatever the old one's mode. A path that exists and is not a regular file (/dev/stdout, a FIFO)
    is written directly: there is nothing to rename over (the user named it to be written to);
    with ``replace_special`` it is replaced like any other, never opened (a FIFO in a folder of
    sensorback's own is nobody's target, and opening it could block).

    As a context manager it gives the open file, done() when the block ends normally and discard()
    on an error or interrupt; a writer that keeps what it wrote even then (``replay --events``)
    calls done() itself."""

    def __init__(self, path: str | os.PathLike, mode: str = "w", *, gzip_level: int | None = None,
                 replace_special: bool = False, **kwargs: Any):
        self.path = os.fspath(path)
        direct = not replace_special and os.path.exists(self.path) and not os.path.isfile(self.path)
        self._tmp: str | None = None if direct else fresh_writing_path(self.path)
        try:
            with temp_named_as(self._tmp, self.path):
                self.file = open_private(self._tmp or self.path, mode, gzip_level=gzip_level, **kwargs)
        except BaseException:
            if self._tmp is not None and os.path.lexists(self._tmp):
                os.unlink(self._tmp)
            raise

    def done(self) -> None:
        """Close the file and put it in place (once; later calls do nothing)."""
        try:
            if not self.file.closed:
                self.file.close()
            if self._tmp is not None:
                os.replace(self._tmp, self.path)
                self._tmp = None
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Close the file and remove the temp file: ``path`` stays as it was."""
        try:
            if not self.file.closed:
                self.file.close()
        except OSError:
            pass  # a full disk on the last flush: the file is going anyway
        finally:
            if self._tmp is not None:
                tmp, self._tmp = self._tmp, None
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass

    def __enter__(self) -> IO:
        return self.file

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.done()
        else:
            self.discard()


def write_whole(path: str | os.PathLike, data: bytes) -> None:
    """``data`` as the whole private file ``path``, atomically (Replacing with replace_special):
    its temp file is flushed to disk (fsync) and renamed over ``path``, so a file it replaces stays
    whole until the new one is complete and a kill or a power cut leaves one or the other; the temp
    file is removed on any error. Whatever ``path`` was (a FIFO, a link) is replaced, never opened."""
    with Replacing(path, "wb", replace_special=True) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_MODE", "Replacing", "check_named_folder", "create_private",
           "fresh_writing_path", "make_own_file_private", "make_private_dirs", "open_private", "own_folder",
           "tighten_own_dir", "write_whole", "writing_path"]
