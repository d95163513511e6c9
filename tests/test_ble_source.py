"""BleSource end to end through bleak's real BleakScanner/BleakClient on the virtual radio.

scan -> connect -> start writes -> notifications -> decode -> sample times -> core -> coach ->
store (SQLite), with a peripheral-initiated disconnect mid-stream, a sensor that stays silent for
a while (failed scans, exponential backoff), a reconnection, and stop() sending the stop write.
What the radio must hear is waited for, not raced: a scan that must find a sensor gets DEADLINE_S
(it ends as soon as the sensor is heard), and a sensor kept away for failed scans comes back when
the test has seen them, not after a fixed time.
The virtual sensors play a simulated wearer ('demo') at SPEED times real time, and the source's
clock is warped by the same factor, so a minute of wearing takes about a second.
"""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Callable
from dataclasses import asdict

import numpy as np
import pytest

from sensorback.ble.testing import VirtualClientBackend, VirtualRadio, VirtualScannerBackend
from sensorback.ble.testing.microbit import MicrobitAccelerometer, encode_accelerometer_data
from sensorback.ble.testing.polar import PolarH10
from sensorback.core import CoreOptions, analyze
from sensorback.core.states import STATES
from sensorback.core import calibrate
from sensorback.replay import replay
from sensorback.samples import SampleBlock
from sensorback.sim import simulate
from sensorback.sources import SourceStatus
from sensorback.sources.ble import BleSource, backoff_delays
from sensorback.store import open_store
from conftest import DEADLINE_S, async_until

SPEED = 50.0
NO_DATA = STATES.index("no_data")
#: BleSource.scan() listens for a fixed time and the test wants every sensor on the air in its
#: answer: a few seconds, 150 of the virtual sensors' 20 ms advertising intervals.
SCAN_WINDOW_S = 3.0
#: How long a scan lasts while the test keeps the sensor away, so that it fails.
AWAY_SCAN_S = 0.2


def microbit_rows(acc: np.ndarray) -> np.ndarray:
    """Acceleration (g) as a micro:bit sends it: whole milli-g, int16."""
    return np.clip(np.round(acc * 1000), -32768, 32767).astype(np.int16)


def run(scenario, timeout: float = DEADLINE_S):
    async def guarded():
        async with asyncio.timeout(timeout):
            return await scenario()

    return asyncio.run(guarded())


def warped_clock(speed: float):
    t0 = time.monotonic()
    return lambda: (time.monotonic() - t0) * speed


def virtual(radio, **kwargs) -> dict:
    return dict(scanner_kwargs={"backend": VirtualScannerBackend, "radio": radio},
                client_kwargs={"backend": VirtualClientBackend, "radio": radio}, **kwargs)


class FastMicrobit(MicrobitAccelerometer):
    """The virtual micro:bit at `speed` times real time, `burst` notifications per wake-up (a BLE
    connection event delivers several), on absolute deadlines (no drift); records its CCCD writes;
    drop_after(n, back) hangs up after n more notifications (calling on_drop() just before) and
    stays silent (not advertising) until the event `back` is set; hang_after(n) stops notifying
    after n more but keeps the connection (a firmware hang), until a new subscription starts the
    stream again where it stopped."""

    def __init__(self, rows, *, speed: float, burst: int = 10, **kwargs):
        super().__init__(rows, **kwargs)
        self.speed, self.burst = speed, burst
        self.subscriptions: list[bool] = []
        self._drop: tuple[int, asyncio.Event, Callable[[], None]] | None = None
        self._hang: int | None = None

    def on_subscription(self, characteristic, notify, indicate):
        if characteristic is self.data_characteristic:
            self.subscriptions.append(notify)
        super().on_subscription(characteristic, notify, indicate)

    def drop_after(self, n: int, back: asyncio.Event, on_drop: Callable[[], None] = lambda: None) -> None:
        self._drop = (n, back, on_drop)

    def hang_after(self, n: int) -> None:
        self._hang = n

    async def _run_stream(self, connection):
        loop = asyncio.get_running_loop()
        start, k = loop.time(), 0
        while self.cursor < len(self.samples):
            k += 1
            await asyncio.sleep(max(0.0, start + k * self.burst * self.period_ms / 1000 / self.speed - loop.time()))
            for _ in range(self.burst):
                if self.cursor >= len(self.samples):
                    break
                value = encode_accelerometer_data(*(int(v) for v in self.samples[self.cursor]))
                self.cursor += 1
                self.notifications_sent += 1
                await self.device.notify_subscriber(connection, self.data_characteristic, value)
                if self._drop is not None:
                    n, back, on_drop = self._drop
                    self._drop = (n - 1, back, on_drop) if n > 1 else None
                    if n == 1:
                        self._stream = None
                        self._advertising_wanted = False
                        on_drop()
                        self.spawn(self._come_back(back))
                        await asyncio.shield(self.disconnect())
                        return
                if self._hang is not None:
                    self._hang = self._hang - 1 if self._hang > 1 else None
                    if self._hang is None:
                        self._stream = None  # silent from here, still connected
                        return
        self.exhausted.set()
        self._stream = None

    async def _come_back(self, back: asyncio.Event):
        await back.wait()
        await asyncio.shield(self.start_advertising())


class LivePipeline:
    """Source items -> (a thread running sensorback.replay.replay: core -> coach -> store).
    The session begins at the first block, with the block's start_time. on_status(status), if
    given, is called as each status arrives (after it is added to `statuses`)."""

    def __init__(self, store, options: CoreOptions, calibration,
                 on_status: Callable[[SourceStatus], None] | None = None):
        self.store, self.options, self.calibration = store, options, calibration
        self.on_status = on_status
        self.q: queue.Queue = queue.Queue()
        self.recorder = store.recorder()
        self.blocks: list[SampleBlock] = []
        self.statuses: list[SourceStatus] = []
        self.start_time = None

    def _blocks(self):
        while (block := self.q.get()) is not None:
            if self.start_time is None:
                self.start_time = block.start_time
                self.recorder.begin_session(device=block.device, source="live", start=block.start_time,
                                            rate_hz=block.rate_hz, epoch_s=self.options.epoch_s,
                                            calibration=self.calibration, options=asdict(self.options))
            yield block

    async def run(self, source) -> object:
        worker = asyncio.ensure_future(asyncio.to_thread(
            replay, self._blocks(), self.options, None, self.recorder, calibration=self.calibration,
            max_delay_s=self.options.epoch_s, catch_sigint=False))
        try:
            async for item in source:
                if isinstance(item, SampleBlock):
                    assert not self.blocks or item.t[0] > self.blocks[-1].t[-1]
                    self.blocks.append(item)
                    self.q.put(item)
                else:
                    self.statuses.append(item)
                    if self.on_status is not None:
                        self.on_status(item)
        finally:
            self.q.put(None)
        return await worker

    def kinds(self) -> list[str]:
        return [s.kind for s in self.statuses]


def check_store_against_analyze(pipe: LivePipeline, result, options, calibration):
    """The stored epochs are exactly what analyze() gives for the samples received: none lost on
    either side of the gap, and the outage stored as no_data epochs. Returns (gap_start, gap_end)."""
    received = SampleBlock.concat(pipe.blocks)
    expected = analyze(received, options, calibration).epochs
    series = pipe.store.epochs(pipe.start_time - 10, pipe.start_time + 10 * 86400)
    assert len(series) == len(expected) == result.stored_epochs
    np.testing.assert_allclose(series.time - pipe.start_time, expected.t_start, atol=1e-5)
    assert series.state.tolist() == [int(s) for s in expected.state]
    np.testing.assert_allclose(series.duration_s[:-1], options.epoch_s, atol=1e-5)  # contiguous: none missing
    # the outage: the longest pause between samples, covered by no_data epochs in the store
    t = received.t
    i = int(np.argmax(np.diff(t)))
    gap_start, gap_end = float(t[i]), float(t[i + 1])
    inside = (series.time - pipe.start_time >= np.ceil(gap_start)) & (series.time - pipe.start_time + 1 <= gap_end)
    assert inside.sum() >= int(gap_end - gap_start) - 2
    assert (series.state[inside] == NO_DATA).all()
    # on both sides of it the wearer's own states (which ones depends on the arrival times the
    # source stamped: on a loaded machine a demo's walk can read as standing; exact agreement with
    # analyze() of the same samples is checked above)
    before = series.time - pipe.start_time < gap_start
    after = series.time - pipe.start_time >= gap_end
    assert (series.state[before] != NO_DATA).any() and (series.state[after] != NO_DATA).any()
    return gap_start, gap_end


def check_gap_promises(pipe: LivePipeline):
    """No sample is stamped at or before a gap_until announced before it."""
    promised = -np.inf
    order = []
    # rebuild the interleaving from the statuses' positions: each status carries t = last sample
    for s in pipe.statuses:
        if s.gap_until is not None:
            assert s.t is None or s.gap_until >= s.t
            order.append(s.gap_until)
    if order:
        promised = max(order)
    after = [b for b in pipe.blocks if b.t[0] > promised]
    assert after, "samples arrived after the reconnection"


def test_microbit_end_to_end_drop_reconnect_and_stop(tmp_path):
    sim, _ = simulate("demo", duration_s=75, gaps=False)
    rows = microbit_rows(sim.acc)
    options = CoreOptions()
    calibration, _ = calibrate(sim, options)

    async def scenario():
        async with VirtualRadio() as radio:
            sensor = await radio.add_peripheral(FastMicrobit(rows, speed=SPEED, name="BBC micro:bit [zezit]"))
            # every scan that must find the sensor may take as long as it needs (it ends on hearing it)
            source = BleSource(device="zezit", clock=warped_clock(SPEED), scan_timeout_s=DEADLINE_S,
                               backoff_s=(0.05, 0.4), **virtual(radio))
            back = asyncio.Event()

            def gone() -> None:  # from the hang-up on, until `back`, the scans are to fail: short ones
                source.scan_timeout_s = AWAY_SCAN_S

            def on_status(status: SourceStatus) -> None:
                # the sensor comes back once the source has failed to find it and said so twice
                # (the first 'reconnecting' follows the hang-up, the second a failed scan)
                if status.kind == "reconnecting" and pipe.kinds().count("reconnecting") == 2:
                    source.scan_timeout_s = DEADLINE_S
                    back.set()

            # hang up at 36 s of wearing, and stay away for a failed scan: 0.05 + 0.2 + 0.1 s of
            # backoff and scanning at least, about 17 s of wearing
            sensor.drop_after(1800, back, on_drop=gone)
            found = await source.scan(SCAN_WINDOW_S)
            assert [(f.name, f.address, f.rssi, f.profile) for f in found] == [
                ("BBC micro:bit [zezit]", "F0:0B:17:00:00:01", -60, "microbit")]

            async def stop_when_done():
                await sensor.exhausted.wait()
                while source.stats["samples"] < len(rows):
                    await asyncio.sleep(0.01)
                await source.stop()
                assert sensor.subscriptions[-1] is False  # the stop step (unsubscribe) reached the board

            with open_store(f"sqlite:///{tmp_path / 'sb.db'}") as store:
                pipe = LivePipeline(store, options, calibration, on_status=on_status)
                stopper = asyncio.ensure_future(stop_when_done())
                result = await pipe.run(source)
                await stopper
                return pipe, result, source, sensor, store

    pipe, result, source, sensor, _ = run(scenario)
    with open_store(f"sqlite:///{tmp_path / 'sb.db'}") as store:
        pipe.store = store
        gap_start, gap_end = check_store_against_analyze(pipe, result, options, calibration)
    received = SampleBlock.concat(pipe.blocks)
    # every row arrived once, in order, across the drop (this emulator never skips a row)
    np.testing.assert_array_equal(received.acc, rows.astype(np.float32) / np.float32(1000))
    # the outage shows as the time the sensor was away: at least the backoff and the failed scan
    # (0.35 s = 17.5 s of wearing), and no more than the arrival times say (warped clock: load on
    # the machine lengthens it) plus the host clock's half-second allowance for stamping a sample
    # before its arrival
    arrived = {float(b.t[j]): b.meta["received_at"] for b in pipe.blocks for j in (0, -1)}
    assert 10 < gap_end - gap_start <= arrived[gap_end] - arrived[gap_start] + 0.5 + 1e-6
    kinds = pipe.kinds()
    assert kinds[:4] == ["scanning", "connecting", "connected", "signal"]
    assert kinds[-1] == "stopped" and kinds.count("connected") == 2 and kinds.count("disconnected") == 1
    disc = pipe.statuses[kinds.index("disconnected")]
    assert disc.gap_until is not None and disc.gap_until >= gap_start - 1e-9 and disc.gap_until < gap_end
    recon = [s for s in pipe.statuses if s.kind == "reconnecting"]
    assert len(recon) >= 2 and all(s.gap_until < gap_end for s in recon)
    delays = [s.values["delay_s"] for s in recon]
    assert delays[:2] == [0.05, 0.1] and all(b == min(2 * a, 0.4) for a, b in zip(delays, delays[1:]))
    assert [s.gap_until for s in recon] == sorted(s.gap_until for s in recon)
    assert source.stats["samples"] == len(rows) and source.stats["dropped_samples"] == 0
    assert source.stats["disconnections"] == 1 and source.stats["connections"] == 2
    check_gap_promises(pipe)


def test_polar_h10_end_to_end_device_clock_drop_reconnect_and_stop(tmp_path):
    sim, _ = simulate("demo", duration_s=150, gaps=False)
    options = CoreOptions()
    calibration, _ = calibrate(sim, options)
    rate = 50.0

    async def scenario():
        async with VirtualRadio() as radio:
            polar = await radio.add_peripheral(PolarH10(sim.acc, speed=SPEED))
            polar.disconnect_after(60, silent_s=0.3)   # 60 frames = 43 s of wearing
            source = BleSource("polar-h10", clock=warped_clock(SPEED), scan_timeout_s=0.1,
                               backoff_s=(0.05, 0.4), **virtual(radio))

            async def stop_when_done():
                await polar.exhausted.wait()
                sent = sum(len(i) for i in polar.sent_index)
                while source.stats["samples"] < sent:
                    await asyncio.sleep(0.01)
                await source.stop()

            with open_store(f"sqlite:///{tmp_path / 'sb.db'}") as store:
                pipe = LivePipeline(store, options, calibration)
                stopper = asyncio.ensure_future(stop_when_done())
                result = await pipe.run(source)
                await stopper
                return pipe, result, source, polar

    pipe, result, source, polar = run(scenario)
    # the strap saw: start (range 4 g, 50 Hz, 16 bit) on each connection, then the stop command
    start = bytes.fromhex("0202 0201 0400 0001 3200 0101 1000")
    assert polar.control_writes == [start, start, bytes([0x03, 0x02])]
    assert polar.responses[-1] == bytes([0xF0, 0x03, 0x02, 0x00, 0x00])
    assert not polar.streaming
    with open_store(f"sqlite:///{tmp_path / 'sb.db'}") as store:
        pipe.store = store
        gap_start, gap_end = check_store_against_analyze(pipe, result, options, calibration)
    received = SampleBlock.concat(pipe.blocks)
    sent = np.concatenate(polar.sent_index)
    # every sample the strap sent arrived once, in order; the ones it took while disconnected are lost
    np.testing.assert_array_equal(received.acc, polar.samples_mg[sent].astype(np.float32) / np.float32(1000))
    lost = int(np.max(np.diff(sent))) - 1
    assert lost > 5 * rate
    # sample times follow the device clock: spacing = device spacing (the gap too), give or take the
    # clock map's small re-anchoring to faster deliveries
    device_t = sent / rate
    np.testing.assert_allclose(np.diff(received.t), np.diff(device_t), atol=0.05)
    np.testing.assert_allclose(gap_end - gap_start, (lost + 1) / rate, atol=0.1)
    assert received.meta.get("clock") == "device"
    kinds = pipe.kinds()
    assert kinds[-1] == "stopped" and kinds.count("connected") == 2 and kinds.count("disconnected") == 1
    assert source.stats["decode_errors"] == 0 and source.stats["dropped_samples"] == 0
    check_gap_promises(pipe)


def test_a_sensor_that_stops_notifying_but_stays_connected_is_connected_again():
    """The link stays up but no data comes: after stall_s the source drops the link (sending the
    stop write, as for any stop), reconnects, subscribes again, and every sample arrives once."""
    sim, _ = simulate("demo", duration_s=30, gaps=False)
    rows = microbit_rows(sim.acc)

    async def scenario():
        async with VirtualRadio() as radio:
            sensor = await radio.add_peripheral(FastMicrobit(rows, speed=SPEED, name="BBC micro:bit [gupog]"))
            sensor.hang_after(400)  # 8 s of wearing, then silence
            source = BleSource(device="gupog", clock=warped_clock(SPEED), scan_timeout_s=0.5,
                               backoff_s=(0.05, 0.4), stall_s=0.5, **virtual(radio))
            blocks, statuses = [], []
            async for item in source:
                if isinstance(item, SampleBlock):
                    blocks.append(item)
                    if source.stats["samples"] >= len(rows):
                        await source.stop()
                else:
                    statuses.append(item)
            return source, sensor, blocks, statuses

    source, sensor, blocks, statuses = run(scenario)
    received = SampleBlock.concat(blocks)
    np.testing.assert_array_equal(received.acc, rows.astype(np.float32) / np.float32(1000))
    assert source.stats["stalls"] >= 1 and source.stats["connections"] >= 2
    stalled = [s for s in statuses if s.kind == "disconnected" and "no data" in s.detail]
    assert stalled and stalled[0].gap_until is not None
    assert sensor.subscriptions.count(False) >= 1  # the stall's stop step reached the board
    assert statuses[-1].kind == "stopped" and np.all(np.diff(received.t) > 0)


def test_every_drop_after_samples_flowed_waits_the_first_delay_again():
    """Two stalls in one session, each after minutes of data: the reconnection after each waits the
    backoff's first delay (a drop raises out of the attempt, and the backoff used to go on from the
    earlier drop's delays, up to the 30 s cap over a long day)."""
    sim, _ = simulate("demo", duration_s=40, gaps=False)
    rows = microbit_rows(sim.acc)

    async def scenario():
        async with VirtualRadio() as radio:
            sensor = await radio.add_peripheral(FastMicrobit(rows, speed=SPEED, name="BBC micro:bit [gupog]"))
            sensor.hang_after(400)  # 8 s of wearing, then silence
            source = BleSource(device="gupog", clock=warped_clock(SPEED), scan_timeout_s=DEADLINE_S,
                               backoff_s=(0.05, 0.4), stall_s=0.5, **virtual(radio))
            statuses, connected = [], 0
            async for item in source:
                if isinstance(item, SampleBlock):
                    if source.stats["samples"] >= len(rows):
                        await source.stop()
                    continue
                statuses.append(item)
                if item.kind == "connected":
                    connected += 1
                    if connected == 2:
                        sensor.hang_after(400)  # 8 s more, then silent again
            return source, statuses

    source, statuses = run(scenario)
    assert source.stats["stalls"] == 2 and source.stats["samples"] == len(rows)
    delays = [s.values["delay_s"] for s in statuses if s.kind == "reconnecting"]
    assert delays == [0.05, 0.05], delays


def test_backoff_doubles_and_caps():
    gen = backoff_delays(1.0, 30.0)
    assert [next(gen) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_decode_errors_are_counted_and_reported(tmp_path):
    """A board that sends a malformed notification now and then: counted, reported, skipped."""

    class Glitchy(FastMicrobit):
        async def _run_stream(self, connection):
            for i in range(60):
                await asyncio.sleep(0.002)
                value = b"\x01\x02\x03" if i % 20 == 5 else encode_accelerometer_data(0, 0, 1000)
                await self.device.notify_subscriber(connection, self.data_characteristic, value)
            self.exhausted.set()

    async def scenario():
        async with VirtualRadio() as radio:
            board = await radio.add_peripheral(Glitchy(np.zeros((1, 3)), speed=1.0))
            source = BleSource("microbit", clock=warped_clock(SPEED), status_every_s=1e9, **virtual(radio))
            items = []

            async def stopper():
                await board.exhausted.wait()
                # every notification sent has been received and decoded (or counted as an error)
                await async_until(lambda: source.stats["notifications"] == 60, "the 60 notifications")
                await source.stop()

            task = asyncio.ensure_future(stopper())
            async for item in source:
                items.append(item)
            await task
            return items, source

    items, source = run(scenario)
    errors = [i for i in items if isinstance(i, SourceStatus) and i.kind == "decode_errors"]
    assert len(errors) == 1 and "3 bytes" in errors[0].detail and errors[0].values["errors"] == 1
    assert source.stats["decode_errors"] == 3
    assert sum(len(i) for i in items if isinstance(i, SampleBlock)) == 57
    assert items[-1].kind == "stopped" and items[-1].values["decode_errors"] == 3


def test_cancelling_the_consumer_stops_the_sensor():
    """An exception/cancellation in the consumer still sends the stop writes and disconnects."""

    async def scenario():
        async with VirtualRadio() as radio:
            polar = await radio.add_peripheral(PolarH10(np.tile([[0.0, 0.0, 1.0]], (20000, 1)), speed=SPEED))
            source = BleSource(clock=warped_clock(SPEED), **virtual(radio))

            async def consume():
                async for item in source:
                    if isinstance(item, SampleBlock):
                        await asyncio.sleep(10)

            task = asyncio.ensure_future(consume())
            while polar.frames_sent < 3:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await polar.wait_disconnected(DEADLINE_S)
            return polar

    polar = run(scenario)
    assert polar.control_writes[-1] == bytes([0x03, 0x02]) and not polar.streaming


def test_unknown_profile_and_bad_settings_are_user_errors():
    from sensorback.devices import SettingsError

    with pytest.raises(SettingsError):
        BleSource("no-such-sensor")
    with pytest.raises(SettingsError):
        BleSource("polar-h10", settings={"rate_hz": 33})
