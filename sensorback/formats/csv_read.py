"""``read_csv``: a CSV recording, whichever program wrote it.

The table is parsed by ``csv_io`` (columns, units, time axis, device exports); Sensor Logger's
export, which splits the acceleration into two files, is put back together by ``sensorlogger``.
"""

from __future__ import annotations

from typing import Callable

from ..samples import SampleBlock
from .notes import LoadNotes
from .sensorlogger import read_sensor_logger_aware


def read_csv(path, rate_hz: float | None = None, progress: Callable[..., object] | None = None) -> SampleBlock:
    """Load a CSV/TSV (optionally gzip) recording; notes in block.meta['notes'] and as warnings.
    ``progress(done, total=n)``: as formats.load's (bytes read so far of the files read, of n)."""
    notes = LoadNotes(str(path))
    block = read_sensor_logger_aware(path, rate_hz, notes, progress)
    emitted = notes.emit()
    if emitted:
        block.meta["notes"] = emitted
    return block
