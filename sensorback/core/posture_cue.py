"""The transition-independent evidence for sitting versus standing, per still epoch.

A seen sit-down or stand-up says most, but transitions are missed (a radio gap, a slow careful
sit-down, a recording that starts mid-day). What a single trunk sensor still sees without them
(docs/core.md has the per-recording measurements):

- **The wearer's own postures.** Every seen transition shows this wearer's posture on both sides
  of it: sitting before a stand-up and standing after it, or the reverse; the end of a walk shows
  the standing one. The most recent pair is this wearer's signature; a still epoch closer to one
  than to the other leans that way, the more so the further apart the two are (someone who sits
  as upright as they stand shows nothing here, and is left to the transitions).
- **Inclination from the walking upright.** Walking is the one activity in which the trunk is
  reliably upright; standing stays close to it while people sit reclined against a backrest or
  leaning toward a desk. Vähä-Ypyä et al. (Scand J Med Sci Sports 28:1092, 2018) separate sitting
  from standing with a hip sensor at 11.6 degrees from the walking orientation (sensitivity 94 %,
  specificity 95 %). On the labelled recordings here the median standing epoch lies 2-16 degrees
  from the walking upright and the median sitting epoch 7-45 degrees, so only the clear ends
  count: STAND_DEG and below standing, SIT_DEG and beyond sitting.
- **A trunk held 30 degrees or more from upright** (short of lying) is sitting: nobody stands
  bent over that far for long.

Once something sure is known (a walk, a seen transition, lying a while) these enter the smoother
as a *level* (PostureCue.levels): how much more sitting-like the trunk is than the reference
posture after that evidence, accepted only once it has held for PERSIST_S. Before anything sure,
the inclination is per-second evidence instead (inclination_evidence).

**Postural sway** is measured but not used here: standing is balancing, and on the
chest recordings the trunk's second-to-second direction change separates sitting at a computer
(0.1-0.8 degrees) from standing (0.6-3 degrees) in 14 of 15 people (Mancini et al., J NeuroEng
Rehabil 9:59, 2012; Moe-Nilssen, Arch Phys Med Rehabil 79:1377, 1998, for trunk sway as a balance
measure), but lab standing (HAPT) is as still as sitting, and as a level beside the inclination
it cost a fidgeting seated wearer a fifth of their sitting: worse in pooled Casale. Across a
break in the data, compared with the wearer's own sway right before it, it tells a hidden
stand-up (sway_breaks.py).

Everything here is causal and carried from chunk to chunk in integers or whole epochs, so it
does not depend on how the stream was cut.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from .runs import _last_true, next_true, rolling_count, sliding_reduce
from .smoother import BIG, NAT
from .vectors import take_rows, unit

# How sitting-like a still trunk direction is, as a level in nats (see PostureCue.levels). From
# the inclination from an upright reference (degrees): standing at STAND_DEG or less, neither in
# NEITHER_DEG, sitting from SIT_DEG (linear in between), surely sitting from LEANING_DEG (a trunk
# held that far over, short of lying, is sitting: nobody stands bent over for long).
STAND_DEG = 3.0
NEITHER_DEG = (7.0, 13.0)
SIT_DEG = 19.0
LEANING_DEG = 30.0
LEVEL_NATS = 8.0
LEANING_LEVEL_NATS = 14.0
# The same from the wearer's own standing posture (right after a walk, or beside a transition),
# which is known to within the few degrees a standing trunk varies: a narrower middle.
OWN_STAND_DEG = 1.0
OWN_NEITHER_DEG = (6.0, 8.0)
OWN_SIT_DEG = 13.0
# The wearer's own postures: the mean direction over ANCHOR_EPOCHS still upright epochs right
# before and right after a seen transition's window (and right after walking: standing). Two
# postures closer than ANCHOR_MIN_DEG tell nothing apart; the level between them spans the full
# +-LEVEL_NATS from ANCHOR_FULL_DEG apart.
ANCHOR_EPOCHS = 5
ANCHOR_MIN_DEG = 4.0
ANCHOR_FULL_DEG = 12.0
# A direction far from both (a slouch, a lean to the side) is judged against the standing one alone
# (as the prior judges it against the walking upright).
ANCHOR_NEAR_DEG = 8.0
# The first posture after a walk lies with the wearer's own sitting one when it is nearer it than
# their standing one by SEAT_SHARE of the two postures' separation (see _own_seat).
SEAT_SHARE = 0.5
# Before a transition's window, an epoch nearer the other posture than the one right before the
# window by this much was in that other posture (a transition missed before).
OTHER_MARGIN_DEG = 2.0
# A trunk that tilts EXCURSION_DEG or more away from both the posture before and the posture after,
# all within EXCURSION_EPOCHS: the forward lean every sit-to-stand needs to bring the body's mass
# over the feet, slow and careful rises included (see PostureCue.excursions).
EXCURSION_DEG = 12.0
EXCURSION_EPOCHS = 12
# Spans judged together: ~1 kB each with the inner directions and their angles, ~8 MB at a time.
_SPANS_AT_ONCE = 8192
# A posture change counts once it has lasted this long (see PostureCue._persistent).
PERSIST_S = 120.0
PERSIST_NATS = 2.0
# The reference posture is taken at least this many heads (decide.CUE_EVERY_S) after the sure
# evidence.
REF_DELAY = 1
# The walking upright: the mean direction over the last WALK_UP_EPOCHS epochs on the feet
# (walking), once there are WALK_UP_MIN_EPOCHS of them; before that, the calibration's upright if
# it came from walking.
WALK_UP_EPOCHS = 60
WALK_UP_MIN_EPOCHS = 10
_WALK_QUANT = 1 << 20  # directions summed as integers (exact in any order)


@dataclass
class Anchors:
    """A seen transition's two sides, measured when the epochs after it are in."""

    stand: np.ndarray | None = None  # unit vector (calibrated sensor frame), or None
    sit: np.ndarray | None = None


@dataclass
class _Pending:
    """A seen transition whose 'after' side is still being collected."""

    sit_after: bool
    before: np.ndarray | None
    scan_from: int  # the next epoch to look at for its 'after' side
    vecs: list = field(default_factory=list)  # its epochs' directions, rows of three Python floats
    dead: bool = False  # a walk came first
    walk: bool = False  # the end of a walk (its 'after' side is standing, or a seat reached unseen)
    begin: int | None = None  # the first epoch of its 'after' side
    unseen: bool = False  # data went missing before its 'after' side was complete


# Before anything sure was seen (a recording's start, after a reset) there is no reference
# posture: each still epoch's inclination from the walking upright is evidence per second instead
# (the standing end surer than the sitting end: few sit as upright as they walk, many stand a
# little off it), summed against the lower switching cost of that regime (decide.py).
INCL_STAND_NATS_PER_S = 0.05
INCL_SIT_NATS_PER_S = 0.1
LEANING_NATS_PER_S = 0.6


def inclination_evidence(incl_deg: np.ndarray, epoch_s: float) -> np.ndarray:
    """Evidence per epoch (NAT units, int64) from the inclination from the walking upright."""
    unit = epoch_s * NAT
    llr = np.interp(incl_deg, [STAND_DEG, NEITHER_DEG[0], NEITHER_DEG[1], SIT_DEG],
                    [-INCL_STAND_NATS_PER_S * unit, 0.0, 0.0, INCL_SIT_NATS_PER_S * unit])
    with np.errstate(invalid="ignore"):
        llr[incl_deg >= LEANING_DEG] = LEANING_NATS_PER_S * unit
    llr[np.isnan(llr)] = 0.0
    return np.rint(llr).astype(np.int64)


def prior_level(incl_deg: np.ndarray, own: bool = False) -> np.ndarray:
    """Sitting level (nats) from the inclination from the walking upright, or (own) from the
    wearer's own standing posture (NaN: 0)."""
    x = [OWN_STAND_DEG, *OWN_NEITHER_DEG, OWN_SIT_DEG] if own else [STAND_DEG, *NEITHER_DEG, SIT_DEG]
    level = np.interp(incl_deg, x, [-LEVEL_NATS, 0.0, 0.0, LEVEL_NATS])
    level[np.isnan(level)] = 0.0
    return level


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (degrees) between unit vectors along the last axis (rows; broadcast), from the chord c
    between them:
    2 asin(c / 2) = c + c^3/24 + 3 c^5/640 + ..., within 0.1 degree up to 60 degrees (the angles
    that matter here are far smaller) and without the cost of an arcsine."""
    d0, d1, d2 = a[..., 0] - b[..., 0], a[..., 1] - b[..., 1], a[..., 2] - b[..., 2]
    c2 = d0 * d0 + d1 * d1 + d2 * d2
    return _chord_deg(np.sqrt(c2), c2)


def _angle1(a: list[float], b: list[float]) -> float:
    """_angle of two single unit vectors given as Python floats (the same operations in the same
    order, so the same result, without the cost of numpy calls on three numbers)."""
    d0, d1, d2 = a[0] - b[0], a[1] - b[1], a[2] - b[2]
    c2 = d0 * d0 + d1 * d1 + d2 * d2
    return _chord_deg(math.sqrt(c2), c2)


def _mean_direction(rows: list) -> np.ndarray:
    """unit(np.sum(rows, axis=0)) of a few rows of three Python floats: summed as np.sum sums
    them (from 0.0, in their order), in Python floats (numpy calls on a handful of numbers cost
    more than the sums)."""
    t0 = t1 = t2 = 0.0
    for x0, x1, x2 in rows:
        t0, t1, t2 = t0 + x0, t1 + x1, t2 + x2
    return unit(np.array([t0, t1, t2]))


def _chord_deg(c, c2):
    """Degrees from the chord c between two unit vectors (c2 = c * c): see _angle."""
    return c * (1.0 + c2 * (1.0 / 24.0 + c2 * (3.0 / 640.0))) * (180.0 / np.pi)


class PostureCue:
    """Per still epoch, the evidence for sitting over standing (see the module docstring), with
    what it must remember between chunks: recent directions, the anchors.

    history_epochs: how far before the epoch a transition becomes known its window may start
    (the transition window plus the sit-down's confirmation); max_lag: the smoother's lag, how
    far back before a transition's window open epochs may lie; seed_up: the walking upright to use
    before any walking is seen (None: no prior until then)."""

    def __init__(self, epoch_s: float, history_epochs: int, max_lag: int, seed_up: np.ndarray | None = None,
                 cue_every: int = 1, anchors: Anchors | None = None):
        self.epoch_s = epoch_s
        self.max_lag = max_lag
        self.history = history_epochs + ANCHOR_EPOCHS + max_lag
        self.forgetting = False
        self.mark_pending = 0            # heads to wait after the last mark before a reference
        self.mark_abs = True             # it was a reset (or the stream's start): no levels
        self.ref_g: np.ndarray | None = None  # the reference posture found after it
        self.ref_incl = 0.0
        self.persist = max(2, int(round(PERSIST_S / (epoch_s * cue_every))))
        # epochs from the first head of an accepted change to the head that accepts it
        self.held_epochs = (self.persist - 1) * cue_every
        self.persist_hist = np.zeros(self.persist - 1, np.int64)
        self.persist_seen = np.zeros(self.persist - 1, bool)  # ... and which of those heads were judged
        self.persist_margin = int(round(PERSIST_NATS * NAT))
        self.accepted = 0
        self._changes: list = []
        self.seats: list[tuple[int, int]] = []  # seats the wearer's own postures showed (orientation)
        self.shifts: list[int] = []  # sure stand-ups that ended in the wearer's own seat (orientation)
        self._start_anchors = Anchors()
        self.hist_g = np.full((0, 3), np.nan)   # the last epochs' directions (NaN: not still upright)
        self.hist_trace = np.zeros(0, bool)     # ... and which of them left a transition's trace
        self.anchors = Anchors() if anchors is None else anchors  # the wearer's own postures so far
        self.pending: _Pending | None = None
        self.seed_up = None if seed_up is None else np.asarray(seed_up, np.float64)
        self.walk_hist = np.zeros((0, 3), np.int64)
        self.exc_hist = np.full((EXCURSION_EPOCHS, 3), np.nan)  # the last epochs' directions

    def remap(self, fn) -> None:
        """Re-express every remembered direction with ``fn`` (rows of unit vectors in, the same
        directions under another sensor correction out; Decider.change_sensor). The walking
        upright's quantised sum is re-expressed row by row. The anchor changes of the last chunk
        are not: the next chunk starts from the anchors in force."""
        def one(v):
            return None if v is None else fn(np.asarray(v, float)[None, :])[0]

        self.ref_g = one(self.ref_g)
        if self.hist_g.shape[0]:
            self.hist_g = fn(self.hist_g)
        self.anchors = Anchors(one(self.anchors.stand), one(self.anchors.sit))
        if self.pending is not None:
            self.pending.before = one(self.pending.before)
            self.pending.vecs = [one(v).tolist() for v in self.pending.vecs]
        if self.walk_hist.shape[0]:
            self.walk_hist = np.rint(fn(self.walk_hist / _WALK_QUANT) * _WALK_QUANT).astype(np.int64)
        self.exc_hist = fn(self.exc_hist)

    # ------------------------------------------------------------------------- excursions
    def excursions(self, g: np.ndarray) -> np.ndarray:
        """Per epoch (g: each epoch's direction, NaN without data): did the trunk, within the
        EXCURSION_EPOCHS before it, go EXCURSION_DEG or more beyond the way from the direction at
        the start of that span to its own (out and back)? A sit-to-stand or stand-to-sit leans the trunk
        forward (30-45 deg in an ordinary one, 15-30 in a slow careful one) and brings it back; a
        lean in the chair goes one way only, so a reclined sitter leaning forward to where they
        stand shows none (nor does the quiet drift of a posture). Seen on a trunk that moves
        the whole way, whatever the clip's mounting."""
        w = EXCURSION_EPOCHS
        h = self.exc_hist.shape[0]
        n = g.shape[0]
        allg = np.empty((h + n, 3), order="F")  # columns contiguous: _angle works column by column
        allg[:h] = self.exc_hist
        allg[h:] = g
        self.exc_hist = allg[allg.shape[0] - w:].copy()
        # Only a span whose trunk travelled 2 x EXCURSION_DEG can hold one (out and back): summed
        # from the epoch-to-epoch turns (missing data counts as any turn), that leaves the few
        # spans with movement in them to judge, in the same order of sums in any chunking.
        steps = _angle(allg[1:], allg[:-1])
        steps[np.isnan(steps)] = 180.0
        path = steps[:n].copy()
        for k in range(1, w):
            path += steps[k:k + n]
        i = np.flatnonzero(path >= 2.0 * EXCURSION_DEG - 0.01)
        # A span with no data at either end has no way to go beyond (its angles are NaN: no say),
        # however far it turned: the spans around a gap, all of them on a night without data.
        i = i[np.isfinite(allg[i]).all(axis=1) & np.isfinite(allg[i + w]).all(axis=1)]
        out = np.zeros(n, bool)
        for lo in range(0, i.size, _SPANS_AT_ONCE):
            self._judge_spans(allg, i[lo:lo + _SPANS_AT_ONCE], out)
        return out

    @staticmethod
    def _judge_spans(allg: np.ndarray, i: np.ndarray, out: np.ndarray) -> None:
        """Mark out[i] where the span from allg[i] to allg[i + EXCURSION_EPOCHS] is an excursion."""
        w = EXCURSION_EPOCHS
        # How far the trunk went beyond the way from start to end: half the detour through each
        # direction (0 on the way itself, however long the way: a one-way lean of 40 deg, a
        # slouch recovering, passes through directions far from both ends and is no excursion).
        # All the directions between each span's ends at once, one plane per axis (3, w - 1, spans).
        at = i + np.arange(1, w)[:, None]
        mid = np.empty((3,) + at.shape)
        ends = np.empty((3, 2, i.size))
        for c in range(3):
            col = allg[:, c]
            col.take(at, out=mid[c])
            col.take(i, out=ends[c, 0])
            col.take(i + w, out=ends[c, 1])
        start, end, mid = ends[:, 0].T, ends[:, 1].T, mid.transpose(1, 2, 0)
        with np.errstate(invalid="ignore"):  # NaN: no say
            beyond = 0.5 * (_angle(mid, start) + _angle(mid, end) - _angle(start, end))
        out[i[(beyond >= EXCURSION_DEG).any(axis=0)]] = True

    # ------------------------------------------------------------------------ walking up
    def walking_upright(self, g: np.ndarray, walking: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The walking upright in force at chunk positions `at` (unit vectors; NaN rows: not
        known yet)."""
        w = np.flatnonzero(walking & np.isfinite(g[:, 0]))
        q = np.rint(g[w] * _WALK_QUANT).astype(np.int64)
        h = self.walk_hist.shape[0]
        allq = np.concatenate([self.walk_hist, q]) if h else q
        cs = np.zeros((allq.shape[0] + 1, 3), np.int64, order="F")  # columns contiguous
        np.cumsum(allq, axis=0, out=cs[1:])
        count = h + np.searchsorted(w, at, side="right")  # walking epochs at or before each
        start = np.maximum(count - WALK_UP_EPOCHS, 0)
        # column by column (gathering and dividing rows of three is slow)
        out = np.empty((at.shape[0], 3), order="F")
        for c in range(3):
            out[:, c] = cs[:, c].take(count) - cs[:, c].take(start)
        t0, t1, t2 = out[:, 0], out[:, 1], out[:, 2]
        norm = np.sqrt(t0 * t0 + t1 * t1 + t2 * t2)
        np.maximum(norm, 1e-12, out=norm)
        for c in range(3):
            out[:, c] /= norm
        out[count - start < WALK_UP_MIN_EPOCHS] = np.nan
        if self.seed_up is not None:
            out[np.isnan(out[:, 0])] = self.seed_up
        self.walk_hist = allq[max(0, allq.shape[0] - WALK_UP_EPOCHS):]
        return out

    # --------------------------------------------------------------------------- postures
    def orientation(self, first: int, g: np.ndarray, upright: np.ndarray, incl: np.ndarray,
                    events: list[tuple], forget: np.ndarray,
                    walk_up: np.ndarray | None = None, walking: np.ndarray | None = None,
                    told: list | None = None, trace: np.ndarray | None = None,
                    missing: np.ndarray | None = None) -> list:
        """Evidence (NAT units) from the trunk's direction, for epochs first .. first + n - 1.

        g: unit directions; upright: still, upright epochs (the only ones judged, and the only
        ones an anchor is measured on); incl: inclination from the walking upright (the prior
        before the wearer's own postures are known) and the lean; events: (epoch it became
        known, first epoch of its window, sitting after: True, False, or None for the end of a
        walk, which shows only the standing posture; sure: only sure transitions and walks teach
        the postures), in order; forget: epochs after which the
        anchors no longer hold (the sensor was off the body and may sit differently now);
        walk_up: the walking upright per epoch (NaN: unknown); walking: epochs on the feet (a
        transition's 'after' side is the still time before the next walk, or nothing). A pair of postures in which the
        sitting one is nearer the walking upright than the standing one is not believed (a
        false transition, most likely: people sit further from upright than they stand).

        Also returns, per event, which of the epochs before its window (as far back as the
        smoother's lag) look like the other posture: nearer the other posture's reference (the
        standing one, or the walking upright; the sitting one) than the posture right before the
        window, by OTHER_MARGIN_DEG: a transition missed earlier (smoother.Events.other).

        told: (epoch, anchors) the wearer's postures are known to be from that epoch on (a
        calibration's, as its stand step ends); trace: the epochs a missed transition could
        have left its mark on (the trunk's lean out and back, `excursions`, or no data; default
        all): an epoch before a window is taken for the other posture only if such an epoch
        lies between it and the window; missing: epochs without data (a walk's end followed by
        missing data before its 'after' side shows no standing posture: the gap may hold a
        sit-down)."""
        n = g.shape[0]
        hist = self.hist_g
        base = first - hist.shape[0]  # epoch index of hist[0]
        still_at = np.flatnonzero(upright) + first
        cur, pend = self.anchors, self.pending
        self._start_anchors = cur
        changes: list[tuple[int, Anchors]] = []  # (first epoch it holds for, anchors)
        seats: list[tuple[int, int]] = []  # (epoch it became known, first epoch of the seat)
        shifts: list[int] = []  # (epoch it became known) of sure stand-ups that were shifts in the chair

        trace = np.ones(n, bool) if trace is None else trace
        g_up = np.where(upright[:, None], g, np.nan)
        hist_trace = self.hist_trace

        def rows(lo: int, hi: int) -> np.ndarray:
            """Directions of epochs lo .. hi - 1 (NaN: not still and upright; before the kept
            history: left out)."""
            return _span(hist, g_up, base, first, lo, hi)

        def trace_rows(lo: int, hi: int) -> np.ndarray:
            """trace of the same epochs."""
            return _span(hist_trace, trace, base, first, lo, hi)

        next_walk = None if walking is None else next_true(walking)

        def collect(p: _Pending, until: int) -> int | None:
            """Add p's 'after' epochs up to `until`; the epoch that completed it, if any."""
            if p.dead:
                return None
            if next_walk is not None and p.scan_from - first < n:
                w = int(next_walk[max(p.scan_from - first, 0)]) + first
                if w <= until:  # a walk before it was complete: it never will be
                    p.dead = True
                    until = w - 1
            need = ANCHOR_EPOCHS - len(p.vecs)
            lo = int(still_at.searchsorted(max(p.scan_from, first)))
            hi = min(int(still_at.searchsorted(until + 1)), lo + need)
            if missing is not None:
                # (up to the epoch that completed the side; while it is incomplete, up to `until`,
                # where the next scan starts from: a missing epoch after the last still one
                # collected would otherwise never be looked at when a chunk ends there)
                upto = int(still_at[hi - 1]) if hi - lo == need else until
                a = max(p.scan_from, first) - first
                p.unseen |= bool(missing[a:max(a, upto - first + 1)].any())
            p.scan_from = until + 1
            if hi <= lo:
                return None
            if p.begin is None:
                p.begin = int(still_at[lo])
            p.vecs.extend(g[still_at[lo:hi] - first].tolist())  # (rows of three Python floats)
            if len(p.vecs) >= ANCHOR_EPOCHS:
                return int(still_at[hi - 1])
            return None

        def up_at(t: int):
            if walk_up is None:
                return None
            up = walk_up[min(max(t - first, 0), n - 1)]
            return up if math.isfinite(up[0]) else None

        def plausible(a: Anchors, t: int) -> bool:
            up = up_at(t) if a.stand is not None and a.sit is not None else None
            if up is None:
                return True
            return float(a.sit @ up) <= float(a.stand @ up)  # sitting no nearer upright than standing

        def complete(p: _Pending, cur: Anchors, t: int) -> Anchors:
            after = _mean_direction(p.vecs)
            if p.walk and _own_seat(after, cur):
                seats.append((t, int(p.begin)))
                return Anchors(stand=cur.stand, sit=after)
            if p.walk and p.unseen:  # a seat or the feet: nothing known
                return cur
            new = Anchors(stand=cur.stand, sit=after) if p.sit_after else Anchors(stand=after, sit=cur.sit)
            if plausible(new, t):
                return new
            return Anchors(stand=cur.stand) if p.sit_after else Anchors(stand=after)

        onset = forget.copy()
        if n:
            onset[1:] &= ~forget[:-1]
            onset[0] &= not self.forgetting
            self.forgetting = bool(forget[-1])
        other: list = [None] * len(events)
        told = told or []
        actions = sorted([(int(e[0]), 0, i) for i, e in enumerate(events)]
                         + [(int(f) + first, 1, -1) for f in np.flatnonzero(onset)]
                         + [(int(t), 2, i) for i, (t, _) in enumerate(told)], key=lambda a: (a[0], a[1]))
        for t, kind, ei in actions:
            if pend is not None:
                c = collect(pend, t - 1)
                if c is not None:
                    cur = complete(pend, cur, c)
                    changes.append((c + 1, cur))
                    pend = None
            if kind == 2:  # told: these are the wearer's postures
                pend = None
                cur = told[ei][1]
                changes.append((t + 1, cur))
                continue
            if kind == 1:  # the sensor was off: nothing known of how it sits now
                pend = None
                if cur.stand is not None or cur.sit is not None:
                    cur = Anchors()
                    changes.append((t + 1, cur))
                continue
            _, b, sit_after, sure = events[ei]
            b = int(b)
            j = t - first
            if sure and sit_after is False and 0 <= j < n and math.isfinite(g[j, 0]) and _own_seat(g[j], cur):
                # a "stand-up" that ends in this wearer's own seat: a shift in the chair (the hips
                # lifted and lowered again), which teaches no posture
                shifts.append(t)
                continue
            if sit_after is not None:
                # which epochs before the window were in the other posture: worked out only if the
                # smoother asks (most transitions find no open epoch to claim)
                j = t - first
                after = g[j] if 0 <= j < n and math.isfinite(g[j, 0]) else None
                other[ei] = functools.partial(self._other_of, rows, base, b, sit_after, cur, up_at(t), after,
                                              trace_rows)
            if not sure:
                continue
            before = self._before(rows, b) if sit_after is not None else None
            if before is not None and sit_after and _own_seat(before, cur):
                # a "sit-down" from this wearer's own seat: a shift in the chair heard the other
                # way (the hips lowered again), whose seat before it is no standing posture
                before = None
            if before is not None:
                new = Anchors(stand=before, sit=cur.sit) if sit_after else Anchors(stand=cur.stand, sit=before)
                cur = new if plausible(new, t) else (Anchors(stand=before) if sit_after else Anchors(stand=cur.stand))
                changes.append((t + 1, cur))
            pend = _Pending(bool(sit_after), None, t + 1, walk=sit_after is None)  # a newer event supersedes an older one
        if pend is not None:
            c = collect(pend, first + n - 1)
            if c is not None:
                cur = complete(pend, cur, c)
                changes.append((c + 1, cur))
                pend = None
        self.pending = None if pend is not None and pend.dead else pend

        self.anchors = cur
        self.hist_g = rows(first + n - self.history, first + n)
        self.hist_trace = trace_rows(first + n - self.history, first + n)
        self._changes = changes
        self.seats = seats
        self.shifts = shifts
        return other

    def levels(self, first: int, heads: np.ndarray, g: np.ndarray, upright: np.ndarray, incl: np.ndarray,
               mark: np.ndarray, reset_only: np.ndarray, calm: np.ndarray,
               moved: np.ndarray | None = None, rose: np.ndarray | None = None,
               walk_gap: np.ndarray | None = None, walk_up: np.ndarray | None = None) -> np.ndarray:
        """How much more sitting-like the trunk is than the reference posture (the first settled
        posture after the last sure evidence: walking, a seen transition, lying a while), in NAT
        units, judged on a grid of head epochs (one every decide.CUE_EVERY_S: postures change
        over seconds) and accepted as in _persistent; 0 where not still and upright or before
        the reference is seen; after a reset with nothing sure since, no level (the per-second
        inclination evidence counts instead, see `absolute`).

        A posture held for an hour is one observation, not 3600: what the decoder adds to the
        sure evidence is this difference, not a sum over seconds, so a long bout never drifts,
        while a posture change that no transition announced moves the balance by as much as
        the two postures differ. Levels come from the wearer's own postures where known
        (anchors), else from the inclination (from the standing posture after a walk, else from
        the walking upright); a far lean counts as sitting whatever they say.

        All arrays are per head (chunk positions `heads`, every head of the chunk in order):
        g, upright, incl, calm at the head; mark: sure evidence or a reset since the previous
        head; reset_only: the last such was a reset with nothing sure after it; walk_gap (with
        walk_up, the walking upright at each head): the last such was walking and data went
        missing since, so a reference taken there is the walking upright, not the posture after
        the gap (which may be a seat reached in it). Sets
        `absolute` (heads in the unknown regime) and `changing` (heads in a change not yet
        accepted) alongside."""
        m = heads.shape[0]
        out = np.zeros(m, np.int64)
        self.absolute = np.zeros(m, bool)
        self.changing = np.zeros(m, bool)
        self.level_change = np.zeros(m, np.int64)
        if m == 0:
            return out
        idx = np.arange(m)
        lm = _last_true(mark, np.int64)  # the last head with a mark (-1: none in this chunk)
        absolute = np.where(lm >= 0, reset_only[np.maximum(lm, 0)], self.mark_abs)
        cand = upright & calm
        with np.errstate(invalid="ignore"):
            cand &= ~(incl >= LEANING_DEG)  # (NaN: the walking upright not known yet)
        nc = next_true(cand)
        # the reference of each head: the first candidate head REF_DELAY after its mark
        start = np.where(lm >= 0, lm + 1 + REF_DELAY, self.mark_pending)
        r = np.where(start < m, nc[np.clip(start, 0, m - 1)], m)
        carried = (lm < 0) & (self.ref_g is not None)
        r[carried] = -1
        has_ref = (r == -1) | (r <= idx)
        self.absolute = absolute & upright
        pos = np.flatnonzero(upright & has_ref & ~absolute)
        if pos.size:
            stand, sit, which = self._anchors_at(first, heads[pos])
            level = self._levels_of(take_rows(g, pos), incl[pos], stand, sit, which)
            # the reference's level under the same anchors, once per run of equal (reference, anchors)
            rp = r[pos]
            new = np.ones(pos.size, bool)
            new[1:] = (rp[1:] != rp[:-1]) | (which[1:] != which[:-1])
            hd = np.flatnonzero(new)
            rh = rp[hd]
            own = rh >= 0
            ref_g = np.empty((hd.size, 3))
            ref_i = np.empty(hd.size)
            ref_g[own], ref_i[own] = g[rh[own]], incl[rh[own]]
            if walk_gap is not None:
                hid = np.flatnonzero(own)[walk_gap[rh[own]] & np.isfinite(walk_up[rh[own], 0])]
                ref_g[hid], ref_i[hid] = walk_up[rh[hid]], 0.0
            if not own.all():
                ref_g[~own], ref_i[~own] = self.ref_g, self.ref_incl
            base = self._levels_of(ref_g, ref_i, stand, sit, which[hd])
            base = np.repeat(base, np.diff(np.append(hd, pos.size)))
            out[pos] = np.rint((level - base) * NAT).astype(np.int64)
        # carry: the last mark, and the reference found after it
        if lm[-1] >= 0:
            self.mark_abs = bool(reset_only[lm[-1]])
            self.ref_g = None
            self.mark_pending = int(lm[-1]) + 1 + REF_DELAY - m  # heads still to wait in the next chunk
        else:
            self.mark_pending -= m
        if not self.mark_abs and self.ref_g is None and 0 <= r[-1] < m and has_ref[-1]:
            self.ref_g, self.ref_incl = g[r[-1]].copy(), float(incl[r[-1]])
            if walk_gap is not None and walk_gap[r[-1]] and np.isfinite(walk_up[r[-1], 0]):
                self.ref_g, self.ref_incl = walk_up[r[-1]].copy(), 0.0
        # a head with a reference whose trunk was not still and upright says nothing of the level
        # (a gesture, a step): it neither holds a change up nor counts toward it
        return self._persistent(out, mark, moved, upright | ~has_ref | absolute, rose)

    def _persistent(self, out: np.ndarray, mark: np.ndarray, moved: np.ndarray | None = None,
                    seen: np.ndarray | None = None, rose: np.ndarray | None = None) -> np.ndarray:
        """The level as accepted: it moves to a new value only once the level has stayed beyond
        it (by PERSIST_NATS, all one way) for PERSIST_S, and starts from 0 at each sure evidence
        or reset. Leaning toward the screen for a minute, or the passage through upright into a
        slouch, is not a missed transition; sitting or standing for minutes is. (Per head.)

        seen: the heads whose level was judged (default all). The others (the trunk moving: a
        gesture, a step) are left out of the window; a change is accepted at a judged head, with
        at least half the window's heads judged. Standing people fidget: a level that had to hold
        through every head of two minutes was, for them, seldom accepted at all.

        moved / rose: the heads at which a change toward sitting / toward standing may be
        accepted (default: any)."""
        n = out.shape[0]
        w = self.persist
        seen = np.ones(n, bool) if seen is None else seen
        allv = np.concatenate([self.persist_hist, out])
        alls = np.concatenate([self.persist_seen, seen])
        cols = np.empty((allv.shape[0], 2), np.int64)
        cols[:, 0] = np.where(alls, allv, BIG)
        cols[:, 1] = np.where(alls, -allv, BIG)
        top, = sliding_reduce(cols, np.minimum, (w,))
        lo, hi = top[:, 0], -top[:, 1]  # smallest and largest judged level over the last w heads
        judged, self.persist_seen = rolling_count(seen, self.persist_seen, w)
        enough = (judged >= (w + 1) // 2) & seen
        self.persist_hist = allv[allv.shape[0] - (w - 1):]
        eff = np.zeros(n, np.int64)
        d = self.persist_margin
        # stretches between marks (at a mark: a new reference, nothing accepted yet)
        after = np.ones(n, bool)
        after[1:] = mark[:-1]
        starts = np.flatnonzero(~mark & after)   # first epoch after a run of marks
        if n and not mark[0] and (starts.size == 0 or starts[0] != 0):
            starts = np.concatenate(([0], starts))
        ends = np.flatnonzero(mark & ~after)     # first mark after a stretch
        a = self.accepted
        # A stretch after a mark starts from 0: the first place it can change is the first
        # beyond +-d (found for all stretches at once); most stretches never get there.
        can = (np.ones(n, bool) if moved is None else moved) & enough
        can_up = can if rose is None else rose & enough
        first_change = next_true(((lo > d) & can) | ((hi < -d) & can_up))
        e_i = np.searchsorted(ends, starts, side="right")
        stretch_end = np.where(e_i < ends.shape[0], ends[np.minimum(e_i, max(ends.shape[0] - 1, 0))], n) if ends.size else np.full(starts.shape, n)
        fresh = (starts > 0) | (n > 0 and bool(mark[0]))  # begins right after a mark (a = 0)
        busy = ~fresh | (first_change[np.minimum(starts, max(n - 1, 0))] < stretch_end)
        for st, end, fr in zip(starts[busy].tolist(), stretch_end[busy].tolist(), fresh[busy].tolist()):
            if fr:
                a = 0
            p = st
            while p < end:
                down = (lo[p:end] > a + d) & can[p:end]
                ch = np.flatnonzero(down | ((hi[p:end] < a - d) & can_up[p:end]))
                if ch.size == 0:
                    eff[p:end] = a
                    break
                j = p + int(ch[0])
                eff[p:j] = a
                a = int(lo[j]) if down[j - p] else int(hi[j])
                eff[j] = a
                p = j + 1
        # the stretch that ends the chunk sets what is carried (quiet stretches accept nothing)
        if starts.size and fresh[-1] and not busy[-1]:
            a = 0
        if n and mark[-1]:
            a = 0
        self.accepted = a
        # a change under way (the level away from the accepted one): its epochs may yet be
        # revised when it is accepted, so they must not be final before (smoother hold), unless
        # the level they show would decide them the same way (`level_change`: that level minus
        # the accepted one, 0 where nothing is under way)
        self.changing = (np.abs(out - eff) > d) & seen
        self.level_change = np.where(self.changing, out - eff, 0)
        return eff

    def _anchors_at(self, first: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The anchor sets of this chunk (standing and sitting anchors, one row per set, NaN rows:
        not known) and which set is in force at each chunk position of pos."""
        table = [self._start_anchors] + [c[1] for c in self._changes]
        starts = np.array([-1] + [c[0] - first for c in self._changes], np.int64)
        which = np.searchsorted(starts, pos, side="right") - 1
        nan = np.full(3, np.nan)
        st = np.array([a.stand if a.stand is not None else nan for a in table])
        si = np.array([a.sit if a.sit is not None else nan for a in table])
        return st, si, which

    def _levels_of(self, g: np.ndarray, incl: np.ndarray, stand: np.ndarray, sit: np.ndarray,
                   which: np.ndarray) -> np.ndarray:
        """Sitting level (nats) of directions g (m, 3) with inclinations incl, given the anchor set
        in force for each (set which[r] of the sets' rows stand/sit; NaN rows: none): from the
        walking upright without a standing anchor, from the standing anchor alone, or between the
        two near either; a far lean is sitting. (What depends on the set alone, the two anchors'
        separation, is worked out once per set.)"""
        level = prior_level(incl)
        set_stand = np.isfinite(stand[:, 0])
        has_stand = set_stand[which]
        if has_stand.any():
            i = np.flatnonzero(has_stand)
            wi = which[i]
            gi = take_rows(g, i)
            to_stand = _angle(gi, take_rows(stand, wi))
            lv = prior_level(to_stand, own=True)
            both = (set_stand & np.isfinite(sit[:, 0]))[wi]
            if both.any():
                wj = wi[both]
                sep = _angle(stand, sit)  # per set
                reach = np.maximum(ANCHOR_NEAR_DEG, 0.75 * sep)[wj]
                weight = np.clip((sep - ANCHOR_MIN_DEG) / (ANCHOR_FULL_DEG - ANCHOR_MIN_DEG), 0.0, 1.0)[wj]
                to_sit = _angle(take_rows(gi, np.flatnonzero(both)), take_rows(sit, wj))
                near = np.minimum(to_stand[both], to_sit) <= reach
                pos = np.clip((to_stand[both] - to_sit) / np.maximum(sep, 1e-6)[wj], -1.0, 1.0)
                lv[both] = np.where(near, pos * weight * LEVEL_NATS, lv[both])
            level[i] = lv
        with np.errstate(invalid="ignore"):
            return np.where(incl >= LEANING_DEG, np.maximum(level, LEANING_LEVEL_NATS), level)

    @staticmethod
    def _before(rows, b: int) -> np.ndarray | None:
        """The posture right before a transition's window (epoch b): the mean direction of the
        still upright epochs among the ANCHOR_EPOCHS before it, or None."""
        pre = [r for r in rows(b - ANCHOR_EPOCHS, b).tolist() if math.isfinite(r[0])]
        return _mean_direction(pre) if pre else None

    def _other_of(self, rows, base: int, b: int, sit_after: bool, anchors: Anchors, up, after,
                  trace_rows) -> tuple | None:
        """What a transition's window at epoch b tells of the epochs before it, within the lag:
        (first epoch, other, guessed) or None.

        other: the epochs nearer the other posture's reference than the posture right before the
        window, and followed before b by an epoch a missed transition could have left its trace
        on (a reclined sitter who leaned forward to where they stand, then sat back, changed
        posture without leaving the chair). The reference: the trunk at the quiet end of the
        transition (the posture it led to, as this wearer holds it now), else the sitting
        anchor, or the standing one or the walking upright, as they were at the time.
        guessed (or None): the epochs held as the posture before the window, nearer it than the
        posture after; for the smoother's guesses (made before anything sure was seen) only these
        are claimed. A transition detected between two like postures (a shift in the chair read
        as a sit-down) claims none of them."""
        before = self._before(rows, b)
        if before is None:
            return None
        lo = max(b - self.max_lag, base)
        r = rows(lo, b)
        if r.shape[0] == 0:
            return None
        ref = after if after is not None else (
            anchors.sit if sit_after else (anchors.stand if anchors.stand is not None else up))
        tr = trace_rows(lo, b)  # the same epochs as r
        later = np.zeros(r.shape[0], bool)  # a trace after the epoch and before b
        later[:-1] = np.logical_or.accumulate(tr[::-1])[::-1][1:]
        other = _nearer(r, ref, before) & later if _apart(before, ref) else np.zeros(r.shape[0], bool)
        guessed = _nearer(r, before, after) & ~later if _apart(before, after) else None
        return lo, other, guessed


def _apart(a: np.ndarray, b) -> bool:
    """Are two postures (unit vectors; b may be None or NaN) ANCHOR_MIN_DEG or more apart?"""
    return b is not None and bool(np.isfinite(b[0])) and float(a @ b) <= np.cos(np.radians(ANCHOR_MIN_DEG))


def _nearer(r: np.ndarray, ref: np.ndarray, than: np.ndarray) -> np.ndarray:
    """Rows nearer `ref` than `than` by OTHER_MARGIN_DEG (False where NaN)."""
    with np.errstate(invalid="ignore"):
        return (_angle(r, np.broadcast_to(ref, r.shape)) + OTHER_MARGIN_DEG
                < _angle(r, np.broadcast_to(than, r.shape)))


def _span(hist: np.ndarray, cur: np.ndarray, base: int, first: int, lo: int, hi: int) -> np.ndarray:
    """Rows of epochs lo .. hi - 1 from the kept history (hist, epochs from base) and this chunk
    (cur, epochs from first); those before the history are left out."""
    lo = max(lo, base)
    parts = []
    if lo < first:
        parts.append(hist[lo - base:min(hi, first) - base])
    if hi > first:
        parts.append(cur[max(lo, first) - first:hi - first])
    return parts[0] if len(parts) == 1 else (np.concatenate(parts) if parts else cur[:0])


def _own_seat(after: np.ndarray, anchors: Anchors) -> bool:
    """Is the first posture after a walk the wearer's own sitting one (a seat reached unseen)?

    After a walk the wearer stands, unless the walk's end and the sit-down went unseen (a radio
    gap). Where this wearer's own postures are known from a seen transition, a posture after the
    walk that lies with their sitting one (nearer it than their standing one by at least half
    the two postures' separation) and beyond the few degrees a standing trunk varies (more than
    OWN_NEITHER_DEG[1] from their standing posture) is that seat."""
    if anchors.stand is None or anchors.sit is None:
        return False
    stand, sit, after = (np.asarray(v, float).tolist() for v in (anchors.stand, anchors.sit, after))
    sep, to_stand, to_sit = _angle1(stand, sit), _angle1(after, stand), _angle1(after, sit)
    return bool(sep >= ANCHOR_MIN_DEG and to_stand - to_sit >= SEAT_SHARE * sep and to_stand > OWN_NEITHER_DEG[1])
