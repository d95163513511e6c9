"""Rebuild the real-data excerpts in this folder from shared/realdata (see README.md).

Run from the repository root with ../shared beside it:  python recordings/make_excerpts.py
Needs only the standard library. Output is byte-for-byte reproducible (gzip mtime 0).
"""

import csv
import gzip
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent / "shared" / "realdata"

# (source subfolder, recording name, output name, cut start s, cut end s); None = keep it whole.
EXCERPTS = [
    ("hapt_waist", "exp01_user01", "hapt_waist_exp01_user01", None, None),
    ("hapt_waist", "exp41_user20", "hapt_waist_exp41_user20", None, None),
    ("chest_casale", "subject04", "chest_casale_subject04", 400.0, 1000.0),
    ("chest_casale", "subject13", "chest_casale_subject13", 150.0, 750.0),
]


def cut(folder, name, out_name, t0, t1):
    src = SOURCE / folder
    with gzip.open(src / f"{name}.csv.gz", "rt", newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    assert header == ["t", "ax", "ay", "az"], header
    if t0 is not None:
        rows = [r for r in rows if t0 <= float(r[0]) < t1]
        base = float(rows[0][0])
        rows = [[f"{float(r[0]) - base:.4f}", *r[1:]] for r in rows]
    else:
        base = 0.0
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    with open(HERE / f"{out_name}.csv.gz", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(buf.getvalue().encode())

    with open(src / f"{name}.labels.csv", newline="") as f:
        labels = list(csv.reader(f))
    lab_header, labels = labels[0], labels[1:]
    assert lab_header == ["t_start", "t_end", "label", "source_code"], lab_header
    out = []
    for a, b, label, code in labels:
        a, b = float(a), float(b)
        if t0 is not None:
            a, b = max(a, t0), min(b, t1)
            if b <= a:
                continue
        out.append([f"{a - base:.3f}", f"{b - base:.3f}", label, code])
    with open(HERE / f"{out_name}.labels.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(lab_header)
        w.writerows(out)
    print(f"{out_name}: {len(rows)} samples, {len(out)} label rows, source t {base:.4f} -> 0", file=sys.stderr)


if __name__ == "__main__":
    for spec in EXCERPTS:
        cut(*spec)
