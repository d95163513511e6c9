"""exercises done and pain check-ins

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exercises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("source IN ('prompt', 'manual')", name=op.f("ck_exercises_source")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_exercises_event_id_events"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_exercises_session_id_sessions"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercises")),
    )
    op.create_index(op.f("ix_exercises_at"), "exercises", ["at"])

    op.create_table(
        "pain_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("radiating", sa.Boolean(), nullable=True),
        sa.Column("numbness", sa.Boolean(), nullable=True),
        sa.Column("fever", sa.Boolean(), nullable=True),
        sa.Column("bladder", sa.Boolean(), nullable=True),
        sa.Column("weight_loss", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("score >= 0 AND score <= 10", name=op.f("ck_pain_checkins_score")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pain_checkins")),
    )
    op.create_index(op.f("ix_pain_checkins_at"), "pain_checkins", ["at"])


def downgrade() -> None:
    op.drop_table("pain_checkins")
    op.drop_table("exercises")
