"""Which traces of an unseen posture change could have been a rise: the trunk's posture changed.

A change toward standing that no transition announced is accepted only where a rise could have
left its trace (decide.py, `rose_ok`): the trunk's lean out and back (posture_cue.excursions) or
a break in the data. A sit-to-stand takes the trunk from the seat to the wearer's standing
posture, and from a backrest or a slumped seat those differ by 8-20 degrees for most people
(posture_cue.py); a reach for the desk or a shift in the chair leans the trunk out and back to
the seat it left. So a trace counts only where the still trunk's direction after it differs
from the one before it by ANCHOR_MIN_DEG (posture_cue: two postures closer than that tell
nothing apart), or where either side had too little still time to tell (a rise straight into
a walk, a fidget), as before. Measured on the simulator (hidden-sit-downs, hidden-stand-ups,
reseats, seeds 1-5, the traces that let a change toward standing be accepted): the trunk turned
9-22 degrees across those of real stand-ups and 0.1-1.8 degrees across reaches within a seat,
each of which had let the seat be taken for standing minutes after it began.

A trace is judged DELAY epochs after its last epoch, once its 'after' side is in; decide.py
shifts the window it looks for traces in by as much. Directions are summed as integers (exact in
any order), and everything is carried from chunk to chunk in whole epochs: the same traces count
in any chunking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .posture_cue import ANCHOR_MIN_DEG, EXCURSION_EPOCHS
from .vectors import angle_deg, unit

SIDE_S = 20.0       # each side's window: the still epochs in the SIDE_S before and after the trace
MIN_SIDE_S = 5.0    # fewer still seconds than this on a side: too little to tell (the trace counts)
_QUANT = 1 << 20    # directions summed as integers


@dataclass
class _Open:
    """A trace whose 'after' side is being collected."""

    end: int                      # its last epoch
    before: np.ndarray | None     # the summed direction before it (integers), None: too little
    after: np.ndarray             # the summed direction after it so far
    count: int = 0


def _summed(g: np.ndarray, still: np.ndarray) -> np.ndarray:
    """The still rows of g (unit directions) summed as integers: exact in any order."""
    return np.rint(g[still] * _QUANT).astype(np.int64).sum(axis=0)


class RiseTraces:
    """Per chunk, the epochs at which a trace that could have been a rise became known (its last
    epoch + DELAY); see the module docstring."""

    def __init__(self, epoch_s: float, max_delay: int):
        self.side = max(1, int(round(SIDE_S / epoch_s)))
        self.delay = min(self.side, max(0, int(max_delay)))
        self.min_side = max(1, math.ceil(MIN_SIDE_S / epoch_s - 1e-9))
        self.lead = EXCURSION_EPOCHS  # a lean out and back is flagged up to this many epochs after it began
        self._hist_g = np.zeros((0, 3))  # the last lead + side epochs: directions, and which are still
        self._hist_s = np.zeros(0, bool)
        self._in_trace = False
        self._run_before: np.ndarray | None = None  # the trace under way at the chunk's end: its 'before'
        self._run_known = False
        self._open: list[_Open] = []

    def remap(self, fn) -> None:
        """Re-express the remembered directions with ``fn`` (Decider.change_sensor)."""
        def one(v):  # a summed direction: re-expressed, its length kept
            if v is None or not v.any():
                return v
            f = v.astype(float)
            size = math.sqrt(float(f @ f))
            return np.rint(fn((f / size)[None, :])[0] * size).astype(np.int64)

        if self._hist_s.any():
            self._hist_g[self._hist_s] = fn(self._hist_g[self._hist_s])
            self._hist_s &= np.isfinite(self._hist_g).all(axis=1)
        self._run_before = one(self._run_before)
        for o in self._open:
            o.before, o.after = one(o.before), one(o.after)

    def step(self, first: int, g: np.ndarray, still: np.ndarray, trace: np.ndarray) -> np.ndarray:
        """g: unit trunk directions (n, 3); still: still, upright epochs with data; trace: the
        traces of a posture change. Returns, per chunk epoch, whether a trace that could have been
        a rise became known there."""
        n = trace.shape[0]
        out = np.zeros(n, bool)
        if n == 0:
            return out
        h = self._hist_s.shape[0]
        prev = np.concatenate(([self._in_trace], trace[:-1]))
        starts = np.flatnonzero(trace & ~prev)
        ends = np.flatnonzero(~trace & prev) - 1  # last epochs of traces (-1: the previous chunk's last)
        events = sorted([(int(s), 0) for s in starts] + [(int(e), 1) for e in ends])
        w = self.lead + self.side
        tail = slice(max(0, n - w), n)
        if events or self._open:  # (most chunks have no trace to judge: the history is all they leave)
            still = still & np.isfinite(g).all(axis=1)
            allg = np.concatenate((self._hist_g, g))
            alls = np.concatenate((self._hist_s, still))
        for pos, kind in events:
            if kind == 0:  # a trace begins: its 'before' side
                lo, hi = max(0, h + pos - self.lead - self.side), max(0, h + pos - self.lead)
                self._run_before = self._side(allg[lo:hi], alls[lo:hi])
                self._run_known = True
            else:          # it ended at pos: collect its 'after' side from pos + 1
                before = self._run_before if self._run_known else None
                self._open.append(_Open(first + pos, before, np.zeros(3, np.int64)))
                self._run_known = False
        keep = []
        last = first + n - 1
        for o in self._open:
            lo = max(o.end + 1, first)
            hi = min(o.end + self.delay, last)  # the 'after' side: up to DELAY epochs after it
            if hi >= lo:
                a, b = lo - first, hi - first + 1
                o.after = o.after + _summed(g[a:b], still[a:b])
                o.count += int(still[a:b].sum())
            if o.end + self.delay <= last:
                assert o.end + self.delay >= first, "a trace is judged in the chunk after its end (delay >= 1)"
                out[o.end + self.delay - first] |= self._judge(o)
            else:
                keep.append(o)
        self._open = keep
        self._in_trace = bool(trace[-1])
        keep_g = g[tail]
        keep_s = still[tail] & np.isfinite(keep_g).all(axis=1)
        if n < w:
            keep_g = np.concatenate((self._hist_g, keep_g))[-w:]
            keep_s = np.concatenate((self._hist_s, keep_s))[-w:]
        self._hist_g, self._hist_s = keep_g.copy(), keep_s
        return out

    def _side(self, g: np.ndarray, s: np.ndarray) -> np.ndarray | None:
        if int(s.sum()) < self.min_side:
            return None
        return _summed(g, s)

    def _judge(self, o: _Open) -> bool:
        if o.before is None or o.count < self.min_side or self.delay < self.min_side:
            return True
        return float(angle_deg(unit(o.before.astype(float)), unit(o.after.astype(float)))) >= ANCHOR_MIN_DEG
