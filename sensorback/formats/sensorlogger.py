"""Sensor Logger (Kelvin Choi's phone app) exports: make gravity-free files usable or refuse them.

Its per-sensor CSVs all read ``time,seconds_elapsed,z,y,x`` (time in Unix nanoseconds, values
in m/s^2). TotalAcceleration.csv includes gravity and imports as-is. Accelerometer.csv is
*user* acceleration with gravity removed, useless for posture on its own, so we add
Gravity.csv from the same folder, or refuse with a message saying which file to use.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ..errors import InputError
from ..samples import SampleBlock
from .csv_io import RawTable, parse_table, table_to_block
from .notes import LoadNotes
from .validate import check_samples


def _stem(path) -> str:
    name = os.path.basename(os.fspath(path)).lower()
    for ext in (".gz", ".csv", ".txt", ".tsv"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    return name


def _sibling(path, stem: str) -> str | None:
    """The CSV named ``stem`` beside ``path``; None when there is none. An OSError (naming the
    folder) when the folder cannot be listed."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    names = sorted(os.listdir(folder))
    for name in names:
        if _stem(name) == stem and name.lower().endswith((".csv", ".csv.gz")):
            return os.path.join(folder, name)
    return None


def _size(path) -> int:
    """A file's size in bytes, taken before it is read; 0 when it cannot be taken (reading the file,
    if it is read, then says why)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _reading(progress: Callable[..., object] | None, before: int, total: int) -> Callable[[int], object] | None:
    """parse_table's progress (bytes of one file read so far) as read_sensor_logger_aware's: bytes
    read of all its files, after ``before`` bytes of the files read earlier, out of ``total``."""
    return None if progress is None else lambda n: progress(before + n, total=total)


def read_sensor_logger_aware(path, rate_hz: float | None, notes: LoadNotes,
                             progress: Callable[..., object] | None = None) -> SampleBlock:
    """parse_table + table_to_block, with Sensor Logger's Accelerometer/Gravity split handled.
    ``progress(done, total=n)``: as formats.load's. The bytes to read are the file's and, for an
    Accelerometer.csv with a Gravity.csv beside it, Gravity.csv's (read when the file proves to be
    Sensor Logger's; if it does not, the total shrinks to the file's own bytes once it is read)."""
    stem = _stem(path)
    gpath = unlisted = None
    if stem == "accelerometer":
        try:
            gpath = _sibling(path, "gravity")
        except OSError as e:  # said below if the file proves to be Sensor Logger's, which needs Gravity.csv
            unlisted = e
    size = total = 0
    if progress is not None:
        size = _size(path)
        total = size + (_size(gpath) if gpath is not None else 0)
        progress(0, total=total)
    table = parse_table(path, notes, _reading(progress, 0, total))
    if not table.cols.is_sensor_logger():
        if progress is not None and total != size:
            progress(size, total=size)  # the Gravity.csv beside it is not read
        return table_to_block(table, rate_hz, notes)
    if stem == "gravity":
        raise InputError(path, "Sensor Logger's Gravity.csv is only the gravity estimate, not the measured acceleration; import TotalAcceleration.csv from the same export")
    if stem == "accelerometer":
        if unlisted is not None:
            raise InputError(path, f"cannot list its folder {unlisted.filename} to find the Gravity.csv beside "
                                   f"it (Sensor Logger's Accelerometer.csv has gravity removed): "
                                   f"{unlisted.strerror or unlisted}")
        if gpath is None:
            raise InputError(
                path,
                "Sensor Logger's Accelerometer.csv has gravity removed, and no Gravity.csv is beside it to add back; "
                "import TotalAcceleration.csv from the same export instead (or put Gravity.csv next to this file)",
            )
        table = _add_gravity(table, gpath, notes, _reading(progress, size, total))
    return table_to_block(table, rate_hz, notes, device="sensor-logger")


def _add_gravity(acc: RawTable, gpath: str, notes: LoadNotes,
                 progress: Callable[[int], object] | None = None) -> RawTable:
    """User acceleration + gravity = total acceleration, on the accelerometer's timestamps.
    ``progress(n)``: the bytes of gpath read so far (parse_table)."""
    grav = parse_table(gpath, LoadNotes(gpath), progress)
    if acc.time is None or grav.time is None:
        raise InputError(acc.path, "Sensor Logger files need their time column to be combined with Gravity.csv")
    # Both time columns must be usable before we interpolate one onto the other.
    for tab in (acc, grav):
        check_samples(tab.time, np.zeros((len(tab.time), 3)), tab.path, tab.locate, LoadNotes(tab.path), columns=(tab.cols.time_name, "x", "y", "z"))
    gname = os.path.basename(gpath)
    if acc.time.shape == grav.time.shape and np.array_equal(acc.time, grav.time):
        xyz, keep = acc.xyz + grav.xyz, slice(None)
        notes.add(f"added {gname} to the gravity-free Accelerometer values (Sensor Logger), same timestamps")
    else:
        inside = (acc.time >= grav.time[0]) & (acc.time <= grav.time[-1])
        if not inside.any():
            raise InputError(acc.path, f"no overlap in time with {gname}; cannot add gravity back")
        keep = np.flatnonzero(inside)
        ta = acc.time[keep] - grav.time[0]
        tg = grav.time - grav.time[0]
        g = np.column_stack([np.interp(ta, tg, grav.xyz[:, k]) for k in range(3)])
        xyz = acc.xyz[keep] + g
        dropped = len(acc.time) - keep.size
        extra = f"; dropped {dropped} samples outside its time range" if dropped else ""
        notes.add(f"added {gname} (interpolated onto the Accelerometer timestamps) to the gravity-free Accelerometer values (Sensor Logger){extra}")
        base_locate = acc.locate
        acc = RawTable(acc.path, acc.cols, acc.time, acc.xyz, lambda i, column=None: base_locate(int(keep[i])) if 0 <= i < keep.size else (None, ""),
                       unread=acc.unread)
    return RawTable(acc.path, acc.cols, acc.time[keep], np.ascontiguousarray(xyz), acc.locate, unread=acc.unread)
