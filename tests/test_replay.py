"""sensorback.replay: the source -> core -> coach -> store loop, without the command line.

Replaying must give exactly what batch analysis and the coach give (the calibration estimated like
analyze(), the StreamProcessor's epochs equal to analyze()'s, the events equal to run_coach()'s),
whatever the pace, block size or processor delay; a stop or a failure must still store what was
processed.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import numpy as np
import pytest

from sensorback.coach import run_coach
from sensorback.core import CoreOptions, analyze
from sensorback.errors import SensorbackError
from sensorback.core import calibrate
from sensorback.replay import (ReplayResult, block_seconds, check_pace, clock, event_line, event_text,
                               max_delay_seconds, replay, split_blocks)
from sensorback.samples import SampleBlock
from sensorback.store import StoreError, open_store
from conftest import busy_settings

BUSY = busy_settings()


@pytest.fixture(scope="module")
def batch(demo):
    """What analyze() and run_coach() say about the demo, all at once."""
    analysis = analyze(demo)
    return analysis, run_coach(analysis.epochs, BUSY)


def test_calibrate_is_what_analyze_estimates(demo, batch):
    calibration, notes = calibrate(demo, CoreOptions())
    assert calibration.to_dict() == batch[0].calibration.to_dict()
    assert notes == batch[0].notes


def test_calibrate_refuses_an_empty_recording():
    with pytest.raises(SensorbackError, match="no samples"):
        calibrate(SampleBlock(np.zeros(0), np.zeros((0, 3))), CoreOptions())


def test_replay_gives_the_batch_epochs_and_events(demo, batch, store_url):
    analysis, events = batch
    store = open_store(store_url)
    rec = store.recorder()
    calibration, _ = calibrate(demo, CoreOptions())
    rec.begin_session(device=demo.device, source="test", start=demo.start_time, rate_hz=demo.rate_hz,
                      calibration=calibration)
    seen = []
    result = replay(demo, CoreOptions(), BUSY, rec, on_event=seen.append, calibration=calibration)
    assert isinstance(result, ReplayResult) and not result.interrupted
    assert result.events == events == seen
    assert {e.kind for e in events} >= {"break_prompt", "slouch_nudge", "break_verified", "prompt_outcome"}
    assert result.epochs == result.stored_epochs == len(analysis.epochs)
    assert result.samples == len(demo)
    assert result.t_start == demo.t[0] and result.t_end == analysis.epochs.t_end[-1]
    assert set(result.timings) >= {"core", "coach", "store", "emit", "pace"} and result.wall_s > 0
    stored = store.epochs(0, 2e9)
    assert len(stored) == len(analysis.epochs)
    np.testing.assert_array_equal(stored.state, analysis.epochs.state)
    session = store.session(result.session_id)
    assert session.complete and session.calibration == analysis.calibration.to_dict()
    assert [(e.t, e.kind, e.detail) for e in store.events(0, 2e9)] == [(e.t, e.kind, e.detail) for e in events]
    store.close()


@pytest.mark.parametrize("block_s,delay", [(0.37, 0.0), (1.0, None), (10.0, 1800.0), (60.0, 7.0)])
def test_block_size_and_processor_delay_do_not_matter(demo, batch, block_s, delay):
    result = replay(demo, CoreOptions(), BUSY, None, block_s=block_s, max_delay_s=delay)
    assert result.calibration.to_dict() == batch[0].calibration.to_dict() and result.notes == batch[0].notes
    assert result.events == batch[1]
    assert result.epochs == len(batch[0].epochs)


def test_pacing_only_changes_when_events_come(demo, batch):
    speed = 3000.0
    t0 = float(demo.t[0])
    start = time.monotonic()
    seen = []
    result = replay(demo, CoreOptions(), BUSY, None, pace=speed,
                    on_event=lambda e: seen.append((e, time.monotonic() - start)))
    wall = time.monotonic() - start
    assert result.events == batch[1]
    assert wall >= demo.duration_s / speed * 0.98
    assert result.timings["pace"] > 0
    for event, at in seen:  # never told before its sample time is due at this pace
        assert at >= (event.t - 1.0 - t0) / speed - 0.01, (event, at)


def test_a_block_stream_needs_a_calibration(demo):
    with pytest.raises(ValueError, match="calibration"):
        replay(iter([demo]), CoreOptions(), BUSY, None)


def test_stop_keeps_what_was_processed_and_leaves_the_session_open(demo, tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    rec = store.recorder()
    rec.begin_session(device="d", source="s", start=demo.start_time, rate_hz=demo.rate_hz)
    seen = []
    result = replay(demo, CoreOptions(), BUSY, rec, block_s=2.0, max_delay_s=0.0, on_event=seen.append,
                    stop=lambda: bool(seen))
    assert result.interrupted and seen
    first = seen[0]
    assert first.t <= result.t_end < demo.t[-1]
    assert result.stored_epochs == result.epochs
    stored = store.epochs(0, 2e9)
    assert len(stored) == result.epochs and stored.time[-1] + stored.duration_s[-1] - demo.start_time >= first.t
    session = store.session(result.session_id)
    assert not session.complete
    assert [e.kind for e in store.events(0, 2e9)] == [e.kind for e in result.events]
    store.close()


def test_a_failing_callback_still_stores_what_was_processed(demo, tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    rec = store.recorder(max_epochs=100000, max_seconds=None)  # nothing written until a flush
    rec.begin_session(device="d", source="s", start=demo.start_time, rate_hz=demo.rate_hz)

    def boom(event):
        raise RuntimeError("callback broke")

    with pytest.raises(RuntimeError, match="callback broke"):
        replay(demo, CoreOptions(), BUSY, rec, block_s=5.0, max_delay_s=0.0, on_event=boom)
    stored = store.epochs(0, 2e9)
    assert len(stored) > 0
    assert len(store.events(0, 2e9)) >= 1  # the event whose callback failed was handed over first
    assert not store.sessions(0, 2e9)[0].complete
    store.close()


@pytest.mark.parametrize("second", ["before-the-last-write", "after-its-commit"])
def test_a_second_ctrl_c_says_whether_the_last_write_was_done(demo, tmp_path, monkeypatch, second):
    """Ctrl-C, then again while the first stop's work runs: before its last write, the replay stops
    without it and the result says cut_short, with what the store holds. Right after that write's
    commit (before the replay had noted what it wrote) it said cut_short too, and the line then told
    of epochs and events not stored that were: everything processed is stored, and the result
    says so, with the store's own figures."""
    import os
    import signal

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("Ctrl-C is handled by someone else here")
    store = open_store(str(tmp_path / "s.db"))
    rec = store.recorder(max_epochs=100000, max_seconds=None)  # nothing written until a flush
    rec.begin_session(device="d", source="s", start=demo.start_time, rate_hz=demo.rate_hz)
    flush, stopping = rec.flush, []

    def first_stop(event):  # Ctrl-C as the first event is told
        if not stopping:
            stopping.append(event)
            os.kill(os.getpid(), signal.SIGINT)

    def flush_then_again(**kwargs):  # the stop's last write, and Ctrl-C once more, before or after it
        if second == "before-the-last-write":
            raise KeyboardInterrupt
        flush(**kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(rec, "flush", flush_then_again)
    result = replay(demo, CoreOptions(), BUSY, rec, block_s=2.0, max_delay_s=0.0, on_event=first_stop)
    assert stopping and result.interrupted and result.stopped_by == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is back
    epochs, events = store.epochs(0, 2e9), store.events(0, 2e9)
    assert result.stored_epochs == len(epochs) == rec.written_epochs
    if second == "before-the-last-write":
        assert result.cut_short and len(epochs) == 0 and result.epochs > 0 and result.session_id is None
    else:
        assert not result.cut_short and len(epochs) == result.epochs > 0 and len(events) == len(result.events)
        assert result.session_id == rec.session_id is not None
    store.close()


class _BrokenRecorder:
    """A recorder whose database fails: replay must not retry a flush that would only fail again."""

    def __init__(self):
        self.flushes = 0
        self.written_epochs = 0
        self.pending = 0
        self.session_id = None

    def add_epochs(self, table):
        raise StoreError("database x is locked by another program")

    def add_events(self, events):
        pass

    def flush(self):
        self.flushes += 1

    def end_session(self):  # pragma: no cover - never reached
        return None


def test_a_store_failure_is_not_retried(demo):
    rec = _BrokenRecorder()
    with pytest.raises(StoreError, match="locked"):
        replay(demo, CoreOptions(), BUSY, rec, max_delay_s=0.0)
    assert rec.flushes == 0


def test_snoozes_are_queued_before_the_start(demo, batch):
    result = replay(demo, CoreOptions(), BUSY, None, snoozes=[(100.0, 3.0)])
    assert result.events == run_coach(batch[0].epochs, BUSY, snoozes=[(100.0, 3.0)])
    assert "snoozed" in {e.kind for e in result.events}


def test_split_blocks_covers_every_sample_once(demo):
    parts = list(split_blocks(demo, 7.5))
    assert all(p.t[-1] - p.t[0] < 7.5 for p in parts)
    np.testing.assert_array_equal(np.concatenate([p.t for p in parts]), demo.t)
    assert list(split_blocks(SampleBlock(np.zeros(0), np.zeros((0, 3))), 1.0)) == []


def test_pace_and_block_choices():
    assert check_pace(None) is None and check_pace(50) == 50.0 and check_pace(0.1) == 0.1
    for bad in (0, -1, float("nan"), float("inf"), True, "50", 1e-9, 0.09):
        with pytest.raises(SensorbackError, match="^speed: must be "):
            check_pace(bad)
    with pytest.raises(SensorbackError, match=r"^speed: must be at least 0.1 times real time \(slower shows nothing "
                                              r"more: each 1 s epoch would stay over 10 s on screen\), got 1e-09$"):
        check_pace(1e-9)
    assert block_seconds(None) == 10.0 and block_seconds(1) == 1.0 and block_seconds(2000) == 10.0
    assert max_delay_seconds(None) == 1800.0 and max_delay_seconds(1) == pytest.approx(0.1)


def test_the_sources_take_the_same_speed_floor_as_the_command_line(tmp_path):
    """FileSource and DemoSource, used without the command line, refuse what --speed refuses
    (limits.speed_problem): a tiny speed is a hang, not a slow replay."""
    from sensorback.limits import MIN_SPEED
    from sensorback.sources.demo import DemoSource
    from sensorback.sources.files import FileSource

    recording = tmp_path / "r.sbr"  # (refused before it is opened)
    for make in (lambda speed: FileSource(recording, speed=speed), lambda speed: DemoSource("demo", speed=speed)):
        with pytest.raises(SensorbackError, match=r"speed: must be at least 0.1 times real time .*, got 1e-09$"):
            make(1e-9)
        with pytest.raises(SensorbackError, match=r"speed: must be a positive number \(times real time\), got 0$"):
            make(0)
    assert DemoSource("demo", speed=MIN_SPEED).speed == MIN_SPEED

def test_event_lines(batch):
    assert clock(1862.4) == "00:31:02" and clock(90061) == "25:01:01" and clock(-5) == "-00:00:05"
    by_kind = {e.kind: e for e in batch[1]}
    prompt = event_line(by_kind["break_prompt"])
    # recordings/demo.labels.csv: sitting from 51.7 s; the first whole sitting epoch starts at 52 s
    assert prompt.startswith("00:02:52  break prompt: you have been sitting 2 min — try: ")
    assert event_text(by_kind["slouch_nudge"]).startswith("slouch nudge: slouched for 1 min")
    # the demo wearer slouches on for five minutes before getting up
    assert event_text(by_kind["prompt_outcome"]) == "break prompt of 00:02:52: ignored"


def test_options_reach_the_core(demo):
    options = CoreOptions(slouch_threshold_deg=35.0)
    result = replay(demo, options, BUSY, None)
    assert result.epochs == len(analyze(demo, options).epochs)
    assert result.events == run_coach(analyze(demo, options).epochs, BUSY)
    assert asdict(options)["slouch_threshold_deg"] == 35.0
