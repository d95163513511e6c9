"""Time columns written as date-times ('2019-12-23 21:04:06.690', Axivity's CSV export) into seconds.

ISO 8601 dates with a space or 'T' and any fraction of a second are read (numpy parses them in C:
about a second per million rows). Without a time zone they are the logger's clock, which was set
from a computer, so they are read as this computer's local time, and the note says which offset
that was; 'Z' or an offset such as '+02:00' on the first value is applied to all of them.
"""

from __future__ import annotations

import math
import re
import warnings
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from ..errors import InputError
from ..limits import is_plausible_unix

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def looks_like_datetime(cell: str) -> bool:
    return bool(_ISO.match(cell.strip().strip('"').strip()))


def first_not_datetime(cells: np.ndarray) -> str | None:
    """The first of some stripped cells that does not look like a date-time, or None."""
    return next((c for c in cells.tolist() if not looks_like_datetime(c)), None)


class DateTimeColumn:
    """A column of ISO date-times read a chunk of cells at a time (a week at 50 Hz is 30 M cells):
    the first value decides the time zone for all, each chunk becomes datetime64 stamps, and
    seconds() turns them all into t and the start time."""

    def __init__(self, path, first_cells: np.ndarray, name: str, line: int):
        """first_cells: the column's first cell (none when the column is empty)."""
        self.path, self.name, self.line = path, name, line
        cells = _stripped(first_cells)
        self.first = str(cells[0]) if cells.size else ""
        if not looks_like_datetime(self.first):
            raise InputError(path, f"{name} holds text, not numbers or ISO date-times (e.g. {self.first!r}); "
                             "use seconds or dates like 2024-03-04 10:00:00.000", line=line)
        self.zone = _ZONE.search(self.first)

    def strip(self, cells: np.ndarray) -> np.ndarray:
        """Cells without spaces and quotes, and without the first value's zone (the same on every
        value: cut at its last 'Z', '+' or '-')."""
        cells = _stripped(cells)
        if self.zone:
            cells = np.char.rpartition(cells, self.zone.group(1)[0])[:, 0]
        return cells

    def stamps(self, cells: np.ndarray) -> np.ndarray:
        """Stripped cells as datetime64[us]; ValueError when one is no date-time numpy reads."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's note that datetime64 has no time zones
            return cells.astype("datetime64[us]")

    def not_like_the_others(self, bad: str | None) -> InputError:
        return InputError(self.path, f"{self.name}: {bad!r} is not a date-time like the others")

    def seconds(self, stamps: np.ndarray) -> tuple[np.ndarray, float, str]:
        """(t: seconds from the first stamp, start: its Unix time, note) for the whole column."""
        t = np.empty(stamps.shape[0], dtype=np.float64)
        step = 1 << 20  # a block at a time: no n-long temporaries beside t and the stamps
        for i in range(0, t.shape[0], step):
            t[i:i + step] = (stamps[i:i + step] - stamps[0]).astype(np.int64) / 1e6
        naive = stamps[0].astype(datetime)
        if self.zone:
            z = self.zone.group(1)
            offset = "+00:00" if z == "Z" else (z if ":" in z else f"{z[:3]}:{z[3:]}")
            start_dt = datetime.fromisoformat(naive.isoformat() + offset)
            how = f"with the time zone {'UTC' if z == 'Z' else offset} of the first value"
        else:
            start_dt = naive.astimezone()  # this computer's zone and its daylight-saving rules
            off = start_dt.utcoffset()
            minutes = int(off.total_seconds() // 60) if off is not None else 0
            sign = "+" if minutes >= 0 else "-"
            how = f"as this computer's local time (UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})"
        start = start_dt.timestamp()
        if not is_plausible_unix(start):
            raise InputError(self.path, f"{self.name} starts at {self.first!r}, not a date from 2000 to 2099",
                             line=self.line)
        when = start_dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        note = (f"{self.name} holds date-times, read {how}; t counts seconds from the first sample "
                f"(start {when})")
        return t, start, note


def _stripped(cells: np.ndarray) -> np.ndarray:
    return np.char.strip(np.char.strip(np.char.strip(cells.astype(str)), '"'))


# ----------------------------------------------------------------------------- "t (s since ...)"
#
# sensorback's CSV export names its time column "t (s since 2024-03-04T08:15:15.749Z)": t is in
# seconds and t == 0 is that instant (the "seconds since <date>" of the CF conventions for
# netCDF). The date carries as many decimals as the start time needs to come back bit for bit.
# A logger clock of unknown zone (.cwa, .gt3x) is written without 'Z' and marked "device clock".
# A nominal rate that 1 / the median interval would not give back follows as "at 100 Hz".

_TIME_NAME = re.compile(r"[(\[{]\s*(?:s|sec|secs|seconds?)(?:\s+since\s+(?P<date>[^)\]}]*?))?"
                        r"(?:\s+at\s+(?P<rate>[^\s)\]}]+)\s*hz)?\s*[)\]}]", re.IGNORECASE)
_ORIGIN = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
                     r"(Z|[+-]\d{2}:?\d{2}|\s+device\s+clock)?$", re.IGNORECASE)


class TimeName(NamedTuple):
    """What a time column's name says besides "seconds": "t (s since <date> at <rate> Hz)"."""

    start: float | None  # Unix time of t == 0
    device_clock: bool  # the date is a logger's clock of unknown zone (meta clock 'device-local')
    note: str | None  # the date had no zone: read as this computer's local time
    rate_hz: float | None  # the nominal sample rate


def time_name(start: float | None, device_clock: bool = False, rate_hz: float | None = None) -> tuple[str, bool]:
    """(the time column's name, whether the start is in it): "t" when there is nothing to say.
    The start is exact to the last bit of the float (its shortest repr's decimals), but only for a
    date from 2000 to 2099; the rate is its shortest repr."""
    words = ""
    text = repr(float(start)) if start is not None else ""
    kept = start is not None and is_plausible_unix(start) and "e" not in text
    if kept:
        whole, _, frac = text.partition(".")
        stamp = datetime.fromtimestamp(int(whole), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        words = f" since {stamp}{'' if frac == '0' else '.' + frac}{' device clock' if device_clock else 'Z'}"
    if rate_hz is not None:
        rate = repr(float(rate_hz))
        words += f" at {rate[:-2] if rate.endswith('.0') else rate} Hz"
    return (f"t (s{words})" if words else "t"), kept


def parse_time_name(path, name: str, line: int) -> TimeName | None:
    """What a time column named like "t (s since <date> at <rate> Hz)" says, or None when its name
    says no such thing. A date without a zone is this computer's local time, as in date-time
    columns (the note says so); "device clock" is a logger's clock of unknown zone."""
    m = _TIME_NAME.search(name)
    if m is None or not (m.group("date") or m.group("rate")):
        return None
    rate = None
    if m.group("rate"):
        try:
            rate = float(m.group("rate"))
        except ValueError:
            rate = math.nan
        if not (math.isfinite(rate) and rate > 0):
            raise InputError(path, f"column '{name.strip()}': {m.group('rate')!r} Hz is not a sample rate", line=line)
    text = m.group("date")
    d = _ORIGIN.match(text) if text else None
    if d is None:
        if text and re.match(r"\d{4}-", text):
            raise InputError(path, f"column '{name.strip()}': {text!r} is not a date-time like "
                             "2024-03-04T08:15:15.749Z", line=line)
        return TimeName(None, False, None, rate) if rate else None  # "s since start": seconds, no anchor
    y, mo, day, h, mi, s, frac, zone = d.groups()
    try:
        naive = datetime(int(y), int(mo), int(day), int(h), int(mi), int(s or 0))
    except ValueError as e:
        raise InputError(path, f"column '{name.strip()}': {text!r} is not a valid date ({e})", line=line) from None
    device_clock, note = bool(zone) and zone.strip()[0] in "dD", None
    if zone and not device_clock:
        z = zone.upper()
        offset = timedelta(0) if z == "Z" else timedelta(hours=int(z[1:3]), minutes=int(z[-2:]))
        whole = int((naive.replace(tzinfo=timezone.utc) - (-offset if z[0] == "-" else offset)).timestamp())
    elif device_clock:
        whole = int(naive.replace(tzinfo=timezone.utc).timestamp())
    else:
        local = naive.astimezone()  # this computer's zone and its daylight-saving rules
        whole = int(local.timestamp())
        minutes = int(local.utcoffset().total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        note = (f"column '{name.strip()}': its date has no time zone; read as this computer's local time "
                f"(UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})")
    # Fraction: the decimal value correctly rounded, so the date time_name wrote comes back as
    # the very float it was written from.
    start = float(Fraction(whole) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0))
    if not is_plausible_unix(start):
        raise InputError(path, f"column '{name.strip()}' counts from {text!r}, not a date from 2000 to 2099", line=line)
    return TimeName(start, device_clock, note, rate)
