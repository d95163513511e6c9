"""benchmarks/posture_sets.py (the Got-Your-Back reader) and accuracy.py --posture-only on a
synthetic session written the way that set's recording app writes one.

The benchmark scripts are not a package; as tests/test_label_audit.py does, the test puts
benchmarks/ on sys.path and imports them by name. No file outside tmp_path is read.
"""

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import accuracy  # noqa: E402
import posture_sets  # noqa: E402

RATE = 10.0
# (start, end, token, forward tilt in degrees); the gaps between are the moves from one to the next
POSTURES = [(0.0, 40.0, "rett", 0.0), (42.0, 82.0, "fram", 30.0), (84.0, 104.0, "fram-hoyre", 20.0),
            (106.0, 146.0, "bak", -20.0)]


def tilt(t: float) -> float:
    """The trunk's forward tilt at time t: each posture's, moving linearly between them."""
    for (a, b, _, deg), nxt in zip(POSTURES, POSTURES[1:] + [None]):
        if t < b or nxt is None:
            return deg
        if t < nxt[0]:
            return deg + (nxt[3] - deg) * (t - b) / (nxt[0] - b)
    return POSTURES[-1][3]


def write_session(root: Path, stem: str = "001_test_3_010121") -> None:
    """data/test_data/STEM.csv (sensors 1 and 2 interleaved, as the OpenZen export) and its annotation."""
    rng = np.random.default_rng(3)
    (root / "data" / "test_data").mkdir(parents=True)
    (root / "data" / "annotation" / "testing").mkdir(parents=True)
    with open(root / "data" / "test_data" / f"{stem}.csv", "w", newline="") as fh:
        fh.write("SensorId, TimeStamp (s), FrameNumber, AccX (g), AccY (g), AccZ (g), GyroX (deg/s)\n")
        for i in range(int(POSTURES[-1][1] * RATE)):
            t = i / RATE
            th = np.radians(tilt(t))
            for sensor in (1, 2):
                a = np.array([0.0, -np.cos(th), -np.sin(th)]) + rng.normal(0, 0.003, 3)
                fh.write(f"{sensor}, {t:.4f}, {i}, {a[0]:.6f}, {a[1]:.6f}, {a[2]:.6f}, 0.0\n")
    with open(root / "data" / "annotation" / "testing" / f"{stem}.txt", "w") as fh:
        fh.write("ID;start;end;token\n")
        for k, (a, b, token, _) in enumerate(POSTURES):
            fh.write(f"f0t0e{k};{a:g};{b:g};{token}\n")


def test_got_your_back_session_becomes_a_scored_recording(tmp_path, monkeypatch, capsys):
    write_session(tmp_path / "src")
    out = tmp_path / "converted"
    assert posture_sets.convert_gyb(tmp_path / "src", out) == ["gyb001_test_010121"]
    assert posture_sets.convert_gyb(tmp_path / "src" / "data", out, sensor=2) == ["gyb001_test_010121_s2"]

    with open(out / "gyb001_test_010121.labels.csv", newline="") as fh:
        rows = [(float(r["t_start"]), float(r["t_end"]), r["label"], r["source_code"]) for r in csv.DictReader(fh)]
    assert [(r[2], r[3]) for r in rows] == [
        ("sitting", "straight_test010121"), ("transition", "between"), ("slouching", "slouch_test010121"),
        ("transition", "between"), ("transition", "between"), ("sitting", "lean_back_test010121")]
    # the forward-and-sideways lean is neither slouch nor not-slouch: no row covers it
    assert not any(a < 100.0 < b for a, b, _, _ in rows)
    # calibration windows: the first half of the upright and of the forward lean
    win = json.loads((out / "gyb001_test_010121.windows.json").read_text())
    assert win == {"upright": [0.0, 20.0], "slouch": [42.0, 62.0]}

    monkeypatch.setattr(sys, "argv", ["accuracy.py", "--posture-only", "--no-sim", "--posture-dir", str(out),
                                      "--data", str(tmp_path / "no-such-folder")])
    accuracy.main()
    text = capsys.readouterr().out
    assert "## sitting-posture sets" in text
    for name in ("gyb001_test_010121 ", "gyb001_test_010121_s2"):
        assert any(line.startswith(name) and " calibration " in line for line in text.splitlines())
        assert any(line.startswith(name) and " automatic " in line for line in text.splitlines())
    assert "POOLED" in text
    assert "label audit" not in text  # no dataset of --data was scored (nor looked for)


def test_posture_only_needs_a_posture_dir(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["accuracy.py", "--posture-only"])
    with pytest.raises(SystemExit) as done:
        accuracy.main()
    assert "--posture-only needs --posture-dir" in str(done.value)


def test_flexion_ceiling_is_the_best_line_knowing_the_labels():
    """The ceiling a flexion line alone could reach: a slouch label held at upright (as the vest's
    clips are, a quarter of them) caps it below 1, whatever the line."""
    truth = np.array(["slouching"] * 4 + ["sitting"] * 4 + [""], dtype=object)
    keep = np.ones(9, bool)
    flex = np.array([20.0, 15.0, 12.0, -1.0, 0.0, 1.0, 2.0, np.nan, 30.0], np.float32)
    ba, line = accuracy.flexion_ceiling(flex, truth, keep)
    # any line in [2, 12): 3 of 4 slouches beyond it, every upright (NaN counts as not slouching) within
    assert ba == pytest.approx(0.5 * (3 / 4 + 1.0))
    assert 2.0 <= line < 12.0
    # separable labels reach 1; no slouch labelled: nothing to say
    flex[3] = 10.0
    assert accuracy.flexion_ceiling(flex, truth, keep)[0] == pytest.approx(1.0)
    assert np.isnan(accuracy.flexion_ceiling(flex, truth, keep & (truth != "slouching"))[0])
