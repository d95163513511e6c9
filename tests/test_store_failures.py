"""A locked or read-only database gives one line naming it and loses no epochs; a killed writer
loses at most the last few seconds."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy.engine import make_url

from sensorback import signals
from sensorback.cli._runtime import run_guarded
from sensorback.core.epochs import EpochTable
from sensorback.store import DatabaseLocked, DatabaseReadOnly, open_store
from sensorback.store.store import _ensure_wal
from conftest import DEADLINE_S, wait_until

START = datetime(2024, 3, 4, 8, 30, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def sqlite_path(url):
    return make_url(url).database


class WriteLock:
    """Another program holding the database's write lock, over its own connection."""

    def __init__(self, url):
        self.url = url
        if url.startswith("sqlite"):
            self.con = sqlite3.connect(sqlite_path(url), isolation_level=None)
            self.con.execute("BEGIN IMMEDIATE")
        else:
            import psycopg

            u = make_url(url)
            self.con = psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                                       dbname=u.database, options=u.query.get("options"))
            self.con.execute("LOCK TABLE sessions, epochs IN EXCLUSIVE MODE")

    def release(self):
        self.con.rollback()
        self.con.close()


def assert_one_line(err, store, *words):
    text = str(err)
    assert "\n" not in text and store.name in text, text
    for w in words:
        assert w in text, text


def test_locked_database_keeps_epochs_until_retry(store_url, make_epochs, capsys):
    store = open_store(store_url, busy_timeout_s=0.2)
    table = make_epochs(300, seed=7)
    first, second = (EpochTable(*(a[s] for a in vars(table).values())) for s in (slice(0, 200), slice(200, 300)))
    rec = store.recorder(max_epochs=50, max_seconds=None)
    lock = WriteLock(store_url)
    try:
        rec.begin_session(device="d", source="live", start=START, rate_hz=50)  # reads only: fine while locked
        with pytest.raises(DatabaseLocked) as e:
            rec.add_epochs(first)  # 200 >= 50: tries to write, waits 0.2 s, gives up
        assert_one_line(e.value, store, "locked", "200 unwritten epochs kept")
        assert rec.pending == 200
        # The CLI prints it as one line
        assert run_guarded(rec.flush) == 1  # the machine's state (another program), not the user's input
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: database ") and "locked" in err
        with pytest.raises(DatabaseLocked):
            rec.add_epochs(second)
        assert rec.pending == 300
        assert open_store(store_url).epochs(START - HOUR, START + HOUR).time.size == 0  # reading still works
    finally:
        lock.release()
    rec.flush()
    assert rec.pending == 0
    sid = rec.end_session()
    got = store.epochs(START - HOUR, START + HOUR)
    np.testing.assert_array_equal(got.time, START.timestamp() + table.t_start)
    np.testing.assert_array_equal(got.state, table.state)
    np.testing.assert_array_equal(got.flexion_deg, table.flexion_deg)
    assert store.session(sid).complete
    store.close()


def test_monitor_at_a_database_another_program_holds_is_one_line_and_exit_1(tmp_path):
    """A database another program holds locked when the monitor opens it (a rollback-journal one,
    where a writer's lock keeps readers out too): after the store's busy timeout, one line naming it
    and exit 1, as every other state of the machine under the database (it was exit 2, a user's
    mistake); nothing is stored, and the monitor opens it once the lock is gone."""
    db = tmp_path / "back.db"
    open_store(str(db)).close()  # sensorback's schema: only the lock is in the way
    with sqlite3.connect(db, isolation_level=None) as con:
        assert con.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    con.close()
    monitor = [sys.executable, "-m", "sensorback.cli", "monitor", "--demo", "--plain", "--speed", "2000", "--db", db]
    env = {**os.environ, "SENSORBACK_NOTIFY": "0"}
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:  # (no busy timeout can be given to the command line: it waits the store's 5 s)
        r = subprocess.run(monitor, capture_output=True, text=True, timeout=DEADLINE_S, env=env)
    finally:
        lock.rollback()
        lock.close()
    assert (r.returncode, r.stdout) == (1, ""), r
    assert r.stderr.splitlines() == [f"error: database {db} is locked by another program (waited 5 s to open it)"]
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
    con.close()
    r = subprocess.run(monitor, capture_output=True, text=True, timeout=DEADLINE_S, env=env)
    assert r.returncode == 0 and "900 epochs stored (session 1)" in r.stderr, r.stderr


def test_after_a_failed_write_batches_wait_retry_s_and_flush_tries_at_once(tmp_path, make_epochs):
    """retry_s (the live monitor's): a locked database is not tried again by every batch that
    fills up (each try waits the busy timeout), only once retry_s have passed; flush() tries now."""
    url = "sqlite:///" + str(tmp_path / "x.db")
    store = open_store(url, busy_timeout_s=0.1)
    table = make_epochs(30, seed=3)
    parts = [EpochTable(*(a[s] for a in vars(table).values())) for s in (slice(0, 10), slice(10, 20), slice(20, 30))]
    rec = store.recorder(max_epochs=5, max_seconds=None, retry_s=3600)
    rec.begin_session(device="d", source="live", start=START, rate_hz=50)
    lock = WriteLock(url)
    try:
        with pytest.raises(DatabaseLocked):
            rec.add_epochs(parts[0])
        rec.add_epochs(parts[1])  # a full batch, but the retry is not due: kept, no wait, no error
        assert rec.pending == 20
        with pytest.raises(DatabaseLocked):
            rec.flush()
    finally:
        lock.release()
    rec.add_epochs(parts[2])  # still not due: kept
    assert rec.pending == 30
    rec.flush()
    assert rec.pending == 0 and len(store.epochs(START - HOUR, START + HOUR)) == 30
    store.close()


def test_locked_while_exiting_with_block_raises_the_store_error(tmp_path, make_epochs):
    url = "sqlite:///" + str(tmp_path / "x.db")
    store = open_store(url, busy_timeout_s=0.1)
    lock = None
    with pytest.raises(DatabaseLocked):
        with store.recorder() as rec:
            rec.begin_session(device="d", source="live", start=START, rate_hz=50)
            rec.add_epochs(make_epochs(3))
            lock = WriteLock(url)
            raise KeyboardInterrupt
    lock.release()
    assert rec.pending == 3
    rec.flush()
    assert len(store.epochs(START, START + HOUR)) == 3


def read_only_url(url):
    """The same database, opened so that it can only be read."""
    if url.startswith("sqlite"):
        return f"sqlite:///file:{sqlite_path(url)}?mode=ro&uri=true"
    u = make_url(url)
    options = (u.query.get("options", "") + " -cdefault_transaction_read_only=on").strip()
    return u.update_query_dict({"options": options}).render_as_string(hide_password=False)


def test_read_only_database(store_url, make_epochs):
    with open_store(store_url) as rw, rw.recorder() as rec:
        rec.begin_session(device="d", source="live", start=START, rate_hz=50)
        rec.add_epochs(make_epochs(10))
        rec.end_session()
    store = open_store(read_only_url(store_url), busy_timeout_s=0.1)  # up to date: opening writes nothing
    if store_url.startswith("sqlite"):
        assert store.name == sqlite_path(store_url)
    assert len(store.epochs(START, START + HOUR)) == 10  # reads work
    rec = store.recorder()
    rec.begin_session(device="d", source="live", start=START + HOUR, rate_hz=50)
    with pytest.raises(DatabaseReadOnly) as e:
        rec.add_epochs(make_epochs(20))
    assert_one_line(e.value, store, "read-only", "20 unwritten epochs kept")
    assert rec.pending == 20
    with pytest.raises(DatabaseReadOnly):
        store.add_pain_checkin(START, 3)
    store.close()
    with open_store(store_url) as rw:
        assert len(rw.epochs(START, START + 2 * HOUR)) == 10


def test_read_only_file_then_writable(tmp_path, make_epochs):
    if os.geteuid() == 0:
        pytest.skip("running as root, which ignores file permissions (the mode=ro test covers read-only)")
    path = tmp_path / "ro.db"
    store = open_store(str(path), busy_timeout_s=0.1)
    rec = store.recorder()
    rec.begin_session(device="d", source="live", start=START, rate_hz=50)
    store.close()  # no open handles: the next write opens the file afresh
    for side in ("-wal", "-shm"):
        if (tmp_path / ("ro.db" + side)).exists():
            os.chmod(tmp_path / ("ro.db" + side), 0o400)
    os.chmod(path, 0o400)
    try:
        with pytest.raises(DatabaseReadOnly) as e:
            rec.add_epochs(make_epochs(10))
        assert_one_line(e.value, store, "read-only")
        assert rec.pending == 10
    finally:
        for p in tmp_path.iterdir():
            os.chmod(p, 0o600)
    rec.flush()
    rec.end_session()
    assert len(store.epochs(START, START + HOUR)) == 10


CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from sensorback.core.epochs import EpochTable
    from sensorback.store import open_store

    store = open_store(sys.argv[1])
    rec = store.recorder(max_seconds=5.0)
    rec.begin_session(device="d", source="day.sbr", start=1.7e9, rate_hz=50, content_hash="c" * 64)
    one = np.ones(1, np.float32)
    for k in range(10**6):
        rec.add_epochs(EpochTable(np.array([k], float), np.array([k + 1], float), np.array([2], np.int8),
                                  one, one, one, one, one))
        print(k + 1, flush=True)  # epochs handed over so far
""")


def test_killed_writer_loses_at_most_a_few_seconds(store_url):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, store_url], stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if int(line) >= 40 + (os.getpid() % 17):  # stop at a varying point
                break
        os.kill(proc.pid, signal.SIGKILL)
        handed = int(line)
        for line in proc.stdout:  # what it printed before it died
            handed = int(line)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    store = open_store(store_url)
    start = datetime.fromtimestamp(1.7e9, tz=timezone.utc)
    got = store.epochs(start, start + HOUR)
    assert handed - 5 < len(got) <= handed + 1, (handed, len(got))
    np.testing.assert_array_equal(got.time - 1.7e9, np.arange(len(got)))  # no holes
    (s,) = store.sessions(start, start + HOUR)
    assert not s.complete
    (b,) = store.bouts(start, start + HOUR)
    assert b.state == "sitting" and b.duration_s == len(got)
    # importing the recording again replaces the unfinished session
    with store.recorder() as rec:
        begun = rec.begin_session(device="d", source="day.sbr", start=1.7e9, rate_hz=50, content_hash="c" * 64)
        assert begun.action == "replace"
    store.close()


def test_a_new_database_another_process_is_writing_waits_to_switch_to_wal(tmp_path):
    """Two sensorbacks creating one new SQLite file: the second's switch to WAL meets the first's
    write, and SQLite does not wait for that switch by itself (its busy handler is skipped), so the
    replay died with a traceback. It now waits up to the busy timeout, then says 'locked' in one line."""
    path = tmp_path / "new.db"
    writer = sqlite3.connect(path, isolation_level=None)
    # a rollback-journal database, not yet WAL, begun by another sensorback (a table of another
    # program would be refused before the switch: test_store_schema)
    writer.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    writer.execute("BEGIN IMMEDIATE")  # the other process, half-way through creating the schema
    try:
        with pytest.raises(DatabaseLocked) as e:
            open_store(str(path), busy_timeout_s=0.3)
        assert "\n" not in str(e.value) and str(path) in str(e.value)

        opened, failed = [], []
        blocked = threading.Event()  # the opener met the lock: its switch to WAL failed, it waits to retry

        def sleeps_to_retry(frame, event, arg):
            # a profile of the opener's thread (it observes, changes nothing): the only sleep in
            # _ensure_wal is the one after a switch that failed on the lock, before the next try
            if event == "c_call" and arg is time.sleep and frame.f_code is _ensure_wal.__code__:
                blocked.set()

        def open_it():
            sys.setprofile(sleeps_to_retry)
            try:
                # a busy timeout as long as the test's deadline: the wait must not run out before
                # the test, on a loaded machine, gets round to rolling the other write back
                opened.append(open_store(str(path), busy_timeout_s=DEADLINE_S))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                failed.append(exc)
            finally:
                sys.setprofile(None)

        t = threading.Thread(target=open_it)
        t.start()
        wait_until(lambda: blocked.is_set() or not t.is_alive(), "the second opener to meet the write lock")
        assert blocked.is_set() and not opened and not failed, (opened, failed)  # still waiting on the lock
    finally:
        writer.execute("ROLLBACK")
    t.join(DEADLINE_S)
    assert not t.is_alive(), "the second opener still waits after the other write was rolled back"
    assert not failed and opened, failed
    with opened[0] as store:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
    writer.close()


@pytest.mark.parametrize("times", [1, 2], ids=["once", "delivered-twice"])
def test_a_ctrl_c_right_after_a_commit_neither_loses_nor_doubles_the_batch(store_url, make_epochs, monkeypatch,
                                                                           times):
    """A Ctrl-C that lands just after the database committed a batch, before the recorder noted it
    (here sent from inside the commit, so that Python handles it as the commit returns), is
    delivered once the recorder has noted it: the batch is stored once, counted once, and the
    recorder's closing flush does not write it again (it used to: a duplicate-key error saying
    the epochs were not stored, or the events twice; or, with the batch not counted, the session
    taken for empty and deleted with it)."""
    monkeypatch.setattr(signals, "AGAIN_S", 3600.0)  # (both deliveries come 'at once')
    store = open_store(store_url)
    table = make_epochs(40, seed=5)
    rec = store.recorder(max_epochs=1000, max_seconds=None)
    dialect = store.engine.dialect
    real_commit = dialect.do_commit
    signalled = []

    def commit_then_ctrl_c(dbapi_connection):
        real_commit(dbapi_connection)
        if not signalled:
            signalled.append(True)
            for _ in range(times):  # (twice: as a terminal and a wrapper passing it on deliver it)
                os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        with rec:
            rec.begin_session(device="d", source="live", start=START, rate_hz=50)
            rec.add_epochs(table)
            rec.add_events([{"kind": "slouch_nudge", "t": 12.0}])
            monkeypatch.setattr(dialect, "do_commit", commit_then_ctrl_c)
            rec.flush()
    monkeypatch.setattr(dialect, "do_commit", real_commit)
    assert signalled
    stored = store.epochs(START, START + HOUR)
    assert len(stored) == len(table) and np.array_equal(stored.state, table.state)
    assert [e.kind for e in store.events(START, START + HOUR)] == ["slouch_nudge"]
    store.close()
