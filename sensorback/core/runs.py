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


def hysteresis(enter: np.ndarray, stay: np.ndarray, carry: bool) -> np.ndarray:
    """On where `enter`, and stays on while `stay` (or enter) holds; carry = on before."""
    idx = np.arange(enter.shape[0])
    keep = enter | stay
    last_break = np.maximum.accumulate(np.where(keep, -1, idx)) if idx.size else idx
    last_enter = np.maximum.accumulate(np.where(enter, idx, -1)) if idx.size else idx
    on = last_enter > last_break
    return on | (carry & (last_break < 0))


def rolling_count(flags: np.ndarray, history: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Number of True among the last `window` flags at each position; history = earlier flags.

    Returns (counts, new_history) where new_history holds the last window-1 flags.
    """
    allf = np.concatenate([history, flags]).astype(np.int32)
    csum = np.concatenate([[0], np.cumsum(allf)])
    end = np.arange(history.shape[0], allf.shape[0]) + 1
    counts = csum[end] - csum[np.maximum(end - window, 0)]
    return counts, allf[-(window - 1):].astype(bool) if window > 1 else np.zeros(0, bool)
