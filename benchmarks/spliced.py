"""Real sitting followed by the same person's real standing with no stand-up between.

The held-out chest recordings showed standing that directly follows sitting, with no stand-up
to see, called sitting for all of its 5 minutes in every person. The shared recordings always
show the stand-up; this builds the held-out case from them: a wearer's longest labelled sitting,
then a radio gap (GAP_S), then the same wearer's longest labelled standing, both as recorded.
Nothing is simulated; only the stand-up (and whatever lay between the two) is left out.

joined leaves no gap at all: the standing's first sample one sample interval after the sitting's
last, as recordings of separate activities joined end to end into one file with a continuous clock
(the clock then shows nothing; only the signal's step can, core/splices.py).

after_a_walk puts WALK_S of the wearer's own walking and another radio gap before it: a walk whose
end, stand and sit-down go unseen, so that the first posture after the walk is the seat.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

GAP_S = 20.0
WALK_S = 60.0


@dataclass
class Spliced:
    block: object            # SampleBlock: sitting, gap, standing
    sitting: tuple[float, float]   # (start, end) s of the sitting part on the new time axis
    standing: tuple[float, float]


def _longest_rows(rows: list[dict]) -> dict | None:
    return max(rows, key=lambda r: float(r["t_end"]) - float(r["t_start"])) if rows else None


def _longest(rows: list[dict], label: str) -> dict | None:
    return _longest_rows([r for r in rows if r["label"] == label])


def sit_then_stand(block, label_path: Path, gap_s: float = GAP_S) -> Spliced | None:
    """The wearer's longest sitting, a gap_s radio gap, their longest standing (None if the
    recording lacks either)."""
    with open(label_path, newline="") as f:
        rows = list(csv.DictReader(f))
    sit, stand = _longest(rows, "sitting"), _longest(rows, "standing")
    if sit is None or stand is None:
        return None
    a = (block.t >= float(sit["t_start"])) & (block.t < float(sit["t_end"]))
    b = (block.t >= float(stand["t_start"])) & (block.t < float(stand["t_end"]))
    if not a.any() or not b.any():
        return None
    ta = block.t[a] - block.t[a][0]
    tb = block.t[b] - block.t[b][0] + ta[-1] + gap_s
    out = replace(block, t=np.concatenate([ta, tb]), acc=np.concatenate([block.acc[a], block.acc[b]]))
    return Spliced(out, (0.0, float(ta[-1])), (float(tb[0]), float(tb[-1])))


def joined(block, label_path: Path) -> Spliced | None:
    """sit_then_stand with a continuous clock: no gap the timestamps show."""
    return sit_then_stand(block, label_path, gap_s=1.0 / block.rate_hz)


def after_a_walk(block, label_path: Path, spliced: Spliced, walk_s: float = WALK_S,
                 gap_s: float = GAP_S) -> Spliced | None:
    """The same, preceded by walk_s of the wearer's own walking and a gap_s radio gap: the walk's
    end, any standing and the sit-down all go unseen, so the first posture after the walk is
    the seat (someone walking back to their desk out of radio range). None without walking."""
    with open(label_path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] == "moving"]
    walk = _longest_rows(rows)
    if walk is None:
        return None
    t0 = float(walk["t_start"])
    w = (block.t >= t0) & (block.t < min(float(walk["t_end"]), t0 + walk_s))
    if not w.any():
        return None
    tw = block.t[w] - block.t[w][0]
    off = float(tw[-1]) + gap_s
    out = replace(spliced.block, t=np.concatenate([tw, spliced.block.t + off]),
                  acc=np.concatenate([block.acc[w], spliced.block.acc]))
    return Spliced(out, (spliced.sitting[0] + off, spliced.sitting[1] + off),
                   (spliced.standing[0] + off, spliced.standing[1] + off))


def recalls(spliced: Spliced, epochs) -> tuple[int, int, int, int]:
    """(standing epochs called standing, standing epochs, sitting epochs called sitting or
    slouching, sitting epochs), over the epochs lying wholly inside each part."""
    from sensorback.core.states import CODE

    t0, t1 = epochs.t_start, epochs.t_end
    stand = (t0 >= spliced.standing[0]) & (t1 <= spliced.standing[1])
    sit = (t0 >= spliced.sitting[0]) & (t1 <= spliced.sitting[1])
    sitting = np.isin(epochs.state, [CODE["sitting"], CODE["slouching"]])
    return (int((stand & (epochs.state == CODE["standing"])).sum()), int(stand.sum()),
            int((sit & sitting).sum()), int(sit.sum()))
