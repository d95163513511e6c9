"""Sitting or standing: a two-state hidden Markov model, decoded with a bounded lag.

Between a seen sit-down and a seen stand-up the posture used to be carried forward, so one missed
transition cost the whole bout. Here every epoch contributes evidence, a log-likelihood ratio of
sitting over standing in integer units (NAT per nat, so sums are exact in any order): seen
transitions and walking are strong, the posture cue (posture_cue.py) is weak. The best state
sequence (max-product, Viterbi) of a two-state chain whose switches cost `switch` nats follows
from one number per epoch, the score difference D (sitting minus standing):

    D_t = clip(D_{t-1}, -switch, switch) + x_t

and it has a simple shape: wherever |D_t| >= switch, the best path is in the state sign(D_t)
whatever comes later (the epoch is *committed*); an epoch in between takes the state of the
next committed epoch. So an epoch's state is final as soon as a later epoch commits, and a
missed transition costs only the epochs before the contrary evidence outweighs `switch`: the
epochs after the true change are revised when the decoder commits to the new state.

Bounded lag: an epoch not resolved `max_lag` epochs after it is decided by the best path at that
moment (the sign of D then). A seen transition also settles the epochs still open before its
window (one was standing before a sit-down, sitting before a stand-up: that is what a transition
observes), and a reset (the sensor taken off, a long gap) settles everything before it.
Before anything sure was seen, a commit is only a guess (the prior of desk work): it stays
revisable like an open epoch, and the first sure transition may claim it (PostureSmoother.step).

Streaming equals batch: D is an integer recurrence evaluated by an exact doubling scan (maps
d -> clip(d, lo, hi) + b compose associatively), and every decision depends only on epochs up
to its own decision time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


NAT = 64  # evidence units per nat: fine enough for weak cues, coarse enough for int32 sums


def nats(value: float) -> int:
    return int(round(value * NAT))


def clip_scan(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, d0: int) -> np.ndarray:
    """D_t = clip(D_{t-1}, lo_t, hi_t) + x_t for all t, starting from D_{-1} = d0 (all integer).

    Each step is the map d -> clip(d, lo, hi) + b; such maps compose into maps of the same form,
    so a doubling (Hillis-Steele) scan gives every prefix in log2(n) vectorised passes, exactly.
    A step with nothing to add repeats nothing new after an identical one (its clip is then
    already applied), so runs of such steps are scanned as one step."""
    n = x.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    # Compress: a step (lo, hi, 0) right after the same step changes nothing: drop it.
    zero = x == 0
    same = np.zeros(n, bool)
    same[1:] = zero[1:] & zero[:-1] & (lo[1:] == lo[:-1]) & (hi[1:] == hi[:-1])
    keep = np.flatnonzero(~same)
    a, b, o = lo[keep].astype(np.int64), hi[keep].astype(np.int64), x[keep].astype(np.int64)
    s = 1
    m = keep.shape[0]
    while s < m:
        # compose (steps up to i - s) then (steps i - s + 1 .. i)
        o1 = o[:-s]
        lo2 = a[s:] - o1
        hi2 = b[s:] - o1
        na = np.minimum(np.maximum(a[:-s], lo2), hi2)
        nb = np.maximum(np.minimum(b[:-s], hi2), lo2)
        a[s:], b[s:], o[s:] = na, nb, o1 + o[s:]
        s *= 2
    d = np.minimum(np.maximum(d0, a), b) + o
    if keep.shape[0] == n:
        return d
    # a dropped step leaves D as the identical step before it left it
    return np.repeat(d, np.diff(np.append(keep, n)))


@dataclass
class Events:
    """Transitions seen in this chunk: at epoch `at` it became known that the epochs before
    `before` were in posture `sit` (True: sitting). Sorted by `at`.

    other (optional, one entry per event, or a callable giving it): what the transition tells of
    the epochs before `before`, as (first epoch, other, guessed), flags for the epochs from there
    to `before`, or None: `other`, those in the other posture all the same (a transition missed
    earlier); `guessed` (or None), the guesses it claims (see PostureSmoother.step): for the
    posture before the window, or the other one where `other` flags them as well (the epochs from
    a break in the data to a stand-up told by the sway across it, core/sway_breaks.py)."""

    at: np.ndarray
    before: np.ndarray
    sit: np.ndarray
    other: list | None = None
    sure: np.ndarray | None = None  # (default all) those seen surely: only they decide guesses

    @classmethod
    def none(cls) -> "Events":
        z = np.zeros(0, np.int64)
        return cls(z, z.copy(), np.zeros(0, bool))


@dataclass
class Decoded:
    """What the smoother says about one chunk of epochs first .. first + n - 1.

    provisional: per chunk epoch, the posture as it stands at that epoch (True: sitting);
    decided_from / decided: final postures for epochs decided_from .. (1 sitting, 0 standing,
    -1 still open), which may start before this chunk (epochs held from earlier ones);
    open_from: per chunk epoch, the first epoch still open after it (all before are final).
    """

    provisional: np.ndarray
    decided_from: int
    decided: np.ndarray
    open_from: np.ndarray


class PostureSmoother:
    """The decoder with its carry: the last score and the epochs not yet decided.

    reach: how many epochs before the epoch it becomes known a transition's window may start.
    A commit that settles epochs still open before it is therefore final only `reach` epochs
    later: a transition seen by then whose window starts after those epochs (but not after the
    commit) tells their posture instead, as its evidence placed at its window's start would.
    """

    def __init__(self, switch: int, max_lag: int, reach: int = 0):
        if switch <= 0 or max_lag < 1 or reach < 0:
            raise ValueError("switch must be positive, max_lag at least 1, reach not negative")
        self.switch = int(switch)
        self.max_lag = int(max_lag)
        self.reach = int(reach)
        self.d = 0          # D at the last epoch seen
        self._q = self.switch  # the cost of switching after it
        self._d_last = 0       # the score there with its offset
        self.open = None    # first epoch not yet final (None before any epoch)
        # for epochs open .. the last one seen: the commit that settles each (BIG: none yet),
        # the posture it gives, and the decision (time, posture) where already made
        self._c = np.zeros(0, np.int64)
        self._ck = np.zeros(0, np.int64)
        self._cval = np.zeros(0, bool)
        self._tau = np.zeros(0, np.int64)
        self._val = np.zeros(0, bool)
        self._g = np.zeros(0, bool)   # guesses (see step) among them
        self._bmax = -BIG   # the latest window start of a transition seen so far
        self._bmax_sure = -BIG  # ... of a sure one
        self._held_last = False  # whether the last epoch seen was held (a cut right after it is dropped)

    def step(self, first: int, x: np.ndarray, reset: np.ndarray, events: Events,
             switch: np.ndarray | None = None, offset: np.ndarray | None = None,
             settles: np.ndarray | None = None, hold: np.ndarray | None = None,
             pending: np.ndarray | None = None, cut: np.ndarray | None = None,
             cut_hold: np.ndarray | None = None) -> Decoded:
        """x: evidence per epoch (int, NAT units) for epochs first .. first + n - 1; reset: the
        epochs at which the past is forgotten (switching into them is free: after the sensor was
        off, after a long gap); switch: the cost of switching right after each epoch (NAT
        units; default the constant given at construction); offset: a score added to each
        epoch's D outside the recurrence (a level, not evidence that accumulates); settles:
        the epochs whose commit also settles the open epochs before them (default all); hold:
        epochs that may not commit (a change under way that may yet revise them); pending: for
        held epochs, what that change would add to their offset once accepted (0: not known): a
        held epoch whose commit stands as well with it (the same posture, as surely) commits all
        the same (sitting slumped past the posture cue's lean where it was accepted sitting
        upright, say). cut: epochs at which a break in the data (long enough to hold a
        transition) is known: the epochs still open before the break are decided as they stand
        at the epoch before (as before a reset); the score carries on. A cut right after a held
        epoch is dropped: the change under way decides those epochs. cut_hold (default hold):
        the held epochs that drop a cut right after them."""
        n = x.shape[0]
        q = np.full(n, self.switch, np.int64) if switch is None else switch.astype(np.int64)
        if self.open is None:
            self.open = first
        if n == 0:
            return Decoded(np.zeros(0, bool), self.open, np.zeros(0, np.int8), np.zeros(0, np.int64))
        into = np.concatenate(([self._q], q[:-1]))  # the cost of switching into each epoch
        lo = np.where(reset, 0, -into)
        base = clip_scan(x, lo, -lo, self.d)
        d = base if offset is None else base + offset
        sit_now = d >= 0
        strong = (d >= q) | (d <= -q)
        if hold is not None:
            if pending is not None:
                alt = d + pending
                hold = hold & ~((pending != 0) & np.where(sit_now, alt >= q, alt <= -q))
            strong &= ~hold
        # a reset makes the epoch before it final as it stands (known at the reset)
        at_reset = np.zeros(n, bool)
        at_reset[:-1] = reset[1:]
        # ... and so does a break in the data (cut), unless that epoch is held
        cut_first = False
        if cut is not None:
            at_cut = np.zeros(n, bool)
            at_cut[:-1] = cut[1:]
            if cut_hold is None:
                cut_hold = hold
            if cut_hold is not None:
                at_cut &= ~cut_hold
            at_reset |= at_cut
            cut_first = bool(cut[0]) and not self._held_last
        self._held_last = bool(cut_hold[-1]) if cut_hold is not None else False
        # A guess (a commit made before anything sure was seen: `settles` false) settles nothing
        # but itself, and is final in its own posture only when an open epoch would be (by the
        # next settling commit, a reset, or the lag): until then, the first sure transition whose
        # window starts after it may claim it for the posture before that window (the first sure
        # thing a recording shows speaks for the epochs right before it, however long the prior
        # had guessed them; posture_cue says which ones it claims).
        guess = np.zeros(n, bool) if settles is None else strong & ~settles
        commit = (strong | at_reset) & ~guess
        # which commits settle the open epochs before them
        later = commit if settles is None else (strong & settles) | at_reset
        last = first + n - 1

        u = self.open
        c0 = first - u  # epochs carried open from earlier chunks
        m = c0 + n
        settling = strong if settles is None else strong & settles
        # Most epochs commit themselves: final when that is known (at once by the score, at the
        # reset after it by a reset), in their own posture.
        tau = np.empty(m, np.int64)
        val = np.empty(m, bool)
        own_known = np.arange(first, first + n, dtype=np.int64) + (at_reset & ~strong)
        tau[c0:] = own_known
        val[c0:] = sit_now
        # The rest (carried ones, and those not committed) are settled by a later commit ...
        s_chunk = np.flatnonzero(~commit)
        sel = np.concatenate([np.arange(c0), c0 + s_chunk])
        idx = u + sel
        later_pos = np.flatnonzero(later)
        j = np.searchsorted(later_pos, s_chunk)
        has = j < later_pos.shape[0]
        lp = later_pos[np.minimum(j, max(later_pos.shape[0] - 1, 0))] if later_pos.size else np.zeros(j.shape, np.int64)
        c = np.concatenate([self._c, np.where(has, first + lp, BIG)])
        ck = np.concatenate([self._ck, np.where(has, first + lp + ~settling[lp] if later_pos.size else BIG, BIG)])
        cval = np.concatenate([self._cval, sit_now[lp] if later_pos.size else np.zeros(j.shape, bool)])
        g = np.concatenate([self._g, guess[s_chunk]])
        cval[c0:][g[c0:]] = sit_now[s_chunk[g[c0:]]]  # a guess holds its own posture
        if c0:
            none = np.flatnonzero(c[:c0] == BIG)
            own_g = g[none]
            if reset[0] or cut_first:  # the last epoch before this chunk is final as it stands
                c[none], ck[none] = first - 1, first
                cval[none] = np.where(own_g, cval[none], self._d_last >= 0)
            elif later_pos.size:
                j0 = int(later_pos[0])
                c[none], ck[none] = first + j0, first + j0 + (not settling[j0])
                cval[none] = np.where(own_g, cval[none], sit_now[j0])
        # ... `reach` epochs after it ...
        t = np.where(c == BIG, BIG, np.where(c == idx, ck, np.maximum(ck, c + self.reach)))
        v = cval.copy()
        # ... unless the lag runs out first (the best path then; a guess's own) ...
        forced = idx + self.max_lag
        use = forced < t
        t[use] = forced[use]
        ok = use & (forced <= last) & ~g
        v[ok] = sit_now[forced[ok] - first]
        # ... or a transition shows the posture before its window, which starts after the epoch
        # and no later than its commit (a guess: only a sure one does).
        if events.at.size:
            sure = np.ones(events.at.shape[0], bool) if events.sure is None else events.sure
            self._bmax = self._speak(events, np.ones_like(sure), self._bmax, idx, c, t, v, ~g, False)
            self._bmax_sure = self._speak(events, sure, self._bmax_sure, idx, c, t, v, g, True)
        tau[sel], val[sel] = t, v
        # decisions made earlier stay as they were
        if c0:
            made = self._tau <= first - 1
            tau[:c0][made], val[:c0][made] = self._tau[made], self._val[made]
        done = tau <= last
        decided = np.where(done, val, -1).astype(np.int8)
        # the first epoch still open after each chunk epoch
        reach_max = np.maximum.accumulate(tau)
        # (searchsorted(reach_max, first .. first + n - 1, side="right"), counted: how many reach
        # at most each epoch, from one bincount; a binary search per epoch took four times as long)
        open_from = u + np.cumsum(np.bincount(np.clip(reach_max - first, -1, n) + 1, minlength=n + 2))[1:n + 1]
        keep_from = int(open_from[-1]) - u
        # carry, for the epochs from the first open one: their commit (own: themselves) and decision
        kc = np.full(m - keep_from, BIG, np.int64)
        kck = np.full(m - keep_from, BIG, np.int64)
        kcv = np.zeros(m - keep_from, bool)
        pos_sel = np.searchsorted(sel, np.arange(keep_from, m))
        in_sel = (pos_sel < sel.shape[0]) & (sel[np.minimum(pos_sel, max(sel.shape[0] - 1, 0))] == np.arange(keep_from, m)) if sel.size else np.zeros(m - keep_from, bool)
        kc[in_sel], kck[in_sel], kcv[in_sel] = c[pos_sel[in_sel]], ck[pos_sel[in_sel]], cval[pos_sel[in_sel]]
        own = ~in_sel  # committed themselves: decided (or known at the reset right after)
        kc[own] = u + np.arange(keep_from, m)[own]
        kck[own] = tau[keep_from:][own]
        kcv[own] = val[keep_from:][own]
        kg = np.zeros(m - keep_from, bool)
        kg[in_sel] = g[pos_sel[in_sel]]
        self._c, self._ck, self._cval, self._g = kc, kck, kcv, kg
        self._tau, self._val = tau[keep_from:], val[keep_from:]
        self.d = int(base[-1])
        self._d_last = int(d[-1])
        self._q = int(q[-1])
        self.open = int(open_from[-1])
        return Decoded(sit_now, u, decided, open_from)

    @staticmethod
    def _speak(events: Events, which: np.ndarray, bmax0: int, idx, c, t, v, mask, guesses: bool) -> int:
        """Let the transitions `which` decide the epochs `mask` (idx: their numbers, c: their
        commits; t, v: their decision times and postures, updated in place): only the first
        transition whose window starts after an epoch speaks for it. Returns the latest window
        start seen. A guess keeps its own posture unless the transition claims it."""
        bef_all = events.before[which]
        bmax = np.maximum.accumulate(np.concatenate(([bmax0], bef_all)))
        keep = np.flatnonzero(which)[bef_all > bmax[:-1]]
        if not keep.size or not mask.any():
            return int(bmax[-1])
        bef, at, es = events.before[keep], events.at[keep], events.sit[keep]
        je = np.searchsorted(bef, idx, side="right")
        hit = je < bef.shape[0]
        jj = np.minimum(je, bef.shape[0] - 1)
        use = mask & hit & (bef[jj] <= c) & (at[jj] <= t)
        t[use] = at[jj][use]
        if not guesses:
            v[use] = es[jj][use]
        if events.other is not None:
            for e in np.unique(jj[use]):
                other = events.other[keep[e]]
                if callable(other):
                    other = other()
                if other is None:
                    continue
                lo_e, flags, claims = other
                i = np.flatnonzero(use & (jj == e) & (idx >= lo_e) & (idx < lo_e + flags.shape[0]))
                if not guesses:
                    v[i] ^= flags[idx[i] - lo_e]
                elif claims is not None:
                    v[i] = np.where(claims[idx[i] - lo_e], es[e] ^ flags[idx[i] - lo_e], v[i])
        return int(bmax[-1])


BIG = np.iinfo(np.int64).max // 4
