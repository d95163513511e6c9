# ruff: noqa: F811  (pytest fixtures imported from test_store are parameters of the tests here)
"""Importing a recording once, also when several writers try at the same time (SQLite and PostgreSQL).

A recording's import is claimed in one transaction (unique import_key); an import being written
(its lease holds, its process exists) is never replaced; a writer that stalled past its lease and
was replaced is told so in one line; two real `sensorback replay` processes of one file store it
once, and nothing is lost.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, update

from sensorback import formats
from sensorback.store import StoreError, open_store
from sensorback.store.models import Epoch, Session
from sensorback.store.recorder import writer_id
from conftest import DEADLINE_S, DEMO, wait_until
from test_store import count, store  # noqa: F401 - the row count helper and the store fixture

START = datetime(2024, 3, 4, 8, 30, tzinfo=timezone.utc)
HASH = "cd" * 32
SHORT_S = 240  # seconds of the demo the process tests replay


def begin(rec, **kw):
    return rec.begin_session(device="d", source="day.sbr", start=START, rate_hz=50.0, content_hash=HASH,
                             options={"epoch_s": 1.0}, **kw)


def set_session(store, sid, **values):
    with store.engine.begin() as c:
        c.execute(update(Session).where(Session.id == sid).values(**values))


def test_an_import_being_written_is_not_replaced(store, make_epochs):
    table = make_epochs(90, seed=1)
    a = store.recorder(max_epochs=30, max_seconds=None)
    first = begin(a)
    assert first.action == "new" and a.session_id is not None  # claimed at once
    a.add_epochs(_part(table, 0, 40))
    with store.recorder() as b:
        again = begin(b)
        assert again.action == "busy" and again.skipped and again.existing.id == a.session_id
        assert "another sensorback is importing it" in again.message and "not stored twice" in again.message
        b.add_epochs(make_epochs(10))  # ignored
        assert b.end_session() is None
    with store.recorder() as c:  # --replace does not take it away from a live writer either
        assert begin(c, on_existing="replace").action == "busy"
    a.add_epochs(_part(table, 40, 90))
    sid = a.end_session()
    assert count(store, Session) == 1 and count(store, Epoch, session_id=sid) == 90
    assert store.session(sid).complete


def test_a_writer_that_stalled_past_its_lease_is_replaced_and_told(store, make_epochs):
    table = make_epochs(60, seed=2)
    a = store.recorder(max_epochs=20, max_seconds=None)
    begin(a)
    a.add_epochs(_part(table, 0, 20))
    old = a.session_id
    set_session(store, old, lease_until=datetime.now(timezone.utc) - timedelta(seconds=1))  # it stalled
    with store.recorder() as b:
        taken = begin(b)
        assert taken.action == "replace" and taken.existing.id == old and "did not finish" in taken.message
        b.add_epochs(table)
        new = b.end_session()
    with pytest.raises(StoreError, match=f"session {old} .* was replaced or deleted by another program"):
        a.add_epochs(_part(table, 20, 40))  # its next write: one line, not a foreign-key error
    assert count(store, Session) == 1 and count(store, Epoch, session_id=new) == 60


def test_a_killed_writer_on_this_host_is_replaced_at_once(store, make_epochs):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    a = store.recorder()
    begin(a)
    host = writer_id().rpartition(":")[0]
    set_session(store, a.session_id, writer=f"{host}:{gone.pid}",
                lease_until=datetime.now(timezone.utc) + timedelta(hours=1))
    with store.recorder() as b:
        assert begin(b).action == "replace"  # its lease holds, but its process is gone
        b.add_epochs(make_epochs(5))
        b.end_session()


def test_a_writer_on_another_host_keeps_its_claim_until_its_lease_ends(store, make_epochs):
    a = store.recorder()
    begin(a)
    sid = a.session_id
    set_session(store, sid, writer="elsewhere.example:1", lease_until=datetime.now(timezone.utc) + timedelta(hours=1))
    with store.recorder() as b:
        assert begin(b).action == "busy"
    set_session(store, sid, lease_until=datetime.now(timezone.utc) - timedelta(seconds=1))
    with store.recorder() as b:
        assert begin(b).action == "replace"
        b.add_epochs(make_epochs(5))
        b.end_session()
    assert count(store, Session) == 1


def test_letting_go_of_an_unfinished_import(store, make_epochs):
    with store.recorder() as rec:  # nothing written: the claimed row goes away
        begin(rec)
    assert count(store, Session) == 0
    with store.recorder() as rec:  # something written: kept, unfinished, claim ended
        begin(rec)
        rec.add_epochs(make_epochs(5))
        sid = rec.session_id
    with store.engine.connect() as c:
        ended_at, lease = c.execute(select(Session.ended_at, Session.lease_until).where(Session.id == sid)).one()
    assert ended_at is None and lease is None
    with store.recorder() as rec:
        assert begin(rec).action == "replace"
        rec.add_epochs(make_epochs(5))
        rec.end_session()


def test_a_replacement_of_a_complete_import_takes_its_place_only_once_it_ends(store, make_epochs):
    """--replace of a finished import cut short (Ctrl-C, a kill) loses nothing: the old session stays
    whole until the new one ends. (It was deleted before the replay began, so a --replace stopped
    part way lost a complete day.)"""
    table = make_epochs(60, seed=7)
    with store.recorder() as a:
        begin(a)
        a.add_epochs(table)
        old = a.end_session()
    with store.recorder(max_epochs=10, max_seconds=None) as b:  # stopped cleanly part way
        taken = begin(b, on_existing="replace")
        assert taken.action == "replace" and taken.existing.id == old
        assert "once this replay finishes" in taken.message
        b.add_epochs(_part(table, 0, 30))
        assert count(store, Session) == 2 and count(store, Epoch, session_id=b.session_id) == 30  # both, meanwhile
        assert store.session(old).complete and count(store, Epoch, session_id=old) == 60
    assert count(store, Session) == 1 and store.session(old).complete and count(store, Epoch, session_id=old) == 60

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    c = store.recorder(max_epochs=10, max_seconds=None)  # killed part way: its process is gone
    begin(c, on_existing="replace")
    c.add_epochs(_part(table, 0, 30))
    set_session(store, c.session_id, writer=f"{writer_id().rpartition(':')[0]}:{gone.pid}")
    assert count(store, Session) == 2 and count(store, Epoch, session_id=old) == 60
    with store.recorder() as d:  # the next import of the recording clears the dead replacement away
        assert begin(d).action == "skip"
    assert count(store, Session) == 1 and store.session(old).complete

    with store.recorder() as e:  # one that ends takes the old one's place, and its identity
        begin(e, on_existing="replace")
        e.add_epochs(table)
        new = e.end_session()
    assert store.session(old) is None and count(store, Session) == 1 and count(store, Epoch, session_id=new) == 60
    with store.recorder() as f:
        again = begin(f)
        assert again.action == "skip" and again.existing.id == new


def test_a_replacement_whose_process_runs_is_kept_past_its_lease(store, make_epochs):
    """A paced replay waits out a gap of up to 10 min without writing, past its lease: a claim of the
    same recording that only skips (or uses other options) must not take the replacement away while
    its process on this host still runs; once the process is gone, it may."""
    table = make_epochs(40, seed=8)
    with store.recorder() as a:
        begin(a)
        a.add_epochs(table)
        old = a.end_session()
    r = store.recorder(max_epochs=10, max_seconds=None)
    begin(r, on_existing="replace")
    r.add_epochs(_part(table, 0, 20))
    set_session(store, r.session_id, lease_until=datetime.now(timezone.utc) - timedelta(minutes=5))
    with store.recorder() as other:
        assert begin(other).action == "skip"
    assert count(store, Session) == 2 and count(store, Epoch, session_id=r.session_id) == 20
    r.add_epochs(_part(table, 20, 40))
    new = r.end_session()
    assert store.session(old) is None and count(store, Epoch, session_id=new) == 40


def test_many_writers_claiming_at_once_store_it_once(store_url, make_epochs):
    n = 6
    barrier = threading.Barrier(n)
    results: list = [None] * n
    stores = [open_store(store_url) for _ in range(n)]

    def claim(i):
        rec = stores[i].recorder()
        barrier.wait(timeout=DEADLINE_S)
        try:
            results[i] = begin(rec).action
            if results[i] == "new":
                rec.add_epochs(make_epochs(30))
                rec.end_session()
        except BaseException as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S)
    try:
        # the others either met the claim of a live writer or its finished import
        assert sorted(results, key=str).count("new") == 1, results
        assert all(r in ("new", "busy", "skip") for r in results), results
        assert count(stores[0], Session) == 1 and count(stores[0], Epoch) == 30
    finally:
        for s in stores:
            s.close()


# ------------------------------------------------------------------------------ two real processes


def _part(table, a, b):
    from sensorback.core.epochs import EpochTable

    names = ("t_start", "t_end", "state", "inclination_deg", "flexion_deg", "lateral_deg", "intensity_g",
             "cadence_spm")
    return EpochTable(*(getattr(table, f)[a:b] for f in names))


@pytest.fixture(scope="module")
def short_recording(tmp_path_factory):
    block = formats.load(DEMO)
    n = int(SHORT_S * block.rate_hz)
    path = tmp_path_factory.mktemp("short") / "short.sbr"
    formats.save(block.slice(0, n), path)
    return path


def replay(path, db, *extra, env_dir):
    env = dict(os.environ, SENSORBACK_CONFIG=str(env_dir / "none.toml"), PYTHONUNBUFFERED="1")
    env.pop("SENSORBACK_DB", None)
    cmd = [sys.executable, "-m", "sensorback.cli", "replay", str(path), "--db", db, *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            encoding="utf-8")


def finish(proc):
    try:
        out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:  # pragma: no cover - only when the test fails
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (out, err)
    assert "Traceback" not in err
    return out, err


def sessions(db):
    """(id, ended_at) of every session and the number of epochs; nothing while the first writer
    is still creating the database."""
    from sqlalchemy.exc import DBAPIError

    if "://" not in db and not Path(db).exists():
        return [], 0
    engine = create_engine(db if "://" in db else "sqlite:///" + db)
    try:
        with engine.connect() as c:
            rows = c.execute(select(Session.id, Session.ended_at)).all()
            epochs = c.execute(select(func.count()).select_from(Epoch)).scalar_one()
        return rows, epochs
    except DBAPIError:  # no tables yet
        return [], 0
    finally:
        engine.dispose()



def _db_arg(store_url):
    return store_url.removeprefix("sqlite:///") if store_url.startswith("sqlite:///") else store_url


def _count_stored(line, sid) -> int:
    """'  epochs:  243 stored in session 1 of ...' -> 243 (and it is that session)."""
    n, _, rest = line.split(":", 1)[1].strip().partition(" stored in session ")
    assert rest.startswith(f"{sid} "), line
    return int(n.replace(",", ""))


def _stored(out):
    return [ln for ln in out.splitlines() if "stored in session" in ln]


def test_two_replays_of_one_file_at_once(store_url, short_recording, tmp_path):
    db = _db_arg(store_url)
    procs = [replay(short_recording, db, env_dir=tmp_path) for _ in range(2)]
    (out1, err1), (out2, err2) = (finish(p) for p in procs)
    stored = _stored(out1) + _stored(out2)
    assert len(stored) == 1, (out1, out2)  # exactly one stored it
    other_out, other_err = (out2, err2) if _stored(out1) else (out1, err1)
    assert "none stored" in other_out
    # it met the other's claim while it was writing, or its finished import
    assert "another sensorback is importing it" in other_err or "already in" in other_err, other_err
    rows, epochs = sessions(db)
    assert len(rows) == 1 and rows[0][1] is not None  # one session, complete
    assert epochs == _count_stored(stored[0], rows[0][0]) >= SHORT_S


def test_a_replay_while_another_is_writing_says_so_and_nothing_is_lost(store_url, short_recording, tmp_path):
    """The first replay is paced, and frozen (SIGSTOP) between two of its writes while the second
    one runs: a writer that is alive, holding its claim, whatever the machine's load."""
    db = _db_arg(store_url)
    first = replay(short_recording, db, "--speed", "48", env_dir=tmp_path)
    try:
        sid = wait_until(lambda: next((r[0] for r in sessions(db)[0] if r[1] is None), None), "the first claim",
                         poll_s=0.05)

        def frozen_between_writes():
            os.kill(first.pid, signal.SIGSTOP)
            if _holds_no_lock(store_url, sid):
                return True
            os.kill(first.pid, signal.SIGCONT)  # caught inside a write: let it finish it
            return False

        wait_until(frozen_between_writes, "the first replay between two writes", poll_s=0.02)
        second = replay(short_recording, db, env_dir=tmp_path)
        out2, err2 = finish(second)
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGCONT)
    assert "another sensorback is importing it" in err2 and f"(session {sid})" in err2, err2
    assert "none stored" in out2 and not _stored(out2)
    out1, _ = finish(first)
    (line,) = _stored(out1)
    rows, epochs = sessions(db)
    assert rows == [(sid, rows[0][1])] and rows[0][1] is not None  # one session, complete
    assert epochs == _count_stored(line, sid) >= SHORT_S  # everything


def _holds_no_lock(store_url, sid) -> bool:
    """Can a writer take what the second replay's claim needs (SQLite: the write lock; PostgreSQL:
    the session's row) right now? If so (the first replay is frozen, so it cannot take it later),
    make its lease outlast any load."""
    if store_url.startswith("sqlite:///"):
        conn = sqlite3.connect(store_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()
    engine = create_engine(store_url)
    try:
        if not store_url.startswith("sqlite:///"):
            try:
                with engine.begin() as c:
                    c.execute(select(Session.id).where(Session.id == sid).with_for_update(nowait=True))
            except Exception:  # noqa: BLE001 - locked by the frozen writer's transaction
                return False
        with engine.begin() as c:
            c.execute(update(Session).where(Session.id == sid)
                      .values(lease_until=datetime.now(timezone.utc) + timedelta(hours=1)))
        return True
    finally:
        engine.dispose()
