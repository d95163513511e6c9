"""Can still (seated/standing) data alone tell forward from backward? Cues tested against walking.

    python benchmarks/forward_cues.py                           # ../shared/realdata
    python benchmarks/forward_cues.py --posture-dir posture/    # ... and converted posture sets
    python benchmarks/forward_cues.py --quiet-factor 2.5        # a laxer choice of quiet seconds

core/forward.py learns forward from walking and sit/stand transitions; a wearer who only sits
(a seated posture session) gives it nothing. This script measures whether physics in still data
could: per recording, the forward direction core/forward.py finds from walking and transitions
(the truth here; on the posture sets, the direction of the labelled slouch window from the
upright window) against what each candidate cue says, computed only on still seconds of the
labelled sitting and standing (posture sets: sitting and slouching). Candidates:

- **breathing asymmetry**: at rest inspiration is shorter than expiration (I:E about 1:1.5-2), and
  on the chest inspiration lifts and extends the thorax, which tilts the sensor as a small
  backward lean. The horizontal tilt in the breathing band is cut into breaths (upward zero
  crossings of its 0.1-0.5 Hz principal component), each breath resampled to NP points, and the
  breaths averaged; the skewness of the mean breath's derivative says which way the fast phase
  moves. Two readings: *full*, the mean breath's principal axis signed against its fast phase
  (a forward direction from still data alone), and *sign on the walking axis*, the same skewness
  along the truth forward axis (does inspiration move gravity backward?). Confidence: the share
  of 200 bootstrap resamplings of the breaths that give the same answer.
- **seismocardiography**: the heartbeat's 4-20 Hz vibration is largest dorso-ventrally on the
  sternum; the principal axis of the band's covariance, and whether a heartbeat is visible at all
  (autocorrelation of its envelope at 0.5-1.6 s lags).
- **posture spread**: the principal axis of the still seated postures (people lean forward and
  back more than sideways?).
- **mounting**: the sensor's own z axis (normal to its board) made horizontal, for a sensor worn
  flat on the body.

Angles are those of each cue's direction from the truth forward, in the plane perpendicular to
upright (0: agrees; 180: backwards; an axis cue is unsigned, 0-90). The findings are in
docs/core.md, "Forward direction".
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal, stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import DEFAULT_DATA, load_csv  # noqa: E402

from sensorback.core import CoreOptions, personal  # noqa: E402
from sensorback.core.pipeline import block_stats  # noqa: E402

NP = 40                # points per resampled breath
BREATH_BAND = (0.05, 1.2)   # Hz: the breath's shape (fundamental and harmonics)
CYCLE_BAND = (0.1, 0.5)     # Hz: where breaths are cut
BREATH_S = (1.5, 12.0)      # plausible breath durations
MIN_STRETCH_S = 12.0        # still stretches shorter than this are not used
EDGE_S = 2.0                # filter edges dropped from each stretch
BOOT = 200


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def read_labels(path: Path) -> list[tuple[float, float, str]]:
    with open(path, newline="") as fh:
        return [(float(r["t_start"]), float(r["t_end"]), r["label"]) for r in csv.DictReader(fh)]


def epoch_sd(t: np.ndarray, a: np.ndarray, t0: float, t1: float, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Start times and SDs (g, of the vector) of the whole 1 s epochs of [t0, t1) with >= 80 % of their samples."""
    starts = np.arange(t0, t1 - 1.0 + 1e-9, 1.0)
    lo, hi = np.searchsorted(t, starts), np.searchsorted(t, starts + 1.0)
    sd = np.full(starts.shape, np.inf)
    for i, (j0, j1) in enumerate(zip(lo, hi)):
        if j1 - j0 >= 0.8 * rate:
            sd[i] = np.sqrt(a[j0:j1].var(axis=0).sum())
    return starts, sd


def still_stretches(t, a, spans, rate, quiet_factor) -> list[tuple[int, int]]:
    """Sample ranges of runs of quiet epochs (SD under quiet_factor x the 10th percentile of the
    spans' epochs: sensors differ in noise) at least MIN_STRETCH_S long, without gaps."""
    per = [epoch_sd(t, a, t0, t1, rate) for t0, t1 in spans]
    sds = np.concatenate([sd for _, sd in per]) if per else np.zeros(0)
    sds = sds[np.isfinite(sds)]
    if sds.size == 0:
        return []
    limit = quiet_factor * np.percentile(sds, 10)
    out = []
    for starts, sd in per:
        quiet = np.append(sd < limit, False)
        e = 0
        while e < starts.size:
            if not quiet[e]:
                e += 1
                continue
            s = e
            while quiet[e]:
                e += 1
            if e - s >= MIN_STRETCH_S:
                j0, j1 = np.searchsorted(t, [starts[s], starts[e - 1] + 1.0])
                if j1 - j0 > 1 and np.all(np.diff(t[j0:j1]) < 2.5 / rate):
                    out.append((int(j0), int(j1)))
    return out


def breath_band(g: np.ndarray, fs: float, fwd: np.ndarray, side: np.ndarray):
    """The horizontal tilt of one still stretch in the (fwd, side) plane: (breath band, cycle band),
    filter edges dropped; None when too short."""
    x = np.vstack([g @ fwd, g @ side])
    wide = signal.sosfiltfilt(signal.butter(2, BREATH_BAND, "bandpass", fs=fs, output="sos"), x, axis=1)
    narrow = signal.sosfiltfilt(signal.butter(2, CYCLE_BAND, "bandpass", fs=fs, output="sos"), x, axis=1)
    cut = int(EDGE_S * fs)
    wide, narrow = wide[:, cut:-cut], narrow[:, cut:-cut]
    return None if wide.shape[1] < 8 * fs else (wide, narrow)


def breaths(wide: np.ndarray, narrow: np.ndarray, fs: float, orient: np.ndarray) -> np.ndarray:
    """Resampled breaths (n, 2, NP) of one stretch: cut at the upward zero crossings of the cycle
    band's principal component, its sign oriented by `orient` (the recording's pooled breathing
    axis) so that breaths of different stretches average coherently."""
    axis = np.linalg.eigh(np.cov(narrow))[1][:, 1]
    if axis @ orient < 0:
        axis = -axis
    p = axis @ narrow
    up = np.flatnonzero((p[:-1] < 0) & (p[1:] >= 0))
    idx = np.arange(wide.shape[1])
    out = []
    for i0, i1 in zip(up[:-1], up[1:]):
        if BREATH_S[0] <= (i1 - i0) / fs <= BREATH_S[1]:
            tt = np.linspace(i0, i1, NP, endpoint=False)
            out.append(np.vstack([np.interp(tt, idx, wide[0]), np.interp(tt, idx, wide[1])]))
    return np.array(out).reshape(-1, 2, NP)


def fast_phase(b: np.ndarray, orient: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(direction the mean breath's fast phase moves to, skewness along its axis, axis clarity:
    ratio of the mean breath's principal variances)."""
    m = b.mean(axis=0)
    w, v = np.linalg.eigh(np.cov(m))
    axis = v[:, 1] if v[:, 1] @ orient >= 0 else -v[:, 1]
    p = axis @ m
    sk = float(stats.skew(np.diff(np.append(p, p[0]))))
    return axis * np.sign(sk), sk, float(w[1] / max(w[0], 1e-30))


def skew_along(b: np.ndarray, direction_2d: np.ndarray) -> float:
    p = direction_2d @ b.mean(axis=0)
    return float(stats.skew(np.diff(np.append(p, p[0]))))


@dataclass
class Row:
    name: str
    still_s: float
    n_breaths: int
    breath_axis_deg: float = np.nan      # breathing axis from the truth AP axis (0-90)
    axis_ratio: float = np.nan
    full_deg: float = np.nan             # full breathing cue's forward (-fast phase) vs truth
    full_conf: float = np.nan
    sign_skew: float = np.nan            # along the truth forward: < 0 = fast phase moves backward
    sign_conf: float = np.nan
    scg_beat: float = np.nan             # heartbeat visibility (envelope autocorrelation)
    scg_ap_cos: float = np.nan           # |cos| of the SCG principal axis with truth AP
    spread_deg: float = np.nan           # posture-spread axis from AP (0-90)
    board_deg: float = np.nan            # sensor z axis (horizontal) from AP (0-90)


def scg(a: np.ndarray, stretches, fs: float, fwd, side, up) -> tuple[float, float]:
    if fs < 40:
        return np.nan, np.nan
    sos = signal.butter(3, [4.0, min(20.0, 0.45 * fs)], "bandpass", fs=fs, output="sos")
    env_sos = signal.butter(2, 3.0, fs=fs, output="sos")
    c, n, acs = np.zeros((3, 3)), 0, []
    for j0, j1 in stretches:
        y = signal.sosfiltfilt(sos, np.vstack([a[j0:j1] @ fwd, a[j0:j1] @ side, a[j0:j1] @ up]), axis=1)
        y = y[:, int(fs):-int(fs)]
        if y.shape[1] < 5 * fs:
            continue
        c += y @ y.T
        n += y.shape[1]
        env = signal.sosfiltfilt(env_sos, np.sqrt((y ** 2).sum(axis=0)))
        env -= env.mean()
        ac = np.correlate(env, env, "full")[env.size - 1:]
        lags = np.arange(ac.size) / fs
        acs.append(float(ac[(lags > 0.5) & (lags < 1.6)].max() / ac[0]))
    if n == 0:
        return np.nan, np.nan
    ax = np.linalg.eigh(c / n)[1][:, 2]
    return float(np.median(acs)), float(abs(ax[0]))


def truth(block, posture_windows: dict | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, np.ndarray]:
    """(calibrated samples, up, forward, where forward came from, epoch gravity directions) of a recording."""
    opts = CoreOptions()
    st, sensor = block_stats(block, opts)
    a = (block.acc - np.asarray(sensor.offset)) * np.asarray(sensor.gain)
    if posture_windows is None:
        cal, _ = personal.estimate(st, opts, sensor)
        up, fwd = np.asarray(cal.reference.up), np.asarray(cal.reference.forward)
        how = f"{cal.reference.forward_probability:.3f}"
    else:
        def median_dir(w):
            sel = (block.t >= w[0]) & (block.t < w[1])
            return unit(np.median(a[sel], axis=0))
        up, lean = median_dir(posture_windows["upright"]), median_dir(posture_windows["slouch"])
        fwd = unit(lean - (lean @ up) * up)
        how = "windows"
    g, sd, mid = personal._moments(st, opts, sensor)
    return a, up, fwd, how, np.column_stack([g, sd, mid])


def analyse(name: str, block, label_rows, still_labels, quiet_factor: float, rng, posture_windows=None) -> tuple[Row, str]:
    a, up, fwd, how, moments = truth(block, posture_windows)
    side = np.cross(up, fwd)
    fs = float(block.rate_hz)
    spans = [(t0, t1) for t0, t1, lab in label_rows if lab in still_labels]
    stretches = still_stretches(block.t, a, spans, fs, quiet_factor)
    row = Row(name, sum(j1 - j0 for j0, j1 in stretches) / fs, 0)
    bands = [x for x in (breath_band(unit(a[j0:j1]), fs, fwd, side) for j0, j1 in stretches) if x is not None]
    if bands:
        ref = np.linalg.eigh(sum(np.cov(n) * n.shape[1] for _, n in bands))[1][:, 1]
        b = np.concatenate([breaths(w, n, fs, ref) for w, n in bands])
    else:
        ref, b = None, np.zeros((0, 2, NP))
    row.n_breaths = len(b)
    if len(b) >= 5:
        fast, _, ratio = fast_phase(b, ref)
        est = -fast  # inspiration extends the thorax: its fast phase moves gravity backward
        row.full_deg = float(np.degrees(np.arctan2(est[1], est[0])))
        row.axis_ratio = ratio
        mean_axis = np.linalg.eigh(np.cov(b.mean(axis=0)))[1][:, 1]
        row.breath_axis_deg = float(np.degrees(np.arccos(min(1.0, abs(mean_axis[0])))))
        row.sign_skew = skew_along(b, np.array([1.0, 0.0]))
        same_full, same_sign = 0, 0
        for _ in range(BOOT):
            r = b[rng.integers(0, len(b), len(b))]
            same_full += float(fast_phase(r, ref)[0] @ fast) > 0
            same_sign += np.sign(skew_along(r, np.array([1.0, 0.0]))) == np.sign(row.sign_skew)
        row.full_conf, row.sign_conf = same_full / BOOT, same_sign / BOOT
    row.scg_beat, row.scg_ap_cos = scg(a, stretches, fs, fwd, side, up)
    # posture spread: still seated epochs' gravity directions
    g, sd, mid = moments[:, :3], moments[:, 3], moments[:, 4]
    seated = np.zeros(len(mid), bool)
    for t0, t1, lab in label_rows:
        if lab in ("sitting", "slouching"):
            seated |= (mid > t0) & (mid < t1)
    q = seated & (sd < 2 * np.nanpercentile(sd[seated], 10)) if seated.any() else seated
    if q.sum() >= 30:
        ax = np.linalg.eigh(np.cov(np.vstack([g[q] @ fwd, g[q] @ side])))[1][:, 1]
        row.spread_deg = float(np.degrees(np.arccos(min(1.0, abs(ax[0])))))
    z = np.array([0.0, 0.0, 1.0])
    zh = z - (z @ up) * up
    if np.linalg.norm(zh) > 0.3:
        zh = unit(zh)
        row.board_deg = float(np.degrees(np.arccos(min(1.0, abs(zh @ fwd)))))
    return row, how


def fmt(x: float, spec: str) -> str:
    return "-" if not np.isfinite(x) else format(x, spec)


def print_rows(rows: list[tuple[Row, str]]) -> None:
    print(f"{'recording':<30} {'fwd p':>7} {'still s':>7} {'breaths':>7} {'b.axis':>6} {'ratio':>5} "
          f"{'FULL':>5} {'conf':>5} {'SIGN':>6} {'conf':>5} {'beat':>5} {'scg|cos|':>8} {'spread':>6} {'board':>5}")
    for r, how in rows:
        print(f"{r.name:<30} {how:>7} {r.still_s:>7.0f} {r.n_breaths:>7d} {fmt(r.breath_axis_deg, '.0f'):>6} "
              f"{fmt(r.axis_ratio, '.1f'):>5} {fmt(r.full_deg, '+.0f'):>5} {fmt(r.full_conf, '.2f'):>5} "
              f"{fmt(r.sign_skew, '+.2f'):>6} {fmt(r.sign_conf, '.2f'):>5} {fmt(r.scg_beat, '.2f'):>5} "
              f"{fmt(r.scg_ap_cos, '.2f'):>8} {fmt(r.spread_deg, '.0f'):>6} {fmt(r.board_deg, '.0f'):>5}")


def summary(label: str, rows: list[Row], conf: float = 0.95) -> None:
    have = [r for r in rows if np.isfinite(r.full_deg)]
    sure = [r for r in have if r.full_conf >= conf]
    sign_sure = [r for r in have if r.sign_conf >= conf]
    print(f"{label}: breathing measured on {len(have)}/{len(rows)}; FULL cue within 45 deg of walking forward "
          f"{sum(abs(r.full_deg) <= 45 for r in have)}/{len(have)}, pointing backwards (>90) "
          f"{sum(abs(r.full_deg) > 90 for r in have)}; sure (bootstrap >= {conf}) {len(sure)}, of them within 45 "
          f"{sum(abs(r.full_deg) <= 45 for r in sure)}, backwards {sum(abs(r.full_deg) > 90 for r in sure)}. "
          f"SIGN on the walking axis says inspiration moves backward {sum(r.sign_skew < 0 for r in have)}/{len(have)}; "
          f"sure {len(sign_sure)}, of them backward {sum(r.sign_skew < 0 for r in sign_sure)}. "
          f"Heartbeat visible (>= 0.3) {sum(r.scg_beat >= 0.3 for r in rows if np.isfinite(r.scg_beat))}/{len(rows)}.")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the realdata folder (default ../shared/realdata)")
    ap.add_argument("--posture-dir", type=Path, help="converted posture sets (benchmarks/posture_sets.py) to add")
    ap.add_argument("--quiet-factor", type=float, default=2.0,
                    help="a second is quiet when its SD is under this many times the recording's 10th percentile")
    ap.add_argument("--seated-only", action="store_true",
                    help="only seconds labelled sitting (default: sitting and standing, both upright and still)")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(__doc__.split("\n")[0])
    print(f"quiet factor {args.quiet_factor}{'; seated seconds only' if args.seated_only else ''}; FULL: breathing cue's forward vs walking forward (deg); SIGN: skewness "
          f"of the mean breath's derivative along walking forward (< 0: inspiration moves gravity backward)")
    still = ("sitting",) if args.seated_only else ("sitting", "standing")
    for ds in ("chest_casale", "hapt_waist"):
        folder = args.data / ds
        recs = sorted(folder.glob("*.csv.gz"))
        if not recs:
            print(f"{folder}: no recordings, skipped")
            continue
        print(f"\n## {ds}")
        rows = []
        for rec in recs:
            lab = read_labels(rec.with_name(rec.name.replace(".csv.gz", ".labels.csv")))
            rows.append(analyse(rec.name.split(".")[0], load_csv(rec), lab, still,
                                args.quiet_factor, rng))
        print_rows(rows)
        summary(ds, [r for r, _ in rows])
    if args.posture_dir is not None:
        recs = sorted(args.posture_dir.glob("*.csv.gz"))
        print(f"\n## posture sets in {args.posture_dir} (truth: the calibration windows)")
        rows = []
        for rec in recs:
            lab = read_labels(rec.with_name(rec.name.replace(".csv.gz", ".labels.csv")))
            win = json.loads(rec.with_name(rec.name.replace(".csv.gz", ".windows.json")).read_text())
            rows.append(analyse(rec.name.split(".")[0], load_csv(rec), lab, ("sitting", "slouching"),
                                args.quiet_factor, rng, win))
        print_rows(rows)
        summary("posture sets", [r for r, _ in rows])


if __name__ == "__main__":
    main()
