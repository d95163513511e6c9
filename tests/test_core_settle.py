"""Settling (core/settle.py): epochs a later one may still revise are held back, then revised.

The streaming tests (test_core_streaming.py) prove the held-back epochs come out the same in any
chunking; here: the Settler's own rules, and what settling buys on the simulator's ground truth.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from sensorback.core import CoreOptions, EpochTable, StreamProcessor, analyze
from sensorback.core.settle import TO_NOT_WORN, TO_SITTING, Revision, Settler
from sensorback.core.slouch import SlouchRule
from sensorback.core.states import STATES
from sensorback.sim import simulate

S = {name: i for i, name in enumerate(STATES)}


def table(states: list[str], k0: int = 0, flexion: float = 5.0) -> tuple[EpochTable, np.ndarray]:
    n = len(states)
    k = np.arange(k0, k0 + n, dtype=np.int64)
    f32 = lambda v: np.full(n, v, np.float32)  # noqa: E731
    return EpochTable(k.astype(float), k + 1.0, np.array([S[s] for s in states], np.int8), f32(flexion),
                      f32(flexion), f32(0.0), f32(0.01), f32(0.0)), k


def test_a_revision_never_reaches_an_epoch_already_handed_out():
    st = Settler(SlouchRule(20.0))
    tab, k = table(["standing"] * 10)
    hold = np.where(k >= 6, 6, k + 1)  # from epoch 6 on, a still run that may prove not worn
    out = st.push(tab, int(k[0]), hold, [])
    assert len(out) == 6 and len(st.held) == 4
    # epoch 12 proves the sensor was off since epoch 3: only what is still held (6..11) changes
    tab2, k2 = table(["standing", "standing", "not_worn", "not_worn"], k0=10)
    out2 = st.push(tab2, int(k2[0]), np.array([6, 6, 13, 14]), [Revision(12, 3, TO_NOT_WORN)])
    states = [STATES[s] for s in out2.state]
    assert out2.t_start[0] == 6.0 and states == ["not_worn"] * 8
    assert len(st.held) == 0 and len(st.release()) == 0


def test_a_confirmed_sit_down_turns_standing_into_sitting_or_slouching_by_flexion():
    st = Settler(SlouchRule(20.0))
    tab, k = table(["standing", "standing", "standing", "sitting"], flexion=25.0)
    tab.state[0] = S["moving"]
    tab.flexion_deg[1] = 10.0
    out = EpochTable.concat([st.push(tab, int(k[0]), np.array([1, 1, 1, 4]), [Revision(3, 0, TO_SITTING)]), st.release()])
    # epoch 0 was before the hold (handed out as it was); moving would never change anyway
    assert [STATES[s] for s in out.state] == ["moving", "sitting", "slouching", "sitting"]


def test_release_hands_out_every_held_epoch_unchanged():
    st = Settler(SlouchRule(20.0))
    tab, k = table(["sitting"] * 5)
    assert len(st.push(tab, int(k[0]), np.zeros(5, np.int64), [])) == 0
    rest = st.release()
    assert rest.equals(table(["sitting"] * 5)[0]) and len(st.held) == 0


def test_after_a_release_no_revision_reaches_back():
    """A live session releases held epochs when its reference changes; the stream goes on."""
    st = Settler(SlouchRule(20.0))
    tab, k = table(["standing"] * 6)
    assert len(st.push(tab, int(k[0]), np.full(6, 2), [])) == 2
    assert len(st.release()) == 4
    tab2, k2 = table(["standing", "not_worn"], k0=6)
    out = st.push(tab2, int(k2[0]), np.array([6, 8]), [Revision(7, 2, TO_NOT_WORN)])
    assert [STATES[s] for s in out.state] == ["not_worn", "not_worn"] and out.t_start[0] == 6.0


@functools.lru_cache(maxsize=None)
def demo(seed: int):
    block, labels = simulate("demo", seed=seed)
    return block, labels, analyze(block).epochs


def rows(labels, code: str):
    return [(a, b) for a, b, _, c in labels.rows() if c == code]


def test_a_posture_decided_after_a_sit_downs_revision_leaves_the_revision_as_one_push_would():
    """The smoother may decide an epoch (standing) in a later chunk than the sit-down that revised
    it (sitting from its landing): in one push the decision comes first and the revision after,
    so the epoch is sitting; pushed in two chunks it must be too (streaming == batch)."""
    states = ["standing"] * 6
    hold = np.zeros(6, np.int64)  # everything held
    revision = [Revision(4, 2, TO_SITTING)]  # confirmed at epoch 4: sitting since its landing at 2
    decided = np.array([0, 0, 0, 0, 1, 1], np.int8)  # the smoother: standing until the landing
    one = Settler(SlouchRule(20.0))
    tab, k = table(states)
    one.push(tab, 0, hold, revision, 0, decided)
    whole = one.release()
    two = Settler(SlouchRule(20.0))
    tab1, _ = table(states[:5])
    two.push(tab1, 0, hold[:5], revision, 0, np.array([0, 0, -1, -1, 1], np.int8))
    tab2, _ = table(states[5:], k0=5)
    two.push(tab2, 5, hold[5:], [], 0, decided)  # epochs 2 and 3 decided only now
    parts = two.release()
    assert [STATES[s] for s in parts.state] == [STATES[s] for s in whole.state]
    assert [STATES[s] for s in whole.state[:4]] == ["standing", "standing", "sitting", "sitting"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_sensor_put_on_the_desk_is_not_worn_within_seconds_of_lying_still(seed):
    """Proving it takes ~20 s (QUICK_CALM_EPOCHS); the held epochs are then revised, so only the
    few seconds before the motionless test first passes (its 8 s window must clear the handling)
    stay as they were."""
    from sensorback.core.decide import QUICK_WINDOW

    block, labels, ep = demo(seed)
    (a, b), = rows(labels, "on_desk")
    # (the demo of seed 3 was still handled for 6 s after the row starts)
    inside = (ep.t_start >= np.ceil(a) + QUICK_WINDOW) & (ep.t_end <= b)
    assert (ep.state[inside] == S["not_worn"]).all(), [STATES[s] for s in ep.state[inside][:40]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_sit_down_is_dated_at_its_landing(seed):
    """Every whole epoch after a stand-to-sit transition is sitting (or slouching), although the
    sit-down is confirmed only two calm epochs later."""
    block, labels, ep = demo(seed)
    sat = [S["sitting"], S["slouching"]]
    for a, b in rows(labels, "stand_to_sit"):
        i = int(np.searchsorted(ep.t_start, np.ceil(b)))
        assert np.isin(ep.state[i:i + 5], sat).all(), (b, [STATES[s] for s in ep.state[i - 2:i + 5]])


def test_a_live_stream_shows_held_epochs_as_pending_and_hands_them_out_settled():
    block, labels, batch = demo(1)
    sp = StreamProcessor(CoreOptions(), analyze(block).calibration, block.rate_hz)
    out, most_held = [], 0
    step = int(block.rate_hz)  # one second at a time, as live
    for i in range(0, len(block), step):
        out.append(sp.feed(block.slice(i, i + step)))
        held = sp.pending
        assert len(held) <= sp.max_hold_epochs
        most_held = max(most_held, len(held))
        desk = (held.t_start >= 376) & (held.t_start < 555)  # the sensor on the desk (seed 1)
        if desk.sum() >= 5 and held.t_start[0] >= 376:
            # provisional: the motionless run after the sensor was handled is not yet not_worn
            assert (held.state[desk] != S["not_worn"]).all()
    out.append(sp.finish())
    assert EpochTable.concat(out).equals(batch)
    assert most_held >= 15
