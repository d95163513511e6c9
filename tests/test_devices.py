"""Device profiles: the public API, settings, GATT steps, time rules and malformed payloads.

Byte-exact vendor frames are in tests/test_devices_frames.py.
"""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest

from sensorback.devices import (
    PROFILES,
    DecodeError,
    DeviceClockMap,
    DeviceResponseError,
    GattOp,
    HostSampleClock,
    SettingsError,
    diy,
    find_profile,
    get_profile,
    polar_h10,
)
from sensorback.errors import SensorbackError
from sensorback.samples import SampleBlock

NAMES = ["microbit", "polar-h10", "thingy52", "metawear", "witmotion", "sensorback-diy"]


def hx(s: str) -> bytes:
    return bytes.fromhex(s)


def polar_frame(ts_ns: int, samples_mg, ftype: int = 0x01) -> bytes:
    return bytes([0x02]) + struct.pack("<Q", ts_ns) + bytes([ftype]) + \
        np.asarray(samples_mg, dtype="<i2").tobytes()


# A valid payload per profile, for the generic tests.
VALID = {
    "microbit": struct.pack("<3h", 10, -20, 1000),
    "polar-h10": polar_frame(10**12, [[0, 0, 1000]] * 4),
    "thingy52": struct.pack("<9h", 0, 0, 1024, 0, 0, 0, 0, 0, 0),
    "metawear": hx("03 1c") + struct.pack("<9h", 0, 0, 8192, 0, 0, 8192, 0, 0, 8192),
    "witmotion": hx("55 61") + struct.pack("<9h", 0, 0, 2048, 0, 0, 0, 0, 0, 0),
    "sensorback-diy": diy.encode_frame(0, 1_000_000, 20_000, 0.000122, [[0, 0, 8197]] * 3,
                                       flags=diy.FLAG_FIRST),
}


# The payload that follows VALID in a stream (device-clock profiles need a later stamp / seq).
VALID_NEXT = dict(VALID)
VALID_NEXT["polar-h10"] = polar_frame(10**12 + 4 * 20_000_000, [[0, 0, 1000]] * 4)
VALID_NEXT["sensorback-diy"] = diy.encode_frame(1, 1_060_000, 20_000, 0.000122, [[0, 0, 8197]] * 3)


# ----------------------------------------------------------------------------------------
# Registry and profile records
# ----------------------------------------------------------------------------------------

def test_every_named_profile_exists_with_its_record():
    assert list(PROFILES) == NAMES
    for name in NAMES:
        p = get_profile(name)
        assert p.name == name and p.label
        assert p.service_uuids and p.data_char in p.characteristics.values()
        assert p.default_rate_hz > 0
        assert isinstance(p.device_timestamps, bool) and p.time_rule
        assert p.notes.startswith("firmware_notes/")
        assert p.start_writes() and p.stop_writes()
        assert all(isinstance(op, GattOp) for op in p.start_writes() + p.stop_writes())
        assert p.describe().startswith(name)


def test_device_timestamps_flags():
    assert {n for n in NAMES if get_profile(n).device_timestamps} == {"polar-h10", "sensorback-diy"}


def test_notes_exist_for_every_profile():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    for name in NAMES:
        assert (root / get_profile(name).notes).is_file(), name


def test_get_profile_aliases_and_unknown():
    assert get_profile("Polar H10") is get_profile("polar_h10") is get_profile("polar-h10")
    assert get_profile("micro:bit").name == "microbit"
    with pytest.raises(SettingsError) as err:
        get_profile("fitbit")
    assert "fitbit" in str(err.value) and "polar-h10" in str(err.value)
    assert isinstance(err.value, SensorbackError)


@pytest.mark.parametrize("local_name, uuids, expected", [
    ("BBC micro:bit [zotig]", (), "microbit"),
    ("Polar H10 6D2F1A2B", (), "polar-h10"),
    ("Thingy", (), "thingy52"),
    (None, ("ef680100-9b35-4933-9b10-52ffa9740042",), "thingy52"),
    ("MetaWear", (), "metawear"),
    (None, ("326A9000-85CB-9195-D9DD-464CFBBAE75A",), "metawear"),
    ("WT901BLE68", (), "witmotion"),
    (None, ("0000ffe5-0000-1000-8000-00805f9a34fb",), "witmotion"),
    (None, ("ffe5",), None),   # WitMotion's UUIDs are ...9a34fb, not the Bluetooth base ...9b34fb
    ("sensorback-xiao", (), "sensorback-diy"),
    (None, ("9c580001-214e-48bc-a479-c7421c96f1a4",), "sensorback-diy"),
    ("Polar H9 1234", (), None),
    ("Some Headphones", ("180d", "not-a-uuid"), None),
])
def test_advertisement_matching(local_name, uuids, expected):
    found = find_profile(local_name, uuids)
    assert (found.name if found else None) == expected


# ----------------------------------------------------------------------------------------
# Settings
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, bad, match", [
    ("polar-h10", {"rate_hz": 30}, "30 Hz is not supported"),
    ("polar-h10", {"range_g": 16}, "16 g is not supported"),
    ("metawear", {"rate_hz": 400}, "not supported"),
    ("metawear", {"chip": "bmx055"}, "bmx055"),
    ("thingy52", {"rate_hz": 300}, "out of range"),
    ("thingy52", {"range_g": 4}, "cannot be set"),
    ("microbit", {"rate_hz": 0}, "out of range"),
    ("witmotion", {"rate_hz": 30}, "not supported"),
    ("witmotion", {"range_g": 4}, "not supported"),
    ("sensorback-diy", {"range_g": 3}, "not supported"),
    ("microbit", {"rang_g": 2}, "unknown setting"),
    ("polar-h10", {"rate_hz": "fast"}, "must be a number"),
])
def test_bad_settings_are_named_errors(name, bad, match):
    p = get_profile(name)
    with pytest.raises(SettingsError, match=match) as err:
        p.new_decoder(**bad)
    assert str(err.value).startswith(f"{name}: ")
    with pytest.raises(SettingsError):
        p.start_writes(**bad)


def test_defaults_and_settings():
    p = get_profile("polar-h10")
    assert p.settings() == {"rate_hz": 50.0, "range_g": 4.0, "factor": None}
    assert p.new_decoder(rate_hz=200, range_g=8).rate_hz == 200
    assert get_profile("witmotion").new_decoder(range_g=16).rate_hz == 50   # the fixed range is fine
    assert get_profile("thingy52").new_decoder(rate_hz=12.5).rate_hz == 12  # whole Hz on the wire


# ----------------------------------------------------------------------------------------
# GATT steps
# ----------------------------------------------------------------------------------------

def test_gatt_op_validation_and_text():
    with pytest.raises(ValueError):
        GattOp("explode", "x")
    with pytest.raises(ValueError):
        GattOp("write")
    op = GattOp("write", "abc", bytearray(b"\x03\x02"), note="stop")
    assert op.data == b"\x03\x02" and str(op) == "write abc 03 02  (stop)"
    assert str(GattOp("mtu", mtu=232)) == "request MTU >= 232"


def test_polar_start_order_subscribes_before_writing():
    ops = get_profile("polar-h10").start_writes()
    kinds = [op.kind for op in ops]
    assert kinds == ["mtu", "subscribe", "subscribe", "write", "await"]
    assert ops[0].mtu == 232 and ops[1].indicate and ops[1].char == polar_h10.CONTROL
    assert ops[2].char == polar_h10.DATA and ops[4].data == hx("F0 02 02")
    assert ops[3].data == hx("02 02 02 01 04 00 00 01 32 00 01 01 10 00")   # defaults: 4 g, 50 Hz
    stop = get_profile("polar-h10").stop_writes()
    assert [op.kind for op in stop] == ["write", "await", "unsubscribe", "unsubscribe"]


def test_polar_responses():
    p = get_profile("polar-h10")
    start_await = p.start_writes()[-1]
    assert p.on_response(start_await, hx("F0 02 02 00 00")) == {}
    factor = struct.pack("<f", 2.44e-4)
    got = p.on_response(start_await, hx("F0 02 02 00 00 05 01") + factor)
    assert got["factor"] == pytest.approx(2.44e-4)
    assert p.new_decoder(**got).factor == pytest.approx(2.44e-4)
    with pytest.raises(DeviceResponseError, match="ERROR_INVALID_PARAMETER"):
        p.on_response(start_await, hx("F0 02 02 05 00"))
    with pytest.raises(DeviceResponseError, match="expected a response to op 0x02"):
        p.on_response(start_await, hx("F0 03 02 00 00"))
    with pytest.raises(DeviceResponseError, match="starts with 0x0F"):
        p.on_response(start_await, hx("0F 05 00 00 00"))   # a features read, not a response
    with pytest.raises(DeviceResponseError, match="at least 4"):
        p.on_response(start_await, hx("F0 02"))
    stop_await = p.stop_writes()[1]
    assert p.on_response(stop_await, hx("F0 03 02 06")) == {}   # already stopped: fine
    assert polar_h10.parse_settings(hx("00 01 32 00 05 01 00 00")) == {0: [50]}  # truncated factor


def test_diy_status_response():
    p = get_profile("sensorback-diy")
    read = next(op for op in p.start_writes() if op.kind == "read")
    assert p.on_response(read, hx("01 00 04 0A 34 00 00 00")) == {"rate_hz": 52.0, "range_g": 4.0}
    with pytest.raises(DeviceResponseError, match="version 2"):
        p.on_response(read, hx("02 00 04 0A 34 00 00 00"))
    with pytest.raises(DeviceResponseError, match="error code 2"):
        p.on_response(read, hx("01 00 04 0A 34 00 02 00"))
    with pytest.raises(DeviceResponseError, match="8"):
        p.on_response(read, hx("01 00"))


# ----------------------------------------------------------------------------------------
# Decoding: blocks, clocks and time rules
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_valid_payload_gives_a_sample_block(name):
    p = get_profile(name)
    dec = p.new_decoder()
    block = dec.decode(VALID[name], received_at=1000.0)
    assert isinstance(block, SampleBlock) and len(block) >= 1
    assert block.acc.shape == (len(block), 3) and block.acc.dtype == np.float32
    assert block.t.dtype == np.float64 and np.all(np.diff(block.t) > 0)
    assert block.device == name and block.rate_hz == dec.rate_hz
    assert block.meta["clock"] == ("device" if p.device_timestamps else "host")
    assert block.meta["received_at"] == 1000.0
    assert np.linalg.norm(block.acc, axis=1) == pytest.approx(1.0, abs=0.01)
    assert dec.stats["frames"] == 1 and dec.stats["samples"] == len(block)
    # bytearray and memoryview payloads decode the same
    assert np.array_equal(p.new_decoder().decode(bytearray(VALID[name]), 1000.0).acc, block.acc)
    assert np.array_equal(p.new_decoder().decode(memoryview(VALID[name]), 1000.0).acc, block.acc)


def test_received_at_must_be_finite():
    with pytest.raises(ValueError):
        get_profile("microbit").new_decoder().decode(VALID["microbit"], float("nan"))


def test_host_clock_steady_stream_with_bursts_keeps_nominal_spacing():
    # 50 Hz, one sample per notification, latency 30 ms, and every 10th second a 300 ms stall
    # after which the queued notifications arrive together.
    dec = get_profile("microbit").new_decoder(rate_hz=50)
    true_t = np.arange(500) * 0.02
    arrive = true_t + 0.03
    for k in range(100, 500, 100):
        stall = (true_t >= true_t[k]) & (true_t < true_t[k] + 0.3)
        arrive[stall] = true_t[k] + 0.3 + 0.03
    ts = np.concatenate([dec.decode(VALID["microbit"], r).t for r in arrive])
    np.testing.assert_allclose(ts - true_t, 0.03, atol=1e-9)   # the first latency, constant
    assert dec.stats["resyncs"] == 0 and dec.stats["clamps"] == 0


def test_host_clock_follows_the_fastest_delivery_and_never_goes_back():
    clock = HostSampleClock(50)
    t0, _ = clock.stamp(1, 10.10)        # arrived late (100 ms): stamped at 10.10
    t1, rule = clock.stamp(1, 10.06)     # next sample arrived quickly; cannot be after 10.06...
    assert rule == "squeeze" and t1[0] > t0[0]   # ...nor at/before the last stamp: squeezed just after
    t2, rule = clock.stamp(3, 10.20)     # room again: ends at the arrival time at most
    assert t2[-1] <= 10.20 and np.all(np.diff(np.concatenate([t0, t1, t2])) > 0)
    t3, rule = clock.stamp(2, 10.15)     # arrival times going backwards: still increasing
    assert np.all(np.diff(np.concatenate([t2, t3])) > 0)


def test_host_clock_pulls_forward_after_lost_notifications_and_restarts_after_gaps():
    dec = get_profile("thingy52").new_decoder(rate_hz=50)
    a = dec.decode(VALID["thingy52"], 100.00).t
    b = dec.decode(VALID["thingy52"], 100.02).t
    c = dec.decode(VALID["thingy52"], 103.00)          # 3 s of notifications lost
    assert b[0] - a[0] == pytest.approx(0.02)
    assert c.t[0] == pytest.approx(103.0 - 0.5) and c.meta["time_rule"] == "pull"
    d = dec.decode(VALID["thingy52"], 103.01)          # the rest of a burst still fits
    assert d.t[0] == pytest.approx(c.t[0] + 0.02) and d.meta["time_rule"] == "nominal"
    e = dec.decode(VALID["thingy52"], 200.0)           # silent for minutes: start again
    assert e.t[0] == 200.0 and e.meta["time_rule"] == "resync"
    assert (dec.stats["pulls"], dec.stats["resyncs"]) == (1, 1)


def test_host_clock_stall_then_flush_is_not_squeezed_within_max_lag():
    # The host's event loop stalls for 0.4 s; the 20 queued notifications then arrive together.
    dec = get_profile("microbit").new_decoder(rate_hz=50)
    true_t = np.arange(100) * 0.02
    arrive = true_t + 0.01
    arrive[(true_t >= 1.0) & (true_t < 1.4)] = 1.41
    ts = np.concatenate([dec.decode(VALID["microbit"], r).t for r in arrive])
    np.testing.assert_allclose(ts - true_t, 0.01, atol=1e-9)


@pytest.mark.parametrize("drift", [-0.02, 0.02])
def test_host_clock_error_is_bounded_under_drift(drift):
    # A sensor 2% slower / faster than nominal, 3 samples per packed notification, jittery delivery.
    rng = np.random.default_rng(1)
    dec = get_profile("metawear").new_decoder(rate_hz=50, range_g=4)
    period = 0.02 * (1 - drift)
    errs, last, r = [], -np.inf, -np.inf
    for k in range(1000):                              # 3000 samples, 60 s
        true = (3 * k + np.arange(3)) * period
        r = max(r, true[-1] + 0.02 + rng.exponential(0.03))   # in order, like a BLE link
        t = dec.decode(VALID["metawear"], r).t
        assert t[0] > last and t[-1] <= r + 1e-9       # increasing, never after arrival
        last = t[-1]
        errs.append(t - true)
    errs = np.concatenate(errs)
    assert np.abs(errs).max() < 0.5 + 0.25              # max_lag plus delivery latency
    assert np.abs(errs[-300:]).max() < 0.5 + 0.25


def test_host_clock_burst_of_samples_in_one_notification():
    clock = HostSampleClock(100)
    t, rule = clock.stamp(5, 2.0)
    assert rule == "first" and t[-1] == 2.0 and np.allclose(np.diff(t), 0.01)
    t2, rule = clock.stamp(0, 2.1)
    assert t2.size == 0 and clock.last == 2.0


def test_device_clock_map():
    m = DeviceClockMap()
    h1 = m.map(np.array([100.0, 100.01]), received_at=5000.05)
    assert h1[-1] == pytest.approx(5000.05)
    h2 = m.map(np.array([100.02, 100.03]), received_at=5000.04)   # faster delivery: offset drops
    assert m.offset == pytest.approx(5000.04 - 100.03)
    assert h2[0] > h1[-1] and h2[1] > h2[0]                       # but never backwards
    assert m.map(np.array([]), 1.0).size == 0
    h3 = m.map(np.array([3.00, 3.01]), received_at=5000.10)       # device clock reset to ~0
    assert h3[-1] == pytest.approx(5000.10) and h3[0] > h2[-1] and m.reanchors == 1


def test_polar_interval_measured_nominal_and_gaps():
    dec = get_profile("polar-h10").new_decoder(rate_hz=50)
    s = [[0, 0, 1000]] * 10
    b1 = dec.decode(polar_frame(10**12, s), 1.0)
    assert b1.meta["interval"] == "nominal" and np.allclose(np.diff(b1.t), 0.02)
    b2 = dec.decode(polar_frame(10**12 + 10 * 19_900_000, s), 1.2)   # device runs at 50.25 Hz
    assert b2.meta["interval"] == "measured" and np.allclose(np.diff(b2.t), 0.0199)
    assert b2.t[0] == pytest.approx(b1.t[-1] + 0.0199)
    b3 = dec.decode(polar_frame(10**12 + 60 * 19_900_000, s), 2.2)   # four frames lost
    assert b3.meta["interval"] == "gap" and dec.stats["gaps"] == 1
    assert dec.stats["lost_samples_est"] == 40
    b4 = dec.decode(polar_frame(5 * 10**11, s), 2.4)                 # device clock set back
    assert b4.meta["interval"] == "clock_jump" and dec.stats["clock_jumps"] == 1
    assert b1.meta["device_epoch_unix"] == 946684800.0


def test_polar_compressed_type0_without_factor_uses_range():
    content = struct.pack("<3h", 0, 0, 4096) + bytes([0x01, 0x01, 0x00])   # one 1-bit zero delta
    data = bytes([0x02]) + struct.pack("<Q", 10**9) + bytes([0x80]) + content
    block = get_profile("polar-h10").new_decoder(range_g=8).decode(data, 1.0)
    np.testing.assert_allclose(block.acc, [[0, 0, 1.0], [0, 0, 1.0]])      # 4096 * 8/32768 = 1 g


def test_polar_raw_8_and_24_bit_frames():
    dec = get_profile("polar-h10").new_decoder()
    b8 = dec.decode(bytes([2]) + struct.pack("<Q", 10**9) + bytes([0x00, 0xFF, 0x7F, 0x80]), 1.0)
    assert b8.acc[0].tolist() == pytest.approx([-0.001, 0.127, -0.128])
    raw24 = b"".join(v.to_bytes(3, "little", signed=True) for v in (-1000, 1000, 8_000_000))
    b24 = dec.decode(bytes([2]) + struct.pack("<Q", 2 * 10**9) + bytes([0x02]) + raw24, 1.1)
    assert b24.acc[0].tolist() == pytest.approx([-1.0, 1.0, 8000.0])


def test_diy_sequence_gaps_duplicates_and_restarts():
    dec = get_profile("sensorback-diy").new_decoder()
    s = [[0, 0, 8197]] * 10
    f = lambda seq, t0, flags=0: diy.encode_frame(seq, t0, 20_000, 0.000122, s, flags=flags)
    b0 = dec.decode(f(0, 1_000_000, diy.FLAG_FIRST), 50.0)
    assert b0.t[0] == 1.0 and b0.t[-1] == pytest.approx(1.18)
    b1 = dec.decode(f(1, 1_200_000), 50.2)
    assert b1.t[0] == pytest.approx(1.2) and "lost_frames_before" not in b1.meta
    b4 = dec.decode(f(4, 1_800_000), 50.8)
    assert b4.meta["lost_frames_before"] == 2 and dec.stats["lost_frames"] == 2
    dup = dec.decode(f(4, 1_800_000), 50.9)
    assert len(dup) == 0 and dec.stats["duplicates"] == 1
    old = dec.decode(f(2, 1_400_000), 51.0)
    assert len(old) == 0 and dec.stats["duplicates"] == 2
    b = dec.decode(f(0, 9_000_000, diy.FLAG_FIRST | diy.FLAG_OVERFLOW), 60.0)
    assert len(b) == 10 and dec.stats["restarts"] == 1 and dec.stats["overflows"] == 1
    wrap = get_profile("sensorback-diy").new_decoder()
    wrap.decode(f(2**32 - 1, 1_000_000), 1.0)
    assert len(wrap.decode(f(0, 1_200_000), 1.2)) == 10 and wrap.stats["lost_frames"] == 0
    longer = diy.encode_frame(5, 0, 20_000, 0.5, [[1, 2, 3]])
    longer = longer[:3] + bytes([28]) + longer[4:24] + b"\0" * 4 + longer[24:]   # header_len 28
    assert get_profile("sensorback-diy").new_decoder().decode(longer, 1.0).acc[0].tolist() == [0.5, 1, 1.5]


def test_witmotion_records_split_across_notifications():
    dec = get_profile("witmotion").new_decoder(rate_hz=50)
    stream = b"".join(VALID["witmotion"] for _ in range(5))
    got = []
    for i, chunk in enumerate([stream[:7], stream[7:33], stream[33:34], stream[34:99], stream[99:]]):
        got.append(dec.decode(chunk, 1.0 + 0.02 * i))
    assert [len(b) for b in got] == [0, 1, 0, 3, 1]
    assert dec.stats["samples"] == 5 and dec.stats["skipped_bytes"] == 0
    # Garbage before a record is skipped and counted; a lone 0x55 at the end is kept.
    block = dec.decode(hx("00 13 37") + VALID["witmotion"] + hx("55"), 2.0)
    assert len(block) == 1 and dec.stats["skipped_bytes"] == 3 and dec.stats["byte_resyncs"] == 1
    assert len(dec.decode(VALID["witmotion"][1:], 2.02)) == 1      # completes the kept 0x55


# ----------------------------------------------------------------------------------------
# Malformed payloads: a DecodeError naming the profile, never IndexError/struct.error, and the
# decoder's state is left as it was (the next good payload decodes as if nothing happened).
# ----------------------------------------------------------------------------------------

C0 = struct.pack("<3h", 100, 200, 4000) + bytes([0x0A, 0x02]) + bytes(8)    # 10-bit, 2 samples
POLAR_C0 = bytes([2]) + struct.pack("<Q", 10**12) + bytes([0x80]) + C0

MALFORMED = [
    # (profile, payload, words the message must contain)
    ("microbit", b"", "empty"),
    ("microbit", struct.pack("<3h", 1, 2, 3)[:5], "5 bytes, expected 6"),          # short
    ("microbit", struct.pack("<4h", 1, 2, 3, 4), "8 bytes, expected 6"),
    # (the micro:bit payload has no type byte: nothing to get wrong there)
    ("thingy52", struct.pack("<9h", *range(9))[:17], "17 bytes, expected 18"),      # short
    ("thingy52", struct.pack("<3h", 0, 0, 1024), "6 bytes, expected 18"),          # accel only
    ("polar-h10", polar_frame(10**9, [[0, 0, 1000]])[:9], "9 bytes, the header needs 10"),
    ("polar-h10", hx("00") + polar_frame(10**9, [[0, 0, 1000]])[1:], "0x00 (ECG) is not acceleration"),
    ("polar-h10", hx("00 00 94 35 77 00 00 00 00 00 01 02 03 04"), "0x00 (ECG) is not acceleration"),
    ("polar-h10", polar_frame(10**9, [[0, 0, 1000]], ftype=0x05), "raw frame type 5"),
    ("polar-h10", polar_frame(10**9, [[0, 0, 1000]], ftype=0x83), "compressed frame type 3"),
    ("polar-h10", polar_frame(10**9, [[0, 0, 1000]])[:-1], "not a whole number of 6-byte samples"),
    ("polar-h10", polar_frame(10**9, []), "no samples"),
    ("polar-h10", POLAR_C0[:-1], "needs 8 bytes, only 7 left (truncated)"),   # truncated delta block
    ("polar-h10", POLAR_C0 + b"\x04", "header at byte 26 is truncated"),
    ("polar-h10", POLAR_C0[:16] + bytes([0x00, 0x02]) + POLAR_C0[18:], "delta size of 0 bits"),
    ("polar-h10", POLAR_C0[:16] + bytes([0x11, 0x02]) + POLAR_C0[18:], "delta size of 17 bits"),
    ("polar-h10", POLAR_C0[:16] + bytes([0x0A, 0x00]) + POLAR_C0[18:], "0 samples"),
    ("polar-h10", POLAR_C0[:14], "reference sample needs 6"),
    ("metawear", hx("03"), "1 bytes, needs at least 2"),
    ("metawear", hx("11 0a 01 02"), "module 0x11, not the accelerometer"),            # wrong type byte
    ("metawear", hx("03 85 00 00 00 00"), "register 0x85 is a read response"),
    ("metawear", hx("03 04 16 c4 94 a2 2a"), "7 bytes, expected 8"),                   # short
    ("metawear", VALID["metawear"][:19], "19 bytes, expected 20"),                     # truncated packed
    ("witmotion", hx("55 62") + bytes(18) + hx("55 63") + bytes(18) + hx("AA 55") + bytes(20),
     "without a 55 61 record header"),                                                # wrong type byte
    ("witmotion", bytes(range(1, 61)), "60 bytes without a 55 61"),
    ("sensorback-diy", VALID["sensorback-diy"][:23], "23 bytes, the v1 header needs 24"),
    ("sensorback-diy", hx("02") + VALID["sensorback-diy"][1:], "protocol version 2 is not supported"),
    ("sensorback-diy", VALID["sensorback-diy"][:-1], "truncated"),
    ("sensorback-diy", VALID["sensorback-diy"] + b"\0", "trailing bytes"),
    ("sensorback-diy", VALID["sensorback-diy"][:2] + b"\0" + VALID["sensorback-diy"][3:24], "0 samples"),
    ("sensorback-diy", VALID["sensorback-diy"][:3] + bytes([20]) + VALID["sensorback-diy"][4:],
     "header length 20"),
    ("sensorback-diy", diy.encode_frame(0, 0, 0, 0.1, [[1, 2, 3]]), "interval is 0"),
    ("sensorback-diy", diy.encode_frame(0, 0, 10, float("nan"), [[1, 2, 3]]), "not a positive number"),
    ("sensorback-diy", diy.encode_frame(0, 0, 10, -1.0, [[1, 2, 3]]), "not a positive number"),
    ("sensorback-diy", diy.encode_frame(0, 0, 10, 3e38, [[1, 2, 3]]), "not a positive number up to 1"),
]


@pytest.mark.parametrize("name, payload, words", MALFORMED,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(MALFORMED)])
def test_malformed_payload_is_a_named_decode_error(name, payload, words):
    dec = get_profile(name).new_decoder()
    good = dec.decode(VALID[name], 10.0)
    state = {k: v for k, v in vars(dec).items() if k != "stats"}
    with pytest.raises(DecodeError) as err:
        dec.decode(payload, 10.02)
    assert isinstance(err.value, SensorbackError)
    assert str(err.value).startswith(f"{name}: ") and err.value.profile == name
    assert words in str(err.value)
    assert dec.stats["errors"] == 1 and dec.stats["frames"] == 1
    assert {k: v for k, v in vars(dec).items() if k != "stats"}.keys() == state.keys()
    again = dec.decode(VALID_NEXT[name], 10.04)
    assert len(again) == len(good) and again.t[0] > good.t[-1]
    if get_profile(name).device_timestamps:
        assert again.t[0] - good.t[-1] == pytest.approx(0.02)


@pytest.mark.parametrize("name", NAMES)
def test_not_bytes_is_a_decode_error(name):
    with pytest.raises(DecodeError, match=f"^{name}: payload must be bytes"):
        get_profile(name).new_decoder().decode("03 04 00", 1.0)


@pytest.mark.parametrize("name", NAMES)
def test_random_and_mutated_payloads_only_ever_raise_decode_error(name):
    rng = random.Random(f"fuzz-{name}")
    dec = get_profile(name).new_decoder()
    base = VALID[name]
    samples = [POLAR_C0] if name == "polar-h10" else []
    t = 100.0
    for i in range(1500):
        kind = i % 3
        if kind == 0:
            payload = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 64)))
        else:
            src = bytearray(rng.choice([base, *samples]))
            for _ in range(rng.randrange(1, 4)):
                src[rng.randrange(len(src))] = rng.getrandbits(8)
            payload = bytes(src[:rng.randrange(0, len(src) + 1)] if kind == 2 else src)
        t += 0.02
        try:
            block = dec.decode(payload, t)
        except DecodeError as exc:
            assert str(exc).startswith(f"{name}: ")
            continue
        assert block.acc.shape == (len(block), 3) and np.all(np.isfinite(block.t))
    assert dec.stats["frames"] + dec.stats["errors"] == 1500
