"""sensorback-diy: our own BLE service for a DIY accelerometer board (protocol version 1).

The full specification, for firmware authors, is firmware_notes/sensorback-diy-protocol.md; a
reference Arduino sketch is firmware_notes/xiao-nrf52840-sense/sensorback_diy.ino. In short:

* service 9c580001-214e-48bc-a479-c7421c96f1a4, data 9c580002-... (notify), control
  9c580003-... (write with response; read = status). The UUIDs were generated at random
  (uuid4) for this project.
* data frame, little-endian: version u8 (=1), flags u8, count u8, header_len u8 (=24 in v1),
  seq u32, t0_us u64 (device time of the first sample, µs), interval_us u32, scale f32 (g per
  count), then count x (x, y, z int16).
* control: 01 START, 02 STOP, 03 SET_RATE u16 Hz, 04 SET_RANGE u8 g, 05 SET_BATCH u8.

No vendor exists: the tests build frames from the specification (and the spec's own worked
example).

Time rule: the device stamps each frame: t_i = (t0_us + i * interval_us) / 1e6 seconds on the
device clock (block.meta["clock"] == "device"). The sequence number detects lost frames
(stats["lost_frames"]); a frame older than the last one (duplicate or reordered) is dropped with
an empty block; the FIRST flag restarts the sequence.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from ._base import Decoder, DeviceProfile, DeviceResponseError, GattOp

NAME = "sensorback-diy"
SERVICE = "9c580001-214e-48bc-a479-c7421c96f1a4"
DATA = "9c580002-214e-48bc-a479-c7421c96f1a4"
CONTROL = "9c580003-214e-48bc-a479-c7421c96f1a4"

VERSION = 1
HEADER = struct.Struct("<BBBBIQIf")     # version, flags, count, header_len, seq, t0_us, interval_us, scale
HEADER_LEN = HEADER.size                # 24
SAMPLE_LEN = 6
FLAG_FIRST = 0x01                       # first frame after START: seq restarts at 0
FLAG_OVERFLOW = 0x02                    # the device dropped samples before this frame
CMD_START, CMD_STOP, CMD_SET_RATE, CMD_SET_RANGE, CMD_SET_BATCH = 1, 2, 3, 4, 5
STATUS = struct.Struct("<BBBBHBB")      # version, streaming, range_g, batch, rate_hz, last_error, reserved
RANGES = (2.0, 4.0, 8.0, 16.0)
SEQ_MOD = 1 << 32
MAX_SCALE = 1.0                         # g per count; anything larger is not an accelerometer


def encode_frame(seq: int, t0_us: int, interval_us: int, scale: float, counts, flags: int = 0,
                 version: int = VERSION) -> bytes:
    """Build a v1 frame (for tests, simulators and firmware authors checking their bytes)."""
    counts = np.asarray(counts, dtype="<i2").reshape(-1, 3)
    head = HEADER.pack(version, flags, len(counts), HEADER_LEN, seq % SEQ_MOD, t0_us, interval_us, scale)
    return head + counts.tobytes()


def frame_mtu(batch: int) -> int:
    """ATT MTU needed for a frame of `batch` samples (3 bytes of ATT header)."""
    return 3 + HEADER_LEN + SAMPLE_LEN * batch


class DiyDecoder(Decoder):
    profile_name = NAME
    clock = "device"

    def __init__(self, rate_hz: float, range_g: float = 4.0, batch: int = 10):
        super().__init__(rate_hz)
        self.last_seq: int | None = None
        self.last_t_us: int | None = None      # device time of the last sample issued
        self.stats.update(lost_frames=0, overflows=0, duplicates=0, restarts=0, clock_jumps=0)

    def _decode(self, data: bytes, received_at: float):
        if len(data) < HEADER_LEN:
            raise self.error(f"frame is {len(data)} bytes, the v1 header needs {HEADER_LEN}")
        version, flags, count, header_len, seq, t0_us, interval_us, scale = HEADER.unpack_from(data)
        if version != VERSION:
            raise self.error(f"protocol version {version} is not supported (this decoder reads "
                             f"version {VERSION})")
        if header_len < HEADER_LEN:
            raise self.error(f"header length {header_len} is shorter than the {HEADER_LEN} bytes of v1")
        if count == 0:
            raise self.error("frame holds 0 samples")
        if interval_us == 0:
            raise self.error("sample interval is 0 us")
        if not (math.isfinite(scale) and 0 < scale <= MAX_SCALE):
            raise self.error(f"scale {scale!r} g/count is not a positive number up to {MAX_SCALE:g}")
        expect = header_len + SAMPLE_LEN * count
        if len(data) != expect:
            what = "truncated" if len(data) < expect else "has trailing bytes"
            raise self.error(f"frame of {count} samples must be {expect} bytes, got {len(data)} ({what})")

        meta = {"seq": seq, "flags": flags, "device_t0_us": t0_us, "interval_us": interval_us}
        if flags & FLAG_FIRST or self.last_seq is None:
            if self.last_seq is not None:
                self.stats["restarts"] += 1
        else:
            ahead = (seq - self.last_seq) % SEQ_MOD
            if ahead == 0 or ahead >= SEQ_MOD // 2:
                self.stats["duplicates"] += 1
                return self._block(np.empty(0), np.empty((0, 3), dtype=np.float32), received_at,
                                   dropped="duplicate or out-of-order frame", **meta)
            if ahead > 1:
                self.stats["lost_frames"] += ahead - 1
                meta["lost_frames_before"] = ahead - 1
        if flags & FLAG_OVERFLOW:
            self.stats["overflows"] += 1
        if self.last_t_us is not None and t0_us <= self.last_t_us and not flags & FLAG_FIRST:
            self.stats["clock_jumps"] += 1
        counts = np.frombuffer(data, dtype="<i2", count=3 * count, offset=header_len).reshape(count, 3)
        acc = (counts.astype(np.float64) * scale).astype(np.float32)
        t = (t0_us + np.arange(count, dtype=np.float64) * interval_us) / 1e6
        self.last_seq = seq
        self.last_t_us = t0_us + (count - 1) * interval_us
        return self._block(t, acc, received_at, **meta)


def _start(s: dict) -> tuple:
    batch = int(s["batch"])
    return (
        GattOp("mtu", mtu=frame_mtu(batch), note=f"a frame of {batch} samples needs this ATT MTU"),
        GattOp("subscribe", DATA),
        GattOp("write", CONTROL, bytes([CMD_SET_RANGE, int(s["range_g"])]), note=f"+-{s['range_g']:g} g"),
        GattOp("write", CONTROL, bytes([CMD_SET_RATE]) + struct.pack("<H", round(s["rate_hz"])),
               note=f"{s['rate_hz']:g} Hz (the device picks its nearest rate; frames carry the interval)"),
        GattOp("write", CONTROL, bytes([CMD_SET_BATCH, batch]), note=f"{batch} samples per frame"),
        GattOp("read", CONTROL, check="status", note="status: version, rate and range in use"),
        GattOp("write", CONTROL, bytes([CMD_START])),
    )


def _stop(s: dict) -> tuple:
    return (GattOp("write", CONTROL, bytes([CMD_STOP])), GattOp("unsubscribe", DATA))


def parse_status(value: bytes) -> dict:
    if len(value) < STATUS.size:
        raise DeviceResponseError(NAME, f"status is {len(value)} bytes, expected {STATUS.size}")
    version, streaming, range_g, batch, rate_hz, last_error, _ = STATUS.unpack_from(value)
    return {"version": version, "streaming": bool(streaming), "range_g": range_g, "batch": batch,
            "rate_hz": rate_hz, "last_error": last_error}


def _on_response(op: GattOp, value: bytes, s: dict) -> dict:
    if op.check != "status":
        return {}
    st = parse_status(value)
    if st["version"] != VERSION:
        raise DeviceResponseError(NAME, f"the board speaks protocol version {st['version']}, "
                                        f"this sensorback speaks {VERSION}")
    if st["last_error"]:
        raise DeviceResponseError(NAME, f"the board rejected a setting (error code {st['last_error']})")
    out = {}
    if st["rate_hz"]:
        out["rate_hz"] = float(st["rate_hz"])
    if float(st["range_g"]) in RANGES:
        out["range_g"] = float(st["range_g"])
    return out


def _decoder(rate_hz, range_g, batch):
    return DiyDecoder(rate_hz, range_g, int(batch))


PROFILE = DeviceProfile(
    name=NAME,
    label="sensorback DIY board (sensorback-diy protocol v1)",
    service_uuids=(SERVICE,),
    advertised_uuids=(SERVICE,),
    name_patterns=(r"^sensorback",),
    characteristics={"service": SERVICE, "data": DATA, "control": CONTROL},
    data_char=DATA,
    default_rate_hz=50.0,
    default_range_g=4.0,
    rates_hz=(),
    rate_limits=(1.0, 1000.0),
    ranges_g=RANGES,
    device_timestamps=True,
    time_rule="device clock: t = (t0_us + i * interval_us) / 1e6 from each frame's header",
    notes="firmware_notes/sensorback-diy-protocol.md",
    min_mtu=frame_mtu(10),
    extra_settings={"batch": 10},
    _decoder=_decoder,
    _start=_start,
    _stop=_stop,
    _on_response=_on_response,
)
