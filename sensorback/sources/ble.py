"""BleSource: a live BLE motion sensor through bleak, as a Source (sources/base.py).

    source = BleSource()                                  # the first supported sensor found
    source = BleSource("polar-h10", device="A1B2")        # a name (or part of one) or an address
    async for item in source:                             # SampleBlock or SourceStatus
        ...
    await source.stop()                                   # from anywhere; ends with "stopped"

    sensors = await BleSource().scan(5.0)                 # [FoundSensor(name, address, rssi, profile)]

What it does, in order (see docs/ble-source.md):

1. **Find**: scan until a sensor is seen that matches ``device`` (address, or a case-insensitive
   part of its advertised name) and/or ``profile``; with neither, the first sensor any profile
   recognises (``find_profile`` on the advertised name and service UUIDs).
2. **Connect and start**: ``BleakClient(device, **client_kwargs)``; then the profile's
   ``start_writes()`` in order (MTU, subscribe, write, read, await), each "read"/"await" answer
   checked with ``profile.on_response`` (whose settings, e.g. the period a micro:bit really uses,
   build the decoder).
3. **Stream**: every notification on the data characteristic is decoded at once with its arrival
   time on ``clock``. A payload that cannot be decoded is counted and skipped (a
   ``decode_errors`` status at the first one and then at most every ``status_every_s``).
4. **Time**: sample times are seconds from the session start (0 at the first sample), on
   ``clock``: from the device's own clock where the profile has one (``DeviceClockMap``, kept
   across reconnections, so lost frames leave gaps of the right length), otherwise from the
   nominal rate anchored to arrival times (the decoders' ``HostSampleClock``). Times are strictly
   increasing over the whole session.
5. **Disconnects**: a ``disconnected`` status with ``gap_until`` (also when the link stays up but
   no notification has arrived for ``stall_s``: a sensor that stopped streaming, e.g. after a
   reset or a firmware hang, is dropped and connected afresh), then scan-and-reconnect with
   exponential backoff (``backoff_s``: 1, 2, 4 ... 30 s) forever, a ``reconnecting`` status per
   attempt, each with a ``gap_until`` no sample will ever be stamped at or before (samples that
   would be are dropped and counted, so the promise holds).
6. **Stop**: ``stop()``, cancellation or an error: the profile's ``stop_writes()`` (an H10 left
   streaming stays on), disconnect, a final ``stopped`` status.

The test seam: ``scanner_kwargs`` go to every ``BleakScanner`` and ``client_kwargs`` to every
``BleakClient`` (tests pass ``backend=VirtualScannerBackend`` / ``VirtualClientBackend`` and
``radio=``); production leaves them empty and bleak uses the platform's backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import warnings
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Optional

import numpy as np

from ..devices import (
    DecodeError,
    DeviceClockMap,
    DeviceProfile,
    DeviceResponseError,
    GattOp,
    SettingsError,
    find_profile,
    full_uuid,
    get_profile,
)
from ..errors import SensorbackError
from ..samples import SampleBlock
from ..timefmt import count
from .ble_errors import NO_BLUETOOTH, bluetooth_error, link_error, trouble
from .base import SourceItem, SourceStatus

logger = logging.getLogger(__name__)

__all__ = ["BleSource", "BleSourceError", "BluetoothUnavailable", "FoundSensor", "backoff_delays", "scan_sensors"]

#: How long one scan for the sensor lasts before the attempt counts as failed.
SCAN_TIMEOUT_S = 10.0
#: BleakClient connect timeout.
CONNECT_TIMEOUT_S = 15.0
#: Exponential backoff between reconnection attempts: first delay, cap.
BACKOFF_S = (1.0, 30.0)
#: Sample seconds a first notification/frame after a reconnection may reach back before its
#: arrival (a Polar frame at 25 Hz holds 1.44 s; HostSampleClock lags up to 0.5 s).
GAP_MARGIN_S = 2.0
#: Minimum seconds (on `clock`) between two decode_errors statuses.
STATUS_EVERY_S = 10.0
#: Seconds without a notification after which a link that is still up counts as lost.
STALL_S = 10.0
#: How long stop() waits for the stop writes and the disconnection.
STOP_TIMEOUT_S = 10.0
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")


class BleSourceError(SensorbackError):
    """A BLE session that cannot go on (no such profile, a device no profile recognises, ...)."""


class BluetoothUnavailable(BleSourceError):
    """The machine's Bluetooth cannot be used at all (no adapter, no BlueZ): exit 1, like a full
    disk, not 2 as for a mistake on the command line. The command that used the source adds what
    to do without a sensor (its own --demo)."""

    exit_code = 1


@dataclass(frozen=True)
class FoundSensor:
    """A supported sensor seen while scanning. profile: the profile name (e.g. "polar-h10")."""

    name: str
    address: str
    rssi: Optional[int]
    profile: str


def backoff_delays(first_s: float = BACKOFF_S[0], cap_s: float = BACKOFF_S[1]):
    """first, 2 x first, 4 x first ... capped at cap_s, forever."""
    delay = float(first_s)
    while True:
        yield min(delay, float(cap_s))
        delay = min(delay * 2.0, float(cap_s))


def _is_address(text: str) -> bool:
    return bool(_ADDRESS.match(text.strip()))


def _adv_uuids(adv) -> list[str]:
    out = []
    for u in list(getattr(adv, "service_uuids", None) or ()) + list((getattr(adv, "service_data", None) or {})):
        try:
            out.append(full_uuid(str(u)))
        except ValueError:
            continue
    return out


async def scan_sensors(timeout_s: float = 5.0, scanner_kwargs: Optional[dict] = None) -> list[FoundSensor]:
    """Supported sensors advertising nearby, strongest signal first. Raises bleak's errors as they
    come (BleakError, BleakBluetoothNotAvailableError, D-Bus/OS errors: the caller words them)."""
    from bleak import BleakScanner

    seen = await BleakScanner.discover(timeout=float(timeout_s), return_adv=True, **(scanner_kwargs or {}))
    found = []
    for address, (device, adv) in seen.items():
        name = adv.local_name or device.name or ""
        profile = find_profile(name or None, _adv_uuids(adv))
        if profile is not None:
            found.append(FoundSensor(name, device.address or address, adv.rssi, profile.name))
    found.sort(key=lambda s: (-(s.rssi if s.rssi is not None else -999), s.name, s.address))
    return found


class _LinkLost(Exception):
    """The connection ended (or never came up) — try again."""


_STOP = object()  # queue sentinel: the session has ended


class BleSource:
    """A live BLE sensor as an async iterator of SampleBlock / SourceStatus. See the module doc.

    profile:   a profile name or DeviceProfile; None: recognised from the advertisement.
    device:    an address, or (part of) an advertised name; None: the first supported sensor.
    settings:  profile settings (rate_hz, range_g, ...); defaults are the profile's.
    scanner_kwargs / client_kwargs: extra keyword arguments for BleakScanner / BleakClient.
    clock:     seconds, monotonic; arrival times and the session's time base (tests may warp it).
    wall_clock: Unix seconds, for SampleBlock.start_time.
    backoff_s: (first delay, cap) between reconnection attempts, in seconds.
    stall_s:   seconds (real time) without a notification that count as a lost link; None: never.
    """

    def __init__(self, profile: str | DeviceProfile | None = None, device: Optional[str] = None,
                 settings: Optional[dict] = None, scanner_kwargs: Optional[dict] = None,
                 client_kwargs: Optional[dict] = None, clock: Callable[[], float] = time.monotonic, *,
                 wall_clock: Callable[[], float] = time.time, scan_timeout_s: float = SCAN_TIMEOUT_S,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S, backoff_s: tuple[float, float] = BACKOFF_S,
                 gap_margin_s: float = GAP_MARGIN_S, status_every_s: float = STATUS_EVERY_S,
                 stall_s: Optional[float] = STALL_S):
        self.profile: Optional[DeviceProfile] = get_profile(profile) if isinstance(profile, str) else profile
        self.device = device.strip() if isinstance(device, str) and device.strip() else None
        self.settings = dict(settings or {})
        if self.profile is not None:
            self.profile.settings(**self.settings)  # SettingsError now rather than after connecting
        self.scanner_kwargs = dict(scanner_kwargs or {})
        self.client_kwargs = dict(client_kwargs or {})
        self.clock = clock
        self.wall_clock = wall_clock
        self.scan_timeout_s = float(scan_timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.backoff_s = (float(backoff_s[0]), float(backoff_s[1]))
        self.gap_margin_s = float(gap_margin_s)
        self.status_every_s = float(status_every_s)
        self.stall_s = None if stall_s is None else float(stall_s)
        # session state
        self.stats: dict[str, int] = {"samples": 0, "notifications": 0, "decode_errors": 0, "dropped_samples": 0,
                                      "connections": 0, "disconnections": 0, "stalls": 0}
        self.t0: Optional[float] = None          # clock reading of sample time 0
        self.start_time: Optional[float] = None  # Unix time of sample time 0
        self.last_t: Optional[float] = None      # last sample time issued
        self.gap_floor: float = -np.inf          # no sample may be stamped at or before this
        self._queue: asyncio.Queue = asyncio.Queue()
        self._stop = asyncio.Event()
        self._runner: Optional[asyncio.Task] = None
        self._iterated = False
        self._client = None
        self._link = 0                           # connection generation (stale callbacks are ignored)
        self._gone = asyncio.Event()
        self._streaming_profile: Optional[DeviceProfile] = None
        self._streaming_settings: dict = {}
        self._decoder = None
        self._early: list[tuple[bytes, float]] = []
        self._responses: dict[str, asyncio.Queue] = {}
        self._devmap = DeviceClockMap()
        self._last_error_status = -np.inf
        self._label = "sensor"
        self._heard = 0.0                        # time.monotonic() of the last notification

    # ------------------------------------------------------------------ public API
    async def scan(self, timeout_s: float = 5.0) -> list[FoundSensor]:
        """Supported sensors advertising nearby (see scan_sensors)."""
        return await scan_sensors(timeout_s, self.scanner_kwargs)

    def __aiter__(self) -> AsyncIterator[SourceItem]:
        if self._iterated:
            raise RuntimeError("a BleSource can be iterated once")
        self._iterated = True
        return self._items()

    async def stop(self) -> None:
        """Stop streaming (the profile's stop writes), disconnect; the iterator then yields
        "stopped" and ends. Waits (up to STOP_TIMEOUT_S) for that to be done."""
        self._stop.set()
        runner = self._runner
        if runner is not None and not runner.done() and runner is not asyncio.current_task():
            await asyncio.wait({runner}, timeout=STOP_TIMEOUT_S)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def key(self) -> Optional[str]:
        """The name stored calibrations are looked up under before the sensor says its own: the
        device asked for (its address and name are added once it connects)."""
        return self.device

    # ------------------------------------------------------------------ the iterator
    async def _items(self) -> AsyncIterator[SourceItem]:
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="BleSource")
        try:
            while True:
                item = await self._queue.get()
                if item is _STOP:
                    break
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, SampleBlock):
                    item = self._coalesce(item)
                yield item
        finally:
            self._stop.set()
            runner = self._runner
            if runner is not None and not runner.done():
                # cancelled or closed early: let the runner stop the sensor and disconnect
                done, _ = await asyncio.shield(asyncio.wait({runner}, timeout=STOP_TIMEOUT_S))
                if not done:
                    runner.cancel()

    def _coalesce(self, block: SampleBlock) -> SampleBlock:
        """Join the sample blocks already waiting behind `block` (one notification is often one
        sample); stops at the first status so order is kept."""
        parts = [block]
        while not self._queue.empty() and len(parts) < 512:
            nxt = self._queue._queue[0]  # peek (asyncio.Queue keeps a deque)
            if not isinstance(nxt, SampleBlock) or nxt.rate_hz != block.rate_hz:
                break
            parts.append(self._queue.get_nowait())
        if len(parts) == 1:
            return block
        out = SampleBlock.concat(parts)
        out.meta["notifications"] = sum(p.meta.get("notifications", 1) for p in parts)
        return out

    def _put(self, item) -> None:
        self._queue.put_nowait(item)

    def _status(self, kind: str, detail: str = "", *, t: Optional[float] = None,
                gap_until: Optional[float] = None, **values) -> None:
        self._put(SourceStatus(kind, detail, t=t, gap_until=gap_until, values=values))

    def _now_t(self) -> Optional[float]:
        return None if self.t0 is None else self.clock() - self.t0

    def _extend_gap(self) -> Optional[float]:
        """Move the promise 'no sample at or before gap_until' as far as it can safely go now."""
        if self.t0 is None:
            return None
        now = self._now_t() - self.gap_margin_s
        floor = max(now, self.last_t if self.last_t is not None else -np.inf, self.gap_floor)
        self.gap_floor = floor
        return float(floor)

    # ------------------------------------------------------------------ the session loop
    async def _run(self) -> None:
        delays = None
        try:
            while not self._stop.is_set():
                samples_before = self.stats["samples"]
                try:
                    await self._session()
                except _LinkLost as e:
                    why = str(e)
                except (SettingsError, BleSourceError):
                    raise
                except DeviceResponseError as e:
                    why = f"the sensor refused: {e}"
                except Exception as e:  # noqa: BLE001 - bleak/D-Bus/OS errors: report and retry
                    kind = trouble(e)
                    if kind is None:
                        raise
                    if self.stats["connections"] == 0 and kind == NO_BLUETOOTH:
                        # No Bluetooth at all (no adapter, no BlueZ, no D-Bus): retrying forever
                        # would only print the same cryptic error every 30 s.
                        raise BluetoothUnavailable(bluetooth_error(e)) from None
                    why = link_error(e)
                else:
                    why = "disconnected"
                finally:
                    await self._teardown()
                if self._stop.is_set():
                    break
                # Samples flowed in this attempt (also when it then ended in a drop or a stall,
                # which raise): the backoff starts again from its first delay.
                streamed = self.stats["samples"] > samples_before
                if streamed or delays is None:
                    delays = backoff_delays(*self.backoff_s)
                delay = next(delays)
                gap = self._extend_gap()
                self._status("reconnecting", f"{why}; trying again in {delay:g} s", t=self.last_t,
                             gap_until=gap, delay_s=delay, error=why, device=self._label)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
        except asyncio.CancelledError:
            await asyncio.shield(self._teardown())
            raise
        except BaseException as e:  # noqa: BLE001 - handed to the consumer after "stopped"
            await asyncio.shield(self._teardown())
            # A SensorbackError (no Bluetooth, say) is the command's to say, once; only a bug's type is told here.
            said = "stopped" if isinstance(e, SensorbackError) else f"stopped: {link_error(e)}"
            self._status("stopped", said, t=self.last_t, **self._summary())
            self._put(e)
            self._put(_STOP)
            return
        self._status("stopped", "stopped", t=self.last_t, **self._summary())
        self._put(_STOP)

    def _summary(self) -> dict:
        return {k: v for k, v in self.stats.items()}

    async def _session(self) -> bool:
        """One attempt: find, connect, start, stream until the link goes or stop() is called.
        Returns True when samples flowed (the backoff starts again from its first delay)."""
        from bleak import BleakClient

        found = await self._find()
        if found is None:
            return False
        ble_device, adv, profile = found
        settings = profile.settings(**self.settings)
        self._label = f"{adv.local_name or ble_device.name or profile.label} {ble_device.address}"
        self._status("connecting", f"connecting to {self._label}", device=profile.name,
                     address=ble_device.address, rssi_dbm=adv.rssi)
        self._link += 1
        link = self._link
        self._gone.clear()

        def on_disconnect(_client) -> None:
            if link == self._link:
                self._gone.set()

        kwargs = {"timeout": self.connect_timeout_s, **self.client_kwargs}
        client = BleakClient(ble_device, disconnected_callback=on_disconnect, **kwargs)
        await client.connect()
        self._client = client
        self.stats["connections"] += 1
        self._responses = {}
        self._decoder = None
        self._early = []
        if self._stop.is_set():
            return False
        self._streaming_profile, self._streaming_settings = profile, settings
        learned: dict = {}
        for op in profile.start_writes(**settings):
            learned.update(await self._perform(client, profile, op, settings))
        self._decoder = profile.new_decoder(**{**settings, **learned})
        battery = await self._battery(client)
        rate = self._decoder.rate_hz
        detail = f"{self._label} connected, {profile.label}, {rate:g} Hz"
        if battery is not None:
            detail += f", battery {battery} %"
        self._status("connected", detail, t=self.last_t, device=profile.name, address=ble_device.address,
                     rate_hz=rate, mtu=_mtu(client), rssi_dbm=adv.rssi, battery_pct=battery)
        if adv.rssi is not None:
            self._status("signal", f"signal {adv.rssi} dBm", t=self.last_t, rssi_dbm=adv.rssi)
        if battery is not None:
            self._status("battery", f"battery {battery} %", t=self.last_t, battery_pct=battery)
        early, self._early = self._early, []
        for payload, received_at in early:
            self._decode(payload, received_at)
        samples_before = self.stats["samples"]
        # stream until the link goes, stalls, or stop() is called
        stalled = await self._stream_until_over()
        if stalled and not self._stop.is_set():
            self.stats["stalls"] += 1
            gap = self._extend_gap()
            self._status("disconnected", f"{self._label}: no data for {self.stall_s:g} s although still "
                         "connected; connecting again", t=self.last_t, gap_until=gap, device=profile.name,
                         address=ble_device.address)
            raise _LinkLost(f"no data for {self.stall_s:g} s")
        if self._gone.is_set() and not self._stop.is_set():
            self.stats["disconnections"] += 1
            self._client = None  # the link is gone: no stop writes possible
            gap = self._extend_gap()
            self._status("disconnected", f"{self._label} disconnected", t=self.last_t, gap_until=gap,
                         device=profile.name, address=ble_device.address)
            raise _LinkLost("the sensor disconnected")
        return self.stats["samples"] > samples_before

    async def _stream_until_over(self) -> bool:
        """Wait until the link goes or stop() is called; True if instead no notification came for
        stall_s (real time: the session clock may be warped in tests, the radio's silence is not)."""
        self._heard = time.monotonic()
        stop_wait = asyncio.ensure_future(self._stop.wait())
        gone_wait = asyncio.ensure_future(self._gone.wait())
        try:
            while True:
                if self.stall_s is None:
                    await asyncio.wait({stop_wait, gone_wait}, return_when=asyncio.FIRST_COMPLETED)
                    return False
                left = self._heard + self.stall_s - time.monotonic()
                if left <= 0:
                    return True
                done, _ = await asyncio.wait({stop_wait, gone_wait}, timeout=left,
                                             return_when=asyncio.FIRST_COMPLETED)
                if done:
                    return False
        finally:
            for f in (stop_wait, gone_wait):
                f.cancel()

    async def _find(self):
        """Scan until the wanted sensor advertises: (BLEDevice, AdvertisementData, profile), or
        None when stop() was called; _LinkLost when nothing was found in scan_timeout_s."""
        from bleak import BleakScanner

        what = self.device or (self.profile.label if self.profile else "a supported sensor")
        self._status("scanning", f"looking for {what}", t=self.last_t)
        loop = asyncio.get_running_loop()
        found: asyncio.Future = loop.create_future()
        unknown: list[str] = []

        def on_adv(device, adv) -> None:
            if found.done():
                return
            name = adv.local_name or device.name or ""
            if self.device is not None:
                if _is_address(self.device):
                    if device.address.upper() != self.device.upper().replace("-", ":"):
                        return
                elif self.device.lower() not in name.lower():
                    return
            profile = self.profile or find_profile(name or None, _adv_uuids(adv))
            if profile is None:
                if self.device is not None and device.address not in unknown:
                    unknown.append(device.address)
                return
            if self.profile is not None and self.device is None and not profile.matches(name or None, _adv_uuids(adv)):
                return
            found.set_result((device, adv, profile))

        stop_wait = asyncio.ensure_future(self._stop.wait())
        try:
            async with BleakScanner(on_adv, **self.scanner_kwargs):
                await asyncio.wait({found, stop_wait}, timeout=self.scan_timeout_s,
                                   return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_wait.cancel()
        if found.done():
            return found.result()
        found.cancel()
        if self._stop.is_set():
            return None
        if unknown:
            raise BleSourceError(f"{self.device} ({unknown[0]}) is advertising, but it is not a sensor any "
                                 "profile recognises; name its profile (e.g. polar-h10, microbit)")
        raise _LinkLost(f"{what} not found within {self.scan_timeout_s:g} s")

    # ------------------------------------------------------------------ GATT steps
    async def _perform(self, client, profile: DeviceProfile, op: GattOp, settings: dict) -> dict:
        if op.kind == "mtu":
            mtu = await _acquire_mtu(client)
            if mtu < op.mtu:
                raise DeviceResponseError(profile.name, f"the link's ATT MTU is {mtu}, the sensor needs at least "
                                                        f"{op.mtu} to stream ({op.note})")
            return {}
        if op.kind == "subscribe":
            await client.start_notify(op.char, self._handler(profile, op.char))
            return {}
        if op.kind == "unsubscribe":
            await client.stop_notify(op.char)
            return {}
        if op.kind == "write":
            self._responses_for(op.char).values.clear()
            await client.write_gatt_char(op.char, op.data, response=op.response)
            return {}
        if op.kind == "read":
            value = await client.read_gatt_char(op.char)
            return profile.on_response(op, bytes(value), **settings)
        if op.kind == "await":
            value = await self._await_response(op)
            return profile.on_response(op, value, **settings)
        raise ValueError(f"unknown GATT step {op.kind!r}")  # pragma: no cover

    def _responses_for(self, char: str) -> "_Responses":
        key = full_uuid(char)
        if key not in self._responses:
            self._responses[key] = _Responses()
        return self._responses[key]

    async def _await_response(self, op: GattOp) -> bytes:
        box = self._responses_for(op.char)
        deadline = asyncio.get_running_loop().time() + op.timeout_s
        while True:
            for i, value in enumerate(box.values):
                if value.startswith(op.data):
                    del box.values[: i + 1]
                    return value
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or self._gone.is_set():
                what = "the link was lost" if self._gone.is_set() else f"no answer within {op.timeout_s:g} s"
                raise _LinkLost(f"{op.char}: {what} (waiting for {op.data.hex(' ').upper()})")
            box.event.clear()
            gone = asyncio.ensure_future(self._gone.wait())
            got = asyncio.ensure_future(box.event.wait())
            try:
                await asyncio.wait({gone, got}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finally:
                gone.cancel()
                got.cancel()

    def _handler(self, profile: DeviceProfile, char: str):
        link = self._link
        is_data = full_uuid(char) == full_uuid(profile.data_char)
        box = None if is_data else self._responses_for(char)

        def on_value(_characteristic, data: bytearray) -> None:
            if link != self._link:
                return
            if is_data:
                self._heard = time.monotonic()
            received_at = self.clock()
            if box is not None:
                box.values.append(bytes(data))
                box.event.set()
            elif self._decoder is None:
                self._early.append((bytes(data), received_at))
            else:
                self._decode(bytes(data), received_at)

        return on_value

    async def _battery(self, client) -> Optional[int]:
        try:
            services = client.services
            if services is None or services.get_characteristic(BATTERY_LEVEL) is None:
                return None
            value = await client.read_gatt_char(BATTERY_LEVEL)
            return int(value[0]) if value else None
        except Exception:  # noqa: BLE001 - a battery level is a nicety
            logger.debug("battery read failed", exc_info=True)
            return None

    async def _teardown(self) -> None:
        """Stop the stream (when stopping on purpose and the link is up) and disconnect."""
        client, self._client = self._client, None
        profile, settings = self._streaming_profile, self._streaming_settings
        self._streaming_profile = None
        self._decoder = None  # data arriving from now on is not decoded
        if client is None:
            self._link += 1
            return
        try:
            if profile is not None and client.is_connected:
                for op in profile.stop_writes(**settings):
                    try:
                        if op.kind == "await":
                            await self._await_response(op)
                        elif op.kind == "unsubscribe":
                            await client.stop_notify(op.char)
                        elif op.kind == "write":
                            self._responses_for(op.char).values.clear()
                            await client.write_gatt_char(op.char, op.data, response=op.response)
                        else:
                            await self._perform(client, profile, op, settings)
                    except Exception as e:  # noqa: BLE001 - carry on with the next step
                        logger.info("stop step %s failed: %s", op, e)
                        if not client.is_connected:
                            break
        finally:
            self._link += 1  # from now on, callbacks of this connection are ignored
            try:
                await client.disconnect()
            except Exception:  # noqa: BLE001 - the link may already be gone
                logger.debug("disconnect failed", exc_info=True)

    # ------------------------------------------------------------------ decoding and time
    def _decode(self, payload: bytes, received_at: float) -> None:
        decoder = self._decoder
        self.stats["notifications"] += 1
        try:
            block = decoder.decode(payload, received_at)
        except DecodeError as e:
            self.stats["decode_errors"] += 1
            if received_at - self._last_error_status >= self.status_every_s:
                self._last_error_status = received_at
                self._status("decode_errors", f"{count(self.stats['decode_errors'], 'notification')} could not be "
                             f"decoded; last: {e}", t=self.last_t, errors=self.stats["decode_errors"],
                             last_error=str(e))
            return
        if len(block) == 0:
            return
        if block.meta.get("clock") == "device":
            host = self._devmap.map(block.t, received_at)
        else:
            host = np.asarray(block.t, dtype=np.float64)
        if self.t0 is None:
            self.t0 = float(host[0])
            self.start_time = self.wall_clock() - (self.clock() - self.t0)
        t = host - self.t0
        floor = self.gap_floor if self.last_t is None else max(self.gap_floor, self.last_t)
        keep = t > floor
        if not keep.all():
            self.stats["dropped_samples"] += int((~keep).sum())
            if not keep.any():
                return
            t, acc = t[keep], block.acc[keep]
        else:
            acc = block.acc
        self.last_t = float(t[-1])
        self.stats["samples"] += len(t)
        meta = {k: v for k, v in block.meta.items() if k in ("clock", "time_rule", "interval")}
        meta["received_at"] = received_at
        self._put(SampleBlock(t=t, acc=acc, device=block.device, rate_hz=block.rate_hz,
                              start_time=self.start_time, meta=meta))


class _Responses:
    """Values indicated/notified on a control characteristic, for "await" steps."""

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self.event = asyncio.Event()


async def _acquire_mtu(client) -> int:
    """The link's ATT MTU; on BlueZ, bleak only knows it after _acquire_mtu()."""
    backend = getattr(client, "_backend", None)
    acquire = getattr(backend, "_acquire_mtu", None)
    if acquire is not None and getattr(backend, "_mtu_size", 0) is None:
        with contextlib.suppress(Exception):
            await acquire()
    return _mtu(client)


def _mtu(client) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return int(client.mtu_size)
        except Exception:  # noqa: BLE001
            return 23
