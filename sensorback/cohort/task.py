"""One recording of a cohort: read it in chunks, analyse it, and return its file row and day rows.

This runs on a Dask worker (or in the calling process); it never raises for a bad file: the file row
says ``failed`` with the one-line error, so one bad file never stops a study.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
import warnings
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ..errors import SensorbackError, file_error, one_line, utf8_text

#: Samples per chunk read from a file: ~16 MB of samples at a time, whatever the file's length.
CHUNK_SAMPLES = 1 << 20
HEAD_BYTES = 1 << 16

FILE_COLUMNS = ("file", "status", "error", "device", "rate_hz", "samples", "duration_s", "days", "start",
                "clock", "warnings")


@dataclass(frozen=True)
class Fingerprint:
    """What identifies an input's content cheaply: size, modification time and a hash of its head."""

    size: int
    mtime_ns: int
    head_sha256: str

    @classmethod
    def of(cls, path: str) -> "Fingerprint":
        """A file that cannot be read (no permission, gone since it was found) gets no hash: its
        analysis then fails and says why, as any bad file's does, and the study goes on."""
        try:
            st = os.stat(path)
        except OSError:
            return cls(-1, -1, "")
        h = hashlib.sha256()
        try:
            with open(path, "rb") as f:
                h.update(f.read(HEAD_BYTES))
        except OSError:
            return cls(st.st_size, st.st_mtime_ns, "")
        return cls(st.st_size, st.st_mtime_ns, h.hexdigest())

    def to_dict(self) -> dict:
        return {"size": self.size, "mtime_ns": self.mtime_ns, "head_sha256": self.head_sha256}


def analyze_file(path: str, label: str, timezone_name: str = "UTC", epoch_s: float | None = None) -> dict:
    """{"file": row, "days": [rows], "seconds": wall time}; never raises for a bad input."""
    from .. import formats
    from ..core import CoreOptions
    from ..core.pipeline import analyze_in_passes
    from .exposures import day_rows

    started = time.perf_counter()
    label = utf8_text(label)  # the tables' text: a file name that is not UTF-8 would fail them
    row = {c: None for c in FILE_COLUMNS}
    row.update(file=label, status="failed", error="", warnings="")
    days: list[dict] = []
    seen: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            options = CoreOptions() if epoch_s is None else CoreOptions(epoch_s=epoch_s)

            tallies: list[_Tally] = []

            def rescan():
                tallies.append(_Tally(formats.iter_blocks(path, chunk_samples=CHUNK_SAMPLES)))
                return tallies[-1]

            result = analyze_in_passes(rescan, options)
            calibration, table = result.calibration, result.epochs
            seen_blocks = tallies[0]
            # each pass over the file repeats its notes: keep one of each
            seen = list(dict.fromkeys(utf8_text(one_line(w.message)) for w in caught
                                      if issubclass(w.category, UserWarning)))
        meta, samples, t_first, t_last = seen_blocks.first, seen_blocks.samples, seen_blocks.t_first, seen_blocks.t_last
        if meta is None or samples == 0:
            raise SensorbackError(f"{label}: recording holds no samples")
        clock_local = meta.meta.get("clock") == "device-local"
        ref = calibration.reference
        days = day_rows(label, table, meta.start_time, clock_local, ZoneInfo(timezone_name),
                        calibration.sensor.note, ref.up_source, ref.forward_source)
        row.update(status="ok", device=meta.device, rate_hz=float(meta.rate_hz), samples=samples,
                   duration_s=_seconds(t_last - t_first) if t_first is not None else 0.0, days=len(days),
                   start=_iso(meta.start_time, t_first), clock=meta.clock)
    except SensorbackError as e:
        row["error"] = file_error(label, utf8_text(one_line(e)))
    except MemoryError:
        row["error"] = f"{label}: out of memory while analysing"
    except Exception as e:  # a bug must not end the study either; it is recorded for a report
        row["error"] = utf8_text(one_line(f"{label}: internal error {type(e).__name__}: {e}"))
    row["warnings"] = " | ".join(seen)
    return {"file": row, "days": days, "seconds": time.perf_counter() - started}


class _Tally:
    """Passes blocks through, remembering the first one, the sample count and the time span."""

    def __init__(self, blocks):
        self.blocks = blocks
        self.first = None
        self.samples = 0
        self.t_first = self.t_last = None

    def __iter__(self):
        for b in self.blocks:
            if self.first is None:
                self.first = b
            if len(b):
                self.samples += len(b)
                self.t_first = float(b.t[0]) if self.t_first is None else self.t_first
                self.t_last = float(b.t[-1])
            yield b


def _seconds(duration: float) -> float:
    """A file's duration to the second, as the day tables' times (whole epochs of 1 s) are written."""
    return float(round(duration))


def _iso(start_time, t_first) -> str | None:
    if start_time is None or t_first is None or not math.isfinite(start_time):
        return None
    from datetime import datetime, timezone

    when = datetime.fromtimestamp(start_time + t_first, tz=timezone.utc)
    return when.isoformat(timespec="seconds").replace("+00:00", "")
