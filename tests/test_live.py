"""LiveSession with DemoSource: source -> core -> coach -> store, calibration, snooze, done; --plain."""

from __future__ import annotations

import asyncio
import os
import re
import select
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sensorback.coach import CoachSettings
from sensorback.core import CoreOptions
from sensorback.formats import read_native
from sensorback.localday import day_bounds, local_days
from sensorback.core import block_stats, from_windows
from sensorback.core.calibration import IDENTITY
from sensorback.live import CalibrationStore, LiveSession, calibration_from_dict
from sensorback.samples import SampleBlock
from sensorback.sources.base import SourceStatus
from sensorback.sources.demo import DemoSource, calibration_recording, played_start
from sensorback.store import demo_db_path, open_store
from conftest import DEADLINE_S, HoldingSource, async_until, reaped, signalled_at

#: The first hour of the simulated desk-day: walking in, then a long seated session (its first
#: break prompt comes after sit_limit_min) -- all these tests need, simulated in a fraction of the
#: whole 8-hour day's time.
DESK_HOUR_S = 3600.0


BERLIN = ZoneInfo("Europe/Berlin")


def zone_at_noon() -> timezone:
    """A fixed zone in which it is now about noon. Tests that compare a demo's stored dates with
    the real clock pass it to DemoSource: run just after midnight, the demo would otherwise be kept
    on the day it began (played_start) and dated partly ahead of the clock."""
    seconds = round((43200.0 - time.time() % 86400.0) / 60.0) * 60
    return timezone(timedelta(seconds=seconds))


@pytest.fixture
def noon_here(monkeypatch):
    """The process's local time zone is a fixed one in which it is now about noon (zone_at_noon):
    commands run one after another in the process ('log', 'monitor', 'report' of today) then see
    the same local day. Run just before midnight, the next command's today was the next day."""
    minutes = round(zone_at_noon().utcoffset(None).total_seconds() / 60)
    sign = "-" if minutes >= 0 else "+"  # POSIX: the hours to add to local time for UTC
    monkeypatch.setenv("TZ", f"NOON{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("SENSORBACK_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("SENSORBACK_DB", str(tmp_path / "sb.db"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # where 'monitor --demo' stores (demo.db)
    monkeypatch.setenv("SENSORBACK_NOTIFY", "0")
    return tmp_path


def test_demo_source_yields_timed_blocks_and_statuses():
    async def go():
        src = DemoSource("demo", speed=500, block_s=0.5, tz=zone_at_noon())
        items = []
        async for it in src:
            items.append(it)
            if sum(isinstance(i, SampleBlock) for i in items) == 200:
                await src.stop()
        return items

    before = time.time()
    items = asyncio.run(go())
    after = time.time()
    kinds = [i.kind for i in items if isinstance(i, SourceStatus)]
    assert kinds[:2] == ["connecting", "connected"] and kinds[-1] == "stopped"
    connected = [i for i in items if isinstance(i, SourceStatus) and i.kind == "connected"][0]
    assert "battery_pct" in connected.values and "rssi_dbm" in connected.values
    blocks = [i for i in items if isinstance(i, SampleBlock)]
    t = np.concatenate([b.t for b in blocks])
    assert np.all(np.diff(t) > 0) and t[0] == pytest.approx(0.0, abs=0.05)
    spans = [b.t[-1] - b.t[0] for b in blocks]
    assert max(spans) <= 10.0 + 1e-9  # 500x: 0.02 s of wall time per block -> 10 s of samples
    # dated so that the 15 minutes would end when shown, played to the end at 500x (played_start)
    assert before + 900 / 500 - 900 <= blocks[0].start_time <= after + 900 / 500 - 900


def test_a_demo_behind_its_pace_still_takes_a_stop_at_the_next_block(monkeypatch):
    """Behind its pace (a loaded machine; the dashboard drawing), the demo went from block to block
    without giving the event loop a turn, so a stop asked meanwhile (q, SIGTERM, a closed terminal:
    handled on the loop) was taken only once the whole demo had played (under load, the dashboard
    in a closed terminal then outlived test_monitor_tui's 60 s). Its clock here runs an hour ahead
    at each reading: every block is late."""
    import itertools
    import types

    import sensorback.sources.demo as demo_module

    readings = itertools.count()
    monkeypatch.setattr(demo_module, "time", types.SimpleNamespace(monotonic=lambda: 3600.0 * next(readings)))

    async def go():
        src = DemoSource("demo", speed=30, block_s=0.5, tz=zone_at_noon())
        blocks, kinds, stopper = 0, [], None
        async for it in src:
            if isinstance(it, SampleBlock):
                blocks += 1
                if stopper is None:
                    stopper = asyncio.create_task(src.stop())  # runs at the loop's next turn
            else:
                kinds.append(it.kind)
        await stopper
        return blocks, kinds

    blocks, kinds = asyncio.run(go())
    assert blocks == 1 and kinds[-1] == "stopped"  # of 1,500 blocks (15 min of 0.6 s blocks)


def test_played_start_dates_a_sped_up_demo_to_end_when_shown():
    """A sped-up demo's end is dated at the wall moment it is shown; at real time or slower its
    first sample (then every sample is dated at or before the moment it is shown)."""
    noon = datetime(2024, 3, 5, 12, 0, tzinfo=BERLIN).timestamp()
    assert played_start(noon, 0.0, 900.0, 30.0, BERLIN) + 900.0 == pytest.approx(noon + 900.0 / 30)
    assert played_start(noon, 0.0, 900.0, 1.0, BERLIN) == noon
    assert played_start(noon, 0.0, 900.0, 0.5, BERLIN) == noon  # never ahead of the moment shown
    assert played_start(noon, 5.0, 905.0, 30.0, BERLIN) + 905.0 == pytest.approx(noon + 900.0 / 30)


def _played(wall: datetime, duration: float, speed: float, tz=BERLIN) -> tuple[datetime, datetime]:
    """[first, end) of a demo of ``duration`` s whose playback began at ``wall``, as dated."""
    start = played_start(wall.timestamp(), 0.0, duration, speed, tz)
    return (datetime.fromtimestamp(start, timezone.utc), datetime.fromtimestamp(start + duration, timezone.utc))


@pytest.mark.parametrize("wall, duration, speed, first, end", [
    # just after midnight: today has had 5 min, the demo plays 15: it starts at today's 00:00
    (datetime(2024, 3, 5, 0, 5, tzinfo=BERLIN), 900.0, 30.0,
     datetime(2024, 3, 5, 0, 0, tzinfo=BERLIN), datetime(2024, 3, 5, 0, 15, tzinfo=BERLIN)),
    # begun just before midnight, shown to its end after it: it ends at midnight, on the day begun
    (datetime(2024, 3, 5, 23, 59, 50, tzinfo=BERLIN), 900.0, 30.0,
     datetime(2024, 3, 5, 23, 45, tzinfo=BERLIN), datetime(2024, 3, 6, 0, 0, tzinfo=BERLIN)),
    # the switch to summer time: at 03:16 CEST the day has had 2 h 16 min, not the 3 h 16 min of
    # the clock's face, so 3 h of desk-day start at midnight (CET), and end at 04:00 CEST
    (datetime(2024, 3, 31, 3, 10, tzinfo=BERLIN), 10800.0, 30.0,
     datetime(2024, 3, 31, 0, 0, tzinfo=BERLIN), datetime(2024, 3, 31, 4, 0, tzinfo=BERLIN)),
    # the switch back: at the second 02:30 (CET) the day has had 3 h 30 min, so 3 h fit and end
    # when shown (02:36 CET, 01:36 UTC), where the clock's face (2 h 36 min) would have moved them
    (datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=BERLIN), 10800.0, 30.0,
     datetime(2024, 10, 27, 0, 36, tzinfo=BERLIN), datetime(2024, 10, 27, 1, 36, tzinfo=timezone.utc)),
    # a zone whose clocks jump at midnight: Santiago's 2024-09-08 began at 01:00 (-03)
    (datetime(2024, 9, 8, 1, 5, tzinfo=ZoneInfo("America/Santiago")), 900.0, 30.0,
     datetime(2024, 9, 8, 4, 0, tzinfo=timezone.utc), datetime(2024, 9, 8, 4, 15, tzinfo=timezone.utc)),
    # longer than the day: it starts at the day's midnight (and cannot end on it)
    (datetime(2024, 3, 5, 15, 0, tzinfo=BERLIN), 30 * 3600.0, 100.0,
     datetime(2024, 3, 5, 0, 0, tzinfo=BERLIN), datetime(2024, 3, 6, 6, 0, tzinfo=BERLIN)),
    # at real time it is dated as a sensor's data would be, across midnight too
    (datetime(2024, 3, 5, 23, 50, tzinfo=BERLIN), 900.0, 1.0,
     datetime(2024, 3, 5, 23, 50, tzinfo=BERLIN), datetime(2024, 3, 6, 0, 5, tzinfo=BERLIN)),
])
def test_played_start_keeps_a_sped_up_demo_on_the_day_it_began(wall, duration, speed, first, end):
    """A sped-up demo begun at 00:05 was dated to end when shown, so it began the evening before
    and its day's report and database rows were split over two days. Its made-up dates now lie on
    the local day playback began: from that day's midnight when the day has had less time than the
    demo, ending at the next midnight when its end would be shown after it. Days are the zone's,
    23 or 25 h long when the clocks change."""
    tz = wall.tzinfo
    assert _played(wall, duration, speed, tz) == (first, end)


def test_played_start_ends_when_shown_whenever_the_day_has_had_the_time():
    """Every hour of a year with both clock changes in Berlin, at speeds from 1.5 to 600 and
    durations from a minute to a day: a sped-up demo lies on the local day playback began (or
    starts at its midnight when longer than the day), and ends when it is shown unless the day
    has not yet had its duration in sample time, when it starts at midnight."""
    rng = np.random.default_rng(7)
    wall = datetime(2024, 1, 1, tzinfo=timezone.utc)
    while wall.year == 2024:
        speed = float(rng.choice([1.5, 30.0, 600.0]))
        duration = float(rng.choice([60.0, 900.0, 8 * 3600.0, 23.5 * 3600.0]))
        first, end = _played(wall, duration, speed)
        day = wall.astimezone(BERLIN).date()
        midnight, next_midnight = day_bounds(day, BERLIN)
        shown = wall + timedelta(seconds=duration / speed)
        assert first >= midnight and (end <= next_midnight or first == midnight), (wall, duration, speed)
        if end - first <= next_midnight - midnight:
            assert local_days(first, end, BERLIN) == [day]
        if wall - midnight >= timedelta(seconds=duration - duration / speed) and shown <= next_midnight:
            assert end == shown, (wall, duration, speed)  # ends when shown: nothing in the future
        else:
            assert first in (midnight, next_midnight - timedelta(seconds=duration))
        wall += timedelta(hours=1, minutes=int(rng.integers(0, 60)))


def test_a_demo_begun_after_midnight_stores_its_day_on_that_day(env):
    """End to end, with the clock injected (DemoSource's wall_clock): the 15-minute demo at 3000x
    begun at 00:05 is stored from 00:00 to 00:15 in a real database; the day before has nothing."""
    from sensorback.report import build_report, load_rows

    began = datetime(2024, 3, 5, 0, 5, tzinfo=BERLIN)
    store = open_store(str(env / "sb.db"))
    s = LiveSession(DemoSource("demo", speed=3000, wall_clock=began.timestamp, tz=BERLIN), store=store,
                    device_key="demo")
    asyncio.run(asyncio.wait_for(s.run(), DEADLINE_S))
    (info,) = store.sessions(0, 4e9)
    assert info.started_at == datetime(2024, 3, 5, 0, 0, tzinfo=BERLIN)
    day, before = day_bounds(date(2024, 3, 5), BERLIN), day_bounds(date(2024, 3, 4), BERLIN)
    assert len(store.epochs(*before)) == 0 and len(store.events(*before)) == 0
    assert len(store.epochs(*day)) == 900
    report = build_report(load_rows(store, date(2024, 3, 5), date(2024, 3, 5), BERLIN),
                          now=datetime(2024, 3, 5, 12, tzinfo=BERLIN), tz=BERLIN)
    store.close()
    (shown,) = report.days
    assert shown.day == date(2024, 3, 5) and shown.numbers.recorded_s == pytest.approx(900.0)


@pytest.mark.parametrize("stop_at", [None, 30.0])
def test_a_sped_up_demo_stores_nothing_in_the_future(env, stop_at):
    """monitor --demo --speed N played 15 min in 30 s but dated the session from when it began, so
    its epochs and events ended ~14.5 min ahead of the clock and 'report' for today counted time
    that had not happened. Played to the end, the stored session now ends when it was shown;
    stopped early, everything stored is in the past."""
    store = open_store(str(env / "sb.db"))
    source = DemoSource("demo", speed=600, duration_s=120.0, tz=zone_at_noon())
    stopping = []
    if stop_at is not None:
        # held from the moment the stop is asked for until it comes (the 120 s take 0.2 s of wall
        # time: on a busy machine the demo played on to its end before the stop task ran)
        source = HoldingSource(source, lambda: stopping)

        def stop_at_t(e):
            if e.kind == "epochs" and len(e.data) and e.data.t_end[-1] >= stop_at and not stopping:
                stopping.append(e.data.t_end[-1])
                asyncio.ensure_future(s.stop())
    s = LiveSession(source, store=store, device_key="demo")
    if stop_at is not None:
        s.subscribe(stop_at_t)
    before = time.time()
    asyncio.run(asyncio.wait_for(s.run(), DEADLINE_S))
    after = time.time()
    (info,) = store.sessions(0, 4e9)
    epochs = store.epochs(0, 4e9)
    events = store.events(0, 4e9)
    store.close()
    ended = info.ended_at.timestamp()
    last_epoch = float(epochs.origin + epochs.t_end[-1])
    newest = max([last_epoch, ended] + [e.at.timestamp() for e in events])
    assert newest <= after + 0.01, (newest - after)  # nothing in the future (clocks' jitter aside)
    if stop_at is None:  # played to the end: the end is dated at the moment it was shown
        assert len(epochs) == 120 and ended == pytest.approx(last_epoch, abs=1e-3)
        assert before + 120 / 600 <= ended
    else:
        assert 30 <= len(epochs) < 120 and info.started_at.timestamp() < before - 60


def test_demo_source_paces_in_real_time():
    """Each block is due when its last sample would have been recorded at 20x real time (the
    schedule), and is never handed over before that moment. (How late a loaded machine hands it
    over is not the source's doing, so there is no upper bound on the wall time.)"""
    src = DemoSource("demo", speed=20, block_s=0.5)
    dues = []
    sleep_until = src._sleep_until

    async def recording_sleep(due):
        dues.append(due)
        await sleep_until(due)

    src._sleep_until = recording_sleep

    async def go():
        got = []
        async for it in src:
            if isinstance(it, SampleBlock):
                got.append((float(it.t[-1]), time.monotonic()))
                if it.t[-1] >= 20:
                    await src.stop()
                    return got

    begun = time.monotonic()
    got = asyncio.run(go())
    assert len(got) >= 39 and len(dues) == len(got)
    last0, due0 = got[0][0], dues[0]
    assert due0 >= begun + last0 / 20  # the first sample (t = 0) is due no earlier than the start
    for (last, arrived), due in zip(got, dues):
        assert due - due0 == pytest.approx((last - last0) / 20, abs=1e-6)  # 20x real time
        assert arrived >= due  # never early
    assert got[-1][1] - begun >= got[-1][0] / 20  # ~20 s of samples took at least 1 s


def test_session_stores_epochs_events_exercise_and_recording(env):
    store = open_store(str(env / "sb.db"))
    src = HoldingSource(DemoSource("desk-day", speed=2000, duration_s=DESK_HOUR_S), lambda: s.meters.prompts)
    s = LiveSession(src, settings=CoachSettings(sit_limit_min=2), store=store, device_key="demo",
                    calibrations=CalibrationStore(env / "cal.json"), record=env / "rec.sbr",
                    recorder_kwargs={"max_epochs": 5000, "max_seconds": 600})
    seen = []
    s.subscribe(seen.append)

    async def go():
        async def driver():
            await async_until(lambda: s.meters.prompts, "a break prompt")
            assert s.snooze()
            assert s.mark_done()
            await s.stop()
        await asyncio.wait_for(asyncio.gather(s.run(), driver()), DEADLINE_S)

    asyncio.run(go())
    assert s.provisional
    kinds = [e.kind for e in seen]
    assert "calibration" in kinds and "state" in kinds
    coach = [e.data.kind for e in seen if e.kind == "coach"]
    assert "break_prompt" in coach and "snoozed" in coach
    assert s.session_ids and s.stored_epochs == s.meters.epochs > 0
    assert len(store.epochs(0, 4e9)) == s.meters.epochs
    assert store.session(s.session_ids[0]).ended_at is not None
    ex = store.exercises(0, 4e9)
    assert len(ex) == 1 and ex[0].source == "prompt"
    rec = read_native(env / "rec.sbr")
    assert len(rec) == s.meters.samples
    store.close()


def windows_calibration(block):
    w = block.meta["windows"]
    stats, _ = block_stats(block, CoreOptions(), IDENTITY)
    return from_windows(stats, CoreOptions(), tuple(w["upright"]), tuple(w["slouch"]), tuple(w["stand"]))


def test_calibration_windows_find_up_and_forward_for_any_mount():
    for seed in range(5):
        block = calibration_recording(seed, ideal=True)
        cal, notes = windows_calibration(block)
        up, fwd = np.array(cal.reference.up), np.array(cal.reference.forward)
        assert np.degrees(np.arccos(up @ block.meta["true_up"])) < 3
        assert np.degrees(np.arccos(fwd @ block.meta["true_forward"])) < 6
        assert abs(cal.usual_slouch_deg - block.meta["usual_slouch_deg"]) < 4
        assert calibration_from_dict(cal.to_dict()) == cal


def test_calibration_store_round_trip(tmp_path):
    block = calibration_recording(1)
    cal, _ = windows_calibration(block)
    cs = CalibrationStore(tmp_path / "c" / "cal.json")
    (tmp_path / "c").mkdir()  # (a folder named is not created: see test_config)
    cs.save(["AA:BB", "Polar H10"], cal, device="Polar H10")
    got, entry = cs.load(None, "Polar H10")
    assert got.reference == cal.reference and entry["device"] == "Polar H10"
    assert cs.load("other") is None


def test_upright_key_recalibrates_in_the_same_session(env):
    store = open_store(str(env / "sb.db"))
    cs = CalibrationStore(env / "cal.json")
    src = HoldingSource(DemoSource("desk-day", speed=2000, duration_s=DESK_HOUR_S),
                        lambda: s.meters.state == "sitting")
    s = LiveSession(src, store=store, device_key="demo", calibrations=cs,
                    recorder_kwargs={"max_epochs": 5000, "max_seconds": 600})
    notes = []
    s.subscribe(lambda e: notes.append(e) if e.kind in ("calibration", "note") else None)

    async def go():
        async def driver():
            await async_until(lambda: s.meters.state == "sitting", "the wearer sitting")
            s.calibrate_upright(3)
            src.release()
            await async_until(lambda: len([n for n in notes if n.kind == "calibration"]) >= 2,
                              "the second calibration")
            await s.stop()
        await asyncio.wait_for(asyncio.gather(s.run(), driver()), DEADLINE_S)

    asyncio.run(go())
    cals = [n for n in notes if n.kind == "calibration"]
    assert cals[0].text.startswith("provisional") and cals[1].text.startswith("calibrated")
    assert not s.provisional and len(s.session_ids) == 1  # one run, one stored session
    kept = [e for e in store.events(0, 4e9) if e.kind == "calibration"]
    assert len(kept) == 1 and '"note": "calibrated: upright taken' in kept[0].detail
    found = cs.load("demo")  # stored as the session uses it (under the sensor correction it has by then)
    assert found is not None and found[0].with_sensor(s.calibration.sensor).reference == s.calibration.reference
    store.close()


@pytest.mark.parametrize("stand", [True, False])
def test_a_guided_calibration_in_the_session_tells_the_core_where_the_wearer_sat_and_stood(env, stand):
    """calibrate_guided (the dashboard's g key): the steps of 'sensorback calibrate' within the
    session. Their samples are held back until the calibration is done, then decided by a core
    with it that was told the steps' windows first (Runner.tell_seated / tell_standing): the
    upright and slouch seconds are sitting, the stand step's standing. Untold, a fresh core takes
    the first still seconds of this wearer for standing. The session's epochs are the core's for
    the same samples, calibration and windows (what --reference-window gives a batch analysis)."""
    from sensorback.core import EpochTable, StreamProcessor
    from sensorback.core.states import CODE

    store = open_store(str(env / "sb.db"))
    cs = CalibrationStore(env / "cal.json")
    s = LiveSession(DemoSource("calibration", speed=500, seed=1), store=store, device_key="demo", calibrations=cs,
                    record=env / "cal.sbr")
    produced, notes = [], []
    s.subscribe(lambda e: produced.append(e.data) if e.kind == "epochs" else
                notes.append(e.text) if e.kind in ("note", "calibration") else None)
    s.calibrate_guided(stand=stand)
    asyncio.run(asyncio.wait_for(s.run(), DEADLINE_S))
    ep = EpochTable.concat(produced)
    assert sum("calibrating " in n and "/" in n for n in notes) == 2 + stand  # each step said
    assert notes[-1].startswith("calibrated (guided): upright") and ("standing:" in notes[-1]) == stand
    assert not s.provisional and cs.load("demo") is not None
    windows = calibration_recording(1).meta["windows"]  # where the simulated wearer did each step
    assert len(ep) > 30 and len(store.epochs(0, 4e9)) == len(ep)

    def inside(name):
        a, b = windows[name]
        return (ep.t_start >= a) & (ep.t_end <= b)

    assert inside("upright").sum() == 7 and (ep.state[inside("upright")] == CODE["sitting"]).all()
    assert (ep.state[inside("slouch")] == CODE["slouching"]).all()
    if stand:
        assert (ep.state[inside("stand")] == CODE["standing"]).all()
    # the same samples through a core with the session's calibration, told the same windows
    block = read_native(env / "cal.sbr")
    sp = StreamProcessor(CoreOptions(), s.calibration, block.rate_hz)
    t0 = float(block.t[0])
    told = {"upright": (t0 + 2.0, t0 + 10.0), "slouch": (t0 + 13.0, t0 + 20.0), "stand": (t0 + 24.0, t0 + 30.0)}
    for name in ("upright", "slouch", "stand")[:2 + stand]:
        (sp.tell_seated if name != "stand" else sp.tell_standing)(*told[name])
    core = EpochTable.concat([sp.feed(block), sp.finish()])
    assert core.equals(ep)
    untold = StreamProcessor(CoreOptions(), s.calibration, block.rate_hz)
    untold = EpochTable.concat([untold.feed(block), untold.finish()])
    assert (untold.state[inside("upright")] != CODE["sitting"]).any()
    store.close()


@pytest.mark.parametrize("stored", [True, False])
def test_a_calibration_the_stream_ends_in_loses_no_samples(env, stored):
    """A capture's samples are held back from the core until it is done; one the stream ends in
    gives no calibration, and its samples go on as if there had been no capture: to the core of
    the calibration in use, or to the provisional one made from them."""
    cs = CalibrationStore(env / "cal.json")
    if stored:
        cs.save(["demo"], windows_calibration(calibration_recording(0))[0], device="demo")
    s = LiveSession(DemoSource("demo", speed=2000, duration_s=120.0), device_key="demo", calibrations=cs)
    produced, notes = [], []
    s.subscribe(lambda e: produced.append(e.data) if e.kind == "epochs" else
                notes.append(e.text) if e.kind in ("note", "calibration") else None)
    s.calibrate_upright(1000.0)
    asyncio.run(asyncio.wait_for(s.run(), DEADLINE_S))
    assert "calibrating: the stream ended before the calibration was done" in notes
    assert s.provisional != stored and not any(n.startswith("calibrated") for n in notes)
    t_start = np.concatenate([e.t_start for e in produced])
    assert np.array_equal(t_start, np.arange(120.0)), t_start  # every epoch, once


def test_a_calibration_in_the_middle_of_a_session_loses_no_epoch(env):
    """The core in use is closed where a capture begins and a new one decides from the capture's
    first sample on. When that sample begins an epoch (the demo's blocks end on whole seconds),
    the epoch before it has all its samples in the old core and is decided there, not dropped
    because no later sample reached that core. Also: each step said, the calibration stored as a
    `calibration` event of the one session. (The demo wearer keeps sitting through the capture,
    so it has no stand step: one held in the chair is refused.)"""
    cs = CalibrationStore(env / "cal.json")
    cs.save(["demo"], windows_calibration(calibration_recording(0))[0], device="demo")
    store = open_store(str(env / "sb.db"))
    s = LiveSession(DemoSource("demo", speed=200, seed=1, duration_s=160.0), store=store, device_key="demo",
                    calibrations=cs)
    produced, notes, pressed = [], [], []

    def listen(e):
        if e.kind == "epochs":
            produced.append(e.data)
            if len(e.data) and e.data.t_start[-1] >= 100.0 and not pressed:
                pressed.append(e.data.t_end[-1])
                s.calibrate_guided(stand=False)
        elif e.kind in ("note", "calibration"):
            notes.append(e.text)

    s.subscribe(listen)
    asyncio.run(asyncio.wait_for(s.run(), DEADLINE_S))
    assert sum(n.startswith("calibrating ") and "/2" in n for n in notes) == 2, notes
    assert notes[-1].startswith("calibrated (guided): upright"), notes
    t_start = np.concatenate([e.t_start for e in produced])
    assert np.array_equal(t_start, np.arange(160.0)), np.setdiff1d(np.arange(160.0), t_start)  # every epoch, once
    kept = [e for e in store.events(0, 4e9) if e.kind == "calibration"]
    assert len(s.session_ids) == 1 and len(kept) == 1 and '"note": "calibrated (guided)' in kept[0].detail
    store.close()


def test_plain_monitor_subprocess_sigint(env):
    """Ctrl-C in the middle of the default demo (12 min at 60x: 12 s): sent once the first break
    prompt (3 min of sitting in) has been printed, it ends the run cleanly, with exit code 0,
    everything up to then stored and recorded, long before the demo would have ended by itself."""
    cmd = [sys.executable, "-m", "sensorback.cli", "monitor", "--demo", "--plain", "--speed", "60",
           "--set", "sit_limit_min=2", "--record", str(env / "r.sbr")]
    ran = signalled_at(cmd, lambda ln: "break prompt" in ln, signal.SIGINT, "the first break prompt",
                       env=dict(os.environ))
    lines, err = ran.lines, ran.err
    assert ran.returncode == 0, err
    assert any("connected" in ln for ln in lines)
    assert any("state: sitting" in ln for ln in lines)
    assert lines[-1].endswith("stopped")
    assert "epochs stored" in err
    assert not (env / "sb.db").exists()  # a demo stays out of the user's own database
    store = open_store(str(demo_db_path()))
    stored = store.epochs(0, 4e9)
    store.close()
    recorded = read_native(env / "r.sbr")
    # up to the prompt (at ~3 min) and on to the stop, however late the signal came; the last line
    # above says it stopped before the demo ended by itself; what was recorded was stored
    assert len(stored) > 100 and len(recorded) > 100 * 50
    assert abs(len(stored) - (recorded.t[-1] - recorded.t[0])) <= 2, (len(stored), recorded.t[[0, -1]])


def test_plain_monitor_whose_reader_goes_away_stores_everything_seen(env):
    """`monitor --plain | head -3`: the pipe's reader leaves after three lines. The monitor stops as
    on Ctrl-C, stores every epoch up to then (it lost the ones waiting on the provisional
    calibration, 13 stored of 32 s recorded), says so on stderr and ends as a pipe ends (141)."""
    r, w = os.pipe()
    cmd = [sys.executable, "-m", "sensorback.cli", "monitor", "--demo", "--plain", "--speed", "60",
           "--record", str(env / "r.sbr"), "--db", str(env / "x.db")]
    proc = subprocess.Popen(cmd, stdout=w, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    os.close(w)
    with reaped(proc):
        got, end = b"", time.monotonic() + DEADLINE_S
        while got.count(b"\n") < 3:  # the provisional calibration's line is the third
            assert select.select([r], [], [], max(0.0, end - time.monotonic()))[0], got
            chunk = os.read(r, 4096)
            assert chunk, got
            got += chunk
        os.close(r)  # the reader goes away
        err = proc.stderr.read()
        proc.wait(timeout=DEADLINE_S)
    assert proc.returncode == 141, err
    assert "Traceback" not in err and "stopped: " in err and " epochs stored (session 1) in " in err, err
    store = open_store(str(env / "x.db"))
    stored = store.epochs(0, 4e9)
    store.close()
    recorded = read_native(env / "r.sbr")
    assert len(stored) >= 31 and abs(len(stored) - (recorded.t[-1] - recorded.t[0])) <= 2, (len(stored), recorded.t[-1])


def test_plain_monitor_whose_reader_goes_away_as_the_session_ends_says_so(env, monkeypatch):
    """The reader of `monitor --plain` goes away only while the session ends (the demo ran out): the
    last lines, written as the session finishes and in run_plain's final flush, meet a closed pipe.
    run_plain answers READER_GONE (the command then says its summary and ends with 141, as when the
    pipe breaks earlier) and the session is stored whole. It answered None: exit 0."""
    from sensorback.ui.plain import READER_GONE, run_plain

    store = open_store(str(env / "sb.db"))
    s = LiveSession(DemoSource("desk-day", speed=2000, duration_s=120), store=store, device_key="demo",
                    calibrations=CalibrationStore(env / "cal.json"))
    r, w = os.pipe()
    out = os.fdopen(w, "w")
    monkeypatch.setattr(sys, "stdout", out)
    read: list[bytes] = []

    def reader_leaves_at_the_end(ev) -> None:  # subscribed first: it sees each event before run_plain
        if s.finished and not read:
            read.append(os.read(r, 1 << 20))  # what the reader took before it left
            os.close(r)

    s.subscribe(reader_leaves_at_the_end)
    try:
        stopped_by = asyncio.run(asyncio.wait_for(run_plain(s, lambda: None), DEADLINE_S))
    finally:
        out.close()
        store_epochs, (info,) = store.epochs(0, 4e9), store.sessions(0, 4e9)
        store.close()
    assert read and b"connected" in read[0], read  # lines went through before the reader left
    assert stopped_by == READER_GONE
    assert s.finished and not s.stop_requested  # the demo ran out: nothing had to stop it
    assert info.ended_at is not None and len(store_epochs) == s.stored_epochs >= 115, (len(store_epochs), s.stored_epochs)


def test_plain_monitor_in_a_closed_terminal_ends_the_session(env):
    """The terminal the monitor runs in closes (a real hang-up: the kernel sends SIGHUP and later
    writes to it fail): the session is written and ended as after q, nothing more is printed (no
    summary: nobody is left to read it; no 'coroutine was never awaited' warning), and the command
    ends as any does on SIGHUP, 'terminated (SIGHUP)', exit 129. It ended with that warning and the
    session stored but left unfinished."""
    from conftest import hang_up_when_shown, on_a_terminal

    err_path = env / "stderr.txt"
    with open(err_path, "w") as err:  # stderr kept apart, to see what the command still says
        proc, main = on_a_terminal(["monitor", "--demo", "--plain", "--speed", "30"], stderr=err)
    hang_up_when_shown(proc, main, b"state: sitting")
    assert proc.returncode == 129, err_path.read_text()
    assert err_path.read_text() == "terminated (SIGHUP)\n"
    store = open_store(str(demo_db_path()))
    (info,) = store.sessions(0, 4e9)
    stored = len(store.epochs(0, 4e9))
    store.close()
    assert info.ended_at is not None
    assert 52 < stored < 900, stored  # past the sit-down (00:00:52), stopped well before the demo's end


def test_monitor_without_ble_is_one_line_error(env, monkeypatch):
    from typer.testing import CliRunner

    from sensorback.cli.app import app

    monkeypatch.setitem(sys.modules, "sensorback.sources.ble", None)  # import fails
    from cli_checks import one_line_error

    one_line_error(CliRunner().invoke(app, ["monitor", "--plain"]), "error: BLE sensors are not available here (",
                   "; try 'sensorback monitor --demo'")


class _NoDBusScanner:
    """bleak's scanner on a machine without a system D-Bus (no BlueZ, no Bluetooth)."""

    def __init__(self, *args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory")


def _without_bluetooth(monkeypatch) -> None:
    """'monitor' gets the real BleSource, on a machine without Bluetooth."""
    import sensorback.sources as sources
    from sensorback.sources.ble import BleSource

    monkeypatch.setattr(sources, "_ble_source", lambda device, profile: BleSource(
        scanner_kwargs={"backend": _NoDBusScanner}, backoff_s=(0.01, 0.02)))


NO_BLUETOOTH = ("error: Bluetooth is not available: cannot reach BlueZ over the system D-Bus; is there a "
                "Bluetooth adapter, is it switched on (bluetoothctl power on), and is BlueZ running (systemctl "
                "status bluetooth)? Without a sensor, try 'sensorback monitor --demo'.")


def test_monitor_without_bluetooth_says_it_once(env, monkeypatch):
    """One line on stderr, exit 1 (the machine, not the command line): not also a 'stopped: BleSourceError: ...' event line, nor the
    notifier's note about the bell (no prompt can come without a sensor)."""
    from typer.testing import CliRunner

    from sensorback.cli.app import app

    monkeypatch.delenv("SENSORBACK_NOTIFY")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    _without_bluetooth(monkeypatch)
    r = CliRunner().invoke(app, ["monitor", "--plain"])
    assert r.exit_code == 1, (r.output, r.exception)
    assert r.stderr.splitlines() == [NO_BLUETOOTH]
    assert "Bluetooth" not in r.stdout and "Error" not in r.stdout
    assert r.stdout.splitlines()[-1].endswith("  stopped")


def test_calibrate_without_bluetooth_offers_its_own_demo(env, monkeypatch):
    """'calibrate' on a machine without Bluetooth says the same one line, exit 1, but suggests
    'calibrate --demo' (it suggested 'monitor --demo', another command), and saves nothing."""
    from typer.testing import CliRunner

    from sensorback.cli.app import app

    monkeypatch.setenv("SENSORBACK_CALIBRATIONS", str(env / "calibrations.json"))
    _without_bluetooth(monkeypatch)
    r = CliRunner().invoke(app, ["calibrate"])
    assert r.exit_code == 1, (r.output, r.exception)
    assert r.stderr.splitlines() == [NO_BLUETOOTH.replace("sensorback monitor --demo", "sensorback calibrate --demo")]
    assert not (env / "calibrations.json").exists()


def databases_left(root) -> list[str]:
    """Every database file (with its -wal/-shm) and sensorback data folder under root."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".db" in p.name or p.name == "data")


@pytest.mark.parametrize("where", ["--db", "$SENSORBACK_DB", "default"])
def test_monitor_without_bluetooth_leaves_no_database(env, monkeypatch, where):
    """A sensor that never connects: the one line, and no new database (nor -wal/-shm, nor the
    default database's folder) left behind; the database was created, empty, before the sensor was
    looked for. A demo then creates it as before, with everything in it."""
    from typer.testing import CliRunner

    from sensorback.cli.app import app

    db = env / "new" / "back.db"
    db.parent.mkdir()
    named = ["--db", str(db)] if where == "--db" else []
    if where == "$SENSORBACK_DB":
        monkeypatch.setenv("SENSORBACK_DB", str(db))
    elif where == "default":
        monkeypatch.delenv("SENSORBACK_DB")
        monkeypatch.setenv("XDG_DATA_HOME", str(db.parent))
    _without_bluetooth(monkeypatch)
    r = CliRunner().invoke(app, ["monitor", "--plain", *named])
    assert r.exit_code == 1, (r.output, r.exception)
    assert r.stderr.splitlines() == [NO_BLUETOOTH]
    assert databases_left(env) == [] and list(db.parent.iterdir()) == []
    # a demo's database is named with --db (it never goes into $SENSORBACK_DB); without: its own demo.db
    # in the default's folder, created with that folder as late
    db = demo_db_path() if where == "default" else db
    named = [] if where == "default" else ["--db", str(db)]
    r = CliRunner().invoke(app, ["monitor", "--demo", "--speed", "20000", "--plain", *named])
    assert r.exit_code == 0, (r.output, r.exception)
    assert f"stopped: 900 epochs stored (session 1) in {db}" in r.stderr.splitlines()
    store = open_store(str(db))
    (info,) = store.sessions(0, 4e9)
    assert info.ended_at is not None and len(store.epochs(0, 4e9)) == 900
    store.close()


def test_monitor_without_bluetooth_leaves_an_existing_database_as_it_was(env, monkeypatch):
    """An existing database is still opened before the sensor is looked for (a locked or read-only
    one is refused at once); a sensor that then never connects changes nothing in it."""
    from typer.testing import CliRunner

    from sensorback.cli.app import app

    db = env / "sb.db"  # $SENSORBACK_DB
    assert CliRunner().invoke(app, ["log", "pain", "3"]).exit_code == 0
    before = db.read_bytes()
    _without_bluetooth(monkeypatch)
    r = CliRunner().invoke(app, ["monitor", "--plain"])
    assert r.exit_code == 1 and r.stderr.splitlines() == [NO_BLUETOOTH], (r.output, r.exception)
    assert db.read_bytes() == before and databases_left(env) == ["sb.db"]


def run_in_terminal(cmd: list, on_output=None) -> tuple[int, str]:
    """Run cmd in a pseudo-terminal (100x30) until it ends, reading all it writes; on_output(proc,
    output so far) after each read. Returns its exit code and its text without escape codes."""
    import pty

    main, tty = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=tty, stdout=tty, stderr=tty, close_fds=True,
                            env=dict(os.environ, TERM="xterm", COLUMNS="100", LINES="30"))
    os.close(tty)
    out = b""
    deadline = time.monotonic() + DEADLINE_S
    try:
        while True:
            left = deadline - time.monotonic()
            # wait for output with the deadline (a bare os.read would wait forever on a hung program)
            if left <= 0 or not select.select([main], [], [], left)[0]:
                pytest.fail(f"{cmd[-1]!r} (the program in the terminal) did not end within {DEADLINE_S:.0f} s; its output so far: {out[-2000:]!r}")
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed: the process has ended
                break
            if not chunk:
                break
            out += chunk
            if on_output is not None:
                on_output(proc, out)
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(main)
        if proc.poll() is None:  # pragma: no cover - only if the test fails
            proc.kill()
            proc.wait()
    return proc.returncode, re.sub(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|.)", "",
                                   out.decode(errors="replace"))


def test_dashboard_without_bluetooth_closes_and_says_it_once(env):
    """The dashboard (in a terminal) closes by itself and the command says the error once, exit 1
    (it used to wait for 'q' with the error in its log, then exit 0)."""
    code = ("import sensorback.sources as s\n"
            "from sensorback.sources.ble import BleSource\n"
            "class NoDBus:\n"
            "    def __init__(self, *a, **k):\n"
            "        raise FileNotFoundError(2, 'No such file or directory')\n"
            "s._ble_source = lambda device, profile: BleSource(scanner_kwargs={'backend': NoDBus}, "
            "backoff_s=(0.01, 0.02))\n"
            "from sensorback.cli.app import main\n"
            "main()\n")
    returncode, text = run_in_terminal([sys.executable, "-c", code, "monitor"])
    assert returncode == 1, text[-2000:]
    assert text.count("Bluetooth is not available") == 1 and "Error:" not in text, text[-2000:]
    assert text.rstrip().splitlines()[-1].endswith(NO_BLUETOOTH), text[-2000:]
    assert databases_left(env) == [], databases_left(env)  # $SENSORBACK_DB not created (it was, empty)


def test_dashboard_stopped_by_sigterm_ends_as_q_does(env):
    """A kill (SIGTERM) while the dashboard runs stops it as q does and as it does with --plain:
    the session is written and ended, the summary is printed, exit 0 (it said 'terminated
    (SIGTERM)', exit 143, without the summary)."""
    sent = []

    def kill_once_seated(proc, out: bytes) -> None:
        if not sent and b"SITTING" in out:  # a minute in (the demo sits down at 00:00:52)
            proc.send_signal(signal.SIGTERM)
            sent.append(True)

    returncode, text = run_in_terminal([sys.executable, "-m", "sensorback.cli", "monitor", "--demo", "--speed", "30"],
                                       kill_once_seated)
    assert sent and returncode == 0, text[-2000:]
    assert "terminated" not in text and "stopped: " in text, text[-2000:]
    stored = int(re.search(r"stopped: ([\d,]+) epochs stored", text).group(1).replace(",", ""))
    store = open_store(str(demo_db_path()))
    (info,) = store.sessions(0, 4e9)
    assert info.ended_at is not None and len(store.epochs(0, 4e9)) == stored
    assert 52 < stored < 900  # past the sit-down, stopped well before the demo's end
    store.close()


def test_a_broken_calibrations_file_is_said_before_the_monitor_starts(env, monkeypatch):
    """Not JSON: one line naming the file, exit 2, nothing started or stored, as 'calibrate' says
    it (the session read it when the sensor connected and ended the monitor there, 20 s in)."""
    from typer.testing import CliRunner

    from cli_checks import one_line_error
    from sensorback.cli.app import app

    broken = env / "calibrations.json"
    broken.write_text("{broken")
    monkeypatch.setenv("SENSORBACK_CALIBRATIONS", str(broken))
    one_line_error(CliRunner().invoke(app, ["monitor", "--demo", "--speed", "1000", "--plain"]),
                   f"the calibrations file {broken} is broken", "delete it and calibrate again")
    assert not demo_db_path().exists()
    assert broken.read_text() == "{broken"


def test_a_broken_entry_for_the_sensor_is_a_warning_and_monitoring_goes_on(env):
    """The device's own entry unusable: said once, the session calibrates provisionally and runs to
    the end with everything stored (it ended the session with the error, 20 s in)."""
    broken = env / "calibrations.json"
    broken.write_text('{"devices": {"demo": {"calibration": 5}}}')
    store = open_store(str(env / "sb.db"))
    s = LiveSession(DemoSource("demo", speed=5000), device_key="demo", store=store,
                    calibrations=CalibrationStore(broken),
                    recorder_kwargs={"max_epochs": 5000, "max_seconds": 600})
    seen = []
    s.subscribe(seen.append)
    asyncio.run(asyncio.wait_for(s.run(), DEADLINE_S))
    warnings = [e.text for e in seen if e.kind == "note" and e.text.startswith("warning:")]
    assert len(warnings) == 1 and "the calibration of demo in" in warnings[0] and str(broken) in warnings[0]
    assert s.provisional
    assert len(store.epochs(0, 4e9)) == 900 and store.session(s.session_ids[0]).ended_at is not None
    store.close()


FAST_DEMO = ["--demo", "--speed", "1000"]


@pytest.mark.parametrize("args, fragments", [
    (FAST_DEMO + ["--device", "XX"], ["--device: cannot be combined with --demo (the demo plays a simulated sensor)"]),
    (FAST_DEMO + ["--profile", "nosuch"], ["--profile: cannot be combined with --demo", "simulated sensor"]),
    (FAST_DEMO + ["--scenario", "nosuch"], ["--scenario: unknown scenario 'nosuch'; choose one of:", "demo",
                                             "desk-day", "standing-desk-day"]),
    (["--seed", "2"], ["--seed: only with --demo"]),
    (["--scenario", "desk-day"], ["--scenario: only with --demo"]),
])
def test_monitor_refuses_options_that_do_not_fit(env, args, fragments):
    """The demo plays a simulated sensor: options naming a real one are mistakes, not ignored."""
    from typer.testing import CliRunner

    from cli_checks import one_line_error
    from sensorback.cli.app import app

    one_line_error(CliRunner().invoke(app, ["monitor", "--plain", *args]), *fragments)
    assert not demo_db_path().exists() and not (env / "sb.db").exists()  # nothing ran, nothing stored

@pytest.mark.parametrize("args,message", [
    (["monitor", "--profile", "nosuch"], "--profile: unknown device profile 'nosuch'; choose one of: microbit, "
     "polar-h10, thingy52, metawear, witmotion, sensorback-diy"),
    (["calibrate", "--profile", "nosuch"], "--profile: unknown device profile 'nosuch'; choose one of: "),
    (["monitor", "--demo", "--plain", "--seed", "-1"], "--seed: must be a whole number, 0 or more, got -1"),
    (["calibrate", "--demo", "--seed", "-1"], "--seed: must be a whole number, 0 or more, got -1"),
])
def test_monitor_and_calibrate_errors_name_the_option(env, args, message):
    # the profile is checked before anything Bluetooth, so the same error with or without BLE here
    from typer.testing import CliRunner

    from sensorback.cli.app import app
    from cli_checks import one_line_error

    one_line_error(CliRunner().invoke(app, args), message)
    assert not (env / "sb.db").exists()


def test_a_provisional_session_knows_forward_before_the_first_slouch_and_nudges(env):
    """Without a stored calibration the session starts from an estimate on its first 30 s; the
    demo wearer walks in first, and walking shows which way is forward (core/forward.py), so the
    slouch that follows is judged at once: the live session finds as much slouching as the
    analysis of the whole recording, and nudges (issue 9: it used to end with 'slouched 0 s,
    nudges 0' because forward was learned only from three sit/stand transitions)."""
    from sensorback.core import analyze
    from sensorback.core.states import STATES

    store = open_store(str(env / "sb.db"))
    s = LiveSession(DemoSource("demo", speed=5000), store=store, device_key="demo",
                    calibrations=CalibrationStore(env / "cal.json"), record=env / "rec.sbr")
    notes = []
    s.subscribe(lambda e: notes.append(e) if e.kind in ("calibration", "note") else None)
    asyncio.run(asyncio.wait_for(s.run(), DEADLINE_S))
    assert s.provisional and notes[0].kind == "calibration", [n.text for n in notes]
    assert len(s.session_ids) == 1  # one run, one stored session, whatever the calibration did
    live = s.calibration.reference
    assert live.forward_known and "walking" in live.forward_source
    assert s.meters.nudges >= 1
    # The core's forward is where gravity moves as the trunk flexes forward: minus the body's
    # anterior axis, in the sensor's axes (the simulator knows how the clip was mounted).
    from sensorback.sim import simulate

    mount = np.asarray(simulate("demo", seed=0, duration_s=1.0)[0].meta["sim"]["mount_rotation"])
    truth = -(mount @ np.array([1.0, 0.0, 0.0]))
    batch = analyze(read_native(env / "rec.sbr"))
    for fwd in (live.forward, batch.calibration.reference.forward):
        assert np.degrees(np.arccos(np.clip(np.dot(fwd, truth), -1, 1))) < 15
    slouched_live = s.meters.today_s["slouching"]
    slouched_batch = float(np.sum(batch.epochs.state == STATES.index("slouching")))
    assert slouched_batch > 300 and abs(slouched_live - slouched_batch) < 0.05 * slouched_batch
    store.close()


def test_learning_forward_from_walking_and_transitions():
    from dataclasses import replace

    from sensorback.core import CoreOptions, block_stats, estimate_calibration, learn
    from sensorback.sim import simulate

    block, _ = simulate("demo", seed=1)
    options = CoreOptions()
    stats, sensor = block_stats(block, options)
    cal, _ = estimate_calibration(stats, options, sensor)
    assert cal.reference.forward_known
    # the first 8 s of walking are too little evidence to learn from
    unknown = replace(cal, reference=replace(cal.reference, forward_probability=0.5))
    assert learn(stats.take(stats.k < 8), options, unknown) is None
    # a calibration with forward reversed gets it back from the walking and the transitions
    wrong = replace(cal, reference=replace(cal.reference, forward=tuple(-np.asarray(cal.reference.forward)),
                                           forward_probability=0.5))
    fixed = learn(stats, options, wrong)
    assert fixed is not None and fixed.reference.forward_known
    assert np.dot(fixed.reference.forward, cal.reference.forward) > np.cos(np.radians(2))
    assert fixed.sensor == cal.sensor and fixed.reference.up == cal.reference.up
    # nothing to learn when forward is known and agrees
    assert learn(stats, options, cal) is None


def _times(lines: list[str]) -> list[str]:
    """The sample times of the dated lines ('00:31:02  ...'; '--:--:--' lines are not dated)."""
    return [ln[:8] for ln in lines if re.match(r"\d\d:\d\d:\d\d  ", ln)]


def test_plain_lines_come_in_sample_time_order_over_a_whole_day(env):
    """'monitor --plain' over the simulated 8-hour desk day, as fast as it goes: the printed
    times never go back (state changes used to print before the earlier break prompts and
    outcomes of the same settled batch, and the provisional calibration, dated when it was
    found, before the states it was used for)."""
    from typer.testing import CliRunner

    from sensorback.cli.app import app

    r = CliRunner().invoke(app, ["monitor", "--demo", "--scenario", "desk-day", "--speed", "20000", "--plain"])
    assert r.exit_code == 0, (r.output, r.exception)
    lines = r.stdout.splitlines()
    times = _times(lines)
    assert times == sorted(times), [(a, b) for a, b in zip(times, times[1:]) if b < a][:5]
    said = " ".join(lines)
    for what in ("connected", "provisional calibration", "state: sitting", "break prompt:", "break prompt of",
                 "heeded", "slouch nudge", "break: up since"):
        assert what in said, what
    assert len(times) > 100 and times[-1] >= "07:59:59" and lines[-1].endswith("stopped")
    assert [ln for ln in lines if "provisional calibration" in ln][0].startswith("00:00:00")  # used from the start


def test_the_first_break_prompt_says_where_the_steps_are_and_to_stop_at_sharp_pain(env):
    """A prompt only names its exercise. The session's first one is followed, at its time, by where
    the steps are and the rule to stop at sharp pain; later prompts are not (that would nag)."""
    from typer.testing import CliRunner

    from sensorback.cli.app import app

    r = CliRunner().invoke(app, ["monitor", "--demo", "--speed", "20000", "--plain",
                                 "--set", "sit_limit_min=2", "--set", "reprompt_min=1"])
    assert r.exit_code == 0, (r.output, r.exception)
    lines = r.stdout.splitlines()
    prompts = [i for i, ln in enumerate(lines) if "  break prompt: " in ln]
    told = [i for i, ln in enumerate(lines) if "Stop any exercise that causes sharp pain." in ln]
    assert len(prompts) >= 2 and told == [prompts[0] + 1], lines
    first = lines[prompts[0]]
    assert first.endswith("try: torso twists (8 times on each side)")
    assert lines[told[0]] == (f"{first[:8]}  how to do torso twists: 'sensorback exercises show torso-twists'. "
                              "Stop any exercise that causes sharp pain.")
    assert CliRunner().invoke(app, ["exercises", "show", "torso-twists"]).exit_code == 0  # the command it names works


def test_todays_totals_count_overlapping_demos_once_as_the_report_does(env):
    """A sped-up demo is dated into the past, over the demo played just before it: the dashboard's
    'Today' counted both (seated 12 h by 07:30 after a few demos), where the report counts the
    newest session. Played twice, today's totals hold the time once, and what was stored before
    this session's first sample is what the report says of it."""
    from datetime import datetime, timedelta

    from sensorback.report import build_report, load_rows
    from sensorback.session.today import today_so_far

    store = open_store(str(env / "sb.db"))

    def play():
        s = LiveSession(DemoSource("demo", speed=5000), device_key="demo", store=store,
                        calibrations=CalibrationStore(env / "cal.json"),
                        recorder_kwargs={"max_epochs": 5000, "max_seconds": 600})
        asyncio.run(asyncio.wait_for(s.run(), DEADLINE_S))
        return s

    first = play()
    second = play()
    now = datetime.now().astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    day_first_s = sum(store.epochs(midnight, now).duration_s[store.epochs(midnight, now).session_id
                                                              == first.session_ids[0]])
    total = sum(second.meters.today_s.values())
    assert total <= 900.0 + 5.0 + 1e-6, dict(second.meters.today_s)  # once (5 s: the second starts later)
    assert total >= 900.0 - 1e-6 or day_first_s < 900.0  # unless the demo reaches back past midnight
    # the next session starts from today as the report counts it: the two demos' time once. Run
    # just after midnight, a demo is dated from 00:00 on and ends after the clock: count to its end.
    stored_today = store.epochs(midnight, midnight + timedelta(days=1))
    now = max(now, datetime.fromtimestamp(stored_today.origin + float(stored_today.t_end.max())).astimezone())
    stored = today_so_far(store, now=now)
    report = build_report(load_rows(store, now.date(), now.date()), now=now).to_dict()["totals"]
    assert sum(stored.seconds.values()) == pytest.approx(report["recorded_s"])
    assert {k: v for k, v in stored.seconds.items() if v} == pytest.approx(
        {k: v for k, v in report["states_s"].items() if v})
    store.close()


@pytest.mark.parametrize("flags, warned", [(["--bladder"], True), (["--numbness"], True), ([], False)])
def test_pain_check_ins_that_call_for_a_doctor_are_said_when_the_monitor_starts(env, noon_here, flags, warned):
    """The report suggests no exercise when today's check-ins call for a doctor; the monitor's break
    prompts name one all the same, so it says so at its start, once (a plain check-in: nothing).
    (At noon: logged before midnight, the check-in was not today's for a monitor or report after it.)"""
    from typer.testing import CliRunner

    from sensorback.cli.app import app

    assert CliRunner().invoke(app, ["log", "pain", "3", *flags]).exit_code == 0  # into $SENSORBACK_DB
    r = CliRunner().invoke(app, ["monitor", "--demo", "--speed", "20000", "--plain", "--db", str(env / "sb.db")])
    assert r.exit_code == 0, (r.output, r.exception)
    said = [ln for ln in r.stdout.splitlines() if "talk to a doctor before taking on more exercise" in ln]
    assert len(said) == (1 if warned else 0), r.stdout
    if warned:
        assert said[0] == ("--:--:--  Your pain check-ins show a warning sign: talk to a doctor before taking on "
                           "more exercise. 'sensorback report' shows them. Stop any exercise that causes sharp pain.")
        report = CliRunner().invoke(app, ["report", "--db", str(env / "sb.db")]).stdout
        assert "talk to a doctor before taking on more exercise" in " ".join(report.split())  # the same words


def test_a_settled_event_says_nothing_earlier_follows(env):
    """The promise run_plain orders by: after a 'settled' event at t, the session sends no event
    dated before t (but a lost connection or the end, said at once)."""
    from sensorback.ui.plain import SAID_AT_ONCE

    s = LiveSession(DemoSource("demo", speed=5000), settings=CoachSettings(sit_limit_min=2), device_key="demo",
                    calibrations=CalibrationStore(env / "cal.json"))
    seen = []
    s.subscribe(seen.append)
    asyncio.run(asyncio.wait_for(s.run(), DEADLINE_S))
    settled, late = -np.inf, []
    for e in seen:
        if e.kind == "settled":
            assert e.t >= settled
            settled = e.t
        elif e.t is not None and e.kind != "epochs" and not (e.kind == "status" and e.data.kind in SAID_AT_ONCE):
            if e.t < settled - 1e-9:
                late.append((e.kind, e.text, e.t, settled))
    assert not late, late[:5]
    assert settled >= 899 and sum(e.kind == "settled" for e in seen) > 5
    assert {"state", "coach", "calibration"} <= {e.kind for e in seen}


def test_in_time_order_holds_lines_until_settled():
    from sensorback.ui.plain import InTimeOrder

    out = []
    order = InTimeOrder(out.append)
    order.add(5.0, "state 5")
    order.add(None, "no time")          # not dated: at once
    order.add(3.0, "prompt 3")
    order.add(5.0, "nudge 5")           # equal times keep their order
    assert out == ["no time"]
    order.settle(4.0)
    assert out == ["no time", "prompt 3"]
    order.settle(2.0)                   # never back
    order.add(4.0, "at the settled time")
    assert out[-1] == "at the settled time"
    order.flush()
    assert out == ["no time", "prompt 3", "at the settled time", "state 5", "nudge 5"]


def _locking(db):
    """Another program's write transaction on the database (held until rollback())."""
    import sqlite3

    other = sqlite3.connect(str(db), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_database_locked_for_a_while_does_not_end_the_monitor(env):
    """A write that finds the database locked by another program (a DB browser with unsaved edits)
    keeps its epochs in memory and the session goes on; they are written once the lock is gone,
    so the session stores every epoch and ends as usual."""
    db = env / "sb.db"
    store = open_store(str(db), busy_timeout_s=0.2)
    src = HoldingSource(DemoSource("demo", speed=1000), lambda: s.meters.epochs >= 60)
    s = LiveSession(src, store=store, device_key="demo", calibrations=CalibrationStore(env / "cal.json"),
                    recorder_kwargs={"max_epochs": 5000, "max_seconds": 5})
    notes = []
    s.subscribe(lambda ev: notes.append(ev.text) if ev.kind == "note" else None)

    async def go():
        async def driver():
            await async_until(lambda: s.meters.epochs >= 60, "a minute of epochs")
            other = _locking(db)
            src.release()
            await async_until(lambda: any("locked" in n for n in notes), "a note that the database is locked")
            other.rollback()
            other.close()
        await asyncio.wait_for(asyncio.gather(s.run(), driver()), DEADLINE_S)

    asyncio.run(go())
    assert s.meters.epochs == 900  # the whole demo went on
    stored = store.epochs(0, 4e9)
    assert len(stored) == 900 and len(set(stored.t_start.tolist())) == 900
    assert s.session_ids and store.session(s.session_ids[0]).ended_at is not None
    said = [n for n in notes if "locked" in n]
    assert len(said) == 1 and "kept" in said[0], notes
    store.close()


def test_a_database_locked_to_the_end_says_what_was_not_stored(env):
    """Locked until the monitor ends: one error that says how many epochs could not be stored
    (not that they are 'kept for a retry': the process is about to exit)."""
    from sensorback.store import StoreError

    db = env / "sb.db"
    store = open_store(str(db), busy_timeout_s=0.2)
    src = HoldingSource(DemoSource("demo", speed=1000), lambda: s.meters.epochs >= 60)
    s = LiveSession(src, store=store, device_key="demo", calibrations=CalibrationStore(env / "cal.json"),
                    recorder_kwargs={"max_epochs": 5000, "max_seconds": 5})

    async def go():
        async def driver():
            await async_until(lambda: s.meters.epochs >= 60, "a minute of epochs")
            src.release()
            return _locking(db)
        return await asyncio.wait_for(asyncio.gather(s.run(), driver(), return_exceptions=True), DEADLINE_S)

    failure, other = asyncio.run(go())
    other.rollback()
    other.close()
    assert isinstance(failure, StoreError), failure
    written = len(store.epochs(0, 4e9))
    text = str(failure)
    assert "locked" in text and "kept for a retry" not in text, text
    assert f"{s.meters.epochs - written:,} epochs not stored" in text, (text, written, s.meters.epochs)
    store.close()


def test_a_stopped_demo_says_it_stopped_at_its_last_sample_sent():
    """The 'stopped' line is dated at the last sample the demo sent, not at the end of the next
    block it was waiting to play (up to a block later: the stored data ends before it)."""
    async def go():
        src = DemoSource("demo", speed=50, block_s=2.0)
        items = []
        stopping = None
        async for it in src:
            items.append(it)
            if stopping is None and sum(isinstance(i, SampleBlock) for i in items) == 3:
                # as Ctrl-C does: while the demo waits to play its next block
                stopping = asyncio.get_running_loop().create_task(src.stop())
        await stopping
        return items

    items = asyncio.run(asyncio.wait_for(go(), DEADLINE_S))
    blocks = [i for i in items if isinstance(i, SampleBlock)]
    stopped = items[-1]
    assert isinstance(stopped, SourceStatus) and stopped.kind == "stopped"
    assert len(blocks) >= 3 and stopped.t == float(blocks[-1].t[-1]), (stopped.t, float(blocks[-1].t[-1]))


class _ConnectedNoSamples:
    """A sensor that connects, sends ``blocks`` (none by default) and then nothing until it is
    stopped (the seconds before a real sensor's first notification, or before a calibration's first
    epoch)."""

    key = "silent"

    def __init__(self, blocks=()):
        self._stop = asyncio.Event()
        self.blocks = list(blocks)

    def __aiter__(self):
        return self._run()

    async def _run(self):
        yield SourceStatus("connected", "silent connected", values={"device": "silent"})
        for b in self.blocks:
            yield b
        await self._stop.wait()
        yield SourceStatus("stopped")

    async def stop(self) -> None:
        self._stop.set()


def test_a_monitor_stopped_before_its_first_epoch_is_stored(env):
    """Stopped (Ctrl-C, q, SIGTERM) after the sensor connected and before its first epoch: the
    session is stored all the same, from its start to its stop, without epochs; the summary says so
    in one line, and the report names it. Nothing was stored: no session row, and the report said
    'Nothing is recorded in the database yet' about a session the user ran."""
    from sensorback.report import build_report, load_rows, render_text

    store = open_store(str(env / "sb.db"))
    s = LiveSession(_ConnectedNoSamples(), store=store, calibrations=CalibrationStore(env / "cal.json"))

    async def go():
        run = asyncio.create_task(s.run())
        await async_until(lambda: s.meters.connection == "connected", "the sensor connected")
        before = time.time()
        await s.stop()
        await asyncio.wait_for(run, DEADLINE_S)
        return before

    connected = time.time()
    stopped = asyncio.run(go())
    done = time.time()
    assert s.summary("sb.db") == "stopped before the first epoch: nothing classified (session 1 in sb.db, without epochs)"
    (info,) = store.sessions(0, 4e9)
    assert info.id == 1 and info.device == "silent" and info.source == "live" and info.complete
    assert connected - 1 <= info.started_at.timestamp() <= stopped
    assert stopped <= info.ended_at.timestamp() <= done
    assert len(store.epochs(0, 4e9)) == 0
    day = info.started_at.astimezone().date()  # (not today: the session may have begun before midnight)
    report = build_report(load_rows(store, day, day), now=datetime.now(timezone.utc))
    text = render_text(report)
    store.close()
    assert not report.db_empty and "Nothing is recorded" not in text
    assert "was stopped before its first epoch: nothing was classified" in text
    assert [x["id"] for x in report.to_dict()["sessions_without_epochs"]] == [1]
    assert os.stat(env / "sb.db").st_mode & 0o777 == 0o600


@pytest.mark.parametrize("samples, classified", [(25, False), (150, True)])
def test_a_calibration_estimated_at_the_stop_is_said_only_if_it_classified_an_epoch(env, samples, classified):
    """Stopped before the provisional calibration's 30 s: the samples held so far are classified
    with one estimated from them, and said (before the first state, dated at the first sample) only
    if an epoch came of it. Half a second gives none, and the monitor said 'provisional calibration
    estimated from the first 0 s' of a calibration that was never used, beside 'nothing classified'."""
    from sensorback.sim import simulate

    block = simulate("demo", seed=3, duration_s=3)[0].slice(0, samples)  # 50 Hz: 0.5 s or 3 s
    store = open_store(str(env / "sb.db"))
    s = LiveSession(_ConnectedNoSamples([block.slice(i, i + 10) for i in range(0, len(block), 10)]),
                    store=store, calibrations=CalibrationStore(env / "cal.json"))
    said = []
    s.subscribe(said.append)

    async def go():
        run = asyncio.create_task(s.run())
        await async_until(lambda: s.meters.samples == len(block), "the samples")
        await s.stop()
        await asyncio.wait_for(run, DEADLINE_S)

    asyncio.run(go())
    stored = len(store.epochs(0, 4e9))
    store.close()
    assert s.calibration is not None and stored == s.stored_epochs
    cals = [e for e in said if e.kind == "calibration"]
    if not classified:
        assert stored == 0 and cals == [] and "provisional" not in "\n".join(s.meters.recent)
        assert s.summary("sb.db").startswith("stopped before the first epoch: nothing classified")
    else:
        assert stored >= 2  # the last, incomplete epoch is not decided at a stop
        (cal,) = cals
        assert cal.text.startswith(f"provisional calibration estimated from the first {block.duration_s:.0f} s")
        assert cal.t == float(block.t[0])
        kinds = [e.kind for e in said]
        assert kinds.index("calibration") < kinds.index("state")


def test_monitor_stopped_while_calibrating_keeps_its_session_and_recording(env):
    """SIGTERM in the first seconds of 'monitor --record' (samples have come, the provisional
    calibration waits for 30 s of them, so no epoch yet): exit 0 as for any stop, one line saying
    that nothing was classified, the session stored from its start to its stop without epochs, and
    the recording kept, valid and private. The session was stored as ending where it began, and the
    line said '0 epochs stored' and that no slouch was judged."""
    from conftest import wait_until

    rec = env / "r.sbr"
    cmd = [sys.executable, "-m", "sensorback.cli", "monitor", "--demo", "--plain", "--speed", "1", "--record", str(rec)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, env=dict(os.environ))
    try:
        wait_until(lambda: rec.exists() and rec.stat().st_size > 0 or proc.poll() is not None, "the first samples")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:  # pragma: no cover - only if the test fails
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    first = err.splitlines()[0]
    assert first.startswith("stopped before the first epoch: nothing classified (session 1 in "), err
    assert f"recording in {rec}" in first and "no slouch" not in first
    assert "provisional calibration" not in out, out  # none was in use: nothing was classified
    store = open_store(str(demo_db_path()))
    (info,) = store.sessions(0, 4e9)
    assert len(store.epochs(0, 4e9)) == 0
    store.close()
    samples = read_native(rec)
    assert len(samples) > 0
    assert info.ended_at.timestamp() - info.started_at.timestamp() == pytest.approx(float(samples.t[-1]), abs=1e-3)
    assert os.stat(rec).st_mode & 0o777 == 0o600 and os.stat(demo_db_path()).st_mode & 0o777 == 0o600
