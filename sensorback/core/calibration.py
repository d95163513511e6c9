"""Offset and gain of a cheap accelerometer from its still periods (sphere fit).

At rest the sensor should read exactly 1 g in any orientation; the means of still epochs
therefore lie on a sphere whose centre is the offset and whose axis scales are the gains.
Like the auto-calibration of research tools, this needs still periods in several orientations;
with too little spread it changes only what the data can support, or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STILL_SD_G = 0.02
MIN_STILL_EPOCHS = 30
MIN_AXIS_SPAN_G = 0.3


@dataclass(frozen=True)
class SensorCalibration:
    """calibrated = (raw - offset) * gain, per axis."""

    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    note: str = "none"

    def apply_mean_var(self, mean: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = np.asarray(self.gain)
        return (mean - np.asarray(self.offset)) * g, var * g * g

    def to_dict(self) -> dict:
        return {"offset": list(self.offset), "gain": list(self.gain), "note": self.note}


IDENTITY = SensorCalibration()


def fit_sphere(means: np.ndarray, sds: np.ndarray) -> SensorCalibration:
    """Fit offset/gain to still-epoch means; axes without enough orientation spread keep 0/1."""
    still = means[sds < STILL_SD_G]
    if still.shape[0] < MIN_STILL_EPOCHS:
        return SensorCalibration(note=f"skipped: only {still.shape[0]} still epochs")
    # Many near-identical epochs from one long posture would dominate; keep distinct orientations.
    # Orientation changes slowly: every 4th still epoch finds every distinct orientation held
    # for more than a few seconds, at a quarter of the cost.
    still = _distinct(still[::4])
    span = still.max(axis=0) - still.min(axis=0)
    fit_axes = span >= MIN_AXIS_SPAN_G
    if fit_axes.sum() < 2 or still.shape[0] < 4:
        return SensorCalibration(note="skipped: too few distinct still orientations")
    off = np.zeros(3)
    gain = np.ones(3)
    before = _misfit(still, off, gain)
    for _ in range(30):
        cal = (still - off) * gain
        target = cal / np.linalg.norm(cal, axis=1, keepdims=True)
        for a in np.flatnonzero(fit_axes):
            design = np.stack([still[:, a], np.ones(still.shape[0])], axis=1)
            slope, icpt = np.linalg.lstsq(design, target[:, a], rcond=None)[0]
            if slope <= 0:
                return SensorCalibration(note="skipped: fit did not converge")
            gain[a] = slope
            off[a] = -icpt / slope
    after = _misfit(still, off, gain)
    if not (after < before) or np.any(np.abs(off) > 0.5) or np.any(np.abs(gain - 1) > 0.3):
        return SensorCalibration(note="skipped: fit did not improve the still-epoch magnitudes")
    return SensorCalibration(tuple(map(float, off)), tuple(map(float, gain)),
                             note=f"sphere fit on {still.shape[0]} orientations, |a| error {before*1000:.1f} -> {after*1000:.1f} mg")


def _distinct(means: np.ndarray, cell_g: float = 0.05) -> np.ndarray:
    """One mean per 0.05 g cell, so a long posture does not outweigh the others."""
    cells = np.clip(np.round(means / cell_g).astype(np.int64) + 512, 0, 1023)
    keys = (cells[:, 0] << 20) | (cells[:, 1] << 10) | cells[:, 2]
    _, first = np.unique(keys, return_index=True)
    return means[np.sort(first)]


def _misfit(m: np.ndarray, off: np.ndarray, gain: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.linalg.norm((m - off) * gain, axis=1) - 1.0) ** 2)))
