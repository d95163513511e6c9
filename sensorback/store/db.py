"""Where the database lives, how it is opened, and how its errors reach the user.

SQLite (the default, one file in the user data directory) and PostgreSQL go through the same code.
For SQLite every connection gets a busy timeout and foreign keys, a file opened to write is
switched to WAL mode (one opened only to read keeps its journal mode), and write transactions
start with ``BEGIN IMMEDIATE`` so that waiting for another writer happens up front, within the busy
timeout, instead of failing half-way.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from ..errors import OSProblem, SensorbackError, one_line
from ..private import create_private, make_own_file_private, make_private_dirs, own_folder

ENV_VAR = "SENSORBACK_DB"
DB_FILENAME = "sensorback.db"
DEMO_DB_FILENAME = "demo.db"
DEFAULT_BUSY_TIMEOUT_S = 5.0


class StoreError(SensorbackError):
    """The database cannot be opened, read or written. One line, naming the database."""


class DatabaseLocked(StoreError, OSProblem):
    """Another program holds the database's write lock for longer than the busy timeout: the
    machine's state, not the user's input, so exit code 1 (as a database that cannot be written)."""


class DatabaseReadOnly(StoreError):
    """The database (or its file) can only be read."""


class DatabaseNotWritable(DatabaseReadOnly, OSProblem):
    """The database file or its folder cannot be written by this process (a read-only file system,
    permissions): the machine's state, exit code 1. Reading still works (open_store(read_only=True))."""


class DatabaseFull(StoreError, OSProblem):
    """The disk (or quota) under the database is full: the machine's state, exit code 1."""


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("sensorback", appauthor=False)) / DB_FILENAME


def demo_db_path() -> Path:
    """Where the simulated wearer's sessions go when no --db is given: demo.db beside the default
    database, so that a demo never mixes into the user's own data (neither the default database
    nor $SENSORBACK_DB), and stays there to look at with ``report --db``."""
    return default_db_path().with_name(DEMO_DB_FILENAME)


def resolve_db_url(cli_value: str | None = None) -> str:
    """The database URL to use: ``--db`` if given, else $SENSORBACK_DB, else the default SQLite file.

    A value without ``://`` is a path to an SQLite file. Anything else is an SQLAlchemy URL, e.g.
    ``postgresql+psycopg://user@host/sensorback`` or ``sqlite:////home/me/back.db``.
    """
    if cli_value is not None and not cli_value.strip():
        # An empty --db is a mistake (an unset shell variable, say), not a request for the default.
        raise StoreError("--db: the value is empty; give a file path or database URL, or leave --db out "
                         "for the default database")
    value = cli_value if cli_value is not None else os.environ.get(ENV_VAR) or None
    if value is None:
        return "sqlite:///" + str(default_db_path())
    value = value.strip()
    if "://" in value:
        label = "--db" if cli_value is not None else f"${ENV_VAR}"
        try:
            url = make_url(value)
        except (ArgumentError, ValueError) as e:  # ValueError: a port that is not a number
            raise StoreError(f"{label} {value!r} is not a database URL or file path ({one_line(e)})") from None
        if url.get_backend_name() == "sqlite" and (url.host or url.port or url.username):
            # sqlite://x.db: the path landed in the host part, which SQLite URLs do not have
            path = "/".join(p for p in (url.host, url.database) if p)
            raise StoreError(f"{label} {value!r} is not an SQLite URL: its file goes after three slashes "
                             f"(sqlite:///{path}, or sqlite:////home/me/back.db for an absolute path); "
                             "or give just the file path")
        return value
    return "sqlite:///" + str(Path(value).expanduser().absolute())


@dataclass(frozen=True)
class DbTarget:
    url: URL
    name: str                      # for messages: the file path, or the URL without its password
    sqlite_path: Path | None       # the file of a file-backed SQLite database
    read_only_uri: bool            # SQLite opened with mode=ro


def describe(url: str | URL) -> DbTarget:
    u = make_url(url) if isinstance(url, str) else url
    if u.get_backend_name() != "sqlite":
        return DbTarget(u, u.render_as_string(hide_password=True), None, False)
    db = u.database or ""
    uri = str(u.query.get("uri", "")).lower() in ("true", "1", "yes")
    read_only = False
    if uri and db.startswith("file:"):
        path_part, _, query = db[len("file:"):].partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        params.update({k: v for k, v in u.query.items() if isinstance(v, str)})
        read_only = params.get("mode") == "ro"
        if params.get("mode") == "memory" or path_part in ("", ":memory:"):
            return DbTarget(u, "in-memory SQLite database", None, read_only)
        path = unquote(path_part)
        if path.startswith("//"):  # file://host/path or file:///path
            path = "/" + path[2:].partition("/")[2]
        return DbTarget(u, path, Path(path), read_only)
    if db in ("", ":memory:"):
        return DbTarget(u, "in-memory SQLite database", None, False)
    return DbTarget(u, db, Path(db), False)


def cannot_write(path: Path) -> bool:
    """An existing SQLite file that this process may not write, or whose folder it may not write
    (SQLite needs the folder for its -wal and -shm files): a read-only mount, or permissions."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def not_writable(path: Path) -> DatabaseNotWritable:
    try:
        on_ro_mount = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        on_ro_mount = False
    why = "it is on a read-only file system" if on_ro_mount else "no permission to write the file or its folder"
    return DatabaseNotWritable(f"database {path} can only be read here ({why}); 'sensorback report' still reads it")


def read_only_target(target: DbTarget) -> tuple[DbTarget, str | None]:
    """The same SQLite file opened read-only (mode=ro), and a note when that cannot see everything.

    A database in WAL mode that was closed cleanly has no -shm file, and a read-only folder cannot
    get one; SQLite then reads it only as immutable (no locks: right for a read-only mount, where
    nobody writes). Changes still in a -wal file beside it are not seen that way: the note says so.
    """
    path = target.sqlite_path
    if path is None or target.read_only_uri:
        return target, None
    shm, wal = Path(f"{path}-shm"), Path(f"{path}-wal")
    immutable = not shm.exists() and not os.access(path.parent, os.W_OK)
    url = make_url(f"sqlite:///file:{quote(str(path))}?mode=ro{'&immutable=1' if immutable else ''}&uri=true")
    note = None
    if immutable and wal.exists() and wal.stat().st_size > 0:
        note = (f"database {path} is read-only here and its last changes are still in {wal.name}, "
                "which cannot be read without write access: they are not in this report")
    return DbTarget(url, str(path), path, True), note


def prepare_sqlite_file(path: Path, default_location: bool) -> None:
    """Create a missing database file readable by its owner only (0600), and its folder and any
    missing parents (0700); sensorback's own default folder is made 0700 if it exists. An empty
    file (made with `touch`, say) holds nothing of its own and is about to hold the wearer's data:
    it is made 0600 as well."""
    folder = path.parent
    try:
        if default_location:
            own_folder(folder)  # (older versions may have left it 0755)
        elif not folder.exists():
            make_private_dirs(folder)
    except OSError as e:
        raise StoreError(f"cannot create the folder for database {path}: {e.strerror or e}") from None
    if path.exists():
        try:
            if path.is_file() and path.stat().st_size == 0:
                make_own_file_private(path)
        except OSError:
            pass
        return
    try:
        os.close(create_private(path, exclusive=True))
    except FileExistsError:
        return
    except OSError as e:
        raise StoreError(f"cannot create database {path}: {e.strerror or e}") from None


def keep_private(path: Path) -> None:
    """An existing database file that is about to be written (and its -wal and -shm, which SQLite
    makes with the database file's mode), made 0600 when others may read it: one that an older
    version, or ``sqlite3``, left 0644 (make_own_file_private: a file another user owns is left
    alone). Said in one line (a warning), once: the next open finds it private."""
    was = make_own_file_private(path)
    for side in ("-wal", "-shm"):
        make_own_file_private(f"{path}{side}")
    if was is not None:
        warnings.warn(f"made database {path} private (0600; it was {was:04o})", UserWarning, stacklevel=3)


def make_engine(target: DbTarget, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S, *,
                read_only: bool = False) -> Engine:
    """An engine for ``target``. read_only: every connection refuses to change the database
    (SQLite's query_only, PostgreSQL transactions each begun READ ONLY), so that a store
    opened to read cannot write by mistake: a write fails as on a read-only database. Another kind
    of database cannot be kept from writing here: read_only refuses it (StoreError)."""
    backend = target.url.get_backend_name()
    try:
        if backend == "sqlite":
            return _sqlite_engine(target, busy_timeout_s, read_only)
        if backend == "postgresql":
            return _postgres_engine(target, busy_timeout_s, read_only)
        target.url.get_dialect()  # (a kind SQLAlchemy does not know is said as such first)
        if read_only:
            raise StoreError(f"cannot open database {target.name} only to read it: sensorback keeps SQLite "
                             f"and PostgreSQL databases from being written, not {backend} ones")
        return create_engine(target.url)
    except (NoSuchModuleError, ImportError) as e:
        hint = {"postgresql": " (install the PostgreSQL driver: pip install 'sensorback[postgres]')",
                "postgres": " (PostgreSQL's URLs begin postgresql://, not postgres://)"}.get(backend, "")
        raise StoreError(f"cannot use database {target.name}: {e}{hint}") from None
    except (ArgumentError, ValueError) as e:  # a URL its dialect cannot take (?timeout=abc): on one line
        raise StoreError(f"cannot use database {target.name}: {one_line(e)}") from None


def _sqlite_engine(target: DbTarget, busy_timeout_s: float, read_only: bool) -> Engine:
    engine = create_engine(target.url, connect_args={"timeout": busy_timeout_s})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" event (below) issue BEGIN, instead of the sqlite3 module's
        # implicit, deferred one.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        # In WAL mode NORMAL is safe against application crashes; only an OS crash or power cut
        # can lose the last transactions.
        cur.execute("PRAGMA synchronous = NORMAL")
        if read_only:
            cur.execute("PRAGMA query_only = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _postgres_engine(target: DbTarget, busy_timeout_s: float, read_only: bool) -> Engine:
    url = target.url
    if url.drivername == "postgresql":  # the driver of the 'postgres' extra, whatever SQLAlchemy's default
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(url, pool_pre_ping=True)

    # Set on each transaction, not on the server session: behind a transaction-pooling proxy
    # (PgBouncer) a session passes to other clients, and would carry these to them.
    # A lock held by another client turns into a clear error after the busy timeout instead of
    # waiting forever; a store opened to read cannot write.
    settings = f"SET LOCAL lock_timeout = {int(busy_timeout_s * 1000)}"
    if read_only:
        settings += "; SET TRANSACTION READ ONLY"

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql(settings)

    return engine


def write_options(engine: Engine) -> dict:
    """Execution options for a write transaction."""
    return {"sqlite_begin": "IMMEDIATE"} if engine.dialect.name == "sqlite" else {}


_LOCKED = re.compile(r"database (table )?is (locked|busy)|lock timeout|could not obtain lock|"
                     r"canceling statement due to lock timeout", re.I)
_READ_ONLY = re.compile(r"readonly database|read-only|read only", re.I)
_FULL = re.compile(r"database or disk is full|no space left on device|disk quota exceeded", re.I)


def _root_message(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    text = one_line(orig)
    return text or type(orig).__name__


def is_locked(e: BaseException) -> bool:
    if getattr(getattr(e, "orig", None), "sqlstate", None) == "55P03":
        return True
    return bool(_LOCKED.search(_root_message(e)))


def is_read_only(e: BaseException) -> bool:
    if getattr(getattr(e, "orig", None), "sqlstate", None) == "25006":
        return True
    return bool(_READ_ONLY.search(_root_message(e)))


def translate(e: DBAPIError, target: DbTarget, doing: str, busy_timeout_s: float, kept: str = "") -> StoreError:
    """A one-line StoreError for a database failure while ``doing`` (e.g. 'write 300 epochs')."""
    tail = f"; {kept}" if kept else ""
    if is_locked(e):
        return DatabaseLocked(f"database {target.name} is locked by another program "
                              f"(waited {busy_timeout_s:g} s to {doing}){tail}")
    if is_read_only(e):
        return DatabaseReadOnly(f"database {target.name} is read-only (cannot {doing}){tail}")
    if getattr(getattr(e, "orig", None), "sqlstate", None) in ("53100", "53400") or _FULL.search(_root_message(e)):
        return DatabaseFull(f"database {target.name}: the disk is full (cannot {doing}){tail}")
    return StoreError(f"database {target.name}: cannot {doing}: {_root_message(e)}{tail}")
