"""Break prompts on the simulated 8 h desk-day (seed 1) against the simulator's ground truth.

The wearer in the simulation never reacts to prompts, so the prompts the coach should give follow
from what the wearer did alone. The expected prompt times are worked out here from the label
sidecar (labels.rows()), independently of the coach's code and never from the classifier:

- transition rows (stand_to_sit, sit_to_stand, take_off, put_on) count as part of the row that
  FOLLOWS them: a sit-down belongs to the sitting it starts, a stand-up to the standing it starts,
  taking the sensor off to the not-worn time it starts;
- sitting and slouching rows are sitting; standing and moving rows are up; everything else
  (not_worn, no_data, lying) is neither and is skipped;
- up rows add up (across skipped rows) until a sitting row; once they reach break_min_s the
  sitting stretch is over. Up time that does not reach it is a shuffle: the stretch goes on;
- within a stretch the sitting time of its rows adds up; a prompt is due when that total reaches
  sit_limit_min, and again at every further reprompt_min, as long as the stretch lasts.

The coach is then fed (1) an EpochTable built from the labels, one 1 s epoch per second carrying
the label at the middle of that second, and must give exactly these prompts, each within one epoch;
(2) the core's own epochs for the same recording, and must give them for most stretches, within a
small tolerance (the core sees a sit-down or stand-up a few seconds after it happens).
"""

from __future__ import annotations

import numpy as np
import pytest

from sensorback.coach import Coach, CoachSettings, run_coach
from sensorback.core import analyze
from sensorback.core.epochs import EpochTable
from sensorback.core.states import CODE
from sensorback.sim import simulate

SEED = 1
SETTINGS = CoachSettings()  # the defaults: 30 min limit, every 10 min, 60 s breaks
EPOCH_S = 1.0
CORE_TOLERANCE_S = 30.0
SIT, UP = {"sitting", "slouching"}, {"standing", "moving"}


@pytest.fixture(scope="module")
def day():
    block, labels = simulate("desk-day", seed=SEED)
    return block, labels


def label_segments(labels) -> list[tuple[float, float, str]]:
    rows = list(labels.rows())
    segments = []
    for i, (a, b, label, _code) in enumerate(rows):
        if label == "transition":
            label = next((r[2] for r in rows[i + 1:] if r[2] != "transition"), "no_data")
        segments.append((a, b, label))
    return segments


def expected_stretches(labels, settings: CoachSettings = SETTINGS) -> list[dict]:
    """Sitting stretches from the labels: first and last sitting time, sitting seconds, prompt times."""
    limit, every, brk = settings.sit_limit_min * 60, settings.reprompt_min * 60, settings.break_min_s
    stretches, cur, up = [], None, 0.0
    for a, b, label in label_segments(labels):
        if label in SIT:
            up = 0.0
            if cur is None:
                cur = {"start": a, "sitting_s": 0.0, "prompts": []}
            due = limit + every * len(cur["prompts"])
            while cur["sitting_s"] < due <= cur["sitting_s"] + (b - a):
                cur["prompts"].append(a + (due - cur["sitting_s"]))
                due += every
            cur["sitting_s"] += b - a
            cur["end"] = b
        elif label in UP:
            up += b - a
            if up >= brk and cur is not None:
                stretches.append(cur)
                cur = None
    if cur is not None:
        stretches.append(cur)
    return stretches


def label_epochs(labels, duration_s: float) -> EpochTable:
    segments = label_segments(labels)
    t = np.arange(0.0, duration_s, EPOCH_S)
    starts = np.array([s[0] for s in segments])
    i = np.searchsorted(starts, t + EPOCH_S / 2, side="right") - 1
    assert np.all(i >= 0)
    names = [segments[k][2] if t_mid < segments[k][1] else "no_data" for k, t_mid in zip(i, t + EPOCH_S / 2)]
    z = np.zeros(len(t), np.float32)
    return EpochTable(t, t + EPOCH_S, np.array([CODE[n] for n in names], np.int8), z, z, z, z, z)


def prompt_times(events) -> list[float]:
    return [e.t for e in events if e.kind == "break_prompt"]


def test_the_day_has_stretches_on_both_sides_of_the_limit(day):
    stretches = expected_stretches(day[1])
    long = [s for s in stretches if s["prompts"]]
    assert len(long) >= 5 and len(stretches) - len(long) >= 3
    assert any(len(s["prompts"]) >= 3 for s in long)  # re-prompts are exercised too
    for s in stretches:
        n_due = int(max(0.0, s["sitting_s"] - SETTINGS.sit_limit_min * 60) // (SETTINGS.reprompt_min * 60)) + 1
        assert len(s["prompts"]) == (n_due if s["sitting_s"] > SETTINGS.sit_limit_min * 60 else 0)


def test_prompts_from_label_epochs_match_the_ground_truth_exactly(day):
    block, labels = day
    expected = [p for s in expected_stretches(labels) for p in s["prompts"]]
    got = prompt_times(run_coach(label_epochs(labels, block.duration_s), SETTINGS))
    assert len(got) == len(expected), (got, expected)
    diffs = np.abs(np.array(got) - np.array(expected))
    assert diffs.max() <= EPOCH_S + 1e-6, list(zip(got, expected))


def test_label_epochs_give_the_same_events_in_any_chunking(day):
    block, labels = day
    tab = label_epochs(labels, block.duration_s)
    whole = run_coach(tab, SETTINGS)
    rng = np.random.default_rng(0)
    for _ in range(3):
        cuts = np.sort(rng.integers(0, len(tab) + 1, size=40))
        bounds = [0, *cuts.tolist(), len(tab)]
        coach = Coach(SETTINGS)
        got = []
        for a, b in zip(bounds, bounds[1:]):
            got += coach.update(EpochTable(tab.t_start[a:b], tab.t_end[a:b], tab.state[a:b],
                                           *(getattr(tab, f)[a:b] for f in ("inclination_deg", "flexion_deg",
                                                                             "lateral_deg", "intensity_g",
                                                                             "cadence_spm"))))
        assert got + coach.finish() == whole


def match_stretches(stretches, got: list[float], tol: float) -> tuple[int, list]:
    """How many stretches got exactly their expected prompts (same count, each within tol)."""
    matched, misses = 0, []
    got = np.array(got)
    for s in stretches:
        mine = got[(got >= s["start"] - tol) & (got <= s["end"] + tol)]
        ok = len(mine) == len(s["prompts"]) and np.all(np.abs(mine - np.array(s["prompts"])) <= tol)
        matched += bool(ok)
        if not ok:
            misses.append((s["start"], s["prompts"], mine.tolist()))
    return matched, misses


def test_prompts_from_the_core_match_the_ground_truth_for_most_stretches(day):
    block, labels = day
    stretches = expected_stretches(labels)
    expected = [p for s in stretches for p in s["prompts"]]
    got = prompt_times(run_coach(analyze(block).epochs, SETTINGS))
    matched, misses = match_stretches(stretches, got, CORE_TOLERANCE_S)
    nearest = [min((abs(g - p) for g in got), default=np.inf) for p in expected]
    prompts_ok = sum(d <= CORE_TOLERANCE_S for d in nearest)
    print(f"\ncore vs ground truth (desk-day seed {SEED}): {matched}/{len(stretches)} sitting stretches match, "
          f"{prompts_ok}/{len(expected)} expected prompts found within {CORE_TOLERANCE_S:g} s "
          f"(median offset {np.median(nearest):.1f} s, max {max(nearest):.1f} s), {len(got)} prompts given; "
          f"misses: {misses}")
    assert matched >= 0.8 * len(stretches)
    assert prompts_ok >= 0.8 * len(expected)
    assert len(got) <= len(expected) + 2
