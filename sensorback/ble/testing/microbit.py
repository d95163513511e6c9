"""A virtual BBC micro:bit accelerometer (its Bluetooth Accelerometer Service), fed from an array.

Service   E95D0753-251D-470A-A062-FA1922DFA9A8  Accelerometer Service
  Data    E95DCA4B-251D-470A-A062-FA1922DFA9A8  read, notify: X, Y, Z as int16 little-endian, milli-g
  Period  E95DFB24-251D-470A-A062-FA1922DFA9A8  read, write: uint16 little-endian, milliseconds

While the central has notifications on, the sensor sends the next row of `samples` every period
(the first one period after subscribing). The cursor moves only when a notification is sent: samples
are never skipped, so what a client receives is exactly samples[k], samples[k+1], ... across
disconnections and reconnections (a real micro:bit keeps sampling and the rows measured while nobody
listens are lost; tests want determinism). `disconnect_after(n)` makes the sensor end the link right
after its n-th next notification, which is how a test drops the link "mid-stream" at an exact point.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence

import numpy as np
from bumble import att
from bumble.gatt import Characteristic, CharacteristicValue, Service

from .virtual import REMOTE_USER_TERMINATED, VirtualPeripheral

ACCELEROMETER_SERVICE_UUID = "e95d0753-251d-470a-a062-fa1922dfa9a8"
ACCELEROMETER_DATA_UUID = "e95dca4b-251d-470a-a062-fa1922dfa9a8"
ACCELEROMETER_PERIOD_UUID = "e95dfb24-251d-470a-a062-fa1922dfa9a8"

_DATA = struct.Struct("<hhh")
_PERIOD = struct.Struct("<H")


def encode_accelerometer_data(x_mg: int, y_mg: int, z_mg: int) -> bytes:
    """One Accelerometer Data value: 3 x int16 little-endian, milli-g."""
    return _DATA.pack(x_mg, y_mg, z_mg)


def decode_accelerometer_data(data: bytes | bytearray) -> tuple[int, int, int]:
    """(x, y, z) in milli-g from one Accelerometer Data notification (6 bytes)."""
    if len(data) != _DATA.size:
        raise ValueError(f"accelerometer data must be {_DATA.size} bytes, got {len(data)}")
    return _DATA.unpack(bytes(data))


class MicrobitAccelerometer(VirtualPeripheral):
    """A micro:bit that streams `samples` (shape (n, 3), milli-g, int16 range) over its accelerometer service.

    period_ms:  initial Accelerometer Period; the central may write another one (0 is refused with
                ATT error VALUE_NOT_ALLOWED, a value that is not 2 bytes with INVALID_ATTRIBUTE_LENGTH)
    repeat:     start again from the first row when the samples run out (else the stream stops there
                and `exhausted` is set)
    Other keyword arguments go to VirtualPeripheral (rssi=, manufacturer_data=, max_mtu=, ...).
    """

    def __init__(
        self,
        samples: np.ndarray | Sequence[Sequence[int]],
        *,
        name: str = "BBC micro:bit [vatig]",
        address: str = "F0:0B:17:00:00:01",
        period_ms: int = 20,
        repeat: bool = False,
        **kwargs,
    ) -> None:
        rows = np.asarray(samples)
        if rows.ndim != 2 or rows.shape[1] != 3:
            raise ValueError(f"samples must have shape (n, 3), got {rows.shape}")
        if rows.size and (rows.min() < -32768 or rows.max() > 32767):
            raise ValueError("samples must fit in int16 (milli-g)")
        if not 1 <= period_ms <= 0xFFFF:
            raise ValueError("period_ms must be within 1..65535")
        kwargs.setdefault("service_uuids", [ACCELEROMETER_SERVICE_UUID])
        super().__init__(name, address, **kwargs)
        self.samples = rows.astype(np.int16)
        self.period_ms = int(period_ms)
        self.repeat = repeat
        self.cursor = 0  # index of the next row to send
        self.notifications_sent = 0
        self.exhausted = asyncio.Event()
        self.data_characteristic: Characteristic | None = None
        self.period_characteristic: Characteristic | None = None
        self._stream: asyncio.Task | None = None
        self._disconnect_after: tuple[int, int] | None = None  # (notifications left, reason)
        self._last_value = encode_accelerometer_data(0, 0, 0)

    # ---- GATT --------------------------------------------------------------------------------
    def build_services(self) -> list[Service]:
        self.data_characteristic = Characteristic(
            ACCELEROMETER_DATA_UUID,
            Characteristic.Properties.READ | Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            CharacteristicValue(read=lambda _connection: self._last_value),
        )
        self.period_characteristic = Characteristic(
            ACCELEROMETER_PERIOD_UUID,
            Characteristic.Properties.READ | Characteristic.Properties.WRITE,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=lambda _connection: _PERIOD.pack(self.period_ms), write=self._write_period),
        )
        return [Service(ACCELEROMETER_SERVICE_UUID, [self.data_characteristic, self.period_characteristic])]

    def _write_period(self, _connection, value: bytes) -> None:
        if len(value) != _PERIOD.size:
            raise att.ATT_Error(att.ErrorCode.INVALID_ATTRIBUTE_LENGTH)
        (period,) = _PERIOD.unpack(value)
        if period == 0:
            raise att.ATT_Error(att.ErrorCode.VALUE_NOT_ALLOWED)
        self.period_ms = period

    # ---- streaming ---------------------------------------------------------------------------
    def disconnect_after(self, notifications: int, *, reason: int = REMOTE_USER_TERMINATED) -> None:
        """End the link (peripheral-initiated, with `reason`) right after `notifications` more notifications."""
        if notifications < 1:
            raise ValueError("notifications must be >= 1")
        self._disconnect_after = (notifications, reason)

    def on_subscription(self, characteristic: Characteristic, notify: bool, indicate: bool) -> None:
        if characteristic is not self.data_characteristic:
            return
        if notify and self._stream is None and self.connection is not None:
            self._stream = self.spawn(self._run_stream(self.connection))
        elif not notify:
            self._stop_stream()

    def on_disconnected(self, reason: int) -> None:
        self._stop_stream()

    def _stop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None and stream is not asyncio.current_task():
            stream.cancel()

    async def _run_stream(self, connection) -> None:
        assert self.device is not None and self.data_characteristic is not None
        while True:
            await asyncio.sleep(self.period_ms / 1000.0)
            if self.cursor >= len(self.samples):
                if not self.repeat or len(self.samples) == 0:
                    self.exhausted.set()
                    self._stream = None
                    return
                self.cursor = 0
            x, y, z = (int(v) for v in self.samples[self.cursor])
            self._last_value = encode_accelerometer_data(x, y, z)
            self.cursor += 1
            self.notifications_sent += 1
            await self.device.notify_subscriber(connection, self.data_characteristic, self._last_value)
            if self._disconnect_after is not None:
                left, reason = self._disconnect_after
                self._disconnect_after = (left - 1, reason) if left > 1 else None
                if left == 1:
                    self._stream = None  # this task ends here; on_disconnected must not cancel it
                    # shielded: a close() meanwhile must not cancel bumble in the middle of an HCI command
                    await asyncio.shield(self.disconnect(reason))
                    return
