"""ActiGraph ActiLife CSV exports: the 10-line header, and raw acceleration versus activity counts.

ActiLife writes every CSV export with the same header block (checked on the exports published
with AGread and GGIR, see tests/data/README.md)::

    ------------ Data File Created By ActiGraph GT3X+ ActiLife v6.13.3 Firmware v1.7.2 date format M/d/yyyy at 90 Hz  Filter Normal -----------
    Serial Number: TAS1E31150129
    Start Time 08:58:00
    Start Date 2/14/2019
    Epoch Period (hh:mm:ss) 00:00:00
    Download Time 09:03:03
    Download Date 2/14/2019
    Current Memory Address: 0
    Current Battery Voltage: 4.15     Mode = 12
    --------------------------------------------------

then, optionally, a column header ('Accelerometer X,Accelerometer Y,Accelerometer Z', with
'Timestamp' first when timestamps were exported) and the rows. Epoch period 00:00:00 means RAW
data (acceleration in g at the rate after 'at'); anything else means activity counts per epoch
('Data Table File' exports, columns Axis1..3, Steps, ...), which hold no posture and are refused.
Spreadsheet exports pad every header line with commas; that is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..errors import InputError

_FIRST = re.compile(r"created by actigraph", re.I)
_RATE = re.compile(r"\bat\s+([0-9]+(?:\.[0-9]+)?)\s*Hz", re.I)
_DATE_FORMAT = re.compile(r"date format\s+([dMy]+[^dMy\s]?[dMy]+[^dMy\s]?[dMy]+)", re.I)
_DEVICE = re.compile(r"created by\s+(actigraph(?:\s+(?!actilife)\S+)?)", re.I)
_FIELD = {
    "start_time": re.compile(r"^start time\s+([0-9:]+)", re.I),
    "start_date": re.compile(r"^start date\s+([0-9./-]+)", re.I),
    "epoch": re.compile(r"^epoch period \(hh:mm:ss\)\s+([0-9:]+)", re.I),
}
MAX_LINES = 12  # the block is 10 lines; never look further for its closing dashes


@dataclass
class ActiLifeHeader:
    device: str
    rate_hz: float | None
    epoch_s: float
    epoch_text: str
    start_time: float | None  # Unix seconds, the device's local clock read in this computer's zone
    start_text: str | None
    lines: int  # header lines, the closing dashes included
    end: int  # byte offset just after them


def read_header(path, raw: bytes) -> ActiLifeHeader | None:
    """The ActiLife header block at the start of raw (UTF-8 text, \\n line ends), or None."""
    first_end = raw.find(b"\n")
    first = raw[: first_end if first_end >= 0 else len(raw)].decode("utf-8", errors="replace")
    if not _FIRST.search(first):
        return None
    fields: dict[str, str] = {}
    pos, count = 0, 0
    while pos < len(raw) and count < MAX_LINES:
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        line = raw[pos:end].decode("utf-8", errors="replace").strip().rstrip(",;\t ").strip()
        pos, count = end + 1, count + 1
        for key, rx in _FIELD.items():
            m = rx.match(line)
            if m:
                fields[key] = m.group(1)
        if count > 1 and line and set(line) <= {"-"}:
            break
    else:
        raise InputError(path, "ActiLife header (ActiGraph) without its closing line of dashes within the first "
                         f"{MAX_LINES} lines", line=min(count, MAX_LINES))
    if "epoch" not in fields:
        raise InputError(path, "ActiLife header (ActiGraph) without its 'Epoch Period (hh:mm:ss)' line", line=1)
    epoch_s = _seconds(path, fields["epoch"])
    rate = _RATE.search(first)
    device = _DEVICE.search(first)
    start, start_text = _start(fields, _DATE_FORMAT.search(first))
    return ActiLifeHeader(
        device=device.group(1) if device else "ActiGraph",
        rate_hz=float(rate.group(1)) if rate else None,
        epoch_s=epoch_s,
        epoch_text=fields["epoch"],
        start_time=start,
        start_text=start_text,
        lines=count,
        end=pos,
    )


def refuse_counts(path, header: ActiLifeHeader) -> None:
    """Activity counts (an epoch period) are not acceleration: one line saying so and what to export."""
    if header.epoch_s > 0:
        raise InputError(
            path,
            f"ActiGraph activity counts in {header.epoch_s:g} s epochs (ActiLife header: Epoch Period "
            f"{header.epoch_text}), not raw acceleration: posture needs the raw signal; export RAW data from "
            "ActiLife (epoch period 00:00:00) or use the .gt3x file",
            line=5,
        )


def _seconds(path, hms: str) -> float:
    parts = hms.split(":")
    try:
        h, m, s = (float(p) for p in parts) if len(parts) == 3 else (0.0, *map(float, parts))
    except (TypeError, ValueError):
        raise InputError(path, f"ActiLife header: epoch period {hms!r} is not hh:mm:ss", line=5) from None
    return h * 3600 + m * 60 + s


def _start(fields: dict[str, str], fmt) -> tuple[float | None, str | None]:
    """Start date and time in the header's own date format (M/d/yyyy, dd/MM/yyyy, yyyy-MM-dd...),
    as Unix seconds of this computer's local time; None when missing or unreadable."""
    if "start_date" not in fields or "start_time" not in fields:
        return None, None
    numbers = [int(x) for x in re.findall(r"[0-9]+", fields["start_date"])]
    order = [c for c in re.sub(r"[^dMy]", "", fmt.group(1) if fmt else "M/d/yyyy")]
    keys = [order[0]] + [b for a, b in zip(order, order[1:]) if b != a]
    if len(numbers) != 3 or sorted(keys) != ["M", "d", "y"]:
        return None, None
    parts = dict(zip(keys, numbers))
    try:
        hh, mm, ss = (int(x) for x in fields["start_time"].split(":"))
        local = datetime(parts["y"], parts["M"], parts["d"], hh, mm, ss)
    except ValueError:
        return None, None
    return local.astimezone().timestamp(), local.isoformat(sep=" ")
