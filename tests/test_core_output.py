"""Shape and sanity of the core's output on any recording.

Whatever the thresholds are, an EpochTable must tile the recording with contiguous epochs of
the requested length, use only valid state codes, say no_data exactly where samples are missing
and nowhere else, and carry angles only where there is data.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from sensorback import formats
from sensorback.core import STATES, CoreOptions, EpochTable, analyze
from sensorback.core.states import CODE
from sensorback.samples import SampleBlock
from sensorback.sim import simulate

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"
NO_DATA = CODE["no_data"]
HOLE = (300.4, 330.4)  # a 30 s hole, not aligned to epoch edges


@functools.lru_cache(maxsize=None)
def sim(rate_hz: float, seed: int) -> SampleBlock:
    return simulate("demo", seed=seed, rate_hz=rate_hz, duration_s=720.0)[0]


def holed(block: SampleBlock, seed: int = 0) -> SampleBlock:
    """HOLE dropped, plus 1% of single samples dropped at random."""
    rng = np.random.default_rng(seed)
    keep = rng.random(len(block)) >= 0.01
    keep &= (block.t < HOLE[0]) | (block.t >= HOLE[1])
    return SampleBlock(block.t[keep], block.acc[keep], device=block.device, rate_hz=block.rate_hz)


CASES = {
    "sim_10hz": lambda: sim(10.0, 21),
    "sim_50hz": lambda: sim(50.0, 22),
    "sim_200hz": lambda: sim(200.0, 23),
    "sim_12.5hz_hole": lambda: holed(sim(12.5, 24)),
    "sim_100hz_hole": lambda: holed(sim(100.0, 25)),
    "real_chest_casale04": lambda: formats.load(RECORDINGS / "chest_casale_subject04.csv.gz"),
    "real_chest_casale13": lambda: formats.load(RECORDINGS / "chest_casale_subject13.csv.gz"),
    "real_hapt_exp01": lambda: formats.load(RECORDINGS / "hapt_waist_exp01_user01.csv.gz"),
    "real_hapt_exp41": lambda: formats.load(RECORDINGS / "hapt_waist_exp41_user20.csv.gz"),
}


def samples_per_epoch(block: SampleBlock, table: EpochTable) -> np.ndarray:
    edges = np.append(table.t_start, table.t_end[-1])
    return np.diff(np.searchsorted(block.t, edges, side="left"))


def check_table(block: SampleBlock, table: EpochTable, epoch_s: float) -> None:
    n = len(table)
    assert n > 0
    for name in ("t_end", "state", "inclination_deg", "flexion_deg", "lateral_deg", "intensity_g", "cadence_spm"):
        assert getattr(table, name).shape == (n,), name
    # contiguous epochs of the requested length, covering every sample
    assert np.array_equal(table.t_end[:-1], table.t_start[1:])
    assert np.allclose(table.t_end - table.t_start, epoch_s, rtol=0, atol=1e-9)
    assert table.t_start[0] <= block.t[0] < table.t_end[0]
    assert table.t_start[-1] <= block.t[-1] < table.t_end[-1]
    # valid state codes only
    assert table.state.dtype.kind in "iu"
    assert np.isin(table.state, np.arange(len(STATES))).all()
    assert set(table.state_names) <= set(STATES)
    # no_data: certainly where an epoch holds no sample, never where it holds most of its samples
    count = samples_per_epoch(block, table)
    nominal = block.rate_hz * epoch_s
    assert (table.state[count == 0] == NO_DATA).all()
    assert (table.state[count >= 0.5 * nominal] != NO_DATA).all()
    # angles and intensity exist exactly where there is data
    data = table.state != NO_DATA
    for name in ("inclination_deg", "flexion_deg", "lateral_deg", "intensity_g"):
        v = getattr(table, name)
        assert np.isfinite(v[data]).all(), f"{name} is not finite on an epoch with data"
        assert np.isnan(v[~data]).all(), f"{name} has a value on a no_data epoch"
    inc = table.inclination_deg[data]
    assert ((inc >= 0.0) & (inc <= 180.0)).all()
    assert (np.abs(table.flexion_deg[data]) <= 180.0).all()
    assert (np.abs(table.lateral_deg[data]) <= 180.0).all()
    assert (table.intensity_g[data] >= 0.0).all()
    assert np.isfinite(table.cadence_spm).all() and (table.cadence_spm >= 0.0).all()


@pytest.mark.parametrize("case", list(CASES))
def test_epoch_table_is_well_formed(case):
    block = CASES[case]()
    check_table(block, analyze(block).epochs, 1.0)


@pytest.mark.parametrize("epoch_s", [0.5, 2.0, 5.0])
def test_epoch_table_is_well_formed_for_other_epoch_lengths(epoch_s):
    block = holed(sim(50.0, 26), seed=1)
    check_table(block, analyze(block, CoreOptions(epoch_s=epoch_s)).epochs, epoch_s)


@pytest.mark.parametrize("rate_hz", [12.5, 50.0, 100.0])
def test_a_30_second_hole_gives_about_30_no_data_epochs(rate_hz):
    block = holed(sim(rate_hz, 27))
    table = analyze(block).epochs
    inside = (table.t_start >= HOLE[0] - 1.0) & (table.t_end <= HOLE[1] + 1.0)
    in_hole = (table.state == NO_DATA) & inside
    assert 29 <= in_hole.sum() <= 31
    # the epochs of the hole that hold no sample at all are exactly the no_data ones there
    empty = samples_per_epoch(block, table) == 0
    assert np.array_equal(in_hole, empty & inside)


def test_a_recording_that_does_not_start_at_zero():
    base = sim(50.0, 28)
    block = SampleBlock(base.t + 5000.25, base.acc, rate_hz=50.0)
    a, b = analyze(base).epochs, analyze(block).epochs
    check_table(block, b, 1.0)
    assert b.t_start[0] == 5000.0
    # a shift by a whole number of epochs (plus a bit) keeps the content: same states almost everywhere
    # (only the 0.25 s phase of the epoch grid changed)
    n = min(len(a), len(b))
    assert (a.state[:n] == b.state[:n]).mean() >= 0.9


def test_every_state_name_is_one_of_the_documented_states():
    assert STATES == ("moving", "standing", "sitting", "slouching", "lying", "not_worn", "no_data")
