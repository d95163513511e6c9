"""CSV import: t,ax,ay,az in g, plus the exports phones and loggers actually produce.

The file is read as a stream, CHUNK_BYTES of text at a time: gzip is decompressed as it comes,
and each chunk is parsed by one numpy.loadtxt call (C speed, ~1.5 s per 4 M lines) into arrays
that grow to the recording's length. Reading a file costs its samples (float64 time and x/y/z
while parsing, 32 bytes a row) plus one chunk, not a multiple of its text (a 48 h file at 50 Hz,
8.6 M rows, peaked at 2.1 GB when it was parsed whole; see benchmarks/csv_memory.py). Only when a
chunk fails to parse do we walk its lines in Python to name the exact line and column.
Separators (comma, semicolon, tab, spaces), decimal commas, gzip, UTF-16, units and Unix
timestamps are detected from the start of the file; anything that changes the numbers is reported
as a note. Whatever the chunk size, the result, the notes and the errors (the first problem in
file order, with its line; corrupt gzip data, then a line longer than limits.MAX_LINE_BYTES, told
before any other) are those of parsing the file whole. Writing is csv_write's.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import os
import re
import warnings
import zlib
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import numpy as np

from ..errors import InputError, opening
from ..limits import MAX_LINE_BYTES
from ..samples import SampleBlock
from ..timefmt import count
from . import actigraph, metabase
from .csv_columns import ColumnMap, headerless_map, map_columns
from .datetimes import DateTimeColumn, first_not_datetime, looks_like_datetime
from .notes import LoadNotes
from .units import seconds_axis, to_g
from .validate import check_samples, check_time_axis, rate_not_needed

#: Text parsed per numpy.loadtxt call: memory while reading is the samples plus about this much
#: (more only for a quoted record, line breaks and all, longer than it: no line is longer than
#: limits.MAX_LINE_BYTES). Tests lower it to a few bytes.
CHUNK_BYTES = 1 << 22
_READ_BYTES = 1 << 20  # one read of the file, and at most this much gzip output at a time
_SNIFF_BYTES = 4096  # UTF-16 and binary data are told from this much of the start
_DECIMAL_SNIFF = 65536  # decimal commas are told from this much of the data after the header
_DEVICE_LINES = 64  # a 'device' column is read from the first of these data lines
#: Text over gzip size (_Source.size_hint): accelerometer CSVs compress about 3-5:1 (real chest and
#: waist recordings 3.9-4.5, `simulate` 3.1), still hours with date-time stamps up to about 16:1;
#: a trailer that says more is taken for a cut file's garbage, and the usual ratio is guessed.
_GZIP_MAX_RATIO = 20
_GZIP_USUAL_RATIO = 6


@dataclass
class RawTable:
    """The numeric columns of one CSV before unit handling: what the file literally says."""

    path: str
    cols: ColumnMap
    time: np.ndarray | None  # raw time column, file units
    xyz: np.ndarray | None  # (n, 3) float64, file units (user + gravity already summed if split)
    locate: Callable[..., tuple[int | None, str]]  # validate.Locator
    # time already in seconds from the first sample (date-time text), anchored by start_time
    time_ready: bool = False
    start_time: float | None = None  # also a device header's start, for files without a time column
    rate_hz: float | None = None  # a device header's sample rate, for files without a time column
    device: str | None = None
    unread: tuple[str, ...] = ()  # the file's other columns (ColumnMap.unread), which a conversion drops


# ----------------------------------------------------------------------------- reading text


class _Source:
    """A CSV file's text as UTF-8 with LF line ends, a piece at a time (text()): gzip members
    decompressed as they stream (a truncated stream keeps its complete lines, with a note: its
    pieces end at a line end, the line after held back; corrupt data is an error), UTF-16 recoded
    (_utf16_codec), a UTF-8 byte-order mark dropped, CRLF and CR made LF. Refuses binary data from
    the first _SNIFF_BYTES, and any line longer than MAX_LINE_BYTES (header, row or comment, plain
    or gzip, cut by a truncated stream or not) once that much of it is read, so that what is held
    stays bounded whatever the file holds. ``progress(n)``, if given, is called with the bytes of
    the file read so far after each read (of a gzip file: compressed bytes)."""

    def __init__(self, path, notes: LoadNotes, progress: Callable[[int], object] | None = None):
        self.path, self.notes, self._note_at = path, notes, len(notes.messages)
        self._progress = progress
        with opening(path):
            self._file = open(path, "rb")
        self.bom = False  # the text began with a byte-order mark (so it was not empty)
        self._gzip = False
        self.cut: int | None = None  # the complete lines a truncated gzip stream kept
        self._truncated = False  # the gzip stream ended inside a member (_gunzip)
        self._unread = 0  # bytes after the gzip data that are not gzip data (_gunzip)
        self._raw = self._raw_pieces()
        self._text: Iterator[bytes] | None = None

    def close(self) -> None:
        if self._text is not None:
            self._text.close()
        self._raw.close()
        self._file.close()

    def size_hint(self) -> int:
        """About how many bytes of text the file holds: its size, or a gzip file's trailer."""
        size = os.fstat(self._file.fileno()).st_size
        if not self._gzip or size < 18:
            return size
        try:
            isize = int.from_bytes(os.pread(self._file.fileno(), 4, size - 4), "little")
        except (AttributeError, OSError):
            isize = 0
        # The trailer holds the last member's size mod 4 GiB, or, when the file is cut, any 4 bytes
        # (2 GB of arrays reserved for a 14 MB cut file): believed only up to a ratio a recording
        # reaches (_GZIP_MAX_RATIO), else a usual one. Too little only costs growing the arrays.
        return isize if size <= isize <= _GZIP_MAX_RATIO * size else _GZIP_USUAL_RATIO * size

    def cut_text(self) -> str:
        """For an error that finds no data: where a truncated stream ended, which may be why."""
        return "" if self.cut is None else f"; the gzip stream is truncated after line {self.cut}"

    def drain(self) -> None:
        """Read the rest of the text, then of the file (after an error in the text): corrupt gzip
        data or a line too long raises here. Called before another error is reported, so that these
        are told first whatever the chunk size (as when the file was decompressed whole)."""
        for pieces in (self._text or (), self._raw):
            for _ in pieces:
                pass

    def _read(self, n: int) -> bytes:
        with opening(self.path):
            data = self._file.read(n)
            if data and self._progress is not None:
                self._progress(self._file.tell())
            return data

    def _raw_pieces(self) -> Iterator[bytes]:
        data = self._read(_READ_BYTES)
        self._gzip = data[:2] == b"\x1f\x8b"
        if not self._gzip:
            while data:
                yield data
                data = self._read(_READ_BYTES)
            return
        yield from self._gunzip(data)

    def _gunzip(self, data: bytes) -> Iterator[bytes]:
        """Every gzip member, as it decompresses, in pieces of at most _READ_BYTES. A stream that
        ends inside a member sets _truncated, bytes after the last member that are not one set
        _unread; text() keeps the complete lines and says so."""
        eof = False
        try:
            while data[:2] == b"\x1f\x8b":
                d = zlib.decompressobj(wbits=31)
                while not d.eof:
                    if not data and not eof:
                        data = self._read(_READ_BYTES)
                        eof = not data
                    out = d.decompress(data, _READ_BYTES)
                    data = d.unconsumed_tail
                    if out:
                        yield out
                    elif not data and eof:
                        self._truncated = True
                        return
                data = d.unused_data
                while len(data) < 2 and not eof:
                    more = self._read(_READ_BYTES)
                    eof = not more
                    data += more
        except zlib.error as e:
            raise InputError(self.path, f"corrupted gzip data ({e})") from None
        if data:  # not another member: a damaged one, or something appended (gzip -t: "trailing garbage")
            self._unread = len(data) + os.fstat(self._file.fileno()).st_size - self._file.tell()

    def text(self) -> Iterator[bytes]:
        """The text, after the checks on its first bytes."""
        self._text = self._text_pieces()
        return self._text

    def _text_pieces(self) -> Iterator[bytes]:
        pieces = _utf8(self._raw)
        head = b""
        for piece in pieces:
            head += piece
            if len(head) >= _SNIFF_BYTES:
                break
        if b"\x00" in head[:_SNIFF_BYTES]:
            hint = " (it is a sensorback .sbr recording; name it .sbr)" if head.startswith(b"SBREC") else ""
            raise InputError(self.path, f"binary data, not CSV text{hint}")
        if head.startswith(b"\xef\xbb\xbf"):
            head, self.bom = head[3:], True
        carry = b""  # a \r at the end of a piece may be the first half of \r\n
        lines, run = 0, 0  # line ends so far; bytes of the line not ended yet
        held = b""  # of a gzip stream, that line: dropped if the stream was cut in it
        for piece in _chain(head, pieces):
            piece, carry = carry + piece, b""
            if b"\r" in piece:
                if piece.endswith(b"\r"):
                    piece, carry = piece[:-1], b"\r"
                piece = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if not piece:
                continue
            _refuse_long_line(self.path, piece, lines, run)
            end = piece.rfind(b"\n") + 1
            lines += piece.count(b"\n")
            run = len(piece) - end if end else run + len(piece)
            if self._gzip:
                piece, held = (held + piece[:end], piece[end:]) if end else (b"", held + piece)
            if piece:
                yield piece
        if carry:  # a CR last: the end of a line
            yield held + b"\n"
            lines, run, held = lines + 1, 0, b""
        if self._truncated:
            if not lines:
                raise InputError(self.path, "gzip stream is truncated before the end of its first line; nothing to read")
            self.cut = lines
            self.notes.add(f"gzip stream is truncated; kept the {lines} complete lines before the cut, dropped "
                           f"{len(held)} bytes of a partial line", at=self._note_at)
            return
        if self._unread:
            self.notes.add(f"ignored the last {self._unread} bytes of the file: they are not gzip data (kept the "
                           f"{lines + bool(run)} complete lines before them)", at=self._note_at)
        if held:
            yield held


def _refuse_long_line(path, text: bytes, before: int, run: int = 0) -> None:
    """An InputError naming the first line of ``text`` longer than MAX_LINE_BYTES, counting its
    unended last line; ``before`` lines of the file come before ``text``, and its first line began
    ``run`` bytes before it. No header, row or comment is that long: its line breaks were lost.
    Looks for a line break in every window of MAX_LINE_BYTES // 2 + 1 bytes (a longer line covers
    one whole), a few dozen finds per MiB."""
    first = text.find(b"\n")
    if run + (first if first >= 0 else len(text)) > MAX_LINE_BYTES:
        start = 0
    else:
        start = -1
        step = MAX_LINE_BYTES // 2 + 1
        a = first + 1 if first >= 0 else len(text)
        while a + step <= len(text):
            if text.find(b"\n", a, a + step) >= 0:
                a += step
                continue
            line = text.rfind(b"\n", 0, a) + 1
            end = text.find(b"\n", a + step)
            if (end if end >= 0 else len(text)) - line > MAX_LINE_BYTES:
                start = line
                break
            if end < 0:
                break
            a = end + 1
    if start >= 0:
        raise InputError(path, f"no line break in the first {MAX_LINE_BYTES:,} bytes of the line, longer than any "
                               "header or row; the line breaks between rows seem lost",
                         line=before + text.count(b"\n", 0, start) + 1)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _utf16_codec(head: bytes) -> str | None:
    """UTF-16 text (spreadsheets on Windows save "Unicode text" so), or None for anything else.

    Recognised by its byte-order mark, or without one by every other byte being zero in the
    first kilobytes (ASCII digits and separators in UTF-16)."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    head = head[:_SNIFF_BYTES]
    if len(head) >= 8:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
    return None


def _utf8(raw: Iterator[bytes]) -> Iterator[bytes]:
    """UTF-16 pieces as UTF-8, decoded as they come; anything else as is."""
    head = b""
    for piece in raw:
        head += piece
        if len(head) >= _SNIFF_BYTES:
            break
    codec = _utf16_codec(head)
    if codec is None:
        yield head
        yield from raw
        return
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    for piece in _chain(head, raw):
        yield decoder.decode(piece).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


class _Reader:
    """The text with a buffer in front, for looking ahead at the start of the file."""

    def __init__(self, pieces: Iterator[bytes]):
        self._pieces = pieces
        self.buf = b""
        self.eof = False
        self.offset = 0  # bytes of text before buf

    def more(self) -> bool:
        """Append the next piece to buf; False at the end of the text."""
        if not self.eof:
            piece = next(self._pieces, None)
            if piece is not None:
                self.buf += piece
                return True
            self.eof = True
        return False

    def fill(self, size: int) -> None:
        while len(self.buf) < size and self.more():
            pass

    def fill_lines(self, count: int) -> None:
        """Read on until buf holds count line ends (at most count * MAX_LINE_BYTES of text)."""
        while self.buf.count(b"\n") < count and self.more():
            pass

    def lines(self, pos: int = 0) -> Iterator[tuple[bytes, int]]:
        """(line, where the next begins) from buf[pos:], reading on as needed."""
        while True:
            end = self.buf.find(b"\n", pos)
            if end < 0:
                if self.more():
                    continue
                if pos >= len(self.buf):
                    return
                end = len(self.buf)
            yield self.buf[pos:end], end + 1
            pos = end + 1

    def drop(self, size: int) -> None:
        self.buf = self.buf[size:]
        self.offset += size


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
        if fields > ncols:  # quoted separators are not separators
            fields = len(_fields(body.decode("utf-8", errors="replace"), sep))
        if fields > ncols:
            where = f"the header (line {header_line}) names" if header_line is not None else "the first row has"
            hint = ("the line breaks between rows seem lost" if fields >= 2 * ncols
                    else "every column needs a name in the header")
            raise InputError(path, f"row has {fields:,} fields, but {where} {ncols}; {hint}", line=first + j)


def _split_header(path, r: _Reader, pos: int = 0, line_no: int = 0, blank: bool = True) -> tuple[str, int, int]:
    """(header line, its 1-based line number, where the data after it begins in r.buf). Skips blank
    and # lines, and the `line_no` lines before byte `pos` (a device's header block). blank: all
    text before pos was whitespace (then a file of nothing else is 'empty file'). (A line longer
    than MAX_LINE_BYTES never gets here: _Source refuses it.)"""
    for line, nxt in r.lines(pos):
        line_no += 1
        s = line.strip()
        if s and not s.startswith(b"#"):
            return line.decode("utf-8", errors="replace"), line_no, nxt
        blank = blank and not s
    raise InputError(path, "empty file" if blank else "empty file (no header, no data)")


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
        header = _split_header(path, _Reader(iter([raw])))[0]
        names = _fields(header, _separator(header))
        if len(names) >= 3 and all(_is_number(n.replace(",", ".")) for n in names):
            return True
        map_columns(path, names, 1)
    except (InputError, ValueError, csv.Error):
        return False
    return True


# ----------------------------------------------------------------------------- parsing


def parse_table(path, notes: LoadNotes, progress: Callable[[int], object] | None = None) -> RawTable:
    """Read the file's numbers and column roles; raises InputError naming line and column.

    The text is read a chunk at a time (_chunks) and never held whole: a day at 50 Hz is
    160-260 MB of text, twice or three times what its samples take as arrays. ``progress(n)``:
    called with the bytes of the file read so far as the reading goes on.
    """
    source = _Source(path, notes, progress)
    try:
        return _parse(source, path, notes)
    except InputError:
        source.drain()  # corrupt gzip data is told first, as when the file was decompressed whole
        raise
    finally:
        source.close()


@dataclass
class _Layout:
    """Where the data begins and how it is read: enough to read it again (_restream_bad_datetime)."""

    offset: int  # bytes of text before the data
    prefix: bytes  # the header line of a file without one, which is data
    first: int  # line number of the data's first line
    sep: str | None
    decimal_comma: bool
    cols: ColumnMap


def _parse(source: _Source, path, notes: LoadNotes) -> RawTable:
    r = _Reader(source.text())
    r.fill_lines(actigraph.MAX_LINES + 1)
    acti = actigraph.read_header(path, r.buf)
    if acti is not None:
        actigraph.refuse_counts(path, acti)
    header, header_line, pos = _split_header(path, r, *((acti.end, acti.lines, False) if acti else (0, 0, not source.bom)))
    r.drop(pos)
    sep = _separator(header)
    names = _fields(header, sep)
    r.fill(_DECIMAL_SNIFF)
    decimal_comma = sep != "," and b"," in r.buf[:_DECIMAL_SNIFF]
    numeric = [_is_number(f.replace(",", ".") if decimal_comma else f) for f in names]
    if all(numeric) or (len(names) >= 4 and looks_like_datetime(names[0]) and all(numeric[1:])):
        cols = headerless_map(path, len(names), header_line)
        prefix, first = header.encode("utf-8") + b"\n", header_line
        shown = cols.names[:4] if cols.time is not None else cols.names[:3]
        notes.add(f"no header line; read the columns as {','.join(shown)}")
    else:
        cols = map_columns(path, names, header_line)
        prefix, first = b"", header_line + 1
    cols, text_time = _time_column(cols, _first_row(r, prefix, sep, decimal_comma), acti)
    if acti is not None:
        unused = "; its Timestamp column is not used" if text_time is None and any(
            "timestamp" in n.lower() for n in names) else ""
        notes.add(f"{acti.device} RAW export (ActiLife): {acti.rate_hz:g} Hz and start {acti.start_text or 'unknown'} "
                  f"from its header, read as this computer's local time{unused}"
                  if acti.rate_hz else f"{acti.device} RAW export (ActiLife) without a sample rate in its header")
    device = None
    if cols.device is not None:
        r.fill_lines(_DEVICE_LINES)
        device = _first_cell(prefix + r.buf, sep, cols.device)
    layout = _Layout(r.offset, prefix, first, sep, decimal_comma, cols)
    label = None
    if text_time is not None:
        label = f"column {text_time + 1}" if cols.headerless else f"column '{cols.names[text_time].strip()}'"

    rows = _Rows(cols, dates=text_time is not None, size_hint=source.size_hint())
    lines = _Lines(first)
    width = len(names)
    named_line = header_line if not cols.headerless else None
    nonblank = False  # the data holds something besides whitespace
    width_error = parse_error = date_error = None  # the first of each kind; told in this order
    dates: DateTimeColumn | None = None
    cleaned: list[int] = []  # chunks whose lines of only spaces were blanked (_diagnose)
    line = first
    cut: tuple[int, int] | None = None  # (line, fields) of a last line cut off (_cut_last_line)
    # Errors do not stop the reading at once: an error of a kind told before another (a row too
    # wide is told before an unreadable value anywhere) may come later in the file.
    for i, (chunk, last) in enumerate(_marking_last(_chunks(r, prefix, sep))):
        at, line = line, line + chunk.count(b"\n")
        if last:
            chunk, cut = _cut_last_line(chunk, sep, max(cols.usecols) + 1, line)
            if not chunk:
                continue
        if decimal_comma:
            chunk = chunk.replace(b",", b".")
        nonblank = nonblank or not chunk.isspace()
        if width_error is None:
            try:
                _check_row_width(path, chunk, sep, width, at, named_line)
            except InputError as e:
                width_error = e
        if width_error is not None:
            if nonblank:
                break
            continue
        if parse_error is not None:
            continue
        try:
            values, parsed = _parse_chunk(path, chunk, at, sep, cols, rows.n)
        except InputError as e:
            parse_error = e
            continue
        if parsed is not chunk:
            cleaned.append(i)
        lines.add(parsed, sep)
        rows.add(values, len(parsed))
        if text_time is not None and date_error is None:
            cells = _loadtxt_text(parsed, sep, text_time)
            if cells.size:
                try:
                    if dates is None:
                        dates = DateTimeColumn(path, cells[:1], label, first)
                    rows.add_stamps(dates.stamps(dates.strip(cells)))
                except InputError as e:
                    date_error = e
                except ValueError:
                    date_error = i
    source.drain()
    cut_text = source.cut_text()
    if cut is not None:
        cut_text += (f"; the file is truncated: its last line ({cut[0]}) has {count(cut[1], 'field')}, "
                     f"expected at least {max(cols.usecols) + 1}, and no line end")
    if not nonblank:
        raise InputError(path, f"header only, no data rows (columns {', '.join(n.strip() for n in names)})"
                               f"{cut_text}", line=header_line)
    if width_error is not None:
        raise width_error
    if parse_error is not None:
        raise parse_error
    if rows.n == 0:
        raise InputError(path, f"header only, no data rows{cut_text}", line=header_line)
    if cut is not None:
        notes.add(f"{cut_text[len('; the '):]}; kept the {rows.n} complete rows before it, dropped that partial line")

    time, xyz, stamps = rows.finish()
    if cols.gravity_axes is not None:
        notes.add("added the gravity columns to the gravity-free acceleration columns")
    table = RawTable(str(path), cols, time, xyz, lines.locate, unread=cols.unread(text_time))
    if text_time is not None:
        if isinstance(date_error, InputError):
            raise date_error
        if date_error is not None:
            raise dates.not_like_the_others(_restream_bad_datetime(path, layout, dates, text_time, cleaned, date_error))
        if dates is None:
            DateTimeColumn(path, np.zeros(0, dtype=str), label, first)  # raises: the column is empty
        table.time, table.start_time, note = dates.seconds(stamps)
        table.time_ready = True
        notes.add(note)
    table.device = device or None
    if acti is not None:
        table.rate_hz, table.device = acti.rate_hz, acti.device
        if table.time is None:
            table.start_time = acti.start_time
    return table


def _marking_last(chunks: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """(chunk, whether it is the last one)."""
    previous = next(chunks, None)
    for chunk in chunks:
        yield previous, False
        previous = chunk
    if previous is not None:
        yield previous, True


def _cut_last_line(chunk: bytes, sep, need: int, line: int) -> tuple[bytes, tuple[int, int] | None]:
    """The last chunk without its last record when that record was cut off: it has no line end and
    fewer than the `need` fields the columns read take (a file copied or written only in part, as a
    truncated gzip stream keeps its complete lines). Then also (its line number, its fields);
    otherwise the chunk as it is and None. Only the last line is forgiven: a short row anywhere
    else is an error (_diagnose)."""
    if chunk.endswith(b"\n"):
        return chunk, None
    start = _records_end(chunk, 0, len(chunk), sep, one=False)  # where the unended record begins
    body = chunk[start:].split(b"#", 1)[0]
    if not body.strip():
        return chunk, None
    fields = len(_fields(body.decode("utf-8", errors="replace"), sep))
    if fields >= need:
        return chunk, None
    return chunk[:start], (line, fields)


def _first_row(r: _Reader, prefix: bytes, sep, decimal_comma: bool) -> list[str] | None:
    """The fields of the first data line (not blank, not a comment); None for none."""
    for line in _data_lines(prefix, r):
        line = line.split(b"#", 1)[0]
        if line.strip():
            text = line.decode("utf-8", errors="replace")
            return _fields(text.replace(",", ".") if decimal_comma else text, sep)
    return None


def _data_lines(prefix: bytes, r: _Reader) -> Iterator[bytes]:
    """The lines from the data's start, reading on as needed."""
    if prefix:
        yield prefix[:-1]
    for line, _ in r.lines():
        yield line


def _first_cell(data: bytes, sep, column: int) -> str | None:
    """Column `column` of the first data line, quotes and all (a 'device' column names the device
    in its first row, as write_csv writes it)."""
    for line in data.split(b"\n", _DEVICE_LINES)[:_DEVICE_LINES]:
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


# ----------------------------------------------------------------------------- chunks


def _record_patterns(sep: str | None) -> tuple[re.Pattern, re.Pattern]:
    """(one record, as many records as follow) as numpy.loadtxt reads them with quotechar '"': a
    field that starts with a quote (after leading spaces when fields are separated by spaces)
    runs to the closing quote, line breaks and all; '#' outside quotes starts a comment; a quote
    anywhere else is an ordinary character (numpy's textreading/tokenize.cpp)."""
    if sep is None:  # str patterns: \s is the same Unicode whitespace numpy splits on
        record = r'(?:[^\S\n]+|"(?:[^"]|"")*+"[^\s#]*|[^\s#"][^\s#]*)*+(?:#[^\n]*)?\n'
        return re.compile(record), re.compile(f"(?:{record})*+")
    d = f"\\x{ord(sep):02x}"
    record = f'(?:{d}|"(?:[^"]|"")*+"[^{d}\\n#]*|[^{d}\\n#"][^{d}\\n#]*)*+(?:#[^\\n]*)?\\n'.encode()
    return re.compile(record), re.compile(b"(?:" + record + b")*+")


_PATTERNS: dict[str | None, tuple[re.Pattern, re.Pattern]] = {}


def _records_end(buf: bytes, start: int, stop: int, sep, one: bool) -> int:
    """Where the last record that ends in buf[start:stop] ends (one: the first), or start when
    none does. Without quotes a record is a line."""
    region = buf[start:stop]
    if b'"' not in region:
        end = region.find(b"\n") if one else region.rfind(b"\n")
        return start + end + 1
    if sep not in _PATTERNS:
        _PATTERNS[sep] = _record_patterns(sep)
    pattern = _PATTERNS[sep][0 if one else 1]
    if sep is not None:
        m = pattern.match(region)
        return start + (m.end() if m else 0)
    text = region.decode("utf-8", errors="replace")
    m = pattern.match(text)
    count = text.count("\n", 0, m.end()) if m else 0
    if not count:
        return start
    return start + int(np.flatnonzero(np.frombuffer(region, np.uint8) == 10)[count - 1]) + 1


def _chunks(r: _Reader, prefix: bytes, sep) -> Iterator[bytes]:
    """The data (prefix, r.buf and the rest of the text) in chunks of at most CHUNK_BYTES that
    end where a record ends (a line, unless a quoted field holds a line break), so that numpy
    reads each chunk as it read the same lines in the whole file. A record longer than
    CHUNK_BYTES is a chunk of its own."""
    buf, pos = prefix + r.buf, 0
    r.drop(len(r.buf))
    while True:
        if len(buf) - pos <= CHUNK_BYTES and r.more():
            buf, pos = buf[pos:] + r.buf, 0
            r.drop(len(r.buf))
            continue
        if len(buf) - pos <= CHUNK_BYTES:  # the end of the text
            if pos < len(buf):
                yield buf[pos:]
            return
        cut = _records_end(buf, pos, pos + CHUNK_BYTES, sep, one=False)
        if cut == pos:  # the record at pos is longer than a chunk: it alone, however long
            buf, pos = buf[pos:], 0
            while (cut := _records_end(buf, 0, len(buf), sep, one=True)) == 0:
                if not r.more():
                    cut = len(buf)
                    break
                buf += r.buf
                r.drop(len(r.buf))
        yield buf[pos:cut]
        pos = cut


def _parse_chunk(path, chunk: bytes, first: int, sep, cols: ColumnMap, rows_before: int) -> tuple[np.ndarray, bytes]:
    """(values, the chunk as parsed): one loadtxt call, or _diagnose's verdict and a second call
    when the chunk's only fault is lines of spaces."""
    try:
        return _loadtxt(chunk, sep, cols), chunk
    except ValueError as e:
        chunk = _diagnose(path, chunk, first, sep, cols, e, rows_before)  # raises unless only blank-ish lines
        return _loadtxt(chunk, sep, cols), chunk


class _Rows:
    """The parsed numbers, in arrays that grow a chunk at a time to the recording's length.

    They are reserved (np.empty) at the length the file's size suggests, which costs no memory
    until written, grown in place if that was too little (ndarray.resize: realloc, no second copy;
    it zeroes what it adds) and cut to length at the end the same way."""

    def __init__(self, cols: ColumnMap, dates: bool, size_hint: int):
        self.k = 1 if cols.time is not None else 0
        self.gravity = cols.gravity_axes is not None
        self.size_hint = size_hint
        self.guess = 0  # rows the file holds, judged from its first chunk
        self.n = 0
        self.time = np.empty(0, dtype=np.float64) if self.k else None
        self.xyz = np.empty((0, 3), dtype=np.float64)
        self.stamps = np.empty(0, dtype="datetime64[us]") if dates else None
        self.n_stamps = 0

    def _room(self, a: np.ndarray, used: int, add: int) -> np.ndarray:
        """a, or a larger a with room for `add` more rows after `used`."""
        if used + add <= a.shape[0]:
            return a
        if a.shape[0]:
            a.resize((max(a.shape[0] * 3 // 2, used + add),) + a.shape[1:], refcheck=False)
            return a
        try:
            return np.empty((max(self.guess, add),) + a.shape[1:], dtype=a.dtype)
        except MemoryError:  # a system that will not reserve what it may never be asked for
            return np.empty((2 * add,) + a.shape[1:], dtype=a.dtype)

    def add(self, values: np.ndarray, nbytes: int) -> None:
        """A chunk's values; nbytes: the chunk's length in bytes."""
        m = values.shape[0]
        if m == 0:
            return
        if not self.guess:  # the first chunk's bytes per row and the file's size
            self.guess = int(self.size_hint * m / max(nbytes, 1) * 1.1) + 1024
        n, k = self.n, self.k
        self.xyz = self._room(self.xyz, n, m)
        if k:
            self.time = self._room(self.time, n, m)
            self.time[n:n + m] = values[:, 0]
        if self.gravity:
            np.add(values[:, k:k + 3], values[:, k + 3:k + 6], out=self.xyz[n:n + m])
        else:
            self.xyz[n:n + m] = values[:, k:k + 3]
        self.n = n + m

    def add_stamps(self, stamps: np.ndarray) -> None:
        m = stamps.shape[0]
        self.stamps = self._room(self.stamps, self.n_stamps, m)
        self.stamps[self.n_stamps:self.n_stamps + m] = stamps
        self.n_stamps += m

    def finish(self) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
        """(time, xyz, date-time stamps), each cut to its length."""
        self.xyz.resize((self.n, 3), refcheck=False)
        if self.time is not None:
            self.time.resize(self.n, refcheck=False)
        if self.stamps is not None:
            self.stamps.resize(self.n_stamps, refcheck=False)
        out = self.time, self.xyz, self.stamps
        self.time = self.xyz = self.stamps = None
        return out


_SPACE = np.zeros(256, dtype=bool)
_SPACE[list(b" \t\n\r\x0b\x0c")] = True  # what bytes.strip() strips


def _not_rows(chunk: bytes) -> np.ndarray:
    """Indices of the chunk's lines that hold no data row: blank, or nothing before a '#' but
    spaces (line.split(b"#", 1)[0].strip() is empty)."""
    arr = np.frombuffer(chunk, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    if arr.size and arr[-1] != 10:
        ends = np.append(ends, arr.size)
    starts = np.concatenate(([0], ends[:-1] + 1)) if ends.size else ends
    p = starts.copy()
    todo = np.flatnonzero(p < ends)
    for _ in range(64):  # step over leading spaces, all lines at once
        todo = todo[_SPACE[arr[p[todo]]]]
        if not todo.size:
            break
        p[todo] += 1
        todo = todo[p[todo] < ends[todo]]
    else:
        for j in todo.tolist():  # more than 64 spaces in front
            if not chunk[starts[j]:ends[j]].split(b"#", 1)[0].strip():
                p[j] = ends[j]
    seen = np.minimum(p, max(arr.size - 1, 0))
    return np.flatnonzero((p >= ends) | (arr[seen] == ord("#")))


class _Lines:
    """Data row index -> file line number, the same as when the whole text was at hand: row i is
    on line first + i when the data has no blank line (but at its end) and no '#'; otherwise rows
    are the lines with something before any '#', counted in order. Kept as one small entry per
    chunk (the lines in it that hold no row), not one per row."""

    def __init__(self, first: int):
        self.first = first
        self.simple = True
        self._started = False
        self._newlines = 0  # the run of line ends at the end of the data so far
        self._line = first
        self._rows = 0
        self._before: list[int] = []  # rows before each chunk
        self._chunks: list[tuple[int, np.ndarray | None]] = []  # (first line, lines without a row)

    def add(self, chunk: bytes, sep) -> None:
        """The next chunk of data, as parsed."""
        if self.simple:
            body = len(chunk.rstrip(b"\n"))
            if b"#" in chunk or (not self._started and chunk.startswith(b"\n")):
                self.simple = False
            elif body:  # "\n\n" followed by something other than line ends
                lead = len(chunk) - len(chunk.lstrip(b"\n"))
                inner = chunk.find(b"\n\n", lead)
                self.simple = self._newlines + lead < 2 and not (0 <= inner < body - 1)
            self._newlines = len(chunk) - body if body else self._newlines + len(chunk)
        self._started = True
        count = chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
        skip = None
        if sep is None or b"#" in chunk or b"\n\n" in chunk or chunk.startswith(b"\n"):
            skip = _not_rows(chunk)
            skip = skip if skip.size else None
        self._before.append(self._rows)
        self._chunks.append((self._line, skip))
        self._rows += count - (skip.size if skip is not None else 0)
        self._line += chunk.count(b"\n")

    def locate(self, i: int, column: int | None = None) -> tuple[int | None, str]:
        if self.simple:
            return self.first + i, ""
        if not 0 <= i < self._rows:
            return None, ""
        c = bisect.bisect_right(self._before, i) - 1
        line, skip = self._chunks[c]
        k = i - self._before[c]
        if skip is not None:
            k += int(np.searchsorted(skip - np.arange(skip.size), k, side="right"))
        return line + k, ""


def _restream_bad_datetime(path, layout: _Layout, dates: DateTimeColumn, column: int, cleaned: list[int],
                           upto: int) -> str | None:
    """The first cell of the date-time column that does not look like one, read again from the
    file up to chunk `upto` (where numpy found one it could not read): an error path only."""
    source = _Source(path, LoadNotes(path))
    try:
        r = _Reader(source.text())
        r.fill(layout.offset)
        r.drop(layout.offset)
        line = layout.first
        for i, chunk in enumerate(_chunks(r, layout.prefix, layout.sep)):
            at, line = line, line + chunk.count(b"\n")
            if layout.decimal_comma:
                chunk = chunk.replace(b",", b".")
            if i in cleaned:
                chunk = _diagnose(path, chunk, at, layout.sep, layout.cols, ValueError(), 0)
            bad = first_not_datetime(dates.strip(_loadtxt_text(chunk, layout.sep, column)))
            if bad is not None or i == upto:
                return bad
    finally:
        source.close()
    return None


def _loadtxt_text(data: bytes, sep, column: int) -> np.ndarray:
    return _numpy_loadtxt(data, sep, [column], str, 1)


def _loadtxt(data: bytes, sep, cols: ColumnMap) -> np.ndarray:
    return _numpy_loadtxt(data, sep, cols.usecols, np.float64, 2)


def _numpy_loadtxt(data: bytes, sep, usecols, dtype, ndmin: int) -> np.ndarray:
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")
    end = data.find(b"\n")
    if data[:end if end >= 0 else len(data)].split(b"#", 1)[0].strip():  # a row first: numpy finds data
        return np.loadtxt(text, delimiter=sep, usecols=usecols, dtype=dtype, ndmin=ndmin, comments="#", quotechar='"')
    with warnings.catch_warnings():  # a chunk of comments holds no row: no warning from numpy for that
        warnings.filterwarnings("ignore", "loadtxt: input contained no data", UserWarning)
        return np.loadtxt(text, delimiter=sep, usecols=usecols, dtype=dtype, ndmin=ndmin, comments="#", quotechar='"')


def _diagnose(path, data: bytes, first: int, sep, cols: ColumnMap, err: Exception, rows_before: int) -> bytes:
    """loadtxt failed: walk the lines to name the line and column, and raise InputError.

    The one thing forgiven is a line of only spaces (or an indented comment), which loadtxt
    rejects with an explicit delimiter: such lines are blanked (numbering kept) and the
    cleaned data is returned for a second parse. rows_before: rows in the chunks before this one
    (numpy's own message counts rows from the start of what it was given).
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
                f"row has {count(len(fields), 'field')}, expected at least {need} "
                f"(columns {', '.join(cols.names[c].strip() for c in cols.usecols)})",
                line=first + j,
            )
        for c in cols.usecols:
            cell = fields[c].strip().strip('"').strip()
            if not _is_number(cell):
                what = "empty cell" if not cell else f"non-numeric value {cell!r}"
                raise InputError(path, f"{what} in column {cols.names[c].strip()}", line=first + j)
    if not blanked:
        said = re.sub(r"at row (\d+)", lambda m: f"at row {int(m.group(1)) + rows_before}", str(err), count=1)
        raise InputError(path, f"cannot parse the data ({said})")
    return "\n".join(lines).encode("utf-8")


# ----------------------------------------------------------------------------- to SampleBlock


def table_to_block(table: RawTable, rate_hz: float | None, notes: LoadNotes, device: str = "csv") -> SampleBlock:
    """Units, time axis, validation: the common tail of every CSV-like import.

    Takes the table's arrays: each is let go (set to None) once converted, so that a long
    recording is not held in the file's units and in g at once."""
    path, cols = table.path, table.cols
    acc, unit = to_g(table.xyz, cols.acc_unit, path, notes, sensor_logger=cols.is_sensor_logger(),
                     column=cols.names[cols.axes[0]])
    table.xyz = None
    has_time = table.time is not None
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
    table.time = None
    device = table.device or device
    names = ((cols.time_name or "t").strip(),) + tuple(cols.names[c].strip() for c in cols.axes)
    t, acc = check_samples(t, acc, path, table.locate, notes, columns=names)
    if rate_hz is not None and has_time:
        raise rate_not_needed(path, _estimate_rate(t))
    if rate_hz is None:
        said = cols.time_named.rate_hz if cols.time_named else None
        if t.shape[0] < 2:  # no interval to measure: the header's rate, or none to make up
            if not said:
                raise InputError(path, "only one sample, and its sample rate cannot be measured from one timestamp")
            rate_hz = said
        else:
            rate_hz = _estimate_rate(t)
        if said:  # a nominal rate in the header stands while the timestamps agree with it
            if abs(said / rate_hz - 1.0) <= NOMINAL_RATE_SLACK:
                rate_hz = said
            else:
                notes.add(f"{cols.time_name.strip()!r} says {said:g} Hz but the timestamps show {rate_hz:g} Hz (rows "
                          f"removed or added since it was written?); using {rate_hz:g} Hz")
    check_time_axis(t, float(rate_hz), path, table.locate, notes)
    meta = {"source_file": os.path.basename(path), "source_units": unit}
    if table.unread:
        meta["unread_columns"] = list(table.unread)
    if start_time is not None:
        meta["start_time_from"] = ("device header" if not has_time else "date-times" if table.time_ready
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
