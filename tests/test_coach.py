"""The coach's rules on hand-made epoch streams: sitting clock, prompts, snooze, outcomes, slouch nudges."""

from __future__ import annotations

import numpy as np
import pytest

from sensorback.coach import Coach, CoachEvent, CoachSettings, run_coach
from sensorback.coach import exercises
from sensorback.core.epochs import EpochTable
from sensorback.core.states import CODE, STATES
from sensorback.errors import SensorbackError
from sensorback.replay import event_text

MIN = 60.0


def table(*spec, start: float = 0.0, epoch: float = 1.0) -> EpochTable:
    """(state, seconds) pairs -> consecutive epochs of `epoch` seconds from `start`."""
    codes = []
    for name, seconds in spec:
        codes += [CODE[name]] * int(round(seconds / epoch))
    n = len(codes)
    t = start + epoch * np.arange(n, dtype=np.float64)
    z = np.zeros(n, np.float32)
    return EpochTable(t, t + epoch, np.array(codes, np.int8), z, z, z, z, z)


def shifted(tab: EpochTable, by: float) -> EpochTable:
    return EpochTable(tab.t_start + by, tab.t_end + by, tab.state, tab.inclination_deg, tab.flexion_deg,
                      tab.lateral_deg, tab.intensity_g, tab.cadence_spm)


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


def times(events, kind):
    return [e.t for e in events if e.kind == kind]


def outcomes(events):
    return [(e.ref_t, e.outcome) for e in events if e.kind == "prompt_outcome"]


# Nudges only where the test wants them: most sitting tests have no slouching anyway.
QUIET = CoachSettings(slouch_nudges=False)


# ------------------------------------------------------------------------------ sitting clock


def test_first_prompt_at_the_limit_then_every_reprompt():
    ev = run_coach(table(("sitting", 55 * MIN)), QUIET)
    assert times(ev, "break_prompt") == [1800.0, 2400.0, 3000.0]
    assert [e.sitting_s for e in kinds(ev, "break_prompt")] == [1800.0, 2400.0, 3000.0]
    # ignored twice; the last one's 5-minute window ends exactly at the end of the data: undecidable
    assert outcomes(ev) == [(1800.0, "ignored"), (2400.0, "ignored"), (3000.0, "unknown")]
    assert times(ev, "prompt_outcome")[:2] == [2101.0, 2701.0]
    assert "sitting for 30 min" in kinds(ev, "break_prompt")[0].detail
    assert "still" in kinds(ev, "break_prompt")[1].detail


def test_settings_change_limit_and_reprompt():
    ev = run_coach(table(("slouching", 40 * MIN)), CoachSettings(sit_limit_min=20, reprompt_min=7.5,
                                                                  slouch_nudges=False))
    assert times(ev, "break_prompt") == [1200.0, 1650.0, 2100.0]


def test_sitting_just_below_the_limit_between_real_breaks_never_prompts():
    ev = run_coach(table(("sitting", 29 * MIN), ("moving", 2 * MIN), ("sitting", 29 * MIN),
                         ("standing", 61), ("sitting", 29 * MIN)), QUIET)
    assert times(ev, "break_prompt") == []
    verified = kinds(ev, "break_verified")
    assert [e.t for e in verified] == [29 * MIN + 60, 60 * MIN + 60]
    assert [e.ref_t for e in verified] == [29 * MIN, 60 * MIN]
    assert [e.sitting_s for e in verified] == [29 * MIN, 29 * MIN]


def test_a_shuffle_pauses_the_clock_but_does_not_reset_it():
    ev = run_coach(table(("sitting", 20 * MIN), ("standing", 50), ("moving", 9), ("sitting", 15 * MIN)), QUIET)
    assert times(ev, "break_prompt") == [20 * MIN + 59 + 10 * MIN]
    assert kinds(ev, "break_verified") == []


def test_break_of_exactly_break_min_s_counts_and_resets():
    ev = run_coach(table(("sitting", 25 * MIN), ("standing", 60), ("sitting", 25 * MIN)), QUIET)
    assert times(ev, "break_prompt") == []
    assert times(ev, "break_verified") == [25 * MIN + 60]


def test_break_min_s_setting():
    spec = (("sitting", 25 * MIN), ("moving", 90), ("sitting", 10 * MIN))
    assert times(run_coach(table(*spec), QUIET), "break_prompt") == []
    longer = CoachSettings(break_min_s=120, slouch_nudges=False)
    assert times(run_coach(table(*spec), longer), "break_prompt") == [25 * MIN + 90 + 5 * MIN]


@pytest.mark.parametrize("neither", ["not_worn", "no_data", "lying"])
def test_not_worn_no_data_and_lying_are_neither_sitting_nor_a_break(neither):
    ev = run_coach(table(("sitting", 20 * MIN), (neither, 30 * MIN), ("sitting", 15 * MIN)), QUIET)
    assert times(ev, "break_prompt") == [20 * MIN + 30 * MIN + 10 * MIN]
    coach = Coach(QUIET)
    coach.update(table(("sitting", 20 * MIN), (neither, 30 * MIN), ("sitting", 1 * MIN)))
    st = coach.status()
    assert st.sitting_s == 21 * MIN
    if neither == "lying":
        assert (st.lying_s, st.uncertain_s) == (30 * MIN, 0.0)
    else:
        assert (st.lying_s, st.uncertain_s) == (0.0, 30 * MIN)
    assert st.next_prompt_in_s == 9 * MIN


def test_holes_between_epochs_are_uncertain_time():
    first = table(("sitting", 20 * MIN))
    second = shifted(table(("sitting", 15 * MIN)), 20 * MIN + 3600)  # an hour with no epochs at all
    coach = Coach(QUIET)
    ev = coach.update(first) + coach.update(second)
    assert times(ev, "break_prompt") == [20 * MIN + 3600 + 10 * MIN]
    assert coach.status().uncertain_s == 3600.0
    assert run_coach(EpochTable.concat([first, second]), QUIET) == ev + coach.finish()


def test_up_time_adds_up_across_uncertain_time():
    ev = run_coach(table(("sitting", 20 * MIN), ("standing", 40), ("no_data", 10 * MIN), ("moving", 30),
                         ("sitting", 20 * MIN)), QUIET)
    assert [(e.t, e.ref_t) for e in kinds(ev, "break_verified")] == [(20 * MIN + 40 + 10 * MIN + 20, 20 * MIN)]
    assert times(ev, "break_prompt") == []


def test_a_break_resets_the_uncertain_and_lying_counters():
    coach = Coach(QUIET)
    coach.update(table(("sitting", 5 * MIN), ("not_worn", 2 * MIN), ("lying", 1 * MIN), ("moving", 2 * MIN)))
    st = coach.status()
    assert st.on_break and st.sitting_s == 0 and st.uncertain_s == 0 and st.lying_s == 0 and st.up_s == 120
    assert st.next_prompt_in_s == 30 * MIN


def test_walking_in_before_any_sitting_is_not_reported_as_a_break():
    ev = run_coach(table(("moving", 10 * MIN), ("standing", 1 * MIN), ("sitting", 5 * MIN)), QUIET)
    assert ev == []


def test_prompts_can_be_switched_off():
    s = CoachSettings(break_prompts=False, slouch_nudges=False)
    coach = Coach(s)
    ev = coach.update(table(("sitting", 45 * MIN), ("moving", 2 * MIN))) + coach.finish()
    assert times(ev, "break_prompt") == []
    assert times(ev, "break_verified") == [46 * MIN]
    assert coach.status().next_prompt_in_s is None


def test_status_counts_down_to_the_next_prompt():
    coach = Coach(QUIET)
    assert coach.status().t is None and coach.status().sitting_s == 0
    coach.update(table(("sitting", 12 * MIN), ("standing", 20)))
    st = coach.status()
    assert (st.t, st.state, st.sitting_s, st.up_s, st.on_break) == (12 * MIN + 20, "standing", 720.0, 20.0, False)
    assert st.next_prompt_in_s == 18 * MIN
    coach.update(shifted(table(("sitting", 20 * MIN)), 12 * MIN + 20))
    st = coach.status()
    assert st.prompts == 1 and st.next_prompt_in_s == 8 * MIN and st.up_s == 0
    assert [e.kind for e in st.last_events] == ["break_prompt"]
    assert set(st.to_dict()) >= {"sitting_s", "uncertain_s", "next_prompt_in_s", "slouch_s", "last_events"}


# ------------------------------------------------------------------------------ outcomes


def test_a_break_soon_after_the_prompt_is_heeded():
    ev = run_coach(table(("sitting", 32 * MIN), ("moving", 5 * MIN)), QUIET)
    assert [e.kind for e in ev] == ["break_prompt", "break_verified", "prompt_outcome"]
    out = ev[2]
    assert (out.t, out.ref_t, out.outcome, out.exercise) == (32 * MIN + 60, 1800.0, "heeded", ev[0].exercise)


def test_heed_window_is_inclusive_at_five_minutes():
    heeded = run_coach(table(("sitting", 35 * MIN), ("moving", 2 * MIN)), QUIET)
    late = run_coach(table(("sitting", 35 * MIN + 1), ("moving", 2 * MIN)), QUIET)
    assert outcomes(heeded) == [(1800.0, "heeded")]
    assert outcomes(late) == [(1800.0, "ignored")]
    assert times(late, "prompt_outcome") == [35 * MIN + 1]  # known as soon as the window has passed


def test_a_break_begun_in_the_window_and_verified_after_it_still_counts():
    ev = run_coach(table(("sitting", 34 * MIN + 30), ("standing", 90), ("sitting", 5 * MIN)), QUIET)
    assert outcomes(ev) == [(1800.0, "heeded")]
    assert times(ev, "prompt_outcome") == [34 * MIN + 30 + 60]


def test_a_shuffle_after_a_prompt_is_not_heeding_it():
    ev = run_coach(table(("sitting", 31 * MIN), ("standing", 30), ("sitting", 5 * MIN)), QUIET)
    assert outcomes(ev) == [(1800.0, "ignored")]
    assert times(ev, "prompt_outcome") == [35 * MIN + 1]


def test_heed_window_setting():
    ev = run_coach(table(("sitting", 39 * MIN), ("moving", 2 * MIN)),
                   CoachSettings(heed_window_min=10, slouch_nudges=False))
    assert outcomes(ev) == [(1800.0, "heeded")]


def test_finish_settles_undecided_prompts_as_unknown_once():
    coach = Coach(QUIET)
    ev = coach.update(table(("sitting", 32 * MIN)))
    assert outcomes(ev) == []
    done = coach.finish()
    assert [(e.kind, e.outcome, e.t) for e in done] == [("prompt_outcome", "unknown", 32 * MIN)]
    assert coach.finish() == []
    with pytest.raises(RuntimeError):
        coach.update(table(("sitting", 1)))


def test_every_prompt_gets_exactly_one_outcome():
    rng = np.random.default_rng(5)
    ev = run_coach(random_day(rng, 40000), QUIET)
    prompts = times(ev, "break_prompt")
    assert len(prompts) >= 4
    assert sorted(e.ref_t for e in kinds(ev, "prompt_outcome")) == prompts


# ------------------------------------------------------------------------------ snooze


def test_snooze_postpones_the_next_prompt_and_marks_the_pending_one():
    spec = (("sitting", 60 * MIN),)
    coach = Coach(QUIET)
    assert coach.snooze(1810, 15) == []  # queued: the stream has not got there yet
    ev = coach.update(table(*spec)) + coach.finish()
    assert [(e.t, e.kind) for e in ev[:3]] == [(1800.0, "break_prompt"), (1810.0, "snoozed"),
                                               (1810.0, "prompt_outcome")]
    assert ev[1].minutes == 15 and ev[1].sitting_s == 1810
    assert outcomes(ev)[0] == (1800.0, "snoozed")
    assert times(ev, "break_prompt") == [1800.0, 1810.0 + 15 * MIN, 1810.0 + 25 * MIN]


def test_snooze_now_returns_its_events_and_matches_a_queued_snooze():
    coach = Coach(QUIET)
    ev = coach.update(table(("sitting", 1810)))
    now = coach.snooze(1810, 15)
    assert [e.kind for e in now] == ["snoozed", "prompt_outcome"]
    ev += now + coach.update(shifted(table(("sitting", 60 * MIN - 1810)), 1810)) + coach.finish()
    queued = Coach(QUIET)
    queued.snooze(1810, 15)
    assert ev == queued.update(table(("sitting", 60 * MIN))) + queued.finish()
    assert coach.status().snoozed


def test_a_late_snooze_takes_effect_at_the_current_position():
    coach = Coach(QUIET)
    coach.update(table(("sitting", 1900)))
    (snoozed, _) = coach.snooze(1000, 10)
    assert snoozed.t == 1900.0 and snoozed.sitting_s == 1900.0
    ev = coach.update(shifted(table(("sitting", 20 * MIN)), 1900))
    assert times(ev, "break_prompt")[0] == 1900.0 + 10 * MIN


def test_snooze_before_the_first_prompt_and_default_length():
    ev = run_coach(table(("sitting", 79 * MIN)), QUIET, snoozes=[(10 * MIN, 60)])
    assert times(ev, "break_prompt") == [70 * MIN]
    short = run_coach(table(("sitting", 40 * MIN)), QUIET, snoozes=[(5 * MIN, 5)])
    assert times(short, "break_prompt") == [30 * MIN, 40 * MIN]  # never before the limit
    # what it says is what it does, and what the status (the dashboard's clock) says
    coach = Coach(QUIET)
    coach.update(table(("sitting", 5 * MIN)))
    (said,) = coach.snooze(5 * MIN, 15)
    assert said.minutes == 25 and coach.status().next_prompt_in_s == 25 * MIN
    assert event_text(said) == "snoozed: next break prompt after 25 min more sitting"
    dflt = run_coach(table(("sitting", 50 * MIN)), CoachSettings(snooze_min=12, slouch_nudges=False),
                     snoozes=[(1800, None)])
    assert times(dflt, "break_prompt") == [1800.0, 1800.0 + 12 * MIN]
    assert kinds(dflt, "snoozed")[0].minutes == 12


def test_a_break_clears_the_snooze():
    ev = run_coach(table(("sitting", 10 * MIN), ("moving", 2 * MIN), ("sitting", 35 * MIN)), QUIET,
                   snoozes=[(100, 120)])
    assert times(ev, "break_prompt") == [12 * MIN + 30 * MIN]


def test_snoozes_after_the_end_are_dropped_and_bad_snoozes_refused():
    coach = Coach(QUIET)
    coach.snooze(10_000, 5)
    ev = coach.update(table(("sitting", 10 * MIN))) + coach.finish()
    assert kinds(ev, "snoozed") == []
    for bad in (0, -5, float("nan"), 2000, True, "5"):
        with pytest.raises(SensorbackError, match="snooze"):
            Coach().snooze(0, bad)
    with pytest.raises(SensorbackError):
        Coach().snooze(float("inf"))


# ------------------------------------------------------------------------------ exercises in prompts


def test_prompts_rotate_on_your_feet_exercises_without_repeats():
    ev = run_coach(table(("sitting", 200 * MIN)), QUIET)
    keys = [e.exercise for e in kinds(ev, "break_prompt")]
    assert len(keys) == 18
    assert keys[0] == exercises.PROMPT_POOL[0].key
    assert "desk" in exercises.BY_KEY[keys[0]].places and "standing" in exercises.BY_KEY[keys[0]].places
    assert all(a != b for a, b in zip(keys, keys[1:]))
    assert set(keys) == {e.key for e in exercises.PROMPT_POOL}
    assert all("standing" in exercises.BY_KEY[k].places for k in keys)  # a break: never seated, never floor
    # the rotation carries on across sitting stretches
    ev2 = run_coach(table(("sitting", 31 * MIN), ("moving", 2 * MIN), ("sitting", 31 * MIN)), QUIET)
    assert [e.exercise for e in kinds(ev2, "break_prompt")] == [p.key for p in exercises.PROMPT_POOL[:2]]
    assert exercises.BY_KEY[keys[0]].name.lower() in kinds(ev, "break_prompt")[0].detail


# ------------------------------------------------------------------------------ slouch nudges


def slouch_settings(**kw) -> CoachSettings:
    base = dict(break_prompts=False, slouch_delay_s=60, slouch_clear_s=15, slouch_cooldown_min=10,
                slouch_budget_min=0, slouch_window_min=60)
    base.update(kw)
    return CoachSettings(**base)


def test_slouch_nudge_after_the_delay():
    assert run_coach(table(("sitting", 60), ("slouching", 59), ("sitting", 60)), slouch_settings()) == []
    ev = run_coach(table(("sitting", 60), ("slouching", 5 * MIN), ("sitting", 60)), slouch_settings())
    assert [(e.kind, e.t, e.slouch_s) for e in ev] == [("slouch_nudge", 120.0, 60.0)]


def test_slouch_budget_lets_a_short_lean_pass():
    s = slouch_settings(slouch_budget_min=5)
    assert run_coach(table(("sitting", 60), ("slouching", 4 * MIN), ("sitting", 5 * MIN)), s) == []
    ev = run_coach(table(("sitting", 60), ("slouching", 8 * MIN)), s)
    assert times(ev, "slouch_nudge") == [60 + 5 * MIN]  # when the budget runs out
    # within the hour the budget is spent: the next episode is nudged after the delay
    ev = run_coach(table(("sitting", 60), ("slouching", 4 * MIN), ("sitting", 25 * MIN), ("slouching", 3 * MIN)), s)
    assert times(ev, "slouch_nudge") == [60 + 4 * MIN + 25 * MIN + 60]
    # an hour later the first episode has left the rolling window: no nudge
    ev = run_coach(table(("sitting", 60), ("slouching", 4 * MIN), ("sitting", 70 * MIN), ("slouching", 3 * MIN)), s)
    assert ev == []


def test_slouch_hysteresis():
    s = slouch_settings()
    one_episode = table(("slouching", 40), ("sitting", 10), ("slouching", 40), ("sitting", 60))
    assert [(e.t, e.slouch_s) for e in run_coach(one_episode, s)] == [(70.0, 60.0)]
    two_episodes = table(("slouching", 40), ("sitting", 15), ("slouching", 40), ("sitting", 60))
    assert run_coach(two_episodes, s) == []
    assert run_coach(one_episode, slouch_settings(slouch_clear_s=5)) == []


def test_slouch_cooldown():
    s = slouch_settings()
    close = table(("slouching", 2 * MIN), ("sitting", 3 * MIN), ("slouching", 2 * MIN))
    assert times(run_coach(close, s), "slouch_nudge") == [60.0]
    apart = table(("slouching", 2 * MIN), ("sitting", 12 * MIN), ("slouching", 2 * MIN))
    assert times(run_coach(apart, s), "slouch_nudge") == [60.0, 14 * MIN + 60]
    long = table(("slouching", 25 * MIN))
    assert times(run_coach(long, s), "slouch_nudge") == [60.0, 11 * MIN, 21 * MIN]
    assert times(run_coach(long, slouch_settings(slouch_cooldown_min=0)), "slouch_nudge")[:3] == [60.0, 61.0, 62.0]


def test_no_slouch_nudge_while_moving_and_moving_ends_the_episode():
    s = slouch_settings()
    assert run_coach(table(("slouching", 40), ("moving", 20), ("slouching", 40)), s) == []
    # a moment on the feet shorter than slouch_clear_s does not end it, but the nudge waits for slouching
    ev = run_coach(table(("slouching", 50), ("moving", 10), ("slouching", 30)), s)
    assert [(e.t, e.slouch_s) for e in ev] == [(70.0, 60.0)]


def test_uncertain_time_pauses_a_slouch_episode():
    s = slouch_settings()
    ev = run_coach(table(("slouching", 40), ("not_worn", 5 * MIN), ("slouching", 30)), s)
    assert [(e.t, e.slouch_s) for e in ev] == [(40 + 5 * MIN + 20, 60.0)]


def test_slouch_nudges_can_be_switched_off_and_status_shows_the_episode():
    coach = Coach(slouch_settings(slouch_nudges=False, slouch_budget_min=5))
    assert coach.update(table(("sitting", 60), ("slouching", 10 * MIN), ("sitting", 5))) == []
    st = coach.status()
    assert st.slouch_s == 10 * MIN and st.slouch_budget_used_s == 10 * MIN
    coach.update(shifted(table(("sitting", 20)), 60 + 10 * MIN + 5))
    assert coach.status().slouch_s == 0


def test_nudges_only_ever_happen_in_slouching_epochs():
    rng = np.random.default_rng(11)
    tab = random_day(rng, 30000)
    ev = run_coach(tab, CoachSettings(slouch_budget_min=1, slouch_cooldown_min=2))
    nudges = times(ev, "slouch_nudge")
    assert len(nudges) > 10
    at = np.searchsorted(tab.t_end, nudges)
    assert set(tab.state_names[at]) == {"slouching"}


# ------------------------------------------------------------------------------ chunking, order, errors


def random_day(rng: np.random.Generator, n: int, holes: bool = True) -> EpochTable:
    """Runs of random states with plausible lengths, 1 s epochs, a few holes between epochs."""
    weights = {"sitting": 6, "slouching": 3, "standing": 2, "moving": 2, "lying": 0.3, "not_worn": 0.5,
               "no_data": 0.5}
    names = list(weights)
    p = np.array(list(weights.values()))
    p /= p.sum()
    codes = []
    while len(codes) < n:
        name = names[rng.choice(len(names), p=p)]
        length = int(rng.choice([rng.integers(1, 30), rng.integers(30, 200), rng.integers(200, 1500)]))
        codes += [CODE[name]] * length
    codes = np.array(codes[:n], np.int8)
    step = np.ones(n)
    if holes:
        step[rng.choice(n, size=5, replace=False)] += rng.uniform(1, 400, size=5)
    t0 = 1000.0 + np.concatenate([[0.0], np.cumsum(step)[:-1]])
    z = np.zeros(n, np.float32)
    return EpochTable(t0, t0 + 1.0, codes, z, z, z, z, z)


def random_chunks(rng: np.random.Generator, tab: EpochTable) -> list[EpochTable]:
    cuts = np.sort(rng.choice(np.arange(0, len(tab) + 1), size=int(rng.integers(1, 60)), replace=True))
    bounds = [0, *cuts.tolist(), len(tab)]
    return [EpochTable(*(getattr(tab, f)[a:b] for f in
                         ("t_start", "t_end", "state", "inclination_deg", "flexion_deg", "lateral_deg",
                          "intensity_g", "cadence_spm")))
            for a, b in zip(bounds, bounds[1:])]


SETTINGS_VARIANTS = [
    CoachSettings(),
    CoachSettings(sit_limit_min=7, reprompt_min=3, break_min_s=45, slouch_budget_min=1, slouch_cooldown_min=3,
                  slouch_clear_s=5, heed_window_min=2),
]


@pytest.mark.parametrize("seed", range(6))
def test_same_events_whatever_the_chunking(seed):
    rng = np.random.default_rng(seed)
    tab = random_day(rng, 25000)
    settings = SETTINGS_VARIANTS[seed % 2]
    snoozes = [(float(t), float(m)) for t, m in zip(rng.uniform(1000, 26000, 4), rng.uniform(1, 30, 4))]
    whole = run_coach(tab, settings, snoozes)
    assert len(whole) > 20 and {e.kind for e in whole} >= {"break_prompt", "break_verified", "slouch_nudge",
                                                           "snoozed", "prompt_outcome"}
    for _ in range(3):
        coach = Coach(settings)
        for t, m in snoozes:
            coach.snooze(t, m)
        got: list[CoachEvent] = []
        for chunk in random_chunks(rng, tab):
            got += coach.update(chunk)
        got += coach.finish()
        assert got == whole


def test_events_come_in_time_order_with_known_kinds():
    ev = run_coach(random_day(np.random.default_rng(3), 30000), snoozes=[(9000.0, 20.0)])
    assert [e.t for e in ev] == sorted(e.t for e in ev)
    assert {e.kind for e in ev} <= {"break_prompt", "break_verified", "slouch_nudge", "snoozed", "prompt_outcome"}
    assert {e.outcome for e in ev if e.kind == "prompt_outcome"} <= {"heeded", "snoozed", "ignored", "unknown"}
    assert all(e.detail and "\n" not in e.detail for e in ev)
    assert all(set(e.to_dict()) >= {"t", "kind", "detail"} for e in ev)


def test_bad_epoch_streams_are_one_line_errors():
    coach = Coach()
    coach.update(table(("sitting", 100)))
    with pytest.raises(SensorbackError, match="out of order"):
        coach.update(table(("sitting", 10), start=50))
    bad = table(("sitting", 3))
    bad.state[1] = len(STATES)
    with pytest.raises(SensorbackError, match="state code"):
        Coach().update(bad)
    flat = table(("sitting", 3))
    flat.t_end[1] = flat.t_start[1]
    with pytest.raises(SensorbackError, match="end after"):
        Coach().update(flat)
    assert Coach().update(EpochTable.empty()) == []


def test_longer_epochs_give_one_prompt_per_epoch():
    ev = run_coach(table(("sitting", 50 * MIN), epoch=7 * MIN), QUIET)
    assert times(ev, "break_prompt") == [35 * MIN, 42 * MIN]


def test_every_break_prompt_of_a_simulated_day_suggests_an_exercise_done_on_your_feet():
    from sensorback.core import analyze
    from sensorback.sim import simulate

    block, _ = simulate("desk-day", seed=0)
    ev = run_coach(analyze(block).epochs)
    prompts = kinds(ev, "break_prompt")
    assert len(prompts) >= 5
    for p in prompts:
        ex = exercises.BY_KEY[p.exercise]
        assert "standing" in ex.places, (p.detail, ex.places)
        assert ex.name.lower() in p.detail
    assert "seated" not in " ".join(p.detail for p in prompts).lower()
