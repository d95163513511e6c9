"""Convert public labelled sitting-posture recordings into per-wearer recordings accuracy.py scores.

    python benchmarks/posture_sets.py SRC OUT_DIR [--set smartposture|gotyourback|sittingvest]
    python benchmarks/accuracy.py --posture-only --no-sim --posture-dir OUT_DIR

Every set is a copy the user fetched; none states a licence, so nothing of them is committed and
the converted files stay wherever OUT_DIR is (benchmarks/README.md, "Sitting-posture sets").

smartposture (github.com/breejesh/SmartPosture, SRC = ML/Data): a phone strapped to the chest,
phyphox exports (.xls, some of them .xlsx inside), two wearers (file names and folders say which:
Breejesh "B", Japheth "J"), one posture per file of 17-42 s: Straight, Slouch, LeanBack,
LeanLeft, LeanRight, each in several sessions (Test/<wearer>/ and Train/<posture>/<posture><B|J><n>).
Per wearer, one recording: the files one after another with a GAP_S gap (no samples) between
them, session by session; per file its steady part (the seconds whose mean direction stays
within 6 degrees of the file's median and whose SD is under 0.1 g: the phone was handled to
start and stop each recording) is labelled, the handling in between `transition`. Calibration
windows: the steady parts of the first session's Straight and Slouch files (those two files are
then not scored). Needs xlrd (.xls) and openpyxl (.xlsx).

gotyourback (github.com/OleJonas/Got-Your-Back, SRC = the repository or its data/ folder): LP-Research
IMUs (g, deg/s) on up to three places (sensor 1 lower neck, 2 lumbar spine, 3 right shoulder),
wearers 001-010, each in a training session (about 2-3 min per posture) and a test session
(8-25 s per posture), nine seated postures one after another as annotated in
data/annotation/{training,testing}/<recording>.txt (seconds from the first sample): rett
(straight), fram (forward), bak (back), venstre/hoyre (left/right) and the four diagonals.
One recording per session, from one sensor (--sensor, default 1: the upper back); fram-venstre
and fram-hoyre (forward and sideways) are left unlabelled, being neither a plain forward lean nor
not one; the time between two annotated postures is `transition`. Calibration windows: the first
half of the session's rett and fram (their second halves are scored).

sittingvest (github.com/SiruiLuo/casa0018-Intelligent-Sitting-Posture-Detector, SRC = the folder
Dataset/intelligent-sitting-posture-detector-export.zip unpacks to): an Arduino Nano 33 BLE in a
vest, one wearer and one board, an Edge Impulse export (info.labels + CBOR samples, m/s2 at a
nominal 100 Hz) of 2-s clips labelled Upright, Bad (going into and holding a forward slouch),
Stand_Up and Sit_Down (the transitions, 2 s each). One recording: the clips in the order Edge
Impulse took them in (their ids), each starting on a whole second, VEST_GAP_S apart; Upright
`sitting`, Bad `slouching`, Stand_Up/Sit_Down `transition`. Calibration windows: the first
VEST_CAL_CLIPS Upright and Bad clips. Needs cbor2.

Per recording it writes
- NAME.csv.gz: t,ax,ay,az (g); a sensor faster than 50 Hz averaged into 20 ms bins (as a clip-on
  sensor with an anti-alias filter would give it), a slower one as it was sampled;
- NAME.labels.csv: t_start,t_end,label,source_code; labels `sitting` (codes straight, lean_back,
  lean_left, lean_right, lean_back_left, lean_back_right), `slouching` (code slouch) or
  `transition`, each code suffixed with the session;
- NAME.windows.json: {"upright": [a, b], "slouch": [c, d]} for the "with calibration" score
  (accuracy.py scores no epoch inside them).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import sys
from pathlib import Path

import numpy as np

POSTURES = {"Straight": ("sitting", "straight"), "Slouch": ("slouching", "slouch"),
            "LeanBack": ("sitting", "lean_back"), "LeanLeft": ("sitting", "lean_left"),
            "LeanRight": ("sitting", "lean_right")}
WEARERS = {"B": "Breejesh", "J": "Japheth"}
OUT_HZ = 50.0
GAP_S = 5.0
STEADY_DEG = 6.0
STEADY_SD_G = 0.1
G = 9.80665

# Got-Your-Back's Norwegian tokens; None: left unlabelled (a forward lean with a sideways one).
GYB_POSTURES = {"rett": ("sitting", "straight"), "fram": ("slouching", "slouch"),
                "bak": ("sitting", "lean_back"), "venstre": ("sitting", "lean_left"),
                "hoyre": ("sitting", "lean_right"), "bak-venstre": ("sitting", "lean_back_left"),
                "bak-hoyre": ("sitting", "lean_back_right"), "fram-venstre": None, "fram-hoyre": None}
GYB_SENSORS = {1: "lower neck", 2: "lumbar spine", 3: "right shoulder"}
GYB_NAME = re.compile(r"(\d{3})_(train|test)_(\d)_(\d{2})(\d{2})(\d{2})")

VEST_LABELS = {"Upright": ("sitting", "straight"), "Bad": ("slouching", "slouch"),
               "Stand_Up": ("transition", "stand_up"), "Sit_Down": ("transition", "sit_down")}
VEST_GAP_S = 1.0
VEST_CAL_CLIPS = 5


def read_phyphox(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(t seconds, acc in g) from the 'Accelerometer' sheet of a phyphox .xls/.xlsx export."""
    data = path.read_bytes()
    if not data:
        raise ValueError("empty file")
    if data[:2] == b"PK":
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        rows = list(book["Accelerometer"].iter_rows(values_only=True))
    else:
        import xlrd

        sheet = xlrd.open_workbook(file_contents=data).sheet_by_name("Accelerometer")
        rows = [sheet.row_values(r) for r in range(sheet.nrows)]
    a = np.array([r[:4] for r in rows[1:] if r and r[0] not in (None, "")], float)
    return a[:, 0], a[:, 1:4] / G


def to_50hz(t: np.ndarray, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Samples averaged into 20 ms bins from the first one (a slower sensor keeps one per bin)."""
    k = np.floor((t - t[0]) * OUT_HZ).astype(np.int64)
    counts = np.bincount(k)
    sums = np.stack([np.bincount(k, acc[:, c]) for c in range(3)], axis=1)
    have = counts > 0
    return (np.flatnonzero(have) + 0.5) / OUT_HZ, sums[have] / counts[have, None]


def steady_span(t: np.ndarray, acc: np.ndarray) -> tuple[float, float] | None:
    """First and last second of the file's steady part (see the module docstring), file time."""
    sec = np.floor(t).astype(np.int64)
    n = int(sec[-1]) + 1
    mean = np.stack([np.bincount(sec, acc[:, c], minlength=n) for c in range(3)], 1)
    cnt = np.bincount(sec, minlength=n)
    sq = np.stack([np.bincount(sec, acc[:, c] ** 2, minlength=n) for c in range(3)], 1)
    ok = cnt > 10
    mean[ok] /= cnt[ok, None]
    sd = np.sqrt(np.maximum(sq[ok] / cnt[ok, None] - mean[ok] ** 2, 0).sum(1))
    g = mean[ok] / np.linalg.norm(mean[ok], axis=1, keepdims=True)
    med = np.median(g, axis=0)
    med /= np.linalg.norm(med)
    ang = np.degrees(np.arccos(np.clip(g @ med, -1, 1)))
    steady = np.flatnonzero(ok)[(ang < STEADY_DEG) & (sd < STEADY_SD_G)]
    if steady.size < 5:
        return None
    return float(steady[0]), float(steady[-1] + 1)


def write_recording(dst: Path, name: str, t: np.ndarray, acc: np.ndarray, labels: list, windows: dict) -> None:
    """NAME.csv.gz, NAME.labels.csv (rows (start, end, label, code)) and NAME.windows.json in dst."""
    with gzip.open(dst / f"{name}.csv.gz", "wt", newline="") as fh:
        fh.write("t,ax,ay,az\n")
        for row in zip(t, acc[:, 0], acc[:, 1], acc[:, 2]):
            fh.write(f"{row[0]:.3f},{row[1]:.5f},{row[2]:.5f},{row[3]:.5f}\n")
    with open(dst / f"{name}.labels.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["t_start", "t_end", "label", "source_code"])
        for a, b, lab, code in labels:
            if b > a:
                w.writerow([f"{a:.3f}", f"{b:.3f}", lab, code])
    (dst / f"{name}.windows.json").write_text(json.dumps(windows) + "\n")
    print(f"{name}: {t[-1] / 60:.1f} min; calibration windows {windows}")


# ------------------------------------------------------------------------------- SmartPosture

def sessions(src: Path) -> dict[str, list[tuple[str, str, Path]]]:
    """wearer -> [(session, posture, file)] in session order (Train 1, 2, ..., then Test)."""
    out: dict[str, list] = {}
    for f in sorted(src.rglob("*.xls*")):
        m = re.fullmatch(r"(Straight|Slouch|LeanBack|LeanLeft|LeanRight)([BJ])(\d+)", f.stem)
        if m:
            posture, w, n = m.group(1), m.group(2), m.group(3)
            session = f"train{n}"
        elif f.stem in POSTURES and f.parent.name in WEARERS.values():
            posture, w = f.stem, {v: k for k, v in WEARERS.items()}[f.parent.name]
            session = "test"
        else:
            continue
        out.setdefault(WEARERS[w], []).append((session, posture, f))
    order = {p: i for i, p in enumerate(POSTURES)}
    for w in out:
        out[w].sort(key=lambda x: (x[0] == "test", x[0], order[x[1]]))
    return out


def convert(src: Path, dst: Path) -> list[str]:
    """SmartPosture: one recording per wearer (see the module docstring)."""
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for wearer, files in sessions(src).items():
        ts, accs, labels, windows, t0 = [], [], [], {}, 0.0
        first_session = files[0][0]
        for session, posture, f in files:
            try:
                t, acc = read_phyphox(f)
            except Exception as e:  # noqa: BLE001 - a broken or missing file is reported and skipped
                print(f"  skipped {f}: {e}", file=sys.stderr)
                continue
            t50, a50 = to_50hz(t, acc)
            span = steady_span(t50, a50)
            ts.append(t50 + t0)
            accs.append(a50)
            end = t0 + float(t50[-1]) + 1.0 / OUT_HZ
            if span is not None:
                a, b = t0 + span[0], t0 + span[1]
                labels.append((t0, a, "transition", "handling"))
                label, code = POSTURES[posture]
                labels.append((a, b, label, f"{code}_{session}"))
                labels.append((b, end, "transition", "handling"))
                if session == first_session and posture in ("Straight", "Slouch"):
                    windows["upright" if posture == "Straight" else "slouch"] = [round(a, 3), round(b, 3)]
            t0 = end + GAP_S
        if not ts:
            continue
        name = f"smartposture_{wearer.lower()}"
        write_recording(dst, name, np.concatenate(ts), np.concatenate(accs), labels, windows)
        written.append(name)
    return written


# ------------------------------------------------------------------------------- Got-Your-Back

def read_gyb(path: Path, sensor: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(t from the first sample, acc in g) of one sensor of a Got-Your-Back CSV (OpenZen export:
    'SensorId, TimeStamp (s), ..., AccX (g), ...'; early one-sensor files have no SensorId, and
    are taken as sensor 1). None when that sensor is not in the file."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        head = [h.strip() for h in next(reader)]
        rows = [r for r in reader if r]
    col = {h: i for i, h in enumerate(head)}
    if "SensorId" not in col and sensor != 1:
        return None
    data = np.array([[float(r[col[c]]) for c in ("TimeStamp (s)", "AccX (g)", "AccY (g)", "AccZ (g)")]
                     for r in rows if "SensorId" not in col or int(float(r[col["SensorId"]])) == sensor])
    if data.shape[0] < 2:
        return None
    t = data[:, 0] - data[0, 0]
    return t, data[:, 1:4]


def read_gyb_annotation(path: Path) -> list[tuple[float, float, str]]:
    """[(start s, end s, token)] of an annotation file ('ID;start;end;token')."""
    out = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            out.append((float(row["start"]), float(row["end"]), row["token"].strip()))
    return out


def gyb_recordings(src: Path) -> list[tuple[Path, Path, re.Match]]:
    """(data CSV, annotation, name match) of every numbered recording under src with its annotation."""
    data = src / "data" if (src / "data").is_dir() else src
    found = []
    for kind, folder in (("train", "training"), ("test", "testing")):
        for f in sorted((data / f"{kind}_data").glob("*.csv")):
            m = GYB_NAME.fullmatch(f.stem)
            ann = data / "annotation" / folder / f"{f.stem}.txt"
            if m and ann.is_file():
                found.append((f, ann, m))
    return found


def convert_gyb(src: Path, dst: Path, sensor: int = 1) -> list[str]:
    """Got-Your-Back: one recording per session and sensor (see the module docstring)."""
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for f, ann, m in gyb_recordings(src):
        wearer, kind, day = m.group(1), m.group(2), f"{m.group(4)}{m.group(5)}{m.group(6)}"
        try:
            got = read_gyb(f, sensor)
        except (OSError, ValueError, KeyError, StopIteration, IndexError) as e:
            print(f"  skipped {f}: {e}", file=sys.stderr)
            continue
        if got is None:
            print(f"  skipped {f}: no sensor {sensor}", file=sys.stderr)
            continue
        t, acc = got
        if np.median(np.diff(t)) < 1.0 / OUT_HZ:
            t, acc = to_50hz(t, acc)
        session = f"{kind}{day}"
        labels, windows, prev_end = [], {}, None
        for a, b, token in read_gyb_annotation(ann):
            if prev_end is not None:
                labels.append((prev_end, a, "transition", "between"))
            prev_end = b
            posture = GYB_POSTURES.get(token)
            if posture is None:
                continue
            labels.append((a, b, posture[0], f"{posture[1]}_{session}"))
            if token in ("rett", "fram"):
                windows["upright" if token == "rett" else "slouch"] = [round(a, 3), round((a + b) / 2, 3)]
        place = "" if sensor == 1 else f"_s{sensor}"
        name = f"gyb{wearer}_{kind}_{day}{place}"
        if len(windows) < 2:
            print(f"  skipped {f}: no annotated rett and fram to calibrate with", file=sys.stderr)
            continue
        write_recording(dst, name, t, acc, labels, windows)
        written.append(name)
    return written


# ------------------------------------------------------------------- the vest (Edge Impulse export)

def read_ei_clip(path: Path) -> tuple[float, np.ndarray]:
    """(sample interval s, acc in g) of one Edge Impulse acquisition file (CBOR, accX/Y/Z in m/s2)."""
    import cbor2

    payload = cbor2.loads(path.read_bytes())["payload"]
    names = [s["name"] for s in payload["sensors"]]
    cols = [names.index(c) for c in ("accX", "accY", "accZ")]
    values = np.asarray(payload["values"], float)[:, cols]
    return float(payload["interval_ms"]) / 1000.0, values / G


def convert_vest(src: Path, dst: Path) -> list[str]:
    """The casa0018 vest: one recording of every clip (see the module docstring)."""
    info = src / "info.labels"
    if not info.is_file():
        found = sorted(src.rglob("info.labels"))
        info = next((p for p in found if (p.parent / "training").is_dir()), None)
        if info is None:
            return []
    clips = []
    for entry in json.loads(info.read_text())["files"]:
        label = entry["label"]["label"]
        if label not in VEST_LABELS:
            continue
        clip_id = Path(entry["path"]).name.split(".")[-3]  # Label[.Name].<id>.ingestion-....cbor
        clips.append((clip_id, label, entry["category"], info.parent / entry["path"]))
    clips.sort()
    dst.mkdir(parents=True, exist_ok=True)
    ts, accs, labels, t0 = [], [], [], 0.0
    cal: dict[str, list] = {"Upright": [], "Bad": []}
    for clip_id, label, category, path in clips:
        dt, acc = read_ei_clip(path)
        t50, a50 = to_50hz(np.arange(acc.shape[0]) * dt, acc)
        ts.append(t50 + t0)
        accs.append(a50)
        end = t0 + acc.shape[0] * dt
        lab, code = VEST_LABELS[label]
        labels.append((t0, end, lab, f"{code}_{category}"))
        if label in cal and len(cal[label]) < VEST_CAL_CLIPS:
            cal[label].append((t0, end))
        t0 = float(np.ceil(end + VEST_GAP_S))
    if not ts:
        return []
    windows = {key: [round(cal[label][0][0], 3), round(cal[label][-1][1], 3)]
               for key, label in (("upright", "Upright"), ("slouch", "Bad")) if cal[label]}
    write_recording(dst, "vest_luo", np.concatenate(ts), np.concatenate(accs), labels, windows)
    return ["vest_luo"]


SETS = {"smartposture": "SmartPosture's ML/Data folder (or any folder above it)",
        "gotyourback": "the Got-Your-Back repository (or its data/ folder)",
        "sittingvest": "the folder the casa0018 vest's Edge Impulse export unpacks to"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="the set's files: " + "; ".join(f"{k}: {v}" for k, v in SETS.items()))
    ap.add_argument("dst", type=Path, help="where to write the per-wearer recordings")
    ap.add_argument("--set", choices=sorted(SETS), default="smartposture", help="which set SRC holds (default smartposture)")
    ap.add_argument("--sensor", type=int, choices=sorted(GYB_SENSORS), default=1,
                    help="gotyourback: which sensor (" + ", ".join(f"{k} {v}" for k, v in GYB_SENSORS.items())
                         + "; default 1)")
    args = ap.parse_args()
    if not args.src.is_dir():
        sys.exit(f"posture_sets.py: {args.src} is not a folder")
    if args.set == "gotyourback":
        written = convert_gyb(args.src, args.dst, args.sensor)
    elif args.set == "sittingvest":
        written = convert_vest(args.src, args.dst)
    else:
        written = convert(args.src, args.dst)
    if not written:
        sys.exit(f"posture_sets.py: no {args.set} files found under {args.src}")


if __name__ == "__main__":
    main()
