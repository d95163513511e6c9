"""ActiGraph ``.gt3x`` files, read through ``pygt3x`` (ActiGraph's own reader; ``pip install
'sensorback[gt3x]'``, GPL-3.0-or-later, installed separately from sensorback's MIT code).

pygt3x decodes the file's activity records, applies the device's stored calibration and fills idle
sleep mode with the last value, as ActiLife does; sensorback takes its result as it is. Known limit:
pygt3x reads a whole file into memory (about 40 bytes per sample at its peak), so a gt3x file is not
read in bounded memory the way .sbr and .cwa files are.

The timestamps are the device's local clock without a time zone (the zone is in the file's info.txt
and is kept in ``meta["timezone"]``): ``start_time`` is that clock read as if it were UTC
(``meta["clock"] == "device-local"``), like .cwa files. pygt3x's own warnings (seconds with a wrong
number of samples, bad checksums, duplicates) become notes.
"""

from __future__ import annotations

import logging
import zipfile

import numpy as np

from ..errors import InputError
from ..samples import SampleBlock
from .notes import LoadNotes
from .validate import check_samples

TICKS_PER_S = 10_000_000
TICKS_AT_UNIX_EPOCH = 621_355_968_000_000_000  # .NET ticks (100 ns since 0001-01-01) at 1970-01-01
YEAR_2000 = 946_684_800.0
_MAX_NOTES = 5


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _reader():
    try:
        from pygt3x.reader import FileReader
    except ImportError:
        return None
    return FileReader


def read_gt3x(path) -> SampleBlock:
    """A whole .gt3x file as one SampleBlock (acceleration in g, calibrated by pygt3x)."""
    FileReader = _reader()
    if FileReader is None:
        raise InputError(path, "reading .gt3x needs ActiGraph's pygt3x: pip install 'sensorback[gt3x]'")
    if not zipfile.is_zipfile(path):
        raise InputError(path, "not an ActiGraph .gt3x file (a .gt3x is a zip archive)")
    notes = LoadNotes(str(path))
    log = logging.getLogger("pygt3x")
    handler = _Collect()
    log.addHandler(handler)
    old_propagate = log.propagate
    log.propagate = False  # its warnings become our notes instead of stray stderr lines
    try:
        with FileReader(str(path)) as reader:
            df = reader.to_pandas()
            info = reader.info
            ism = bool(reader.idle_sleep_mode_activated)
    except InputError:
        raise
    except (KeyError, ValueError, zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as e:
        raise InputError(path, f"cannot read this .gt3x file ({type(e).__name__}: {e})") from None
    finally:
        log.removeHandler(handler)
        log.propagate = old_propagate
    if handler.messages:
        shown = "; ".join(handler.messages[:_MAX_NOTES])
        more = f" (and {len(handler.messages) - _MAX_NOTES} more)" if len(handler.messages) > _MAX_NOTES else ""
        notes.add(f"pygt3x reported: {shown}{more}")
    if len(df) == 0:
        raise InputError(path, "recording holds no samples")
    stamp = df.index.to_numpy(dtype=np.float64)
    acc = df[["X", "Y", "Z"]].to_numpy(dtype=np.float32)
    start = float(stamp[0])
    if start < YEAR_2000 and getattr(info, "start_date", 0):
        # pygt3x's older (NHANES-format) files count from a scaled tick value; the header's start
        # date (in .NET ticks) gives the clock time of the first sample.
        start = (int(info.start_date) - TICKS_AT_UNIX_EPOCH) / TICKS_PER_S
        notes.add("timestamps re-based on the start date in info.txt (older gt3x format)")
    t = stamp - stamp[0]
    filled = int(df["IdleSleepMode"].to_numpy().sum()) if "IdleSleepMode" in df else 0
    if filled:
        notes.add(f"{filled} samples of idle sleep mode were filled with the last value (as ActiLife does)")
    locate = lambda i: (None, f"sample {i}")  # noqa: E731
    t, acc = check_samples(t, acc, path, locate, notes)
    meta = {"clock": "device-local", "serial": getattr(info, "serial_number", None),
            "timezone": getattr(info, "timezone", None), "idle_sleep_mode": ism, "reader": "pygt3x"}
    emitted = notes.emit()
    if emitted:
        meta["notes"] = emitted
    return SampleBlock(t, acc, device="actigraph", rate_hz=float(info.sample_rate), start_time=start, meta=meta)
