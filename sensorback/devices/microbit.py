"""BBC micro:bit (V1 and V2) through the standard Bluetooth accelerometer service.

Sources (checked):
* lancaster-university/codal-microbit-v2, source/bluetooth/MicroBitAccelerometerService.cpp
  (same in lancaster-university/microbit-dal): service E95D0753-251D-470A-A062-FA1922DFA9A8,
  data E95DCA4B-... (read, notify) = x, y, z as three 16-bit values in milli-g, one sample per
  notification, sent on every accelerometer update while connected; period E95DFB24-...
  (read, write) = uint16 ms. "The accelerometer will choose the nearest period to that requested
  that it can support. Read back the ACTUAL period it is using" — so we read it back.
* microbit-foundation/microbit-connection, lib/accelerometer-service.ts: data decoded as
  little-endian int16 x/y/z; "Writing 0 causes the device to crash"; V2 periods seen: 2, 5, 10,
  20, 40, 100, 1000 ms ("rounded up to the allowed values on device"), while the profile page
  lists 1, 2, 5, 10, 20, 80, 160, 640 ms (V1).

No vendor-published notification bytes with decoded values were found; the tests build frames
from the layout above.

Time rule: no timestamps on the wire. t is reconstructed on the host clock by HostSampleClock
(sensorback/devices/_clock.py) at the period read back from the board: a running sample clock
advancing 1/rate per sample, moved earlier only so that no sample is stamped after it arrived,
and pulled forward when it falls more than max_lag_s behind the arrival times (lost
notifications are common when the connection interval is longer than the period).
"""

from __future__ import annotations

import struct

import numpy as np

from ._base import DeviceProfile, DeviceResponseError, GattOp, HostClockDecoder

NAME = "microbit"
SERVICE = "e95d0753-251d-470a-a062-fa1922dfa9a8"
DATA = "e95dca4b-251d-470a-a062-fa1922dfa9a8"
PERIOD = "e95dfb24-251d-470a-a062-fa1922dfa9a8"
DATA_LEN = 6
MG_PER_G = 1000.0


def period_ms(rate_hz: float) -> int:
    """The period to request for a rate: whole ms, at least 1 (0 crashes the board)."""
    return max(1, min(65535, round(1000.0 / rate_hz)))


class MicrobitDecoder(HostClockDecoder):
    profile_name = NAME

    def __init__(self, rate_hz: float, range_g=None, max_lag_s: float = 0.5):
        super().__init__(rate_hz, max_lag_s)

    def _decode(self, data: bytes, received_at: float):
        if len(data) != DATA_LEN:
            raise self.error(f"accelerometer data is {len(data)} bytes, expected {DATA_LEN} "
                             "(x, y, z as int16 milli-g)")
        x, y, z = struct.unpack("<3h", data)
        acc = np.array([[x, y, z]], dtype=np.float32) / np.float32(MG_PER_G)
        t, rule = self._stamp(1, received_at)
        return self._block(t, acc, received_at, time_rule=rule)


def _start(s: dict) -> tuple:
    ms = period_ms(s["rate_hz"])
    return (
        GattOp("write", PERIOD, struct.pack("<H", ms), note=f"request a {ms} ms period"),
        GattOp("read", PERIOD, check="period",
               note="the board snaps to a supported period: read it back, decode at that rate"),
        GattOp("subscribe", DATA),
    )


def _stop(s: dict) -> tuple:
    return (GattOp("unsubscribe", DATA),)


def _on_response(op: GattOp, value: bytes, s: dict) -> dict:
    if op.check == "period":
        if len(value) < 2:
            raise DeviceResponseError(NAME, f"period read back as {len(value)} bytes, expected 2")
        ms = struct.unpack_from("<H", value)[0]
        if ms == 0:
            raise DeviceResponseError(NAME, "the board reports a 0 ms accelerometer period")
        return {"rate_hz": 1000.0 / ms}
    return {}


PROFILE = DeviceProfile(
    name=NAME,
    label="BBC micro:bit (Bluetooth accelerometer service)",
    service_uuids=(SERVICE,),
    advertised_uuids=(),
    name_patterns=(r"^BBC micro:bit",),
    characteristics={"service": SERVICE, "data": DATA, "period": PERIOD},
    data_char=DATA,
    default_rate_hz=50.0,
    default_range_g=None,
    rates_hz=(),
    rate_limits=(1.0, 1000.0),
    ranges_g=(),
    device_timestamps=False,
    time_rule="host clock: running 1/rate sample clock at the read-back period (HostSampleClock)",
    notes="firmware_notes/microbit.md",
    extra_settings={"max_lag_s": 0.5},
    _decoder=lambda rate_hz, range_g, max_lag_s: MicrobitDecoder(rate_hz, range_g, max_lag_s),
    _start=_start,
    _stop=_stop,
    _on_response=_on_response,
)
