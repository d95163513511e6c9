"""A simulated recording with its radio gaps closed up, as a clock rebuilt from the sample count
leaves them.

Some recorders and exports do not keep the time a sample was taken: they number what arrived at
the nominal rate (or files are joined end to end), so a stretch that was lost leaves no gap in the
timestamps; the signal just steps from what came before it to what came after (core/splices.py).
`accuracy.py`'s "+closed" families run a scenario this way: the same samples and labels with every
radio gap taken out of the time axis.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np


def closed_time(t: np.ndarray, gaps: list) -> np.ndarray:
    """t with each stretch [a, b) (seconds) taken out: everything after it moves back by its
    length, anything inside it to its start."""
    out = np.asarray(t, np.float64).copy()
    for a, b in sorted(gaps, reverse=True):
        out -= np.clip(np.asarray(t, np.float64) - a, 0.0, b - a)
    return out


def close_gaps(block, labels):
    """(block, labels) with the scenario's radio gaps (block.meta["sim"]["gaps"]) closed up: the
    first sample after each gap follows the last one before it by one nominal interval. Label
    rows inside them (no_data) are dropped, and the block's meta tells the new duration and no
    gaps."""
    from sensorback.sim.labels import Labels

    t = block.t
    shut = []
    for a, b in block.meta["sim"]["gaps"]:
        j = int(np.searchsorted(t, b))
        if 0 < j < t.shape[0]:
            shut.append((float(t[j - 1]) + 1.0 / block.rate_hz, float(t[j])))
    keep = labels.source_code != "ble_gap"
    a, b = closed_time(labels.t_start[keep], shut), closed_time(labels.t_end[keep], shut)
    some = b > a
    new_labels = Labels(a[some], b[some], labels.label[keep][some], labels.source_code[keep][some])
    sim = dict(block.meta["sim"], gaps=[],
               duration_s=float(closed_time(np.array([block.meta["sim"]["duration_s"]]), shut)[0]))
    return replace(block, t=closed_time(t, shut), meta=dict(block.meta, sim=sim)), new_labels
