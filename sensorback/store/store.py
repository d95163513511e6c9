"""Opening a store, small one-off writes (exercises, pain check-ins) and the read API for reports."""

from __future__ import annotations

import sqlite3
import time
import warnings
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Iterator, Optional, TypeVar

import numpy as np
from sqlalchemy import Connection, and_, delete, insert, or_, select
from sqlalchemy.exc import DBAPIError, OperationalError

from ..core.epochs import COLUMNS as EPOCH_COLUMNS
from ..core.states import CODE, STATES
from ..signals import held
from .db import (DEFAULT_BUSY_TIMEOUT_S, DbTarget, StoreError, cannot_write, default_db_path, describe,
                 is_locked, is_read_only, keep_private, make_engine, not_writable, prepare_sqlite_file,
                 read_only_target, resolve_db_url, translate, write_options)
from .migrate import old_schema, pending, refuse_foreign, refuse_unversioned, upgrade
from .models import Bout, Epoch, Event, Exercise, PainCheckin, Session
from .recorder import Recorder
from .records import BoutInfo, EpochSeries, EventInfo, ExerciseInfo, PainCheckinInfo, SessionInfo
from .rows import in_orm, orm_rows, session_info, utc

T = TypeVar("T")


def open_store(url: str | None = None, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
               read_only: bool = False, upgrade_old: bool = False) -> "Store":
    """Open the database at ``url``: to write (created if needed, its schema upgraded to the
    latest), or with ``read_only`` to read as it is.

    ``url`` is what ``--db`` got: None for $SENSORBACK_DB or the default SQLite file in the user
    data directory, a path to an SQLite file, or any SQLAlchemy URL. Raises StoreError (a
    SensorbackError, one line naming the database) when it cannot be opened or upgraded.

    read_only: only reads will follow (reports), and opening writes nothing either (_open_to_read):
    no file is created, no file mode or journal mode changed, no schema written or upgraded, and
    the store's connections refuse to write. upgrade_old (with read_only, a report's --upgrade-db):
    a schema of an older sensorback is upgraded first, the one write, made only when one is due.
    """
    target = describe(resolve_db_url(url))
    if target.sqlite_path is not None and target.sqlite_path.is_dir():  # SQLite: 'unable to open database file'
        raise StoreError(f"database {target.sqlite_path} is a folder, not a database file; move it away, or name "
                         "another database with --db")
    if read_only:
        return _open_to_read(target, busy_timeout_s, upgrade_old)
    return _open_to_write(target, busy_timeout_s)


def _open_to_write(target: DbTarget, busy_timeout_s: float) -> "Store":
    """A new SQLite file is made 0600 in its folder, an existing one of ours 0600 (keep_private)
    and switched to WAL; the schema is created or upgraded. Another program's database is refused
    before any of that (refuse_foreign)."""
    path = target.sqlite_path
    if path is not None and not target.read_only_uri:
        if cannot_write(path):
            raise not_writable(path)
        prepare_sqlite_file(path, default_location=path == default_db_path())
    engine = make_engine(target, busy_timeout_s)
    with _given_up_on_error(engine, target, busy_timeout_s):
        refuse_foreign(engine, target.name)
        if path is not None and not target.read_only_uri:
            keep_private(path)
            _ensure_wal(engine, busy_timeout_s)
        upgrade(engine, target.name)
    return Store(engine, target, busy_timeout_s)


@contextmanager
def _given_up_on_error(engine, target: DbTarget, busy_timeout_s: float) -> Iterator[None]:
    """While a store is being opened: any failure disposes of the engine (no connection left
    open), and a database's own error becomes the one-line StoreError (translate)."""
    try:
        yield
    except DBAPIError as e:
        engine.dispose()
        raise translate(e, target, "open it", busy_timeout_s) from e
    except BaseException:
        engine.dispose()
        raise


def _open_to_read(target: DbTarget, busy_timeout_s: float, upgrade_old: bool = False) -> "Store":
    """A store that only reads, opened without writing anything: an SQLite file must exist (none is
    created) and keeps its mode and journal mode; one this process cannot write (a read-only mount,
    permissions) is opened read-only (mode=ro). Another program's database is refused
    (refuse_foreign); a schema of an older sensorback too (migrate.old_schema), unless upgrade_old
    and the file can be written: then it is opened to write once (_open_to_write: upgraded, and
    made 0600 and WAL as by any writer) and read afterwards. A database with no schema revision
    (and, refuse_foreign saw to it, no tables: a new SQLite file, 0 bytes or not; an empty
    PostgreSQL database) is an empty store: ``store.empty``, nothing in it to read, and it is left
    as it is; --upgrade-db does not write into it either."""
    opened, writable = target, not target.read_only_uri
    path = target.sqlite_path
    if path is not None and not target.read_only_uri:
        if not path.exists():
            raise StoreError(f"there is no database {path} (reading one does not create it)")
        if cannot_write(path):
            writable = False
            opened, note = read_only_target(target)
            if note:
                warnings.warn(note, stacklevel=3)
    engine = make_engine(opened, busy_timeout_s, read_only=True)
    with _given_up_on_error(engine, opened, busy_timeout_s):
        tables = refuse_foreign(engine, opened.name)
        current = pending(engine, opened.name)
        if current == set():  # no revision: an empty database, unless tables were left without one
            refuse_unversioned(opened.name, tables)
        if current and not (upgrade_old and writable):
            raise old_schema(opened.name, current, writable=writable)
    if current:  # an older schema, and --upgrade-db: the one write, then read as any current database
        engine.dispose()
        _open_to_write(target, busy_timeout_s).close()
        return _open_to_read(target, busy_timeout_s)
    return Store(engine, opened, busy_timeout_s, empty=current is not None)


def _ensure_wal(engine, busy_timeout_s: float) -> None:
    """Switch a new SQLite file to WAL. SQLite does not wait for that switch (its busy handler is
    skipped) while another process writes, e.g. a second sensorback creating the same new database:
    so retry until the busy timeout, then fail as any locked database does."""
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            with engine.connect() as conn:
                raw = conn.connection.dbapi_connection  # outside any transaction: PRAGMA journal_mode needs that
                mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    raw.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if not is_locked(e) or time.monotonic() >= deadline:
                raise OperationalError("PRAGMA journal_mode = WAL", None, e) from e
            time.sleep(0.02)


class Store:
    """An open database. Use ``recorder()`` to record sessions and the query methods for reports.

    Query ranges are half-open, [start, end), in UTC (aware datetimes, naive ones taken as UTC,
    or Unix seconds).
    """

    def __init__(self, engine, target: DbTarget, busy_timeout_s: float, empty: bool = False):
        self.engine = engine
        self.target = target
        self.busy_timeout_s = busy_timeout_s
        #: Opened to read a database without sensorback's schema (no revision, no tables of ours):
        #: nothing is stored there, and the read API's tables do not exist; a report says so.
        self.empty = empty

    @property
    def name(self) -> str:
        """The database for messages: its file, or its URL without the password."""
        return self.target.name

    def __repr__(self) -> str:
        return f"Store({self.name!r})"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def recorder(self, **kwargs) -> Recorder:
        """A Recorder writing sessions into this store (see sensorback.store.recorder)."""
        return Recorder(self, **kwargs)

    # -- transactions with one-line errors ------------------------------------------------------

    def write(self, doing: str, work: Callable[[Connection], T], kept: str = "",
              committed: Callable[[T], None] | None = None) -> T:
        """Run ``work(conn)`` in one write transaction; database failures become StoreError.

        committed(result), if given, runs right after the commit, with the stops that raise held
        from the commit until it returns (signals.held; a second stop still ends a commit that
        hangs): a Ctrl-C between the two would leave the caller taking its committed rows for
        unwritten, and writing them again."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**write_options(self.engine))
                if committed is None:
                    with conn.begin():
                        return work(conn)
                transaction = conn.begin()
                with transaction:
                    result = work(conn)
                    with held() as firm:
                        transaction.commit()
                        firm()
                        committed(result)
                return result
        except DBAPIError as e:
            if is_read_only(e):
                # The file may become writable (chmod); later tries must not reuse read-only handles.
                self.engine.dispose()
            raise translate(e, self.target, doing, self.busy_timeout_s, kept) from e

    def read(self, doing: str, work: Callable[[Connection], T]) -> T:
        try:
            with self.engine.connect() as conn:
                return work(conn)
        except DBAPIError as e:
            raise translate(e, self.target, doing, self.busy_timeout_s) from e

    # -- small writes ---------------------------------------------------------------------------

    def add_exercise(self, at: datetime | float, name: str, source: str = "manual", *,
                     session_id: Optional[int] = None, event_id: Optional[int] = None) -> int:
        """Record an exercise done; source is "prompt" (after a coach prompt) or "manual"."""
        if source not in ("prompt", "manual"):
            raise ValueError(f"exercise source must be 'prompt' or 'manual', not {source!r}")
        values = dict(at=utc(at), name=name, source=source, session_id=session_id, event_id=event_id)
        return self.write("record an exercise",
                          lambda c: c.execute(insert(Exercise).values(**values)).inserted_primary_key[0])

    def add_pain_checkin(self, at: datetime | float, score: int, *, radiating: Optional[bool] = None,
                         numbness: Optional[bool] = None, fever: Optional[bool] = None,
                         bladder: Optional[bool] = None, weight_loss: Optional[bool] = None,
                         note: Optional[str] = None) -> int:
        """Record a pain check-in (score 0-10; the yes/no red-flag answers, None if not asked)."""
        if isinstance(score, bool) or int(score) != score or not 0 <= score <= 10:
            raise StoreError(f"pain score must be a whole number from 0 to 10, not {score!r}")
        values = dict(at=utc(at), score=int(score), radiating=radiating, numbness=numbness, fever=fever,
                      bladder=bladder, weight_loss=weight_loss, note=note)
        return self.write("record a pain check-in",
                          lambda c: c.execute(insert(PainCheckin).values(**values)).inserted_primary_key[0])

    def delete_session(self, session_id: int) -> bool:
        """Delete a session with its epochs, bouts and events. False if there was none."""
        return self.write(f"delete session {session_id}",
                          lambda c: c.execute(delete(Session).where(Session.id == session_id)).rowcount > 0)

    # -- reads ----------------------------------------------------------------------------------

    def session(self, session_id: int) -> Optional[SessionInfo]:
        def work(c):
            row = c.execute(select(Session).where(Session.id == session_id)).scalar_one_or_none()
            return session_info(row) if row is not None else None
        return self.read("read a session", lambda c: in_orm(c, work))

    def find_import(self, import_key: str) -> Optional[SessionInfo]:
        """The session imported under ``import_key`` (see recorder.import_key), if any."""
        def work(c):
            row = c.execute(select(Session).where(Session.import_key == import_key)).scalar_one_or_none()
            return session_info(row) if row is not None else None
        return self.read("look up an earlier import", lambda c: in_orm(c, work))

    def sessions(self, start: datetime | float, end: datetime | float) -> list[SessionInfo]:
        """Sessions that overlap [start, end), by start time. An unfinished session counts as
        reaching to its last epoch."""
        a, b = utc(start), utc(end)

        def work(c):
            last = select(Epoch.session_id).where(Epoch.session_id == Session.id, Epoch.at >= a).exists()
            q = (select(Session).where(Session.started_at < b,
                                       or_(Session.ended_at > a, and_(Session.ended_at.is_(None),
                                                                      or_(Session.started_at >= a, last))))
                 .order_by(Session.started_at, Session.id))
            return [session_info(s) for s in c.execute(q).scalars()]
        return self.read("read sessions", lambda c: in_orm(c, work))

    def epochs(self, start: datetime | float, end: datetime | float) -> EpochSeries:
        """All epochs starting in [start, end), as an EpochSeries: the core's epoch columns with
        t_start/t_end in seconds since ``start`` (its ``origin``), and each epoch's session."""
        a, b = utc(start), utc(end)
        origin = a.timestamp()
        cols = [Epoch.session_id] + [getattr(Epoch, c.name) for c in EPOCH_COLUMNS]

        def work(c):
            rows = c.execute(select(*cols).where(Epoch.at >= a, Epoch.at < b)
                             .order_by(Epoch.at, Epoch.session_id)).all()
            if not rows:
                return None, {}
            ids = sorted({r[0] for r in rows})
            info = c.execute(select(Session.id, Session.started_at, Session.state_names)
                             .where(Session.id.in_(ids))).all()
            return rows, {i: (s, names) for i, s, names in info}

        rows, sessions = self.read("read epochs", work)
        if rows is None:
            return EpochSeries.empty(origin=origin)
        sid, *values = (np.asarray(col) for col in zip(*rows))
        sid = sid.astype(np.int64)
        data = {c.name: v for c, v in zip(EPOCH_COLUMNS, values)}
        # Each session's axis onto the range's: its start less the origin (exact: both are Unix
        # seconds of nearby instants), then its own seconds.
        shift = np.array([sessions[i][0].timestamp() - origin for i in sid.tolist()]) if len(sessions) > 1 \
            else np.full(sid.shape, next(iter(sessions.values()))[0].timestamp() - origin)
        state = data["state"].astype(np.int16)
        for i, (_, names) in sessions.items():
            if list(names) != list(STATES):  # recorded with another list of states: map by name
                table = np.array([CODE.get(n, -1) for n in names], dtype=np.int16)
                mine = sid == i
                state[mine] = table[state[mine]]
        data["state"] = state
        data["t_start"] = shift + data["t_start"].astype(np.float64)
        data["t_end"] = shift + data["t_end"].astype(np.float64)
        # None -> NaN for the measurements
        return EpochSeries(**{c.name: np.array(data[c.name], dtype=c.dtype) for c in EPOCH_COLUMNS},
                           session_id=sid, origin=origin)

    def bouts(self, start: datetime | float, end: datetime | float) -> list[BoutInfo]:
        """State bouts overlapping [start, end), oldest first (not clipped to the range)."""
        a, b = utc(start), utc(end)

        def work(c):
            q = (select(Bout.session_id, Bout.state, Bout.start_at, Bout.end_at, Session.state_names)
                 .join(Session, Session.id == Bout.session_id)
                 .where(Bout.start_at < b, Bout.end_at > a).order_by(Bout.start_at, Bout.session_id))
            return [BoutInfo(sid, names[st] if 0 <= st < len(names) else str(st), s, e)
                    for sid, st, s, e, names in c.execute(q)]
        return self.read("read bouts", work)

    def events(self, start: datetime | float, end: datetime | float) -> list[EventInfo]:
        a, b = utc(start), utc(end)
        q = select(Event).where(Event.at >= a, Event.at < b).order_by(Event.at, Event.id)
        return self.read("read coach events", lambda c: [
            EventInfo(e.id, e.session_id, e.at, e.t, e.kind, e.detail, e.outcome, e.exercise)
            for e in orm_rows(c, q)])

    def exercises(self, start: datetime | float, end: datetime | float) -> list[ExerciseInfo]:
        a, b = utc(start), utc(end)
        q = select(Exercise).where(Exercise.at >= a, Exercise.at < b).order_by(Exercise.at, Exercise.id)
        return self.read("read exercises", lambda c: [
            ExerciseInfo(e.id, e.at, e.name, e.source, e.session_id, e.event_id) for e in orm_rows(c, q)])

    def pain_checkins(self, start: datetime | float, end: datetime | float) -> list[PainCheckinInfo]:
        a, b = utc(start), utc(end)
        q = select(PainCheckin).where(PainCheckin.at >= a, PainCheckin.at < b).order_by(PainCheckin.at, PainCheckin.id)
        return self.read("read pain check-ins", lambda c: [
            PainCheckinInfo(p.id, p.at, p.score, p.radiating, p.numbness, p.fever, p.bladder, p.weight_loss, p.note)
            for p in orm_rows(c, q)])


__all__ = ["Store", "open_store", "utc"]
