"""Build Axivity .cwa files from the published format description, for tests.

Written independently of the reader (sensorback/formats/cwa.py), from the same facts: a 1024-byte
"MD" header, 512-byte "AX" data blocks, packed (3x 10-bit + 2-bit exponent, 120 samples) or 16-bit
(80 samples for 3 axes, 40 for 6) samples, whole-second RTC timestamps with a 15-bit fraction, and a
checksum word that makes the block's 16-bit sum zero.
"""

from __future__ import annotations

import datetime as dt
import struct

import numpy as np

RATE_CODES = {100.0: 0x0A, 50.0: 0x09, 25.0: 0x08, 200.0: 0x0B}  # bottom nibble: 3200/2^(15-n) Hz
RANGE_BITS = {16: 0, 8: 1, 4: 2, 2: 3}  # top two bits: range 16 >> n g


def pack_time(t: dt.datetime) -> int:
    return ((t.year - 2000) << 26) | (t.month << 22) | (t.day << 17) | (t.hour << 12) | (t.minute << 6) | t.second


def header(rate_hz=100.0, range_g=8, hardware=0x17, device_id=4321, session=7, annotation=b"_p=chest") -> bytes:
    h = bytearray(1024)
    h[0:2] = b"MD"
    struct.pack_into("<H", h, 2, 1020)
    h[4] = hardware
    struct.pack_into("<H", h, 5, device_id & 0xFFFF)
    struct.pack_into("<I", h, 7, session)
    struct.pack_into("<H", h, 11, device_id >> 16)
    h[36] = RATE_CODES[rate_hz] | (RANGE_BITS[range_g] << 6)
    h[41] = 45
    h[64:64 + len(annotation)] = annotation
    return bytes(h)


def _checksummed(block: bytearray) -> bytes:
    words = np.frombuffer(bytes(block[:510]), dtype="<u2")
    struct.pack_into("<H", block, 510, (-int(words.sum())) & 0xFFFF)
    return bytes(block)


def pack_sample(x: int, y: int, z: int) -> int:
    """Three values in 1/256 g; the smallest exponent that fits 10 bits."""
    for e in range(4):
        if all(-512 <= (v >> e) <= 511 and (v >> e) << e == v for v in (x, y, z)):
            return (e << 30) | (((z >> e) & 0x3FF) << 20) | (((y >> e) & 0x3FF) << 10) | ((x >> e) & 0x3FF)
    raise ValueError("value not representable")


def data_block(sequence: int, when: dt.datetime, fraction: float, raw: np.ndarray, *, rate_hz=100.0, range_g=8,
               packed=True, axes=3, gyro: np.ndarray | None = None, scale_n=0, session=7) -> bytes:
    """One data block whose first sample is at when + fraction (seconds) of the device clock.

    raw: (n, 3) int accelerometer values (1/256 g packed, 1/2^(8+scale_n) g unpacked). The timestamp
    is stored for sample 0 with the fraction flag set (offset = 0 + the firmware's shim, undone by
    readers)."""
    b = bytearray(512)
    b[0:2] = b"AX"
    struct.pack_into("<H", b, 2, 508)
    f15 = int(round(fraction * 32768)) & 0x7FFF
    struct.pack_into("<H", b, 4, 0x8000 | f15)
    struct.pack_into("<I", b, 6, session)
    struct.pack_into("<I", b, 10, sequence)
    struct.pack_into("<I", b, 14, pack_time(when))
    struct.pack_into("<H", b, 18, (scale_n << 13) | 100)
    struct.pack_into("<H", b, 20, 300)
    b[24] = RATE_CODES[rate_hz] | (RANGE_BITS[range_g] << 6)
    b[25] = (axes << 4) | (0 if packed else 2)
    shim = ((f15 << 1) * int(rate_hz)) >> 16
    struct.pack_into("<h", b, 26, -shim)  # firmware: offset moved by the shim; readers add it back
    n = len(raw)
    struct.pack_into("<H", b, 28, n)
    if packed:
        words = [pack_sample(*map(int, s)) for s in raw]
        struct.pack_into(f"<{n}I", b, 30, *words)
    else:
        rows = raw if axes == 3 else np.hstack([gyro, raw])
        flat = np.asarray(rows, dtype="<i2").ravel()
        b[30:30 + 2 * flat.size] = flat.tobytes()
    return _checksummed(b)


def recording(n_blocks: int, *, rate_hz=100.0, real_rate=None, packed=True, axes=3, seed=0,
              start=dt.datetime(2024, 3, 5, 23, 59, 50), range_g=8) -> tuple[bytes, np.ndarray, np.ndarray]:
    """(file bytes, true sample times in seconds from start, acceleration in g) of a recording whose
    device runs at real_rate (default: rate_hz)."""
    per = 120 if packed else 480 // (2 * axes)
    real = real_rate or rate_hz
    rng = np.random.default_rng(seed)
    raw = rng.integers(-200, 200, (n_blocks * per, 3))
    raw[:, 2] += 256
    raw[5::per] = (600, -800, 1024)  # needs the packed exponent (2)
    t = np.arange(n_blocks * per) / real
    out = [header(rate_hz, range_g, hardware=0x64 if axes == 6 else 0x17)]
    for k in range(n_blocks):
        t0 = t[k * per]
        whole = int(np.floor(t0))
        when = start + dt.timedelta(seconds=whole)
        gyro = rng.integers(-1000, 1000, (per, 3)) if axes == 6 else None
        out.append(data_block(k, when, t0 - whole, raw[k * per:(k + 1) * per], rate_hz=rate_hz, range_g=range_g,
                              packed=packed, axes=axes, gyro=gyro))
    # the reader stores times relative to the first sample; fractions are 1/32768 s
    return b"".join(out), t, raw.astype(np.float32) / 256.0


_FAST_DTYPE = np.dtype([
    ("magic", "S2"), ("length", "<u2"), ("fraction", "<u2"), ("session", "<u4"), ("sequence", "<u4"),
    ("timestamp", "<u4"), ("light", "<u2"), ("temperature", "<u2"), ("events", "u1"), ("battery", "u1"),
    ("rate", "u1"), ("format", "u1"), ("offset", "<i2"), ("count", "<u2"), ("data", "<i2", (240,)),
    ("checksum", "<u2"),
])


def write_cwa(chunks, path, start_unix: float, rate_hz: float = 100.0) -> None:
    """A big .cwa (16-bit samples, 80 per block, 1/256 g), vectorised, for benchmarks.

    chunks: (t, acc) pairs in time order, t in seconds from start_unix (the device clock read as
    UTC); every chunk but the last must hold a multiple of 80 samples."""
    per = 80
    seq = 0
    with open(path, "wb") as f:
        f.write(header(rate_hz, 8))
        for t, acc in chunks:
            k = -(-len(t) // per)
            rec = np.zeros(k, dtype=_FAST_DTYPE)
            vals = np.zeros((k * per, 3), dtype=np.int16)
            vals[: len(t)] = np.clip(np.round(np.asarray(acc) * 256.0), -32768, 32767)
            rec["data"] = vals.reshape(k, per * 3)
            first = start_unix + np.asarray(t)[::per]
            whole = np.floor(first).astype(np.int64)
            f15 = np.round((first - whole) * 32768).astype(np.int64)
            whole += f15 >> 15
            f15 &= 0x7FFF
            days = (whole // 86400).astype("datetime64[D]")
            year = days.astype("datetime64[Y]").astype(np.int64) + 1970
            month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
            day = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
            sod = whole % 86400
            rec["timestamp"] = (((year - 2000) << 26) | (month << 22) | (day << 17) | ((sod // 3600) << 12)
                                | (((sod // 60) % 60) << 6) | (sod % 60)).astype(np.uint32)
            rec["magic"], rec["length"], rec["session"] = b"AX", 508, 7
            rec["fraction"] = (0x8000 | f15).astype(np.uint16)
            rec["sequence"] = np.arange(seq, seq + k, dtype=np.uint32)
            seq += k
            rec["rate"] = RATE_CODES[rate_hz] | (RANGE_BITS[8] << 6)
            rec["format"] = 0x32
            shim = ((f15 << 1) * int(rate_hz)) >> 16
            rec["offset"] = (-shim).astype(np.int16)
            rec["count"] = per
            rec["count"][-1] = len(t) - per * (k - 1)
            words = rec.view(np.uint8).reshape(k, 512)[:, :510].copy().view("<u2")
            rec["checksum"] = (-(words.sum(axis=1, dtype=np.uint64).astype(np.int64))) & 0xFFFF
            f.write(rec.tobytes())
