"""How well each transition-independent cue tells sitting from standing, per real recording.

For every labelled recording in ../shared/realdata (or --data DIR), the area under the ROC curve
for telling labelled sitting epochs from labelled standing ones by each candidate cue, oriented so
that 1 is perfect and 0.5 is no signal (the chance that a sitting epoch looks more sitting-like
than a standing one). docs/core.md ("The posture cue") quotes these figures and says which cues
the core uses and why.

Candidates (still epochs only: the core judges posture when the wearer is not stepping):
- incl: the trunk's angle from the calibration's upright, found from walking as `sensorback
  analyze` finds it (more: sitting);
- sway: the median over the last 30 s of the angle the trunk's direction moves from one second
  to the next (less: sitting);
- sd: the epoch's own SD of acceleration (less: sitting).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DEFAULT_DATA, epoch_truth, load_csv, real_pairs  # noqa: E402

from sensorback.core import CoreOptions  # noqa: E402
from sensorback.core.decide import is_walking  # noqa: E402
from sensorback.core.pipeline import block_stats, estimate_calibration  # noqa: E402
from sensorback.core.reference import angles, unit  # noqa: E402

SWAY_WINDOW = 30


def auc(sit: np.ndarray, stand: np.ndarray) -> float:
    """P(a sitting value > a standing value), ties counted half (Mann-Whitney)."""
    sit, stand = sit[np.isfinite(sit)], stand[np.isfinite(stand)]
    if sit.size == 0 or stand.size == 0:
        return float("nan")
    r = rankdata(np.concatenate([sit, stand]))
    return float((r[:sit.size].sum() - sit.size * (sit.size + 1) / 2) / (sit.size * stand.size))


def cues(rec, options: CoreOptions) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(epoch index of each row, {cue: value per row}) for the still epochs of a recording (a
    path, or a SampleBlock already loaded), signed so that larger is more sitting-like."""
    stats, sensor = block_stats(load_csv(rec) if isinstance(rec, Path) else rec, options)
    calibration, _ = estimate_calibration(stats, options, sensor)
    mean, var = sensor.apply_mean_var(stats.mean, stats.var)
    g = unit(mean)
    sd = np.sqrt(var.sum(axis=1))
    incl, _, _ = angles(g, calibration.reference)
    step = np.full(len(stats), np.nan)
    consecutive = np.diff(stats.k) == 1
    dots = np.clip((g[1:] * g[:-1]).sum(axis=1), -1.0, 1.0)
    step[1:] = np.where(consecutive, np.degrees(np.arccos(dots)), np.nan)
    still = ~is_walking(stats.periodicity, stats.cadence_spm, sd) & (sd < 0.15)
    step[~still] = np.nan
    windows = np.lib.stride_tricks.sliding_window_view(
        np.concatenate([np.full(SWAY_WINDOW - 1, np.nan), step]), SWAY_WINDOW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # windows with no still epoch
        sway = np.nanmedian(windows, axis=1)
    keep = np.flatnonzero(still)
    return stats.k[keep], {"incl": incl[keep], "sway": -sway[keep], "sd": -sd[keep], "g": g[keep]}


# --learned-sway: the wearer's own sitting and standing sway, as the core could learn them from
# the first minutes after a confident transition (LEARN_S from LEARN_SKIP_S into the wearer's first
# labelled sitting and first labelled standing bout), cut at their geometric mean, against one
# fixed cut for everybody; balanced accuracy on every other still epoch.
LEARN_S = 120.0
LEARN_SKIP_S = 30.0
FIXED_SWAY_DEG = 0.6


def _ba(says_sit: np.ndarray, sit: np.ndarray) -> float:
    return 0.5 * (float(says_sit[sit].mean()) + float((~says_sit[~sit]).mean()))


def learned_sway(k: np.ndarray, values: dict, truth: np.ndarray, label_rows: list, epoch_s: float):
    """(sway learned while sitting, while standing, BA of the learned cut, BA of the fixed cut, BA
    of the best cut chosen knowing the labels), or None when the wearer has no bouts to learn from."""
    sway = -values["sway"]  # degrees
    t = k * epoch_s
    ok = np.isfinite(sway) & np.isin(truth, ["sitting", "standing"])

    def learned(label: str) -> np.ndarray | None:
        bout = next(((a, b) for a, b, lab in label_rows if lab == label and b - a >= LEARN_S + LEARN_SKIP_S), None)
        if bout is None:
            return None
        m = ok & (truth == label) & (t >= bout[0] + LEARN_SKIP_S) & (t < bout[0] + LEARN_SKIP_S + LEARN_S)
        return m if m.sum() >= 30 else None

    ls, lt = learned("sitting"), learned("standing")
    if ls is None or lt is None:
        return None
    s_sit, s_stand = float(np.median(sway[ls])), float(np.median(sway[lt]))
    rest = ok & ~ls & ~lt
    x, sit = sway[rest], truth[rest] == "sitting"
    own = _ba(x < np.sqrt(s_sit * s_stand), sit) if s_stand > s_sit else 0.5  # the wrong way round: no cue
    best = max(_ba(x < c, sit) for c in np.geomspace(0.05, 5.0, 80))
    return s_sit, s_stand, own, _ba(x < FIXED_SWAY_DEG, sit), best


def print_learned_sway(items) -> None:
    """items: (name, rec or block, label path)."""
    options = CoreOptions()
    print(f"\n## sway learned per wearer ({LEARN_S:g} s of their first sitting and standing bouts) vs one cut "
          f"at {FIXED_SWAY_DEG:g} deg: balanced accuracy sitting vs standing on every other still epoch")
    print(f"{'wearer':<22} {'sit deg':>7} {'stand deg':>9} {'learned':>7} {'fixed':>6} {'best':>6}")
    rows = []
    for name, rec, lab in items:
        k, values = cues(rec, options)
        truth = epoch_truth(lab, int(k[-1]) + 1, options.epoch_s)[k]
        with open(lab, newline="") as f:
            label_rows = [(float(r["t_start"]), float(r["t_end"]), r["label"]) for r in csv.DictReader(f)]
        r = learned_sway(k, values, truth, label_rows, options.epoch_s)
        if r is None:
            print(f"{name:<22} no sitting and standing bouts of {LEARN_S + LEARN_SKIP_S:g} s to learn from")
            continue
        rows.append(r)
        print(f"{name:<22} {r[0]:>7.2f} {r[1]:>9.2f} {r[2]:>7.3f} {r[3]:>6.3f} {r[4]:>6.3f}")
    if rows:
        a = np.array(rows)
        print(f"{'mean':<22} {'':>7} {'':>9} {a[:, 2].mean():>7.3f} {a[:, 3].mean():>6.3f} {a[:, 4].mean():>6.3f}")
        print(f"{'worst':<22} {'':>7} {'':>9} {a[:, 2].min():>7.3f} {a[:, 3].min():>6.3f} {a[:, 4].min():>6.3f}")


def simulated_items(scenario: str, seeds: range, workdir: Path):
    """(name, block, label path) of simulated wearers, their labels written into workdir."""
    from sensorback.sim import simulate, write_labels

    for seed in seeds:
        block, labels = simulate(scenario, seed=seed, rate_hz=50.0)
        lp = workdir / f"{scenario}-{seed}.labels.csv"
        write_labels(labels, lp)
        yield f"{scenario} seed {seed}", block, lp


LLR_BINS = np.array([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 25, 30, 90], float)


def print_llr(hist: dict) -> None:
    """The per-epoch log-likelihood ratio of sitting over standing by angle bin, from each
    dataset's class histograms (every recording weighted equally) and from both pooled (each
    dataset weighted equally): how much one still epoch at that angle says."""
    for key, title in (("incl", "from the walking upright"), ("own", "from the recording's mean standing direction")):
        print(f"\n## per-epoch LLR sitting:standing (nats), angle {title}")
        print(f"{'degrees':<8} " + " ".join(f"{ds:>12}" for ds in hist) + f" {'pooled':>8}")
        per = {ds: (np.mean(h[key + "_sit"], axis=0), np.mean(h[key + "_stand"], axis=0)) for ds, h in hist.items()}
        sit = np.mean([v[0] for v in per.values()], axis=0)
        stand = np.mean([v[1] for v in per.values()], axis=0)
        for i in range(LLR_BINS.size - 1):
            cells = [np.log((s[i] + 1e-3) / (t[i] + 1e-3)) for s, t in per.values()]
            pooled = np.log((sit[i] + 1e-3) / (stand[i] + 1e-3))
            print(f"{LLR_BINS[i]:>3.0f}-{LLR_BINS[i + 1]:<4.0f} " + " ".join(f"{c:>12.2f}" for c in cells) + f" {pooled:>8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--dataset", action="append", help="hapt_waist, chest_casale (default: all)")
    ap.add_argument("--llr", action="store_true", help="also print the per-epoch log-likelihood ratio of "
                    "sitting over standing by angle (from the walking upright and from the mean standing direction)")
    ap.add_argument("--learned-sway", action="store_true", help="instead: the sway cut learned per wearer "
                    "from their first sitting and standing bouts against one fixed cut (chest recordings)")
    ap.add_argument("--scenario", help="with --learned-sway: also this simulator scenario (seeds 1-5), e.g. sits-as-stands")
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"posture_cues.py: no labelled data at {args.data} (pass --data DIR)")
    if args.learned_sway:
        print_learned_sway((rec.name.replace(".csv.gz", ""), rec, lab)
                           for ds in args.dataset or ["chest_casale"] for rec, lab in real_pairs(args.data, ds))
        if args.scenario:
            with tempfile.TemporaryDirectory() as d:
                print_learned_sway(simulated_items(args.scenario, range(1, 6), Path(d)))
        return
    options = CoreOptions()
    names = ("incl", "sway", "sd")
    hist: dict = {}
    for ds in args.dataset or sorted(p.name for p in args.data.iterdir() if p.is_dir()):
        print(f"\n## {ds}: AUC sitting vs standing (1 = perfect, 0.5 = no signal), still epochs")
        print(f"{'recording':<16} {'sitting':>7} {'standing':>8} " + " ".join(f"{n:>6}" for n in names))
        table = []
        for rec, lab in real_pairs(args.data, ds):
            k, values = cues(rec, options)
            truth = epoch_truth(lab, int(k[-1]) + 1, options.epoch_s)[k]
            sit = np.isin(truth, ["sitting", "slouching"])
            stand = truth == "standing"
            row = [auc(values[n][sit], values[n][stand]) for n in names]
            if args.llr and sit.sum() >= 10 and stand.sum() >= 10:
                own = values["g"][stand].mean(axis=0)
                own /= np.linalg.norm(own)
                to_own = np.degrees(np.arccos(np.clip(values["g"] @ own, -1.0, 1.0)))
                h = hist.setdefault(ds, {})
                for key, x in (("incl", values["incl"]), ("own", to_own)):
                    for cls, m in (("_sit", sit), ("_stand", stand)):
                        h.setdefault(key + cls, []).append(np.histogram(x[m], LLR_BINS)[0] / m.sum())
            table.append(row)
            name = rec.name.replace(".csv.gz", "")
            print(f"{name:<16} {int(sit.sum()):>7} {int(stand.sum()):>8} " + " ".join(f"{v:>6.2f}" for v in row))
        a = np.array(table)
        print(f"{'median':<16} {'':>7} {'':>8} " + " ".join(f"{v:>6.2f}" for v in np.nanmedian(a, axis=0)))
        print(f"{'worst':<16} {'':>7} {'':>8} " + " ".join(f"{v:>6.2f}" for v in np.nanmin(a, axis=0)))
    if hist:
        print_llr(hist)


if __name__ == "__main__":
    main()
