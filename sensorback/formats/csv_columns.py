"""Which CSV columns hold time and acceleration, and in which units, judged from the header.

Exports name things differently ("ax", "acc_x", "accelerationX", "Acceleration x (m/s^2)",
Sensor Logger's bare "x"), so names are normalised to lowercase letters and digits, a unit in
brackets or after a final underscore is split off, and the rest is matched against known
prefixes. Columns with gravity removed ("Linear Acceleration x", "userAcceleration.x") are
recognised so we can refuse them with a useful message instead of analysing nonsense.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InputError
from ..timefmt import count
from .datetimes import TimeName, parse_time_name
from .units import ACC_SPELLINGS, ACC_UNIT_NAMES

_TIME_UNITS = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "ms": "ms", "msec": "ms", "millis": "ms", "milliseconds": "ms",
    "us": "us", "µs": "us", "μs": "us", "usec": "us", "micros": "us", "microseconds": "us",
    "ns": "ns", "nsec": "ns", "nanos": "ns", "nanoseconds": "ns",
}
# Lower rank wins when several time-like columns exist (Sensor Logger has time + seconds_elapsed:
# "time" carries the Unix anchor, so it is preferred).
_TIME_NAMES = {
    "t": 0, "time": 1, "timestamp": 2, "timestamps": 2, "secondselapsed": 3, "elapsed": 4,
    "elapsedtime": 4, "timeelapsed": 4, "seconds": 5, "sec": 5, "times": 5, "timesec": 5,
    "timeseconds": 5, "timestampms": 2, "timestampns": 2, "loggingtime": 6, "datetime": 7,
    # MetaWear/MetaBase: 'epoch (ms)' (older exports 'epoc (ms)') is Unix time; its 'time (-04:00)'
    # is text, so the numeric epoch ranks with 'time' and comes first in the file
    "epoch": 1, "epoc": 1, "unixtime": 2, "unixtimestamp": 2,
}
# Activity counts (ActiGraph epochs and the like), recognised to be refused with a clear message.
_COUNTS = {"axis1", "axis2", "axis3", "vectormagnitude", "vm", "steps", "counts", "activitycounts", "activity"}
_TOTAL = {
    "", "a", "acc", "accel", "acceleration", "accelerometer", "accelerometeracceleration",
    "accelerometeraccel", "totalacceleration", "totalacc", "rawacceleration", "rawacc",
    "accelerationwithg", "accelerationincludinggravity", "accelerationig", "accg",
}
_USER = {
    "linearacceleration", "linearacc", "linacc", "linaccel", "useracceleration", "useracc",
    "motionuseracceleration", "accelerationwithoutgravity", "accelerationnog",
}
_GRAVITY = {"gravity", "grav", "motiongravity"}


@dataclass
class ColumnMap:
    """Where the data is: indices into the file's columns, plus units from the header."""

    names: list[str]
    time: int | None
    time_unit: str | None
    axes: tuple[int, int, int]
    acc_unit: str | None
    gravity_axes: tuple[int, int, int] | None = None  # user acceleration + gravity columns, summed
    headerless: bool = False
    # every time-like column, best first: a text column (MetaBase's 'time (-04:00)') gives way
    # to the next one that holds numbers
    time_options: tuple[tuple[int, str | None], ...] = ()
    # time columns named like "t (s since <date> at <rate> Hz)": what the names say, see datetimes
    named: dict[int, TimeName] = field(default_factory=dict)
    device: int | None = None  # a column 'device': its first row names the device (write_csv repeats it)

    @property
    def time_name(self) -> str | None:
        return None if self.time is None else self.names[self.time]

    @property
    def time_named(self) -> TimeName | None:
        return None if self.time is None else self.named.get(self.time)

    @property
    def usecols(self) -> list[int]:
        cols = ([self.time] if self.time is not None else []) + list(self.axes)
        return cols + list(self.gravity_axes or ())

    def unread(self, text_time: int | None = None) -> tuple[str, ...]:
        """The columns no time (numbers, or text_time's date-times), acceleration or device is read
        from, by name ('column 5' where the header gives none). A time column not read (Sensor
        Logger's seconds_elapsed beside its time, MetaBase's elapsed beside its epoch, an ActiLife
        Timestamp beside its header's rate) is another copy of the time axis, not data: not named."""
        read = {*self.usecols, self.device, text_time, *(c for c, _ in self.time_options)}
        return tuple(f"column {i + 1}" if self.headerless or not n.strip() else n.strip()
                     for i, n in enumerate(self.names) if i not in read)

    def is_sensor_logger(self) -> bool:
        """Sensor Logger's per-sensor files: time, seconds_elapsed, z, y, x."""
        bases = {split_name(n)[0] for n in self.names}
        return {"time", "secondselapsed", "x", "y", "z"} <= bases


def _unit_key(u: str) -> str:
    return u.strip().lower().replace(" ", "")


def split_name(raw: str) -> tuple[str, str | None]:
    """'Acceleration x (m/s^2)' -> ('accelerationx', 'm/s^2'); 'time_ms' -> ('time', 'ms')."""
    s = raw.strip().strip("\"'").strip()
    unit = None
    m = re.search(r"[(\[{]([^)\]}]*)[)\]}]", s)
    if m:
        unit = _unit_key(m.group(1))
        s = s[: m.start()] + s[m.end():]
    else:
        parts = re.split(r"[_\s]+", s.strip())
        if len(parts) > 1 and _unit_key(parts[-1]) in (ACC_SPELLINGS.keys() | _TIME_UNITS.keys()):
            unit = _unit_key(parts[-1])
            s = " ".join(parts[:-1])
    base = re.sub(r"[^a-z0-9]", "", s.lower())
    return base, unit


def _axis(base: str) -> tuple[str, str] | None:
    """('acc', 'x') for 'accx'; also 'xaxis' and 'xacc' spellings."""
    if base.endswith("axis") and len(base) >= 5 and base[-5] in "xyz":
        return base[:-5], base[-5]
    if base and base[-1] in "xyz":
        return base[:-1], base[-1]
    if len(base) > 1 and base[0] in "xyz" and base[1:] in ("acc", "accel", "acceleration"):
        return "", base[0]
    return None


def _kind(prefix: str) -> str | None:
    if prefix in _TOTAL:
        return "total"
    if prefix in _USER:
        return "user"
    if prefix in _GRAVITY:
        return "gravity"
    return None


EXPECTED = "t,ax,ay,az (also x,y,z / acc_x / accelerationX / 'Acceleration x (m/s^2)'; time as t, time, timestamp, seconds_elapsed or 'Time (s)')"


def _ambiguous(path, names: list[str], first: int, second: int, what: str, line: int):
    """The error for two columns that name the same thing: which one to read cannot be told."""
    raise InputError(path, f"ambiguous header: columns {first + 1} ({names[first].strip()}) and {second + 1} "
                     f"({names[second].strip()}) both name {what}; keep one", line=line)


def map_columns(path, names: list[str], line: int) -> ColumnMap:
    """Pick time and x/y/z columns from header names, or raise an InputError that lists them."""
    found = ", ".join(repr(n.strip()) for n in names)
    sets: dict[tuple[str, str], dict[str, int]] = {}  # (kind, prefix) -> axis -> column
    units: dict[int, str | None] = {}
    times: list[tuple[int, int, str | None]] = []  # (rank, column, unit)
    named = {}
    device = None
    bases = set()
    time_bases: dict[str, int] = {}  # time name -> column
    for i, raw in enumerate(names):
        base, unit = split_name(raw)
        units[i] = unit
        bases.add(base)
        if base == "device" and unit is None and device is None:
            device = i
            continue
        if base in _TIME_NAMES:
            if base in time_bases:  # the time twice (copied columns, or two units): which is meant?
                _ambiguous(path, names, time_bases[base], i, "the time", line)
            time_bases[base] = i
            said = parse_time_name(path, raw, line)
            if said is not None:
                named[i] = said
                unit = "s"
            times.append((_TIME_NAMES[base], i, _TIME_UNITS.get(unit) if unit else
                          ("ms" if base == "timestampms" else "ns" if base == "timestampns" else None)))
            continue
        ax = _axis(base)
        if ax is None:
            continue
        kind = _kind(ax[0])
        if kind is None:
            continue
        seen = sets.setdefault((kind, ax[0]), {})
        if ax[1] in seen:  # two sensors side by side, or one axis in two units: which is meant?
            _ambiguous(path, names, seen[ax[1]], i, f"acceleration {ax[1]}", line)
        seen[ax[1]] = i

    complete = {k: (v["x"], v["y"], v["z"]) for k, v in sets.items() if len(v) == 3}
    total = [k for k in complete if k[0] == "total"]
    user = [k for k in complete if k[0] == "user"]
    grav = [k for k in complete if k[0] == "gravity"]
    gravity_axes = None
    if len(total) > 1:
        opts = "; ".join(",".join(names[c].strip() for c in complete[k]) for k in total)
        raise InputError(path, f"ambiguous header: several sets of acceleration columns ({opts}); keep one", line=line)
    if total:
        axes = complete[total[0]]
    elif user and grav:
        axes, gravity_axes = complete[user[0]], complete[grav[0]]
    elif user:
        cols = ",".join(names[c].strip() for c in complete[user[0]])
        raise InputError(
            path,
            f"columns {cols} hold acceleration with gravity removed (linear/user acceleration); "
            "posture needs gravity included: export 'Acceleration with g' in phyphox, "
            "TotalAcceleration.csv in Sensor Logger, or add gravity columns",
            line=line,
        )
    elif grav:
        raise InputError(path, "only gravity columns found; posture needs the total acceleration (gravity included)", line=line)
    elif {"axis1", "axis2", "axis3"} <= bases or len(bases & _COUNTS) >= 2:
        counted = ", ".join(n.strip() for n in names if split_name(n)[0] in _COUNTS)
        raise InputError(path, f"columns {counted} hold activity counts, not acceleration: posture needs the raw "
                         "signal in g (from ActiLife: export RAW data, or use the .gt3x file)", line=line)
    else:
        raise InputError(path, f"no acceleration columns found; found columns {found}; expected {EXPECTED}", line=line)

    unit_set = {ACC_SPELLINGS.get(units[c]) if units[c] else None for c in axes} - {None}
    if len(unit_set) > 1:
        raise InputError(path, f"acceleration columns disagree on units ({', '.join(sorted(unit_set))})", line=line)
    acc_unit = unit_set.pop() if unit_set else None
    bad_units = [names[c].strip() for c in axes if units[c] and units[c] not in ACC_SPELLINGS]
    if bad_units:
        raise InputError(path, f"unknown acceleration unit in {', '.join(bad_units)}; use {ACC_UNIT_NAMES}", line=line)
    times.sort(key=lambda x: (x[0], x[1]))
    options = tuple((c, u) for _, c, u in times)
    time_col, time_unit = options[0] if options else (None, None)
    return ColumnMap(list(names), time_col, time_unit, axes, acc_unit, gravity_axes, time_options=options,
                     named=named, device=device)


def headerless_map(path, ncols: int, line: int) -> ColumnMap:
    """Files without a header: 4 columns are t,ax,ay,az; 3 columns are ax,ay,az."""
    if ncols >= 4:
        return ColumnMap(["t", "ax", "ay", "az"] + [f"col{i + 1}" for i in range(4, ncols)], 0, None, (1, 2, 3), None, headerless=True)
    if ncols == 3:
        return ColumnMap(["ax", "ay", "az"], None, None, (0, 1, 2), None, headerless=True)
    raise InputError(path, f"no header and only {count(ncols, 'column')}; expected {EXPECTED}", line=line)
