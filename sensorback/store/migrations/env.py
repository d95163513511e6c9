"""Alembic environment: run on the connection that sensorback.store.migrate hands over.

There is no alembic.ini and no URL here: the caller opens the connection (with its locks and
transaction) and puts it in ``config.attributes["connection"]``.
"""

from alembic import context

from sensorback.store.models import Base, UTCDateTime



def render_item(kind, obj, autogen_context):
    # Revisions stay plain SQLAlchemy: the column type in the database is a DateTime.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("sensorback migrations run only through sensorback.store (no connection given)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
