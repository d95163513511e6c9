"""When a seated trunk counts as slouched: a personal line, judged in the forward direction only.

A slouch is a forward flexion of the trunk. Two things decide it here:

- **direction**: the lean from the wearer's upright must point forward, within SLOUCH_CONE_DEG of
  the forward direction (45 degrees: more forward than sideways). A backward or sideways lean is
  never a slouch, however far it goes;
- **depth**: the flexion must reach the wearer's line. People slouch to very different depths
  (on labelled recordings some wearers' slouched trunk sits 7-12 degrees forward of their
  upright, others' 25-40), so one fixed line misses the mild ones. The personal line lies
  halfway between the wearer's upright and their usual slouch (the boundary between two
  postures of similar spread), with half the depth bounded to MIN_HALF_DEPTH_DEG ..
  DEFAULT_SLOUCH_DEG. The usual slouch comes from a calibration (the wearer shows it) or from
  the wearer's own sitting when that is clearly bimodal (`seated_modes`). Without either, the
  line is DEFAULT_SLOUCH_DEG from upright.

Without a forward direction known with confidence nothing is called slouching (core/forward.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..timefmt import pct

DEFAULT_SLOUCH_DEG = 20.0
SLOUCH_CONE_DEG = 45.0
# Half the usual slouch depth, bounded: below 3 degrees a "slouch" is within the wobble of upright
# sitting (breathing tilts the chest ~1 degree, posture adjustments +-1.5); a deep sloucher gets no
# laxer line than the default.
MIN_HALF_DEPTH_DEG = 3.0
PERSONAL_FRACTION = 0.5

# Seated forward flexion is bimodal when a 2- or 3-component Gaussian mixture fits it better than
# one (BIC) and the upright and slouched components are clearly apart: Ashman's D >= 2 (the usual
# criterion for a clean separation of two normal components), at least MIN_SLOUCH_SHARE of the
# seated epochs and MIN_SLOUCH_EPOCHS of them in the slouched one, and its mean at least
# MIN_MODE_GAP_DEG beyond upright.
ASHMAN_D = 2.0
MIN_SLOUCH_SHARE = 0.05
MIN_SLOUCH_EPOCHS = 60
MIN_MODE_GAP_DEG = 3.0
# Seated posture varies by about a degree even when held (breathing, adjustments): no component
# is allowed a narrower spread, so a mixture cannot collapse onto one repeated value.
MIN_MODE_SD_DEG = 1.0
MAX_FIT_EPOCHS = 6000
MIN_FIT_EPOCHS = 300
# Epochs within this of the upright posture count as upright whichever way they lean.
NEAR_UPRIGHT_DEG = 2.0


@dataclass(frozen=True)
class SlouchRule:
    """Slouched: (flexion - origin_flex) >= depth_deg and the lean from the origin points within
    cone_deg of forward. depth_deg None: never (forward unknown). Angles in degrees, as the
    EpochTable holds them (relative to the upright reference)."""

    depth_deg: float | None
    origin_flex: float = 0.0
    origin_lat: float = 0.0
    cone_deg: float = SLOUCH_CONE_DEG

    @property
    def line_deg(self) -> float | None:
        """The flexion (relative to the upright reference) from which a forward lean is a slouch."""
        return None if self.depth_deg is None else self.origin_flex + self.depth_deg

    def slouched(self, flex, lat) -> np.ndarray:
        """Per epoch: is this seated trunk slouched? NaN angles are not."""
        flex = np.asarray(flex)
        if self.depth_deg is None:
            return np.zeros(flex.shape, bool)
        df = flex - np.float32(self.origin_flex)
        dl = np.abs(np.asarray(lat) - np.float32(self.origin_lat))
        return (df >= np.float32(self.depth_deg)) & (dl <= df * np.float32(np.tan(np.radians(self.cone_deg))))


def half_depth(depth_deg: float) -> float:
    """The personal line's distance from upright for a usual slouch of depth_deg."""
    return float(np.clip(PERSONAL_FRACTION * depth_deg, MIN_HALF_DEPTH_DEG, DEFAULT_SLOUCH_DEG))


@dataclass(frozen=True)
class SeatedModes:
    """The upright and slouched modes of a wearer's seated flexion (degrees, reference frame)."""

    upright_flex: float
    upright_lat: float
    slouch_flex: float
    slouch_sd: float
    ashman_d: float
    slouch_share: float
    components: int
    deep_flex: float | None = None  # a mode wholly past the default line, if the fit has one

    @property
    def depth_deg(self) -> float:
        return self.slouch_flex - self.upright_flex

    def describe(self) -> str:
        return (f"seated flexion is bimodal: upright at {self.upright_flex:.0f} deg, slouched at "
                f"{self.slouch_flex:.0f} deg ({pct(self.slouch_share)} of seated time; Ashman's D "
                f"{self.ashman_d:.1f})")


def seated_modes(flex: np.ndarray, lat: np.ndarray) -> SeatedModes | None:
    """The wearer's upright and slouched seated postures, when their seated flexion shows both.

    flex/lat: angles of the seated epochs. Upright is the posture held most (the peak of the
    smoothed 2-D distribution of flexion and lateral lean). The epochs near it or leaning
    forward from it (within the slouch cone: backward and sideways leans are no slouch, and would
    blur the picture) give the forward leans' distribution; a 1-D Gaussian mixture of it (1-3
    components, BIC) shows whether a slouched mode stands apart from upright. None when one
    mode explains the data as well, or the modes are not clearly apart (see the constants).
    """
    if flex.shape[0] < MIN_FIT_EPOCHS:
        return None
    step = max(1, flex.shape[0] // MAX_FIT_EPOCHS)  # every step-th epoch: plenty for a distribution
    x, y = flex[::step], lat[::step]
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok].astype(np.float64), y[ok].astype(np.float64)
    if x.shape[0] * step < MIN_FIT_EPOCHS:
        return None
    f0, l0 = _peak(x, y)
    df, dl = x - f0, y - l0
    sel = (df * df + dl * dl <= NEAR_UPRIGHT_DEG ** 2) | ((df > 0) & (np.abs(dl) <= df * np.tan(np.radians(SLOUCH_CONE_DEG))))
    z = df[sel]
    if z.shape[0] < MIN_FIT_EPOCHS // 2:
        return None
    fits = [_gmm(z, k) for k in (1, 2, 3)]
    w, mu, sd, _ = min(fits, key=lambda f: f[3])
    if w.shape[0] == 1:
        return None
    up = int(np.argmin(np.abs(mu)))
    above = np.flatnonzero(mu >= mu[up] + MIN_MODE_GAP_DEG)
    if above.size == 0:
        return None
    sl = int(above[np.argmax(w[above])])
    d = float(np.sqrt(2.0) * abs(mu[sl] - mu[up]) / np.sqrt(sd[sl] ** 2 + sd[up] ** 2))
    share = float(w[sl]) * z.shape[0] / x.shape[0]  # of all seated epochs
    if d < ASHMAN_D or share < MIN_SLOUCH_SHARE or share * x.shape[0] * step < MIN_SLOUCH_EPOCHS:
        return None
    deep = np.flatnonzero((f0 + mu - 2.0 * sd >= DEFAULT_SLOUCH_DEG) & (w * z.shape[0] / x.shape[0] >= MIN_SLOUCH_SHARE))
    return SeatedModes(float(f0 + mu[up]), float(l0), float(f0 + mu[sl]), float(sd[sl]), d, share, int(w.shape[0]),
                       float(f0 + mu[deep[-1]]) if deep.size else None)


def seated_peak(flex: np.ndarray, lat: np.ndarray) -> tuple[float, float] | None:
    """The seated posture held most (flexion, lateral lean), or None with too few seated epochs."""
    if flex.shape[0] < MIN_FIT_EPOCHS:
        return None
    step = max(1, flex.shape[0] // MAX_FIT_EPOCHS)
    x, y = flex[::step], lat[::step]
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() * step < MIN_FIT_EPOCHS:
        return None
    return _peak(x[ok].astype(np.float64), y[ok].astype(np.float64))


def _peak(x: np.ndarray, y: np.ndarray, bin_deg: float = 0.5, smooth_deg: float = 1.0) -> tuple[float, float]:
    """Where a 2-D distribution of angles is densest (a histogram smoothed by smooth_deg)."""
    lo_x, hi_x = np.percentile(x, (1, 99))
    lo_y, hi_y = np.percentile(y, (1, 99))
    lo_x, lo_y = lo_x - 3.0, lo_y - 3.0
    nx = max(int((hi_x + 3.0 - lo_x) / bin_deg), 4)
    ny = max(int((hi_y + 3.0 - lo_y) / bin_deg), 4)
    ix = np.clip(((x - lo_x) / bin_deg).astype(np.int64), 0, nx - 1)
    iy = np.clip(((y - lo_y) / bin_deg).astype(np.int64), 0, ny - 1)
    h = np.bincount(ix * ny + iy, minlength=nx * ny).reshape(nx, ny).astype(np.float64)
    # Gaussian smoothing along each axis, as two small matrix products (no scipy.ndimage import)
    sigma = smooth_deg / bin_deg

    def blur(n: int) -> np.ndarray:
        i = np.arange(n)
        return np.exp(-0.5 * ((i[:, None] - i[None, :]) / sigma) ** 2)

    h = blur(nx) @ h @ blur(ny)
    i, j = np.unravel_index(int(np.argmax(h)), h.shape)
    return float(lo_x + (i + 0.5) * bin_deg), float(lo_y + (j + 0.5) * bin_deg)


def _gmm(x: np.ndarray, k: int, iters: int = 25, bin_deg: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """A 1-D Gaussian mixture by EM from quantile starts: (weights, means, sds, BIC).

    Fitted to the histogram of x in bin_deg bins (each bin centre weighted by its count): the
    same fit to a fraction of a degree, at a cost that does not grow with the number of epochs."""
    n = x.shape[0]
    lo = float(np.floor(x.min() / bin_deg)) * bin_deg
    counts = np.bincount(((x - lo) / bin_deg).astype(np.int64))
    keep = np.flatnonzero(counts)
    c = lo + (keep + 0.5) * bin_deg
    wt = counts[keep].astype(np.float64)
    mu = np.quantile(x, (np.arange(k) + 0.5) / k)
    sd = np.full(k, max(float(np.std(x)) / k, MIN_MODE_SD_DEG))
    w = np.full(k, 1.0 / k)
    loglik = -np.inf
    for _ in range(iters):
        z = (c[:, None] - mu) / sd
        logp = np.log(np.maximum(w, 1e-12)) - np.log(sd) - 0.5 * z * z - 0.5 * np.log(2 * np.pi)
        top = logp.max(axis=1, keepdims=True)
        ll = top[:, 0] + np.log(np.exp(logp - top).sum(axis=1))
        resp = np.exp(logp - ll[:, None]) * wt[:, None]
        new = float(ll @ wt)
        nk = resp.sum(axis=0) + 1e-12
        w = nk / n
        mu = (resp * c[:, None]).sum(axis=0) / nk
        sd = np.sqrt(np.maximum((resp * (c[:, None] - mu) ** 2).sum(axis=0) / nk, MIN_MODE_SD_DEG ** 2))
        if new - loglik < 1e-4 * n:
            loglik = new
            break
        loglik = new
        if k == 1:  # one component: the first update is the answer
            loglik = float(np.sum(wt * (-np.log(sd[0]) - 0.5 * ((c - mu[0]) / sd[0]) ** 2 - 0.5 * np.log(2 * np.pi))))
            break
    bic = -2.0 * loglik + (3 * k - 1) * np.log(n)
    order = np.argsort(mu)
    return w[order], mu[order], sd[order], float(bic)
