"""A stand-up hidden in missing data, told by the sway that rises across it and stays up.

Standing is balancing: the trunk of a standing person sways with the body over its feet, while a
seated trunk rests on a wide base (Mancini et al., J NeuroEng Rehabil 9:59, 2012; Moe-Nilssen,
Arch Phys Med Rehabil 79:1377, 1998). Sway differs a lot between people, so it is compared only
within one wearer and one moment: the still 40 s right before a break in the data (a radio gap, a
splice: the data hold no transition to see) against the first still 80 s after it.

Measured with the whole core on the chest recordings (benchmarks/sway_breaks.py: pairs of each of
15 wearers' own labelled stretches joined with a 20 s gap, nothing known before them): a stand-up
was told after 1 of 17 sitting-to-quiet-standing pairs and 3 of 15 sitting-to-talking-while-
standing ones, and after none of 17 quiet-standing-to-sitting pairs, 15 within sitting and 15
within standing. Rare by design: after its first half minute, quiet standing often sways only 1-3
times the seat before it, as much as a seat after an unseen sit-down can against the standing
before it, so only a rise both clear and lasting counts. Nothing else tells a stand-up when no
transition was seen; decide.py uses this only before anything sure is known (a recording that
starts seated, as separate per-activity files joined end to end with a gap between would).
docs/core.md says how the constants were chosen (a range that behaves alike, not a best point).
A short dropout (DROPOUT_S) inside the minute after is skipped over; a window never reaches back
across an earlier break. At epochs of 20 s or more a window is two epochs long; the rule was
measured at 0.5-2 s epochs only.

Causal, and carried from chunk to chunk in whole epochs: the same breaks are found in any chunking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .vectors import angle_deg, unit

WINDOW_S = 40.0       # each side's window of still epochs
SWAY_RISE = 3.0       # after / before, in each of the two windows after the break
MIN_TURN_DEG = 4.0    # the trunk's direction, before against after: a posture change
SWAY_FLOOR_DEG = 0.05  # sensor noise: a quieter before side counts as this
STALE = 2             # the 'before' window's still epochs lie within STALE windows' length of the break
AFTER_SPAN = 3        # both 'after' windows within AFTER_SPAN windows' length of its end (120 s: the
                      # smoother's lag, 150 s, must not run out on the epochs they claim first)
EDGE_S = 5.0          # ... and the 'before' one must reach this close to it (no walk in between)
DROPOUT_S = 5.0       # a break this short inside an 'after' side is skipped over, not a new break


@dataclass
class _After:
    """A break whose 'after' side is being collected."""

    start: int            # first epoch of the break
    end: int              # first epoch after it
    before_sway: float
    before_dir: np.ndarray
    sway: list = field(default_factory=list)
    dirs: list = field(default_factory=list)
    paused_at: int | None = None  # a dropout under way inside it: where it began


def _sway(changes: np.ndarray) -> float:
    """A window's sway: the median of its epoch-to-epoch direction changes. (A low percentile,
    which a seat's few adjustments would not lift, was tried: it read the sway of a very still
    sitter near the sensor's noise, and a real lost-sample splice within sitting as a stand-up.)"""
    return float(np.median(changes))


class SwayAcrossBreaks:
    """Finds, epoch by epoch, the stand-ups a break in the data hid (see the module docstring).

    step() returns (epoch it became known, first epoch of the break) for each one found."""

    def __init__(self, epoch_s: float):
        self.n = max(2, int(round(WINDOW_S / epoch_s)))
        self.edge = max(1, int(round(EDGE_S / epoch_s)))
        self.dropout = max(1, int(round(DROPOUT_S / epoch_s)))
        self._last_end = -(1 << 62)         # the first epoch after the last break: no window reaches back past it
        self._idx = np.zeros(0, np.int64)   # the last n sway epochs (absolute), their sway, direction
        self._sway = np.zeros(0)
        self._dir = np.zeros((0, 3))
        self._prev_ok = False               # the epoch before the chunk: still, upright, with data
        self._prev_g = np.full(3, np.nan)
        self._in_gap = False
        self._open: tuple[int, float, np.ndarray] | None = None  # a break under way: start, before side
        self._after: _After | None = None

    def remap(self, fn) -> None:
        """Re-express the remembered directions with ``fn`` (Decider.change_sensor). Sways are
        direction changes, which a re-expression leaves as they are to within noise: kept."""
        if self._dir.shape[0]:
            self._dir = fn(self._dir)
        if np.isfinite(self._prev_g).all():
            self._prev_g = fn(self._prev_g[None, :])[0]
        if self._open is not None:
            s, sway, d = self._open
            self._open = (s, sway, fn(d[None, :])[0])
        if self._after is not None:
            a = self._after
            a.before_dir = fn(a.before_dir[None, :])[0]
            if a.dirs:
                a.dirs = fn(np.asarray(a.dirs)).tolist()

    def step(self, first: int, g: np.ndarray, quiet: np.ndarray, gap: np.ndarray) -> list[tuple[int, int]]:
        """g: unit trunk directions; quiet: still, upright epochs; gap: no data, or spliced."""
        n = gap.shape[0]
        if n == 0:
            return []
        ok = quiet & ~gap
        prev_ok = np.concatenate(([self._prev_ok], ok[:-1]))
        prev_g = np.concatenate((self._prev_g[None, :], g[:-1]))
        loc = np.flatnonzero(ok & prev_ok)  # epochs with a sway: still after a still epoch
        was_gap = np.concatenate(([self._in_gap], gap[:-1]))
        starts = np.flatnonzero(gap & ~was_gap)
        ends = np.flatnonzero(~gap & was_gap)
        found: list[tuple[int, int]] = []
        # walk the chunk's break boundaries in order, collecting an 'after' side between them
        pos = 0
        for b in sorted([(int(s), True) for s in starts] + [(int(e), False) for e in ends]):
            self._collect(first, g, prev_g, loc, pos, b[0], found)
            a = self._after
            if b[1]:  # a break starts: its 'before' side (an 'after' side being collected pauses)
                if a is not None:
                    a.paused_at = first + b[0]
                self._open = self._before(first, g, prev_g, loc, b[0])
            else:     # it ends: a dropout inside an 'after' side, or a break whose 'after' side starts
                if a is not None and first + b[0] - a.paused_at <= self.dropout:
                    a.paused_at = None
                else:
                    self._after = None
                    if self._open is not None:
                        s, sway, d = self._open
                        self._after = _After(s, first + b[0], sway, d)
                self._open = None
                self._last_end = first + b[0]
            pos = b[0]
        self._collect(first, g, prev_g, loc, pos, n, found)
        # carry: the last n sway epochs, and the last epoch's state
        tail = loc[-self.n:]
        self._idx = np.concatenate((self._idx, tail + first))[-self.n:]
        self._sway = np.concatenate((self._sway, angle_deg(g[tail], prev_g[tail])))[-self.n:]
        self._dir = np.concatenate((self._dir, g[tail]))[-self.n:]
        self._prev_ok, self._prev_g, self._in_gap = bool(ok[-1]), g[-1].copy(), bool(gap[-1])
        return found

    def _before(self, first, g, prev_g, loc, at: int) -> tuple[int, float, np.ndarray] | None:
        """The 'before' side of a break starting at chunk position `at`, or None (not enough
        still time right before it and since the break before, or something else between it and
        the break)."""
        j = int(np.searchsorted(loc, at))
        mine = loc[max(0, j - self.n):j]
        need = self.n - mine.shape[0]
        idx = np.concatenate((self._idx[-need:] if need else np.zeros(0, np.int64),
                              mine + first))
        if (idx.shape[0] < self.n or idx[0] < first + at - STALE * self.n or idx[-1] < first + at - self.edge
                or idx[0] < self._last_end):
            return None
        sway = np.concatenate((self._sway[-need:] if need else np.zeros(0), angle_deg(g[mine], prev_g[mine])))
        dirs = np.concatenate((self._dir[-need:] if need else np.zeros((0, 3)), g[mine]))
        return first + at, max(_sway(sway), SWAY_FLOOR_DEG), unit(dirs.sum(axis=0))

    def _collect(self, first, g, prev_g, loc, lo: int, hi: int, found: list) -> None:
        """Add the sway epochs at chunk positions lo .. hi - 1 to the 'after' side being collected;
        judge it when whole."""
        a = self._after
        if a is None or lo >= hi:
            return
        want = 2 * self.n - len(a.sway)
        i, j = np.searchsorted(loc, [lo, hi])
        mine = loc[i:min(j, i + want)]
        deadline = a.end + AFTER_SPAN * self.n
        mine = mine[mine + first < deadline]
        a.sway.extend(angle_deg(g[mine], prev_g[mine]).tolist())
        a.dirs.extend(g[mine].tolist())
        if len(a.sway) == 2 * self.n:
            self._after = None
            s = np.asarray(a.sway)
            first_half, second_half = _sway(s[:self.n]), _sway(s[self.n:])
            turned = float(angle_deg(a.before_dir, unit(np.asarray(a.dirs[:self.n]).sum(axis=0))))
            if min(first_half, second_half) >= SWAY_RISE * a.before_sway and turned >= MIN_TURN_DEG:
                found.append((first + int(mine[-1]), a.start))
        elif first + hi >= deadline:
            self._after = None
