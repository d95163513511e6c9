"""Settling: a few epochs are held back until what comes next can no longer change them.

The decisions are causal, so some states are known only some epochs after they began: a sensor
put down on the desk is `not_worn` from the moment it lies still, but that is proven only ~20 s
later; a sit-down is dated at its landing but confirmed two calm epochs later. The decider marks
(a) from which epoch on the epochs so far may still be revised (`hold_from`, per epoch) and
(b) the revisions themselves (epochs lo..hi-1 get another state). The Settler applies the
revisions and hands out every epoch before the current `hold_from`.

Streaming equals batch because `hold_from` is a running maximum of per-epoch values and a
revision never reaches before the `hold_from` of the epoch just before it: whatever was handed
out in an earlier chunk can never be revised later. The hold is bounded by the decider (while a
sensor just handled lies still: 19 epochs at 50 Hz and above, 149 at 10 Hz; two epochs after a
sit-down), so the delay is too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .epochs import EpochTable
from .slouch import SlouchRule
from .states import LYING, MOVING, NOT_WORN, SITTING, SLOUCHING, STANDING

TO_NOT_WORN = 0
TO_SITTING = 1  # standing epochs become sitting, or slouching where the slouch rule says so
TO_MOVING = 2   # the first epochs of a walk, known to be one only once it has lasted (decide.WALK_WITHIN_EPOCHS)


@dataclass
class Revision:
    at: int    # epoch index (k) where the revision became known
    lo: int    # first epoch index revised (before clipping to what is still held)
    kind: int  # TO_NOT_WORN or TO_SITTING


class Settler:
    """EpochTables of consecutive epochs in, the settled ones out (in order, each once)."""

    def __init__(self, slouch: SlouchRule):
        self.slouch = slouch
        self._held = EpochTable.empty()
        self._held_k0 = 0          # epoch index of the first held epoch
        self._hold_before = None   # hold_from of the last epoch seen (None before any)
        self._sat = np.zeros(0, bool)  # held epochs a sit-down revised (a posture decision arriving later leaves them)

    @property
    def held(self) -> EpochTable:
        """Epochs decided but not yet settled (their states may still change)."""
        return self._held

    def push(self, table: EpochTable, first: int, hold_from: np.ndarray, revisions: list[Revision],
             posture_from: int | None = None, posture: np.ndarray | None = None) -> EpochTable:
        """Add the next epochs (indices first, first + 1, ..., right after the last ones pushed);
        return the settled ones.

        posture (optional): the smoother's final sitting (1) or standing (0) for epochs
        posture_from, posture_from + 1, ... (-1: not decided yet), applied before the revisions
        to the epochs that are sitting, slouching or standing and still held or new. A decision
        that arrives after a sit-down's revision of its epoch leaves the revision standing, as
        the revision applied after it would in one push (streaming == batch)."""
        if len(table) == 0:
            return EpochTable.empty()
        carry = self._hold_before if self._hold_before is not None else first
        buf = EpochTable.concat([self._held, table]) if len(self._held) else table
        k0 = self._held_k0 if len(self._held) else first
        sat = np.zeros(len(buf), bool)
        sat[:self._sat.shape[0]] = self._sat
        if posture is not None and posture.size:
            self._set_posture(buf, k0, max(carry, k0), posture_from, posture, sat)
        # The running maximum of hold_from is needed only just before each revision and at the
        # end: one maximum per stretch between those points (not a running maximum per epoch).
        counts = sorted({r.at - first for r in revisions} - {0})  # epochs of this chunk before each
        starts = np.array([0] + counts, np.int64)
        upto = np.maximum.accumulate(np.maximum(np.maximum.reduceat(hold_from, starts), carry))
        before = dict(zip(counts, upto[:-1].tolist()))
        before[0] = carry
        for r in revisions:
            lo = max(r.lo, int(before[r.at - first])) - k0
            hi = r.at - k0
            if lo < hi:
                self._revise(buf, lo, hi, r.kind)
                if r.kind == TO_SITTING:
                    sat[lo:hi] = True
        self._hold_before = int(upto[-1])
        cut = int(np.clip(self._hold_before - k0, 0, len(buf)))
        out, self._held = buf.rows(0, cut), buf.rows(cut, len(buf))
        self._sat = sat[cut:]
        self._held_k0 = k0 + cut
        return out

    def release(self) -> EpochTable:
        """The end of the stream (or of this calibration): every held epoch, as it stands."""
        out, self._held = self._held, EpochTable.empty()
        self._sat = np.zeros(0, bool)
        self._held_k0 += len(out)
        if self._hold_before is not None:  # what is handed out stays out: no revision reaches back
            self._hold_before = max(self._hold_before, self._held_k0)
        return out

    def _set_posture(self, buf: EpochTable, k0: int, from_k: int, posture_from: int, posture: np.ndarray,
                     sat: np.ndarray) -> None:
        """Final postures onto the rows of buf (first row: epoch k0) from epoch from_k on."""
        lo = max(from_k, posture_from)
        hi = min(k0 + len(buf), posture_from + posture.shape[0])
        if lo >= hi:
            return
        p = posture[lo - posture_from:hi - posture_from]
        rows = buf.state[lo - k0:hi - k0]
        sit_now = (rows == SITTING) | (rows == SLOUCHING)
        change = np.flatnonzero((((p == 1) & (rows == STANDING)) | ((p == 0) & sit_now)) & ~sat[lo - k0:hi - k0])
        if change.size == 0:
            return
        i = change + (lo - k0)
        st = buf.state
        to_sit = posture[i + k0 - posture_from] == 1
        slouched = self.slouch.slouched(buf.flexion_deg[i], buf.lateral_deg[i])
        st[i] = np.where(to_sit, np.where(slouched, SLOUCHING, SITTING), STANDING)

    def _revise(self, buf: EpochTable, lo: int, hi: int, kind: int) -> None:
        st = buf.state
        if kind == TO_NOT_WORN:
            st[lo:hi] = NOT_WORN
            return
        if kind == TO_MOVING:  # as moving overrides a posture on the epoch it is known
            rows = st[lo:hi]
            rows[(rows == STANDING) | (rows == SITTING) | (rows == SLOUCHING) | (rows == LYING)] = MOVING
            return
        at = lo + np.flatnonzero(st[lo:hi] == STANDING)  # a couple of epochs
        if at.size:
            st[at] = np.where(self.slouch.slouched(buf.flexion_deg[at], buf.lateral_deg[at]), SLOUCHING, SITTING)
