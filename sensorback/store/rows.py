"""Small pieces the store's reading and writing share: UTC instants, ORM sessions on a connection,
and ORM rows as the read API's plain records."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

from sqlalchemy import Connection

from .models import Session
from .records import SessionInfo

T = TypeVar("T")


def utc(value: datetime | float | int) -> datetime:
    """A UTC datetime from an aware datetime, a naive one (taken as UTC) or Unix seconds."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


def in_orm(conn: Connection, work: Callable[[Any], T]) -> T:
    from sqlalchemy.orm import Session as OrmSession

    with OrmSession(bind=conn) as s:
        return work(s)


def orm_rows(conn: Connection, query) -> list:
    return in_orm(conn, lambda s: list(s.execute(query).scalars()))


def session_info(s: Session) -> SessionInfo:
    return SessionInfo(s.id, s.device, s.source, s.content_hash, s.started_at, bool(s.start_estimated), s.ended_at,
                       s.rate_hz, s.epoch_s, s.calibration, s.options, s.software_version, s.created_at)
