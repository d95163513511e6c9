"""A simulated recording with short dropouts added: the lost packets of a real radio link.

The simulator's radio gaps are long (15-45 s, each hiding a transition or a stretch of a day);
a real BLE link also drops a second or a few now and then. `accuracy.py`'s "+dropouts" families
run a scenario with DROPOUTS_PER_HOUR holes of DROPOUT_S seconds added at random (the seed's
own), the samples in them removed and their time labelled no_data, as the simulator labels its
own gaps. A dropout this short holds no transition: the states around it should not change.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

DROPOUTS_PER_HOUR = 10
DROPOUT_S = (1.0, 4.6)  # shorter than the 5 s break that may hold a transition (core/decide.py)


def add_dropouts(block, labels, seed: int):
    """(block, labels) with the dropouts taken out; the same seed gives the same holes."""
    from sensorback.sim.labels import Labels, overlay_no_data

    rng = np.random.default_rng(10_000 + seed)
    t = block.t
    duration = float(block.meta["sim"]["duration_s"])
    n = int(round(DROPOUTS_PER_HOUR * duration / 3600.0))
    starts = np.sort(rng.uniform(20.0, duration - 20.0, n))
    holes = [(float(a), float(a + rng.uniform(*DROPOUT_S))) for a in starts]
    keep = np.ones(t.shape[0], bool)
    for a, b in holes:
        keep[(t >= a) & (t < b)] = False
    rows = overlay_no_data(labels.rows(), [(a, b, "dropout") for a, b in holes])
    out = Labels(*(np.array(col) for col in zip(*rows)))
    sim = dict(block.meta["sim"], gaps=sorted([tuple(g) for g in block.meta["sim"]["gaps"]] + holes))
    return replace(block, t=t[keep], acc=block.acc[keep], meta=dict(block.meta, sim=sim)), out
