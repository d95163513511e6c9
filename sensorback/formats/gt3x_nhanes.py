"""Older ActiGraph ``.gt3x`` files (the "NHANES" format: GT3X+ and ActiSleep+ with firmware up to
2.5.0), decoded from ActiGraph's published description (github.com/actigraph/NHANES-GT3X-File-Format,
``fileformats/activity.bin.md`` and ``info.txt.md``). pygt3x is not needed for them.

The zip holds ``info.txt`` ("Key: value" lines: ``Sample Rate`` in Hz, ``Start Date`` in .NET ticks)
and ``activity.bin``: one sample after another with no timestamps, 36 bits a sample, 12-bit two's
complement values in y, x, z order, most significant nibble first; a trailing nibble that does not
complete a sample is unused. A value becomes g by dividing by 341 and rounding to 3 decimals (half
away from zero), as ActiGraph's description and reference library do; ActiLife's CSV export prints
the same numbers. Sample i is at Start Date + i / rate on the device's local clock.

Memory is bounded: activity.bin is read a few hundred kilobytes at a time.
"""

from __future__ import annotations

import zipfile
from typing import Iterator

import numpy as np

from ..errors import InputError
from ..samples import SampleBlock
from .notes import LoadNotes
from .validate import check_samples

TICKS_PER_S = 10_000_000
TICKS_AT_UNIX_EPOCH = 621_355_968_000_000_000  # .NET ticks (100 ns since 0001-01-01) at 1970-01-01
COUNTS_PER_G = 341.0
BYTES_PER_TWO_SAMPLES = 9  # 2 samples x 3 axes x 12 bits = 72 bits


def read_info(z: zipfile.ZipFile, path) -> dict[str, str]:
    """info.txt as a dict of its "Key: value" lines."""
    try:
        text = z.read("info.txt").decode("utf-8", errors="replace")
    except KeyError:
        raise InputError(path, "no info.txt in this .gt3x file") from None
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def _number(info: dict, key: str, path, kind):
    try:
        return kind(info[key])
    except KeyError:
        raise InputError(path, f"info.txt has no {key!r}") from None
    except ValueError:
        raise InputError(path, f"info.txt: {key!r} is not a number ({info[key]!r})") from None


def decode_activity(raw: bytes, counts_per_g: float = COUNTS_PER_G) -> np.ndarray:
    """Whole samples packed in raw (any length; a partial sample at the end is ignored), as an
    (n, 3) float64 array of x, y, z in g rounded to 3 decimals."""
    b = np.frombuffer(raw, dtype=np.uint8)
    nibbles = np.empty(b.size * 2, dtype=np.int32)
    nibbles[0::2] = b >> 4
    nibbles[1::2] = b & 0x0F
    n = nibbles.size // 9 * 9  # 9 nibbles = one sample of three 12-bit values
    v = (nibbles[0:n:3] << 8) | (nibbles[1:n:3] << 4) | nibbles[2:n:3]
    v = np.where(v >= 2048, v - 4096, v).reshape(-1, 3)[:, [1, 0, 2]]  # stored y, x, z
    milli = np.abs(v) * (1000.0 / counts_per_g)
    return np.copysign(np.floor(milli + 0.5), v) / 1000.0  # half away from zero, like ActiLife


def iter_nhanes(path, z: zipfile.ZipFile, chunk_samples: int) -> Iterator[SampleBlock]:
    """Consecutive SampleBlocks of at most chunk_samples from an activity.bin file."""
    info = read_info(z, path)
    rate = _number(info, "Sample Rate", path, float)
    if not rate > 0:
        raise InputError(path, f"info.txt: sample rate {rate:g} Hz is not positive")
    start_ticks = _number(info, "Start Date", path, int)
    start = (start_ticks - TICKS_AT_UNIX_EPOCH) / TICKS_PER_S
    counts_per_g = float(info.get("Acceleration Scale") or COUNTS_PER_G)
    meta = {"clock": "device-local", "serial": info.get("Serial Number"), "timezone": info.get("TimeZone"),
            "idle_sleep_mode": None, "firmware": info.get("Firmware"), "reader": "sensorback (NHANES activity.bin)"}
    notes = LoadNotes(str(path))
    per_read = max(2, chunk_samples - chunk_samples % 2) // 2 * BYTES_PER_TWO_SAMPLES
    emitted = 0
    zero_run = 0  # all-zero samples at the end so far
    prev = None
    held: SampleBlock | None = None  # one block is held back so the last one can carry the notes
    try:
        with z.open("activity.bin") as f:
            while True:
                raw = f.read(per_read)
                if not raw:
                    break
                acc64 = decode_activity(raw, counts_per_g)
                for i in range(0, len(acc64), chunk_samples):
                    part = acc64[i:i + chunk_samples]
                    nonzero = np.flatnonzero(part.any(axis=1))
                    zero_run = len(part) - 1 - int(nonzero[-1]) if nonzero.size else zero_run + len(part)
                    t = (emitted + np.arange(len(part))) / rate
                    acc = part.astype(np.float32)
                    t, acc = check_samples(t, acc, path, lambda j, column=None: (None, f"sample {emitted + j}"), notes,
                                           prev=prev)
                    prev = (float(t[-1]), acc[-1].copy())
                    emitted += len(part)
                    if held is not None:
                        yield held
                    held = SampleBlock(t, acc, device="actigraph", rate_hz=rate, start_time=start, meta=dict(meta))
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise InputError(path, f"cannot read activity.bin ({type(e).__name__}: {e})") from None
    if held is None:
        raise InputError(path, "recording holds no samples")
    if zero_run:
        notes.add(f"the last {zero_run} samples (from {(emitted - zero_run) / rate:.1f} s) are 0 g on every "
                  "axis, which a working accelerometer never reads (memory the device did not write); "
                  "kept as recorded")
    shown = notes.emit(stacklevel=3)
    if shown:
        held.meta["notes"] = shown
    yield held
