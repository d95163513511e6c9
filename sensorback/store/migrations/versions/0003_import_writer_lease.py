"""sessions.writer and sessions.lease_until: who is writing an import, and until when

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default) works on SQLite without copying the table.
    op.add_column("sessions", sa.Column("writer", sa.String(length=300), nullable=True))
    op.add_column("sessions", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("writer")
