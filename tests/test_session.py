"""One runner under live and replay (sensorback.session), the file source, and open_source.

The bar of issue 12: the same blocks through the live path (LiveSession, as ``sensorback monitor``
runs it) and through the replay path (replay(), as ``sensorback replay`` runs it) give identical
epochs, events and database rows, in SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, fields

import numpy as np
import pytest
from sqlalchemy import select

from sensorback import formats
from sensorback.core import CoreOptions, EpochTable, calibrate
from sensorback.errors import InputError, SensorbackError
from sensorback.live import LiveSession
from sensorback.replay import replay, split_blocks
from sensorback.samples import SampleBlock
from sensorback.sources import SourceStatus, open_source
from sensorback.sources.files import FileSource, split_stream
from sensorback.store import models, open_store
from conftest import DEADLINE_S, DEMO, busy_settings

BUSY = busy_settings()


@pytest.fixture(scope="module")
def cut(demo, tmp_path_factory):
    """The demo's first 7 minutes, ending half-way through an epoch and while the first break
    prompt still waits for its outcome: the end of the data has something to settle."""
    path = tmp_path_factory.mktemp("cut") / "cut.sbr"
    formats.save(demo.between(0, 420.5), path)
    return path


def session_rows(url: str) -> dict[int, dict[str, list[dict]]]:
    """Every stored row, by session, without ids and what names the writer and the wall clock."""
    skip = {"id", "session_id", "event_id", "created_at", "writer", "lease_until"}
    store = open_store(url)
    out: dict[int, dict[str, list[dict]]] = {}
    try:
        with store.engine.connect() as conn:
            for s in conn.execute(select(models.Session).order_by(models.Session.id)):
                out[s.id] = {"sessions": [{k: v for k, v in s._mapping.items() if k not in skip}]}
            for model, order in ((models.Epoch, models.Epoch.t_start), (models.Bout, models.Bout.t_start),
                                 (models.Event, models.Event.id)):
                cols = [c for c in model.__table__.columns if c.name not in skip]
                for sid in out:
                    rows = conn.execute(select(*cols).where(model.session_id == sid).order_by(order))
                    out[sid][model.__tablename__] = [dict(r._mapping) for r in rows]
    finally:
        store.close()
    return out


def same_epochs(a: EpochTable, b: EpochTable) -> None:
    assert len(a) == len(b)
    for f in fields(EpochTable):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)


def test_live_and_replay_give_the_same_epochs_events_and_rows(demo, cut, store_url):
    options = CoreOptions()
    calibration, _ = calibrate(demo, options)  # as 'sensorback calibrate' would have stored it
    store = open_store(store_url)
    try:
        # live: the blocks as a source, through a LiveSession (sensorback monitor's path)
        live = LiveSession(FileSource(cut), options=options, settings=BUSY, store=store, calibration=calibration,
                           source_name="test")
        live_events = []
        live.subscribe(live_events.append)
        asyncio.run(asyncio.wait_for(live.run(), DEADLINE_S))

        # replay: the same blocks through replay() (sensorback replay's path)
        first = next(iter(FileSource(cut).blocks()))
        rec = store.recorder()
        rec.begin_session(device=first.device, source="test", start=first.start_time, rate_hz=first.rate_hz,
                          epoch_s=options.epoch_s, calibration=calibration, options=asdict(options))
        replay_epochs = []
        result = replay(FileSource(cut).blocks(), options, BUSY, rec, calibration=calibration,
                        on_epochs=replay_epochs.append)
    finally:
        store.close()

    # the live session kept its calibration (nothing to learn) and ran to the end of the data
    assert live.calibration == calibration and not live.stop_requested
    assert not result.interrupted

    live_epochs = [ev.data for ev in live_events if ev.kind == "epochs"]
    same_epochs(EpochTable.concat(live_epochs), EpochTable.concat(replay_epochs))
    # the source's 'stopped' is said last, after the state changes the end of the data decided
    # (a pipe used to show '00:07:00 stopped' above an earlier state line)
    assert live_events[-1].kind == "status" and live_events[-1].data.kind == "stopped"
    lines = [ev for ev in live_events if ev.kind in ("state", "status")]
    assert [ev.t for ev in lines] == sorted(ev.t for ev in lines)
    assert result.epochs == live.meters.epochs == 421  # the last, half epoch too
    assert live.events == result.events
    # a nudge and a prompt, and the prompt's outcome settled at the end of the data
    assert [(e.kind, e.outcome) for e in result.events] == [
        ("slouch_nudge", None), ("break_prompt", None), ("prompt_outcome", "unknown")]

    rows = session_rows(store_url)
    assert list(rows) == live.session_ids + [result.session_id]
    live_rows, replay_rows = rows[live.session_ids[0]], rows[result.session_id]
    assert len(live_rows["epochs"]) == 421 and len(live_rows["events"]) == 3 and live_rows["bouts"]
    assert live_rows["sessions"][0]["ended_at"] is not None
    assert live_rows == replay_rows


def test_a_stopped_live_session_keeps_the_complete_epochs_only(demo, tmp_path):
    """Stopping is not the end of the data (a replay's Ctrl-C neither): the epochs complete so far
    are stored and the session ended, the coach settles nothing it could still have learned."""
    calibration, _ = calibrate(demo, CoreOptions())
    store = open_store(str(tmp_path / "s.db"))
    s = LiveSession(FileSource(DEMO), settings=BUSY, store=store, calibration=calibration)

    async def go():
        async def stopper():
            while not s.events:  # the first nudge
                await asyncio.sleep(0.001)
            await s.stop()
        await asyncio.wait_for(asyncio.gather(s.run(), stopper()), DEADLINE_S)

    asyncio.run(go())
    assert s.stop_requested and s.session_ids
    stored = store.epochs(0, 4e9)
    assert len(stored) == s.meters.epochs < 900
    assert np.all(stored.duration_s == 1.0)  # whole epochs only
    assert "prompt_outcome" not in [e.kind for e in s.events]
    assert store.session(s.session_ids[0]).ended_at is not None
    store.close()


# ------------------------------------------------------------------------------ the file source


def gappy(demo: SampleBlock) -> SampleBlock:
    """The demo with an hour's and three days' pause in it (gaps longer than limits.MAX_GAP_S)."""
    t = demo.t.copy()
    t[20000:] += 3600.0
    t[30000:] += 3 * 86400.0
    return SampleBlock(t, demo.acc, device=demo.device, rate_hz=demo.rate_hz, start_time=demo.start_time)


@pytest.mark.parametrize("block_s", [0.37, 1.0, 10.0, 60.0])
@pytest.mark.parametrize("chunk", [7, 500, 4096, 1 << 20])
def test_the_blocks_do_not_depend_on_how_the_file_is_read(demo, block_s, chunk):
    """A recording read in chunks is cut into exactly the blocks of the whole recording (one grid
    per stretch, however the chunks fall)."""
    for recording in (demo, gappy(demo)):
        whole = list(split_blocks(recording, block_s))
        chunks = [recording.slice(i, i + chunk) for i in range(0, len(recording), chunk)]
        streamed = list(split_stream(chunks, block_s))
        assert len(streamed) == len(whole)
        for a, b in zip(streamed, whole):
            np.testing.assert_array_equal(a.t, b.t)
            np.testing.assert_array_equal(a.acc, b.acc)
        np.testing.assert_array_equal(np.concatenate([b.t for b in streamed]), recording.t)


@pytest.mark.filterwarnings("ignore::sensorback.formats.FormatWarning")  # the long gaps, said on reading
def test_a_file_source_reads_in_chunks_or_whole_alike(demo, tmp_path):
    path = tmp_path / "gappy.sbr"
    formats.save(gappy(demo), path)
    streamed = list(FileSource(path, chunk_samples=3000).blocks())
    source = FileSource(path)
    source.load()
    whole = list(source.blocks())
    assert len(streamed) == len(whole) > 90
    for a, b in zip(streamed, whole):
        np.testing.assert_array_equal(a.t, b.t)
        np.testing.assert_array_equal(a.acc, b.acc)
        assert (a.device, a.rate_hz, a.start_time) == (b.device, b.rate_hz, b.start_time)


def test_a_file_source_is_a_paced_live_source(demo):
    """As a live Source: 'connected', the blocks at their sample time's moment at the given
    speed, 'stopped' at the end; stop() ends it early."""
    speed = 3000.0

    async def go(stop_after=None):
        src = FileSource(DEMO, speed=speed)
        items, begun = [], time.monotonic()
        async for item in src:
            items.append((item, time.monotonic() - begun))
            if stop_after is not None and sum(isinstance(i, SampleBlock) for i, _ in items) == stop_after:
                await src.stop()
        return items

    items = asyncio.run(asyncio.wait_for(go(), DEADLINE_S))
    statuses = [i for i, _ in items if isinstance(i, SourceStatus)]
    assert [s.kind for s in statuses] == ["connected", "stopped"]
    assert statuses[0].values["device"] == demo.device
    blocks = [(i, at) for i, at in items if isinstance(i, SampleBlock)]
    np.testing.assert_array_equal(np.concatenate([b.t for b, _ in blocks]), demo.t)
    t0 = float(demo.t[0])
    for block, at in blocks:  # never handed over before it is due
        assert at >= (float(block.t[-1]) - t0) / speed - 0.01
    assert blocks[-1][1] >= demo.duration_s / speed * 0.98

    stopped = asyncio.run(asyncio.wait_for(go(stop_after=3), DEADLINE_S))
    assert sum(isinstance(i, SampleBlock) for i, _ in stopped) == 3
    assert stopped[-1][0].kind == "stopped"


def test_open_source_chooses_in_one_place(tmp_path):
    src = open_source(file=DEMO, speed=50)
    assert isinstance(src, FileSource) and src.speed == 50.0 and src.key is None
    with pytest.raises(InputError, match="unknown file type"):
        open_source(file=tmp_path / "notes.doc")
    demo = open_source(demo=True, speed=30, seed=2)
    assert (demo.scenario, demo.speed, demo.seed, demo.key) == ("demo", 30.0, 2, "demo-seed2")  # its own seed's calibrations
    with pytest.raises(SensorbackError, match="only with --demo"):
        open_source(device="AA:BB", speed=30)
