"""Axivity AX3/AX6 ``.cwa`` files (the open CWA block format of OpenMovement), read in bounded memory.

Written from the published format description (OpenMovement ``Docs/ax3/cwa.h`` and
``ax3-technical.md``); the facts this reader relies on:

* a header of ``packetLength + 4`` bytes (1024) starting "MD": hardware type @4 (0x64 = AX6, else AX3),
  device id @5 (u16) and upper id @11 (u16, 0xffff = 0), session id @7, sampling-rate code @36,
  firmware @41, url-encoded annotation text @64 (448 bytes);
* then 512-byte data blocks starting "AX" with packet length 508: fraction-of-second flag and value @4,
  session @6, sequence number @10, packed RTC timestamp @14 (YYYYYYMM MMDDDDDh hhhhmmmm mmssssss, year
  from 2000), light / accel scale @18 (scale 1/2^(8+n) g with n the top 3 bits), rate code @24
  (3200/2^(15 - code & 15) Hz, range 16 >> (code >> 6) g), axes and packing @25 (top nibble 3/6/9 axes;
  bottom nibble 0 = packed, 2 = 16-bit), timestamp sample offset @26 (i16), sample count @28, samples
  @30-509, and a checksum @510 that makes the 16-bit word sum of the block zero (blocks whose rate
  code is 0, from very old firmware, carry none);
* packed samples: one little-endian u32 per sample, three 10-bit signed values (x in the low bits)
  shifted left by the 2-bit exponent in the top bits, in 1/256 g; 16-bit samples: gyro first on
  6/9-axis devices, then accelerometer (then magnetometer);
* timing: the RTC timestamp (plus the fraction when the top bit @4 is set, a 15-bit fraction whose
  sample offset was moved for older readers and is moved back here: offset + fraction*rate >> 16)
  belongs to the sample at the timestamp offset, so a block starts ``offset / rate`` before it.

Each sample's time is interpolated between the start of its block and the start of the next one (the
device's real rate, as OpenMovement's and GGIRread's readers do); for the last block, or when the next
block does not follow on (a gap, a skipped block), the block keeps the last real rate seen (the nominal
rate before any). A block that fails its checksum or is not a data block is skipped with a note, never
the file; a truncated last block is dropped with a note. The RTC holds the local time of the computer
that configured the device, without a time zone: ``start_time`` is that clock read as if it were UTC
(``meta["clock"] == "device-local"``), so its calendar days are the wearer's local days.
"""

from __future__ import annotations

import gzip
import os
import urllib.parse
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

import numpy as np

from ..errors import InputError, opening
from ..samples import SampleBlock
from ..timefmt import count
from .notes import LoadNotes, concat_with_notes
from .validate import check_samples

BLOCK = 512
HEADER_MIN = 1024
BLOCK_DTYPE = np.dtype([
    ("magic", "S2"), ("length", "<u2"), ("fraction", "<u2"), ("session", "<u4"), ("sequence", "<u4"),
    ("timestamp", "<u4"), ("light", "<u2"), ("temperature", "<u2"), ("events", "u1"), ("battery", "u1"),
    ("rate", "u1"), ("format", "u1"), ("offset", "<i2"), ("count", "<u2"), ("data", "V480"),
    ("checksum", "<u2"),
])
assert BLOCK_DTYPE.itemsize == BLOCK
DEFAULT_CHUNK = 1 << 20
RATE_TOLERANCE = 0.1  # a next block implying a rate more than 10 % off the nominal one is a gap
_MAX_LISTED = 5


def rate_of(code: int | np.ndarray):
    """Sampling rate in Hz of a CWA rate code."""
    return 3200.0 / np.left_shift(1, 15 - (np.asarray(code) & 15))


def range_of(code: int) -> int:
    return 16 >> (int(code) >> 6)


@dataclass
class CwaInfo:
    """What the header says, and how many data blocks follow it."""

    hardware: str  # "AX3" or "AX6"
    device_id: int
    session_id: int
    rate_hz: float
    range_g: int
    firmware: int
    header_len: int
    annotation: dict = field(default_factory=dict)
    data_blocks: int | None = None  # whole 512-byte blocks after the header (None for .gz)
    trailing_bytes: int = 0  # bytes of a partial last block

    @property
    def device(self) -> str:
        return f"axivity-{self.hardware.lower()}"


# ----------------------------------------------------------------------------- opening


def _is_gz(path) -> bool:
    return os.fspath(path).lower().endswith(".gz")


def _open(path) -> BinaryIO:
    with opening(path):
        f = open(path, "rb")
    if f.read(2) == b"\x1f\x8b":
        f.seek(0)
        return gzip.GzipFile(fileobj=f, mode="rb")  # closing it leaves f open; _opened closes both
    f.seek(0)
    return f


def _read(f: BinaryIO, n: int, path) -> bytes:
    """Up to n bytes (fewer at the end). A damaged or cut .gz stream raises _Truncated with the bytes
    decompressed before the damage."""
    out = bytearray()
    while len(out) < n:
        try:
            got = f.read1(n - len(out))  # one raw read at a time: a cut .gz keeps what came before
        except (EOFError, gzip.BadGzipFile, zlib.error):
            raise _Truncated(bytes(out)) from None
        except OSError as e:
            raise InputError(path, f"cannot read: {e.strerror or e}") from None
        if not got:
            break
        out += got
    return bytes(out)


class _Truncated(Exception):
    def __init__(self, data: bytes):
        self.data = data


@contextmanager
def _opened(path):
    f = _open(path)
    inner = getattr(f, "fileobj", None)  # the raw file under a GzipFile (which leaves it open)
    try:
        yield f
    finally:
        f.close()
        if inner is not None:
            inner.close()


def _parse_annotation(raw: bytes) -> dict:
    text = raw.rstrip(b" \x00\xff").decode("ascii", errors="replace").strip()
    if not text:
        return {}
    out = {}
    for part in text.lstrip("&?").split("&"):
        if part:
            k, _, v = part.partition("=")
            out[urllib.parse.unquote_plus(k)] = urllib.parse.unquote_plus(v)
    return out


def _parse_header(path, head: bytes) -> CwaInfo:
    if len(head) == 0:
        raise InputError(path, "empty file (0 bytes), not an Axivity .cwa recording")
    if head[:2] != b"MD":
        hint = " (it looks gzip-compressed; name it .cwa.gz)" if head[:2] == b"\x1f\x8b" else ""
        raise InputError(path, f"not an Axivity .cwa recording: starts with {head[:4]!r}, expected 'MD'{hint}")
    if len(head) < HEADER_MIN:
        raise InputError(path, f"truncated: file ends inside the {HEADER_MIN}-byte header ({len(head)} bytes)")
    length = int.from_bytes(head[2:4], "little")
    header_len = length + 4 if length + 4 >= HEADER_MIN and (length + 4) % BLOCK == 0 else HEADER_MIN
    hw = head[4]
    upper = int.from_bytes(head[11:13], "little")
    device_id = ((0 if upper == 0xFFFF else upper) << 16) | int.from_bytes(head[5:7], "little")
    code = head[36]
    return CwaInfo(
        hardware="AX6" if hw == 0x64 else "AX3",
        device_id=device_id,
        session_id=int.from_bytes(head[7:11], "little"),
        rate_hz=float(rate_of(code)),
        range_g=range_of(code),
        firmware=head[41],
        header_len=header_len,
        annotation=_parse_annotation(head[64:512]),
    )


def read_cwa_header(path) -> CwaInfo:
    """The header only (and, for an uncompressed file, how many data blocks follow)."""
    with _opened(path) as f:
        try:
            head = _read(f, HEADER_MIN, path)
        except _Truncated as t:
            head = t.data
    info = _parse_header(path, head)
    if not _is_gz(path):
        data = os.path.getsize(path) - info.header_len
        info.data_blocks, info.trailing_bytes = max(0, data) // BLOCK, max(0, data) % BLOCK
    return info


# ----------------------------------------------------------------------------- decoding


def _days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (vectorised; a standard calendar identity)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def rtc_seconds(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(seconds since 1970 of the packed RTC values read as UTC, valid mask)."""
    ts = ts.astype(np.int64)
    year = ((ts >> 26) & 0x3F) + 2000
    month = (ts >> 22) & 0x0F
    day = (ts >> 17) & 0x1F
    hour = (ts >> 12) & 0x1F
    minute = (ts >> 6) & 0x3F
    sec = ts & 0x3F
    dim = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month - 1, 0, 11)]
    valid = ((ts != 0) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= dim)
             & (hour < 24) & (minute < 60) & (sec < 60))
    days = _days_from_civil(year, np.clip(month, 1, 12), day)
    return days * 86400 + hour * 3600 + minute * 60 + sec, valid


@dataclass
class _Decoded:
    """The valid blocks of one read, in file order."""

    index: np.ndarray  # data-block number in the file
    sequence: np.ndarray
    start: np.ndarray  # seconds of the block's first sample, relative to the reader's base
    rate: np.ndarray  # nominal Hz
    count: np.ndarray
    acc: np.ndarray  # (sum(count), 3) float32 g
    first: np.ndarray  # offset of each block's first sample in acc


def _unpack_packed(words: np.ndarray) -> np.ndarray:
    """(k, n) u32 packed samples -> (k, n, 3) int32 in 1/256 g."""
    w = words.astype(np.uint32)
    e = (w >> 30).astype(np.int32)
    out = np.empty(w.shape + (3,), dtype=np.int32)
    for axis, shift in enumerate((0, 10, 20)):
        v = ((w >> shift) & 0x3FF).astype(np.int32)
        out[..., axis] = ((v ^ 0x200) - 0x200) << e
    return out


def _samples(rec: np.ndarray, body: np.ndarray, axes: int, packed: bool) -> tuple[np.ndarray, int]:
    """Acceleration (k, cap, 3) float32 g for blocks of one layout, and the cap."""
    if packed:
        cap = 120
        vals = _unpack_packed(body.view("<u4"))
        return vals.astype(np.float32) / np.float32(256.0), cap
    cap = 480 // (2 * axes)
    raw = body[:, : cap * 2 * axes].copy().view("<i2").reshape(len(body), cap, axes)
    acc = raw[:, :, 0:3] if axes == 3 else raw[:, :, 3:6]  # gyro first on 6/9-axis devices
    n = (rec["light"] >> 13).astype(np.int32)
    scale = (1.0 / np.left_shift(1, 8 + n)).astype(np.float32)
    return acc.astype(np.float32) * scale[:, None, None], cap


def _decode(buf: bytes, first_index: int, base: int | None, notes: "_Skips") -> tuple[_Decoded, int | None]:
    """Valid blocks of buf (a whole number of 512-byte blocks); the time base is set by the first valid one."""
    rec = np.frombuffer(buf, dtype=BLOCK_DTYPE)
    k = len(rec)
    index = first_index + np.arange(k, dtype=np.int64)
    words = np.frombuffer(buf, dtype="<u2").reshape(k, BLOCK // 2)
    magic_ok = (rec["magic"] == b"AX") & (rec["length"] == BLOCK - 4)
    sum_ok = (words.sum(axis=1, dtype=np.uint16) == 0) | (rec["rate"] == 0)
    fmt = rec["format"]
    axes = (fmt >> 4).astype(np.int64)
    packing = fmt & 0x0F
    packed = packing == 0
    layout_ok = ((packed & (axes == 3)) | ((packing == 2) & np.isin(axes, (3, 6, 9))))
    cap = np.where(packed, 120, 480 // np.maximum(2 * axes, 1))
    count = rec["count"].astype(np.int64)
    secs, ts_ok = rtc_seconds(rec["timestamp"])
    rate = np.where(rec["rate"] == 0, rec["offset"].astype(np.float64), rate_of(rec["rate"]))
    count_ok = (count <= cap) & (rate > 0)
    notes.add(index, ~magic_ok, "not a data block (no 'AX' block header)")
    bad = magic_ok & ~sum_ok
    notes.add(index, bad, "checksum mismatch")
    bad2 = magic_ok & sum_ok & ~(layout_ok & count_ok)
    notes.add(index, bad2, "unknown sample layout or count")
    bad3 = magic_ok & sum_ok & layout_ok & count_ok & ~ts_ok
    notes.add(index, bad3, "invalid timestamp")
    ok = magic_ok & sum_ok & layout_ok & count_ok & ts_ok & (count > 0)
    sel = np.flatnonzero(ok)
    if sel.size == 0:
        empty = np.zeros(0, np.int64)
        return _Decoded(empty, empty, np.zeros(0), np.zeros(0), empty, np.zeros((0, 3), np.float32), empty), base
    rec, secs, rate, count = rec[sel], secs[sel], rate[sel], count[sel]
    if base is None:
        base = int(secs[0])
    # Start of each block: the (fractional) timestamp belongs to sample `offset`.
    offset = rec["offset"].astype(np.float64)
    frac = np.zeros(len(rec))
    new = (rec["fraction"] & 0x8000) != 0
    f16 = ((rec["fraction"] & 0x7FFF).astype(np.int64) << 1)
    old_format = rec["rate"] == 0
    offset = np.where(old_format, 0.0, offset)
    shim = (f16 * rate.astype(np.int64)) >> 16  # the firmware moved the offset by this many samples
    offset = np.where(new & ~old_format, offset + shim, offset)
    frac = np.where(new & ~old_format, f16 / 65536.0, frac)
    start = (secs - base).astype(np.float64) + frac - offset / rate

    body_all = np.frombuffer(buf, dtype=np.uint8).reshape(k, BLOCK)[sel, 30:510]
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    acc = np.empty((int(count.sum()), 3), dtype=np.float32)
    fmt_sel = rec["format"]
    for code in np.unique(fmt_sel):
        rows = np.flatnonzero(fmt_sel == code)
        vals, c = _samples(rec[rows], np.ascontiguousarray(body_all[rows]), int(code) >> 4, (int(code) & 15) == 0)
        mask = np.arange(c)[None, :] < count[rows][:, None]
        pos = (first[rows][:, None] + np.arange(c)[None, :])[mask]
        acc[pos] = vals[mask]
    return _Decoded(index[sel], rec["sequence"].astype(np.int64), start, rate, count, acc, first), base


class _Skips:
    """Skipped blocks, grouped by reason, reported as one note per reason."""

    def __init__(self):
        self.count: dict[str, int] = {}
        self.first: dict[str, list[int]] = {}

    def add(self, index: np.ndarray, mask: np.ndarray, reason: str) -> None:
        if mask.any():
            self.count[reason] = self.count.get(reason, 0) + int(mask.sum())
            self.first.setdefault(reason, []).extend(index[mask][:_MAX_LISTED].tolist())

    def flush(self, notes: LoadNotes, header_len: int) -> None:
        for reason, n in self.count.items():
            shown = ", ".join(f"#{b}" for b in self.first[reason][:_MAX_LISTED]) + (", ..." if n > _MAX_LISTED else "")
            notes.add(f"skipped {count(n, 'corrupt data block')} ({reason}): {shown} "
                      f"(block #0 at byte {header_len}); their samples are missing, the rest is kept")
        self.count.clear()
        self.first.clear()


# ----------------------------------------------------------------------------- reading


def iter_cwa(path, chunk_samples: int = DEFAULT_CHUNK) -> Iterator[SampleBlock]:
    """Consecutive SampleBlocks of at most chunk_samples, reading about that many samples at a time."""
    if chunk_samples < 1:
        raise ValueError("chunk_samples must be >= 1")
    batch_blocks = max(1, chunk_samples // 120)
    with _opened(path) as f:
        yield from _iter(path, f, chunk_samples, batch_blocks)


def _iter(path, f, chunk_samples: int, batch_blocks: int) -> Iterator[SampleBlock]:
    try:
        head = _read(f, HEADER_MIN, path)
    except _Truncated as t:
        head = t.data
    info = _parse_header(path, head)
    if info.header_len > HEADER_MIN:
        _read(f, info.header_len - HEADER_MIN, path)
    meta = {"hardware": info.hardware, "serial": info.device_id, "session": info.session_id,
            "range_g": info.range_g, "firmware": info.firmware, "clock": "device-local"}
    if info.annotation:
        meta["annotation"] = info.annotation
    notes = LoadNotes(str(path))
    skips = _Skips()
    base: int | None = None  # integer RTC second of the first valid block
    carry: _Decoded | None = None  # last valid block, waiting for the next one's start
    next_index = 0
    period: float | None = None  # last real seconds-per-sample seen
    last_t: float | None = None  # time of the last sample handed out, relative to base
    start_abs: float | None = None
    dropped_back = 0
    prev = None
    emitted = 0
    eof = False
    while not eof:
        want = batch_blocks * BLOCK
        try:
            buf = _read(f, want, path)
        except _Truncated as t:
            buf = t.data
            kept = next_index + len(buf) // BLOCK
            notes.add(f"compressed data ends early (damaged or truncated .gz); kept the {kept} "
                      "whole data blocks before the damage")
            eof = True
        if len(buf) < want:
            eof = True
        tail = len(buf) % BLOCK
        if tail:
            at = next_index + len(buf) // BLOCK
            notes.add(f"truncated: file ends inside data block #{at} ({tail} of {BLOCK} bytes); dropped that partial block")
            buf = buf[: len(buf) - tail]
        dec, base = _decode(buf, next_index, base, skips)
        next_index += len(buf) // BLOCK
        blocks = _join(carry, dec)
        if len(blocks.index) == 0:
            carry = None
            continue
        hold = 0 if eof else 1  # the last block waits for the next one's start
        n_out = len(blocks.index) - hold
        t, acc, period, locs = _times(blocks, n_out, period)
        carry = _tail(blocks, n_out) if hold else None
        if len(t):
            if start_abs is None:
                start_abs = float(base) + float(t[0])  # base is whole seconds, so this is exact enough
                origin = float(t[0])
            keep = _increasing(t, last_t)
            if not keep.all():
                dropped_back += int((~keep).sum())
                t, acc, locs = t[keep], acc[keep], locs[keep]
        skips.flush(notes, info.header_len)
        if len(t) == 0:
            continue
        last_t = float(t[-1])
        rel = t - origin
        locate = _locator(locs, info.header_len)
        rel, acc = check_samples(rel, acc, path, locate, notes, prev=prev)
        for i in range(0, len(rel), chunk_samples):
            part_t, part_a = rel[i:i + chunk_samples], acc[i:i + chunk_samples]
            prev = (float(part_t[-1]), part_a[-1].copy())
            emitted += len(part_t)
            if eof and i + chunk_samples >= len(rel):
                _final_notes(notes, dropped_back)
            yield SampleBlock(part_t, part_a, device=info.device, rate_hz=info.rate_hz, start_time=start_abs,
                              meta=dict(meta, **({"notes": notes.emit()} if notes.messages else {})))
            notes = LoadNotes(str(path))
    skips.flush(notes, info.header_len)
    _final_notes(notes, dropped_back if emitted == 0 else 0)
    if emitted == 0:
        why = "; ".join(m.split(": ", 1)[1] for m in notes.messages)
        raise InputError(path, "recording holds no samples"
                         + (f" ({why})" if why else " (no data blocks after the header)"))
    if notes.messages:  # notes found after the last samples went out (e.g. a corrupt last block)
        notes.emit()


def _final_notes(notes: LoadNotes, dropped_back: int) -> None:
    if dropped_back:
        notes.add(f"dropped {dropped_back} samples whose time was not after the sample before "
                  "(the device clock stepped back); sensorback keeps samples in time order")


def _join(a: _Decoded | None, b: _Decoded) -> _Decoded:
    if a is None:
        return b
    shift = len(a.acc)
    return _Decoded(np.concatenate([a.index, b.index]), np.concatenate([a.sequence, b.sequence]),
                    np.concatenate([a.start, b.start]), np.concatenate([a.rate, b.rate]),
                    np.concatenate([a.count, b.count]), np.concatenate([a.acc, b.acc]),
                    np.concatenate([a.first, b.first + shift]))


def _tail(d: _Decoded, i: int) -> _Decoded:
    a0 = int(d.first[i])
    return _Decoded(d.index[i:], d.sequence[i:], d.start[i:], d.rate[i:], d.count[i:], d.acc[a0:].copy(),
                    d.first[i:] - a0)


def _times(d: _Decoded, n_out: int, period: float | None):
    """Sample times of the first n_out blocks (each block spread over the time to the next one when that
    one follows on directly at a plausible rate), their acceleration, and the sample's block number."""
    if n_out <= 0:
        return np.zeros(0), np.zeros((0, 3), np.float32), period, np.zeros(0, np.int64)
    per = np.full(n_out, np.nan)
    has_next = np.arange(n_out) + 1 < len(d.index)
    j = np.flatnonzero(has_next)
    follows = (d.index[j + 1] == d.index[j] + 1) & (d.sequence[j + 1] == d.sequence[j] + 1)
    real = (d.start[j + 1] - d.start[j]) / d.count[j]
    nominal = 1.0 / d.rate[j]
    plausible = follows & (np.abs(real / nominal - 1.0) <= RATE_TOLERANCE)
    per[j[plausible]] = real[plausible]
    # Blocks without a real rate keep the last real one (carried across reads), else the nominal one.
    known = np.isfinite(per)
    last_known = np.maximum.accumulate(np.where(known, np.arange(n_out), -1))
    carried = np.where(last_known >= 0, per[np.maximum(last_known, 0)], np.nan if period is None else period)
    usable = np.isfinite(carried) & (np.abs(carried * d.rate[:n_out] - 1.0) <= RATE_TOLERANCE)
    per = np.where(known, per, np.where(usable, carried, 1.0 / d.rate[:n_out]))
    if known.any():
        period = float(per[np.flatnonzero(known)[-1]])
    counts = d.count[:n_out]
    n = int(counts.sum())
    blk = np.repeat(np.arange(n_out), counts)
    within = np.arange(n) - np.repeat(d.first[:n_out], counts)
    t = d.start[:n_out][blk] + within * per[blk]
    return t, d.acc[:n], period, d.index[:n_out][blk]


def _increasing(t: np.ndarray, last: float | None) -> np.ndarray:
    """Mask of samples later than every sample before them (and than `last`)."""
    prior = np.maximum.accumulate(np.concatenate([[-np.inf if last is None else last], t]))[:-1]
    return t > prior


def _locator(block_of_sample: np.ndarray, header_len: int):
    def locate(i: int, column: int | None = None):
        if i < 0 or i >= len(block_of_sample):
            return None, "the sample before"
        b = int(block_of_sample[i])
        return None, f"data block #{b} (byte offset {header_len + BLOCK * b})"
    return locate


def read_cwa(path) -> SampleBlock:
    """A whole .cwa file as one SampleBlock (use iter_cwa for bounded memory)."""
    return concat_with_notes(list(iter_cwa(path)))
