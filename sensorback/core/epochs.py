"""EpochTable: the core's output, one row per epoch, as columns of numpy arrays.

The epoch columns are declared here, once: name, dtype, unit and meaning (``COLUMNS``). The
recorder, the database model, the store's read API (``store.EpochSeries`` is an EpochTable) and
the report take theirs from this declaration. Adding a column means a field here and an Alembic
migration for the ``epochs`` table (docs/store.md); nothing else names the columns.

Runs of touching epochs in one state (bouts, timeline bands, sitting runs) are cut by one
function, ``runs``, with one tolerance, ``TOUCH_S``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

import numpy as np

from .states import STATES

#: Two epochs touch when one starts within this many seconds of the other's end. Above the noise of
#: the clocks epoch times pass through (float64 Unix seconds have a step of 0.24-0.48 us until
#: 2100; PostgreSQL stores instants to the microsecond), far below any real hole: within a
#: recording epochs lie on a grid of 0.5-2 s, and a hole shorter than a millisecond between two
#: recordings hides no data.
TOUCH_S = 1e-3


def epoch_column(dtype, unit: str, doc: str, *, nan_is_missing: bool = False) -> Any:
    """A column of an epoch table: a dataclass field that carries its dtype, unit and meaning.

    nan_is_missing: NaN means "no value" (stored as NULL)."""
    return field(metadata={"dtype": np.dtype(dtype), "unit": unit, "doc": doc, "nan_is_missing": nan_is_missing})


@dataclass(frozen=True)
class Column:
    """One column of an epoch table, as declared with epoch_column()."""

    name: str
    dtype: np.dtype
    unit: str
    doc: str
    nan_is_missing: bool


@cache
def columns_of(cls) -> tuple[Column, ...]:
    """The columns of an epoch table class (its fields declared with epoch_column), in order."""
    return tuple(Column(f.name, **f.metadata) for f in fields(cls) if "dtype" in f.metadata)


@cache
def _names(cls) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(column names, names of the other fields, e.g. an origin) of an epoch table class."""
    cols = tuple(c.name for c in columns_of(cls))
    return cols, tuple(f.name for f in fields(cls) if f.name not in cols)


@dataclass
class EpochTable:
    """Per-epoch results, oldest first, on one time axis (the recording's own for the core).

    Angles are relative to the wearer's upright reference; NaN where there is no value.
    """

    t_start: np.ndarray = epoch_column(np.float64, "s", "start of the epoch on the table's time axis")
    t_end: np.ndarray = epoch_column(np.float64, "s", "end of the epoch")
    state: np.ndarray = epoch_column(np.int8, "", "code into sensorback.core.states.STATES")
    inclination_deg: np.ndarray = epoch_column(np.float32, "deg", "trunk angle from upright, any direction",
                                               nan_is_missing=True)
    flexion_deg: np.ndarray = epoch_column(np.float32, "deg", "trunk angle forward (+) or back (-)",
                                           nan_is_missing=True)
    lateral_deg: np.ndarray = epoch_column(np.float32, "deg", "trunk angle to the side", nan_is_missing=True)
    intensity_g: np.ndarray = epoch_column(np.float32, "g", "movement intensity: SD of the acceleration "
                                           "vector within the epoch", nan_is_missing=True)
    cadence_spm: np.ndarray = epoch_column(np.float32, "1/min", "steps per minute (0 when not stepping)",
                                           nan_is_missing=True)

    def __len__(self) -> int:
        return int(self.t_start.shape[0])

    @property
    def state_names(self) -> np.ndarray:
        return np.asarray(STATES, dtype=object)[self.state]

    @classmethod
    def columns(cls) -> tuple[Column, ...]:
        return columns_of(cls)

    @classmethod
    def empty(cls, **values) -> "EpochTable":
        """A table with no rows (other fields, such as an origin, from ``values``). The core's is
        shared and read-only: a streaming processor returns it for most small blocks, so building a
        fresh one each time would dominate its cost."""
        if cls is EpochTable and not values:
            return _EMPTY
        return cls(**{c.name: np.zeros(0, c.dtype) for c in cls.columns()}, **values)

    @classmethod
    def concat(cls, tables: list["EpochTable"]) -> "EpochTable":
        """The tables one after the other (other fields, such as an origin, from the first)."""
        tables = [t for t in tables if len(t)]
        if not tables:
            return cls.empty()
        if len(tables) == 1:  # nothing to join: no copy (a day's table is several MB)
            return tables[0]
        return tables[0]._with({name: np.concatenate([getattr(t, name) for t in tables])
                                for name in _names(type(tables[0]))[0]})

    def rows(self, start: int, stop: int) -> "EpochTable":
        """Rows start..stop-1 (views, not copies)."""
        if start == 0 and stop >= len(self):
            return self
        return self._with({name: getattr(self, name)[start:stop] for name in _names(type(self))[0]})

    def take(self, index) -> "EpochTable":
        """The rows a boolean mask or an index array selects (copies)."""
        return self._with({name: getattr(self, name)[index] for name in _names(type(self))[0]})

    def _with(self, cols: dict) -> "EpochTable":
        """A table of the same kind with these columns (the other fields kept)."""
        return type(self)(**cols, **{name: getattr(self, name) for name in _names(type(self))[1]})

    def equals(self, other: "EpochTable") -> bool:
        """Exact equality, NaNs equal to NaNs (used to prove streaming == batch)."""
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name), equal_nan=True)
            if "dtype" in f.metadata else getattr(self, f.name) == getattr(other, f.name)
            for f in fields(self)
        )


COLUMNS: tuple[Column, ...] = EpochTable.columns()
#: The measurements: every column after the times and the state, NaN where there is no value.
MEASUREMENTS: tuple[Column, ...] = tuple(c for c in COLUMNS if c.nan_is_missing)


def runs(t_start: np.ndarray, t_end: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of touching epochs with equal ``values`` (a state, or any grouping of states):
    (index of each run's first epoch, index of its last). A hole between two epochs (one starting
    more than TOUCH_S after the other ended) ends a run, whatever the values."""
    n = int(values.shape[0])
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cut = np.flatnonzero((values[1:] != values[:-1]) | (np.abs(t_start[1:] - t_end[:-1]) > TOUCH_S)) + 1
    return np.concatenate([[0], cut]), np.concatenate([cut, [n]]) - 1


def touching(t_end: float, t_start: float) -> bool:
    """Does an epoch starting at t_start follow on from one that ended at t_end (see TOUCH_S)?"""
    return abs(t_start - t_end) <= TOUCH_S


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


_EMPTY = EpochTable(**{c.name: _frozen(np.zeros(0, c.dtype)) for c in COLUMNS})
