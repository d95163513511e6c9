"""EpochTable: the core's output, one row per epoch, as columns of numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .states import STATES


@dataclass
class EpochTable:
    """Per-epoch results on the recording's own time axis.

    state is an int8 code into STATES; angles are degrees relative to the wearer's upright
    reference (NaN where there is no data); intensity_g is the movement intensity (standard
    deviation of the acceleration vector within the epoch, g); cadence_spm is steps per minute
    (0 when no stepping is detected).
    """

    t_start: np.ndarray
    t_end: np.ndarray
    state: np.ndarray
    inclination_deg: np.ndarray
    flexion_deg: np.ndarray
    lateral_deg: np.ndarray
    intensity_g: np.ndarray
    cadence_spm: np.ndarray

    def __len__(self) -> int:
        return int(self.t_start.shape[0])

    @property
    def state_names(self) -> np.ndarray:
        return np.asarray(STATES, dtype=object)[self.state]

    @classmethod
    def empty(cls) -> "EpochTable":
        """A table with no rows. Shared and read-only: a streaming processor returns it for
        most small blocks, so building a fresh one each time would dominate its cost."""
        return _EMPTY

    @classmethod
    def concat(cls, tables: list["EpochTable"]) -> "EpochTable":
        tables = [t for t in tables if len(t)]
        if not tables:
            return cls.empty()
        if len(tables) == 1:  # nothing to join: no copy (a day's table is several MB)
            return tables[0]
        return cls(**{f.name: np.concatenate([getattr(t, f.name) for t in tables]) for f in fields(cls)})

    def rows(self, start: int, stop: int) -> "EpochTable":
        """Rows start..stop-1 (views, not copies)."""
        if start == 0 and stop >= len(self):
            return self
        return EpochTable(**{f.name: getattr(self, f.name)[start:stop] for f in fields(self)})

    def take(self, sel) -> "EpochTable":
        """The rows sel selects (a boolean mask or indices; copies)."""
        return EpochTable(**{f.name: getattr(self, f.name)[sel] for f in fields(self)})

    def equals(self, other: "EpochTable") -> bool:
        """Exact equality, NaNs equal to NaNs (used to prove streaming == batch)."""
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name), equal_nan=True)
            for f in fields(self)
        )


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


_EMPTY = EpochTable(_frozen(np.zeros(0)), _frozen(np.zeros(0)), _frozen(np.zeros(0, np.int8)),
                    *(_frozen(np.zeros(0, np.float32)) for _ in range(5)))
