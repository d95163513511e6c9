"""WitMotion WT901BLECL / BWT901BLE (Bluetooth LE IMU) with the WIT BLE protocol.

Sources (checked):
* WITMOTION/WitBluetooth_BWT901BLE5_0 (vendor SDK), .../bluetooth/constant/BleUUID.java: service
  0000ffe5-0000-1000-8000-00805f9a34fb, notify ("read") 0000ffe4-..., write ("send")
  0000ffe9-...; .../components/Bwt901bleResolver.java: records are 20 bytes starting 55 61,
  nine little-endian int16 words follow; the receiver drops bytes until it sees 55 61; register
  read replies are 20-byte 55 71 records; Bwt901ble.java: unlock FF AA 69 88 B5, save
  FF AA 00 00 00, return rate FF AA 03 <rate> 00.
* WT901BLECL datasheet v20-0707, 6.1.1: flag 0x61 = acceleration x, y, z, angular velocity x, y, z,
  angle x, y, z, low byte first; acceleration = value / 32768 * 16 g; 6.1.2: example register
  reply ``55 71 3A 00 68 01 69 00 7A 00 ...`` (magnetic field 360, 105, 122).
* WIT standard protocol (HWT905 datasheet 5.2.9, same register map): RATE codes 0x01 0.2 Hz,
  0x02 0.5, 0x03 1, 0x04 2, 0x05 5, 0x06 10 (default), 0x07 20, 0x08 50, 0x09 100, 0x0B 200 Hz;
  unlock is valid for 10 s.

No vendor-published 55 61 record with decoded values was found; the tests build records from
the layout, and use the datasheet's 55 71 register reply (which must be skipped, not decoded).

Records can straddle notifications (a stack with a small MTU splits them, some firmwares pack
several per notification): the decoder keeps the unfinished tail and resynchronises on 55 61.
Garbage before a 55 61 is dropped and counted (stats["skipped_bytes"], stats["byte_resyncs"]); a
notification that holds no complete record returns an empty block. A payload is an error only
when nothing in it can ever become a record (more than 40 bytes without 55 61 / 55 71).

Time rule: no timestamps. t is reconstructed on the host clock by HostSampleClock at the
return rate (1/rate per record, never after arrival, pulled forward when more than max_lag_s
behind, restarted after a silent gap).
"""

from __future__ import annotations

import numpy as np

from ._base import DeviceProfile, GattOp, HostClockDecoder

NAME = "witmotion"
SERVICE = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE = "0000ffe9-0000-1000-8000-00805f9a34fb"
RECORD_LEN = 20
HEAD = 0x55
FLAG_DATA = 0x61
FLAG_REGISTERS = 0x71
G_PER_COUNT = 16.0 / 32768.0
RATE_CODES = {0.2: 0x01, 0.5: 0x02, 1.0: 0x03, 2.0: 0x04, 5.0: 0x05, 10.0: 0x06, 20.0: 0x07,
              50.0: 0x08, 100.0: 0x09, 200.0: 0x0B}
UNLOCK = bytes.fromhex("FFAA6988B5")
SAVE = bytes.fromhex("FFAA000000")
MAX_JUNK = 2 * RECORD_LEN


def rate_command(rate_hz: float) -> bytes:
    return bytes([0xFF, 0xAA, 0x03, RATE_CODES[float(rate_hz)], 0x00])


class WitDecoder(HostClockDecoder):
    profile_name = NAME

    def __init__(self, rate_hz: float, range_g: float = 16.0, max_lag_s: float = 0.5):
        super().__init__(rate_hz, max_lag_s)
        self.buffer = b""
        self.stats.update(skipped_bytes=0, byte_resyncs=0, register_replies=0)

    def _decode(self, data: bytes, received_at: float):
        buf = self.buffer + data
        records = []
        skipped = 0
        registers = 0
        i = 0
        while True:
            j = _find_head(buf, i)
            if j < 0:
                # Keep a trailing 0x55 (the start of a record split across notifications).
                keep = len(buf) - 1 if buf and buf[-1] == HEAD else len(buf)
                skipped += keep - i
                i = keep
                break
            skipped += j - i
            i = j
            if len(buf) - i < RECORD_LEN:
                break
            if buf[i + 1] == FLAG_DATA:
                records.append(buf[i:i + RECORD_LEN])
            else:
                registers += 1
            i += RECORD_LEN
        rest = buf[i:]
        if skipped > MAX_JUNK and not records and not registers:
            # Nothing here can be a record: reject this payload, keep the state as it was.
            raise self.error(f"{skipped} bytes without a 55 61 record header (not WIT BLE data?)")
        self.buffer = rest
        self.stats["skipped_bytes"] += skipped
        self.stats["register_replies"] += registers
        if skipped:
            self.stats["byte_resyncs"] += 1
        n = len(records)
        if n == 0:
            return self._block(np.empty(0), np.empty((0, 3), dtype=np.float32), received_at,
                               time_rule="none", pending_bytes=len(rest))
        words = np.frombuffer(b"".join(r[2:8] for r in records), dtype="<i2").reshape(n, 3)
        acc = words.astype(np.float32) * np.float32(G_PER_COUNT)
        t, rule = self._stamp(n, received_at)
        return self._block(t, acc, received_at, time_rule=rule, pending_bytes=len(rest))


def _find_head(buf: bytes, start: int) -> int:
    """Index of the next 55 61 / 55 71 at or after start, or -1."""
    i = start
    while True:
        i = buf.find(bytes([HEAD]), i)
        if i < 0 or i + 1 >= len(buf):
            return -1
        if buf[i + 1] in (FLAG_DATA, FLAG_REGISTERS):
            return i
        i += 1


def _start(s: dict) -> tuple:
    return (
        GattOp("subscribe", NOTIFY),
        GattOp("write", WRITE, UNLOCK, note="unlock the registers (valid 10 s)"),
        GattOp("write", WRITE, rate_command(s["rate_hz"]), note=f"return rate {s['rate_hz']:g} Hz"),
        GattOp("write", WRITE, SAVE, note="save (some firmwares apply the rate only once saved)"),
    )


def _stop(s: dict) -> tuple:
    return (GattOp("unsubscribe", NOTIFY, note="the sensor streams whenever connected; nothing to stop"),)


PROFILE = DeviceProfile(
    name=NAME,
    label="WitMotion WT901BLECL / BWT901BLE (WIT BLE protocol)",
    service_uuids=(SERVICE,),
    advertised_uuids=(SERVICE,),
    name_patterns=(r"^WT901", r"^BWT901", r"^WT9011"),
    characteristics={"service": SERVICE, "data": NOTIFY, "write": WRITE},
    data_char=NOTIFY,
    default_rate_hz=50.0,
    default_range_g=16.0,
    rates_hz=tuple(RATE_CODES),
    ranges_g=(16.0,),
    device_timestamps=False,
    time_rule="host clock: running 1/rate sample clock at the return rate (HostSampleClock); "
              "records resynchronised on 55 61",
    notes="firmware_notes/witmotion.md",
    extra_settings={"max_lag_s": 0.5},
    _decoder=lambda rate_hz, range_g, max_lag_s: WitDecoder(rate_hz, range_g, max_lag_s),
    _start=_start,
    _stop=_stop,
)
