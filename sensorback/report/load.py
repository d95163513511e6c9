"""Reading what a report needs from the store. The only I/O of ``sensorback.report``.

Everything goes through the store's read API except :func:`has_any_data`, a small read helper
the API does not have (is there anything at all in the database?), written here with SQLAlchemy on
the store's models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Optional

from sqlalchemy import exists, select

from ..store import EpochSeries, EventInfo, ExerciseInfo, PainCheckinInfo, SessionInfo, Store
from ..store.models import Epoch, Exercise, PainCheckin
from . import redflags
from .when import day_bounds

GOAL_WINDOW_DAYS = 7


@dataclass
class Rows:
    """The store rows behind one report (all instants UTC).

    epochs, events, sessions: the report's days [start, end); exercises: the 7 days ending on the
    last day (the exercise goal's window); pain: the 6 weeks ending on the last day.
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


def has_any_data(store: Store) -> bool:
    """True if the database holds any epoch, exercise or pain check-in at all."""
    def work(conn) -> bool:
        q = select(exists(select(Epoch.session_id)) | exists(select(Exercise.id)) | exists(select(PainCheckin.id)))
        return bool(conn.execute(q).scalar())
    return store.read("look for any data", work)


def period_bounds(first_day: date, last_day: date, tz: Optional[tzinfo] = None) -> tuple[datetime, datetime]:
    return day_bounds(first_day, tz)[0], day_bounds(last_day, tz)[1]


def load_rows(store: Store, first_day: date, last_day: date, tz: Optional[tzinfo] = None) -> Rows:
    start, end = period_bounds(first_day, last_day, tz)
    goal_start = day_bounds(last_day - timedelta(days=GOAL_WINDOW_DAYS - 1), tz)[0]
    pain_start = day_bounds(last_day - timedelta(days=redflags.HISTORY_DAYS - 1), tz)[0]
    return Rows(
        first_day=first_day, last_day=last_day, start=start, end=end,
        epochs=store.epochs(start, end),
        events=store.events(start, end),
        sessions=store.sessions(start, end),
        exercises=store.exercises(min(goal_start, start), end),
        pain=store.pain_checkins(pain_start, end),
        database=store.name,
        db_empty=not has_any_data(store),
    )
