"""The store: sessions, epochs, bouts, coach events, exercises and pain check-ins in a database.

SQLite in the user data directory by default (or any SQLAlchemy URL via --db / $SENSORBACK_DB,
PostgreSQL included); the schema is migrated with Alembic whenever a store is opened.
See docs/store.md.
"""

from .db import (ENV_VAR, DatabaseLocked, DatabaseReadOnly, StoreError, default_db_path, demo_db_path,
                 resolve_db_url)
from .records import BoutInfo, EpochSeries, EventInfo, ExerciseInfo, PainCheckinInfo, SessionInfo
from .recorder import BeginResult, Recorder, file_digest, import_key
from .store import Store, open_store

__all__ = ["ENV_VAR", "BeginResult", "BoutInfo", "DatabaseLocked", "DatabaseReadOnly", "EpochSeries", "EventInfo",
           "ExerciseInfo", "PainCheckinInfo", "Recorder", "SessionInfo", "Store", "StoreError", "default_db_path",
           "demo_db_path", "file_digest", "import_key", "open_store", "resolve_db_url"]
