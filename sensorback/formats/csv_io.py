"""CSV import: t,ax,ay,az in g, plus the exports phones and loggers actually produce.

Parsing is one numpy.loadtxt call over the whole text (C speed, ~1.5 s per 4 M lines); only
when it fails do we walk the lines in Python to name the exact line and column. Separators
(comma, semicolon, tab, spaces), decimal commas, gzip, units and Unix timestamps are detected;
anything that changes the numbers is reported as a note. Writing is csv_write's.
"""

from __future__ import annotations

import csv
import io
import os
import zlib
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..errors import InputError, opening
from ..samples import SampleBlock
from . import actigraph, metabase
from .csv_columns import ColumnMap, headerless_map, map_columns
from .datetimes import looks_like_datetime, seconds_from_datetimes
from .notes import LoadNotes
from .units import seconds_axis, to_g
from .validate import check_samples, check_time_axis, rate_not_needed


@dataclass
class RawTable:
    """The numeric columns of one CSV before unit handling: what the file literally says."""

    path: str
    cols: ColumnMap
    time: np.ndarray | None  # raw time column, file units
    xyz: np.ndarray  # (n, 3) float64, file units (user + gravity already summed if split)
    locate: Callable[[int], tuple[int | None, str]]
    # time already in seconds from the first sample (date-time text), anchored by start_time
    time_ready: bool = False
    start_time: float | None = None  # also a device header's start, for files without a time column
    rate_hz: float | None = None  # a device header's sample rate, for files without a time column
    device: str | None = None


# ----------------------------------------------------------------------------- reading text


def _read_bytes(path, notes: LoadNotes) -> bytes:
    with opening(path), open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(path, raw, notes)
    return raw


def _gunzip(path, raw: bytes, notes: LoadNotes) -> bytes:
    """Decompress all gzip members; a truncated stream keeps its complete lines, with a note."""
    out, rest = [], raw
    try:
        while rest[:2] == b"\x1f\x8b":
            d = zlib.decompressobj(wbits=31)
            out.append(d.decompress(rest))
            if not d.eof:
                text = b"".join(out)
                cut = text.rfind(b"\n") + 1
                kept = text.count(b"\n", 0, cut)
                notes.add(f"gzip stream is truncated; kept the {kept} complete lines before the cut, dropped {len(text) - cut} bytes of a partial line")
                return text[:cut]
            rest = d.unused_data
    except zlib.error as e:
        raise InputError(path, f"corrupted gzip data ({e})") from None
    return b"".join(out)


def _utf8(raw: bytes) -> bytes:
    """UTF-16 text (spreadsheets on Windows save "Unicode text" so) as UTF-8; anything else as is.

    Recognised by its byte-order mark, or without one by every other byte being zero in the
    first kilobytes (ASCII digits and separators in UTF-16)."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16", errors="replace").encode("utf-8")
    head = raw[:4096]
    if len(head) >= 8:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return raw.decode("utf-16-le", errors="replace").encode("utf-8")
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return raw.decode("utf-16-be", errors="replace").encode("utf-8")
    return raw


def _check_row_width(path, data: bytes, sep: str | None, ncols: int, first: int, header_line: int | None) -> None:
    """A data row with more fields than the header names is an error, not silently cut to the
    columns we read (one 20 MB line of 5 million values used to load as 1 sample). Empty fields at
    the end of a row are allowed. Costs one byte count when every row fits; whitespace-separated
    files are not checked."""
    if sep is None or len(sep) != 1:
        return
    b = sep.encode()
    rows = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if data.count(b) <= (ncols - 1) * rows:
        return
    arr = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(arr == 10)
    if ends.size == 0 or ends[-1] != arr.size - 1:
        ends = np.append(ends, arr.size)
    seps = np.searchsorted(np.flatnonzero(arr == b[0]), ends)
    per_row = np.diff(np.concatenate([[0], seps]))
    starts = np.concatenate([[0], ends[:-1] + 1])
    trailing = (ends > starts) & (arr[np.maximum(ends - 1, 0)] == b[0])
    for j in np.flatnonzero(per_row - trailing > ncols - 1).tolist():
        line = data[starts[j]: ends[j]]
        if line.lstrip().startswith(b"#"):
            continue
        body = line.split(b"#", 1)[0].rstrip(b" \t" + b)
        fields = body.count(b) + 1
        if fields > ncols and len(body) < (1 << 20):  # quoted separators are not separators
            fields = len(_fields(body.decode("utf-8", errors="replace"), sep))
        if fields > ncols:
            where = f"the header (line {header_line}) names" if header_line is not None else "the first row has"
            hint = ("the line breaks between rows seem lost" if fields >= 2 * ncols
                    else "every column needs a name in the header")
            raise InputError(path, f"row has {fields:,} fields, but {where} {ncols}; {hint}", line=first + j)


def _split_header(path, raw: bytes, pos: int = 0, line_no: int = 0) -> tuple[str, int, bytes]:
    """(header line, its 1-based line number, the bytes after it). Skips blank and # lines, and
    the `line_no` lines before byte `pos` (a device's header block)."""
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        line_no += 1
        line = raw[pos:end]
        pos = end + 1
        s = line.strip()
        if s and not s.startswith(b"#"):
            return line.decode("utf-8", errors="replace"), line_no, raw[pos:]
    raise InputError(path, "empty file (no header, no data)")


def _separator(line: str) -> str | None:
    """';' or tab beat ',' (those files may use decimal commas); None means runs of spaces."""
    unquoted = "".join(line.split('"')[::2])
    for sep in (";", "\t", ","):
        if sep in unquoted:
            return sep
    return None


def _fields(line: str, sep: str | None) -> list[str]:
    if sep is None:
        return line.split()
    return next(csv.reader([line], delimiter=sep))


def _is_number(s: str) -> bool:
    s = s.strip().strip('"')
    if not s or "_" in s:
        return False
    try:
        float(s)
        return True
    except ValueError:
        return False


def looks_like_samples(path, head: bytes) -> bool:
    """Whether ``head``, the first few KB of a text file (gzip undone), begins like a recording this
    module reads: an ActiLife header, a header line naming acceleration columns, or a row of three or
    more numbers (no header). A guess for messages (about an existing file the user named as an
    output), not a check of the file."""
    raw = head.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")
    if not raw.strip() or b"\x00" in raw:
        return False
    try:
        if actigraph.read_header(path, raw) is not None:
            return True
        header = _split_header(path, raw)[0]
        names = _fields(header, _separator(header))
        if len(names) >= 3 and all(_is_number(n.replace(",", ".")) for n in names):
            return True
        map_columns(path, names, 1)
    except (InputError, ValueError, csv.Error):
        return False
    return True


# ----------------------------------------------------------------------------- parsing


def parse_table(path, notes: LoadNotes) -> RawTable:
    """Read the file's numbers and column roles; raises InputError naming line and column.

    The data stays bytes end to end (numpy reads it through a streaming text wrapper): a
    day at 50 Hz is ~160 MB of text, and a str copy or StringIO would cost 1 GB more.
    """
    raw = _utf8(_read_bytes(path, notes))
    if not raw.strip():
        raise InputError(path, "empty file")
    if b"\x00" in raw[:4096]:
        hint = " (it is a sensorback .sbr recording; name it .sbr)" if raw.startswith(b"SBREC") else ""
        raise InputError(path, f"binary data, not CSV text{hint}")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    acti = actigraph.read_header(path, raw)
    if acti is not None:
        actigraph.refuse_counts(path, acti)
    header, header_line, data = _split_header(path, raw, *((acti.end, acti.lines) if acti else (0, 0)))
    sep = _separator(header)
    names = _fields(header, sep)
    decimal_comma = sep != "," and b"," in data[:65536]
    numeric = [_is_number(f.replace(",", ".") if decimal_comma else f) for f in names]
    if all(numeric) or (len(names) >= 4 and looks_like_datetime(names[0]) and all(numeric[1:])):
        cols = headerless_map(path, len(names), header_line)
        data, first = header.encode("utf-8") + b"\n" + data, header_line
        shown = cols.names[:4] if cols.time is not None else cols.names[:3]
        notes.add(f"no header line; read the columns as {','.join(shown)}")
    else:
        cols = map_columns(path, names, header_line)
        first = header_line + 1
    cols, text_time = _time_column(cols, _first_row(data, sep, decimal_comma), acti)
    if acti is not None:
        unused = "; its Timestamp column is not used" if text_time is None and any(
            "timestamp" in n.lower() for n in names) else ""
        notes.add(f"{acti.device} RAW export (ActiLife): {acti.rate_hz:g} Hz and start {acti.start_text or 'unknown'} "
                  f"from its header, read as this computer's local time{unused}"
                  if acti.rate_hz else f"{acti.device} RAW export (ActiLife) without a sample rate in its header")
    device = _first_cell(data, sep, cols.device) if cols.device is not None else None
    if decimal_comma:
        data = data.replace(b",", b".")
    if not data.strip():
        raise InputError(path, f"header only, no data rows (columns {', '.join(n.strip() for n in names)})", line=header_line)
    _check_row_width(path, data, sep, len(names), first, header_line if not cols.headerless else None)

    try:
        values = _loadtxt(data, sep, cols)
    except ValueError as e:
        data = _diagnose(path, data, first, sep, cols, e)  # raises unless only blank-ish lines
        values = _loadtxt(data, sep, cols)
    if values.shape[0] == 0:
        raise InputError(path, "header only, no data rows", line=header_line)

    k = 1 if cols.time is not None else 0
    time = values[:, 0].copy() if k else None
    xyz = values[:, k : k + 3]
    if cols.gravity_axes is not None:
        xyz = xyz + values[:, k + 3 : k + 6]
        notes.add("added the gravity columns to the gravity-free acceleration columns")
    table = RawTable(str(path), cols, time, np.ascontiguousarray(xyz), _line_locator(data, first))
    if text_time is not None:
        label = f"column {text_time + 1}" if cols.headerless else f"column '{cols.names[text_time].strip()}'"
        cells = _loadtxt_text(data, sep, text_time)
        table.time, table.start_time, note = seconds_from_datetimes(path, cells, label, first)
        table.time_ready = True
        notes.add(note)
    table.device = device or None
    if acti is not None:
        table.rate_hz, table.device = acti.rate_hz, acti.device
        if table.time is None:
            table.start_time = acti.start_time
    return table


def _first_row(data: bytes, sep, decimal_comma: bool) -> list[str] | None:
    """The fields of the first data line (not blank, not a comment)."""
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line = data[pos:end].split(b"#", 1)[0]
        pos = end + 1
        if line.strip():
            text = line.decode("utf-8", errors="replace")
            return _fields(text.replace(",", ".") if decimal_comma else text, sep)
    return None


def _first_cell(data: bytes, sep, column: int) -> str | None:
    """Column `column` of the first data line, quotes and all (a 'device' column names the device
    in its first row, as write_csv writes it)."""
    for line in data.split(b"\n", 64)[:64]:
        if line.strip() and not line.lstrip().startswith(b"#"):
            fields = _fields(line.decode("utf-8", errors="replace"), sep)
            return fields[column].strip() if column < len(fields) else None
    return None


def _time_column(cols: ColumnMap, row: list[str] | None, acti) -> tuple[ColumnMap, int | None]:
    """The time column to read as numbers, and a date-time text column to read instead, if any.

    A time column whose first value is not a number gives way to the next time-like column that
    holds numbers (MetaBase: 'time (-04:00)' is text, 'epoch (ms)' is Unix time); an ActiLife
    export then uses the rate and start in its header; otherwise it is read as date-times."""
    if cols.time is None or row is None or cols.time >= len(row) or _is_number(row[cols.time]):
        return cols, None
    for c, unit in cols.time_options:
        if c < len(row) and _is_number(row[c]):
            return replace(cols, time=c, time_unit=unit), None
    if acti is not None and acti.rate_hz:
        return replace(cols, time=None, time_unit=None), None
    return replace(cols, time=None, time_unit=None), cols.time


def _loadtxt_text(data: bytes, sep, column: int) -> np.ndarray:
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")
    return np.loadtxt(text, delimiter=sep, usecols=[column], dtype=str, ndmin=1, comments="#", quotechar='"')


def _line_locator(data: bytes, first: int):
    """Map data row index -> file line number; cheap when there are no blank or comment lines."""
    simple = b"\n\n" not in data.rstrip(b"\n") and b"#" not in data and not data.startswith(b"\n")
    table: list[int] = []

    def locate(i: int):
        if simple:
            return first + i, ""
        if not table:
            for j, line in enumerate(data.split(b"\n")):
                if line.split(b"#", 1)[0].strip():
                    table.append(first + j)
        return (table[i] if 0 <= i < len(table) else None), ""

    return locate


def _loadtxt(data: bytes, sep, cols: ColumnMap) -> np.ndarray:
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")
    return np.loadtxt(text, delimiter=sep, usecols=cols.usecols, dtype=np.float64, ndmin=2, comments="#", quotechar='"')


def _diagnose(path, data: bytes, first: int, sep, cols: ColumnMap, err: Exception) -> bytes:
    """loadtxt failed: walk the lines to name the line and column, and raise InputError.

    The one thing forgiven is a line of only spaces (or an indented comment), which loadtxt
    rejects with an explicit delimiter: such lines are blanked (numbering kept) and the
    cleaned data is returned for a second parse.
    """
    need = max(cols.usecols) + 1
    lines = data.decode("utf-8", errors="replace").split("\n")
    blanked = False
    for j, line in enumerate(lines):
        body = line.split("#", 1)[0]
        if not body.strip():
            if line and not line.startswith("#"):
                lines[j] = ""
                blanked = True
            continue
        fields = _fields(body, sep)
        if len(fields) < need:
            raise InputError(
                path,
                f"row has {len(fields)} field{'s' if len(fields) != 1 else ''}, expected at least {need} "
                f"(columns {', '.join(cols.names[c].strip() for c in cols.usecols)})",
                line=first + j,
            )
        for c in cols.usecols:
            cell = fields[c].strip().strip('"').strip()
            if not _is_number(cell):
                what = "empty cell" if not cell else f"non-numeric value {cell!r}"
                raise InputError(path, f"{what} in column {cols.names[c].strip()}", line=first + j)
    if not blanked:
        raise InputError(path, f"cannot parse the data ({err})")
    return "\n".join(lines).encode("utf-8")


# ----------------------------------------------------------------------------- to SampleBlock


def table_to_block(table: RawTable, rate_hz: float | None, notes: LoadNotes, device: str = "csv") -> SampleBlock:
    """Units, time axis, validation: the common tail of every CSV-like import."""
    path, cols = table.path, table.cols
    acc, unit = to_g(table.xyz, cols.acc_unit, path, notes, sensor_logger=cols.is_sensor_logger())
    start_time = None
    if table.time_ready:
        t, start_time = table.time, table.start_time
    elif cols.time_named is not None:  # "t (s since <date> at <rate> Hz)": seconds as written
        t, start_time = table.time, cols.time_named.start
        if cols.time_named.note:
            notes.add(cols.time_named.note)
    elif table.time is not None:
        t, start_time = seconds_axis(metabase.spread_packets(table, notes), cols.time_name.strip(), cols.time_unit,
                                     notes)
    else:
        rate = rate_hz if rate_hz is not None else table.rate_hz
        if rate is None:
            found = ", ".join(n.strip() for n in cols.names)
            raise InputError(path, f"no time column (found {found}); give the sample rate (--rate HZ) or add a t column in seconds")
        t = np.arange(acc.shape[0], dtype=np.float64) / float(rate)
        start_time = table.start_time
        if rate_hz is not None or table.rate_hz is None:
            notes.add(f"no time column; timestamps made from the given rate {rate:g} Hz")
    device = table.device or device
    names = ((cols.time_name or "t").strip(),) + tuple(cols.names[c].strip() for c in cols.axes)
    t, acc = check_samples(t, acc, path, table.locate, notes, columns=names)
    if rate_hz is not None and table.time is not None:
        raise rate_not_needed(path, _estimate_rate(t))
    if rate_hz is None:
        rate_hz = _estimate_rate(t)
        said = cols.time_named.rate_hz if cols.time_named else None
        if said:  # a nominal rate in the header stands while the timestamps agree with it
            if abs(said / rate_hz - 1.0) <= NOMINAL_RATE_SLACK:
                rate_hz = said
            else:
                notes.add(f"{cols.time_name.strip()!r} says {said:g} Hz but the timestamps show {rate_hz:g} Hz (rows "
                          f"removed or added since it was written?); using {rate_hz:g} Hz")
    check_time_axis(t, float(rate_hz), path, table.locate, notes)
    meta = {"source_file": os.path.basename(path), "source_units": unit}
    if start_time is not None:
        meta["start_time_from"] = ("device header" if table.time is None else "date-times" if table.time_ready
                                   else cols.time_name.strip())
    if cols.time_named is not None and cols.time_named.device_clock:
        meta["clock"] = "device-local"  # as read from the .cwa/.gt3x the file was written from
    return SampleBlock(t=t, acc=acc, device=device, rate_hz=float(rate_hz), start_time=start_time, meta=meta)


#: How far a nominal rate in a CSV's header may lie from its timestamps' rate (device clocks run a
#: percent or two off theirs; a file thinned or edited since it was written is off by far more).
NOMINAL_RATE_SLACK = 0.05


def _estimate_rate(t: np.ndarray) -> float:
    """The nominal rate: 1 / the median interval, or, when that is more than 2 % off the mean rate
    of the intervals that are not gaps (within 5x the median), the mean rate. Loggers that stamp a
    packet of samples at once (MetaBase) leave intervals alternating short and long, whose median
    is not the rate."""
    if t.shape[0] < 2:
        return 50.0
    d = np.diff(t)
    dt = float(np.median(d))
    if not dt > 0:
        return 50.0
    normal = d[d <= 5 * dt]
    mean_rate = normal.size / float(normal.sum())
    rate = 1.0 / dt if abs(mean_rate * dt - 1.0) <= 0.02 else mean_rate
    # Timestamps quantised by the logger (ms, or ns stored as float) blur e.g. 100 Hz into
    # 99.997; snap to the whole number when that is within 0.1 %.
    return float(round(rate)) if abs(rate - round(rate)) <= 1e-3 * rate else float(f"{rate:.6g}")
