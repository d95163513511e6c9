"""Long gaps cut a recording into stretches that the core handles one after the other.

A gap longer than ``limits.MAX_GAP_S`` is the recording stopping, not a dropout: the epochs in it
are not filled with ``no_data`` (a gap of months would be millions of them), and the decisions
start afresh after it, as they would for a new recording, with the same calibration. Epoch
statistics never reach across such a gap either (their windows are seconds long), so cutting the
samples there changes no number; it only keeps buffers as long as the data.

Two views of the same rule: on samples (a step in time longer than MAX_GAP_S) where the samples
are measured, and on the epoch indices of the statistics where decisions are made. The epoch rule
counts from the start of the last epoch with data to the end of the next one, so every sample gap
longer than MAX_GAP_S is also a new stretch for the decisions.
"""

from __future__ import annotations

import numpy as np

from ..limits import MAX_GAP_S, long_steps


def sample_cuts(t: np.ndarray, prev_t: float | None = None) -> list[int]:
    """Indices i where a new stretch starts: t[i] is more than MAX_GAP_S after the sample before
    (t[i - 1], or prev_t for i == 0)."""
    if t.shape[0] == 0:
        return []
    cuts = (long_steps(t) + 1).tolist()
    if prev_t is not None and float(t[0]) - prev_t > MAX_GAP_S:
        cuts.insert(0, 0)
    return cuts


def epoch_cuts(k: np.ndarray, epoch_s: float, last_k: int | None = None) -> list[int]:
    """Indices j where a new stretch starts among epochs with data k (ascending): the epoch before
    (k[j - 1], or last_k for j == 0) is so far back that their span exceeds MAX_GAP_S."""
    if k.shape[0] == 0:
        return []
    limit = MAX_GAP_S / epoch_s
    cuts = (np.flatnonzero(np.diff(k) + 1 > limit) + 1).tolist()
    if last_k is not None and int(k[0]) - last_k + 1 > limit:
        cuts.insert(0, 0)
    return cuts


def pieces(n: int, cuts: list[int]) -> list[tuple[int, int, bool]]:
    """(start, stop, new_stretch) covering 0..n, split at cuts."""
    edges = [0, *[c for c in cuts if c > 0], n]
    out = [(a, b, a in cuts) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    return out
