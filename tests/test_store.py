"""Store round trips on SQLite and PostgreSQL, re-imports, batching, locations and permissions."""

import os
import sqlite3
import stat
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np
import pytest
from sqlalchemy import func, select

from sensorback.core.epochs import EpochTable
from sensorback.core.states import STATES
from sensorback.errors import SensorbackError
from sensorback.report.redflags import answered_yes
from sensorback.store import StoreError, default_db_path, open_store, resolve_db_url
from sensorback.store.models import Bout, Epoch, Event, Session

START = datetime(2024, 3, 4, 8, 30, tzinfo=timezone.utc)
HASH = "ab" * 32
FIELDS = ("t_start", "t_end", "state", "inclination_deg", "flexion_deg", "lateral_deg", "intensity_g", "cadence_spm")


def chunks(table, cuts):
    edges = [0, *cuts, len(table)]
    return [EpochTable(*(getattr(table, f)[a:b] for f in FIELDS)) for a, b in zip(edges[:-1], edges[1:])]


def count(store, model, **where):
    with store.engine.connect() as c:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return c.execute(q).scalar_one()


def record(store, table, *, content_hash=HASH, options=None, end=True, source="day.sbr", **kw):
    with store.recorder(**kw) as rec:
        begun = rec.begin_session(device="polar-h10", source=source, start=START, rate_hz=52.0,
                                  content_hash=content_hash, options=options or {"epoch_s": 1.0})
        rec.add_epochs(table)
        sid = rec.end_session() if end else rec.session_id
    return begun, sid


def runs(table):
    """(state name, start, end) of each run of equal states."""
    out = []
    for i, s in enumerate(table.state.tolist()):
        if out and out[-1][0] == STATES[s]:
            out[-1][2] = float(table.t_end[i])
        else:
            out.append([STATES[s], float(table.t_start[i]), float(table.t_end[i])])
    return [tuple(r) for r in out]


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


def test_round_trip(store, make_epochs):
    table = make_epochs(600, seed=1)
    assert np.isnan(table.inclination_deg).any()
    calibration = {"sensor": {"offset": np.array([0.01, -0.02, 0.0], np.float32), "note": "fit"},
                   "reference": {"up": (0.0, 0.0, 1.0), "tilt": float("nan")}}
    with store.recorder(max_epochs=100) as rec:
        begun = rec.begin_session(device="polar-h10", source="/data/day.sbr", start=START.timestamp(), rate_hz=52.0,
                                  calibration=calibration, content_hash=HASH, options={"window": (1, 2)})
        assert begun.action == "new" and not begun.skipped
        for part in chunks(table, [7, 100, 250, 599]):
            rec.add_epochs(part)
        rec.add_events([
            {"t": 30.0, "kind": "prompt", "detail": {"why": "sitting 30 min"}, "outcome": "done",
             "exercise": "chin tucks"},
            SimpleNamespace(at=START + timedelta(seconds=90), kind="snooze", outcome=None, detail="later"),
        ])
        sid = rec.end_session()
    assert sid is not None

    got = store.epochs(START, START + timedelta(hours=1))
    assert len(got) == 600
    np.testing.assert_array_equal(got.time, START.timestamp() + table.t_start)
    np.testing.assert_array_equal(got.duration_s, table.t_end - table.t_start)
    np.testing.assert_array_equal(got.state, table.state)
    assert got.state.dtype == np.int8 and got.inclination_deg.dtype == np.float32
    for name in FIELDS[3:]:
        np.testing.assert_array_equal(getattr(got, name), getattr(table, name), err_msg=name)
    assert (got.session_id == sid).all()
    assert list(got.state_names[:3]) == [STATES[s] for s in table.state[:3]]

    part = store.epochs(START + timedelta(seconds=100), START + timedelta(seconds=200))
    np.testing.assert_array_equal(part.time - START.timestamp(), np.arange(100, 200))

    (session,) = store.sessions(START - timedelta(days=1), START + timedelta(days=1))
    assert session.id == sid and session.complete
    assert (session.device, session.source, session.content_hash) == ("polar-h10", "/data/day.sbr", HASH)
    assert session.started_at == START and session.ended_at == START + timedelta(seconds=600)
    assert session.rate_hz == 52.0 and session.epoch_s == 1.0 and not session.start_estimated
    assert session.calibration["sensor"]["offset"] == pytest.approx([0.01, -0.02, 0.0])
    assert session.calibration["reference"] == {"up": [0.0, 0.0, 1.0], "tilt": None}
    assert session.options == {"window": [1, 2]}
    assert store.session(sid) == session

    bouts = store.bouts(START, START + timedelta(hours=1))
    assert [(b.state, (b.start - START).total_seconds(), (b.end - START).total_seconds()) for b in bouts] == runs(table)
    assert sum(b.duration_s for b in bouts) == 600

    ev = store.events(START, START + timedelta(hours=1))
    assert [(e.kind, e.t, e.at, e.outcome, e.exercise, e.session_id) for e in ev] == [
        ("prompt", 30.0, START + timedelta(seconds=30), "done", "chin tucks", sid),
        ("snooze", 90.0, START + timedelta(seconds=90), None, None, sid)]
    assert ev[0].detail == '{"why": "sitting 30 min"}' and ev[1].detail == "later"


def test_time_ranges_across_sessions(store, make_epochs):
    a, b = make_epochs(100, seed=2), make_epochs(50, seed=3)
    with store.recorder() as rec:
        rec.begin_session(device="d", source="live", start=START, rate_hz=50)
        rec.add_epochs(a)
        first = rec.end_session()
        rec.begin_session(device="d", source="live", start=START + timedelta(hours=2), rate_hz=50)
        rec.add_epochs(b)
        second = rec.end_session()
    day = store.epochs(START.replace(hour=0), START.replace(hour=0) + timedelta(days=1))
    assert len(day) == 150 and list(np.unique(day.session_id)) == sorted([first, second])
    assert np.all(np.diff(day.time) > 0)
    assert len(store.epochs(START + timedelta(hours=1), START + timedelta(hours=2))) == 0
    later = store.sessions(START + timedelta(hours=1), START + timedelta(days=1))
    assert [s.id for s in later] == [second]
    assert store.epochs(START - timedelta(days=9), START - timedelta(days=8)).time.shape == (0,)
    # naive datetimes are UTC; Unix seconds work too
    assert len(store.epochs(START.replace(tzinfo=None), START.timestamp() + 50)) == 50


def test_exercises_and_pain_checkins(store):
    at = START + timedelta(minutes=5)
    e1 = store.add_exercise(at, "chin tucks", "prompt")
    store.add_exercise(at + timedelta(minutes=1), "walk", "manual")
    p = store.add_pain_checkin(at, 4, radiating=True, numbness=False, note="after lunch")
    ex = store.exercises(START, START + timedelta(hours=1))
    assert [(x.id, x.name, x.source, x.at) for x in ex][0] == (e1, "chin tucks", "prompt", at)
    assert len(ex) == 2
    (c,) = store.pain_checkins(START, START + timedelta(hours=1))
    assert (c.id, c.score, c.radiating, c.numbness, c.fever, c.note) == (p, 4, True, False, None, "after lunch")
    assert answered_yes(c) == ["radiating"]   # what a report lists beside the check-in
    with pytest.raises(SensorbackError, match="0 to 10"):
        store.add_pain_checkin(at, 11)
    with pytest.raises(ValueError):
        store.add_exercise(at, "x", "coach")


def test_reimport_skips_or_replaces(store, make_epochs):
    table = make_epochs(120, seed=4)
    begun, first = record(store, table)
    assert begun.action == "new"
    begun, again = record(store, table)
    assert begun.action == "skip" and begun.existing.id == first and again is None
    assert "skipped" in begun.message and f"session {first}" in begun.message
    assert count(store, Session) == 1 and count(store, Epoch) == 120

    with store.recorder() as rec:
        begun = rec.begin_session(device="d", source="day.sbr", start=START, rate_hz=52.0, content_hash=HASH,
                                  options={"epoch_s": 1.0}, on_existing="replace")
        assert begun.action == "replace" and "replacing session" in begun.message
        rec.add_epochs(table)
        replaced = rec.end_session()
    assert replaced != first  # ids of replaced sessions are not reused
    assert count(store, Session) == 1 and count(store, Epoch) == 120 and store.session(first) is None

    # other options: another import of the same file
    begun, other = record(store, table, options={"epoch_s": 1.0, "slouch_threshold_deg": 25.0})
    assert begun.action == "new" and count(store, Session) == 2 and count(store, Epoch) == 240


def test_unfinished_import_is_replaced(store, make_epochs):
    table = make_epochs(50, seed=5)
    begun, sid = record(store, table, end=False)
    assert store.session(sid).ended_at is None
    begun, sid2 = record(store, table)
    assert begun.action == "replace" and "did not finish" in begun.message
    assert count(store, Session) == 1 and count(store, Epoch) == 50 and store.session(sid2).complete


def test_batches_by_sample_time_and_count(store, make_epochs):
    table = make_epochs(20, seed=6)
    rec = store.recorder(max_seconds=5.0)
    rec.begin_session(device="d", source="live", start=START, rate_hz=50)
    for i, part in enumerate(chunks(table, range(1, 20))):
        rec.add_epochs(part)
        written = count(store, Epoch)
        assert written + rec.pending == i + 1
        assert rec.pending < 5  # never more than 5 s of samples waiting
    assert written == 20 and rec.session_id is not None

    rec = store.recorder(max_epochs=8, max_seconds=None)
    rec.begin_session(device="d", source="replay", start=START + timedelta(hours=1), rate_hz=50)
    rec.add_epochs(make_epochs(7, t0=0))
    assert rec.pending == 7 and rec.session_id is None  # nothing written yet, not even the session
    rec.add_epochs(make_epochs(1, t0=7))
    assert rec.pending == 0 and count(store, Epoch, session_id=rec.session_id) == 8
    rec.end_session()


def test_flush_on_exception(store, make_epochs):
    with pytest.raises(KeyboardInterrupt):
        with store.recorder() as rec:
            rec.begin_session(device="d", source="live", start=START, rate_hz=50)
            rec.add_epochs(make_epochs(3))
            rec.add_events([{"t": 1.5, "kind": "prompt"}])
            assert rec.pending == 3
            raise KeyboardInterrupt
    assert count(store, Epoch) == 3 and count(store, Event) == 1
    (s,) = store.sessions(START, START + timedelta(hours=1))
    assert not s.complete


def test_bouts_grow_across_batches(store):
    t = np.arange(12, dtype=float)
    state = np.array([2] * 5 + [3] * 4 + [2] * 3, np.int8)
    nan = np.full(12, np.nan, np.float32)
    table = EpochTable(t, t + 1, state, nan, nan, nan, nan, nan)
    with store.recorder(max_epochs=2, max_seconds=None) as rec:
        rec.begin_session(device="d", source="live", start=START, rate_hz=50)
        for part in chunks(table, range(1, 12)):
            rec.add_epochs(part)
            assert count(store, Bout) == len(runs(EpochTable(*(getattr(table, f)[:rec.written_epochs] for f in FIELDS))))
        rec.end_session()
    bouts = store.bouts(START, START + timedelta(hours=1))
    assert [(b.state, b.duration_s) for b in bouts] == [("sitting", 5), ("slouching", 4), ("sitting", 3)]
    assert np.isnan(store.epochs(START, START + timedelta(hours=1)).inclination_deg).all()


def test_unknown_start_is_estimated(store, make_epochs):
    before = datetime.now(timezone.utc)
    with store.recorder() as rec:
        rec.begin_session(device="csv", source="x.csv", start=None, rate_hz=50)
        rec.add_epochs(make_epochs(3))
        sid = rec.end_session()
    s = store.session(sid)
    assert s.start_estimated and before <= s.started_at <= datetime.now(timezone.utc)


def test_recorder_misuse(store, make_epochs):
    rec = store.recorder()
    with pytest.raises(RuntimeError, match="begin_session"):
        rec.add_epochs(make_epochs(2))
    with pytest.raises(ValueError):
        store.recorder(max_epochs=0)
    rec.begin_session(device="d", source="live", start=START, rate_hz=50)
    rec.add_epochs(make_epochs(5))
    with pytest.raises(ValueError, match="time order"):
        rec.add_epochs(make_epochs(5, t0=2))
    with pytest.raises(RuntimeError, match="not ended"):
        rec.begin_session(device="d", source="live", start=START, rate_hz=50)


def test_nothing_recorded_writes_no_session(store):
    with pytest.raises(KeyboardInterrupt):
        with store.recorder() as rec:
            rec.begin_session(device="d", source="live", start=START, rate_hz=50)
            raise KeyboardInterrupt
    assert count(store, Session) == 0
    with store.recorder() as rec:  # an ended session is kept even without epochs
        rec.begin_session(device="d", source="live", start=START, rate_hz=50)
        sid = rec.end_session()
    assert store.session(sid).ended_at == START


def test_in_memory_sqlite(make_epochs):
    with open_store("sqlite://") as store:
        record(store, make_epochs(10))
        assert len(store.epochs(START, START + timedelta(hours=1))) == 10


# ---- location, permissions, WAL (SQLite) ---------------------------------------------------------

def test_resolve_db_url(monkeypatch, tmp_path):
    monkeypatch.delenv("SENSORBACK_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "sensorback" / "sensorback.db"
    assert resolve_db_url(None) == "sqlite:///" + str(tmp_path / "xdg" / "sensorback" / "sensorback.db")
    monkeypatch.setenv("SENSORBACK_DB", "postgresql+psycopg://me@db/back")
    assert resolve_db_url(None) == "postgresql+psycopg://me@db/back"
    assert resolve_db_url("sqlite:////x/y.db") == "sqlite:////x/y.db"  # --db wins over the environment
    monkeypatch.chdir(tmp_path)
    assert resolve_db_url("my.db") == "sqlite:///" + str(tmp_path / "my.db")
    with pytest.raises(StoreError, match="cannot use database nosuchdialect://x/y"):
        open_store("nosuchdialect://x/y")
    # URLs SQLAlchemy rejects with a multi-line ArgumentError or a ValueError: one line each
    with pytest.raises(StoreError, match=r"^--db 'sqlite://my.db' is not an SQLite URL: .*sqlite:///my.db"):
        resolve_db_url("sqlite://my.db")
    with pytest.raises(StoreError, match=r"^--db 'postgresql://me@db:x/back' is not a database URL"):
        resolve_db_url("postgresql://me@db:x/back")
    with pytest.raises(StoreError, match=r"^cannot use database .*my.db: could not convert string to float"):
        open_store(f"sqlite:///{tmp_path / 'my.db'}?timeout=abc")


def test_default_location_permissions_and_wal(monkeypatch, tmp_path, make_epochs):
    monkeypatch.delenv("SENSORBACK_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(os, "umask", os.umask)  # restored by monkeypatch
    old = os.umask(0o022)
    try:
        with open_store() as store:
            record(store, make_epochs(30))
            path = default_db_path()
            assert store.name == str(path)
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            for extra in ("-wal", "-shm"):  # SQLite gives them the database file's permissions
                side = path.with_name(path.name + extra)
                if side.exists():
                    assert stat.S_IMODE(side.stat().st_mode) == 0o600, extra
            with sqlite3.connect(path) as con:
                assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            with store.engine.connect() as c:
                assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
                assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        os.umask(old)


def test_env_var_selects_database(monkeypatch, tmp_path, make_epochs):
    monkeypatch.setenv("SENSORBACK_DB", str(tmp_path / "sub" / "env.db"))
    with open_store() as store:
        record(store, make_epochs(5))
    assert stat.S_IMODE((tmp_path / "sub" / "env.db").stat().st_mode) == 0o600


def test_cannot_open_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError) as e:
        open_store(str(blocker / "x.db"))
    assert str(blocker) in str(e.value) and "\n" not in str(e.value)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(StoreError) as e:
        open_store(str(junk))
    assert str(junk) in str(e.value) and "\n" not in str(e.value)


def test_epochs_read_back_as_the_cores_table(store, make_epochs):
    """What the store returns is an EpochTable (the core's columns, one declaration): times on one
    axis from the range's start, so the summary runs on it as on the core's output."""
    from sensorback.core.epochs import COLUMNS
    from sensorback.summary import summarize

    table = make_epochs(600, seed=4)
    record(store, table)
    got = store.epochs(START - timedelta(seconds=30), START + timedelta(hours=1))
    assert isinstance(got, EpochTable) and got.origin == (START - timedelta(seconds=30)).timestamp()
    for c in COLUMNS:
        assert getattr(got, c.name).dtype == c.dtype, c.name
    np.testing.assert_array_equal(got.t_start, table.t_start + 30.0)
    np.testing.assert_array_equal(got.t_end, table.t_end + 30.0)
    mine, theirs = summarize(got), summarize(table)
    assert (mine.n_bouts, mine.breaks, mine.longest_bout_s, mine.state_s) == \
        (theirs.n_bouts, theirs.breaks, theirs.longest_bout_s, theirs.state_s)
    assert [b.start_s for b in mine.bouts] == [b.start_s + 30.0 for b in theirs.bouts]
