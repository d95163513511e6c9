"""How often a break in the data is read as a stand-up from the sway across it (core/sway_breaks.py).

Real signals only (../shared/realdata/chest_casale, CC BY 4.0: Casale et al., Pers Ubiquit Comput
16:563, 2012). For every wearer, pairs of their own labelled stretches are joined with a GAP_S
radio gap between, nothing before them (nothing sure is known, as at the start of a recording):

    sit > quiet stand   the last BEFORE_S of a sitting bout, then a quiet standing bout (code 3)
    sit > talk stand    ... then their talking-while-standing bout (code 7)
    quiet stand > sit   a quiet standing bout, then the first AFTER_S of a sitting bout
    sit > sit           a sitting bout cut in two by the gap (GAP_S of it left out)
    stand > stand       the same within their talking-while-standing bout

Each pair runs through the whole core (analyze); the table gives, per kind, how many pairs, in how
many the sway across the gap told a stand-up (core/sway_breaks.py found one: all pairs start with
nothing sure known, so it is used), in how many the part after the gap is mostly (>= half its
epochs) called standing, and the share of all its epochs called standing. Before
core/sway_breaks.py the unseen stand-ups of quiet standers were called sitting, as the seat before
them.

    python benchmarks/sway_breaks.py            # the table, with the core as it is
    python benchmarks/sway_breaks.py --sweep    # the same for other rises and windows (docs/core.md)

--sweep sets the detector's SWAY_RISE and WINDOW_S for each line (a measurement, not an option of
the product) and adds the spliced table's standing recall (accuracy.py: each wearer's longest
sitting, a 20 s gap, their longest standing) and the worst sit/stand balanced accuracy of the 15
full recordings, which a rule this narrow must leave as they were.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from sensorback import formats  # noqa: E402
from sensorback.core import analyze  # noqa: E402
from sensorback.core import sway_breaks  # noqa: E402
from sensorback.core.states import CODE  # noqa: E402

REAL = HERE.parent.parent / "shared" / "realdata" / "chest_casale"
GAP_S = 20.0
BEFORE_S = 120.0   # of the posture before the gap
AFTER_S = 120.0    # of the posture after it (at most)
TRIM_S = 10.0      # left out at a labelled bout's edges (the label's own transition time)


def _rows(path: Path) -> list[tuple[float, float, str]]:
    with open(path, newline="") as f:
        return [(float(r["t_start"]), float(r["t_end"]), r["source_code"]) for r in csv.DictReader(f)]


def _join(block, a: tuple[float, float], b: tuple[float, float]):
    """Samples of [a) then, GAP_S later, [b); and where the second part starts and ends."""
    sa = (block.t >= a[0]) & (block.t < a[1])
    sb = (block.t >= b[0]) & (block.t < b[1])
    ta = block.t[sa] - block.t[sa][0]
    tb = block.t[sb] - block.t[sb][0] + ta[-1] + GAP_S
    out = replace(block, t=np.concatenate([ta, tb]), acc=np.concatenate([block.acc[sa], block.acc[sb]]))
    return out, (float(tb[0]), float(tb[-1]))


def pairs(rows):
    """(kind, before, after) stretches of one wearer's labelled bouts."""
    sits = [(s + TRIM_S, e - TRIM_S) for s, e, c in rows if c == "1" and e - s > BEFORE_S + 2 * TRIM_S]
    quiet = [(s + TRIM_S, e - TRIM_S) for s, e, c in rows if c == "3" and e - s > 60.0 + 2 * TRIM_S]
    talk = [(s + TRIM_S, e - TRIM_S) for s, e, c in rows if c == "7" and e - s > 2 * BEFORE_S + GAP_S + 2 * TRIM_S]
    for s0, s1 in sits:
        before = (s1 - BEFORE_S, s1)
        for q0, q1 in quiet:
            yield "sit > quiet stand", before, (q0, min(q1, q0 + AFTER_S))
        for q0, q1 in talk:
            yield "sit > talk stand", before, (q0, min(q1, q0 + AFTER_S))
        for q0, q1 in quiet:
            yield "quiet stand > sit", (q0, q1), (s0, min(s1, s0 + AFTER_S))
        if s1 - s0 >= BEFORE_S + GAP_S + 60.0:
            yield "sit > sit", (s0, s0 + BEFORE_S), (s0 + BEFORE_S + GAP_S, min(s1, s0 + BEFORE_S + GAP_S + AFTER_S))
    for q0, q1 in talk:
        yield "stand > stand", (q0, q0 + BEFORE_S), (q0 + BEFORE_S + GAP_S, q0 + 2 * BEFORE_S + GAP_S)


def _counting_rises() -> list:
    """Record what the detector finds (the core keeps no list of it): wrap its step."""
    found: list = []
    step = sway_breaks.SwayAcrossBreaks.step

    def counted(self, *args):
        out = step(self, *args)
        found.extend(out)
        return out

    sway_breaks.SwayAcrossBreaks.step = counted
    return found


KINDS = ("sit > quiet stand", "sit > talk stand", "quiet stand > sit", "sit > sit", "stand > stand")


def measure(blocks: dict, rises: list) -> dict[str, list[tuple[bool, float]]]:
    """Per kind of pair: (a stand-up was told, share of the part after the gap called standing)."""
    tally: dict[str, list[tuple[bool, float]]] = {}
    for rec, block in blocks.items():
        for kind, a, b in pairs(_rows(_labels(rec))):
            joined, (t0b, t1b) = _join(block, a, b)
            rises.clear()
            ep = analyze(joined).epochs
            after = (ep.t_start >= t0b) & (ep.t_end <= t1b) & (ep.state != CODE["moving"])
            if after.sum() < 30:
                continue
            tally.setdefault(kind, []).append((bool(rises), float((ep.state[after] == CODE["standing"]).mean())))
    return tally


def _labels(rec: Path) -> Path:
    return rec.with_name(rec.name.replace(".csv.gz", ".labels.csv"))


def _checks(blocks: dict) -> tuple[float, float]:
    """(the spliced table's pooled standing recall, the worst full recording's sit/stand BA)."""
    from accuracy import evaluate, score  # (benchmarks/: the figures accuracy.py prints)
    from spliced import recalls, sit_then_stand

    from sensorback.core import CoreOptions

    stood = standing = 0
    worst = 1.0
    for rec, block in blocks.items():
        sp = sit_then_stand(block, _labels(rec))
        r = recalls(sp, analyze(sp.block).epochs)
        stood, standing = stood + r[0], standing + r[1]
        worst = min(worst, score(*evaluate(rec, _labels(rec), CoreOptions(), block=block)).sit_stand_ba)
    return stood / max(standing, 1), worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", action="store_true", help="other rises and windows, with the checks (a few minutes)")
    args = ap.parse_args()
    files = sorted(REAL.glob("subject*.csv.gz"))
    if not files:
        print(f"no recordings in {REAL}: put ../shared beside this checkout", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    blocks = {rec: formats.load(rec) for rec in files}
    rises = _counting_rises()
    print(f"## a break in the data between two of a wearer's own postures (chest_casale, {len(files)} wearers, "
          f"{GAP_S:.0f} s gap)")
    if not args.sweep:
        tally = measure(blocks, rises)
        print(f"{'pair':20s} {'pairs':>6s} {'stand-up told':>14s} {'mostly standing after':>22s} "
              f"{'standing share after':>21s}")
        for kind in KINDS:
            rows = tally.get(kind, [])
            if rows:
                v = np.asarray([x for _, x in rows])
                print(f"{kind:20s} {v.size:6d} {sum(r for r, _ in rows):>14d} {int((v >= 0.5).sum()):>14d} "
                      f"({(v >= 0.5).mean():.2f}) {v.mean():>21.3f}")
    else:
        print("pairs: stand-up told / mostly standing after, of all pairs of the kind")
        print(f"{'rise':>5s} {'window s':>8s} " + " ".join(f"{k:>17s}" for k in KINDS)
              + f" {'spliced standing':>16s} {'Casale worst':>12s}")
        keep = sway_breaks.SWAY_RISE, sway_breaks.WINDOW_S
        for rise, window in ((None, None), (2.0, 20), (2.5, 20), (3.0, 20), (2.0, 30), (2.5, 30), (3.0, 30),
                             (3.5, 30), (2.0, 40), (2.5, 40), (3.0, 40), (3.5, 40), (2.0, 50), (2.5, 50),
                             (3.0, 50), (2.5, 60), (3.0, 60)):
            sway_breaks.SWAY_RISE = 1e9 if rise is None else rise
            sway_breaks.WINDOW_S = keep[1] if window is None else window
            tally = measure(blocks, rises)
            spliced, worst = _checks(blocks)
            cells = [f"{sum(r for r, _ in tally[k])}/{sum(x >= 0.5 for _, x in tally[k])} of {len(tally[k])}"
                     for k in KINDS]
            print(f"{'off' if rise is None else f'{rise:g}x':>5s} {'' if window is None else f'{window:g}':>8s} "
                  + " ".join(f"{c:>17s}" for c in cells) + f" {spliced:>16.3f} {worst:>12.3f}", flush=True)
        sway_breaks.SWAY_RISE, sway_breaks.WINDOW_S = keep
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
