"""The database schema as typed SQLAlchemy models.

Times come in two kinds:
  * absolute instants are timezone-aware UTC datetimes (``UTCDateTime``), indexed for the
    daily/weekly range queries of reports;
  * times on a session's own axis are float seconds (``t_start``, ``t_end``, ``t``), exactly as
    the core reports them; ``session.started_at + t`` is the instant.

An epoch's instant is stored too (``epochs.at``) so a time range is one indexed query across
sessions. States are stored as the core's int8 codes; each session keeps the list of state names
it was recorded with (``sessions.state_names``) so codes stay readable if the list ever changes.

Change a model only together with a new migration in ``migrations/versions`` (see docs/store.md).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

import numpy as np
from sqlalchemy import (JSON, Boolean, CheckConstraint, DateTime, Double, ForeignKey, Integer, MetaData,
                        REAL, SmallInteger, String, Text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from ..core.epochs import COLUMNS as EPOCH_COLUMNS

# Stable constraint and index names: Alembic needs names to alter or drop them later.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An instant, always UTC: aware datetimes in, aware UTC datetimes out.

    PostgreSQL stores ``timestamp with time zone``; SQLite has no time zones, so the UTC wall time
    is stored (fixed-width text, so ordering and range queries work). A naive datetime is taken to
    be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class Session(Base):
    """One recording: a replayed file or a live run of the monitor."""

    __tablename__ = "sessions"
    # Never reuse the id of a deleted (replaced) session: messages name sessions by id.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device: Mapped[str] = mapped_column(String(200))
    # Where the samples came from: a file path, or "live".
    source: Mapped[str] = mapped_column(String(1000))
    # SHA-256 of the recording file's bytes (None for live sessions).
    content_hash: Mapped[Optional[str]] = mapped_column(String(64))
    # Identifies an import: hash of content_hash + analysis options. Re-importing the same
    # recording with the same options finds the earlier session through this key.
    import_key: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    options: Mapped[Optional[dict[str, Any]]]
    started_at: Mapped[datetime] = mapped_column(index=True)
    # True when the recording did not say when it started and started_at is a stand-in.
    start_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    # None while recording, or when the writer never finished (crash, kill).
    ended_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    rate_hz: Mapped[float] = mapped_column(Double)
    epoch_s: Mapped[float] = mapped_column(Double)
    calibration: Mapped[Optional[dict[str, Any]]]
    state_names: Mapped[list[str]]
    software_version: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime]
    # Who is writing the session ("host:pid") and until when its claim holds unless renewed: an
    # import being written keeps others from replacing it (see recorder.py). Both stay as they
    # were when the writer stopped; lease_until is None once it has ended or let go.
    writer: Mapped[Optional[str]] = mapped_column(String(300))
    lease_until: Mapped[Optional[datetime]]

    epochs: Mapped[list["Epoch"]] = relationship(back_populates="session", cascade="all, delete-orphan",
                                                 passive_deletes=True)


#: How the core's epoch column types are stored.
SQL_TYPES = {np.dtype(np.float64): Double, np.dtype(np.float32): REAL, np.dtype(np.int8): SmallInteger}

#: The epoch columns as the core declares them (sensorback.core.epochs.COLUMNS): t_start keys an
#: epoch within its session; a measurement is NULL where the core reports NaN (no data).
EpochColumns = type("EpochColumns", (), {
    c.name: mapped_column(SQL_TYPES[c.dtype], primary_key=c.name == "t_start", nullable=c.nan_is_missing)
    for c in EPOCH_COLUMNS})


class Epoch(EpochColumns, Base):
    """One epoch of the core's output: the columns of sensorback.core.epochs.EpochTable, its
    session, and the instant of its start (``at``)."""

    __tablename__ = "epochs"

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)

    session: Mapped[Session] = relationship(back_populates="epochs")


class Bout(Base):
    """A run of consecutive epochs in one state. The last bout of a session being recorded is
    updated as it grows."""

    __tablename__ = "bouts"

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    t_start: Mapped[float] = mapped_column(Double, primary_key=True)
    t_end: Mapped[float] = mapped_column(Double)
    start_at: Mapped[datetime] = mapped_column(index=True)
    end_at: Mapped[datetime]
    state: Mapped[int] = mapped_column(SmallInteger)


class Event(Base):
    """Something the coach did: a prompt (and what came of it), or another coaching event."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    # Seconds on the session's axis, when the event belongs to a session.
    t: Mapped[Optional[float]] = mapped_column(Double)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[Optional[str]] = mapped_column(Text)
    # e.g. "done", "snoozed", "dismissed", "ignored"; None until known.
    outcome: Mapped[Optional[str]] = mapped_column(String(40))
    exercise: Mapped[Optional[str]] = mapped_column(String(100))


class Exercise(Base):
    """An exercise the user did, after a prompt or on their own."""

    __tablename__ = "exercises"
    __table_args__ = (CheckConstraint("source IN ('prompt', 'manual')", name="source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(10))
    session_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))


class PainCheckin(Base):
    """A self-reported pain check-in. The yes/no questions are red flags; None = not answered."""

    __tablename__ = "pain_checkins"
    __table_args__ = (CheckConstraint("score >= 0 AND score <= 10", name="score"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    radiating: Mapped[Optional[bool]] = mapped_column(Boolean)
    numbness: Mapped[Optional[bool]] = mapped_column(Boolean)
    fever: Mapped[Optional[bool]] = mapped_column(Boolean)
    bladder: Mapped[Optional[bool]] = mapped_column(Boolean)
    weight_loss: Mapped[Optional[bool]] = mapped_column(Boolean)
    note: Mapped[Optional[str]] = mapped_column(Text)
