"""The monitor's "Today" totals (session/today.py) from a real SQLite store: the local day starts at
the zone's own midnight, also on the days the clocks change (23 and 25 h long)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from sensorback.core.epochs import EpochTable
from sensorback.core.states import CODE
from sensorback.session.today import today_so_far
from sensorback.store import open_store

zoneinfo = pytest.importorskip("zoneinfo")
try:
    BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
except zoneinfo.ZoneInfoNotFoundError:  # pragma: no cover - no time zone database
    pytest.skip("no time zone database (Europe/Berlin)", allow_module_level=True)

SPRING, AUTUMN = date(2024, 3, 31), date(2024, 10, 27)   # Berlin: 23 h (02:00 -> 03:00) and 25 h days
EPOCH_S = 10


def hour_of(state: str) -> EpochTable:
    """One hour of ``state`` in 10-s epochs."""
    t0 = np.arange(0, 3600, EPOCH_S, dtype=np.float64)
    n = len(t0)
    f = np.full(n, 10.0, np.float32)
    return EpochTable(t0, t0 + EPOCH_S, np.full(n, CODE[state], np.int8), f, f, np.zeros(n, np.float32),
                      np.full(n, 0.01, np.float32), np.zeros(n, np.float32))


def store_hour(store, start: datetime, state: str, event_kind: str) -> None:
    """A session of one hour of ``state`` from ``start``, a coach event at its last epoch and an
    exercise there."""
    with store.recorder(max_seconds=None, max_epochs=10_000) as rec:
        rec.begin_session(device="test", source=f"test {start.isoformat()}", start=start, rate_hz=50.0,
                          epoch_s=float(EPOCH_S))
        rec.add_epochs(hour_of(state))
        rec.add_events([{"kind": event_kind, "t": 3600.0 - EPOCH_S}])
        sid = rec.end_session()
    store.add_exercise(start + timedelta(seconds=3600 - EPOCH_S), "chin tuck", session_id=sid)


@pytest.fixture
def both_sides_of_midnight(tmp_path):
    """For each change day: the last hour of the day before (sitting, a prompt, an exercise at
    23:59:50) and the first hour of the day (standing, a nudge, an exercise at 00:59:50)."""
    store = open_store("sqlite:///" + str(tmp_path / "today.db"))
    for day in (SPRING, AUTUMN):
        midnight = datetime(day.year, day.month, day.day, tzinfo=BERLIN)
        store_hour(store, midnight - timedelta(hours=1), "sitting", "break_prompt")
        store_hour(store, midnight, "standing", "slouch_nudge")
    yield store
    store.close()


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=BERLIN).astimezone(timezone.utc)


def check_first_hour_only(today) -> None:
    assert today.seconds == Counter({"standing": 3600.0})   # not the 23:00-24:00 sitting of the day before
    assert today.counts == Counter({"nudges": 1})
    assert today.exercises == 1


@pytest.mark.parametrize("day", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_today_starts_at_the_zones_midnight_on_clock_change_days(both_sides_of_midnight, day):
    check_first_hour_only(today_so_far(both_sides_of_midnight, now=noon(day), tz=BERLIN))


@pytest.mark.parametrize("day", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_today_in_the_computers_zone_on_clock_change_days(both_sides_of_midnight, day, monkeypatch):
    """The dashboard's call: no zone given, the computer's (TZ=Europe/Berlin here), and now as
    datetime.now().astimezone() gives it, with noon's UTC offset (not midnight's)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        now = noon(day).astimezone()
        assert now.utcoffset() == timedelta(hours=2 if day == SPRING else 1)
        check_first_hour_only(today_so_far(both_sides_of_midnight, now=now))
    finally:
        monkeypatch.undo()
        time.tzset()


def test_today_counts_only_up_to_now(both_sides_of_midnight):
    """At 00:30 on the autumn day: the first half hour of it (and the nudge and exercise at 00:59:50
    are still ahead)."""
    now = datetime(2024, 10, 27, 0, 30, tzinfo=BERLIN)
    today = today_so_far(both_sides_of_midnight, now=now, tz=BERLIN)
    assert today.seconds == Counter({"standing": 1800.0})
    assert today.counts == Counter() and today.exercises == 0
