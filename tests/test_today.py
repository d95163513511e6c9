"""The monitor's "Today" totals (session/today.py) from a real SQLite store: the local day starts at
the zone's own midnight, also on the days the clocks change (23 and 25 h long)."""

from __future__ import annotations

import functools
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from sensorback.core.epochs import EpochTable
from sensorback.core.states import CODE
from sensorback.report import build_report, load_rows
from sensorback.report.compute import DOCTOR_BEFORE_EXERCISE
from sensorback.session.today import today_rows, today_so_far
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


@pytest.mark.parametrize("zone", ["America/Santiago", "America/Havana", "Asia/Beirut", "Africa/Cairo"])
def test_where_the_clocks_jump_over_midnight_every_instant_lies_in_its_own_day(zone, monkeypatch):
    """There the day starts at 01:00, the first instant after the jump. In the computer's zone
    (what the dashboard's 'Today' asks) local_midnight read the missing midnight an hour early, on
    the day before: the last hour of that day belonged to no day, and 'Today' re-read the database
    on every block of it."""
    from zoneinfo import ZoneInfo

    from sensorback.localday import day_bounds, today

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    bounds = functools.lru_cache(maxsize=None)(day_bounds)  # a day's bounds asked once, not 72 times
    try:
        t, outside = datetime(2026, 1, 1, tzinfo=timezone.utc), []
        while t.year == 2026:
            for tz in (None, ZoneInfo(zone)):
                start, end = bounds(today(t, tz), tz)
                if not start <= t < end:
                    outside.append((t, tz))
            t += timedelta(minutes=20)
        assert outside == []
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


def test_today_until_the_first_sample_leaves_out_the_exercises_stored_from_then_on(tmp_path):
    """totals(until=the first sample of the session going on) leaves out what is stored from then on,
    which that session counts itself: its epochs and events, and (they were counted) its exercises,
    stored at the time they were done (an exercise logged at the first sample or later)."""
    store = open_store("sqlite:///" + str(tmp_path / "until.db"))
    try:
        start = datetime(2024, 3, 5, 9, tzinfo=BERLIN)
        store_hour(store, start, "standing", "slouch_nudge")   # its exercise at 09:59:50
        until = start + timedelta(minutes=30)
        store.add_exercise(until - timedelta(minutes=20), "chin tuck")   # before: counted
        store.add_exercise(until, "chin tuck")                           # at the first sample: the session's
        now = start + timedelta(hours=2)
        assert today_so_far(store, now=now, tz=BERLIN).exercises == 3
        today = today_so_far(store, now=now, until=until, tz=BERLIN)
        assert today.seconds == Counter({"standing": 1800.0})
        assert today.counts == Counter() and today.exercises == 1
    finally:
        store.close()


# ------------------------------------------------------------------------ pain check-ins' warning

def pain_across_autumn(tmp_path):
    """Two check-ins of 7/10: 00:30 on the first of the report's 42 local days (Wednesday 25
    September 2024, summer time) and 23:30 on the 42nd (Tuesday 5 November, winter time): exactly
    6 weeks of high pain, the first in the window's first half hour, an hour of clock change between."""
    store = open_store("sqlite:///" + str(tmp_path / "pain.db"))
    for at in (datetime(2024, 9, 25, 0, 30, tzinfo=BERLIN), datetime(2024, 11, 5, 23, 30, tzinfo=BERLIN)):
        store.add_pain_checkin(at, 7)
    return store


@pytest.mark.parametrize("zone", ["computer", "given"])
def test_todays_pain_warning_looks_at_the_reports_local_days(tmp_path, monkeypatch, zone):
    """At 23:45 on 5 November the monitor's start (no zone: the computer's, TZ=Europe/Berlin) warns
    as the report of that day does: the high-pain run began at 00:30 of the first of its 42 local
    days. 42 days back from now's UTC offset (+01:00) started an hour too late and lost it."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    store = pain_across_autumn(tmp_path)
    try:
        tz = BERLIN if zone == "given" else None
        now = datetime(2024, 11, 5, 23, 45, tzinfo=BERLIN).astimezone(timezone.utc)
        flags = today_rows(store, now=now, tz=tz).flags
        report = build_report(load_rows(store, date(2024, 11, 5), date(2024, 11, 5), tz), now=now, tz=tz)
        assert [f.key for f in flags] == ["high_pain", "persistent"]
        assert "for about 6 weeks" in flags[1].message
        assert flags == report.flags
    finally:
        store.close()
        monkeypatch.undo()
        time.tzset()


def test_todays_pain_warning_is_the_reports_decision(tmp_path):
    """The monitor's doctor warning and the report's flags come from the same rule: today's own
    check-ins' answers, the persistence over the history, and nothing from the days before today
    except that history (a bladder answer yesterday is the report of yesterday's, not today's)."""
    store = open_store("sqlite:///" + str(tmp_path / "pain.db"))
    day = date(2024, 11, 5)
    store.add_pain_checkin(datetime(2024, 11, 4, 23, 59, tzinfo=BERLIN), 2, bladder=True)
    store.add_pain_checkin(datetime(2024, 11, 5, 0, 1, tzinfo=BERLIN), 3, radiating=True)
    try:
        now = datetime(2024, 11, 5, 9, tzinfo=BERLIN)
        rows = today_rows(store, now=now, tz=BERLIN)
        report = build_report(load_rows(store, day, day, BERLIN), now=now, tz=BERLIN)
        assert [f.key for f in rows.flags] == ["leg"] and rows.flags == report.flags
        assert rows.exercise_warning == DOCTOR_BEFORE_EXERCISE
    finally:
        store.close()


# ------------------------------------------------------------------- a monitor session across midnight

def test_a_monitor_session_across_midnight_shows_the_new_days_today(tmp_path, monkeypatch):
    """The dashboard's 'Today' follows the local day of the latest sample (sample time): a
    session from 23:50 to 00:05 (TZ=Europe/Berlin) shows the stored hour of its first day until
    midnight, then the new day as the report of that day counts it. It was read once, for the
    computer's day when the monitor started, and kept adding to it past midnight. The doctor
    warning of the first day's check-in is said once (the new day has no check-in calling for it)."""
    import asyncio

    from conftest import DEADLINE_S
    from sensorback import sim
    from sensorback.formats import write_native
    from sensorback.live import LiveSession
    from sensorback.localday import day_bounds
    from sensorback.sources.files import FileSource

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    new_day = date(2024, 3, 6)
    midnight = day_bounds(new_day)[0].timestamp()
    store = open_store("sqlite:///" + str(tmp_path / "sb.db"))
    try:
        store_hour(store, datetime(2024, 3, 5, 22, tzinfo=BERLIN), "sitting", "break_prompt")
        store.add_pain_checkin(datetime(2024, 3, 5, 21, tzinfo=BERLIN), 3, bladder=True)
        block, _ = sim.simulate("demo", seed=1, duration_s=900.0, start_time=datetime(2024, 3, 5, 23, 50, tzinfo=BERLIN))
        write_native(block, tmp_path / "late.sbr")
        s = LiveSession(FileSource(tmp_path / "late.sbr"), store=store)
        seen, notes = [], []

        def watch(e):
            if e.kind == "epochs" and len(e.data):
                seen.append((s._unix(float(e.data.t_end[-1])), Counter(s.meters.today_s), s.meters.exercises,
                             s.meters.prompts))
            elif e.kind == "note":
                notes.append(e.text)

        s.subscribe(watch)
        asyncio.run(asyncio.wait_for(s.run(), DEADLINE_S))

        before = [x for x in seen if x[0] <= midnight]
        after = [x for x in seen if x[0] > midnight + 60]
        assert before and after
        t, shown, exercises, prompts = before[-1]   # from 23:50 to t: the stored hour and this session's
        assert shown["sitting"] >= 3600.0 and t > midnight - 60
        assert sum(shown.values()) == pytest.approx(3600.0 + t - block.start_time, abs=1.0)
        assert (exercises, prompts) == (1, 1)
        report = build_report(load_rows(store, new_day, new_day), now=datetime(2024, 3, 6, 0, 20, tzinfo=BERLIN))
        totals = report.to_dict()["totals"]
        assert {k: v for k, v in s.meters.today_s.items() if v} == pytest.approx(
            {k: v for k, v in totals["states_s"].items() if v})
        assert sum(s.meters.today_s.values()) == pytest.approx(300.0, abs=10.0)   # 00:00 to 00:05 only
        assert (s.meters.exercises, s.meters.prompts) == (0, totals["coach"]["prompts"])
        assert sum("talk to a doctor" in n for n in notes) == 1, notes
    finally:
        store.close()
        monkeypatch.undo()
        time.tzset()
