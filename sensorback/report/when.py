"""Dates and times the user types (``--day``, ``--at``, ``--start``) and the local-time day boundaries of reports.

Days are local calendar days (their bounds are sensorback.localday's, re-exported here). Without an
explicit ``tz`` the operating system's local time zone is used, including its daylight-saving rules,
so a day can be 23 or 25 hours long. Every failure is a one-line SensorbackError naming the option.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Optional

from ..errors import SensorbackError
from ..limits import LATEST, check_day
from ..localday import day_bounds, local_days, local_midnight, to_local, today  # noqa: F401 (re-exported)


_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


def parse_day(text: Optional[str], option: str = "--day", *, now: Optional[datetime] = None,
              tz: Optional[tzinfo] = None) -> date:
    """'YYYY-MM-DD', 'today' or 'yesterday' (None = today); a day in the future is an error."""
    current = today(now, tz)
    if text is None:
        return current
    word = text.strip().lower()
    if word == "today":
        return current
    if word == "yesterday":
        return current - timedelta(days=1)
    if not _DATE.fullmatch(word):
        raise SensorbackError(f"{option}: expected a date as YYYY-MM-DD (or 'today', 'yesterday'), got '{text}'")
    try:
        y, m, d = (int(p) for p in word.split("-"))
        day = date(y, m, d)
    except ValueError as e:
        raise SensorbackError(f"{option}: '{text}' is not a real date ({e})") from None
    if day > current:
        raise SensorbackError(f"{option}: {day.isoformat()} is in the future (today is {current.isoformat()})")
    check_day(day, option)
    return day


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_at(text: Optional[str], option: str = "--at", *, now: Optional[datetime] = None,
             tz: Optional[tzinfo] = None) -> datetime:
    """When something happened, as an aware UTC datetime (None = now).

    Accepts 'HH:MM' (today, local time; if that is still ahead, yesterday), 'yesterday HH:MM',
    'YYYY-MM-DD HH:MM' or 'YYYY-MM-DDTHH:MM' (seconds optional; local time unless an offset
    such as +02:00 or Z is given) and 'YYYY-MM-DD' alone (noon). More than a minute in the future
    is an error.
    """
    now = (now if now is not None else datetime.now(timezone.utc)).astimezone(timezone.utc)
    if text is None:
        return now
    raw = " ".join(text.split())
    word = raw.lower()
    day_offset = 0
    if word.startswith("yesterday "):
        word = word[len("yesterday "):]
        day_offset = 1
    elif word.startswith("today "):
        word = word[len("today "):]
    m = _CLOCK.match(word)
    if m:
        hh, mm, ss = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if hh > 23 or mm > 59 or ss > 59:
            raise SensorbackError(f"{option}: '{text}' is not a time of day (use HH:MM, 00:00 to 23:59)")
        day = today(now, tz) - timedelta(days=day_offset)
        local = _local(datetime.combine(day, time(hh, mm, ss)), tz)
        explicit_day = raw.lower() != word  # 'today HH:MM' or 'yesterday HH:MM'
        if not explicit_day and local > now + timedelta(minutes=1):
            # A bare time still ahead today means last night's (e.g. 23:30 logged just after midnight).
            local = _local(datetime.combine(day - timedelta(days=1), time(hh, mm, ss)), tz)
        result = local
    elif day_offset:
        raise SensorbackError(f"{option}: expected 'yesterday HH:MM', got '{text}'")
    else:
        parsed = _iso(word + " 12:00" if _DATE.fullmatch(word) else word)
        if parsed is None:
            raise SensorbackError(
                f"{option}: expected a time such as 18:30, 'yesterday 18:30' or '2024-05-03 18:30', got '{text}'"
            )
        # before any arithmetic: year 1 or 9999 cannot move a time zone
        if parsed.date() >= LATEST:
            raise SensorbackError(f"{option}: {parsed.strftime('%Y-%m-%d %H:%M')} is in the future")
        check_day(parsed.date(), option)
        result = _local(parsed, tz) if parsed.tzinfo is None else parsed
    result = result.astimezone(timezone.utc)
    if result > now + timedelta(minutes=1):
        raise SensorbackError(f"{option}: {to_local(result, tz).strftime('%Y-%m-%d %H:%M')} is in the future")
    return result


def _iso(text: str) -> Optional[datetime]:
    """'2024-05-03 18:30', '2024-05-03T18:30:05', with an offset ('+02:00', 'Z') or without (naive);
    None when it is not one."""
    value = text.upper().replace(" ", "T", 1)
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def parse_start(text: str, option: str = "--start", *, tz: Optional[tzinfo] = None) -> date | datetime:
    """When something begins, past or future (a simulated recording): 'YYYY-MM-DD' -> that date
    (the caller picks the time of day); 'YYYY-MM-DD HH:MM[:SS]' or 'YYYY-MM-DDTHH:MM[:SS]', local time
    unless an offset such as +02:00 or Z follows -> an aware UTC datetime."""
    word = " ".join(text.split())
    if _DATE.fullmatch(word):
        try:
            day = date(*(int(p) for p in word.split("-")))
        except ValueError as e:
            raise SensorbackError(f"{option}: '{text}' is not a real date ({e})") from None
        check_day(day, option)
        return day
    parsed = _iso(word)
    if parsed is None or not _DATE.match(word):
        raise SensorbackError(f"{option}: expected a date or a date and time such as 2025-01-06 or "
                              f"'2025-01-06 08:30' (local time, or with an offset such as +01:00 or Z), got '{text}'")
    check_day(parsed.date(), option)  # before any arithmetic: year 1 or 9999 cannot move a time zone
    return (_local(parsed, tz) if parsed.tzinfo is None else parsed).astimezone(timezone.utc)


def _local(naive: datetime, tz: Optional[tzinfo]) -> datetime:
    return naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()


def format_local(instant: datetime, tz: Optional[tzinfo] = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(instant, tz).strftime(fmt)


def tz_label(instant: datetime, tz: Optional[tzinfo] = None, end: Optional[datetime] = None) -> str:
    """'UTC+02:00 (CEST)'-like description of the local offset at an instant, or, with ``end``, over
    [instant, end): a period across a change of offset (a week with the switch to summer time) names
    every offset and when the clocks changed, 'UTC+01:00 (CET) until Sun 29 Mar 02:00, then UTC+02:00
    (CEST)', since one offset would be wrong for part of it."""
    label = _offset_label(to_local(instant, tz))
    if end is None:
        return label
    for change in _offset_changes(instant, end, tz):
        old = to_local(change - timedelta(seconds=1), tz) + timedelta(seconds=1)  # the old clock's reading
        label += f" until {old:%a} {old.day} {old:%b %H:%M}, then {_offset_label(to_local(change, tz))}"
    return label


def _offset_changes(start: datetime, end: datetime, tz: Optional[tzinfo]) -> list[datetime]:
    """The instants in (start, end) where the local UTC offset changes: found hour by hour (zones
    change at most a few times a year), each narrowed to the second."""
    def offset(t: datetime) -> timedelta:
        return to_local(t, tz).utcoffset() or timedelta(0)

    changes, a = [], start
    while a < end:
        b = min(a + timedelta(hours=1), end - timedelta(seconds=1))
        if b <= a:
            break
        if offset(a) != offset(b):
            lo, hi = a, b  # offset(lo) is the old one, offset(hi) the new one
            while hi - lo > timedelta(seconds=1):
                mid = (lo + (hi - lo) / 2).replace(microsecond=0)
                lo, hi = (mid, hi) if offset(mid) == offset(lo) else (lo, mid)
            changes.append(hi)
        a = b
    return changes


def _offset_label(local: datetime) -> str:
    off = local.utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    name = local.tzname() or ""
    label = f"UTC{sign}{h:02d}:{m:02d}"
    return f"{label} ({name})" if name and not name.startswith(("UTC", "+", "-")) else label
