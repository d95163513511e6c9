"""Convert public labelled sitting-posture recordings into per-wearer recordings accuracy.py scores.

    python benchmarks/posture_sets.py SMARTPOSTURE_DIR OUT_DIR
    python benchmarks/accuracy.py --posture-dir OUT_DIR --no-sim

SmartPosture (github.com/breejesh/SmartPosture, ML/Data): a phone strapped to the chest, phyphox
exports (.xls, some of them .xlsx inside), two wearers (file names and folders say which: Breejesh
"B", Japheth "J"), one posture per file of 17-42 s: Straight, Slouch, LeanBack, LeanLeft,
LeanRight, each in several sessions (Test/<wearer>/ and Train/<posture>/<posture><B|J><n>).
Their licence is not stated: this script reads a copy the user fetched; nothing of it is
committed, and the converted files stay wherever OUT_DIR is.

Per wearer it writes
- NAME.csv.gz: t,ax,ay,az (g), the accelerometer averaged into 20 ms bins (50 Hz, as a clip-on
  sensor with an anti-alias filter would give it), the files one after another with a 5 s gap
  (no samples) between them, session by session;
- NAME.labels.csv: per file, its steady part (the seconds whose mean direction stays within
  6 degrees of the file's median and whose SD is under 0.1 g: the phone was handled to start and
  stop each recording) labelled `slouching` (code slouch) or `sitting` (codes straight,
  lean_back, lean_left, lean_right); the handling in between `transition`;
- NAME.windows.json: {"upright": [a, b], "slouch": [c, d]}, the steady parts of the first
  session's Straight and Slouch files, for the "with calibration" score (those two files are
  then not scored).

Needs xlrd (.xls) and openpyxl (.xlsx): `pip install xlrd openpyxl`.
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
        t = np.concatenate(ts)
        acc = np.concatenate(accs)
        name = f"smartposture_{wearer.lower()}"
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
        written.append(name)
        print(f"{name}: {len(files)} files, {t[-1] / 60:.1f} min; calibration windows {windows}")
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="SmartPosture's ML/Data folder (or any folder above it)")
    ap.add_argument("dst", type=Path, help="where to write the per-wearer recordings")
    args = ap.parse_args()
    if not args.src.is_dir():
        sys.exit(f"posture_sets.py: {args.src} is not a folder")
    if not convert(args.src, args.dst):
        sys.exit(f"posture_sets.py: no SmartPosture files found under {args.src}")


if __name__ == "__main__":
    main()
