"""Ground-truth label sidecar: the same CSV layout as the real labelled recordings.

The simulator knows what the wearer was doing at every instant, so it writes that truth next to
the recording; the benchmark and the tests read it back with read_labels. Times are kept to the
millisecond so a write/read round trip is exact.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..private import open_private

LABELS: tuple[str, ...] = (
    "moving", "standing", "sitting", "slouching", "lying", "not_worn", "no_data", "transition",
)
HEADER: tuple[str, ...] = ("t_start", "t_end", "label", "source_code")


@dataclass
class Labels:
    """Rows [t_start, t_end) in seconds on the recording's time axis, with a label and a code.

    label is one of LABELS; source_code says what the wearer was actually doing
    (walk, sit_upright, slouch_32deg, on_desk, ble_gap, ...).
    """

    t_start: np.ndarray
    t_end: np.ndarray
    label: np.ndarray
    source_code: np.ndarray

    def __post_init__(self) -> None:
        self.t_start = np.asarray(self.t_start, dtype=np.float64)
        self.t_end = np.asarray(self.t_end, dtype=np.float64)
        self.label = np.asarray(self.label, dtype=str)
        self.source_code = np.asarray(self.source_code, dtype=str)
        n = self.t_start.shape[0]
        if not (self.t_end.shape == self.label.shape == self.source_code.shape == (n,)):
            raise ValueError("Labels columns must be one-dimensional and of equal length")

    def __len__(self) -> int:
        return int(self.t_start.shape[0])

    def rows(self):
        """Iterate (t_start, t_end, label, source_code) as plain Python values."""
        for a, b, lab, code in zip(self.t_start, self.t_end, self.label, self.source_code):
            yield float(a), float(b), str(lab), str(code)

    def at(self, t) -> np.ndarray:
        """Label at each time in t ('' where no row covers it)."""
        t = np.asarray(t, dtype=np.float64)
        i = np.searchsorted(self.t_start, t, side="right") - 1
        ok = (i >= 0) & (t < self.t_end[np.clip(i, 0, None)]) if len(self) else np.zeros(t.shape, bool)
        out = np.full(t.shape, "", dtype=self.label.dtype if len(self) else "<U1")
        out[ok] = self.label[i[ok]]
        return out

    def total_s(self, label: str) -> float:
        """Seconds spent in one label."""
        m = self.label == label
        return float(np.sum(self.t_end[m] - self.t_start[m]))


def overlay_no_data(rows, spans) -> list[tuple]:
    """rows (t_start, t_end, label, source_code; in order, not overlapping) with each span
    (start, end, source_code) laid over them as no_data where it covers them, equal neighbours
    merged: the simulator's radio gaps and stuck readings, a benchmark's added dropouts."""
    rows = [list(r) for r in rows]
    for g0, g1, why in spans:
        out = []
        for a, b, lab, code in rows:
            if b <= g0 or a >= g1:
                out.append([a, b, lab, code])
                continue
            if a < g0:
                out.append([a, g0, lab, code])
            out.append([max(a, g0), min(b, g1), "no_data", why])
            if b > g1:
                out.append([g1, b, lab, code])
        rows = out
    merged: list[list] = []
    for r in rows:
        if merged and merged[-1][2:] == r[2:] and merged[-1][1] == r[0]:
            merged[-1][1] = r[1]
        else:
            merged.append(list(r))
    return [tuple(r) for r in merged]


def write_labels(labels: Labels, path) -> None:
    """Write the sidecar CSV (header t_start,t_end,label,source_code; times to the millisecond)."""
    with open_private(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        for a, b, lab, code in labels.rows():
            w.writerow((f"{a:.3f}", f"{b:.3f}", lab, code))


def read_labels(path) -> Labels:
    """Read a sidecar written by write_labels or shipped with the real recordings.

    Rows must be in time order, non-overlapping and use a known label; time outside every row is
    allowed (unlabelled), as in the real data sets.
    """
    path = Path(path)
    try:
        fh = open(path, newline="")
    except OSError as exc:
        raise InputError(path, f"cannot read labels: {exc.strerror or exc}") from None
    t0, t1, labs, codes = [], [], [], []
    with fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != HEADER:
            raise InputError(path, f"expected header {','.join(HEADER)}", line=1)
        prev_end = -np.inf
        for lineno, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != 4:
                raise InputError(path, f"expected 4 fields, got {len(row)}", line=lineno)
            try:
                a, b = float(row[0]), float(row[1])
            except ValueError:
                raise InputError(path, f"non-numeric time in {row[0]!r},{row[1]!r}", line=lineno) from None
            lab = row[2].strip()
            if lab not in LABELS:
                raise InputError(path, f"unknown label {lab!r}", line=lineno)
            if not (np.isfinite(a) and np.isfinite(b) and b > a):
                raise InputError(path, f"row must have t_end > t_start, got {a} .. {b}", line=lineno)
            if a < prev_end - 1e-9:
                raise InputError(path, f"row starting at {a} overlaps the previous row", line=lineno)
            prev_end = b
            t0.append(a)
            t1.append(b)
            labs.append(lab)
            codes.append(row[3].strip())
    return Labels(np.array(t0), np.array(t1), np.array(labs, dtype=str), np.array(codes, dtype=str))


def sidecar_path(recording_path) -> Path:
    """Where the labels of a recording go: day.csv.gz -> day.labels.csv (compression and one
    format extension stripped), matching the real data sets."""
    p = Path(recording_path)
    name = p.name
    for comp in (".gz", ".bz2", ".xz", ".zip"):
        if name.endswith(comp):
            name = name[: -len(comp)]
            break
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return p.with_name(stem + ".labels.csv")
