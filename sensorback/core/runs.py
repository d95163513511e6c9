"""Run lengths and forward fills that carry over from one chunk of epochs to the next.

These are the only pieces of memory in the decisions, so streaming equals batch exactly when
each chunk starts from the previous chunk's carry.
"""

from __future__ import annotations

import numpy as np


def run_length(flags: np.ndarray, carry: int) -> np.ndarray:
    """Length of the run of True ending at each position (0 where False); carry = run before."""
    idx = np.arange(flags.shape[0])
    last_false = np.maximum.accumulate(np.where(flags, -1, idx)) if flags.size else idx
    run = idx - last_false
    run = np.where(last_false < 0, run + carry, run)
    return np.where(flags, run, 0)


def forward_fill(codes: np.ndarray, carry: int) -> np.ndarray:
    """Replace 0 by the last non-zero code before it (or carry)."""
    idx = np.arange(codes.shape[0])
    pos = np.maximum.accumulate(np.where(codes != 0, idx, -1)) if codes.size else idx
    return np.where(pos >= 0, codes[np.maximum(pos, 0)], carry)
