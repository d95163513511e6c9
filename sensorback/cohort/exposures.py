"""One row of exposures per calendar day of an analysed recording (pure, no I/O).

Every duration comes from sensorback.summary on that day's epochs, so bouts, breaks, rises, slouch
share and flexed time mean exactly what they mean in ``sensorback analyze`` and the reports; a bout
that spans midnight is cut there (each day counts its own part). Figures that count sitting and
slouching together are *seated* ones, named as the summary names them (``seated_bouts``). Column
meanings: docs/cohort.md.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

import numpy as np

from ..core.epochs import EpochTable
from ..core.states import STATES
from ..summary import SEATED, SEATED_WORD, UPRIGHT, flexed_seconds, seated_name, summarize

FLEXION_DEG = (20, 30, 60, 90)
LONG_BOUTS_MIN = (30, 60)
_ERROR_MG = re.compile(r"\|a\| error [0-9.]+ -> ([0-9.]+) mg")

#: The columns that count the seated states together (sitting + slouching), named as
#: sensorback.summary names seated figures: 'seated_bouts' is summarize's to_dict()["seated"]["bouts"].
SEATED_BOUTS, SEATED_BOUT_MEAN, SEATED_BOUT_LONGEST = (seated_name(k) for k in ("bouts", "mean_bout_s",
                                                                              "longest_bout_s"))
SEATED_IN_BOUTS = {m: seated_name(f"in_bouts_ge{m}min_s") for m in LONG_BOUTS_MIN}
BREAKS_PER_SEATED_HOUR = f"breaks_per_{SEATED_WORD}_hour"

#: Column order of days.parquet / days.csv (docs/cohort.md describes each).
DAY_COLUMNS = (
    ["file", "day", "first_epoch", "last_epoch", "recorded_s", "wear_s"]
    + [f"{s}_s" for s in STATES]
    + [SEATED_BOUTS, SEATED_BOUT_MEAN, SEATED_BOUT_LONGEST, *SEATED_IN_BOUTS.values()]
    + ["breaks", BREAKS_PER_SEATED_HOUR, "sit_to_stand", "slouch_share"]
    + [f"flexion_gt{d}_upright_s" for d in FLEXION_DEG]
    + [f"flexion_gt{d}_seated_s" for d in FLEXION_DEG]
    + ["calibration_error_mg", "reference_up", "reference_forward"]
)


def calibration_error_mg(sensor_note: str) -> float:
    """Residual |a| error after the sensor calibration, from its note; NaN when it was skipped."""
    m = _ERROR_MG.search(sensor_note or "")
    return float(m.group(1)) if m else math.nan


def day_keys(t_start: np.ndarray, start_time: float | None, clock_local: bool, tz) -> tuple[np.ndarray, list[str]]:
    """Index of each epoch's calendar day and the days' labels ('2024-03-05').

    device-local clocks (.cwa, .gt3x) already show local time: their days are the clock's own.
    UTC clocks (.sbr, CSV with Unix time) are shown in ``tz``. Without a start time the days are
    counted from the first epoch ('day 1', 'day 2', ...)."""
    if len(t_start) == 0:
        return np.zeros(0, np.int64), []
    if start_time is None:
        idx = (np.floor((t_start - t_start[0]) / 86400.0)).astype(np.int64)
        labels = [f"day {i + 1}" for i in range(int(idx.max()) + 1)]
        return idx, labels
    first = datetime.fromtimestamp(start_time + float(t_start[0]), tz=timezone.utc)
    if not clock_local:
        first = first.astimezone(tz)
    d0 = first.date()
    # Midnights from the first day on, in the clock's zone, as seconds on the recording's axis.
    last = datetime.fromtimestamp(start_time + float(t_start[-1]), tz=timezone.utc)
    n_days = (last.astimezone(tz) if not clock_local else last).date().toordinal() - d0.toordinal() + 1
    edges = []
    for i in range(1, n_days + 1):
        day = d0 + timedelta(days=i)
        mid = datetime(day.year, day.month, day.day, tzinfo=timezone.utc if clock_local else tz)
        edges.append(mid.timestamp() - start_time)
    idx = np.searchsorted(np.asarray(edges), t_start, side="right").astype(np.int64)
    labels = [(d0 + timedelta(days=i)).isoformat() for i in range(n_days)]
    return idx, labels


def day_rows(file_label: str, table: EpochTable, start_time: float | None, clock_local: bool, tz,
             sensor_note: str, up_source: str, forward_source: str) -> list[dict]:
    """One dict per calendar day that has epochs, with the DAY_COLUMNS keys."""
    idx, labels = day_keys(np.asarray(table.t_start, dtype=np.float64), start_time, clock_local, tz)
    error = calibration_error_mg(sensor_note)
    rows = []
    bounds = np.flatnonzero(np.diff(idx)) + 1
    for a, b in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(idx)]])):
        if b <= a:
            continue
        part = table.rows(int(a), int(b))
        s = summarize(part)
        durations = [bt.duration_s for bt in s.bouts]
        row = {
            "file": file_label,
            "day": labels[int(idx[a])],
            "first_epoch": float(part.t_start[0]),
            "last_epoch": float(part.t_end[-1]),
            "recorded_s": s.total_s,
            "wear_s": s.worn_s,
            **{f"{name}_s": s.state_s[name] for name in STATES},
            SEATED_BOUTS: s.n_bouts,
            SEATED_BOUT_MEAN: float(np.mean(durations)) if durations else math.nan,
            SEATED_BOUT_LONGEST: s.longest_bout_s if durations else math.nan,
            **{name: float(sum(d for d in durations if d >= m * 60.0)) for m, name in SEATED_IN_BOUTS.items()},
            "breaks": s.breaks,
            BREAKS_PER_SEATED_HOUR: s.breaks / (s.seated_s / 3600.0) if s.seated_s > 0 else math.nan,
            "sit_to_stand": s.rises,
            "slouch_share": s.slouch_share if s.slouch_share is not None else math.nan,
            **{f"flexion_gt{d}_upright_s": v for d, v in flexed_seconds(part, UPRIGHT, FLEXION_DEG).items()},
            **{f"flexion_gt{d}_seated_s": v for d, v in flexed_seconds(part, SEATED, FLEXION_DEG).items()},
            "calibration_error_mg": error,
            "reference_up": up_source,
            "reference_forward": forward_source,
        }
        rows.append(row)
    return rows
