"""sensorback native recording format (.sbr): appendable, crash-safe, and fast to load.

The full byte-level spec is docs/native-format.md. In short: a 32-byte binary header and UTF-8
JSON metadata padded to ``header_len``, then the samples in one of two layouts:

* rows (layout 1): 20-byte little-endian records ``<f8 t, <f4 ax, <f4 ay, <f4 az``. Appending
  is trivial and a crash can only tear the last record, so this is what a recorder (or
  firmware) writes while recording.
* columns (layout 2): all t (``<f8``), then all acc (``<f4`` x3, row-major). Loading is a
  memory map plus two zero-copy views, which is what makes a day-long file load in about the
  time of one array copy. NativeWriter.close() rewrites rows into columns atomically.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import stat
import struct
import zlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from ..errors import InputError, opening
from ..limits import EARLIEST, LATEST, is_plausible_unix
from ..private import create_private, fresh_writing_path, temp_named_as
from ..samples import SampleBlock
from .notes import OF_THE_READING, LoadNotes
from .units import check_g, judged_runs
from .validate import check_samples, check_time_axis

_RATE_FROM = "sample rate (rate_hz in the header)"

MAGIC = b"SBREC\x00\r\n"
VERSION = 1
ROWS, COLUMNS = 1, 2
FIXED = struct.Struct("<8sHHIQII")  # magic, version, layout, header_len, n_samples, json_len, crc32
FIXED_LEN = FIXED.size  # 32
HEADER_BLOCK = 4096
RECORD = np.dtype([("t", "<f8"), ("acc", "<f4", (3,))])  # 20 bytes, packed
_RECORD_RAW = np.dtype([("t", "<f8"), ("acc", "V12")])  # same bytes; a V12 copy is ~2x faster
REC = RECORD.itemsize
ZERO_ALIGN = 512  # a crash zero-fill starts on a filesystem block; 512 divides every block size
DEFAULT_CHUNK = 1 << 20


@dataclass
class NativeHeader:
    """Decoded header: where the samples are and what they describe."""

    layout: int
    header_len: int
    n_samples: int
    device: str = "unknown"
    rate_hz: float = 50.0
    start_time: float | None = None
    meta: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- header


def _jsonable(x):
    """Metadata must survive JSON: numpy scalars become Python numbers, NaN becomes null."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    return str(x)


def _meta_json(device, rate_hz, start_time, meta) -> bytes:
    from .. import __version__

    doc = {
        "format": "sensorback-native",
        "device": str(device),
        "rate_hz": float(rate_hz),
        "start_time": None if start_time is None else float(start_time),
        "meta": _jsonable({k: v for k, v in (meta or {}).items() if k not in OF_THE_READING}),
        "writer": f"sensorback {__version__}",
    }
    return json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _header_len_for(json_bytes: bytes) -> int:
    # Leave >= 1 KiB of padding so metadata can later be rewritten in place (update_meta).
    need = FIXED_LEN + len(json_bytes) + 1024
    return HEADER_BLOCK * -(-need // HEADER_BLOCK)


def _pack_header(layout: int, header_len: int, n_samples: int, json_bytes: bytes) -> bytes:
    if FIXED_LEN + len(json_bytes) > header_len:
        raise ValueError("metadata does not fit in the header")
    fixed = FIXED.pack(MAGIC, VERSION, layout, header_len, n_samples, len(json_bytes), 0)
    crc = zlib.crc32(fixed[:28] + json_bytes)
    fixed = fixed[:28] + struct.pack("<I", crc)
    return fixed + json_bytes + b" " * (header_len - FIXED_LEN - len(json_bytes))


def _read_header(path, fd: int, size: int) -> NativeHeader:
    """Parse and check the header; a wrong magic or corrupted header is an InputError."""
    if size == 0:
        raise InputError(path, "empty file (0 bytes), not a sensorback recording")
    raw = os.pread(fd, min(size, HEADER_BLOCK), 0)
    if not raw.startswith(MAGIC[:5]):
        hint = " (it looks gzip-compressed)" if raw[:2] == b"\x1f\x8b" else ""
        raise InputError(path, f"not a sensorback native recording: bad magic {raw[:8]!r}{hint}; expected {MAGIC!r}")
    if len(raw) < FIXED_LEN:
        raise InputError(path, f"truncated: file ends inside the header ({len(raw)} bytes)")
    if raw[:8] != MAGIC:
        raise InputError(path, f"corrupted header: magic is {raw[:8]!r}, expected {MAGIC!r} (transferred in text mode?)")
    _, version, layout, header_len, n_samples, json_len, crc = FIXED.unpack_from(raw)
    if version > VERSION:
        raise InputError(path, f"format version {version} is newer than this sensorback reads ({VERSION}); upgrade sensorback")
    if version < 1 or layout not in (ROWS, COLUMNS):
        raise InputError(path, f"corrupted header: version {version}, layout {layout}")
    if header_len % 8 == 0 and FIXED_LEN + json_len <= header_len <= 1 << 24 and header_len > size:
        raise InputError(path, f"truncated: file ends inside the header ({size} of {header_len} bytes)")
    if header_len % 8 or header_len < FIXED_LEN + json_len or header_len > size:
        raise InputError(path, f"corrupted header: header_len {header_len}, json_len {json_len}, file size {size}")
    if header_len > len(raw):
        raw = os.pread(fd, header_len, 0)
    json_bytes = raw[FIXED_LEN : FIXED_LEN + json_len]
    if crc != 0 and zlib.crc32(raw[:28] + json_bytes) != crc:
        raise InputError(path, "corrupted header: checksum mismatch (header bytes 0-27 or the metadata JSON were damaged)")
    try:
        doc = json.loads(json_bytes.decode("utf-8")) if json_bytes.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(path, f"corrupted header: metadata is not valid UTF-8 JSON ({e})") from None
    if not isinstance(doc, dict):
        raise InputError(path, "corrupted header: metadata JSON must be an object")
    return NativeHeader(layout, header_len, n_samples, **_header_fields(path, doc))


def _header_fields(path, doc: dict) -> dict:
    out = {}
    device = doc.get("device", "unknown")
    if not isinstance(device, str):
        raise InputError(path, f"header field 'device' must be a string, got {device!r}")
    out["device"] = device
    rate = doc.get("rate_hz")
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not (math.isfinite(rate) and rate > 0):
        raise InputError(path, f"header field 'rate_hz' must be a positive number, got {rate!r}")
    out["rate_hz"] = float(rate)
    st = doc.get("start_time")
    if st is not None and (not isinstance(st, (int, float)) or isinstance(st, bool) or not math.isfinite(st)):
        raise InputError(path, f"header field 'start_time' must be Unix seconds or null, got {st!r}")
    out["start_time"] = None if st is None else float(st)
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        raise InputError(path, f"header field 'meta' must be an object, got {type(meta).__name__}")
    out["meta"] = meta
    return out


# ----------------------------------------------------------------------------- extent / crash recovery


def _trailing_zero_start(fd: int, start: int, end: int) -> int:
    """File offset where the final run of zero bytes in [start, end) begins (end if none)."""
    pos = end
    while pos > start:
        lo = max(start, pos - (1 << 16))
        nz = np.flatnonzero(np.frombuffer(os.pread(fd, pos - lo, lo), dtype=np.uint8))
        if nz.size:
            return lo + int(nz[-1]) + 1
        pos = lo
    return start


def _recover_rows(fd: int, hdr: NativeHeader, end: int, notes: LoadNotes) -> int:
    """Number of whole, trustworthy records in a rows file that was not closed cleanly."""
    h = hdr.header_len
    z0 = _trailing_zero_start(fd, h, end)
    zrun = end - z0
    if zrun and (zrun >= REC or z0 % ZERO_ALIGN == 0):
        cut = h + (z0 - h) // REC * REC  # also drops a record torn by the zero-fill
        notes.add(f"dropped a zero-filled tail of {end - cut} bytes (left by a crash or power loss)")
        end = cut
    partial = (end - h) % REC
    if partial:
        notes.add(f"dropped {partial} trailing bytes of a partial record (recording was interrupted)")
        end -= partial
    return (end - h) // REC


def _extent(fd: int, hdr: NativeHeader, size: int, notes: LoadNotes, path) -> int:
    """How many samples can be read, applying the documented repairs (spec: "Crash recovery")."""
    data = size - hdr.header_len
    if hdr.layout == COLUMNS:
        n = hdr.n_samples
        if data >= REC * n:
            if data > REC * n:
                notes.add(f"ignored {data - REC * n} bytes after the {n} samples the header declares")
            return n
        k = max(0, (data - 8 * n) // 12) if data >= 8 * n else 0
        if k == 0:
            raise InputError(path, f"truncated: header declares {n} samples ({REC * n} data bytes) but only {data} bytes are present; no acceleration data left")
        notes.add(f"truncated: file is {REC * n - data} bytes short; recovered {k} of {n} samples")
        return k
    if hdr.n_samples:  # rows, closed cleanly
        n = hdr.n_samples
        if data == REC * n:
            return n
        if data > REC * n:
            notes.add(f"ignored {data - REC * n} bytes after the {n} samples the header declares")
            return n
        k = _recover_rows(fd, hdr, size, notes)
        notes.add(f"truncated: header declares {n} samples, recovered {k}")
        return k
    return _recover_rows(fd, hdr, size, notes)


@dataclass
class _Opened:
    hdr: NativeHeader
    n: int
    notes: LoadNotes


def _open(path) -> tuple[int, _Opened]:
    with opening(path):
        fd = os.open(os.fspath(path), os.O_RDONLY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(path, "not a regular file")
        size = st.st_size
        hdr = _read_header(path, fd, size)
        notes = LoadNotes(str(path))
        if hdr.start_time is not None and not is_plausible_unix(hdr.start_time):
            notes.add(f"start_time {hdr.start_time:.10g} is not a date from {EARLIEST.year} to {LATEST.year - 1} "
                      "(a clock that was never set?); the start time is taken as unknown")
            hdr.start_time = None
        n = _extent(fd, hdr, size, notes, path)
        if n == 0:
            dropped = f" ({'; '.join(m.split(': ', 1)[1] for m in notes.messages)})" if notes.messages else ""
            raise InputError(path, f"recording holds no samples{dropped}")
        return fd, _Opened(hdr, n, notes)
    except BaseException:
        os.close(fd)
        raise


def _offset(hdr: NativeHeader, k: int, column: int | None = None) -> int:
    """Where record k's value of column (0 t, 1-3 ax, ay, az; None: the record, i.e. its t) starts."""
    axis = 4 * (column - 1) if column else None
    if hdr.layout == ROWS:
        return hdr.header_len + REC * k + (0 if axis is None else 8 + axis)
    if axis is None:
        return hdr.header_len + 8 * k
    return hdr.header_len + 8 * hdr.n_samples + 12 * k + axis


def _locator(hdr: NativeHeader, base: int = 0):
    def locate(i: int, column: int | None = None):
        k = base + i
        return None, f"record {k} (byte offset {_offset(hdr, k, column)})"

    return locate


def _read_acc(fd: int, hdr: NativeHeader, first: int, k: int) -> np.ndarray:
    """Acceleration of records [first, first + k), (k, 3) float32."""
    if hdr.layout == COLUMNS:
        acc = np.empty((k, 3), dtype="<f4")
        _pread_into(fd, acc, _offset(hdr, first, 1))
        return acc
    rec = np.empty(k, dtype=_RECORD_RAW)
    _pread_into(fd, rec, _offset(hdr, first))
    return _split_rows(rec)[1]


def _check_units(path, fd: int, o: _Opened) -> None:
    """A .sbr holds g: refuse values in another unit (m/s^2, mg), judged from the few rows
    units.judged_runs names, the same for whole and chunked reads, before any sample is used."""
    runs = judged_runs(o.n)
    check_g(np.concatenate([_read_acc(fd, o.hdr, first, k) for first, k in runs]), path, "a .sbr file")


def _block(hdr: NativeHeader, t, acc, notes: list[str]) -> SampleBlock:
    meta = dict(hdr.meta)
    if notes:
        meta["notes"] = notes
    return SampleBlock(t=t, acc=acc, device=hdr.device, rate_hz=hdr.rate_hz, start_time=hdr.start_time, meta=meta)


# ----------------------------------------------------------------------------- reading


def read_native(path) -> SampleBlock:
    """Load a whole .sbr file; repairs are in ``block.meta["notes"]`` and raised as FormatWarning.

    Columns files are memory-mapped copy-on-write: t and acc are contiguous, writable views of
    the page cache, so nothing is copied until someone writes to them.
    """
    fd, o = _open(path)
    try:
        _check_units(path, fd, o)
        h, n = o.hdr.header_len, o.n
        if o.hdr.layout == COLUMNS:
            mm = mmap.mmap(fd, h + 8 * o.hdr.n_samples + 12 * n, access=mmap.ACCESS_COPY)
            t = np.frombuffer(mm, dtype="<f8", count=n, offset=h)
            acc = np.frombuffer(mm, dtype="<f4", count=3 * n, offset=h + 8 * o.hdr.n_samples).reshape(n, 3)
        else:
            # Interleaved records must be copied apart (~4x slower than columns; fine for
            # recovering a crashed recording, and `sensorback convert` compacts it).
            with mmap.mmap(fd, h + REC * n, access=mmap.ACCESS_READ) as mm:
                t, acc = _split_rows(np.frombuffer(mm, dtype=_RECORD_RAW, count=n, offset=h))
    finally:
        os.close(fd)
    t, acc = check_samples(t, acc, path, _locator(o.hdr), o.notes)
    check_time_axis(t, o.hdr.rate_hz, path, _locator(o.hdr), o.notes, rate_from=_RATE_FROM)
    return _block(o.hdr, t, acc, o.notes.emit())


def iter_native(path, chunk_samples: int = DEFAULT_CHUNK) -> Iterator[SampleBlock]:
    """Yield consecutive SampleBlocks of at most chunk_samples, reading only one chunk at a time.

    Bounded memory for multi-day files; checks (including across chunk edges) and notes are
    the same as read_native. File-level repair notes come with the first chunk.
    """
    if chunk_samples < 1:
        raise ValueError("chunk_samples must be >= 1")
    fd, o = _open(path)
    try:
        _check_units(path, fd, o)
        hdr, n = o.hdr, o.n
        notes = o.notes
        prev = None
        t_first, skipped = None, 0.0
        for i in range(0, n, chunk_samples):
            k = min(chunk_samples, n - i)
            if hdr.layout == COLUMNS:
                t = np.empty(k, dtype="<f8")
                acc = np.empty((k, 3), dtype="<f4")
                _pread_into(fd, t, hdr.header_len + 8 * i)
                _pread_into(fd, acc, hdr.header_len + 8 * hdr.n_samples + 12 * i)
            else:
                rec = np.empty(k, dtype=_RECORD_RAW)
                _pread_into(fd, rec, hdr.header_len + REC * i)
                t, acc = _split_rows(rec)
            t, acc = check_samples(t, acc, path, _locator(hdr, i), notes, prev=prev)
            if len(t):
                skipped = check_time_axis(t, hdr.rate_hz, path, _locator(hdr, i), notes, rate_from=_RATE_FROM,
                                          prev_t=None if prev is None else prev[0], skipped_before=skipped,
                                          t_first=float(t[0]) if t_first is None else t_first)
                t_first = float(t[0]) if t_first is None else t_first
                prev = (float(t[-1]), acc[-1].copy())
            yield _block(hdr, t, acc, notes.emit())
            notes = LoadNotes(str(path))
    finally:
        os.close(fd)


def _split_rows(rec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved records -> contiguous t (n,) and acc (n, 3), both fresh copies."""
    t = rec["t"].copy()
    acc = rec["acc"].copy().view("<f4").reshape(-1, 3)
    return t, acc


def read_native_header(path) -> NativeHeader:
    """Just the metadata (device, rate, start time, sample count) without reading samples."""
    fd, o = _open(path)
    os.close(fd)
    o.hdr.n_samples = o.n
    return o.hdr


def _pread_into(fd: int, arr: np.ndarray, offset: int) -> None:
    view = memoryview(arr).cast("B")
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], offset + done)
        if got <= 0:
            raise OSError(f"unexpected end of file at byte {offset + done}")
        done += got


# ----------------------------------------------------------------------------- writing


def _write_all(fd: int, data, offset: int | None = None) -> None:
    view = memoryview(data).cast("B")
    while len(view):
        k = os.write(fd, view) if offset is None else os.pwrite(fd, view, offset)
        view = view[k:]
        if offset is not None:
            offset += k


def _fsync_dir(path: str) -> None:
    try:
        dfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _check_appendable(t: np.ndarray, acc: np.ndarray, last_t: float | None) -> None:
    if not (np.isfinite(t).all() and np.isfinite(acc).all()):
        raise ValueError("cannot record NaN or infinite values")
    if t.size > 1 and not np.greater(t[1:], t[:-1]).all():
        raise ValueError("timestamps must strictly increase")
    if last_t is not None and not t[0] > last_t:
        raise ValueError(f"timestamp {t[0]!r} does not follow the last recorded one ({last_t!r})")


def write_native(block: SampleBlock, path, chunk_samples: int = DEFAULT_CHUNK) -> None:
    """Write a finished recording in the columns layout, atomically (temp file + rename)."""
    write_native_blocks(path, [block], len(block), block.device, block.rate_hz, block.start_time, block.meta)


def write_native_blocks(path, blocks: Iterable[SampleBlock], n_samples: int, device: str = "unknown",
                        rate_hz: float = 50.0, start_time: float | None = None, meta: dict | None = None) -> None:
    """write_native for a recording that comes as consecutive blocks, n_samples in all (known
    beforehand: the header holds the count and the accelerations follow every timestamp), holding
    one block at a time. The blocks' own device, rate and metadata are not looked at.

    Atomic like write_native: nothing appears at ``path`` until the last block is in, and a failure
    or an interrupt (Ctrl-C) on the way, in this function or in whatever makes the blocks, removes
    the temp file."""
    path = os.fspath(path)
    jb = _meta_json(device, rate_hz, start_time, meta)
    h, n = _header_len_for(jb), int(n_samples)
    tmp = fresh_writing_path(path)
    with temp_named_as(tmp, path):
        fd = create_private(tmp)
    try:
        _write_all(fd, _pack_header(COLUMNS, h, n, jb), 0)
        k, last = 0, None
        for block in blocks:
            t = np.ascontiguousarray(block.t, dtype="<f8")
            acc = np.ascontiguousarray(block.acc, dtype="<f4")
            if not t.size:
                continue
            _check_appendable(t, acc, last)
            if k + t.size > n:
                raise ValueError(f"more samples than the {n} announced")
            _write_all(fd, t, h + 8 * k)
            _write_all(fd, acc, h + 8 * n + 12 * k)
            k, last = k + t.size, float(t[-1])
        if k != n:
            raise ValueError(f"{k} samples written, {n} announced")
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path)


class NativeWriter:
    """Append samples to a .sbr file while recording; survives being killed at any moment.

    Samples are buffered in memory and handed to the OS whenever the buffer spans
    ``flush_interval_s`` of *sample time*, so a killed process loses less than that much of
    the most recent data (the OS page cache survives a process kill; fsync on close covers
    power loss for finished files). close() marks the file complete and, with compact=True,
    rewrites it into the fast columns layout via a temp file and an atomic rename.
    """

    def __init__(
        self,
        path,
        device: str = "unknown",
        rate_hz: float = 50.0,
        start_time: float | None = None,
        meta: dict | None = None,
        *,
        flush_interval_s: float = 1.0,
        compact: bool = True,
    ):
        self.path = os.fspath(path)
        self.flush_interval_s = float(flush_interval_s)
        self.compact = compact
        self._json = _meta_json(device, rate_hz, start_time, meta)
        self._header_len = _header_len_for(self._json)
        self._pending: list[bytes] = []
        self._pending_t0: float | None = None
        self._last_t: float | None = None
        self._n = 0
        self._closed = False
        # Unlink first: a reader that memory-mapped an old file at this path keeps a valid map.
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self._fd = create_private(self.path, exclusive=True)
        _write_all(self._fd, _pack_header(ROWS, self._header_len, 0, self._json))

    @property
    def n_samples(self) -> int:
        return self._n

    def append(self, block: SampleBlock) -> None:
        """Add samples; ValueError if they are not finite or do not continue the timeline."""
        if self._closed:
            raise ValueError("writer is closed")
        t = np.asarray(block.t, dtype="<f8")
        acc = np.asarray(block.acc, dtype="<f4").reshape(-1, 3)
        if t.size == 0:
            return
        _check_appendable(t, acc, self._last_t)
        rec = np.empty(t.size, dtype=RECORD)
        rec["t"], rec["acc"] = t, acc
        self._pending.append(rec.tobytes())
        if self._pending_t0 is None:
            self._pending_t0 = float(t[0])
        self._last_t = float(t[-1])
        self._n += t.size
        if self._last_t - self._pending_t0 >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        """Hand buffered records to the OS (survives a process kill, not a power cut)."""
        if self._pending:
            _write_all(self._fd, b"".join(self._pending))
            self._pending.clear()
        self._pending_t0 = None

    def sync(self) -> None:
        """flush() and fsync: survives a power cut too."""
        self.flush()
        os.fsync(self._fd)

    def update_meta(self, device=None, rate_hz=None, start_time=None, meta=None) -> None:
        """Rewrite the metadata in place (e.g. start_time learned after the first packet)."""
        doc = json.loads(self._json)
        jb = _meta_json(
            doc["device"] if device is None else device,
            doc["rate_hz"] if rate_hz is None else rate_hz,
            doc["start_time"] if start_time is None else start_time,
            doc["meta"] if meta is None else meta,
        )
        _write_all(self._fd, _pack_header(ROWS, self._header_len, 0, jb), 0)  # raises if too big
        self._json = jb

    def close(self) -> None:
        """Flush, fsync, mark complete; then compact to columns if asked. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
            _write_all(self._fd, _pack_header(ROWS, self._header_len, self._n, self._json)[:FIXED_LEN], 0)
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
        if self.compact and self._n:
            _compact(self.path, self._header_len, self._n, self._json)

    def __enter__(self) -> "NativeWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()  # keep what was recorded even if the recording loop raised


def _compact(path: str, header_len: int, n: int, json_bytes: bytes, chunk: int = DEFAULT_CHUNK) -> None:
    """Rows -> columns in bounded memory; the rows file stays valid until the atomic rename."""
    tmp = f"{path}.compacting"
    src = os.open(path, os.O_RDONLY)
    try:
        dst = create_private(tmp)
        try:
            _write_all(dst, _pack_header(COLUMNS, header_len, n, json_bytes), 0)
            for i in range(0, n, chunk):
                rec = np.empty(min(chunk, n - i), dtype=_RECORD_RAW)
                _pread_into(src, rec, header_len + REC * i)
                t, acc = _split_rows(rec)
                _write_all(dst, t, header_len + 8 * i)
                _write_all(dst, acc, header_len + 8 * n + 12 * i)
            os.fsync(dst)
        finally:
            os.close(dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        os.close(src)
    os.replace(tmp, path)
    _fsync_dir(path)
