"""A virtual Polar H10 streaming acceleration over the Polar Measurement Data (PMD) service.

Service   FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8  PMD
  Control FB005C81-...  read, write, indicate: commands in, responses [F0, op, type, status, 0]
  Data    FB005C82-...  notify: ACC frames [02, timestamp u64 LE ns, 01, x y z int16 LE mG ...]
Advertises "Polar H10 <id>" and the Heart Rate service (180D), as the strap does; GATT MTU 232.

The protocol, as sensorback.devices.polar_h10 describes it (from Polar's SDK): the control point
refuses commands (ATT error CCCD_IMPROPERLY_CONFIGURED) until the central has turned its
indications on; REQUEST_MEASUREMENT_START for ACC must carry range, sample rate and resolution
(16) settings, else ERROR_INVALID_PARAMETER; an unsupported rate or range gets
ERROR_INVALID_SAMPLE_RATE / ERROR_INVALID_RANGE; an ATT MTU below 232 gets ERROR_INVALID_MTU;
starting twice gets ERROR_ALREADY_IN_STATE; STOP answers SUCCESS (or ALREADY_IN_STATE when not
streaming). Each response is indicated after the write's response, as the device does.

Time and samples: the strap's accelerometer runs on its own clock from the first start command
(device time 0 = ``device_epoch_ns``, nanoseconds since 2000-01-01), at ``speed`` times real time
(tests run an hour in a minute), and sample i is ``samples[i]`` (g), taken at device time
i / rate. While streaming, a frame of ``frame_samples`` samples (36 at 16 bit fit an MTU of 232)
is notified as soon as its last sample has been taken, stamped with that sample's device time.
Samples taken while nobody listens (disconnected, stopped) are lost, as on the real strap, so a
drop leaves a gap in device time of the right length. ``disconnect_after(frames)`` ends the link
right after that many more frames; ``silent_s`` keeps the strap from advertising for that many
real seconds afterwards (out of range).
"""

from __future__ import annotations

import asyncio
import math
import struct

import numpy as np
from bumble import att
from bumble.gatt import Characteristic, CharacteristicValue, Service

from .virtual import REMOTE_USER_TERMINATED, VirtualPeripheral

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
HEART_RATE_SERVICE = "180D"
MTU = 232
ACC = 0x02
OP_GET_SETTINGS, OP_START, OP_STOP = 0x01, 0x02, 0x03
SUCCESS, INVALID_OP_CODE, INVALID_MEASUREMENT_TYPE, INVALID_LENGTH = 0, 1, 2, 4
INVALID_PARAMETER, ALREADY_IN_STATE, INVALID_RESOLUTION, INVALID_SAMPLE_RATE = 5, 6, 7, 8
INVALID_RANGE, INVALID_MTU = 9, 10
RATES = (25, 50, 100, 200)
RANGES = (2, 4, 8)
#: 2024-01-01T00:00:00Z in ns since 2000-01-01: what the strap's clock says at device time 0.
DEFAULT_EPOCH_NS = 757382400 * 10**9
SETTING_SIZES = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4}


def acc_frame(timestamp_ns: int, samples_mg: np.ndarray) -> bytes:
    """A raw 16-bit ACC frame (frame type 0x01): header + x, y, z int16 LE per sample."""
    body = np.asarray(samples_mg, dtype="<i2").tobytes()
    return bytes([ACC]) + struct.pack("<Q", int(timestamp_ns)) + bytes([0x01]) + body


def parse_start(params: bytes) -> dict[int, int]:
    """[(type, count, value)...] -> {type: first value}; ValueError when it does not parse."""
    out, i = {}, 0
    while i < len(params):
        if i + 2 > len(params):
            raise ValueError("truncated setting")
        kind, count = params[i], params[i + 1]
        size = SETTING_SIZES.get(kind)
        if size is None or count < 1 or i + 2 + count * size > len(params):
            raise ValueError("bad setting")
        out[kind] = int.from_bytes(params[i + 2:i + 2 + size], "little")
        i += 2 + count * size
    return out


class PolarH10(VirtualPeripheral):
    """A Polar H10 that streams `samples` ((n, 3), g) as PMD ACC frames. See the module doc."""

    def __init__(self, samples, *, name: str = "Polar H10 A1B2C3D4", address: str = "F0:9A:10:00:00:01",
                 speed: float = 1.0, frame_samples: int = 36, device_epoch_ns: int = DEFAULT_EPOCH_NS, **kwargs):
        rows = np.asarray(samples, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != 3:
            raise ValueError(f"samples must have shape (n, 3), got {rows.shape}")
        kwargs.setdefault("service_uuids", [HEART_RATE_SERVICE])
        kwargs.setdefault("max_mtu", MTU)
        super().__init__(name, address, **kwargs)
        self.samples_mg = np.clip(np.round(rows * 1000.0), -32768, 32767).astype(np.int16)
        self.speed = float(speed)
        self.frame_samples = int(frame_samples)
        self.device_epoch_ns = int(device_epoch_ns)
        self.control_writes: list[bytes] = []     # every command written, in order
        self.responses: list[bytes] = []          # every response indicated
        self.frames_sent = 0
        self.sent_index: list[np.ndarray] = []    # sample indices of each frame sent
        self.rate_hz: float | None = None
        self.streaming = False
        self.exhausted = asyncio.Event()
        self._indicate_on = False
        self._clock0: float | None = None         # loop time of device time 0
        self._stream: asyncio.Task | None = None
        self._disconnect_after: tuple[int, float] | None = None
        self.control: Characteristic | None = None
        self.data: Characteristic | None = None

    # ---- GATT --------------------------------------------------------------------------------
    def build_services(self):
        props = Characteristic.Properties
        self.control = Characteristic(
            PMD_CONTROL_UUID, props.READ | props.WRITE | props.INDICATE,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=lambda _c: bytes([0x0F, 0x05]), write=self._on_control))
        self.data = Characteristic(PMD_DATA_UUID, props.NOTIFY, Characteristic.READABLE, b"")
        hr = Characteristic("2A37", props.NOTIFY, Characteristic.READABLE, b"")
        return [Service(HEART_RATE_SERVICE, [hr]), Service(PMD_SERVICE_UUID, [self.control, self.data])]

    def on_subscription(self, characteristic, notify: bool, indicate: bool) -> None:
        if characteristic is self.control:
            self._indicate_on = indicate

    def on_disconnected(self, reason: int) -> None:
        self._indicate_on = False
        self._halt()

    # ---- device clock ------------------------------------------------------------------------
    def device_time(self) -> float:
        """Seconds of device time since device time 0 (0 before the first start)."""
        if self._clock0 is None:
            return 0.0
        return (asyncio.get_running_loop().time() - self._clock0) * self.speed

    def timestamp_ns(self, index: int) -> int:
        assert self.rate_hz is not None
        return self.device_epoch_ns + round(index * 1e9 / self.rate_hz)

    # ---- control point -----------------------------------------------------------------------
    def _on_control(self, connection, value: bytes) -> None:
        if not self._indicate_on:
            raise att.ATT_Error(att.ErrorCode.CCCD_IMPROPERLY_CONFIGURED)
        value = bytes(value)
        self.control_writes.append(value)
        op = value[0] if value else 0
        mtype = value[1] if len(value) > 1 else 0
        status = self._command(connection, op, mtype, value[2:])
        self.spawn(self._respond(connection, bytes([0xF0, op, mtype, status, 0])))

    def _command(self, connection, op: int, mtype: int, params: bytes) -> int:
        if op not in (OP_GET_SETTINGS, OP_START, OP_STOP):
            return INVALID_OP_CODE
        if mtype != ACC:
            return INVALID_MEASUREMENT_TYPE
        if op == OP_STOP:
            if not self.streaming:
                return ALREADY_IN_STATE
            self._halt()
            return SUCCESS
        if op == OP_GET_SETTINGS:
            return SUCCESS
        if self.streaming:
            return ALREADY_IN_STATE
        try:
            s = parse_start(params)
        except ValueError:
            return INVALID_LENGTH
        if not {0, 1, 2} <= set(s):
            return INVALID_PARAMETER   # the H10 refuses a start that leaves a setting out
        if s[1] != 16:
            return INVALID_RESOLUTION
        if s[0] not in RATES:
            return INVALID_SAMPLE_RATE
        if s[2] not in RANGES:
            return INVALID_RANGE
        if connection.att_mtu < MTU:
            return INVALID_MTU
        if self.rate_hz is not None and s[0] != self.rate_hz:
            return INVALID_SAMPLE_RATE  # this emulator keeps one rate per power-on
        self.rate_hz = float(s[0])
        loop = asyncio.get_running_loop()
        if self._clock0 is None:
            self._clock0 = loop.time()
        self.streaming = True
        self._stream = self.spawn(self._run_stream(connection))
        return SUCCESS

    async def _respond(self, connection, response: bytes) -> None:
        assert self.device is not None
        self.responses.append(response)
        await self.device.indicate_subscriber(connection, self.control, response)

    # ---- streaming ---------------------------------------------------------------------------
    def disconnect_after(self, frames: int, *, silent_s: float = 0.0, reason: int = REMOTE_USER_TERMINATED) -> None:
        """End the link right after `frames` more frames; stay silent (no advertising) for
        silent_s real seconds afterwards."""
        if frames < 1:
            raise ValueError("frames must be >= 1")
        self._disconnect_after = (frames, silent_s, reason)

    def _halt(self) -> None:
        self.streaming = False
        stream, self._stream = self._stream, None
        if stream is not None and stream is not asyncio.current_task():
            stream.cancel()

    async def _run_stream(self, connection) -> None:
        assert self.device is not None and self.rate_hz is not None
        loop = asyncio.get_running_loop()
        n = self.frame_samples
        # the next sample taken from now on: the ones before were measured while nobody listened
        cursor = math.floor(self.device_time() * self.rate_hz) + 1
        while True:
            last = cursor + n - 1
            if last >= len(self.samples_mg):
                self.exhausted.set()
                self._stream = None
                return
            due = self._clock0 + last / self.rate_hz / self.speed
            await asyncio.sleep(max(0.0, due - loop.time()))
            frame = acc_frame(self.timestamp_ns(last), self.samples_mg[cursor:last + 1])
            self.sent_index.append(np.arange(cursor, last + 1))
            cursor = last + 1
            self.frames_sent += 1
            await self.device.notify_subscriber(connection, self.data, frame)
            if self._disconnect_after is not None:
                left, silent_s, reason = self._disconnect_after
                self._disconnect_after = (left - 1, silent_s, reason) if left > 1 else None
                if left == 1:
                    self._stream = None
                    self.streaming = False
                    if silent_s > 0:
                        self._advertising_wanted = False
                        self.spawn(self._come_back(silent_s), cancel_on_close=True)
                    await asyncio.shield(self.disconnect(reason))
                    return

    async def _come_back(self, silent_s: float) -> None:
        await asyncio.sleep(silent_s)
        await asyncio.shield(self.start_advertising())
