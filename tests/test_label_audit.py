"""benchmarks/label_audit.py on synthetic recordings whose label errors are known by construction.

The benchmark scripts are not a package; like they do among themselves, the test puts
benchmarks/ on sys.path and imports the modules by name. No file outside tmp_path is read.
"""

import gzip
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import accuracy  # noqa: E402
import label_audit  # noqa: E402

RATE = 50.0
DURATION = 200.0

# label rows: (t_start, t_end, label)
LABELS = [
    (0.0, 60.0, "moving"),
    (60.0, 62.0, "transition"),
    (62.0, 120.0, "standing"),
    (120.0, 180.0, "sitting"),
    # 180-200 s unlabelled
]
# what the wearer really did: (t_start, t_end, kind); still everywhere else
ACTIVITY = [
    (0.0, 20.0, "walk"),
    # 20-35 s: 15 s perfectly still inside the "moving" row -> 15 epochs certainly still
    (35.0, 45.0, "walk"),
    # 45-51 s: 6 s still inside the "moving" row: too short to count
    (51.0, 60.0, "walk"),
    (80.0, 88.0, "walk"),  # 8 s of stepping inside the "standing" row -> 8 epochs certainly walking
    (130.0, 134.0, "walk"),  # 4 s of stepping inside "sitting": too short to count
    (150.0, 158.0, "noise"),  # 8 s of strong but irregular motion inside "sitting": not walking
    (185.0, 195.0, "walk"),  # unlabelled: never counted
]
MOVING_EPOCHS = 60  # 0-60 s
STILL_EPOCHS = 58 + 60  # standing 62-120 s, sitting 120-180 s
STILL_IN_MOVING = 15
WALKING_IN_STILL = 8


def synthetic(activity=ACTIVITY, rate=RATE, duration=DURATION):
    """Chest sensor upright (gravity on +x); walking bounces |a| at 1.8 steps/s with a sway at the
    stride rhythm; noise is white, 0.2 g on each axis (seeded)."""
    t = np.arange(round(duration * rate)) / rate
    acc = np.zeros((t.size, 3))
    acc[:, 0] = 1.0
    rng = np.random.default_rng(7)
    for a, b, kind in activity:
        sel = (t >= a) & (t < b)
        ts = t[sel]
        if kind == "walk":
            acc[sel, 0] += 0.3 * np.sin(2 * np.pi * 1.8 * ts)
            acc[sel, 1] += 0.1 * np.sin(2 * np.pi * 0.9 * ts)
            acc[sel, 2] += 0.15 * np.sin(2 * np.pi * 1.8 * ts + 1.0)
        else:
            acc[sel] += rng.normal(0.0, 0.2, (ts.size, 3))
    return t, acc


def write_labels(path: Path, rows=LABELS) -> Path:
    with open(path, "w") as f:
        f.write("t_start,t_end,label,source_code\n")
        f.writelines(f"{a:.3f},{b:.3f},{lab},0\n" for a, b, lab in rows)
    return path


def epochs_of(flag: np.ndarray) -> set:
    return set(np.flatnonzero(flag).tolist())


def test_counts_and_ceiling_known_by_construction(tmp_path):
    t, acc = synthetic()
    n = int(DURATION)
    truth = accuracy.epoch_truth(write_labels(tmp_path / "x.labels.csv"), n, 1.0)
    a = label_audit.audit(t, acc, truth, 1.0)
    assert (a.moving, a.still) == (MOVING_EPOCHS, STILL_EPOCHS)
    assert a.still_in_moving == STILL_IN_MOVING
    assert a.walking_in_still == WALKING_IN_STILL
    expected = 0.5 * ((1 - 15 / 60) + (1 - 8 / 118))
    assert a.ceiling == pytest.approx(expected, abs=1e-12)
    assert round(a.ceiling, 4) == 0.8411


def test_flags_follow_the_signal_not_the_labels(tmp_path):
    t, acc = synthetic()
    truth = accuracy.epoch_truth(write_labels(tmp_path / "x.labels.csv"), int(DURATION), 1.0)
    a = label_audit.audit(t, acc, truth)
    walking = set(range(20)) | set(range(35, 45)) | set(range(51, 60)) | set(range(80, 88)) | set(range(185, 195))
    assert epochs_of(a.certainly_walking) == walking  # the 4-s burst and the irregular noise are not walking
    still = set(range(20, 35)) | set(range(60, 80)) | set(range(88, 130)) | set(range(134, 150)) | set(range(158, 185))
    assert epochs_of(a.certainly_still) == still  # 45-51 s and 195-200 s are too short
    # Other labels on the same signal change the counts, never the flags.
    b = label_audit.audit(t, acc, np.full(int(DURATION), "moving", dtype=object))
    assert np.array_equal(b.certainly_walking, a.certainly_walking)
    assert np.array_equal(b.certainly_still, a.certainly_still)
    assert (b.moving, b.still_in_moving, b.still, b.walking_in_still) == (200, len(still), 0, 0)
    assert np.isnan(b.ceiling)  # no still-labelled epochs: no balanced accuracy


def test_noise_is_strong_but_not_periodic():
    t, acc = synthetic()
    a = label_audit.audit(t, acc, np.full(int(DURATION), "", dtype=object))
    noise = slice(151, 157)
    assert np.all(a.sd[noise] > label_audit.WALK_SD_G)
    assert np.all(a.periodicity[noise] < label_audit.WALK_PERIODICITY)
    steps = slice(81, 87)
    assert np.all(a.periodicity[steps] > 0.7)


def test_a_gap_splits_a_still_run(tmp_path):
    """15 s still inside 'moving', but with 3 s of no samples in the middle: two 6-s runs, neither counts."""
    t, acc = synthetic()
    keep = ~((t >= 26.0) & (t < 29.0))
    truth = accuracy.epoch_truth(write_labels(tmp_path / "x.labels.csv"), int(DURATION), 1.0)
    a = label_audit.audit(t[keep], acc[keep], truth)
    assert np.all(np.isnan(a.sd[26:29]))
    assert a.still_in_moving == 0
    assert a.moving == MOVING_EPOCHS  # the gap's epochs are still labelled, and so still scored


def test_pool_adds_counts():
    p = label_audit.pool([label_audit.Audit(100, 200, 10, 4), label_audit.Audit(50, 0, 5, 0)])
    assert (p.moving, p.still, p.still_in_moving, p.walking_in_still) == (150, 200, 15, 4)
    assert p.ceiling == pytest.approx(0.5 * ((1 - 15 / 150) + (1 - 4 / 200)))
    assert np.isnan(label_audit.Audit(0, 10, 0, 0).ceiling)


def test_accuracy_prints_the_ceiling_per_recording_and_pooled(tmp_path, capsys):
    t, acc = synthetic()
    rec = tmp_path / "synth.csv.gz"
    with gzip.open(rec, "wt") as f:
        f.write("t,ax,ay,az\n")
        f.writelines(f"{ti:.4f},{x:.4f},{y:.4f},{z:.4f}\n" for ti, x, y, z in zip(t, *acc.T))
    lab = write_labels(tmp_path / "synth.labels.csv")
    out = accuracy.run_dataset("synthetic", [(rec, lab)], accuracy.CoreOptions())
    assert out["pooled_audit"].still_in_moving == STILL_IN_MOVING
    assert out["pooled_audit"].walking_in_still == WALKING_IN_STILL
    lines = capsys.readouterr().out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("label audit"))
    assert lines[head + 1].rstrip().endswith("move BA ceiling")
    for name in ("synth", "POOLED"):
        row = next(line for line in lines[head:] if line.startswith(name)).split()
        assert row[1:5] == ["60", "15", "118", "8"]
        assert row[-1] == "0.841"
    # The core's own errors, judged by each epoch's own second: the planted still stretch inside
    # the walk is quiet, the planted walking inside the stand is stepping.
    err = out["errors"]
    assert STILL_IN_MOVING <= err.missed_quiet <= err.missed
    assert WALKING_IN_STILL <= err.false_stepping <= err.false
    assert err.best_if_rest_fixed == pytest.approx(0.5 * ((1 - err.missed_quiet / 60) + (1 - err.false_stepping / 118)))
    assert any(line.startswith("moving-vs-still errors") for line in lines)
