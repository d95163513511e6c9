"""Tunable settings of the signal core, with defaults that need no per-person tuning."""

from __future__ import annotations

import math

from dataclasses import dataclass

from ..errors import SensorbackError


@dataclass(frozen=True)
class CoreOptions:
    """Settings for turning samples into epochs.

    reference_window: (start, end) seconds where the wearer sat upright; None = estimate it.
    forward_window:   (start, end) seconds where the wearer slouched the way they usually do
                      (forward and the personal slouch line come from it); None = infer them.
    stand_window:     (start, end) seconds where the wearer stood still (a calibration's stand
                      step): sure standing, and with reference_window the wearer's own sitting
                      and standing postures from the start; None = not shown.
    slouch_threshold_deg: forward flexion from upright that counts as slouching, for everyone;
                      None = the wearer's personal line, else 20 degrees (core/slouch.py).
    """

    epoch_s: float = 1.0
    slouch_threshold_deg: float | None = None
    reference_window: tuple[float, float] | None = None
    forward_window: tuple[float, float] | None = None
    stand_window: tuple[float, float] | None = None
    # An epoch with fewer than this share of its nominal samples is treated as missing data.
    min_coverage: float = 0.25
    # Trunk inclination from upright (degrees) beyond which a still wearer is lying down.
    lying_deg: float = 60.0
    # Not worn, slow path: no breathing or micro-movement for this long (the fast path, right
    # after the sensor was handled, is quicker; see docs/core.md).
    not_worn_min_s: float = 120.0
    # Window (seconds) over which step cadence is measured.
    cadence_window_s: float = 2.0
    # Window (seconds) in which a whole sit-to-stand or stand-to-sit must fit, quiet at both ends.
    transition_window_s: float = 6.0

    def min_samples(self, rate_hz: float) -> int:
        """The fewest samples an epoch needs to count as data (min_coverage of its nominal ones)."""
        return max(1, int(math.ceil(self.min_coverage * self.epoch_s * rate_hz)))

    @property
    def transition_epochs(self) -> int:
        """The transition window in epochs (windows are whole epochs long, at least one)."""
        return max(1, int(round(self.transition_window_s / self.epoch_s)))

    def __post_init__(self) -> None:
        for name in ("epoch_s", "cadence_window_s", "transition_window_s", "not_worn_min_s"):
            if not getattr(self, name) > 0:
                raise SensorbackError(f"{name}: must be a positive number of seconds, got {getattr(self, name)!r}")
        if self.slouch_threshold_deg is not None and not 0 < self.slouch_threshold_deg < 90:
            raise SensorbackError(f"slouch_threshold_deg: must be between 0 and 90 degrees, got {self.slouch_threshold_deg!r}")
        if not 0 < self.lying_deg <= 90:
            raise SensorbackError(f"lying_deg: must be between 0 and 90 degrees, got {self.lying_deg!r}")
