"""What the read API returns: plain dataclasses and numpy arrays, no ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Optional

import numpy as np

from ..core.states import STATES


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
class EpochSeries:
    """Epochs of a time range, oldest first, as columns.

    time: float64 Unix seconds (UTC) of each epoch's start; duration_s: float64; session_id:
    int64; state: int8 code into sensorback.core.states.STATES; the rest float32, NaN where the
    core had no value.
    """

    time: np.ndarray
    duration_s: np.ndarray
    session_id: np.ndarray
    state: np.ndarray
    inclination_deg: np.ndarray
    flexion_deg: np.ndarray
    lateral_deg: np.ndarray
    intensity_g: np.ndarray
    cadence_spm: np.ndarray

    def __len__(self) -> int:
        return int(self.time.shape[0])

    @property
    def state_names(self) -> np.ndarray:
        return np.asarray(STATES, dtype=object)[self.state]

    @classmethod
    def empty(cls) -> "EpochSeries":
        kinds = {"time": np.float64, "duration_s": np.float64, "session_id": np.int64, "state": np.int8}
        return cls(**{f.name: np.zeros(0, kinds.get(f.name, np.float32)) for f in fields(cls)})


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

    @property
    def red_flags(self) -> list[str]:
        return [name for name in ("radiating", "numbness", "fever", "bladder", "weight_loss") if getattr(self, name)]
