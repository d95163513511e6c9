"""Alembic migrations of the store's schema. They run by themselves when a store is opened
(``sensorback.store.open_store``); no alembic.ini is involved. See ``python -m
sensorback.store.migrations --help`` for writing a new revision."""
