"""A stand-up hidden in a break in the data, told by the sway that rises across it
(core/sway_breaks.py), and what the decisions make of it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from sensorback import formats
from sensorback.core import analyze
from sensorback.core.states import CODE
from sensorback.core.sway_breaks import MIN_TURN_DEG, SWAY_RISE, WINDOW_S, SwayAcrossBreaks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

BEFORE, GAP, AFTER = 120, 20, 150  # epochs (1 s)
W = int(round(WINDOW_S))  # a window of the detector, in 1 s epochs


def _directions(rng, n, base_deg, step_deg):
    """n unit directions tilted base_deg forward, each epoch moved about step_deg from the last
    (a random walk held near the base: a trunk swaying around its posture)."""
    tilt = np.radians(base_deg) + np.cumsum(rng.normal(0, np.radians(step_deg), n)) * 0.3
    side = np.cumsum(rng.normal(0, np.radians(step_deg), n)) * 0.3
    g = np.stack([np.sin(tilt), np.sin(side), np.cos(tilt) * np.cos(side)], axis=1)
    return g / np.linalg.norm(g, axis=1)[:, None]


def _day(seed=0, sit_sway=0.1, stand_sway=0.6, turn=8.0, settle_s=0, before=BEFORE):
    """Quiet sitting, a break (GAP epochs without data), then quiet standing turned `turn` deg
    from the seat whose sway is stand_sway deg per epoch (after settle_s epochs at that sway,
    back to the seated sway when stand_sway is only the settling of a seat)."""
    rng = np.random.default_rng(seed)
    g = np.concatenate([_directions(rng, before, 10.0, sit_sway), np.full((GAP, 3), np.nan),
                        _directions(rng, AFTER, 10.0 - turn, stand_sway)])
    if settle_s:
        g[before + GAP + settle_s:] = _directions(rng, AFTER - settle_s, 10.0 - turn, sit_sway)
    gap = np.zeros(g.shape[0], bool)
    gap[before:before + GAP] = True
    quiet = ~gap
    return g, quiet, gap


def _run(g, quiet, gap, cuts=()):
    det = SwayAcrossBreaks(epoch_s=1.0)
    found = []
    edges = [0, *cuts, g.shape[0]]
    for a, b in zip(edges[:-1], edges[1:]):
        found += det.step(a, g[a:b], quiet[a:b], gap[a:b])
    return found


def test_a_sway_that_rises_across_a_break_and_stays_up_is_a_stand_up_known_two_windows_later():
    g, quiet, gap = _day()
    # the (2 W)th epoch with a sway after the break (the first needs a still epoch before it)
    assert _run(g, quiet, gap) == [(BEFORE + GAP + 2 * W, BEFORE)]


@pytest.mark.parametrize("seed", range(4))
def test_any_chunking_finds_the_same_stand_up(seed):
    g, quiet, gap = _day(seed)
    rng = np.random.default_rng(100 + seed)
    cuts = sorted(set(rng.integers(1, g.shape[0], 12).tolist()) | {BEFORE, BEFORE + GAP, BEFORE + GAP + 1})
    whole = _run(g, quiet, gap)
    assert whole and _run(g, quiet, gap, cuts) == whole
    assert _run(g, quiet, gap, range(1, g.shape[0])) == whole  # one epoch at a time


def test_what_is_not_a_stand_up():
    # the seat settles after the break: fidgety for a window, then as still as before
    assert _run(*_day(settle_s=W)) == []
    # the sway rose, but the trunk sits where it sat (no posture change)
    assert _run(*_day(turn=0.5 * MIN_TURN_DEG)) == []
    # the same sway on both sides
    assert _run(*_day(stand_sway=0.1)) == []
    # too little still time before the break to know its sway
    assert _run(*_day(before=10)) == []


def test_the_rise_is_measured_against_the_wearers_own_sway_before_the_break():
    """A fidgety sitter stays seated when the sway after the break is below SWAY_RISE times theirs,
    however large it is."""
    assert _run(*_day(sit_sway=0.5, stand_sway=0.5 * SWAY_RISE * 0.7)) == []
    assert _run(*_day(sit_sway=0.5, stand_sway=0.5 * SWAY_RISE * 2.5)) != []


def test_real_standing_after_real_sitting_across_a_gap_is_standing_from_the_gap_on():
    """Casale subject03 (CC BY 4.0, through benchmarks/spliced.py): their longest sitting, a 20 s
    radio gap, their longest standing; nothing sure is seen before the gap (no walk, no
    transition), and their standing is about as upright as their sitting, so nothing but sway
    tells it (it was all called sitting). Their standing sways far more than their sitting: the
    minute after the gap and the standing that follows are called standing, the sitting stays
    sitting."""
    from conftest import shared_file
    from spliced import recalls, sit_then_stand

    rec = shared_file("realdata", "chest_casale", "subject03.csv.gz")
    sp = sit_then_stand(formats.load(rec), rec.with_name("subject03.labels.csv"))
    ep = analyze(sp.block).epochs
    first_minute = (ep.t_start >= sp.standing[0]) & (ep.t_end <= sp.standing[0] + 60.0)
    assert first_minute.sum() >= 55
    assert (ep.state[first_minute] == CODE["standing"]).mean() >= 0.95
    stood, standing, sat, sitting = recalls(sp, ep)
    assert stood >= 0.9 * standing and sat >= 0.9 * sitting


def test_a_dropout_inside_the_minute_after_the_break_does_not_undo_it():
    g, quiet, gap = _day()
    end = BEFORE + GAP
    g[end + 20:end + 23] = np.nan  # 3 s without data, 20 s into the minute after the break
    gap[end + 20:end + 23] = True
    quiet = ~gap
    found = _run(g, quiet, gap)
    assert [f[1] for f in found] == [BEFORE]  # the stand-up is the first break's, known later
    assert found[0][0] > BEFORE + GAP + 2 * W
    # a longer break there is a break of its own: the minute before it is not the wearer's seat
    g2, q2, gap2 = _day()
    g2[end + 20:end + 40] = np.nan
    gap2[end + 20:end + 40] = True
    assert _run(g2, ~gap2, gap2) == []


def test_the_real_stand_up_across_a_gap_streams_as_in_batch():
    """Casale subject03 sitting, a 20 s gap, their standing: the stand-up told by the sway is the
    same whether the stream is cut at the gap's edges, one sample at a time near them, or at
    random."""
    from conftest import shared_file
    from spliced import sit_then_stand
    from test_core_streaming import chunk_sizes, first_difference, stream

    rec = shared_file("realdata", "chest_casale", "subject03.csv.gz")
    sp = sit_then_stand(formats.load(rec), rec.with_name("subject03.labels.csv"))
    block = sp.block
    result = analyze(block)
    n = len(block)
    edge = int(np.searchsorted(block.t, sp.standing[0]))
    at_edges = np.diff([0, edge - 1, edge, edge + 1, n]).tolist()
    near = np.diff([0, *range(edge - 30, edge + 30), n]).tolist()
    rng = np.random.default_rng(3)
    for sizes in (at_edges, near, chunk_sizes(n, rng), chunk_sizes(n, rng)):
        got = stream(block, result.calibration, 60.0, sizes)
        assert first_difference(got, result.epochs) == "no difference"
