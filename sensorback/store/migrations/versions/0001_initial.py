"""initial schema: sessions, epochs, bouts, coach events

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("import_key", sa.String(length=64), nullable=True),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_estimated", sa.Boolean(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rate_hz", sa.Double(), nullable=False),
        sa.Column("epoch_s", sa.Double(), nullable=False),
        sa.Column("calibration", sa.JSON(), nullable=True),
        sa.Column("state_names", sa.JSON(), nullable=False),
        sa.Column("software_version", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("import_key", name=op.f("uq_sessions_import_key")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_sessions_started_at"), "sessions", ["started_at"])
    op.create_index(op.f("ix_sessions_ended_at"), "sessions", ["ended_at"])

    op.create_table(
        "epochs",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("t_start", sa.Double(), nullable=False),
        sa.Column("t_end", sa.Double(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("inclination_deg", sa.REAL(), nullable=True),
        sa.Column("flexion_deg", sa.REAL(), nullable=True),
        sa.Column("lateral_deg", sa.REAL(), nullable=True),
        sa.Column("intensity_g", sa.REAL(), nullable=True),
        sa.Column("cadence_spm", sa.REAL(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_epochs_session_id_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "t_start", name=op.f("pk_epochs")),
    )
    op.create_index(op.f("ix_epochs_at"), "epochs", ["at"])

    op.create_table(
        "bouts",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("t_start", sa.Double(), nullable=False),
        sa.Column("t_end", sa.Double(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_bouts_session_id_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "t_start", name=op.f("pk_bouts")),
    )
    op.create_index(op.f("ix_bouts_start_at"), "bouts", ["start_at"])

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("t", sa.Double(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("exercise", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_events_session_id_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_at"), "events", ["at"])
    op.create_index(op.f("ix_events_session_id"), "events", ["session_id"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("bouts")
    op.drop_table("epochs")
    op.drop_table("sessions")
