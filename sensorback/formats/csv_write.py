"""``write_csv``: a recording as CSV that reads back sample for sample (docs/native-format.md,
"CSV interchange").

    t (s since 2024-03-04T08:15:15.749Z),ax,ay,az,device
    0.004349559509437158,0.96643066,-0.1541748,0.3380127,simulator
    0.01666313358577192,0.9733887,-0.1303711,0.3293457,simulator

Every value is written with the fewest digits that read back as the very number the recording
holds: t (float64) as Python's shortest repr, acceleration (float32, as .sbr stores it) with the
fewest significant digits that come back as the same float32. The start time is in the time
column's name (and the nominal rate, when t would not give it back: "t (s since ... at 100 Hz)"),
the device in a 'device' column; the file stays a plain CSV that pandas.read_csv and spreadsheets
open as it is. What a CSV cannot keep (other metadata) is named in one FormatWarning.
"""

from __future__ import annotations

import itertools
import os
import warnings
from typing import Callable, Iterable

import numpy as np

from ..private import fresh_writing_path, open_private, temp_named_as
from ..samples import SampleBlock
from .csv_io import _estimate_rate
from .datetimes import time_name
from .notes import OF_THE_READING, FormatWarning

# Metadata a reader makes up (not the recording's): losing it loses nothing.
_READER_META = {*OF_THE_READING, "source_file", "source_units", "start_time_from"}
_P10 = np.array([10.0**k for k in range(13)])  # exact in float64


def float32_digits(values: np.ndarray) -> np.ndarray:
    """Significant digits for '%.*g' to write each float32 value so that it reads back (parsed as
    float64, then cast to float32) as exactly that value: the fewest that do (1 for zero; 6 also
    stands for fewer, as '%.6g' drops trailing zeros), at most 9, which always suffices.

    Exact, not a heuristic, for 1e-4 <= |v| < 1e5 (other values get 9): there v * 10**k with
    k <= 12 is exact in float64, so np.rint gives the digits '%.*g' prints (both round half to
    even), and the division by 10**k is the correctly rounded float64 a parser returns.
    """
    f = np.ascontiguousarray(values, dtype=np.float32).ravel()
    v = f.astype(np.float64)
    m = np.abs(v)
    _, b = np.frexp(m)
    e = np.clip(np.floor((b - 1) * 0.30103), -5, 4).astype(np.int64)  # decimal exponent, maybe 1 off
    s = m * _P10[7 - e]  # exact; in [1e7, 1e8) when e is right
    e -= s < 1e7
    e += s >= 1e8
    p = np.full(v.shape, 9, dtype=np.int64)
    todo = (e >= -4) & (e <= 4)
    for d in (6, 7, 8):
        scale = _P10[np.clip(d - 1 - e, 0, 12)]
        hit = (np.rint(v * scale) / scale).astype(np.float32) == f
        hit &= todo
        p[hit] = d
        todo &= ~hit
    p[v == 0] = 1
    return p.reshape(np.shape(values))


def _cell(text: str, sep: str) -> str | None:
    """`text` as one CSV field (quoted if need be); None if no field can hold it (line breaks)."""
    if any(ord(c) < 32 and c != "\t" or c == "\x7f" for c in text) or (sep == "\t" and "\t" in text):
        return None
    if sep in text or '"' in text or "#" in text or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def _lost(start_time: float | None, device: str, meta: dict, start_kept: bool, cell: str | None) -> list[str]:
    """What of a recording (its start time, device and metadata) the CSV does not keep, each
    named exactly; cell: the device as a CSV field (None: no field can hold it)."""
    lost = []
    if start_time is not None and not start_kept:
        lost.append(f"start_time {start_time!r} (not a date from 2000 to 2099)")
    if cell is None:
        lost.append(f"the device name {device!r} (it holds line breaks or control characters)")
    other = sorted(k for k, v in meta.items()
                   if k not in _READER_META and not (k == "clock" and v == "device-local" and start_kept))
    if other:
        lost.append(f"the metadata {', '.join(map(repr, other))}")
    return lost


def write_csv(block: SampleBlock, path, chunk_rows: int = 50_000,
              progress: Callable[[int], object] | None = None) -> None:
    """Write t,ax,ay,az,device so that reading the file back gives the same samples bit for bit,
    the same start time and device; .gz compresses; .tsv uses tabs.

    Written to a temp file and renamed, so a failed export never leaves half a file behind.
    """
    write_csv_blocks([block], path, block.device, block.rate_hz, block.start_time, block.meta, chunk_rows, progress)


def write_csv_blocks(blocks: Iterable[SampleBlock], path, device: str, rate_hz: float,
                     start_time: float | None = None, meta: dict | None = None, chunk_rows: int = 50_000,
                     progress: Callable[[int], object] | None = None) -> None:
    """write_csv for a recording that comes as consecutive blocks, holding one at a time: the same
    file as write_csv of them all in one block whenever the first block's timestamps give the
    rate the whole recording's do (a regular clock). The header (start time, device, nominal
    rate) is the recording's, given here. Nothing appears at ``path`` until the last block is
    in; an error or Ctrl-C on the way leaves no file behind. ``progress(n)``: called with the rows
    written so far after each chunk of rows."""
    path = os.fspath(path)
    low = path.lower()
    sep = "\t" if low.endswith((".tsv", ".tsv.gz")) else ","
    meta = meta or {}
    blocks = iter(blocks)
    first = next(blocks, None)
    t0 = np.asarray(first.t, dtype=np.float64) if first is not None else np.zeros(0)
    # the nominal rate only when reading t back would not give it (1 / the median interval)
    rate = None if t0.shape[0] > 1 and _estimate_rate(t0) == rate_hz else rate_hz  # one sample: no interval
    t_name, start_kept = time_name(start_time, meta.get("clock") == "device-local", rate)
    cell = _cell(str(device), sep)
    lost = _lost(start_time, str(device), meta, start_kept, cell)
    if lost:
        warnings.warn(f"{path}: CSV does not keep {'; '.join(lost)} (use .sbr to keep everything)", FormatWarning,
                      stacklevel=3)
    header = [t_name, "ax", "ay", "az", "device"]
    # The device on every row: a column empty below its first row would make pandas.read_csv
    # warn about mixed types, and gzip makes the repetition almost free.
    fmt = sep.join(["%r", "%.*g", "%.*g", "%.*g", (cell or "").replace("%", "%%")]) + "\n"
    tmp = fresh_writing_path(path)
    written = 0
    try:
        with temp_named_as(tmp, path), open_private(tmp, "w", gzip_level=3 if low.endswith(".gz") else None,
                                                     newline="") as f:
            f.write(sep.join(header) + "\n")
            for block in itertools.chain([first] if first is not None else [], blocks):
                t = np.asarray(block.t, dtype=np.float64)
                acc = np.asarray(block.acc, dtype=np.float32)
                for i in range(0, len(t), chunk_rows):
                    j = min(i + chunk_rows, len(t))
                    a, p = acc[i:j].astype(np.float64), float32_digits(acc[i:j])
                    rows = zip(t[i:j].tolist(), p[:, 0].tolist(), a[:, 0].tolist(), p[:, 1].tolist(),
                               a[:, 1].tolist(), p[:, 2].tolist(), a[:, 2].tolist())
                    f.write("".join(map(fmt.__mod__, rows)))
                    written += j - i
                    if progress is not None:
                        progress(written)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
