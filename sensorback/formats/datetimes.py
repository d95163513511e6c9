"""Time columns written as date-times ('2019-12-23 21:04:06.690', Axivity's CSV export) into seconds.

ISO 8601 dates with a space or 'T' and any fraction of a second are read (numpy parses them in C:
about a second per million rows). Without a time zone they are the logger's clock, which was set
from a computer, so they are read as this computer's local time, and the note says which offset
that was; 'Z' or an offset such as '+02:00' on the first value is applied to all of them.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timezone

import numpy as np

from ..errors import InputError
from ..limits import is_plausible_unix

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def looks_like_datetime(cell: str) -> bool:
    return bool(_ISO.match(cell.strip().strip('"').strip()))


def seconds_from_datetimes(path, cells: np.ndarray, name: str, line: int) -> tuple[np.ndarray, float, str]:
    """(t: seconds from the first value, start: its Unix time, note) for an array of ISO date-times;
    `name` says which column ("column 'time'", "column 1")."""
    cells = np.char.strip(np.char.strip(np.char.strip(cells.astype(str)), '"'))
    first = str(cells[0]) if cells.size else ""
    if not looks_like_datetime(first):
        raise InputError(path, f"{name} holds text, not numbers or ISO date-times (e.g. {first!r}); "
                         "use seconds or dates like 2024-03-04 10:00:00.000", line=line)
    zone = _ZONE.search(first)
    if zone:  # the same zone on every value: cut it at its last 'Z', '+' or '-'
        cells = np.char.rpartition(cells, zone.group(1)[0])[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's note that datetime64 has no time zones
        try:
            stamps = cells.astype("datetime64[us]")
        except ValueError:
            bad = next((c for c in cells.tolist() if not looks_like_datetime(c)), None)
            raise InputError(path, f"{name}: {bad!r} is not a date-time like the others") from None
    t = (stamps - stamps[0]).astype(np.int64) / 1e6
    naive = stamps[0].astype(datetime)
    if zone:
        z = zone.group(1)
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
        raise InputError(path, f"{name} starts at {first!r}, not a date from 2000 to 2099", line=line)
    when = start_dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    note = (f"{name} holds date-times, read {how}; t counts seconds from the first sample "
            f"(start {when})")
    return t, start, note
