"""Accuracy of the signal core against labelled recordings made by other people.

Prints one table per dataset in ../shared/realdata (or --data DIR) and per recording, plus the
simulator's scenarios against their ground-truth sidecars. No calibration input is given:
upright and forward are found from the data, exactly as `sensorback analyze FILE` does. The
simulator's personal-slouch wearers (slouch-mild, slouch-deep) and, with --posture-dir,
labelled sitting-posture recordings (benchmarks/posture_sets.py converts them) are scored both
with calibration windows and fully automatic.

Epochs are compared with the labels that cover them entirely; transitions and unlabelled time
are excluded; sitting includes slouching.

For the chest sets, a spliced table (spliced.py): each wearer's longest sitting, a radio gap, then
their own longest standing with no stand-up between, the held-out failure of issue 10 built
from real signals; standing and sitting recall.

After each dataset's table a label audit (label_audit.py, signal only, no classifier output) counts
the labelled epochs the signal plainly contradicts and prints the highest moving-vs-still balanced
accuracy those contradictions leave possible ("move BA ceiling").

Datasets (UCI, CC BY 4.0): HAPT (Reyes-Ortiz et al., Neurocomputing 171:754-767, 2016) and
Activity Recognition from Single Chest-Mounted Accelerometer (Casale et al., Pers. Ubiquitous
Comput. 16(5):563-580, 2012).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from label_audit import MOVING_LABELS, STILL_LABELS, STILL_SD_G, WALK_PERIODICITY, WALK_SD_G, audit, pool  # noqa: E402

from sensorback.core import CoreOptions, analyze  # noqa: E402
from sensorback.core.states import STATES  # noqa: E402
from sensorback.errors import SensorbackError  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def load_csv(path: Path):
    from sensorback.formats import load

    return load(path)


def epoch_truth(label_path: Path, n_epochs: int, epoch_s: float, column: str = "label") -> np.ndarray:
    """Label (or another column, e.g. source_code) of each epoch covered entirely by one label
    row; '' elsewhere."""
    truth = np.full(n_epochs, "", dtype=object)
    with open(label_path, newline="") as f:
        for row in csv.DictReader(f):
            a, b = float(row["t_start"]), float(row["t_end"])
            i0, i1 = int(np.ceil(a / epoch_s - 1e-9)), int(np.floor(b / epoch_s + 1e-9))
            truth[max(i0, 0):max(min(i1, n_epochs), 0)] = row[column]
    return truth


@dataclass
class Scores:
    move_ba: float
    lying_recall: float
    lying_precision: float
    sit_stand_ba: float
    epoch_acc: float
    slouch_f1: float
    n: int


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def score(truth: np.ndarray, state: np.ndarray) -> Scores:
    lab = truth != ""
    lab &= truth != "transition"
    tr, st = truth[lab], state[lab]
    names = np.asarray(STATES, dtype=object)[st]
    mv_t, mv_p = np.isin(tr, MOVING_LABELS), names == "moving"
    still_t = np.isin(tr, STILL_LABELS)
    move_ba = 0.5 * (_ratio((mv_p & mv_t).sum(), mv_t.sum()) + _ratio((~mv_p & still_t).sum(), still_t.sum()))
    ly_t, ly_p = tr == "lying", names == "lying"
    sit_t = np.isin(tr, ["sitting", "slouching"])
    sit_p = np.isin(names, ["sitting", "slouching"])
    stand_t, stand_p = tr == "standing", names == "standing"
    ss_ba = 0.5 * (_ratio((sit_p & sit_t).sum(), sit_t.sum()) + _ratio((stand_p & stand_t).sum(), stand_t.sum()))
    sl_t, sl_p = tr == "slouching", names == "slouching"
    tp = (sl_t & sl_p).sum()
    f1 = _ratio(2 * tp, sl_t.sum() + sl_p.sum())
    return Scores(move_ba, _ratio((ly_p & ly_t).sum(), ly_t.sum()), _ratio((ly_p & ly_t).sum(), ly_p.sum()),
                  ss_ba, float((tr == names).mean()) if tr.size else float("nan"), f1, int(lab.sum()))


def evaluate(rec: Path, label_path: Path, options: CoreOptions, block=None, with_first: bool = False,
             with_epochs: bool = False):
    """(labels, states) of the recording's epochs; with_first: also the index of its first epoch;
    with_epochs: also the EpochTable."""
    block = block if block is not None else load_csv(rec)
    res = analyze(block, options)
    ep = res.epochs
    k0 = int(round(ep.t_start[0] / options.epoch_s)) if len(ep) else 0
    n = k0 + len(ep)
    truth = epoch_truth(label_path, n, options.epoch_s)[k0:]
    out = (truth, ep.state) + ((k0,) if with_first else ()) + ((ep,) if with_epochs else ())
    return out


def told_windows(block, options: CoreOptions, stand: bool = True) -> CoreOptions:
    """options with the windows of the guided calibration a simulated day begins with (its upright,
    slouch and, with stand, stand steps), as --reference-window/--forward-window/--stand-window."""
    import dataclasses

    w = block.meta["sim"]["calibration_windows"]
    return dataclasses.replace(options, reference_window=tuple(w["upright"]), forward_window=tuple(w["slouch"]),
                               stand_window=tuple(w["stand"]) if stand else None)


def simulated(name: str, seed: int, rate_hz: float, options: CoreOptions, calibrated: bool = False,
              closed: bool = False, dropouts: bool = False, flaky: bool = False):
    """(block, labels, truth per epoch, EpochTable) of one simulated scenario, analysed once;
    calibrated: with the windows of the guided calibration the scenario begins with; closed: with
    its radio gaps closed up (closed_gaps.py); dropouts: with short dropouts added (dropouts.py);
    flaky: with spells of dropouts of 1-12 s added (dropouts.py)."""
    import tempfile

    from closed_gaps import close_gaps
    from dropouts import add_dropouts

    from sensorback.sim import simulate, write_labels

    block, labels = simulate(name, seed=seed, rate_hz=rate_hz)
    if closed:
        block, labels = close_gaps(block, labels)
    if dropouts or flaky:
        block, labels = add_dropouts(block, labels, seed, flaky=flaky)
    if calibrated:
        options = told_windows(block, options)
    with tempfile.TemporaryDirectory() as d:
        lp = Path(d) / "labels.csv"
        write_labels(labels, lp)
        truth, _, ep = evaluate(Path(name), lp, options, block=block, with_epochs=True)
    return block, labels, truth, ep


@dataclass
class MovingErrors:
    """The moving-vs-still errors, judged by each epoch's own signal (|a| only, as the audit)."""

    missed: int = 0          # labelled moving, called still
    missed_quiet: int = 0    # ... whose own second has an SD of |a| below the audit's still bound
    false: int = 0           # labelled still, called moving
    false_stepping: int = 0  # ... whose own second shows periodic stepping (audit's walking bounds)
    moving: int = 0
    still: int = 0

    @property
    def best_if_rest_fixed(self) -> float:
        """Moving-vs-still BA if every error not contradicted by its own second were fixed."""
        if not self.moving or not self.still:
            return float("nan")
        return 0.5 * ((1 - self.missed_quiet / self.moving) + (1 - self.false_stepping / self.still))

    def add(self, truth, state, sd, periodicity) -> None:
        called = state == STATES.index("moving")
        moving = np.isin(truth, MOVING_LABELS)
        still = np.isin(truth, STILL_LABELS)
        with np.errstate(invalid="ignore"):  # nan (not judged) counts as neither
            quiet = sd < STILL_SD_G
            stepping = (sd > WALK_SD_G) & (periodicity > WALK_PERIODICITY)
        self.missed += int((moving & ~called).sum())
        self.missed_quiet += int((moving & ~called & quiet).sum())
        self.false += int((still & called).sum())
        self.false_stepping += int((still & called & stepping).sum())
        self.moving += int(moving.sum())
        self.still += int(still.sum())


def fmt(x: float) -> str:
    return "  -  " if np.isnan(x) else f"{x:5.3f}"


def thinned(block, step: int, how: str = "pick"):
    """The recording as a sensor at 1/step of its rate would give it: every step-th sample
    ("pick": no anti-alias filter) or the mean of each step samples ("mean": with one)."""
    if step <= 1:
        return block
    from sensorback.samples import SampleBlock

    m = len(block) // step * step
    acc = block.acc[:m:step] if how == "pick" else block.acc[:m].reshape(-1, step, 3).mean(axis=1)
    return SampleBlock(block.t[:m:step], np.ascontiguousarray(acc, np.float32), device=block.device,
                       rate_hz=block.rate_hz / step, start_time=block.start_time)


def run_dataset(name: str, pairs, options: CoreOptions, verbose: bool = True, thin: int = 1,
                thin_by: str = "pick") -> dict:
    all_t, all_s, rows, audits = [], [], [], []
    errors = MovingErrors()
    for rec, lab in pairs:
        block = thinned(load_csv(rec), thin, thin_by)
        truth, state, k0 = evaluate(rec, lab, options, block=block, with_first=True)
        s = score(truth, state)
        rows.append((rec.name.split(".")[0], s))
        all_t.append(truth)
        all_s.append(state)
        # The same labels on the same epoch grid, judged from the signal alone (no classifier output).
        n_ep = int(np.floor(block.t[-1] / options.epoch_s)) + 1 if len(block.t) else 0
        audits.append(audit(block.t, block.acc, epoch_truth(lab, n_ep, options.epoch_s), options.epoch_s))
        own = slice(k0, k0 + len(state))
        errors.add(truth, state, audits[-1].sd[own], audits[-1].periodicity[own])
    pooled = score(np.concatenate(all_t), np.concatenate(all_s))
    pooled_audit = pool(audits)
    if verbose:
        print(f"\n## {name}  ({len(rows)} recordings)")
        print(f"{'recording':<16} {'epochs':>6} {'move BA':>7} {'lie rec':>7} {'lie prec':>8} {'sit/stand BA':>12}")
        for r, s in rows:
            print(f"{r:<16} {s.n:>6} {fmt(s.move_ba):>7} {fmt(s.lying_recall):>7} {fmt(s.lying_precision):>8} {fmt(s.sit_stand_ba):>12}")
        ss = np.array([s.sit_stand_ba for _, s in rows])
        print(f"{'POOLED':<16} {pooled.n:>6} {fmt(pooled.move_ba):>7} {fmt(pooled.lying_recall):>7} {fmt(pooled.lying_precision):>8} {fmt(pooled.sit_stand_ba):>12}")
        print(f"sit/stand BA per recording: mean {np.nanmean(ss):.3f}, worst {np.nanmin(ss):.3f} ({rows[int(np.nanargmin(ss))][0]})")
        worn = np.concatenate([t != "" for t in all_t])  # labelled (worn) epochs, transitions included
        off = int((np.concatenate(all_s)[worn] == STATES.index("not_worn")).sum())
        print(f"not_worn on labelled (worn) epochs: {off} of {int(worn.sum())}")
        print_audit(rows, audits, pooled, pooled_audit)
        print(f"moving-vs-still errors, each epoch's own second: {errors.missed} moving-labelled epochs called "
              f"still, {errors.missed_quiet} of them quiet (SD of |a| < {STILL_SD_G} g: no step); {errors.false} "
              f"still-labelled epochs called moving, {errors.false_stepping} of them stepping "
              f"(SD > {WALK_SD_G} g, periodicity > {WALK_PERIODICITY}); every other error fixed: move BA "
              f"{fmt(errors.best_if_rest_fixed)}")
    return {"pooled": pooled, "rows": rows, "audit": audits, "pooled_audit": pooled_audit, "errors": errors}


SENSOR_OFFSET_G = 0.03
SENSOR_GAIN = 0.03


def with_sensor_error(block, variant: int):
    """The recording as a cheaper sensor would give it: per-axis offsets of up to SENSOR_OFFSET_G
    and gain errors of up to SENSOR_GAIN (uniform, seeded by variant; cheap MEMS accelerometers
    are specified at +-40-80 mg and +-3 % before calibration)."""
    from sensorback.samples import SampleBlock

    rng = np.random.default_rng(variant)
    offset = rng.uniform(-SENSOR_OFFSET_G, SENSOR_OFFSET_G, 3).astype(np.float32)
    gain = rng.uniform(1 - SENSOR_GAIN, 1 + SENSOR_GAIN, 3).astype(np.float32)
    return SampleBlock(block.t, np.ascontiguousarray((block.acc + offset) * gain, np.float32), device=block.device,
                       rate_hz=block.rate_hz, start_time=block.start_time)


def run_sensor_errors(name: str, pairs, options: CoreOptions, variants: int) -> None:
    """Sit/stand balanced accuracy per recording as recorded and with `variants` random sensor
    errors each: how much a result depends on the sensor's own offset and gain, which the core's
    calibration is meant to take away."""
    print(f"\n## {name}: sit/stand BA with sensor errors (offsets up to {SENSOR_OFFSET_G * 1000:.0f} mg, "
          f"gains up to {SENSOR_GAIN:.0%}, variants 1-{variants})")
    print(f"{'recording':<16} {'as recorded':>11} {'mean':>6} {'worst':>6}  per variant")
    truths, states = [[] for _ in range(variants + 1)], [[] for _ in range(variants + 1)]
    for rec, lab in pairs:
        block = load_csv(rec)
        ba = []
        for v in range(variants + 1):
            truth, state = evaluate(rec, lab, options, block=block if v == 0 else with_sensor_error(block, v))
            truths[v].append(truth)
            states[v].append(state)
            ba.append(score(truth, state).sit_stand_ba)
        rest = np.array(ba[1:])
        print(f"{rec.name.split('.')[0]:<16} {fmt(ba[0]):>11} {fmt(np.nanmean(rest)):>6} {fmt(np.nanmin(rest)):>6}  "
              + " ".join(fmt(b) for b in rest))
    pooled = [score(np.concatenate(t), np.concatenate(s)).sit_stand_ba for t, s in zip(truths, states)]
    print(f"{'POOLED':<16} {fmt(pooled[0]):>11} {fmt(np.mean(pooled[1:])):>6} {fmt(np.min(pooled[1:])):>6}  "
          + " ".join(fmt(b) for b in pooled[1:]))


def print_audit(rows, audits, pooled, pooled_audit) -> None:
    """The label audit (benchmarks/label_audit.py): how far the labels contradict the signal, and the
    best moving-vs-still balanced accuracy left to any classifier that follows the signal."""
    print("label audit (signal only): moving-labelled epochs certainly still, still-labelled epochs certainly walking")
    print(f"{'recording':<16} {'moving':>6}  {'still-in-moving':>15}  {'still':>6}  {'walking-in-still':>16}  {'move BA':>7}  {'move BA ceiling':>15}")
    for (r, s), a in list(zip(rows, audits)) + [(("POOLED", pooled), pooled_audit)]:
        print(f"{r:<16} {a.moving:>6}  {a.still_in_moving:>15}  {a.still:>6}  {a.walking_in_still:>16}  {fmt(s.move_ba):>7}  {fmt(a.ceiling):>15}")


def real_pairs(data: Path, dataset: str):
    for rec in sorted((data / dataset).glob("*.csv.gz")):
        yield rec, rec.with_name(rec.name.replace(".csv.gz", ".labels.csv"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--dataset", action="append", help="hapt_waist, chest_casale (default: all)")
    ap.add_argument("--no-sim", action="store_true", help="skip the simulator scenarios")
    ap.add_argument("--seeds", type=int, default=5, help="simulated people per scenario (default 5)")
    ap.add_argument("--thin", type=int, default=1, metavar="N",
                    help="use 1/N of the rate: real recordings thinned, scenarios simulated at 50/N Hz (default 1)")
    ap.add_argument("--thin-by", choices=("pick", "mean"), default="pick",
                    help="thin real recordings by keeping every N-th sample (no anti-alias filter, the default) "
                         "or by the mean of each N samples (with one)")
    ap.add_argument("--posture-dir", type=Path, metavar="DIR",
                    help="also score labelled sitting-posture recordings converted by posture_sets.py "
                         "(forward lean vs upright/back/side, with calibration windows and fully automatic)")
    ap.add_argument("--posture-only", action="store_true",
                    help="score only the simulator (unless --no-sim) and --posture-dir, not the labelled "
                         "datasets of --data")
    ap.add_argument("--sensor-errors", type=int, default=0, metavar="N",
                    help="also score every real recording with N random sensor offset/gain errors (see "
                         "with_sensor_error): how much the results depend on the sensor's own calibration")
    ap.add_argument("--epoch-seconds", type=float, default=None, metavar="S",
                    help="epoch length as `analyze --epoch-seconds` takes it (default: the core's, 1 s)")
    args = ap.parse_args()
    if args.thin < 1:
        sys.exit("accuracy.py: --thin must be 1 or more")
    options = CoreOptions() if args.epoch_seconds is None else CoreOptions(epoch_s=args.epoch_seconds)
    if args.posture_only and args.posture_dir is None:
        sys.exit("accuracy.py: --posture-only needs --posture-dir DIR")
    t0 = time.perf_counter()
    if args.posture_only:
        datasets = []
    elif not args.data.is_dir():
        sys.exit(f"accuracy.py: no labelled data at {args.data} (pass --data DIR)")
    else:
        datasets = args.dataset or sorted(p.name for p in args.data.iterdir() if p.is_dir())
    for ds in datasets:
        run_dataset(ds, list(real_pairs(args.data, ds)), options, thin=args.thin, thin_by=args.thin_by)
    for ds in datasets if args.sensor_errors > 0 else ():
        run_sensor_errors(ds, list(real_pairs(args.data, ds)), options, args.sensor_errors)
    for ds in (d for d in datasets if d.startswith("chest")):
        run_spliced(ds, list(real_pairs(args.data, ds)), options)
    if args.posture_dir is not None:
        run_posture_sets(args.posture_dir)
    if not args.no_sim:
        run_sim(options, range(1, 1 + args.seeds), rate_hz=50.0 / args.thin)
        run_sitstand_families(options, range(1, 1 + args.seeds), rate_hz=50.0 / args.thin)
        run_slouch_families(range(1, 1 + args.seeds), rate_hz=50.0 / args.thin)
    print(f"\n({time.perf_counter() - t0:.1f} s)")


def run_spliced(ds: str, pairs: list, options: CoreOptions) -> None:
    """Each wearer's longest sitting, a radio gap, then their own longest standing with no
    stand-up between (spliced.py): the held-out failure of issue 10 built from real signals.
    Chest sets only: the waist set's standing bouts (20-40 s) are shorter than the 2 minutes any
    unseen posture change needs to be believed."""
    from spliced import GAP_S, WALK_S, after_a_walk, joined, recalls, sit_then_stand

    print(f"\n## {ds} spliced: longest sitting, {GAP_S:g} s radio gap, own longest standing, no stand-up between")
    print("(joined: the same with no gap, one sample interval between the two: activity recordings joined into one file)")
    print(f"(and the gap version after {WALK_S:g} s of the wearer's own walking and another gap: sit-down unseen right after a walk)")
    print(f"{'recording':<16} {'sitting min':>11} {'standing min':>12} {'standing recall':>15} {'sitting recall':>14}"
          f" {'joined: standing':>16} {'sitting':>7} {'after a walk: standing':>22} {'sitting':>7}")
    total = np.zeros(12, np.int64)
    for rec, lab in pairs:
        block = load_csv(rec)
        sp = sit_then_stand(block, lab)
        if sp is None:
            continue
        r = recalls(sp, analyze(sp.block, options).epochs)
        j = joined(block, lab)
        jr = recalls(j, analyze(j.block, options).epochs)
        walked = after_a_walk(block, lab, sp)
        w = recalls(walked, analyze(walked.block, options).epochs) if walked is not None else (0, 0, 0, 0)
        total += np.array(r + jr + w)
        name = rec.name.replace(".csv.gz", "")
        print(f"{name:<16} {sp.sitting[1] / 60:>11.1f} {(sp.standing[1] - sp.standing[0]) / 60:>12.1f} "
              f"{_ratio(r[0], r[1]):>15.3f} {_ratio(r[2], r[3]):>14.3f} {_ratio(jr[0], jr[1]):>16.3f} "
              f"{_ratio(jr[2], jr[3]):>7.3f} {_ratio(w[0], w[1]):>22.3f} {_ratio(w[2], w[3]):>7.3f}")
    print(f"{'POOLED':<16} {'':>11} {'':>12} {_ratio(total[0], total[1]):>15.3f} {_ratio(total[2], total[3]):>14.3f}"
          f" {_ratio(total[4], total[5]):>16.3f} {_ratio(total[6], total[7]):>7.3f}"
          f" {_ratio(total[8], total[9]):>22.3f} {_ratio(total[10], total[11]):>7.3f}")


def run_sim(options: CoreOptions, seeds: range, rate_hz: float = 50.0) -> None:
    """Each scenario over several seeds (each seed is another person, mounting and day)."""
    print(f"\n## simulator scenarios, seeds {seeds.start}-{seeds.stop - 1}, {rate_hz:g} Hz (ground truth from the sidecar labels)")
    print(f"{'scenario':<20} {'epochs':>7} {'epoch acc mean':>14} {'worst':>6} {'slouch F1 mean':>14} {'worst':>6}")
    for name in ("desk-day", "standing-desk-day", "demo", "desk-day+dropouts", "desk-day+flaky"):
        scores = []
        for seed in seeds:
            scenario, variant = family(name)
            _, _, truth, ep = simulated(scenario, seed, rate_hz, options, **variant)
            scores.append(score(truth, ep.state))
        acc = np.array([s.epoch_acc for s in scores])
        f1 = np.array([s.slouch_f1 for s in scores])
        n = sum(s.n for s in scores)
        print(f"{name:<20} {n:>7} {acc.mean():>14.3f} {acc.min():>6.3f} {np.nanmean(f1):>14.3f} {np.nanmin(f1):>6.3f}")


# ------------------------------------------------- sitting and standing without transitions
SITSTAND_FAMILIES = ("hidden-sit-downs", "hidden-sit-downs+closed", "seat-after-walk", "reseats", "standing-chats",
                     "hidden-stand-ups", "hidden-stand-ups+closed", "activity-files", "activity-files+closed",
                     "seated-start", "sits-as-stands", "couch",
                     "stuck-sensor", "exercise-bike", "calibrated-hidden", "calibrated-hidden+windows",
                     "hidden-sit-downs+dropouts", "hidden-stand-ups+dropouts", "reseats+dropouts",
                     "activity-files+flaky", "hidden-sit-downs+flaky", "hidden-stand-ups+flaky", "reseats+flaky")
# "+windows": the scenario analysed with the windows of the guided calibration it begins with
# (--reference-window, --forward-window, --stand-window); without, as if nobody said where they are.
# "+closed": with its radio gaps closed up, as a clock rebuilt from the sample count leaves them
# (closed_gaps.py).
WITH_WINDOWS = "+windows"
CLOSED = "+closed"
DROPOUTS = "+dropouts"  # short dropouts added (dropouts.py)
FLAKY = "+flaky"  # spells of dropouts of 1-12 s added (dropouts.py)
PROMPT_TOLERANCE_S = 180.0  # a break prompt within 3 min of when a perfect observer would give it
LATE_S = 600.0  # a prompt later than that but within 10 min (the coach's repeat) is the same one, late


def family(name: str) -> tuple[str, dict]:
    """(scenario, keyword arguments of simulated()) of a family name with its suffixes."""
    variant = dict(calibrated=name.endswith(WITH_WINDOWS), closed=name.endswith(CLOSED),
                   dropouts=name.endswith(DROPOUTS), flaky=name.endswith(FLAKY))
    for suffix in (WITH_WINDOWS, CLOSED, DROPOUTS, FLAKY):
        name = name.removesuffix(suffix)
    return name, variant


def label_epochs(labels, duration_s: float, epoch_s: float):
    """The states a perfect observer would give: one epoch per epoch_s carrying the label at its
    middle, a transition counted as what follows it (the coach's ground truth, as in
    tests/test_coach_groundtruth.py)."""
    from sensorback.core.epochs import EpochTable
    from sensorback.core.states import CODE

    rows = list(labels.rows())
    t = np.arange(0.0, duration_s, epoch_s)
    names = np.full(t.shape[0], "no_data", dtype=object)
    for i, (a, b, lab, _code) in enumerate(rows):
        if lab == "transition":
            lab = next((r[2] for r in rows[i + 1:] if r[2] != "transition"), "no_data")
        mid = t + epoch_s / 2
        names[(mid >= a) & (mid < b)] = lab
    z = np.zeros(t.shape[0], np.float32)
    return EpochTable(t, t + epoch_s, np.array([CODE[n] for n in names], np.int8), z, z, z, z, z)


@dataclass
class Prompts:
    """The coach's break prompts on the core's epochs against a perfect observer's."""

    due: int = 0        # the perfect observer's
    on_time: int = 0    # of them, given within PROMPT_TOLERANCE_S
    late: int = 0       # of the rest, given later, within LATE_S after (the right prompt, late)
    spurious: int = 0   # prompts that answer none of the due ones (late ones not counted)
    worst: float = 0.0  # largest offset of an on-time one, s
    worst_late: float = 0.0


def prompts(core_epochs, labels, duration_s: float, epoch_s: float) -> Prompts:
    """Each due prompt takes the nearest prompt given within PROMPT_TOLERANCE_S of it; a due prompt
    left without one then takes the first prompt left over within LATE_S after it (late)."""
    from sensorback.coach import run_coach

    def times(ep):
        return [e.t for e in run_coach(ep) if e.kind == "break_prompt"]

    want, got = times(label_epochs(labels, duration_s, epoch_s)), times(core_epochs)
    free, out, missed = list(got), Prompts(due=len(want)), []
    for w in want:
        near = [g for g in free if abs(g - w) <= PROMPT_TOLERANCE_S]
        if near:
            g = min(near, key=lambda g: abs(g - w))
            free.remove(g)
            out.on_time += 1
            out.worst = max(out.worst, abs(g - w))
        else:
            missed.append(w)
    for w in missed:
        later = [g for g in free if w < g <= w + LATE_S]
        if later:
            free.remove(later[0])
            out.late += 1
            out.worst_late = max(out.worst_late, later[0] - w)
    out.spurious = len(free)
    return out


def prompt_check(core_epochs, labels, duration_s: float, epoch_s: float) -> tuple[int, int, int, float]:
    """(expected prompts, of them given within PROMPT_TOLERANCE_S, prompts that are not (late ones
    count here), largest offset s of an on-time one): the strict reading the tests assert."""
    p = prompts(core_epochs, labels, duration_s, epoch_s)
    return p.due, p.on_time, p.late + p.spurious, p.worst


def run_sitstand_families(options: CoreOptions, seeds: range, rate_hz: float = 50.0) -> None:
    """The scenario families of posture changes no transition shows (issue 10): sit/stand
    balanced accuracy, lying recall, not_worn on worn time, and the break prompts against a perfect
    observer's."""
    print(f"\n## sit/stand scenario families, seeds {seeds.start}-{seeds.stop - 1}, {rate_hz:g} Hz")
    print(f"{'scenario':<26} {'epochs':>7} {'sit/stand BA mean':>17} {'worst':>6} {'lying rec':>9} "
          f"{'not_worn on worn':>16} {'prompts on time':>15} {'late (max s)':>12} {'spurious':>8} {'max offset s':>12}")
    for name in SITSTAND_FAMILIES:
        scores, lying, off_worn, total = [], [], 0, Prompts()
        scenario, variant = family(name)
        for seed in seeds:
            block, labels, truth, ep = simulated(scenario, seed, rate_hz, options, **variant)
            state = ep.state
            s = score(truth, state)
            scores.append(s)
            if not np.isnan(s.lying_recall):
                lying.append(s.lying_recall)
            worn = (truth != "") & (truth != "not_worn") & (truth != "no_data")
            off_worn += int((worn & (state == STATES.index("not_worn"))).sum())
            p = prompts(ep, labels, block.meta["sim"]["duration_s"], options.epoch_s)
            total = Prompts(total.due + p.due, total.on_time + p.on_time, total.late + p.late,
                            total.spurious + p.spurious, max(total.worst, p.worst), max(total.worst_late, p.worst_late))
        ba = np.array([s.sit_stand_ba for s in scores])
        n = sum(s.n for s in scores)
        print(f"{name:<26} {n:>7} {np.nanmean(ba):>17.3f} {np.nanmin(ba):>6.3f} "
              f"{fmt(np.mean(lying)) if lying else '  -  ':>9} {off_worn:>16} {f'{total.on_time}/{total.due}':>15} "
              f"{f'{total.late} ({total.worst_late:.0f})' if total.late else '0':>12} {total.spurious:>8} "
              f"{total.worst:>12.0f}")

# ------------------------------------------------------------------------- slouch (issue 9)

SIDE_BACK = ("lean_back", "lean_left", "lean_right", "lean_back_left", "lean_back_right")


@dataclass
class PostureScore:
    """Forward lean (labelled slouching) vs everything else seated (upright, back, side)."""

    ba: float
    recall: float             # forward leans called slouching
    specificity: float        # upright/back/side not called slouching
    back_side_slouch: float   # share of back/side lean epochs called slouching
    n: int


def posture_score(truth: np.ndarray, codes: np.ndarray, state: np.ndarray, keep: np.ndarray) -> PostureScore:
    slouching = STATES.index("slouching")
    fwd = keep & (truth == "slouching")
    other = keep & (truth == "sitting")
    away = keep & np.isin(np.char.rpartition(codes.astype(str), "_")[:, 0], SIDE_BACK)
    called = state == slouching
    rec = _ratio(int((fwd & called).sum()), int(fwd.sum()))
    spec = _ratio(int((other & ~called).sum()), int(other.sum()))
    return PostureScore(0.5 * (rec + spec), rec, spec, _ratio(int((away & called).sum()), int(away.sum())),
                        int((fwd | other).sum()))


def flexion_ceiling(flex: np.ndarray, truth: np.ndarray, keep: np.ndarray) -> tuple[float, float]:
    """(balanced accuracy, line in degrees) of the best line any forward-flexion rule could draw
    with this upright and forward direction, chosen knowing the labels: how far a slouch line
    alone could take this wearer (an epoch without a flexion counts as not slouching)."""
    fwd = np.sort(np.nan_to_num(flex[keep & (truth == "slouching")], nan=-np.inf))
    other = np.sort(np.nan_to_num(flex[keep & (truth == "sitting")], nan=-np.inf))
    if not fwd.size or not other.size:
        return float("nan"), float("nan")
    lines = np.unique(np.concatenate([fwd, other]))
    lines = lines[np.isfinite(lines)]
    if not lines.size:
        return float("nan"), float("nan")
    rec = 1.0 - np.searchsorted(fwd, lines, side="right") / fwd.size   # flexion beyond the line
    spec = np.searchsorted(other, lines, side="right") / other.size    # at or within it
    best = int(np.argmax(rec + spec))
    return float(0.5 * (rec[best] + spec[best])), float(lines[best])


def run_posture_sets(folder: Path) -> None:
    """Each converted wearer (posture_sets.py) analysed twice: with the calibration windows its
    windows.json marks (the first session's upright and slouch; those epochs are not scored in
    either mode) and fully automatic."""
    import json

    recs = sorted(folder.glob("*.csv.gz"))
    if not recs:
        sys.exit(f"accuracy.py: no converted posture recordings (*.csv.gz) in {folder}; see benchmarks/posture_sets.py")
    print(f"\n## sitting-posture sets in {folder}: forward lean (slouch) vs upright, backward and sideways leans")
    print(f"{'wearer':<24} {'mode':<12} {'epochs':>6} {'BA':>6} {'fwd recall':>10} {'others ok':>9} "
          f"{'back/side called slouch':>23}  slouch line / forward")
    pooled = {"calibration": [], "automatic": []}
    for rec in recs:
        lab = rec.with_name(rec.name.replace(".csv.gz", ".labels.csv"))
        win = json.loads(rec.with_name(rec.name.replace(".csv.gz", ".windows.json")).read_text())
        try:
            block = load_csv(rec)
        except SensorbackError as e:  # e.g. a rate sensorback refuses: said in the table, not scored
            print(f"{rec.name.split('.')[0]:<24} not read: {e}")
            continue
        n = int(np.floor(block.t[-1])) + 1
        truth = epoch_truth(lab, n, 1.0)
        codes = epoch_truth(lab, n, 1.0, "source_code")
        k = np.arange(n)
        keep = np.ones(n, bool)
        for a, b in win.values():
            keep &= ~((k + 1 > a) & (k < b))
        modes = {"calibration": CoreOptions(reference_window=tuple(win["upright"]), forward_window=tuple(win["slouch"])),
                 "automatic": CoreOptions()}
        depth = []
        for mode, opts in modes.items():
            res = analyze(block, opts)
            ep = res.epochs
            k0 = int(round(ep.t_start[0]))
            state = np.full(n, STATES.index("no_data"), np.int8)
            state[k0:k0 + len(ep)] = ep.state[: n - k0]
            flex = np.full(n, np.nan, np.float32)
            flex[k0:k0 + len(ep)] = ep.flexion_deg[: n - k0]
            sc = posture_score(truth, codes, state, keep)
            pooled[mode].append((truth, codes, state, keep))
            rule = res.calibration.slouch_rule()
            line = "none (forward unknown)" if rule.line_deg is None else f"{rule.line_deg:.0f} deg"
            if mode == "calibration":
                depth = [f"{np.nanmedian(flex[keep & (truth == 'slouching')]):.0f}",
                         *flexion_ceiling(flex, truth, keep)]
            print(f"{rec.name.split('.')[0]:<24} {mode:<12} {sc.n:>6} {fmt(sc.ba):>6} {fmt(sc.recall):>10} "
                  f"{fmt(sc.specificity):>9} {fmt(sc.back_side_slouch):>23}  {line} / "
                  f"{res.calibration.reference.forward_source[:60]}")
        print(f"{'':<24} median slouch depth from the calibrated upright: {depth[0]} deg; the best a flexion "
              f"line alone could do here, chosen knowing the labels: BA {fmt(depth[1])} at {depth[2]:.1f} deg")
    for mode, parts in pooled.items():
        cat = [np.concatenate(x) for x in zip(*parts)]
        sc = posture_score(*cat)
        print(f"{'POOLED':<24} {mode:<12} {sc.n:>6} {fmt(sc.ba):>6} {fmt(sc.recall):>10} {fmt(sc.specificity):>9} "
              f"{fmt(sc.back_side_slouch):>23}")


def run_slouch_families(seeds: range, rate_hz: float = 50.0) -> None:
    """The simulator's personal-slouch wearers (slouch-mild: usual slouch 6-12 deg; slouch-deep:
    25-40), each day scored with its guided calibration's windows and fully automatic. Slouch
    F1 over the labelled seated epochs; back/side: share of backward and sideways lean epochs
    called slouching."""
    import tempfile

    from sensorback.sim import simulate, write_labels

    print(f"\n## personal slouches (simulator), seeds {seeds.start}-{seeds.stop - 1}, {rate_hz:g} Hz")
    print(f"{'scenario':<14} {'mode':<12} {'epochs':>7} {'slouch F1 mean':>14} {'worst':>6} {'epoch acc mean':>14} "
          f"{'back/side called slouch':>23}")
    for name in ("slouch-mild", "slouch-deep"):
        rows = {"calibration": [], "automatic": []}
        for seed in seeds:
            block, labels = simulate(name, seed=seed, rate_hz=rate_hz)
            with tempfile.TemporaryDirectory() as d:
                lp = Path(d) / "labels.csv"
                write_labels(labels, lp)
                for mode, opts in (("calibration", told_windows(block, CoreOptions(), stand=False)),
                                   ("automatic", CoreOptions())):
                    truth, state, k0 = evaluate(Path(name), lp, opts, block=block, with_first=True)
                    codes = epoch_truth(lp, k0 + len(state), 1.0, "source_code")[k0:]
                    rows[mode].append((score(truth, state), posture_score(truth, codes, state, truth != "")))
        for mode, got in rows.items():
            f1 = np.array([s.slouch_f1 for s, _ in got])
            acc = np.array([s.epoch_acc for s, _ in got])
            away = np.array([p.back_side_slouch for _, p in got])
            print(f"{name:<14} {mode:<12} {sum(s.n for s, _ in got):>7} {np.nanmean(f1):>14.3f} {np.nanmin(f1):>6.3f} "
                  f"{acc.mean():>14.3f} {np.nanmean(away):>23.3f}")


if __name__ == "__main__":
    main()
