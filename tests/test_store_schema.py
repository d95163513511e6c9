"""Migrations: applied automatically on open, and the migrated schema is exactly the models."""

from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, insert, text

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
