"""Migrations: applied automatically on open, and the migrated schema is exactly the models."""

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, insert, text
from typer.testing import CliRunner

from cli_checks import one_line_error
from sensorback.cli import app

from sensorback.store import StoreError, open_store
from sensorback.store.db import describe, make_engine
from sensorback.store.migrate import MIGRATIONS, current_revisions, head_revision, script_directory, upgrade
from sensorback.store.models import Base, Epoch, Session

START = datetime(2024, 3, 4, 8, 30, tzinfo=timezone.utc)


def test_revisions_ship_inside_the_package():
    import sensorback

    assert MIGRATIONS.is_relative_to(next(iter(sensorback.__path__)))
    revisions = [s.revision for s in script_directory().walk_revisions()]
    assert revisions[-1] == "0001" and revisions[0] == head_revision()
    assert len(script_directory().get_heads()) == 1


def test_fresh_database_is_at_head(store_url):
    with open_store(store_url) as store, store.engine.connect() as conn:
        assert current_revisions(conn) == {head_revision()}
        tables = set(inspect(conn).get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} == tables


def test_migrated_schema_equals_models(store_url):
    with open_store(store_url) as store, store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_older_schema_is_upgraded_with_its_data(store_url):
    target = describe(store_url)
    engine = make_engine(target)
    upgrade(engine, target.name, revision="0001")
    with engine.begin() as conn:
        assert current_revisions(conn) == {"0001"}
        assert "exercises" not in inspect(conn).get_table_names()
        sid = conn.execute(insert(Session).values(
            device="d", source="old.sbr", started_at=START, start_estimated=False, rate_hz=50.0, epoch_s=1.0,
            state_names=["moving", "standing", "sitting"], software_version="0.0.1", created_at=START,
        )).inserted_primary_key[0]
        conn.execute(insert(Epoch), [dict(session_id=sid, t_start=float(k), t_end=k + 1.0, state=2,
                                          at=START + timedelta(seconds=k)) for k in range(10)])
    engine.dispose()

    with open_store(store_url) as store:
        with store.engine.connect() as conn:
            assert current_revisions(conn) == {head_revision()}
        got = store.epochs(START, START + timedelta(hours=1))
        assert len(got) == 10 and list(set(got.state_names)) == ["sitting"]
        store.add_exercise(START, "walk")  # a table of the newer revision
        assert [e.name for e in store.exercises(START, START + timedelta(hours=1))] == ["walk"]


def test_database_from_a_newer_sensorback(tmp_path):
    url = "sqlite:///" + str(tmp_path / "new.db")
    open_store(url).close()
    engine = make_engine(describe(url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="revision 9999, written by a newer sensorback"):
        open_store(url)


def test_concurrent_first_opens_migrate_once(store_url):
    from concurrent.futures import ThreadPoolExecutor

    def open_and_close(_):
        with open_store(store_url) as store, store.engine.connect() as conn:
            return current_revisions(conn)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_and_close, range(4))) == [{head_revision()}] * 4


def test_another_programs_database_is_refused_untouched(store_url):
    """A database with tables but no schema revision is not sensorback's: opening it (to write or,
    as a report does, to read) raises one line naming its tables, and changes nothing in it."""
    target = describe(store_url)
    engine = make_engine(target)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (a INTEGER, b TEXT)"))
        conn.execute(text("INSERT INTO notes VALUES (1, 'mine')"))
    engine.dispose()
    for read_only in (False, True):
        with pytest.raises(StoreError, match=r"belongs to another program \(it holds the tables notes, not "):
            open_store(store_url, read_only=read_only)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == {"notes"}
        assert conn.execute(text("SELECT b FROM notes")).scalar() == "mine"
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() != "wal"  # not switched either
    engine.dispose()


def test_report_and_monitor_leave_another_programs_sqlite_file_as_it_was(tmp_path):
    path = tmp_path / "notes.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (a, b)")
    before = path.read_bytes()
    runner = CliRunner()
    for command in (["report"], ["log", "pain", "2"], ["monitor", "--demo", "--plain", "--speed", "1000"]):
        one_line_error(runner.invoke(app, [*command, "--db", str(path)]), f"database {path} belongs to another program")
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def old_sqlite_database(path, revision="0002"):
    """An SQLite file as an older sensorback left it: schema `revision`, one session of 10 epochs
    at START, in WAL mode (as sensorback always made them), closed cleanly."""
    url = "sqlite:///" + str(path)
    target = describe(url)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    engine = make_engine(target)
    upgrade(engine, target.name, revision=revision)
    with engine.begin() as conn:
        sid = conn.execute(insert(Session).values(
            device="d", source="old.sbr", started_at=START, start_estimated=False, rate_hz=50.0, epoch_s=1.0,
            ended_at=START + timedelta(seconds=10), state_names=["moving", "standing", "sitting"],
            software_version="0.0.1", created_at=START,
        )).inserted_primary_key[0]
        conn.execute(insert(Epoch), [dict(session_id=sid, t_start=float(k), t_end=k + 1.0, state=2,
                                          at=START + timedelta(seconds=k)) for k in range(10)])
    engine.dispose()
    return url


def test_report_refuses_an_older_schema_unchanged_and_upgrades_it_on_request(tmp_path):
    """A report only reads: a database of an older sensorback that it could write is not upgraded
    behind the user's back (that was a write); the one line says how to upgrade it, and
    --upgrade-db does, keeping its data."""
    path = tmp_path / "old.db"
    url = old_sqlite_database(path)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    runner = CliRunner()
    day = ["--day", START.astimezone().date().isoformat(), "--json"]  # the local day (08:30 UTC: 3 March at UTC-12)
    one_line_error(runner.invoke(app, ["report", *day, "--db", str(path)]),
                   f"database {path} was written by an older sensorback (schema revision 0002; this one uses "
                   f"{head_revision()})", "run the report again with --upgrade-db")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files  # not a byte written, no -wal/-shm left

    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    one_line_error(runner.invoke(app, ["report", *day, "--db", read_only]),
                   f"database {path} was written by an older sensorback", "can only be read here",
                   "'sensorback report --upgrade-db' with write access")
    assert path.read_bytes() == files["old.db"]  # (a mode=ro reader may leave SQLite's empty -wal, -shm)

    done = runner.invoke(app, ["report", *day, "--db", str(path), "--upgrade-db"])
    assert done.exit_code == 0, done.output
    engine = make_engine(describe(url))
    with engine.connect() as conn:
        assert current_revisions(conn) == {head_revision()}
        assert conn.execute(text("SELECT count(*) FROM epochs")).scalar() == 10
    engine.dispose()
    again = runner.invoke(app, ["report", *day, "--db", str(path)])  # now current: read as it is
    assert again.exit_code == 0, again.output
    upgraded, read = json.loads(done.stdout), json.loads(again.stdout)
    assert upgraded.pop("generated") and read.pop("generated") and read == upgraded
    assert read["totals"]["seated"]["seated_s"] == 10  # the old session's 10 epochs, kept
