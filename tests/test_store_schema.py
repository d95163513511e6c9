"""Migrations: applied automatically on open, and the migrated schema is exactly the models."""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, insert, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from cli_checks import one_line_error
from conftest import DEADLINE_S, files_as_they_are, honouring_permissions, journal_mode
from sensorback.cli import app

from sensorback.store import DatabaseReadOnly, StoreError, open_store
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
    conn.close()
    os.chmod(path, 0o644)
    before = files_as_they_are(tmp_path)
    runner = CliRunner()
    for command in (["report"], ["report", "--upgrade-db"], ["log", "pain", "2"],
                    ["monitor", "--demo", "--plain", "--speed", "1000"]):
        one_line_error(runner.invoke(app, [*command, "--db", str(path)]), f"database {path} belongs to another program")
    assert files_as_they_are(tmp_path) == before  # its bytes, mtime and mode; no -wal, -shm beside it


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


def current_sqlite_database(path, journal="delete"):
    """A database of this sensorback with one check-in, left 0644 in ``journal`` mode (as sqlite3 or
    a backup tool may leave it)."""
    with open_store(str(path)) as store:
        store.add_pain_checkin(START, 3)
    with sqlite3.connect(path) as conn:
        assert conn.execute(f"PRAGMA journal_mode = {journal}").fetchone()[0] == journal
    conn.close()
    os.chmod(path, 0o644)


def test_report_upgrade_db_writes_nothing_when_no_upgrade_is_due(tmp_path):
    """--upgrade-db opened the database to write whatever it held: a current one was made 0600
    (from 0644) and switched to WAL, and a read-only one was refused ('can only be read here') though
    there was nothing to upgrade. It now reads first and writes only for an older schema: a current
    or empty database is read as without the flag, byte for byte untouched."""
    path = tmp_path / "back.db"
    current_sqlite_database(path)
    before = files_as_they_are(tmp_path)
    runner = CliRunner()
    day = ["--day", START.date().isoformat(), "--json"]
    r = runner.invoke(app, ["report", *day, "--db", str(path), "--upgrade-db"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["pain"]["checkins"][0]["score"] == 3
    assert "private" not in r.stderr
    assert files_as_they_are(tmp_path) == before and journal_mode(path) == "delete"

    empty = tmp_path / "empty.db"
    with sqlite3.connect(empty) as conn:  # as `sqlite3 empty.db vacuum` leaves it: 4096 bytes, no table
        conn.execute("VACUUM")
    conn.close()
    before = files_as_they_are(tmp_path)
    r = runner.invoke(app, ["report", *day, "--db", str(empty), "--upgrade-db"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["database_empty"] is True
    assert files_as_they_are(tmp_path) == before


def test_report_upgrade_db_reads_a_current_database_it_cannot_write(tmp_path):
    """A current database on a file this process may only read, with --upgrade-db: refused before
    (it asked for write access it did not need), read now; a real process whose file permissions
    hold (as root too: honouring_permissions)."""
    path = tmp_path / "back.db"
    current_sqlite_database(path)
    os.chmod(path, 0o444)
    before = files_as_they_are(tmp_path)
    cmd = [sys.executable, "-m", "sensorback.cli", "report", "--day", START.date().isoformat(), "--json",
           "--db", str(path)]
    for flags in ([], ["--upgrade-db"]):
        r = subprocess.run(honouring_permissions([*cmd, *flags]), capture_output=True, text=True,
                           timeout=DEADLINE_S)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["pain"]["checkins"][0]["score"] == 3
    assert files_as_they_are(tmp_path) == before and journal_mode(path) == "delete"


def test_an_empty_database_is_read_as_an_empty_store_and_left_empty(store_url):
    """A database with no schema revision and no tables (an SQLite file that is not 0 bytes; an empty
    PostgreSQL database) was given sensorback's schema by a store opened only to read (a report). It
    is now an empty store (store.empty): the report says nothing is recorded and no table is made."""
    from sensorback.report import load_rows

    target = describe(store_url)
    if target.sqlite_path is not None:
        with sqlite3.connect(target.sqlite_path) as conn:  # `sqlite3 store.db vacuum`: 4096 bytes, no table
            conn.execute("VACUUM")
        conn.close()
    with open_store(store_url, read_only=True) as store:
        assert store.empty
        assert load_rows(store, START.date(), START.date()).db_empty
    r = CliRunner().invoke(app, ["report", "--day", START.date().isoformat(), "--json", "--db", store_url])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["database_empty"] is True
    engine = make_engine(target)
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == []
    engine.dispose()


def test_a_store_opened_to_read_cannot_write(store_url):
    """open_store(read_only=True) on a database it could write: its connections refuse changes
    (SQLite's query_only, a READ ONLY PostgreSQL session), so a write by mistake fails as on a
    read-only database instead of changing what a report only reads."""
    with open_store(store_url) as store:
        store.add_pain_checkin(START, 3)
    with open_store(store_url, read_only=True) as store:
        assert not store.empty
        with pytest.raises(DatabaseReadOnly, match="read-only"):
            store.add_pain_checkin(START, 5)
        assert [c.score for c in store.pain_checkins(START, START + timedelta(hours=1))] == [3]


def test_a_postgresql_store_opened_to_read_leaves_its_server_sessions_writable(pg_url):
    """A store opened to read made its PostgreSQL sessions READ ONLY for good (SET SESSION
    CHARACTERISTICS): behind a transaction-pooling proxy (PgBouncer) a server session passes from
    client to client, and a writer given the one a report had used could not write. Now each of its
    transactions begins READ ONLY and the session stays as it was; its writes still fail."""
    with open_store(pg_url) as store:
        store.add_pain_checkin(START, 3)
    with open_store(pg_url, read_only=True) as store:
        with pytest.raises(DatabaseReadOnly, match="read-only"):
            store.add_pain_checkin(START, 5)
        with store.engine.connect() as conn, pytest.raises(DBAPIError, match="read-only transaction"):
            conn.execute(text("DELETE FROM pain_checkins"))
        assert [c.score for c in store.pain_checkins(START, START + timedelta(hours=1))] == [3]
        raw = store.engine.raw_connection()  # a server session of that store, as the next client gets it
        try:
            cur = raw.cursor()
            cur.execute("SHOW default_transaction_read_only")
            assert cur.fetchone()[0] == "off"
            cur.execute("SHOW transaction_read_only")
            assert cur.fetchone()[0] == "off"
            cur.execute("SHOW lock_timeout")  # (the busy timeout too: set per transaction, see below)
            assert cur.fetchone()[0] == "0"
            cur.execute("DELETE FROM pain_checkins")
            raw.commit()
        finally:
            raw.close()
    with open_store(pg_url, read_only=True) as store:
        assert store.pain_checkins(START, START + timedelta(hours=1)) == []
        with store.engine.connect() as conn:  # inside its own transactions, the busy timeout holds
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() != "0"


def test_a_store_opened_to_read_refuses_a_kind_of_database_it_cannot_keep_from_writing(tmp_path):
    """make_engine(read_only=True) keeps SQLite and PostgreSQL from writing; for any other database
    (MySQL, say: SQLAlchemy can reach it) it gave a plain engine that writes, and a report opened it
    as if it could not. Now refused in one line naming the database. (The stand-in: SQLite's dialect
    under another name, as the drivers of other databases are not installed here.)"""
    from sqlalchemy.dialects import registry

    registry.register("otherdb", "sqlalchemy.dialects.sqlite.pysqlite", "SQLiteDialect_pysqlite")
    url = f"otherdb:///{tmp_path / 'other.db'}"
    with pytest.raises(StoreError, match="only to read it: .* not otherdb ones") as e:
        make_engine(describe(url), read_only=True)
    assert "\n" not in str(e.value) and str(tmp_path / "other.db") in str(e.value)
    r = CliRunner().invoke(app, ["report", "--day", START.date().isoformat(), "--db", url])
    one_line_error(r, url, "not otherdb ones")
    assert not (tmp_path / "other.db").exists()
    engine = make_engine(describe(url))  # to write: as before, SQLAlchemy's engine as it is
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()


@pytest.mark.parametrize("read_only", [True, False], ids=["to read", "to write"])
def test_a_postgres_url_is_told_to_begin_postgresql(tmp_path, read_only):
    """postgres://... (Heroku's and many tools' spelling) is no dialect SQLAlchemy knows; to read,
    it was refused as a kind of database sensorback cannot keep from writing ("not postgres
    ones"), which hid the typo. Both ways it now says how PostgreSQL's URLs begin."""
    url = "postgres://me@localhost/sensorback"
    with pytest.raises(StoreError, match="PostgreSQL's URLs begin postgresql://") as e:
        make_engine(describe(url), read_only=read_only)
    assert "\n" not in str(e.value) and "not postgres ones" not in str(e.value)


def test_tables_without_a_schema_revision_are_refused_not_read_as_empty(store_url):
    """sensorback's tables with their data beside an empty schema-revision table (damaged, or
    edited by hand) were taken for an empty store by a report ("nothing is recorded": the data
    hidden). Now refused in one line naming the database, and left as it was."""
    with open_store(store_url) as store:
        store.add_pain_checkin(START, 3)
    engine = make_engine(describe(store_url))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    engine.dispose()
    with pytest.raises(StoreError, match="no schema revision") as e:
        open_store(store_url, read_only=True)
    assert "pain_checkins" in str(e.value) and "\n" not in str(e.value)
    r = CliRunner().invoke(app, ["report", "--day", START.date().isoformat(), "--db", store_url])
    assert r.exit_code != 0
    one_line_error(r, "no schema revision")
    engine = make_engine(describe(store_url))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pain_checkins")).scalar() == 1
    engine.dispose()


def test_upgrade_old_upgrades_an_older_schema_and_nothing_else(store_url):
    """open_store(read_only=True, upgrade_old=True), a report's --upgrade-db, on both backends: an
    older schema is upgraded (then read by a store that cannot write); an empty database is left
    without a table."""
    target = describe(store_url)
    if target.sqlite_path is not None:
        with sqlite3.connect(target.sqlite_path) as conn:
            conn.execute("VACUUM")
        conn.close()
    with open_store(store_url, read_only=True, upgrade_old=True) as store:
        assert store.empty
    engine = make_engine(target)
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == []
    upgrade(engine, target.name, revision="0001")
    with pytest.raises(StoreError, match="written by an older sensorback .* run the report again with --upgrade-db"):
        open_store(store_url, read_only=True)
    with open_store(store_url, read_only=True, upgrade_old=True) as store:
        assert not store.empty and store.exercises(START, START + timedelta(hours=1)) == []
        with pytest.raises(DatabaseReadOnly):
            store.add_exercise(START, "walk")
    with engine.connect() as conn:
        assert current_revisions(conn) == {head_revision()}
    engine.dispose()
