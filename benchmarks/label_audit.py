"""How far a dataset's own labels contradict its signal, measured without any classifier.

For one recording (times, acceleration, and the label of each epoch as accuracy.epoch_truth gives
it) this finds:

- moving-labelled epochs that are *certainly still*: inside a long stretch in which |a| barely
  varies from second to second, so no step can have been taken;
- still-labelled epochs (standing, sitting, slouching, lying) that are *certainly walking*: inside
  a stretch of strong, periodic variation of |a| at a step or stride rhythm.

A classifier that follows the signal must call the first kind still and the second kind moving, so
both count as errors against the labels whatever it does. That bounds the moving-vs-still balanced
accuracy any such classifier can reach on these labels:

    ceiling = 0.5 * ((1 - still_in_moving / moving) + (1 - walking_in_still / still))

Only |a| and its timing are used (pure NumPy); nothing from sensorback.core's classifier. The
thresholds are deliberately conservative: an epoch is flagged only when the signal leaves no room for
the label, and every unflagged epoch is assumed classifiable, so the real ceiling can only be lower.
Stricter thresholds flag fewer epochs and give a looser (higher) bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# ---- criteria (all on |a| in g, so independent of how the sensor is mounted) ------------------
# Certainly still: the 1-s SD of |a| stays below STILL_SD_G for at least STILL_RUN_S.
STILL_SD_G = 0.03  # periodic walking epochs in both datasets stay above 0.115 g (99.9%); quiet sitting is near 0.01 g
STILL_RUN_S = 10.0  # a pause of a few seconds (a door, a turn) inside a walk is not counted as a label error
# Certainly walking: SD above WALK_SD_G *and* periodicity above WALK_PERIODICITY for at least WALK_RUN_S.
WALK_SD_G = 0.12  # four times the still bound, at the very bottom of real walking: only clear walking passes
WALK_PERIODICITY = 0.5  # steps repeat (median 0.6 on walking); fidgeting and gestures do not (median 0.2 sitting)
WALK_RUN_S = 5.0  # several strides in a row; one burst of motion (sitting down, standing up) is shorter
# Periodicity of an epoch: the largest correlation of |a| with itself shifted by a lag in
# [LAG_MIN_S, LAG_MAX_S], over a PERIOD_WINDOW_S window centred on the epoch.
LAG_MIN_S = 0.3  # faster than the quickest step (about 3.3 steps/s)
LAG_MAX_S = 1.3  # slower than the slowest stride (two steps) of an unhurried walk
PERIOD_WINDOW_S = 2.5  # two slow strides, yet short enough to follow a walk that starts or stops
MIN_COVERAGE = 0.8  # an epoch (or window) with less than 80% of its samples is not judged at all

MOVING_LABELS = ("moving",)
STILL_LABELS = ("standing", "sitting", "slouching", "lying")  # accuracy.py scores with these too
_CHUNK = 4096  # epochs per block of the periodicity computation (bounds the memory)


@dataclass
class Audit:
    """Counts for one recording or a pool of them; per-epoch detail only for a single recording."""

    moving: int  # moving-labelled epochs
    still: int  # still-labelled epochs
    still_in_moving: int  # ...of the moving ones, certainly still
    walking_in_still: int  # ...of the still ones, certainly walking
    sd: np.ndarray = field(default=None, repr=False)  # per epoch: SD of |a| in g (nan: too few samples)
    periodicity: np.ndarray = field(default=None, repr=False)  # per epoch, in [-1, 1] (nan: not judged)
    certainly_still: np.ndarray = field(default=None, repr=False)  # per epoch, bool, label-independent
    certainly_walking: np.ndarray = field(default=None, repr=False)  # per epoch, bool, label-independent

    @property
    def ceiling(self) -> float:
        """Highest moving-vs-still balanced accuracy a classifier that follows the signal can reach."""
        if not self.moving or not self.still:
            return float("nan")
        return 0.5 * ((1.0 - self.still_in_moving / self.moving) + (1.0 - self.walking_in_still / self.still))

    def __add__(self, other: Audit) -> Audit:
        return Audit(self.moving + other.moving, self.still + other.still,
                     self.still_in_moving + other.still_in_moving, self.walking_in_still + other.walking_in_still)


def pool(audits) -> Audit:
    total = Audit(0, 0, 0, 0)
    for a in audits:
        total = total + a
    return total


def epoch_sd(t: np.ndarray, mag: np.ndarray, n_epochs: int, epoch_s: float, rate_hz: float) -> np.ndarray:
    """SD of mag within each epoch k = [k*epoch_s, (k+1)*epoch_s); nan where samples are too few."""
    k = np.floor(t / epoch_s).astype(np.int64)
    keep = (k >= 0) & (k < n_epochs)
    k, mag = k[keep], mag[keep]
    count = np.bincount(k, minlength=n_epochs).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(k, mag, minlength=n_epochs) / count
        var = np.bincount(k, (mag - mean[k]) ** 2, minlength=n_epochs) / count
    sd = np.sqrt(var)
    sd[count < MIN_COVERAGE * epoch_s * rate_hz] = np.nan
    return sd


def epoch_periodicity(t: np.ndarray, mag: np.ndarray, n_epochs: int, epoch_s: float, rate_hz: float) -> np.ndarray:
    """Largest normalised autocorrelation of mag over the step-range lags, per epoch.

    The window of PERIOD_WINDOW_S centred on the epoch has its mean removed; for lag L the value is
    sum_i x[i] * x[i+L] / sum_i x[i]**2. Even a perfectly repeating signal scores only (W-L)/W
    (0.8 at a 0.5-s step in a 2.5-s window), so the measure is strict on purpose.
    """
    w = round(PERIOD_WINDOW_S * rate_hz)
    lags = np.arange(max(1, round(LAG_MIN_S * rate_hz)), min(w - 1, round(LAG_MAX_S * rate_hz)) + 1)
    out = np.full(n_epochs, np.nan)
    if mag.shape[0] < w or lags.size == 0:
        return out
    centre = np.searchsorted(t, (np.arange(n_epochs) + 0.5) * epoch_s)
    start = np.clip(centre - w // 2, 0, mag.shape[0] - w)
    # A window whose samples span clearly more time than w samples should is cut by a gap: not judged.
    span_ok = (t[start + w - 1] - t[start]) <= (w - 1) / rate_hz / MIN_COVERAGE
    view = np.lib.stride_tricks.sliding_window_view(mag, w)
    nfft = 1 << int(np.ceil(np.log2(2 * w)))  # zero padding to 2w: no wrap-around
    for lo in range(0, n_epochs, _CHUNK):
        x = view[start[lo:lo + _CHUNK]].astype(np.float64)
        x -= x.mean(axis=1, keepdims=True)
        f = np.fft.rfft(x, nfft, axis=1)
        ac = np.fft.irfft(f.real ** 2 + f.imag ** 2, nfft, axis=1)  # ac[:, L] = sum_i x[i] * x[i+L]
        energy = ac[:, 0]
        r = ac[:, lags].max(axis=1) / np.where(energy > 1e-12, energy, np.inf)  # a flat window scores 0
        out[lo:lo + _CHUNK] = r
    out[~span_ok] = np.nan
    return out


def long_runs(flag: np.ndarray, min_len: int) -> np.ndarray:
    """flag, keeping only the runs of consecutive True at least min_len long."""
    edges = np.diff(np.concatenate([[0], flag.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    mark = np.zeros(flag.shape[0] + 1, dtype=np.int64)
    long = (ends - starts) >= min_len
    np.add.at(mark, starts[long], 1)
    np.add.at(mark, ends[long], -1)
    return np.cumsum(mark[:-1]) > 0


def audit(t: np.ndarray, acc: np.ndarray, truth: np.ndarray, epoch_s: float = 1.0) -> Audit:
    """Audit one recording; truth[k] is the label of epoch k ('' or 'transition' where not scored)."""
    t = np.asarray(t, dtype=np.float64)
    mag = np.sqrt(np.sum(np.asarray(acc, dtype=np.float64) ** 2, axis=1))
    n_epochs = truth.shape[0]
    if t.shape[0] >= 2:
        rate_hz = 1.0 / float(np.median(np.diff(t)))
    else:
        rate_hz = 1.0 / epoch_s
    sd = epoch_sd(t, mag, n_epochs, epoch_s, rate_hz)
    per = epoch_periodicity(t, mag, n_epochs, epoch_s, rate_hz)
    with np.errstate(invalid="ignore"):  # nan (not judged) compares False: never flagged
        still = long_runs(sd < STILL_SD_G, int(np.ceil(STILL_RUN_S / epoch_s - 1e-9)))
        walking = long_runs((sd > WALK_SD_G) & (per > WALK_PERIODICITY), int(np.ceil(WALK_RUN_S / epoch_s - 1e-9)))
    mv = np.isin(truth, MOVING_LABELS)
    st = np.isin(truth, STILL_LABELS)
    return Audit(int(mv.sum()), int(st.sum()), int((mv & still).sum()), int((st & walking).sum()),
                 sd=sd, periodicity=per, certainly_still=still, certainly_walking=walking)
