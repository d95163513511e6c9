"""Offset and gain of a cheap accelerometer from its still periods (sphere fit).

At rest the sensor should read exactly 1 g in any orientation; the means of still epochs
therefore lie on a sphere whose centre is the offset and whose axis scales are the gains.
Like the auto-calibration of research tools, this needs still periods in several orientations;
with too little spread it changes only what the data can support, or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..limits import MAX_GAIN, MIN_GAIN
from .vectors import take_rows

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
        # Column by column: broadcasting a (3,) against an (n, 3) array runs numpy's inner loop
        # three elements at a time, many times slower than three long column passes.
        m, v = np.empty(mean.shape, order="F"), np.empty(var.shape, order="F")  # columns contiguous
        for a in range(3):
            np.multiply(mean[:, a] - self.offset[a], self.gain[a], out=m[:, a])
            np.multiply(var[:, a], self.gain[a] * self.gain[a], out=v[:, a])
        return m, v

    def to_dict(self) -> dict:
        return {"offset": list(self.offset), "gain": list(self.gain), "note": self.note}


IDENTITY = SensorCalibration()


MIN_SPREAD = np.sin(np.radians(10.0))
CELL_G = 0.05


def still_for_fit(sds: np.ndarray, n: np.ndarray, min_samples: int) -> np.ndarray:
    """Which epochs the fit takes for a still orientation: SD under STILL_SD_G over at least
    min_samples samples. A handful of samples at the edge of a radio dropout has an SD near 0
    whatever the sensor did (one sample: exactly 0); taken mid-step, its mean lies far off the
    sphere, and a few such cells spoilt a whole day's fit (desk-day with a flaky link: gain
    fits refused, |a| error 49 mg against 2.5 mg without the dropouts)."""
    with np.errstate(invalid="ignore"):  # (NaN: a stuck sensor)
        return (sds < STILL_SD_G) & (n >= min_samples)


def fit_sphere(means: np.ndarray, sds: np.ndarray, n: np.ndarray | None = None,
               min_samples: int = 1) -> SensorCalibration:
    """Fit offset (and, on axes with enough range, gain) to still-epoch means (still_for_fit;
    n: each epoch's sample count, default enough).

    Whether to fit at all depends on how widely the still orientations are spread, a measure
    that does not change when the clip is mounted another way; per axis, a gain is fitted only
    where that axis saw enough of gravity's range, otherwise only its offset.
    """
    if n is None and min_samples > 1:
        raise ValueError("fit_sphere: min_samples needs the epochs' sample counts (n)")
    still_at = np.flatnonzero(still_for_fit(sds, np.full(sds.shape, min_samples) if n is None else n, min_samples))
    if still_at.shape[0] < MIN_STILL_EPOCHS:
        return SensorCalibration(note=f"skipped: only {still_at.shape[0]} still epochs")
    # Orientation changes slowly: every 4th still epoch finds every distinct orientation held
    # for more than a few seconds, at a quarter of the cost.
    # (gathered column by column, then in rows as np.take gave them: the fit's reductions run in
    # the same order)
    thinned = np.ascontiguousarray(take_rows(means, still_at[::4]))
    still = distinct_orientations(thinned)
    dirs = still / np.linalg.norm(still, axis=1, keepdims=True)
    spread = np.sqrt(np.maximum(np.linalg.eigvalsh(np.cov(dirs.T)) if dirs.shape[0] > 1 else np.zeros(3), 0.0))
    if still.shape[0] < 4 or spread[-1] < MIN_SPREAD:
        return _tilt_plane_fit(thinned)
    span = still.max(axis=0) - still.min(axis=0)
    before = _misfit(still, np.zeros(3), np.ones(3))
    # An axis that saw little of gravity's range leaves its gain and offset poorly determined, and
    # a fit can trade one against the other (a gain of 0.7 with an offset of -0.4 g fits an arc as
    # well as the truth): if the fit is implausible, try again fitting gains only on the axes that
    # saw most of the range, then offsets alone.
    for fit_gain in _gain_choices(span):
        fitted = _fit(still, fit_gain)
        if fitted is None:
            continue
        off, gain = fitted
        after = _misfit(still, off, gain)
        if after < before and not np.any(np.abs(off) > 0.5) and not np.any(np.abs(gain - 1) > 0.3):
            n_gain = int(fit_gain.sum())
            what = "offset and gain" if n_gain == 3 else (f"offset, gain on {n_gain} of 3 axes" if n_gain else "offset")
            return SensorCalibration(tuple(map(float, off)), tuple(map(float, gain)),
                                     note=f"{what} from {still.shape[0]} still orientations, |a| error {before*1000:.1f} -> {after*1000:.1f} mg")
    return SensorCalibration(note="skipped: fit did not improve the still-epoch magnitudes")


WELL_COVERED_SPAN_G = 0.6


def _gain_choices(span: np.ndarray) -> list[np.ndarray]:
    """Which axes get a gain: every axis with enough range; then only well-covered ones; then none."""
    out: list[np.ndarray] = []
    for mask in (span >= MIN_AXIS_SPAN_G, span >= WELL_COVERED_SPAN_G, np.zeros(3, bool)):
        if not any(np.array_equal(mask, m) for m in out):
            out.append(mask)
    return out


def _fit(still: np.ndarray, fit_gain: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(offset, gain) by alternating projection onto the unit sphere and per-axis least squares."""
    off = np.zeros(3)
    gain = np.ones(3)
    still_mean = still.mean(axis=0)
    centred = still - still_mean
    spread_sq = np.einsum("ij,ij->j", centred, centred)
    for _ in range(30):
        cal = (still - off) * gain
        target = cal / np.sqrt(np.add.reduce(cal * cal, axis=1, keepdims=True))  # (np.linalg.norm's own sum)
        # Per axis, the least-squares line target = gain * (raw - offset), in closed form (axes
        # without enough range keep their gain and fit only the offset).
        slope = np.divide(np.einsum("ij,ij->j", centred, target), spread_sq, out=np.ones(3), where=spread_sq > 0)
        if (slope[fit_gain] <= 0).any():
            return None
        gain = np.where(fit_gain, slope, gain)
        off = still_mean - target.mean(axis=0) / gain
    return off, gain


def _cell_keys(means: np.ndarray, cell_g: float = CELL_G) -> np.ndarray:
    """One integer per CELL_G cube of acceleration space: still means in the same cell are one
    orientation held."""
    cells = np.clip(np.round(means / cell_g).astype(np.int64) + 512, 0, 1023)
    return (cells[:, 0] << 20) | (cells[:, 1] << 10) | cells[:, 2]


def distinct_orientations(means: np.ndarray) -> np.ndarray:
    """One mean per 0.05 g cell (the first), so a long posture does not outweigh the others."""
    _, first = np.unique(_cell_keys(means), return_index=True)
    return means[np.sort(first)]


def _misfit(m: np.ndarray, off: np.ndarray, gain: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.linalg.norm((m - off) * gain, axis=1) - 1.0) ** 2)))


def magnitude_error(means: np.ndarray, sensor: SensorCalibration) -> float:
    """RMS of |a| - 1 g over still means (raw, one per row) as ``sensor`` corrects them: what a
    fit minimises, and how a live session judges whether a new fit is worth switching to."""
    return _misfit(means, np.asarray(sensor.offset), np.asarray(sensor.gain))


# Too little spread for a sphere: within a narrow cone of orientations an offset along the cone's
# axis cannot be told from a gain, but the offset across it can: it makes |a| rise on one side of
# the cone and fall on the other (|m| ~ c + u . o for an offset o), while a true 1 g reads the same
# everywhere. That part is what turns a lean of the trunk into a false change of |a| (and, through
# the transition measures, into a false vertical velocity). Fitted on cell averages (one per
# 0.05 g of orientation, as distinct_orientations, weighted by their epochs), needing TILT_MIN_CELLS of them spread TILT_MIN_DEG or more.
TILT_MIN_CELLS = 6
TILT_MIN_DEG = 2.0
TILT_MAX_OFFSET_G = 0.15
TILT_RESOLUTION_G = 0.01


def _cell_means(means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean of the still means in each 0.05 g cell, and how many there were in it."""
    _, inverse, counts = np.unique(_cell_keys(means), return_inverse=True, return_counts=True)
    sums = np.zeros((counts.shape[0], 3))
    np.add.at(sums, inverse.ravel(), means)
    return sums / counts[:, None], counts


def _tilt_plane_fit(still: np.ndarray) -> SensorCalibration:
    """The offset across the one cone of orientations the sensor was held still in, and a common
    scale that brings |a| to 1 g (see above); nothing when the cone is too narrow to tell."""
    skipped = SensorCalibration(note="skipped: too few distinct still orientations")
    pts, counts = _cell_means(still)
    if pts.shape[0] < TILT_MIN_CELLS:
        return skipped
    mag = np.linalg.norm(pts, axis=1)
    dirs = pts / mag[:, None]
    axis = dirs.mean(axis=0)
    axis /= np.linalg.norm(axis)
    # two unit vectors across the axis
    e1 = np.cross(axis, np.eye(3)[int(np.argmin(np.abs(axis)))])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    x = np.column_stack([np.ones(pts.shape[0]), dirs @ e1, dirs @ e2])
    if np.degrees(np.arcsin(min(1.0, float(np.sqrt(np.linalg.eigvalsh(np.cov(x[:, 1:].T))[-1]))))) < TILT_MIN_DEG:
        return skipped
    # Each cell weighs as many epochs as it holds: a posture held once, for a moment, says little
    # (its mean is as noisy as one epoch), and at the cone's rim it would pull hardest.
    w = np.sqrt(counts.astype(np.float64))
    coef, *_ = np.linalg.lstsq(x * w[:, None], mag * w, rcond=None)
    off = coef[1] * e1 + coef[2] * e2
    size = float(np.linalg.norm(off))
    if not np.isfinite(coef).all() or size > TILT_MAX_OFFSET_G or coef[0] <= 0:
        return skipped
    # Within a narrow cone the fit cannot resolve less than TILT_RESOLUTION_G (|a| drifts by a
    # milligram or two over a day, and 1 mg across a 5-degree spread reads as 11 mg): only what
    # exceeds it is taken off (a soft threshold, so nothing jumps at the bound).
    off *= max(0.0, 1.0 - TILT_RESOLUTION_G / size) if size > 0 else 0.0
    scale = 1.0 / float(np.average(np.linalg.norm(pts - off, axis=1), weights=counts))
    if not MIN_GAIN <= scale <= MAX_GAIN:  # not a sensor's gain error, and no stored calibration could hold it
        return SensorCalibration(note=f"skipped: the still postures read {1 / scale:.2g} g, too far from 1 g "
                                      "for a sensor's gain")
    gain = np.full(3, scale)
    before, after = _misfit(pts, np.zeros(3), np.ones(3)), _misfit(pts, off, gain)
    if not after < before:
        return SensorCalibration(note="skipped: fit did not improve the still-epoch magnitudes")
    return SensorCalibration(tuple(map(float, off)), tuple(map(float, gain)),
                             note=f"offset across the one cone of {pts.shape[0]} still orientations and a common "
                                  f"scale, |a| error {before*1000:.1f} -> {after*1000:.1f} mg")
