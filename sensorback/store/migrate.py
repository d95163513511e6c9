"""Schema migrations, applied when a store is opened. Alembic is configured here in code; the
revision scripts ship inside the package (``migrations/versions``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from .db import StoreError, write_options

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant: serialises concurrent migrations of one PostgreSQL database.
_PG_LOCK_KEY = 0x5E4503BAC


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    return script_directory().get_current_head()


def current_revisions(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


def refuse_foreign(engine: Engine, name: str) -> set[str]:
    """A database holding tables but no schema revision is another program's (a browser's notes, a
    copy of some app's data): sensorback's schema is not written into it, and a report does not
    take it for an empty store. Checked before anything is changed, WAL mode included. Returns the
    database's tables."""
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        conn.rollback()
    if tables and "alembic_version" not in tables:
        shown = sorted(tables)
        more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
        raise StoreError(f"database {name} belongs to another program (it holds the tables "
                         f"{', '.join(shown[:5])}{more}, not sensorback's); sensorback keeps its data in "
                         "a database of its own: name a new file or an empty database")
    return tables


def refuse_unversioned(name: str, tables: set[str]) -> None:
    """Tables beside an empty schema-revision table: a database damaged or edited by hand. What
    they hold cannot be read by a schema it does not name, nor be taken for an empty store (a
    report of nothing would hide the data)."""
    kept = sorted(tables - {"alembic_version"})
    if kept:
        more = f" and {len(kept) - 5} more" if len(kept) > 5 else ""
        raise StoreError(f"database {name} holds the tables {', '.join(kept[:5])}{more} but no schema "
                         "revision (damaged, or edited by hand); restore it from a backup or name another database")


def pending(engine: Engine, name: str, revision: str = "head") -> set[str] | None:
    """The database's schema revisions when ``revision`` is not applied yet (an empty set: a new,
    empty database), None when it is. A revision this sensorback does not know (written by a newer
    one) raises StoreError. Reads only."""
    script = script_directory()
    target = set(script.get_heads()) if revision == "head" else {revision}
    with engine.connect() as conn:
        current = current_revisions(conn)
        conn.rollback()
    if current == target:
        return None
    known = {s.revision for s in script.walk_revisions()}
    unknown = current - known
    if unknown:
        raise StoreError(f"database {name} has schema revision {', '.join(sorted(unknown))}, written by a newer "
                         "sensorback; upgrade sensorback to use it")
    return current


def old_schema(name: str, current: set[str], *, writable: bool) -> StoreError:
    """The one line refusing a schema written by an older sensorback (``current``: its revisions)
    to a store opened only to read (a report, or a database that can only be read here): it is not
    upgraded behind the user's back, which is a write. Reading it as it is would need every query
    written once per old revision; the upgrade keeps all its data and takes a moment."""
    old = f"database {name} was written by an older sensorback (schema revision {', '.join(sorted(current))}; " \
          f"this one uses {head_revision()})"
    if writable:
        return StoreError(f"{old} and a report only reads it: run the report again with --upgrade-db to "
                          "upgrade it once (its data is kept)")
    return StoreError(f"{old} and can only be read here: upgrade it once where it can be written "
                      "('sensorback report --upgrade-db' with write access)")


def refuse_old(engine: Engine, name: str, *, writable: bool) -> None:
    """old_schema's error for a database whose schema is older than this sensorback's. A new, empty
    database passes (there is nothing to misread)."""
    current = pending(engine, name)
    if current:
        raise old_schema(name, current, writable=writable)


def upgrade(engine: Engine, name: str, revision: str = "head") -> bool:
    """Bring the schema to ``revision``; True if anything was applied. Other processes opening the
    same database at the same time wait (SQLite write lock, PostgreSQL advisory lock). A database
    opened read-only (mode=ro) is refused by refuse_old instead."""
    current = pending(engine, name, revision)
    if current is None:
        return False
    if engine.url.query.get("mode") == "ro":
        refuse_old(engine, name, writable=False)
    with engine.connect() as conn:
        conn.execution_options(**write_options(engine))
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            command.upgrade(alembic_config(conn), revision)
    return True
