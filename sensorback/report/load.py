"""Reading what a report needs from the store. The only I/O of ``sensorback.report``.

Everything goes through the store's read API except :func:`has_any_data` and
:func:`nearest_epochs`, small read helpers the API does not have (is there anything at all in the
database? where is the sensor data nearest to a period without any?), written here with SQLAlchemy
on the store's models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Optional

from sqlalchemy import exists, func, select

from ..store import EpochSeries, EventInfo, ExerciseInfo, PainCheckinInfo, SessionInfo, Store
from ..store.models import Epoch, Exercise, PainCheckin, Session
from . import redflags
from .when import day_bounds

GOAL_WINDOW_DAYS = 7
#: Coach events are read this far beyond the report's days on either side: a prompt's outcome
#: follows it by the heed window and a break (minutes; at most a day as the settings allow), so a
#: prompt before midnight is settled after it (compute.prompt_outcomes).
OUTCOME_MARGIN = timedelta(days=1)


@dataclass
class Rows:
    """The store rows behind one report (all instants UTC).

    epochs, sessions: the report's days [start, end); events: those days and OUTCOME_MARGIN on
    either side (for the outcomes of their prompts); exercises: the 7 days ending on the last day
    (the exercise goal's window); pain: the 6 weeks ending on the last day.
    """

    first_day: date
    last_day: date
    start: datetime
    end: datetime
    epochs: EpochSeries
    events: list[EventInfo]
    sessions: list[SessionInfo]
    exercises: list[ExerciseInfo]
    pain: list[PainCheckinInfo]
    database: str = ""
    db_empty: bool = False
    # The newest epoch before the period and the oldest after it, when the period has none.
    nearest_before: Optional[datetime] = None
    nearest_after: Optional[datetime] = None
    # Sessions of the period without a single epoch stored (a monitor stopped, or killed, before its first).
    without_epochs: list[SessionInfo] = field(default_factory=list)


def has_any_data(store: Store) -> bool:
    """True if the database holds any session (one stopped before its first epoch too), exercise or
    pain check-in at all."""
    def work(conn) -> bool:
        q = select(exists(select(Session.id)) | exists(select(Exercise.id)) | exists(select(PainCheckin.id)))
        return bool(conn.execute(q).scalar())
    return store.read("look for any data", work)


def sessions_without_epochs(store: Store, sessions: list[SessionInfo]) -> list[SessionInfo]:
    """Those of ``sessions`` without a single epoch stored, in any period: one whose last epoch
    ends past midnight has none starting on the next day, and is not one of them."""
    ids = [x.id for x in sessions]
    if not ids:
        return []

    def work(conn) -> set[int]:
        q = select(Epoch.session_id).where(Epoch.session_id.in_(ids)).distinct()
        return {int(r[0]) for r in conn.execute(q)}
    having = store.read("look for sessions without epochs", work)
    return [x for x in sessions if x.id not in having]


def nearest_epochs(store: Store, start: datetime, end: datetime) -> tuple[Optional[datetime], Optional[datetime]]:
    """(the newest epoch's instant before ``start``, the oldest at or after ``end``), None where none."""
    def work(conn):
        before = conn.execute(select(func.max(Epoch.at)).where(Epoch.at < start)).scalar()
        after = conn.execute(select(func.min(Epoch.at)).where(Epoch.at >= end)).scalar()
        return before, after
    before, after = store.read("look for the nearest sensor data", work)
    return _utc(before), _utc(after)


def _utc(value):
    """The database's instant as an aware UTC datetime (SQLite's aggregates come back as text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    from ..store.rows import utc

    return utc(value)


def period_bounds(first_day: date, last_day: date, tz: Optional[tzinfo] = None) -> tuple[datetime, datetime]:
    return day_bounds(first_day, tz)[0], day_bounds(last_day, tz)[1]


def empty_rows(first_day: date, last_day: date, database: str, tz: Optional[tzinfo] = None) -> Rows:
    """The rows of a database with nothing in it: no sessions, exercises or check-ins at all."""
    start, end = period_bounds(first_day, last_day, tz)
    return Rows(first_day, last_day, start, end, EpochSeries.empty(), [], [], [], [], database=database,
                db_empty=True)


def load_rows(store: Store, first_day: date, last_day: date, tz: Optional[tzinfo] = None) -> Rows:
    if store.empty:  # opened to read a database without sensorback's tables: nothing to read there
        return empty_rows(first_day, last_day, store.name, tz)
    start, end = period_bounds(first_day, last_day, tz)
    goal_start = day_bounds(last_day - timedelta(days=GOAL_WINDOW_DAYS - 1), tz)[0]
    pain_start = redflags.history_start(last_day, tz)
    epochs = store.epochs(start, end)
    before, after = nearest_epochs(store, start, end) if not len(epochs) else (None, None)
    sessions = store.sessions(start, end)
    return Rows(
        first_day=first_day, last_day=last_day, start=start, end=end,
        epochs=epochs,
        events=store.events(start - OUTCOME_MARGIN, end + OUTCOME_MARGIN),
        sessions=sessions,
        exercises=store.exercises(min(goal_start, start), end),
        pain=store.pain_checkins(pain_start, end),
        database=store.name,
        db_empty=not has_any_data(store),
        nearest_before=before,
        nearest_after=after,
        without_epochs=sessions_without_epochs(store, sessions),
    )
