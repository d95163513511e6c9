"""Turn imported numbers into sensorback's units: seconds on the recording's axis, and g.

Both are guesses when the file does not say, so every guess that changes the numbers is
reported as a note. Acceleration units are judged from the median magnitude, which with
gravity included sits near 1 (g), 9.8 (m/s^2) or 1000 (mg) whatever the posture. Whether gravity
is included at all is judged from the values too (gravity_spread), not from the file's name.
A format that holds g by definition (.sbr) has its units judged the same way by check_g, which
refuses what to_g would convert: there the values contradict the format, they are not a guess.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

import numpy as np

from ..errors import InputError, or_list
from ..limits import is_plausible_unix
from .notes import LoadNotes

STANDARD_GRAVITY = 9.80665
_TIME_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_TIME_WORD = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
# Every acceleration unit a file may be in: its factor to g, and the other ways a header spells it
# (as csv_columns.split_name leaves a unit: lowercase, no spaces).
_ACC = {
    "g": (1.0, ("gs", "gee", "gforce")),
    "m/s^2": (1.0 / STANDARD_GRAVITY, ("m/s2", "m/s²", "ms^-2", "ms-2", "m*s^-2", "m·s^-2", "m·s⁻²", "ms⁻²", "m/s/s",
                                       "mps2", "mss", "ms2", "m/sec^2", "m/sec2")),
    "mg": (1e-3, ("millig",)),
}
_ACC_FACTOR = {unit: factor for unit, (factor, _) in _ACC.items()}
#: A header's spelling of an acceleration unit -> the unit ("m/s2" -> "m/s^2", "g" -> "g").
ACC_SPELLINGS = {spelling: unit for unit, (_, other) in _ACC.items() for spelling in (unit, *other)}


#: The acceleration units a file may be in, and their names in messages ("g, m/s^2 or mg").
ACC_UNITS = tuple(_ACC)
ACC_UNIT_NAMES = or_list(ACC_UNITS)
# |a| with gravity included in each of them, as messages give it: "about 1 (g), 9.8 (m/s^2) or 1000 (mg)"
_ACC_GRAVITY_NAMES = or_list(f"{round(1 / factor, 1):g} ({unit})" for unit, factor in _ACC_FACTOR.items())


def seconds_axis(raw: np.ndarray, name: str, unit: str | None, notes: LoadNotes) -> tuple[np.ndarray, float | None]:
    """(t in seconds, start_time). Unix time (s/ms/us/ns) becomes seconds from the first sample."""
    v0 = float(raw[0])
    if not math.isfinite(v0):
        return raw * _TIME_SCALE.get(unit or "s", 1.0), None  # validation will name the line
    scales = [unit] if unit else ["ns", "us", "ms", "s"]
    for u in scales:
        start = v0 * _TIME_SCALE[u]
        if is_plausible_unix(start):
            # Subtract in the file's own unit first: exact for values within 2x of each other,
            # so nanosecond Unix stamps keep sub-microsecond resolution.
            t = (raw - raw[0]) * _TIME_SCALE[u]
            when = datetime.fromtimestamp(start, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            notes.add(f"column '{name}' holds Unix time in {_TIME_WORD[u]}; t now counts seconds from the first sample (start {when})")
            return t, start
    if unit and unit != "s":
        return raw * _TIME_SCALE[unit], None
    return raw, None


# Gravity shows as an average acceleration of one fixed size whatever the posture: averaged over
# short stretches, |mean| stays within a few percent of 1 g (the interquartile range over real
# recordings is 0.3-3 % of the median). Gravity-free "linear" acceleration averages to almost
# nothing when still and to a wandering value in motion (interquartile range 130-780 % of its
# median on the same recordings with gravity filtered out). Half the median separates them.
GRAVITY_WINDOW = 64  # samples per stretch (1.3 s at 50 Hz)
GRAVITY_SPREAD_MAX = 0.5
GRAVITY_MIN_WINDOWS = 4


#: Stretches a reader of a format in g judges the unit from (units.judged_runs): 64 x 64 rows tell
#: a median |a| of 1 from 9.8 or 1000 as surely as a quarter million, in 64 reads of the file
#: (4096 reads made loading a day's .sbr 14 times slower than the load itself).
UNIT_STRETCHES = 64


def _stretch_starts(n: int, most: int = 4096) -> np.ndarray | None:
    """First rows of the GRAVITY_WINDOW-sample stretches gravity_spread averages (at most ``most``,
    spread over n samples), or None when there are fewer than GRAVITY_MIN_WINDOWS."""
    count = n // GRAVITY_WINDOW
    if count < GRAVITY_MIN_WINDOWS:
        return None
    return np.unique(np.linspace(0, count - 1, min(count, most)).astype(np.int64)) * GRAVITY_WINDOW


def judged_runs(n: int) -> list[tuple[int, int]]:
    """(first row, rows) of the parts of an n-sample recording that check_g judges: every row of a
    short one, else UNIT_STRETCHES stretches of GRAVITY_WINDOW rows spread over the recording,
    adjacent ones merged. Their median |a| tells the unit as well as any other rows: a reader checks
    a file of any length from these few reads, and from the same rows whether it then reads the
    file whole or in chunks."""
    starts = _stretch_starts(n, UNIT_STRETCHES)
    if starts is None:
        return [(0, n)] if n else []
    runs: list[tuple[int, int]] = []
    for s in starts.tolist():
        if runs and runs[-1][0] + runs[-1][1] == s:
            runs[-1] = (runs[-1][0], runs[-1][1] + GRAVITY_WINDOW)
        else:
            runs.append((s, GRAVITY_WINDOW))
    return runs


def gravity_spread(xyz: np.ndarray) -> tuple[float, float, float] | None:
    """(p25, median, p75) of |mean acceleration| over GRAVITY_WINDOW-sample stretches (at most
    4096 of them, spread over the recording); None when there are too few or all are zero."""
    w = GRAVITY_WINDOW
    starts = _stretch_starts(xyz.shape[0])
    if starts is None:
        return None
    rows = (starts[:, None] + np.arange(w)).ravel()
    with np.errstate(invalid="ignore", over="ignore"):
        m = np.asarray(xyz[rows], dtype=np.float64).reshape(-1, w, 3).mean(axis=1)
        mag = np.sqrt((m * m).sum(axis=1))
    mag = mag[np.isfinite(mag)]
    if mag.size < GRAVITY_MIN_WINDOWS or not mag.max() > 0:
        return None
    p25, med, p75 = np.percentile(mag, [25, 50, 75])
    return float(p25), float(med), float(p75)


def _refuse_gravity_free(xyz: np.ndarray, path, where: str) -> None:
    spread = gravity_spread(xyz)
    if spread is not None and spread[2] - spread[0] > GRAVITY_SPREAD_MAX * spread[1]:
        p25, med, p75 = spread
        raise InputError(
            path,
            f"the acceleration looks gravity-free: averaged over {GRAVITY_WINDOW}-sample stretches it ranges from "
            f"{p25:.2g} to {p75:.2g} (median {med:.2g}) instead of staying near one value, the pull of gravity, "
            f"in every posture; posture needs gravity included: {where}")


def median_magnitude(xyz: np.ndarray) -> float:
    """Median |a| over at most about 200,000 rows spread over xyz (plenty to tell 1 from 9.8),
    leaving out non-finite rows and rows of exactly (0, 0, 0): those are a stuck sensor, not a unit
    (the core counts them as no data). NaN when nothing else is left: such a file reads the same
    in any unit."""
    step = max(1, xyz.shape[0] // 200_000)
    sub = xyz[::step]
    with np.errstate(invalid="ignore", over="ignore"):
        mag = np.sqrt((sub * sub).sum(axis=1))
    mag = mag[np.isfinite(mag) & (mag != 0)]
    return float(np.median(mag)) if mag.size else float("nan")


def unit_of(med: float) -> str | None:
    """The unit acceleration with gravity included is in, from its median |a|: 'g' (about 1, or
    NaN: nothing to judge), 'm/s^2' (about 9.8) or 'mg' (about 1000); None when it is none of them."""
    if not math.isfinite(med) or 0.3 <= med < math.sqrt(STANDARD_GRAVITY):
        return "g"
    if math.sqrt(STANDARD_GRAVITY) <= med <= 30.0:
        return "m/s^2"
    if 300.0 <= med <= 3000.0:
        return "mg"
    return None


def _fits(unit: str, med: float, looks: str | None) -> bool:
    """Whether acceleration with gravity included and median |a| med can be in unit: unit_of(med)
    (``looks``, worked out once by the caller, who names it in its message) says so, or med is NaN
    (nothing to judge: it reads the same in any unit). The one judge of both a format that holds g
    (check_g) and a unit a CSV's header names (to_g)."""
    return math.isnan(med) or looks == unit


def _looks_like(unit: str, med: float) -> str:
    return (f"values look like m/s^2 (median |a| {med:.2f})" if unit == "m/s^2"
            else f"values look like g (median |a| {med:.2f})" if unit == "g"
            else f"values look like milli-g (median |a| {med:.0f})")


def _gravity_removed(med: float) -> str:
    return "; gravity seems to have been removed" if med < 0.3 else ""


def check_g(xyz: np.ndarray, path, holder: str) -> None:
    """Refuse acceleration that a format holds in g by definition (holder, e.g. "a .sbr file") when
    its values say otherwise: m/s^2, mg or no unit at all, judged from the median |a| as to_g judges
    a CSV that names no unit. Never converted: the file says g, so values in another unit are a
    writer's mistake that may not be its only one. xyz: the rows judged_runs names (or all rows)."""
    med = median_magnitude(xyz)
    unit = unit_of(med)
    if _fits("g", med, unit):
        return
    if unit is None:
        raise InputError(path, f"median |a| is {med:.3g}, but {holder} holds g with gravity included, about 1; "
                               f"the values are not in {ACC_UNIT_NAMES}{_gravity_removed(med)}")
    divide = f"{1 / _ACC_FACTOR[unit]:g}"  # 9.80665, 1000
    raise InputError(path, f"{_looks_like(unit, med)}, but {holder} holds g (about 1 with gravity included); not "
                           f"converted, as the file says g: write it again with the values divided by {divide}")


def _check_declared(unit: str, med: float, path, column: str | None) -> None:
    """Refuse acceleration whose header names a unit its values contradict (``ax (g)`` over values
    about 9.8, milli-g called g): analysed as declared it is garbage, and the header is wrong. Judged
    from the median |a| (median_magnitude: rows spread over the file) as check_g judges a .sbr."""
    looks = unit_of(med)
    if _fits(unit, med, looks):
        return
    named = f" ({column.strip()})" if column else ""
    if looks is None:
        raise InputError(path, f"the header says the acceleration is in {unit}{named}, but its median |a| is {med:.3g} "
                               f"{unit}, not about 1 g with gravity included, nor in {ACC_UNIT_NAMES} either"
                               f"{_gravity_removed(med)}")
    raise InputError(path, f"the header says the acceleration is in {unit}{named}, but the {_looks_like(looks, med)}; "
                           f"not converted: name their unit in the header, e.g. '{_with_unit(column, looks)}', or none "
                           "to have it judged from the values")


def _with_unit(column: str | None, unit: str) -> str:
    """An acceleration column's name with ``unit`` in the brackets its unit was in ('ax (g)' ->
    'ax (m/s^2)'); 'ax (unit)' for a name whose unit is not in brackets ('ax_g')."""
    name = (column or "").strip().strip("\"'").strip()
    m = re.search(r"[(\[{][^)\]}]*[)\]}]", name)
    return f"{name[:m.start()]}({unit}){name[m.end():]}" if m else f"ax ({unit})"


def to_g(xyz: np.ndarray, unit: str | None, path, notes: LoadNotes, *, sensor_logger: bool = False,
         column: str | None = None) -> tuple[np.ndarray, str]:
    """Acceleration as float32 g, and the unit it was read in (declared or detected).

    Refuses acceleration with gravity removed, judged from the values (gravity_spread), whatever
    the file is called, and values that contradict the unit the header names (``column``: an
    acceleration column's name, for the message)."""
    _refuse_gravity_free(xyz, path, "Sensor Logger's Accelerometer.csv is like that: import TotalAcceleration.csv, or "
                         "keep Accelerometer.csv beside Gravity.csv under their own names" if sensor_logger else
                         "export acceleration with gravity included (total acceleration, 'with g')")
    n = xyz.shape[0]
    med = median_magnitude(xyz)
    if unit is not None:
        factor = _ACC_FACTOR[unit]
        _check_declared(unit, med, path, column)
        if unit != "g":
            notes.add(f"converted acceleration from {unit} (as the header says) to g")
    else:
        unit = unit_of(med)
        if unit is None:
            raise InputError(
                path,
                f"cannot tell the acceleration units: median |a| is {med:.3g}, expected about {_ACC_GRAVITY_NAMES} "
                f"with gravity included{_gravity_removed(med)}; name the unit in the header, e.g. 'ax (g)'",
            )
        factor = _ACC_FACTOR[unit]
        if unit != "g":
            notes.add(f"{_looks_like(unit, med)}, converted to g")
    if factor == 1.0:
        return np.asarray(xyz, dtype=np.float32), unit
    out = np.empty(xyz.shape, dtype=np.float32)
    block = 1 << 18  # (xyz * factor).astype(float32), a block at a time: no n x 3 float64 temporary
    for i in range(0, n, block):
        out[i:i + block] = xyz[i:i + block] * factor
    return out, unit
