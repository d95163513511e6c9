"""Polar H10 chest strap: accelerometer stream over the Polar Measurement Data (PMD) service.

Sources (checked):
* polarofficial/polar-ble-sdk, BlePMDClient.kt: PMD service FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8,
  control point FB005C81-... (answers by indication; both it and data must be subscribed before
  commands are sent), data FB005C82-...
* PmdDataFrame.kt: frame = measurement type (1 byte; 0x02 = ACC), timestamp (uint64 LE, ns),
  frame type (1 byte; bit 7 = compressed, bits 0-6 = type), then content.
* AccData.kt: raw type 0/1/2 = x, y, z as signed 8/16/24-bit mG; compressed type 0 = 16-bit
  values times the stream's factor (in g); compressed type 1 = 16-bit mG values times factor.
  Compressed content: one reference sample, then blocks of [delta bits (1 byte), sample count
  (1 byte), count x channels deltas of that many bits, packed LSB first] added cumulatively.
* PmdSetting.kt: setting types 0 sample rate (u16), 1 resolution (u16), 2 range (u16), 3 range
  milliunit (u32), 4 channels (u8), 5 factor (float32); start = [0x02, type, (setting, count,
  value)...]; the start response may carry the factor.
* PmdControlPointResponse.kt: response = [0xF0, op, type, status, more, params...]; status codes
  0 SUCCESS ... 13 DEVICE_IN_CHARGER, 14 DISK_FULL.
* documentation/TimeSystemExplained.md: timestamps are ns since 2000-01-01T00:00:00 (device time;
  the H10 resets to a default time when it shuts down unless set).
* documentation/products/PolarH10.md: ACC 25/50/100/200 Hz, ranges 2/4/8 g, data in mG.
* Issue #360 (an H10 driven with Python/bleak): start ACC ``02 02 02 01 08 00 00 01 C8 00 01 01
  10 00``; issue #124 (Polar staff): the H10 refuses a start that omits a setting (resolution);
  issue #287: the ATT MTU must be at least 232.

Vendor-published frames in the tests: AccDataTest.kt / AccDataTest.swift (raw type 1 and
compressed types 0 and 1), BlePmdClientParsersTest.kt (a 16-bit, 10-block delta frame and a
32-bit one), BlePmdClientControlPointResponseTest.kt (control point responses).

Time rule: the device stamps the LAST sample of each frame (ns since 2000-01-01 on the device
clock). t = that stamp in seconds minus (n-1-i) sample intervals, where the interval is measured
from the previous frame's stamp, (ts - ts_prev) / n, when that is within 0.5-1.5x the nominal
1/rate, and the nominal interval otherwise (first frame, lost frames, a clock jump). t is on
the device clock (block.meta["clock"] == "device"); map it with DeviceClockMap or your own.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from ._base import DecodeError, Decoder, DeviceProfile, DeviceResponseError, GattOp

NAME = "polar-h10"
SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
MIN_MTU = 232
EPOCH_UNIX = 946684800.0           # 2000-01-01T00:00:00Z as Unix time

MEASUREMENT_TYPES = {0: "ECG", 1: "PPG", 2: "ACC", 3: "PPI", 5: "GYRO", 6: "MAG", 9: "SDK_MODE"}
ACC = 0x02
OP_GET_SETTINGS, OP_START, OP_STOP = 0x01, 0x02, 0x03
RESPONSE = 0xF0
STATUS = ("SUCCESS", "ERROR_INVALID_OP_CODE", "ERROR_INVALID_MEASUREMENT_TYPE", "ERROR_NOT_SUPPORTED",
          "ERROR_INVALID_LENGTH", "ERROR_INVALID_PARAMETER", "ERROR_ALREADY_IN_STATE",
          "ERROR_INVALID_RESOLUTION", "ERROR_INVALID_SAMPLE_RATE", "ERROR_INVALID_RANGE",
          "ERROR_INVALID_MTU", "ERROR_INVALID_NUMBER_OF_CHANNELS", "ERROR_INVALID_STATE",
          "ERROR_DEVICE_IN_CHARGER", "ERROR_DISK_FULL")
SET_RATE, SET_RESOLUTION, SET_RANGE, SET_RANGE_MILLI, SET_CHANNELS, SET_FACTOR = range(6)
SETTING_SIZE = {SET_RATE: 2, SET_RESOLUTION: 2, SET_RANGE: 2, SET_RANGE_MILLI: 4, SET_CHANNELS: 1,
                SET_FACTOR: 4}
HEADER_LEN = 10
RAW_WIDTH = {0: 1, 1: 2, 2: 3}     # raw frame type -> bytes per channel (values in mG)
CHANNELS = 3
RESOLUTION = 16


# -- control point ---------------------------------------------------------------------------
def start_command(rate_hz: float, range_g: float, resolution: int = RESOLUTION) -> bytes:
    """REQUEST_MEASUREMENT_START for ACC with range, rate and resolution (all three: the H10
    refuses a start that leaves one out)."""
    return bytes([OP_START, ACC]) + struct.pack(
        "<BBHBBHBBH", SET_RANGE, 1, int(range_g), SET_RATE, 1, int(rate_hz),
        SET_RESOLUTION, 1, int(resolution))


def stop_command() -> bytes:
    return bytes([OP_STOP, ACC])


@dataclass(frozen=True)
class ControlResponse:
    op: int
    measurement_type: int
    status: int
    more: bool
    params: bytes

    @property
    def status_name(self) -> str:
        return STATUS[self.status] if self.status < len(STATUS) else f"status 0x{self.status:02X}"

    @property
    def ok(self) -> bool:
        return self.status == 0


def parse_control_response(data: bytes) -> ControlResponse:
    """[0xF0, op, measurement type, status, more, params...]; params only on success."""
    data = bytes(data)
    if len(data) < 4:
        raise DeviceResponseError(NAME, f"control point response is {len(data)} bytes, needs at least 4")
    if data[0] != RESPONSE:
        raise DeviceResponseError(NAME, f"control point response starts with 0x{data[0]:02X}, "
                                        f"expected 0x{RESPONSE:02X}")
    status = data[3]
    more = status == 0 and len(data) > 4 and data[4] != 0
    params = data[5:] if status == 0 else b""
    return ControlResponse(op=data[1], measurement_type=data[2], status=status, more=more, params=params)


def parse_settings(params: bytes) -> dict[int, list]:
    """Setting list [(type, count, values...)...] -> {type: [values]}; factor values as floats.
    Stops at an unknown setting type or a truncated value (the rest cannot be sized)."""
    out: dict[int, list] = {}
    i = 0
    while i + 2 <= len(params):
        kind, count = params[i], params[i + 1]
        size = SETTING_SIZE.get(kind)
        if size is None or i + 2 + count * size > len(params):
            break
        i += 2
        values = []
        for _ in range(count):
            raw = params[i:i + size]
            values.append(struct.unpack("<f", raw)[0] if kind == SET_FACTOR
                          else int.from_bytes(raw, "little", signed=False))
            i += size
        out[kind] = values
    return out


# -- data frames -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PmdFrame:
    measurement_type: int
    timestamp_ns: int
    frame_type: int          # bits 0-6 of the frame-type byte
    compressed: bool         # bit 7
    values: np.ndarray       # (n, 3) int64, in the frame's own units (see AccDecoder)


def _sign_extend(v: np.ndarray, bits: int) -> np.ndarray:
    half = np.int64(1) << (bits - 1)
    return ((v + half) & ((np.int64(1) << bits) - 1)) - half


def unpack_delta_frames(content: bytes, channels: int, resolution: int, offset: int = 0,
                        profile: str = NAME) -> np.ndarray:
    """Reference sample + delta blocks -> (n, channels) int64 samples (wrapping at `resolution`
    bits, like the device's own integer arithmetic). `offset` only places byte positions in
    error messages."""
    ref_len = channels * resolution // 8
    if len(content) < ref_len:
        raise DecodeError(profile, f"compressed frame has {len(content)} content bytes, the reference "
                                   f"sample needs {ref_len}")
    ref = np.array([int.from_bytes(content[c * resolution // 8:(c + 1) * resolution // 8], "little",
                                   signed=True) for c in range(channels)], dtype=np.int64)
    parts = [ref[None, :]]
    last = ref
    i = ref_len
    while i < len(content):
        at = offset + i
        if i + 2 > len(content):
            raise DecodeError(profile, f"delta block header at byte {at} is truncated "
                                       f"({len(content) - i} byte left, needs 2)")
        bits, count = content[i], content[i + 1]
        if not 1 <= bits <= resolution:
            raise DecodeError(profile, f"delta block at byte {at} has a delta size of {bits} bits "
                                       f"(must be 1..{resolution})")
        if count == 0:
            raise DecodeError(profile, f"delta block at byte {at} has 0 samples")
        nbits = bits * count * channels
        nbytes = (nbits + 7) // 8
        body = content[i + 2:i + 2 + nbytes]
        if len(body) < nbytes:
            raise DecodeError(profile, f"delta block at byte {at} ({count} samples x {channels} x "
                                       f"{bits} bits) needs {nbytes} bytes, only {len(body)} left "
                                       "(truncated)")
        bitarr = np.unpackbits(np.frombuffer(body, dtype=np.uint8), bitorder="little")[:nbits]
        words = bitarr.reshape(count * channels, bits).astype(np.int64)
        deltas = (words << np.arange(bits, dtype=np.int64)).sum(axis=1)
        deltas = _sign_extend(deltas, bits).reshape(count, channels)
        block = _sign_extend(last + np.cumsum(deltas, axis=0), resolution)
        parts.append(block)
        last = block[-1]
        i += 2 + nbytes
    return np.concatenate(parts, axis=0)


def parse_pmd_frame(data: bytes, profile: str = NAME) -> PmdFrame:
    """Split and unpack one PMD data notification (ACC or any 3-channel 16-bit stream)."""
    if len(data) < HEADER_LEN:
        raise DecodeError(profile, f"frame is {len(data)} bytes, the header needs {HEADER_LEN}")
    mtype = data[0]
    ts = struct.unpack_from("<Q", data, 1)[0]
    ftype_byte = data[9]
    compressed = bool(ftype_byte & 0x80)
    ftype = ftype_byte & 0x7F
    content = data[HEADER_LEN:]
    if compressed:
        if ftype not in (0, 1):
            raise DecodeError(profile, f"compressed frame type {ftype} (byte 0x{ftype_byte:02X}) is not "
                                       "an accelerometer frame type this decoder knows (0x80, 0x81)")
        values = unpack_delta_frames(content, CHANNELS, RESOLUTION, offset=HEADER_LEN, profile=profile)
    else:
        width = RAW_WIDTH.get(ftype)
        if width is None:
            raise DecodeError(profile, f"raw frame type {ftype} (byte 0x{ftype_byte:02X}) is not an "
                                       "accelerometer frame type this decoder knows (0x00, 0x01, 0x02)")
        step = width * CHANNELS
        if not content:
            raise DecodeError(profile, "frame has a header but no samples")
        if len(content) % step:
            raise DecodeError(profile, f"frame type {ftype} content is {len(content)} bytes, not a "
                                       f"whole number of {step}-byte samples (truncated)")
        raw = np.frombuffer(content, dtype=np.uint8).reshape(-1, width).astype(np.int64)
        v = (raw << (8 * np.arange(width, dtype=np.int64))).sum(axis=1)
        values = _sign_extend(v, 8 * width).reshape(-1, CHANNELS)
    return PmdFrame(mtype, ts, ftype, compressed, values)


class AccDecoder(Decoder):
    """Stateful PMD ACC decoder for one streaming session.

    Units: raw frames and compressed type 1 are mG (type 1 times `factor`, 1.0 unless the start
    response gave one); compressed type 0 is counts times `factor` g (factor from the start
    response; if none was given, range_g / 32768).
    """

    profile_name = NAME
    clock = "device"

    def __init__(self, rate_hz: float, range_g: float, factor: float | None = None):
        super().__init__(rate_hz)
        self.range_g = float(range_g)
        self.factor = None if factor is None else float(factor)
        self.last_timestamp_ns: int | None = None
        self.stats.update(gaps=0, lost_samples_est=0, clock_jumps=0)

    def _decode(self, data: bytes, received_at: float):
        if len(data) >= HEADER_LEN and data[0] != ACC:   # say what it is before parsing its content
            name = MEASUREMENT_TYPES.get(data[0], "unknown")
            raise self.error(f"measurement type 0x{data[0]:02X} ({name}) is not acceleration "
                             f"(0x{ACC:02X})")
        frame = parse_pmd_frame(data, self.profile_name)
        v = frame.values.astype(np.float64)
        if frame.compressed and frame.frame_type == 0:
            factor = self.factor if self.factor is not None else self.range_g / 32768.0
            acc = v * factor
        elif frame.compressed:
            acc = v * (self.factor if self.factor is not None else 1.0) / 1000.0
        else:
            acc = v / 1000.0
        n = len(acc)
        nominal_ns = 1e9 / self.rate_hz
        dt_ns, note = nominal_ns, "nominal"
        prev = self.last_timestamp_ns
        if prev is not None:
            if frame.timestamp_ns <= prev:
                self.stats["clock_jumps"] += 1
                note = "clock_jump"
            else:
                measured = (frame.timestamp_ns - prev) / n
                if 0.5 * nominal_ns <= measured <= 1.5 * nominal_ns:
                    dt_ns, note = measured, "measured"
                elif measured > 1.5 * nominal_ns:
                    self.stats["gaps"] += 1
                    self.stats["lost_samples_est"] += max(
                        0, round((frame.timestamp_ns - prev) / nominal_ns) - n)
                    note = "gap"
        t = (frame.timestamp_ns - (n - 1 - np.arange(n)) * dt_ns) / 1e9
        self.last_timestamp_ns = frame.timestamp_ns
        return self._block(t, acc.astype(np.float32), received_at, interval=note,
                           device_timestamp_ns=frame.timestamp_ns, device_epoch_unix=EPOCH_UNIX,
                           frame_type=(0x80 if frame.compressed else 0) | frame.frame_type)


# -- profile ---------------------------------------------------------------------------------
def _start(s: dict) -> tuple:
    return (
        GattOp("mtu", mtu=MIN_MTU, note="the H10 will not stream ACC below an ATT MTU of 232"),
        GattOp("subscribe", CONTROL, indicate=True, note="control point answers by indication"),
        GattOp("subscribe", DATA),
        GattOp("write", CONTROL, start_command(s["rate_hz"], s["range_g"]),
               note=f"start ACC: +-{s['range_g']:g} g, {s['rate_hz']:g} Hz, 16 bit"),
        GattOp("await", CONTROL, bytes([RESPONSE, OP_START, ACC]), timeout_s=5.0, check="start",
               note="F0 02 02 00 ... on success; params may carry the factor"),
    )


def _stop(s: dict) -> tuple:
    return (
        GattOp("write", CONTROL, stop_command(), note="always stop: an H10 left streaming stays on"),
        GattOp("await", CONTROL, bytes([RESPONSE, OP_STOP, ACC]), timeout_s=2.0, check="stop"),
        GattOp("unsubscribe", DATA),
        GattOp("unsubscribe", CONTROL),
    )


def _on_response(op: GattOp, value: bytes, s: dict) -> dict:
    if op.check not in ("start", "stop"):
        return {}
    resp = parse_control_response(value)
    want = OP_START if op.check == "start" else OP_STOP
    if resp.op != want or resp.measurement_type != ACC:
        raise DeviceResponseError(NAME, f"expected a response to op 0x{want:02X} for ACC, got op "
                                        f"0x{resp.op:02X} for type 0x{resp.measurement_type:02X}")
    if op.check == "stop" and resp.status == STATUS.index("ERROR_ALREADY_IN_STATE"):
        return {}
    if not resp.ok:
        verb = "start" if op.check == "start" else "stop"
        raise DeviceResponseError(NAME, f"the H10 refused to {verb} ACC: {resp.status_name}")
    factors = parse_settings(resp.params).get(SET_FACTOR)
    if factors and math.isfinite(factors[0]) and factors[0] > 0:
        return {"factor": factors[0]}
    return {}


PROFILE = DeviceProfile(
    name=NAME,
    label="Polar H10 heart rate strap (PMD accelerometer)",
    service_uuids=(SERVICE,),
    advertised_uuids=(),
    name_patterns=(r"^Polar H10\b",),
    characteristics={"service": SERVICE, "control": CONTROL, "data": DATA},
    data_char=DATA,
    default_rate_hz=50.0,
    default_range_g=4.0,
    rates_hz=(25.0, 50.0, 100.0, 200.0),
    ranges_g=(2.0, 4.0, 8.0),
    device_timestamps=True,
    time_rule="device clock: frame stamps the last sample (ns since 2000-01-01); earlier samples "
              "spaced by the interval measured from the previous frame (nominal if implausible)",
    notes="firmware_notes/polar-h10.md",
    min_mtu=MIN_MTU,
    extra_settings={"factor": None},
    _decoder=lambda rate_hz, range_g, factor: AccDecoder(rate_hz, range_g, factor),
    _start=_start,
    _stop=_stop,
    _on_response=_on_response,
)
