"""Recording sessions: buffered, transactional writes for replay and the live monitor.

    store = open_store(db)
    with store.recorder() as rec:
        begun = rec.begin_session(device=block.device, source=str(path), start=block.start_time,
                                  rate_hz=block.rate_hz, epoch_s=options.epoch_s,
                                  calibration=analysis.calibration,
                                  content_hash=file_digest(path), options=dataclasses.asdict(options))
        print(begun.message)                 # new / replacing an earlier import / skipped
        if not begun.skipped:
            for table in epoch_tables:       # e.g. from iter_analyze
                rec.add_epochs(table)
            rec.end_session()

Epochs are kept in memory and written in one transaction whenever ``max_epochs`` epochs or
``max_seconds`` seconds of sample time have piled up, so a crash loses at most the last
``max_seconds`` (5 s by default). Leaving the ``with`` block writes what is left, also on an
exception or Ctrl-C, but only ``end_session()`` marks the session finished: a session without an
end is one whose writer stopped early, and re-importing the same recording replaces it.

**Importing once, also under concurrency.** A recording (``content_hash`` + options = the
``import_key``, unique in the table) is claimed in ``begin_session``: one transaction looks for
the key (locking its row on PostgreSQL) and inserts the session row, or decides to skip or
replace the one there; two writers inserting the same key at once meet the unique constraint and
the loser looks again. The claim names its writer (``host:pid``) and holds until
``lease_until``, which every write renews (at least every third of ``lease_s`` while epochs keep
coming). An unfinished session whose lease holds and whose process still exists (checked on this
host) is being imported right now: another writer skips it ("busy") instead of replacing it. A
writer that stalled past its lease and was replaced gets a one-line StoreError on its next write
instead of a foreign-key error.

When the database is locked by another program (past the busy timeout) or read-only, the write
raises a one-line StoreError (a SensorbackError) and the epochs stay buffered (``pending``):
call ``flush()`` again, or keep adding epochs and the next write tries again. Nothing is lost
unless the process ends meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .. import __version__
from ..errors import utf8_text
from ..signals import process_exists
from ..core.epochs import COLUMNS as EPOCH_COLUMNS
from ..core.epochs import MEASUREMENTS, TOUCH_S, EpochTable, runs, touching
from ..core.states import STATES
from ..timefmt import count
from .db import StoreError
from .models import Bout, Epoch, Event, Session
from .records import SessionInfo
from .rows import in_orm, session_info, utc

#: How long a writer's claim on its session holds without a write (see the module docstring).
LEASE_S = 60.0
#: After a failed write (a database locked by another program, say), how long (wall seconds) the
#: batches that fill up wait before the next try (the live monitor waits; by default the next
#: batch tries); flush() and end_session() try at once.
RETRY_S = 0.0
#: The clause a failed write's StoreError ends with: what it kept for the next try.
_KEPT = re.compile(r";\s*\d[\d,]* unwritten epochs? kept for a retry\s*$")


class SessionLost(StoreError):
    """The session being written was replaced or deleted by another program meanwhile."""


def given_up(e: StoreError, tail: str) -> StoreError:
    """A failed write's error told by a writer that stops trying: ``tail`` (what became of the
    data) instead of the retry the recorder offered."""
    return type(e)(f"{_KEPT.sub('', str(e))}; {tail}")


def writer_id() -> str:
    """This process, as it is named in ``sessions.writer``: 'host:pid'."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _local_pid(writer: Optional[str]) -> Optional[int]:
    """The process id of a writer ('host:pid') that runs on this host, else None (elsewhere, or
    not a process this OS can be asked about)."""
    host, _, pid = (writer or "").rpartition(":")
    if os.name == "posix" and host == socket.gethostname() and pid.isascii() and pid.isdigit():
        return int(pid)
    return None


def writer_alive(writer: Optional[str], lease_until: Optional[datetime], now: datetime) -> bool:
    """Is a session's writer still at work? Its lease has not run out and, when it runs on this
    host, its process still exists (a killed import can be replaced at once)."""
    if lease_until is None or utc(lease_until) <= now:
        return False
    pid = _local_pid(writer)
    return pid is None or process_exists(pid)


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex): identifies a recording whatever its name or folder."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def import_key(content_hash: str, options: Optional[Mapping[str, Any]] = None) -> str:
    """The identity of an import: the same recording analysed with the same options."""
    text = json.dumps({"content": content_hash, "options": plain(options or {})}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def plain(value: Any) -> Any:
    """JSON-ready: numpy scalars and arrays, tuples, dataclass-like objects with to_dict();
    NaN and infinities become None (PostgreSQL's JSON has no NaN)."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _drop_dead_replacements(conn, content_hash: str, now: datetime) -> None:
    """Delete replacements of this recording whose writer died before they were complete (killed:
    close() never ran). A replacement of a complete import is the only session with a content
    hash and no import key (see _claim), so a dead one is found by those and its writer. Rows are
    locked as they are read (PostgreSQL), and the delete asks again that they are unfinished and
    keyless: a replacement that ended meanwhile has taken the old import's place and stays."""
    unfinished = (Session.content_hash == content_hash, Session.import_key.is_(None), Session.ended_at.is_(None))
    rows = conn.execute(select(Session.id, Session.writer, Session.lease_until).where(*unfinished)
                        .with_for_update()).all()
    dead = [r.id for r in rows if _writer_gone(r.writer, r.lease_until, now)]
    if dead:
        conn.execute(delete(Session).where(Session.id.in_(dead), *unfinished))


def _writer_gone(writer: Optional[str], lease_until: Optional[datetime], now: datetime) -> bool:
    """Is a replacement's writer gone? On this host: its process is gone (a paced replay waits out a
    gap of up to 10 min without writing, past its lease, and a claim that only skips, or uses other
    options, must not take its work away). Elsewhere: its lease ran out."""
    pid = _local_pid(writer)
    if pid is not None:
        return not process_exists(pid)
    return not writer_alive(writer, lease_until, now)


@dataclass(frozen=True)
class BeginResult:
    """What begin_session decided. action: "new", "replace" (an earlier import of the same
    recording and options was replaced), "skip" (already imported) or "busy" (another writer is
    importing it right now); after "skip" and "busy" the recorder ignores everything until the
    next begin_session."""

    action: str
    message: str
    existing: Optional[SessionInfo] = None

    @property
    def skipped(self) -> bool:
        return self.action in ("skip", "busy")


@dataclass
class _Bout:
    t_start: float
    t_end: float
    state: int


class Recorder:
    """Writes one session at a time into a Store (store.recorder() makes one). Not thread-safe: feed it
    from one thread."""

    def __init__(self, store, *, max_epochs: int = 600, max_seconds: Optional[float] = 5.0,
                 lease_s: float = LEASE_S, retry_s: float = RETRY_S):
        if max_epochs < 1:
            raise ValueError("max_epochs must be at least 1")
        if not lease_s > 0:
            raise ValueError("lease_s must be positive")
        self.store = store
        self.max_epochs = max_epochs
        self.max_seconds = max_seconds
        self.lease_s = float(lease_s)
        self.retry_s = float(retry_s)
        self.writer = writer_id()
        self._reset()

    def _reset(self) -> None:
        self._active = False
        self._skip = False
        self._session_values: Optional[dict] = None
        self._session_id: Optional[int] = None
        self._start: Optional[datetime] = None
        self._chunks: list[EpochTable] = []
        self._pending = 0
        self._events: list[dict] = []
        self._bout: Optional[_Bout] = None
        self._last_t_end: Optional[float] = None
        self._end: Optional[datetime] = None
        self._last_write = time.monotonic()
        self._retry_at: Optional[float] = None  # after a failed write: no batch tries before then
        self._wrote_events = False
        self._replaces: Optional[int] = None  # the complete import this one replaces once it ends
        self.written_epochs = 0

    # -- state ----------------------------------------------------------------------------------

    @property
    def session_id(self) -> Optional[int]:
        """The session's id once it is written: from begin_session for an import (content_hash
        given), from the first write otherwise; None when skipping."""
        return self._session_id

    @property
    def pending(self) -> int:
        """Epochs buffered and not written yet."""
        return self._pending

    @property
    def pending_events(self) -> int:
        """Events buffered and not written yet."""
        return len(self._events)

    @property
    def start(self) -> Optional[datetime]:
        return self._start

    # -- the session ----------------------------------------------------------------------------

    def begin_session(self, *, device: str, source: str, start: datetime | float | None, rate_hz: float,
                      epoch_s: float = 1.0, calibration: Any = None, options: Optional[Mapping[str, Any]] = None,
                      content_hash: Optional[str] = None, on_existing: str = "auto",
                      software_version: str = __version__, start_estimated: bool = False) -> BeginResult:
        """Start a session.

        start: when t == 0 on the session's axis (UTC datetime or Unix seconds, e.g.
        SampleBlock.start_time); None when unknown: now is used and marked as estimated.
        start_estimated: the start given is a guess (replay's placement of a recording without a
        start time), stored as such.
        source: the file path, or "live". A live session (no content_hash) is written with the
        first flush. content_hash (file_digest) + options identify a recording, which is claimed
        at once (see the module docstring); if it was imported before, on_existing decides:
        "auto" skips an earlier complete import and replaces an unfinished one, "replace" always
        replaces, "skip" always skips. An import another process is writing right now is never
        replaced ("busy"). Raises StoreError when the database cannot be written.
        """
        if self._active and not self._skip:
            raise RuntimeError("begin_session: the previous session was not ended (call end_session)")
        if on_existing not in ("auto", "replace", "skip"):
            raise ValueError(f"on_existing must be 'auto', 'replace' or 'skip', not {on_existing!r}")
        self._reset()
        key = import_key(content_hash, options) if content_hash else None
        estimated = start is None or bool(start_estimated)
        began = datetime.now(timezone.utc) if start is None else utc(start)
        values = dict(
            device=str(device), source=utf8_text(source), content_hash=content_hash, import_key=key,
            options=plain(options) if options is not None else None, started_at=began,
            start_estimated=estimated, ended_at=None, rate_hz=float(rate_hz), epoch_s=float(epoch_s),
            calibration=plain(calibration) if calibration is not None else None, state_names=list(STATES),
            software_version=str(software_version), created_at=datetime.now(timezone.utc), writer=self.writer)
        sid = None
        existing = None
        if key is None:
            action, message = "new", f"{source}: new session"
        else:
            action, existing, sid = self.store.write("claim the import", lambda c: self._claim(c, values, on_existing))
            message = self._begin_message(action, source, existing, on_existing)
            if action == "replace" and existing.complete:
                self._replaces = existing.id
        self._active = True
        if action in ("skip", "busy"):
            self._skip = True
            return BeginResult(action, message, existing)
        self._start = began
        self._session_values = values
        self._session_id = sid
        self._last_write = time.monotonic()
        return BeginResult(action, message, existing)

    def _claim(self, conn, values: dict, on_existing: str) -> tuple[str, Optional[SessionInfo], Optional[int]]:
        """In one write transaction: insert the session of a new import, or decide about the one
        already there (see begin_session). Returns (action, the earlier session, new session id)."""
        key = values["import_key"]
        for _ in range(5):
            now = datetime.now(timezone.utc)
            _drop_dead_replacements(conn, values["content_hash"], now)
            row = in_orm(conn, lambda s: _locked_import(s, key))
            if row is None:
                action = "new"
            else:
                info, writer, lease_until = row
                if info.complete and on_existing != "replace":
                    return "skip", info, None
                if not info.complete and writer_alive(writer, lease_until, now):
                    return "busy", info, None
                if on_existing == "skip":
                    return "skip", info, None
                action = "replace"
            row_values = values
            try:
                with conn.begin_nested():
                    if row is not None and row[0].complete:
                        # A complete import is replaced only once the new one is complete too
                        # (flush(ending=True)); until then the new one has no key (see
                        # _drop_dead_replacements), and one that never finishes changes nothing.
                        row_values = dict(values, import_key=None)
                    elif row is not None:
                        conn.execute(delete(Session).where(Session.id == row[0].id))
                    sid = conn.execute(insert(Session).values(
                        **row_values, lease_until=now + timedelta(seconds=self.lease_s))).inserted_primary_key[0]
                return action, (row[0] if row is not None else None), sid
            except IntegrityError:
                continue  # another writer inserted the same import meanwhile: look again
        raise StoreError(f"database {self.store.name}: cannot claim the import of {values['source']}: "
                         "other programs keep changing it")

    def _begin_message(self, action: str, source: str, existing: Optional[SessionInfo], on_existing: str) -> str:
        if action == "new":
            return f"{source}: new session"
        if action == "skip":
            when = existing.created_at.strftime("%Y-%m-%d %H:%M UTC")
            return (f"{source}: already in {self.store.name} as session {existing.id} "
                    f"(imported {when} with the same options); skipped")
        if action == "busy":
            again = "; run it again with --replace once that import has finished" if on_existing == "replace" else ""
            return (f"{source}: another sensorback is importing it into {self.store.name} right now "
                    f"(session {existing.id}); not stored twice{again}")
        if existing.complete:
            return f"{source}: replacing session {existing.id} once this replay finishes"
        return f"{source}: replacing session {existing.id}, whose import did not finish"

    def add_epochs(self, table: EpochTable) -> None:
        """Buffer epochs (in time order, after those already added); writes when a batch is full.

        Raises StoreError if that write fails; the epochs stay buffered for the next try."""
        if self._skip:
            return
        self._need_session("add_epochs")
        if not len(table):
            return
        if self._last_t_end is not None and float(table.t_start[0]) < self._last_t_end - TOUCH_S:
            raise ValueError(f"add_epochs: epochs must come in time order (got t={float(table.t_start[0]):g} s "
                             f"after epochs up to {self._last_t_end:g} s)")
        self._chunks.append(EpochTable(**{c.name: np.array(getattr(table, c.name)) for c in EPOCH_COLUMNS}))
        self._pending += len(table)
        self._last_t_end = float(table.t_end[-1])
        span = self._last_t_end - float(self._chunks[0].t_start[0])
        if (self._pending >= self.max_epochs or (self.max_seconds is not None and span >= self.max_seconds)
                or self._lease_due()) and self._retry_due():
            self.flush()

    def add_events(self, events: Iterable[Any]) -> None:
        """Buffer coach events; written with the next batch of epochs.

        Each event is a mapping or an object with: kind (e.g. "prompt"), and t (seconds on the
        session's axis) and/or at (UTC datetime or Unix seconds); optionally detail (text, or
        anything JSON-able), outcome, exercise."""
        if self._skip:
            return
        self._need_session("add_events")
        for ev in events:
            self._events.append(self._event_row(ev))
        if self._events and self._lease_due() and self._retry_due():
            self.flush()

    def _retry_due(self) -> bool:
        """A batch may be written: no write failed, or retry_s have gone by since one did."""
        return self._retry_at is None or time.monotonic() >= self._retry_at

    def _lease_due(self) -> bool:
        """Renew the claim on the session: a third of the lease has gone by since the last write."""
        return self._session_id is not None and time.monotonic() - self._last_write >= self.lease_s / 3

    def close(self) -> None:
        """Let go of a session that was not ended (nothing is flushed: see __exit__): its claim
        ends at once, so importing the recording again replaces it; a session that got nothing
        written into it is deleted, and so is an unfinished replacement of a complete import
        (which stays as it was). The recorder is then ready for another begin_session."""
        sid = self._session_id
        if self._active and not self._skip and sid is not None:
            empty = (self.written_epochs == 0 and not self._wrote_events) or self._replaces is not None

            def work(conn) -> None:
                mine = (Session.id == sid, Session.writer == self.writer, Session.ended_at.is_(None))
                if empty:
                    conn.execute(delete(Session).where(*mine))
                else:
                    conn.execute(update(Session).where(*mine).values(lease_until=None))
            self.store.write(f"let go of session {sid}", work)
        self._reset()

    def end_session(self, end: datetime | float | None = None) -> Optional[int]:
        """Write everything left and mark the session finished; returns its id (None if skipped).

        end: when it ended (UTC datetime or Unix seconds); default: the end of the last epoch."""
        if self._skip:
            self._reset()
            return None
        self._need_session("end_session")
        if end is not None:
            self._end = utc(end)
        else:
            self._end = self._start + timedelta(seconds=self._last_t_end or 0.0)
        self.flush(ending=True)
        sid = self._session_id
        self._reset()
        return sid

    def flush(self, *, ending: bool = False) -> None:
        """Write the buffered epochs and events in one transaction. On failure (StoreError) they
        stay buffered, so calling flush() again later loses nothing."""
        if self._skip or not self._active:
            return
        if not self._pending and not self._events and not ending:
            return  # nothing to write (a session with no epochs yet is written when it ends)
        table = EpochTable.concat(self._chunks) if self._chunks else EpochTable.empty()
        epoch_rows = self._epoch_rows(table)
        bout_updates, bout_inserts, bout = self._bouts(table)
        events = [dict(e) for e in self._events]
        sid_known = self._session_id

        lease_until = None if ending else datetime.now(timezone.utc) + timedelta(seconds=self.lease_s)

        def work(conn) -> int:
            sid = sid_known
            if sid is None:
                sid = conn.execute(insert(Session).values(**self._session_values,
                                                          lease_until=lease_until)).inserted_primary_key[0]
            else:
                # Still ours? (Renews the claim; another writer may have replaced a stalled one.)
                mine = conn.execute(update(Session).where(Session.id == sid, Session.writer == self.writer,
                                                          Session.ended_at.is_(None))
                                    .values(lease_until=lease_until)).rowcount
                if mine != 1:
                    raise SessionLost(
                        f"session {sid} in {self.store.name} was replaced or deleted by another program "
                        f"while this one was writing it (nothing written for {self._since_write():.0f} s); "
                        f"{count(len(epoch_rows), 'epoch')} not stored")
            if epoch_rows:
                conn.execute(insert(Epoch), [dict(r, session_id=sid) for r in epoch_rows])
            for b in bout_updates:
                conn.execute(update(Bout).where(Bout.session_id == sid, Bout.t_start == b.t_start)
                             .values(t_end=b.t_end, end_at=self._at(b.t_end)))
            if bout_inserts:
                conn.execute(insert(Bout), [dict(session_id=sid, t_start=b.t_start, t_end=b.t_end, state=b.state,
                                                 start_at=self._at(b.t_start), end_at=self._at(b.t_end))
                                            for b in bout_inserts])
            if events:
                conn.execute(insert(Event), [dict(e, session_id=sid) for e in events])
            if ending:
                conn.execute(update(Session).where(Session.id == sid).values(ended_at=self._end, lease_until=None))
                if self._replaces is not None:  # complete now: it takes the earlier import's place
                    key = self._session_values["import_key"]  # (inserted without it: see _claim)
                    conn.execute(delete(Session).where(Session.id == self._replaces))
                    conn.execute(delete(Session).where(Session.import_key == key, Session.id != sid))
                    conn.execute(update(Session).where(Session.id == sid).values(import_key=key))
            return sid

        n = len(epoch_rows)
        what = f"write {count(n, 'epoch')}" if n else "write the session"
        kept = f"{count(n, 'unwritten epoch')} kept for a retry" if n else ""
        def forget(sid: int) -> None:
            """Committed: only now forget the batch (with the signals held from the commit on, so
            that a Ctrl-C cannot leave it to be written twice)."""
            self._session_id = sid
            self._retry_at = None
            self._last_write = time.monotonic()
            self._chunks = []
            self._pending = 0
            self._events = self._events[len(events):]
            self._wrote_events = self._wrote_events or bool(events)
            self._bout = bout
            self.written_epochs += n

        try:
            self.store.write(what, work, kept=kept, committed=forget)
        except StoreError:
            self._retry_at = time.monotonic() + self.retry_s
            raise

    def _since_write(self) -> float:
        return time.monotonic() - self._last_write

    # -- context manager ------------------------------------------------------------------------

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Write what is buffered, also on an exception or Ctrl-C, then let go of a session that
        # was not ended. If that fails while another exception is on its way, the store's
        # one-line error takes its place (it says what was not written).
        self.flush()
        self.close()

    # -- helpers --------------------------------------------------------------------------------

    def _need_session(self, what: str) -> None:
        if not self._active:
            raise RuntimeError(f"{what}: call begin_session first")

    def _at(self, t: float) -> datetime:
        return self._start + timedelta(seconds=float(t))

    def _epoch_rows(self, table: EpochTable) -> list[dict]:
        if not len(table):
            return []
        at = [self._start + timedelta(seconds=t) for t in table.t_start.tolist()]  # exact to the microsecond
        cols = {c.name: _nullable(getattr(table, c.name)) for c in MEASUREMENTS}
        t0, t1, st = table.t_start.tolist(), table.t_end.tolist(), table.state.astype(np.int64).tolist()
        return [dict(t_start=t0[i], t_end=t1[i], at=at[i], state=st[i], **{k: v[i] for k, v in cols.items()})
                for i in range(len(t0))]

    def _bouts(self, table: EpochTable) -> tuple[list[_Bout], list[_Bout], Optional[_Bout]]:
        """(bouts to extend, bouts to insert, the open bout afterwards) for a new batch."""
        bout = None if self._bout is None else _Bout(self._bout.t_start, self._bout.t_end, self._bout.state)
        if not len(table):
            return [], [], bout
        t0, t1, st = table.t_start, table.t_end, table.state
        new = [_Bout(float(t0[a]), float(t1[b]), int(st[a])) for a, b in zip(*runs(t0, t1, st))]
        updates: list[_Bout] = []
        if bout is not None and bout.state == new[0].state and touching(bout.t_end, new[0].t_start):
            bout.t_end = new[0].t_end
            updates.append(bout)
            new = new[1:]
        return updates, new, (new[-1] if new else bout)

    def _event_row(self, ev: Any) -> dict:
        get = ev.get if isinstance(ev, Mapping) else (lambda k, d=None: getattr(ev, k, d))
        kind = get("kind")
        if not kind:
            raise ValueError(f"an event needs a kind: {ev!r}")
        t, at = get("t"), get("at")
        if at is None and t is None:
            raise ValueError(f"an event needs t (session seconds) or at (UTC time): {ev!r}")
        at = self._at(t) if at is None else utc(at)
        if t is None:
            t = (at - self._start).total_seconds()
        detail = get("detail")
        if detail is not None and not isinstance(detail, str):
            detail = json.dumps(plain(detail), sort_keys=True)
        outcome, exercise = get("outcome"), get("exercise")
        return dict(at=at, t=float(t), kind=str(kind), detail=detail,
                    outcome=None if outcome is None else str(outcome),
                    exercise=None if exercise is None else str(exercise))


def _locked_import(s, key: str) -> Optional[tuple[SessionInfo, Optional[str], Optional[datetime]]]:
    """The session imported under ``key``, its row locked until the transaction ends (PostgreSQL;
    an SQLite write transaction holds the whole database), with its writer and lease."""
    row = s.execute(select(Session).where(Session.import_key == key).with_for_update()).scalar_one_or_none()
    if row is None:
        return None
    return session_info(row), row.writer, row.lease_until


def _nullable(values: np.ndarray) -> list:
    """Python floats with None for NaN (SQLite would store NaN as NULL anyway; PostgreSQL would not)."""
    out = np.asarray(values, dtype=np.float64).astype(object)
    out[np.isnan(values)] = None
    return out.tolist()
