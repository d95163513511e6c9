"""The wearer's forward direction from physics that needs no help from the wearer, with a confidence.

A clip can be worn any way round, so "forward" (the way the gravity vector moves in the sensor's
axes when the trunk flexes forward) must be learned. Three kinds of evidence, each a set of votes
(unit vectors perpendicular to upright):

- **transitions**: everyone leans forward to get their weight over their feet when standing up
  or sitting down; each sit-to-stand or stand-to-sit gives the direction of its largest lean;
- **gait**: while walking, the horizontal acceleration at the step frequency that leads the
  vertical acceleration by a quarter step points forward (core/gait.py), one vote per walking
  epoch (its axis is the anteroposterior one: sideways sway runs at half the step frequency);

(A third kind, the forward acceleration at the start of a walk, was measured and is not used: on
the 45 real recordings only 5 walks start from quiet standing, and 2 of the 5 point forward.
Cues from still data alone, breathing asymmetry, the heartbeat's axis, the spread of seated
postures and the sensor's mounting, were measured too and none is safe to vote with: see
docs/core.md, "Forward direction", and benchmarks/forward_cues.py.)

Each source's votes are counted as a sign test: a vote agrees with a candidate direction when it
lies within 60 degrees of it, disagrees when within 60 degrees of its opposite. With a per-vote
reliability q (the share of votes that point the right way, measured on real recordings; see
the constants), each net agreeing vote adds log(q / (1 - q)) to the log-odds that the direction
is forward rather than backward. A source's log-odds are capped: many votes of one kind cannot
outweigh a systematic error of that kind, so a second source that disagrees brings the
confidence back down. Forward is *known* when the probability reaches KNOWN_PROBABILITY.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..timefmt import pct
from .vectors import unit

# Per-vote reliabilities, from what the real recordings in ../shared/realdata show (docs/core.md,
# "Forward direction") and what biomechanics says (everyone flexes the trunk 30-50 degrees to
# stand up or sit down): of the 17 transition votes, all 14 decisive ones that lean 20 degrees or
# more point forward (Jeffreys estimate 0.97), the one pointing backward leaned 13; of the walking
# epochs' votes that fall within 60 degrees of forward or of backward, 70-76% fall near forward.
# One deep sit-down or stand-up is thus just enough on its own; a shallow one is not.
TRANSITION_RELIABILITY = 0.96
SHALLOW_TRANSITION_RELIABILITY = 0.85
DEEP_TRANSITION_DEG = 20.0
GAIT_RELIABILITY = 0.7
# One source alone can make forward known, but a source as a whole is never trusted beyond
# 1 in 400 (log-odds 6): neither source was wrong on any of the 45 real recordings, which is
# as much as 45 recordings can show. A second source saying the opposite brings it down again.
MAX_SOURCE_LOG_ODDS = 6.0
KNOWN_PROBABILITY = 0.95
# A vote counts for a direction within this angle of it (against, within it of the opposite).
VOTE_CONE_DEG = 60.0

MIN_TRANSITION_TILT_DEG = 10.0
# An excursion beyond the start-to-end path this large, pointing against the largest tilt, vetoes it.
VETO_EXCURSION_DEG = 5.0
# A window whose trunk reaches this far from upright holds a lie-down or a sit-up, whose largest
# tilt points to the side the wearer lies on, not forward: it is left out.
MAX_TRANSITION_TILT_DEG = 60.0


@dataclass(frozen=True)
class Votes:
    """One source of evidence: unit vectors perpendicular to upright, in the calibrated sensor frame."""

    source: str
    vectors: np.ndarray
    reliability: float | np.ndarray  # one for all votes, or one per vote

    def __len__(self) -> int:
        return int(self.vectors.shape[0])


@dataclass(frozen=True)
class ForwardEstimate:
    """direction: unit vector (None without any vote); probability that it is forward rather
    than backward; counts: votes per source; known: probability >= KNOWN_PROBABILITY."""

    direction: np.ndarray | None
    probability: float
    counts: dict[str, int]

    @property
    def known(self) -> bool:
        return self.direction is not None and self.probability >= KNOWN_PROBABILITY

    def describe(self) -> str:
        have = ", ".join(f"{n} {name}" for name, n in self.counts.items() if n)
        if not have:
            return "unknown (no walking, sit-downs or stand-ups seen yet)"
        return f"{have} ({pct(self.probability)} sure it is not backwards)"


def horizontal_units(v: np.ndarray, up: np.ndarray, min_norm: float = 1e-6) -> np.ndarray:
    """Rows of v without their component along up, made unit length; rows too short are dropped."""
    h = v - np.outer(v @ up, up)
    norm = np.linalg.norm(h, axis=1)
    keep = np.isfinite(norm) & (norm > min_norm)
    return h[keep] / norm[keep, None]


def transition_votes(g: np.ndarray, up: np.ndarray, k: np.ndarray, events: np.ndarray, span: int) -> Votes:
    """The direction of the largest lean of each sit-to-stand / stand-to-sit (one vote per transition).

    g: unit gravity directions of the epochs k (calibrated); events: epochs whose window holds a
    whole transition; span: the window length in epochs. The lean is the largest tilt from
    upright in the window (at least MIN_TRANSITION_TILT_DEG; windows reaching lying are left
    out). It is vetoed when the largest excursion beyond the path from the window's first
    posture to its last (standing and sitting) points the other way: then the largest tilt is a
    posture at one end rather than the lean on the way (someone who sits reclined and sits down
    with a straight back; a sensor on the pelvis, which tilts back as the trunk leans forward).
    """
    ev = np.flatnonzero(events)
    if ev.size == 0:
        return Votes("sit/stand transitions", np.zeros((0, 3)), TRANSITION_RELIABILITY)
    want = k[ev, None] - np.arange(span)[::-1]
    pos = np.clip(np.searchsorted(k, want), 0, k.shape[0] - 1)
    present = (k[pos] == want) & np.isfinite(g[pos, 0])
    gw = np.where(present[..., None], g[pos], 0.0)
    rows = np.arange(ev.size)
    d = gw - (gw @ up)[..., None] * up
    size = np.where(present, np.linalg.norm(d, axis=2), -1.0)
    best = np.argmax(size, axis=1)
    reclined = (present & ((gw @ up) < np.cos(np.radians(MAX_TRANSITION_TILT_DEG)))).any(axis=1)
    big = (size[rows, best] >= np.sin(np.radians(MIN_TRANSITION_TILT_DEG))) & ~reclined
    # The excursion beyond the start-to-end path (its nearest point): the end postures are none.
    first = np.argmax(present, axis=1)
    last = span - 1 - np.argmax(present[:, ::-1], axis=1)
    start = gw[rows, first]
    path = gw[rows, last] - start
    along = np.einsum("wsc,wc->ws", gw - start[:, None, :], path) / np.maximum(np.einsum("wc,wc->w", path, path), 1e-12)[:, None]
    e = gw - (start[:, None, :] + np.clip(along, 0.0, 1.0)[..., None] * path[:, None, :])
    e -= (e @ up)[..., None] * up
    esize = np.where(present, np.linalg.norm(e, axis=2), -1.0)
    ebest = np.argmax(esize, axis=1)
    against = (esize[rows, ebest] >= np.sin(np.radians(VETO_EXCURSION_DEG))) & (
        np.einsum("wc,wc->w", e[rows, ebest], d[rows, best]) < 0)
    keep = big & ~against
    # Several consecutive windows hold the same transition: one vote each, the one leaning most.
    group = np.cumsum(np.concatenate(([1], np.diff(k[ev]) >= span)))
    lean = np.where(keep, size[rows, best], -1.0)
    order = np.lexsort((-lean, group))
    first_of_group = np.concatenate(([True], group[order][1:] != group[order][:-1]))
    pick = order[first_of_group]
    pick = pick[keep[pick]]
    tilt = size[pick, best[pick]]
    leans = d[pick, best[pick]] / tilt[:, None]
    reliability = np.where(tilt >= np.sin(np.radians(DEEP_TRANSITION_DEG)), TRANSITION_RELIABILITY,
                           SHALLOW_TRANSITION_RELIABILITY)
    return Votes("sit/stand transitions", leans, reliability)


def gait_votes(lead: np.ndarray, gain, up: np.ndarray, walking: np.ndarray) -> Votes:
    """One vote per walking epoch that has a gait lead vector (every other one: core/gait.py),
    from that vector (raw axes, so the sensor's gains are applied here)."""
    at = np.flatnonzero(walking & np.isfinite(lead[:, 0]))
    v = lead[at].astype(np.float64) * np.asarray(gain, float)
    return Votes("walking epochs", horizontal_units(v, up), GAIT_RELIABILITY)


def combine(up: np.ndarray, sources: list[Votes]) -> ForwardEstimate:
    """The forward direction the sources agree on, and how sure that it is not backwards."""
    counts = {s.source: len(s) for s in sources}
    cos_cone = np.cos(np.radians(VOTE_CONE_DEG))
    directions, weights = [], []
    for s in sources:
        if len(s) == 0:
            continue
        mean = s.vectors.mean(axis=0)
        mean -= (mean @ up) * up
        if np.linalg.norm(mean) < 1e-9:
            continue
        d = unit(mean)
        directions.append(d)
        weights.append(_log_odds(s, d, cos_cone))
    if not directions:
        return ForwardEstimate(None, 0.5, counts)
    # Each source's own direction, weighted by how sure it is of it.
    total = sum(max(w, 0.0) * d for w, d in zip(weights, directions))
    if np.linalg.norm(total) < 1e-9:
        return ForwardEstimate(None, 0.5, counts)
    direction = unit(total - (total @ up) * up)
    log_odds = sum(_log_odds(s, direction, cos_cone) for s in sources if len(s))
    probability = float(1.0 / (1.0 + np.exp(-log_odds)))
    return ForwardEstimate(direction, probability, counts)


def _log_odds(s: Votes, direction: np.ndarray, cos_cone: float) -> float:
    proj = s.vectors @ direction
    sign = (proj >= cos_cone).astype(float) - (proj <= -cos_cone)
    q = np.broadcast_to(np.asarray(s.reliability, float), sign.shape)
    total = float(np.sum(sign * np.log(q / (1.0 - q))))
    return float(np.clip(total, -MAX_SOURCE_LOG_ODDS, MAX_SOURCE_LOG_ODDS))
