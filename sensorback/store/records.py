"""What the read API returns: plain dataclasses and numpy arrays, no ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

import numpy as np

from ..core.epochs import EpochTable, epoch_column


@dataclass(frozen=True)
class SessionInfo:
    id: int
    device: str
    source: str
    content_hash: Optional[str]
    started_at: datetime
    start_estimated: bool
    ended_at: Optional[datetime]      # None: still recording, or the writer never finished
    rate_hz: float
    epoch_s: float
    calibration: Optional[dict[str, Any]]
    options: Optional[dict[str, Any]]
    software_version: str
    created_at: datetime

    @property
    def complete(self) -> bool:
        return self.ended_at is not None


@dataclass
class EpochSeries(EpochTable):
    """The epochs of a time range, oldest first: the core's columns (an EpochTable, so anything
    that takes the core's output takes this) on one time axis for every session, ``t_start`` and
    ``t_end`` in seconds since ``origin``, plus the session each epoch came from.

    origin: Unix seconds (UTC) of t = 0, the start of the range asked for; state: int8 code into
    sensorback.core.states.STATES (recorded with another list of states, mapped by name); the
    measurements NaN where the core had no value.
    """

    session_id: np.ndarray = epoch_column(np.int64, "", "the stored session the epoch belongs to")
    origin: float = 0.0

    @property
    def time(self) -> np.ndarray:
        """Unix seconds of each epoch's start."""
        return self.origin + self.t_start

    @property
    def duration_s(self) -> np.ndarray:
        return self.t_end - self.t_start


@dataclass(frozen=True)
class BoutInfo:
    session_id: int
    state: str
    start: datetime
    end: datetime

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class EventInfo:
    id: int
    session_id: Optional[int]
    at: datetime
    t: Optional[float]
    kind: str
    detail: Optional[str]
    outcome: Optional[str]
    exercise: Optional[str]


@dataclass(frozen=True)
class ExerciseInfo:
    id: int
    at: datetime
    name: str
    source: str                    # "prompt" or "manual"
    session_id: Optional[int]
    event_id: Optional[int]


@dataclass(frozen=True)
class PainCheckinInfo:
    id: int
    at: datetime
    score: int
    radiating: Optional[bool]
    numbness: Optional[bool]
    fever: Optional[bool]
    bladder: Optional[bool]
    weight_loss: Optional[bool]
    note: Optional[str]
