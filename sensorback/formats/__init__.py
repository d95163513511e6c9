"""Recording files in and out: pick the reader/writer from the file name.

    load(path, rate_hz=None, progress=None) -> SampleBlock   # .sbr native; .csv/.csv.gz/.txt/.tsv(.gz) CSV;
                                                  # .cwa/.cwa.gz (Axivity), .gt3x (ActiGraph) read only;
                                                  # progress(bytes read so far, total=bytes to read)
    save(block, path, progress=None)              # .sbr and CSV; progress(samples written so far)
    save_blocks(blocks, path, n_samples, ...)     # the same, from consecutive blocks (bounded memory)
    iter_blocks(path, chunk_samples=...) -> Iterator[SampleBlock]   # bounded memory but for CSV (held whole)

Bad input raises sensorback.errors.InputError ("file:line: message"). Repairs and guesses
(dropped partial record, m/s^2 converted to g, Unix time re-based, ...) are returned in
``block.meta["notes"]`` as "file: message" lines and also raised as FormatWarning, which
the CLI prints as ``warning: ...``.
"""

from __future__ import annotations

import os
import stat
from typing import Callable, Iterable, Iterator

from ..errors import InputError, naming
from ..extensions import CSV_EXT as _CSV_EXT, DEVICE_EXT as _DEVICE_EXT, EXTENSIONS
from ..samples import SampleBlock
from .csv_write import write_csv, write_csv_blocks
from .csv_read import read_csv
from .native import NativeWriter, iter_native, read_native, read_native_header, write_native, write_native_blocks
from .notes import FormatWarning, LoadNotes, warn_unread_columns
from .validate import rate_not_needed

__all__ = [
    "load", "save", "save_blocks", "iter_blocks", "kind_of", "NativeWriter", "read_native", "iter_native",
    "read_native_header", "write_native", "read_csv", "write_csv", "FormatWarning", "LoadNotes",
    "EXTENSIONS",
]


def kind_of(path) -> str:
    """'native', 'csv', 'cwa' or 'gt3x' from the file name; InputError for anything else."""
    name = os.fspath(path).lower()
    if name.endswith(".sbr"):
        return "native"
    if name.endswith(_CSV_EXT):
        return "csv"
    for ext, kind in _DEVICE_EXT.items():
        if name.endswith(ext):
            return kind
    raise InputError(path, f"unknown file type; expected one of {', '.join(EXTENSIONS)}")


def _read_device_file(kind: str, path) -> SampleBlock:
    # Imported on use: pygt3x (and pandas) only load when a .gt3x file is read.
    if kind == "cwa":
        from .cwa import read_cwa

        return read_cwa(path)
    from .gt3x import read_gt3x

    return read_gt3x(path)


def _check_file(path) -> int:
    """The file's size in bytes, taken before it is read; InputError when there is no such file
    (as os.path.exists judges: any OSError, or a name no file can have) or it is a folder."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        raise InputError(path, "no such file") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(path, "is a directory, not a recording file")
    return st.st_size


def _refuse_rate(kind: str, path, rate_hz: float | None) -> None:
    """A rate is only for CSV without a time column: .sbr, .cwa and .gt3x files time their own
    samples (CSV is checked once its columns are known, in csv_io.table_to_block)."""
    if rate_hz is None or kind == "csv":
        return
    if kind == "native":
        own = read_native_header(path).rate_hz
    elif kind == "cwa":
        from .cwa import read_cwa_header

        own = read_cwa_header(path).rate_hz
    else:
        own = next(iter_blocks(path, chunk_samples=1)).rate_hz
    raise rate_not_needed(path, own)


def load(path, rate_hz: float | None = None, progress: Callable[..., object] | None = None) -> SampleBlock:
    """Read a whole recording. rate_hz is only for CSV without a time column; given for a file
    with its own timestamps it is refused (a one-line SensorbackError naming --rate).
    ``progress(done, total=n)``: the bytes read so far of the files the recording is read from, out
    of the bytes they hold (sizes taken before they are read): called with 0 before the reading
    starts, then as it goes on (a CSV, slow to parse, after each read of a piece; other formats,
    read in a moment, once at their end). A CSV's files are the file itself and, for Sensor Logger's
    Accelerometer.csv, the Gravity.csv beside it (sensorlogger.read_sensor_logger_aware)."""
    kind = kind_of(path)
    size = _check_file(path)
    _refuse_rate(kind, path, rate_hz)
    if kind == "csv":
        return read_csv(path, rate_hz=rate_hz, progress=progress)
    if progress is not None:
        progress(0, total=size)
    block = read_native(path) if kind == "native" else _read_device_file(kind, path)
    if progress is not None:
        progress(size, total=size)
    return block


def save(block: SampleBlock, path, progress: Callable[[int], object] | None = None) -> None:
    """Write a recording; the format follows the extension. Replaces the file atomically.
    OSErrors (a full disk) name `path`. A CSV's columns that were not read are named in a warning.
    ``progress(n)``: called with the samples written so far as the writing goes on (a CSV, slow to
    write, a chunk of rows at a time; a .sbr, written in a moment, once at its end)."""
    kind = kind_of(path)
    if kind in _DEVICE_EXT.values():
        raise InputError(path, f"sensorback reads .{kind} files but does not write them; write .sbr or .csv")
    warn_unread_columns(block.meta, path)
    with naming(path):
        if kind == "native":
            write_native(block, path)
            if progress is not None:
                progress(len(block))
        else:
            write_csv(block, path, progress=progress)


def save_blocks(blocks: Iterable[SampleBlock], path, n_samples: int, device: str = "unknown",
                rate_hz: float = 50.0, start_time: float | None = None, meta: dict | None = None) -> None:
    """save() for a recording that comes as consecutive blocks (n_samples in all, known beforehand),
    holding one block at a time: the same file as save() of them all in one block. Nothing appears
    at ``path`` until the last block is in; an error or Ctrl-C on the way leaves no file behind."""
    kind = kind_of(path)
    if kind in _DEVICE_EXT.values():
        raise InputError(path, f"sensorback reads .{kind} files but does not write them; write .sbr or .csv")
    warn_unread_columns(meta or {}, path)
    with naming(path):
        if kind == "native":
            write_native_blocks(path, blocks, n_samples, device, rate_hz, start_time, meta)
        else:
            write_csv_blocks(blocks, path, device, rate_hz, start_time, meta)


def iter_blocks(path, chunk_samples: int = 1 << 20, rate_hz: float | None = None) -> Iterator[SampleBlock]:
    """Consecutive blocks of at most chunk_samples. Native, .cwa and .gt3x files are read chunk by
    chunk (bounded memory, e.g. 7 days at 100 Hz); CSV is read whole (parsed a chunk at a time, see
    csv_io) and then sliced."""
    if chunk_samples < 1:
        raise ValueError("chunk_samples must be >= 1")
    kind = kind_of(path)
    _check_file(path)
    _refuse_rate(kind, path, rate_hz)
    if kind == "native":
        yield from iter_native(path, chunk_samples=chunk_samples)
        return
    if kind in _DEVICE_EXT.values():
        from .cwa import iter_cwa
        from .gt3x import iter_gt3x

        yield from (iter_cwa if kind == "cwa" else iter_gt3x)(path, chunk_samples=chunk_samples)
        return
    whole = read_csv(path, rate_hz=rate_hz)
    notes = whole.meta.pop("notes", None)
    for i in range(0, len(whole), chunk_samples):
        part = whole.slice(i, i + chunk_samples)
        if i == 0 and notes:
            part.meta["notes"] = notes
        yield part
