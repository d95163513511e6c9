"""ActiGraph ``.gt3x`` files. Current ones are decoded by ``pygt3x`` (ActiGraph's own reader; ``pip
install 'sensorback[gt3x]'``, GPL-3.0-or-later, installed separately from sensorback's MIT code).

Current files (``log.bin``) are read in bounded memory: pygt3x's ``LogReader`` hands over one record
(about a second of samples) at a time, its payload decoders turn activity records into raw counts and
its ``CalibrationV2Service`` (or the file's acceleration scale) turns them into g, chunk by chunk. What
its ``FileReader`` does for the whole file is kept: records with a bad checksum are skipped, USB-connect
records ignored, idle sleep mode (the device stops sampling while still) is filled with the last sample
for every second between the last recorded second and the end of the idle period, and seconds that do
not come after the last one are dropped (it sorts and de-duplicates instead). The result equals
``FileReader(...).to_pandas()`` sample for sample on the test files (tests/test_formats_devices.py).
Older files (``activity.bin``, NHANES format) are decoded by gt3x_nhanes from ActiGraph's published
format description (pygt3x's reader for them needs a log.txt that ActiGraph's own sample lacks).

The timestamps are the device's local clock without a time zone (the zone is in the file's info.txt
and is kept in ``meta["timezone"]``): ``start_time`` is that clock read as if it were UTC
(``meta["clock"] == "device-local"``), like .cwa files.
"""

from __future__ import annotations

import json
import math
import struct
import zipfile
from typing import Iterator

import numpy as np

from ..errors import InputError, opening
from ..samples import SampleBlock
from .gt3x_nhanes import iter_nhanes
from .notes import LoadNotes, concat_with_notes
from .validate import check_samples

DEFAULT_CHUNK = 1 << 20
_ISM_START, _ISM_END = b"\x08", b"\x09"


def _pygt3x(path):
    try:
        import pygt3x  # noqa: F401
    except ImportError:
        raise InputError(path, "reading .gt3x needs ActiGraph's pygt3x: pip install 'sensorback[gt3x]'") from None


def _open_zip(path) -> zipfile.ZipFile:
    try:
        with opening(path):
            return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError(path, "not an ActiGraph .gt3x file (a .gt3x is a zip archive)") from None


def _meta(info, ism: bool | None) -> dict:
    return {"clock": "device-local", "serial": getattr(info, "serial_number", None),
            "timezone": getattr(info, "timezone", None), "idle_sleep_mode": ism, "reader": "pygt3x"}


def iter_gt3x(path, chunk_samples: int = DEFAULT_CHUNK) -> Iterator[SampleBlock]:
    """Consecutive SampleBlocks of at most chunk_samples (whole seconds of records at a time)."""
    with _open_zip(path) as z:
        names = z.namelist()
        if "log.bin" not in names:
            if "activity.bin" not in names:
                raise InputError(path, "holds neither log.bin nor activity.bin: not an ActiGraph .gt3x file")
            yield from iter_nhanes(path, z, chunk_samples)
            return
        _pygt3x(path)
        try:
            yield from _stream(path, z, chunk_samples)
        except (KeyError, ValueError, zipfile.BadZipFile, EOFError, struct.error) as e:
            raise InputError(path, f"cannot read this .gt3x file ({type(e).__name__}: {e})") from None


def _calibrator(z: zipfile.ZipFile, info, path):
    from pygt3x.calibration import CalibrationV2Service

    cal = json.loads(z.read("calibration.json")) if "calibration.json" in z.namelist() else None
    if cal is None or "isCalibrated" not in cal or cal["isCalibrated"]:
        scale = float(info.acceleration_scale)
        if not scale > 0:
            raise InputError(path, "info.txt has no acceleration scale")
        return lambda raw: raw / scale
    if cal.get("calibrationMethod") == 2:
        service = CalibrationV2Service(cal, info.sample_rate)
        return service.calibrate_samples
    raise InputError(path, f"unknown calibration method {cal.get('calibrationMethod')!r} in calibration.json")


def _stream(path, z: zipfile.ZipFile, chunk_samples: int) -> Iterator[SampleBlock]:
    from pygt3x import Types
    from pygt3x.activity_payload import read_activity1_payload, read_activity2_payload, read_activity3_payload
    from pygt3x.components import Info
    from pygt3x.reader import LogReader

    decoders = {Types.Activity.value: read_activity1_payload, Types.Activity2.value: read_activity2_payload,
                Types.Activity3.value: read_activity3_payload}
    info = Info.read_zip(z)
    rate = int(info.sample_rate)
    if rate <= 0:
        raise InputError(path, "info.txt has no sample rate")
    calibrate = _calibrator(z, info, path)
    notes = LoadNotes(str(path))
    reader = LogReader(z.open("log.bin"))
    pending: list[np.ndarray] = []  # (n, 4): second-stamped time, raw x, y, z
    n_pending = 0
    last_second: float | None = None  # start of the last second of samples handed on
    last_values: np.ndarray | None = None  # its last raw sample
    ism_since: int | None = None
    ism = None
    bad_sum = dropped = filled = 0
    start: float | None = None
    prev = None
    emitted = 0

    def add(rows: np.ndarray) -> None:
        nonlocal n_pending, last_second, last_values
        pending.append(rows)
        n_pending += len(rows)
        last_second = float(math.floor(rows[-1, 0] + 1e-6))  # records hold whole seconds from their stamp
        last_values = rows[-1, 1:4]

    def fill(until: int) -> None:
        """Idle sleep mode: the last sample for every second after the last one, before `until`."""
        nonlocal filled
        if last_second is None or last_values is None:
            return
        secs = np.arange(int(last_second) + 1, until)
        if secs.size:
            t = (secs[:, None] + np.arange(rate)[None, :] / rate).ravel()
            rows = np.column_stack([t, np.tile(last_values, (t.size, 1))])
            filled += t.size
            add(rows)

    def flush(final: bool):
        nonlocal pending, n_pending, start, prev, emitted
        while n_pending >= chunk_samples or (final and n_pending):
            rows = np.concatenate(pending)
            take = rows if final and len(rows) <= chunk_samples else rows[:chunk_samples]
            rest = rows[len(take):]
            pending, n_pending = ([rest], len(rest)) if len(rest) else ([], 0)
            if start is None:
                start = float(take[0, 0])
            acc = np.asarray(calibrate(take[:, 1:4].astype(np.float64)), dtype=np.float32)
            t = take[:, 0] - start
            block_notes = notes
            t, acc = check_samples(t, acc, path, lambda i, column=None: (None, f"sample {emitted + i}"), block_notes, prev=prev)
            prev = (float(t[-1]), acc[-1].copy())
            emitted += len(t)
            yield t, acc

    last_ts = 0
    for evt in iter(reader.read_event, None):
        if not evt.is_checksum_valid:
            bad_sum += 1
            continue
        kind, ts, payload = evt.header.event_type, int(evt.header.timestamp), evt.payload
        last_ts = ts
        if kind == Types.Params.value:
            for p in np.frombuffer(payload[: len(payload) // 8 * 8], dtype="<u8"):
                addr = np.frombuffer(p.tobytes(), dtype="<u1")
                if addr[2] == 0x02:
                    ism = bool(addr[4] & 4)
            continue
        if kind == Types.Event.value and payload == _ISM_START:
            ism_since = ts
            continue
        if kind == Types.Event.value and payload == _ISM_END:
            if ism_since is not None:
                fill(ts)
            ism_since = None
            continue
        decode = decoders.get(kind)
        if decode is None or len(payload) == 1:
            continue  # other records; a 1-byte activity record marks a USB connection
        rows = decode(payload, ts, rate)
        if len(rows) == 0:
            continue
        if last_second is not None and ts <= last_second:
            dropped += len(rows)
            continue
        ism_since = None  # data again: an idle period whose end was not recorded is over
        add(rows[:, :4])
        for t, acc in flush(False):
            yield _block(t, acc, start, rate, info, ism, notes)
            notes = LoadNotes(str(path))
    if ism_since is not None:  # still idle when the recording ended
        fill(last_ts)
    if bad_sum:
        notes.add(f"skipped {bad_sum} records with a bad checksum")
    if dropped:
        notes.add(f"dropped {dropped} samples of records that did not come after the last second "
                  "(duplicates or a clock set back)")
    if filled:
        notes.add(f"{filled} samples of idle sleep mode were filled with the last value (as ActiLife does)")
    for t, acc in flush(True):
        yield _block(t, acc, start, rate, info, ism, notes)
        notes = LoadNotes(str(path))
    if emitted == 0:
        raise InputError(path, "recording holds no samples")
    if notes.messages:
        notes.emit()


def _block(t, acc, start, rate, info, ism, notes: LoadNotes) -> SampleBlock:
    meta = _meta(info, ism)
    emitted = notes.emit(stacklevel=4)
    if emitted:
        meta["notes"] = emitted
    return SampleBlock(t, acc, device="actigraph", rate_hz=float(rate), start_time=start, meta=meta)


def read_gt3x(path) -> SampleBlock:
    """A whole .gt3x file as one SampleBlock (use iter_gt3x for bounded memory)."""
    return concat_with_notes(list(iter_gt3x(path)))
