"""The one in-memory type for accelerometer data flowing from sources into the core."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np


@dataclass
class SampleBlock:
    """A block of timestamped 3-axis acceleration samples.

    t:   float64 seconds, shape (n,), strictly increasing, on the recording's own time axis
         (usually 0 at the first sample; start_time anchors it to wall-clock).
    acc: float32 acceleration in g, shape (n, 3), gravity included, in the sensor's own axes.
    device:     free text naming the sensor or source ("polar-h10", "simulator", "csv").
    rate_hz:    nominal sample rate; the actual timing may be irregular or have gaps.
    start_time: Unix time (seconds, UTC) of t == 0, or None when unknown.
    meta:       anything else worth carrying (units detected, source file, ...).
    """

    t: np.ndarray
    acc: np.ndarray
    device: str = "unknown"
    rate_hz: float = 50.0
    start_time: float | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.t = np.asarray(self.t, dtype=np.float64)
        self.acc = np.asarray(self.acc, dtype=np.float32)
        if self.t.ndim != 1:
            raise ValueError("SampleBlock.t must be one-dimensional")
        if self.acc.shape != (self.t.shape[0], 3):
            raise ValueError(f"SampleBlock.acc must have shape (n, 3), got {self.acc.shape} for n={self.t.shape[0]}")

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def clock(self) -> str:
        """What start_time is on: 'utc'; 'device-local', a logger's clock of unknown zone read as if
        it were UTC (.cwa, .gt3x); or 'none', no start time (CSV timed from its start or by a rate)."""
        if self.start_time is None or not math.isfinite(self.start_time):
            return "none"
        return "device-local" if self.meta.get("clock") == "device-local" else "utc"

    @property
    def duration_s(self) -> float:
        return float(self.t[-1] - self.t[0]) if len(self) else 0.0

    def slice(self, start: int, stop: int) -> "SampleBlock":
        """Samples [start, stop) as a new block sharing metadata (views, no copy)."""
        return replace(self, t=self.t[start:stop], acc=self.acc[start:stop], meta=dict(self.meta))

    def between(self, t0: float, t1: float) -> "SampleBlock":
        """Samples with t0 <= t < t1."""
        i0, i1 = np.searchsorted(self.t, [t0, t1], side="left")
        return self.slice(int(i0), int(i1))

    @staticmethod
    def concat(blocks: list["SampleBlock"]) -> "SampleBlock":
        if not blocks:
            raise ValueError("concat needs at least one block")
        first = blocks[0]
        return replace(
            first,
            t=np.concatenate([b.t for b in blocks]),
            acc=np.concatenate([b.acc for b in blocks]),
            meta=dict(first.meta),
        )
