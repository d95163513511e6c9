"""Local calendar days: where a day starts and ends on the wall clock, as instants.

Without an explicit ``tz`` the operating system's local time zone is used, with its daylight-saving
rules, so a day can be 23 or 25 hours long (and starts at 01:00 where the clocks jump at midnight).
Pure standard library, so that anything (a report, the demo dating its data) can ask without
importing more; report.when re-exports these for the dates users type.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Optional


def local_midnight(day: date, tz: Optional[tzinfo] = None) -> datetime:
    """The aware instant a local day starts: its midnight, or where the clocks jump over midnight
    (Santiago, Havana, Beirut, Cairo), the first instant after the jump (01:00). Both readings of
    a wall-clock midnight (fold 0 and 1) are tried and the earliest that lies on the day kept: the
    OS (tz None) and zoneinfo read a midnight that does not exist with opposite folds, and one of
    them falls an hour early, on the day before."""
    starts = []
    for fold in (0, 1):
        wall = datetime.combine(day, time(fold=fold))
        t = wall.astimezone() if tz is None else wall.replace(tzinfo=tz)  # the OS applies its DST rules
        if to_local(t.astimezone(timezone.utc), tz).date() == day:
            starts.append(t)
    return min(starts, key=lambda t: t.astimezone(timezone.utc)) if starts else t


def day_bounds(day: date, tz: Optional[tzinfo] = None) -> tuple[datetime, datetime]:
    """[start, end) of a local day as aware UTC datetimes."""
    return (local_midnight(day, tz).astimezone(timezone.utc),
            local_midnight(day + timedelta(days=1), tz).astimezone(timezone.utc))


def to_local(instant: datetime, tz: Optional[tzinfo] = None) -> datetime:
    return instant.astimezone(tz) if tz is not None else instant.astimezone()


def local_days(start: datetime, end: datetime, tz: Optional[tzinfo] = None) -> list[date]:
    """The local calendar days that [start, end) touches (at least start's day)."""
    first = to_local(start, tz).date()
    last = to_local(max(start, end - timedelta(microseconds=1)), tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def today(now: Optional[datetime] = None, tz: Optional[tzinfo] = None) -> date:
    now = now if now is not None else datetime.now(timezone.utc)
    return to_local(now, tz).date()


__all__ = ["day_bounds", "local_days", "local_midnight", "to_local", "today"]
