"""A simulated recording with short dropouts added: the lost packets of a real radio link.

The simulator's radio gaps are long (15-45 s, each hiding a transition or a stretch of a day);
a real BLE link also drops a second or a few now and then. `accuracy.py`'s "+dropouts" families
run a scenario with DROPOUTS_PER_HOUR holes of DROPOUT_S seconds added at random (the seed's
own), the samples in them removed and their time labelled no_data, as the simulator labels its
own gaps. A dropout this short holds no transition: the states around it should not change.
The "+flaky" families add spells of holes of 1-12 s instead (a link at the edge of its range):
some of them are breaks long enough to hide a transition, and several come close together.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

DROPOUTS_PER_HOUR = 10
DROPOUT_S = (1.0, 4.6)  # shorter than the 5 s break that may hold a transition (core/decide.py)

# "+flaky": a link at the edge of its range loses packets in spells, not one at a time. FLAKY
# spells an hour, each FLAKY_SPELL_S long, with holes every FLAKY_EVERY_S on average (exponential)
# of 1 s plus an exponential FLAKY_HOLE_S, at most FLAKY_MAX_S: about a third of them long enough
# (5 s) to be a break that may hide a transition, several breaks a few tens of seconds apart.
FLAKY_SPELLS_PER_HOUR = 3
FLAKY_SPELL_S = 180.0
FLAKY_EVERY_S = 20.0
FLAKY_HOLE_S = 3.0
FLAKY_MAX_S = 12.0


def _short_holes(rng, duration: float) -> list[tuple[float, float]]:
    n = int(round(DROPOUTS_PER_HOUR * duration / 3600.0))
    starts = np.sort(rng.uniform(20.0, duration - 20.0, n))
    return [(float(a), float(a + rng.uniform(*DROPOUT_S))) for a in starts]


def _flaky_holes(rng, duration: float) -> list[tuple[float, float]]:
    holes = []
    n = max(1, int(round(FLAKY_SPELLS_PER_HOUR * duration / 3600.0)))
    for begin in np.sort(rng.uniform(60.0, duration - FLAKY_SPELL_S - 60.0, n)):
        at = float(begin)
        while at < begin + FLAKY_SPELL_S:
            hole = min(FLAKY_MAX_S, 1.0 + float(rng.exponential(FLAKY_HOLE_S)))
            holes.append((at, at + hole))
            at += hole + float(rng.exponential(FLAKY_EVERY_S))
    return sorted(holes)


def cut_out(block, holes):
    """block without its samples in the holes ((start, end) s, end excluded)."""
    keep = np.ones(block.t.shape[0], bool)
    for a, b in holes:
        keep[(block.t >= a) & (block.t < b)] = False
    return replace(block, t=block.t[keep], acc=block.acc[keep])


def add_dropouts(block, labels, seed: int, flaky: bool = False):
    """(block, labels) with the dropouts taken out; the same seed gives the same holes.
    flaky: spells of holes of 1-12 s instead of single short ones."""
    from sensorback.sim.labels import Labels, overlay_no_data

    rng = np.random.default_rng((20_000 if flaky else 10_000) + seed)
    holes = (_flaky_holes if flaky else _short_holes)(rng, float(block.meta["sim"]["duration_s"]))
    rows = overlay_no_data(labels.rows(), [(a, b, "dropout") for a, b in holes])
    out = Labels(*(np.array(col) for col in zip(*rows)))
    sim = dict(block.meta["sim"], gaps=sorted([tuple(g) for g in block.meta["sim"]["gaps"]] + holes))
    return replace(cut_out(block, holes), meta=dict(block.meta, sim=sim)), out
