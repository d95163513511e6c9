"""Sitting and standing that no transition shows, and the failures found on held-out real data
(issue 10), on the simulator's scenario families and on hand-made blocks.

Each scenario is simulated once per seed (cached); the figures asserted here are what the core
achieves, with margin; benchmarks/accuracy.py prints the same families in full.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

from sensorback import formats
from sensorback.core import CoreOptions, EpochTable, StreamProcessor, analyze
from sensorback.core.states import CODE
from sensorback.samples import SampleBlock
from sensorback.sim import simulate
from sensorback.summary import summarize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from accuracy import prompt_check  # noqa: E402

SIT = [CODE["sitting"], CODE["slouching"]]


@functools.lru_cache(maxsize=None)
def day(scenario: str, seed: int):
    block, labels = simulate(scenario, seed=seed)
    return block, labels, analyze(block)


@functools.lru_cache(maxsize=None)
def casale(subject: str) -> EpochTable:
    """A real chest recording's epochs (../shared/realdata), analysed once for the tests that read them."""
    from conftest import shared_file

    return analyze(formats.load(shared_file("realdata", "chest_casale", f"{subject}.csv.gz"))).epochs


def inside(ep: EpochTable, a: float, b: float, margin: float = 0.0) -> np.ndarray:
    return (ep.t_start >= a + margin) & (ep.t_end <= b - margin)


def rows(labels, pred):
    return [(a, b, lab, code) for a, b, lab, code in labels.rows() if pred(lab, code)]


def assert_streams_as_batch(block, batch, cuts, max_feeds: int) -> None:
    """Streaming equals batch: the block fed in random chunkings, one per (seed, max_delay_s)."""
    from test_core_streaming import chunk_sizes, first_difference, stream

    for seed, delay in cuts:
        sizes = chunk_sizes(len(block), np.random.default_rng(seed), max_feeds=max_feeds)
        got = stream(block, batch.calibration, delay, sizes)
        assert got.equals(batch.epochs), first_difference(got, batch.epochs)


def assert_streams_cut_at(block, batch, times) -> None:
    """Streaming equals batch when the stream is cut in two at each of these times (s)."""
    from test_core_streaming import first_difference, stream

    for at in times:
        cut = int(np.searchsorted(block.t, at))
        got = stream(block, batch.calibration, 0.0, [cut, len(block) - cut])
        assert got.equals(batch.epochs), (at, first_difference(got, batch.epochs))


# ------------------------------------------------------------------------ a stuck sensor
def test_a_sensor_stuck_at_zero_is_no_data_with_a_warning_and_calibration_ignores_it():
    """A stuck IMU reading exactly (0, 0, 0) for minutes used to crash analyze (LinAlgError in
    the sphere fit) or count as worn time."""
    block, _ = simulate("demo", seed=1)
    acc = block.acc.copy()
    i0, i1 = np.searchsorted(block.t, [200.0, 400.0])
    acc[i0:i1] = 0.0
    stuck = SampleBlock(block.t, acc, device=block.device, rate_hz=block.rate_hz)
    result = analyze(stuck)
    ep = result.epochs
    assert (ep.state[inside(ep, 200.0, 400.0, 1.0)] == CODE["no_data"]).all()
    assert any(n.startswith("sensor fault") for n in result.notes)
    assert "skipped" not in result.calibration.sensor.note  # the rest still calibrates
    assert not any(n.startswith("sensor fault") for n in analyze(block).notes)


@pytest.mark.parametrize("working_s, stuck", [(2, "20 min (>99 %"), (1198, "2 s (<1 %")])
def test_a_stuck_sensors_share_is_never_all_or_none_unless_it_is(working_s, stuck):
    """The note formatted its time and share itself: 1198 stuck epochs of 1200 read '20.0 min
    (100%', 2 of 1200 '0.0 min (0%'. They are timefmt's now, the one format of durations and shares."""
    t = np.arange(1200 * 25) / 25.0
    acc = np.zeros((t.size, 3), np.float32)
    acc[: working_s * 25] = [0.0, 0.0, 1.0]  # a sensor at rest, then stuck
    acc[: working_s * 25, 0] += np.random.default_rng(0).normal(0, 0.002, working_s * 25)
    notes = [n for n in analyze(SampleBlock(t, acc, rate_hz=25.0)).notes if n.startswith("sensor fault")]
    assert len(notes) == 1 and notes[0].startswith(f"sensor fault: {stuck} of the epochs with samples) read"), notes


def test_an_all_zero_recording_is_no_data_from_sbr_and_csv_alike(tmp_path):
    t = np.arange(3000) / 50.0
    block = SampleBlock(t, np.zeros((3000, 3), np.float32), rate_hz=50.0)
    formats.save(block, tmp_path / "zero.sbr")
    csv = tmp_path / "zero.csv"
    csv.write_text("t,ax,ay,az\n" + "".join(f"{x:.3f},0,0,0\n" for x in t))
    for path in (tmp_path / "zero.sbr", csv):
        result = analyze(formats.load(path))
        assert set(result.epochs.state_names) == {"no_data"}, path
        assert any(n.startswith("sensor fault") for n in result.notes), path
        assert summarize(result.epochs).worn_s == 0.0


@pytest.mark.parametrize("seed", [1, 2])
def test_a_day_with_a_stuck_sensor_is_the_same_day_without_it_elsewhere(seed):
    block, labels, result = day("stuck-sensor", seed)
    (a, b), = block.meta["sim"]["stuck"]
    ep = result.epochs
    assert (ep.state[inside(ep, a, b, 1.0)] == CODE["no_data"]).all()
    worn = summarize(ep).worn_s
    plain = day("desk-day", seed)[2].epochs  # the same day, sensor working
    assert worn <= summarize(plain).worn_s - (b - a) + 2.0  # the stuck time is not worn time
    # around the stuck stretch (the 2 min after it may settle differently) the states agree
    away = ~inside(ep, a - 1.0, b + 120.0)
    assert (ep.state[away] == plain.state[away]).mean() >= 0.99


# ------------------------------------------------------------------------ lying, cycling
@pytest.mark.parametrize("seed", [4, 5])
def test_a_sensor_coming_unstuck_is_no_stand_up(seed):
    """The end of a stuck stretch reads as |a| leaping from 0 to 1 g: a transition window that
    reaches into it is not trusted (seed 5 called the next 20 min of sitting standing)."""
    block, labels, result = day("stuck-sensor", seed)
    (a, b), = block.meta["sim"]["stuck"]
    ep = result.epochs
    after = rows(labels, lambda lab, code: lab == "sitting")
    after = [(s, e) for s, e, _, _ in after if b - 1.0 <= s <= b + 1.0]
    for s, e in after:
        assert np.isin(ep.state[inside(ep, s, e, 1.0)], SIT).mean() >= 0.95


def test_leaning_in_the_chair_is_not_standing_up():
    """A lean toward the screen (a reclined sitter passes through upright) moves the trunk, not
    the body: every lean of five simulated desk-days stays sitting (desk-day seed 4 called two
    of them, and the minutes after, standing)."""
    for seed in range(1, 6):
        block, labels, result = day("desk-day", seed)
        ep = result.epochs
        for a, b, _, code in rows(labels, lambda lab, code: code.startswith("lean_")):
            judged = inside(ep, a, b, 1.0)
            assert np.isin(ep.state[judged], SIT).mean() >= 0.95, (seed, a, b, code)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_lying_still_on_the_back_or_side_is_never_not_worn(seed):
    """A wearer who lies down gently and does not move for 8-12 min was taken for a sensor on a
    table after ~2 min (held-out: after ~4 min)."""
    _, labels, result = day("couch", seed)
    ep = result.epochs
    for a, b, _, code in rows(labels, lambda lab, code: lab == "lying"):
        m = inside(ep, a, b, 5.0)
        assert (ep.state[m] == CODE["not_worn"]).sum() == 0, code
        if code.endswith("_still"):
            assert (ep.state[m] == CODE["lying"]).mean() >= 0.95, code


@pytest.mark.parametrize("seed", [1, 2])
def test_lying_propped_on_the_right_side_is_lying_not_sitting(seed):
    """Held-out: lying on the right side was sitting for 84 % of a 5-min bout. Propped on a
    cushion the trunk is only 50-65 deg over, but sideways."""
    _, labels, result = day("couch", seed)
    (a, b, _, _), = rows(labels, lambda lab, code: code == "lie_right")
    ep = result.epochs
    assert (ep.state[inside(ep, a, b, 5.0)] == CODE["lying"]).mean() >= 0.9


def test_a_slow_sit_down_is_heard_once_however_many_windows_hold_it():
    """Real chest recording (Casale subject07, CC BY 4.0): standing at 2467-2590 s (labelled),
    a slow downward movement at ~2528 s is whole in four windows in a row. Each hearing added
    the slow transition's SOFT_NATS again (16 nats, past the switching cost), so this standing
    was called sitting for 2 minutes; heard once, it stays standing. Streaming equals batch."""
    from conftest import shared_file

    block = formats.load(shared_file("realdata", "chest_casale", "subject07.csv.gz"))
    batch = analyze(block)
    ep = batch.epochs
    standing = inside(ep, 2470.0, 2585.0)
    assert standing.sum() == 115
    assert (ep.state[standing] == CODE["standing"]).mean() >= 0.95, ep.state_names[standing]
    assert_streams_as_batch(block, batch, ((0, 0.0), (1, 1.0)), max_feeds=300)


def test_each_transition_is_heard_once_whatever_its_kind_and_wherever_the_chunks_end():
    """One rule (heard._heard_once) for sure and slow transitions: the windows after the first
    that hold the same movement add nothing, a slow one at or just after a sure one of the same
    direction is that one seen weaker, and the carries make any chunking give the batch answer."""
    from sensorback.core.heard import _heard_once

    span, n = 6, 60
    sure = np.array([10, 11, 12, 30, 38])      # one movement in 3 windows; two apart
    soft = np.array([12, 14, 20, 24, 31, 50, 52, 53])
    heard_sure, heard_soft, _, _ = _heard_once(sure, soft, n, 10**9, 10**9, span)
    assert heard_sure.tolist() == [10, 30, 38]
    # 12 (with a sure one), 14 (just after one): the sure one again; 24 after the slow 20;
    # 31 after the sure 30; 52, 53 after the slow 50
    assert heard_soft.tolist() == [20, 50]
    rng = np.random.default_rng(3)
    for _ in range(20):
        cuts = np.sort(rng.choice(np.arange(1, n), size=4, replace=False))
        got_sure, got_soft, c_sure, c_soft = [], [], 10**9, 10**9
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, n]):
            part = lambda x: x[(x >= a) & (x < b)] - a  # noqa: E731
            hs, ho, c_sure, c_soft = _heard_once(part(sure), part(soft), b - a, c_sure, c_soft, span)
            got_sure += (hs + a).tolist()
            got_soft += (ho + a).tolist()
        assert (got_sure, got_soft) == (heard_sure.tolist(), heard_soft.tolist())


def test_a_recording_that_starts_standing_still_does_not_flicker():
    """Real chest recording (Casale subject02, CC BY 4.0) cut to start at 1603 s: standing still
    for 3.5 min, nothing sure seen yet, then a walk. Before anything sure, the inclination from
    the walking upright is evidence per second, judged every CUE_EVERY_S; it all went onto the
    judged epoch, so the decoder's score dipped at every one of them and, with the evidence
    balanced, every fourth epoch came out standing among sitting ones (41 changes in 205 s). It
    is now shared over the epochs it stands for. The same in any chunking."""
    from dataclasses import replace

    from conftest import shared_file

    whole = formats.load(shared_file("realdata", "chest_casale", "subject02.csv.gz"))
    keep = (whole.t >= 1603.0) & (whole.t < 1900.0)
    block = replace(whole, t=whole.t[keep] - whole.t[keep][0], acc=whole.acc[keep])
    batch = analyze(block)
    ep = batch.epochs
    before_walk = ep.state[: int(np.argmax(ep.state == CODE["moving"]))]
    assert before_walk.shape[0] > 180 and np.isin(before_walk, SIT + [CODE["standing"]]).all()
    sitting = np.isin(before_walk, SIT)
    changes = np.flatnonzero(sitting[1:] != sitting[:-1])
    assert changes.size <= 6, changes
    assert np.diff(np.concatenate(([-1], changes, [sitting.shape[0] - 1]))).min() >= 3  # no 1-2 s islands
    assert_streams_as_batch(block, batch, ((0, 0.0), (1, 1.0)), max_feeds=200)


def test_a_seated_trunk_drifting_past_the_side_lying_line_stays_sitting():
    """Real chest recording (Casale subject02, CC BY 4.0): at the computer the wearer sits leaning
    35-44 deg to one side for minutes, then drifts a degree or two further, past the side-lying
    line (45 deg), without moving. The last 4.5 min of that sitting used to be lying. Lying down
    turns the trunk 50-95 deg in seconds, so a still trunk within LYING_DRIFT_DEG of its last
    calm posture that was not lying is still that posture. Streaming equals batch across it."""
    from conftest import shared_file

    block = formats.load(shared_file("realdata", "chest_casale", "subject02.csv.gz"))
    batch = analyze(block)
    ep = batch.epochs
    seated = inside(ep, 60.0, 845.0)  # labelled sitting 0-849 s; the sensor was put on at ~45 s
    assert seated.sum() > 700 and np.isin(ep.state[seated], SIT).all()
    past_line = seated & (np.abs(ep.lateral_deg) >= 45.0)
    assert past_line.sum() > 40  # the drift is there (53 epochs with forward from its 181 walking epochs)
    assert_streams_as_batch(block, batch, ((0, 0.0), (1, 1.0)), max_feeds=300)


def test_a_slow_lie_down_onto_the_side_is_lying_however_near_the_line():
    """The other side of LYING_DRIFT_DEG: the epochs of a lie-down are no calm anchor, so a
    wearer propped on a cushion only a few degrees past the side-lying line (couch seed 2: 49
    deg, reached through 22 and 44 deg) is lying from the first still epoch there."""
    _, labels, result = day("couch", 2)
    (a, b, _, _), = rows(labels, lambda lab, code: code == "lie_right")
    ep = result.epochs
    m = inside(ep, a, b, 2.0)
    assert np.nanmax(np.abs(ep.lateral_deg[m])) < 55.0  # near the line
    assert (ep.state[m] == CODE["lying"]).mean() >= 0.98


@pytest.mark.parametrize("seed", [1, 3])
def test_a_seated_exercise_bike_is_sitting_not_standing(seed):
    _, labels, result = day("exercise-bike", seed)
    (a, b, _, _), = rows(labels, lambda lab, code: code == "exercise_bike")
    ep = result.epochs
    m = inside(ep, a, b, 10.0)
    assert np.isin(ep.state[m], SIT).mean() >= 0.95
    assert (ep.state[m] == CODE["standing"]).mean() <= 0.02


# --------------------------------------------------------- postures no transition shows
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_recording_that_starts_seated_is_sitting_from_its_start(seed):
    """Held-out: sitting at the very start of a recording was standing for ~45 s."""
    _, _, result = day("seated-start", seed)
    assert np.isin(result.epochs.state[:120], SIT).mean() >= 0.95


@pytest.mark.parametrize("seed", [1, 2])
def test_sitting_down_unseen_still_ends_up_sitting_and_prompts_a_break(seed):
    """Every sit-down of this day is slow or inside a radio gap. The core finds the sitting from
    the posture alone (reclined 8-20 deg from the standing one), and most break prompts come
    within 3 minutes of when a perfect observer would give them."""
    block, labels, result = day("hidden-sit-downs", seed)
    ep = result.epochs
    seated = np.zeros(len(ep), bool)
    for a, b, _, _ in rows(labels, lambda lab, code: lab in ("sitting", "slouching")):
        seated |= inside(ep, a, b)
    assert np.isin(ep.state[seated], SIT).mean() >= 0.88  # (the first ~2 min of each sitting are lost)
    due, on_time, spurious, _ = prompt_check(ep, labels, block.meta["sim"]["duration_s"], 1.0)
    assert on_time >= 0.7 * due and spurious <= 1


@pytest.mark.parametrize("seed", [1, 2])
def test_the_seat_before_a_stand_up_straight_into_a_walk_stays_sitting(seed):
    """Rising from the chair and walking off at once leaves no quiet end for the stand-up's
    window, only its walk-off. Its seat must stay sitting up to the rise: these wearers sit
    upright close to their standing posture, the seat's epochs were still open when the walk
    began, and the walk used to claim the last 2.5 minutes of the bout as standing (a break
    prompt missed)."""
    block, labels, result = day("hidden-sit-downs", seed)
    ep = result.epochs
    items = list(labels.rows())
    checked = 0
    for i, (a, b, lab, code) in enumerate(items[:-1]):
        if i > 0 and code == "sit_to_stand" and items[i + 1][3] == "walk" and items[i - 1][2] in ("sitting", "slouching"):
            seat = inside(ep, max(items[i - 1][0], a - 150.0), a)
            assert np.isin(ep.state[seat], SIT).mean() >= 0.95, (a, code)
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_standing_up_unseen_is_standing_within_minutes(seed):
    """Held-out: standing straight after sitting, with no stand-up to see, was sitting for all of
    its 5 minutes. Here each 4-8 min of standing follows a slow or hidden stand-up; after its
    first 3 minutes most of it is standing."""
    _, labels, result = day("hidden-stand-ups", seed)
    ep = result.epochs
    ups = rows(labels, lambda lab, code: code.startswith("sit_to_stand") or code == "ble_gap")
    downs = rows(labels, lambda lab, code: code == "stand_to_sit")
    later = np.zeros(len(ep), bool)
    for _, b, _, _ in ups:
        end = next((a for a, _, _, _ in downs if a > b), None)
        if end is not None and end - b > 240:
            later |= inside(ep, b + 180.0, end)
    truth_standing = np.zeros(len(ep), bool)
    for a, b, _, _ in rows(labels, lambda lab, code: lab == "standing"):
        truth_standing |= inside(ep, a, b)
    m = later & truth_standing
    assert m.sum() > 100
    assert (ep.state[m] == CODE["standing"]).mean() >= 0.6


@pytest.mark.parametrize("seed", [1, 4])
def test_the_first_seen_sit_down_of_a_recording_begun_seated_shows_the_standing_before_it(seed):
    """A recording begins seated and the first stand-up is hidden (in a radio gap, or slow):
    nothing sure is known, so the still time was guessed sitting. The first sit-down seen says
    the wearer stood before it: the guesses within the lag that hold the posture before its
    window, with no trace of a posture change between, are standing, so the bout ends where it
    did and no break prompt comes for a bout shorter than 30 minutes."""
    block, labels = simulate("hidden-stand-ups", seed=seed, duration_s=2400.0)
    ep = analyze(block).epochs
    down = next(a for a, _, _, code in labels.rows() if code == "stand_to_sit")
    before = inside(ep, down - 140.0, down - 5.0)
    assert before.sum() >= 130
    assert (ep.state[before] == CODE["standing"]).mean() >= 0.95
    due, on_time, spurious, _ = prompt_check(ep, labels, 2400.0, 1.0)
    assert due == 0 and spurious == 0


def test_a_sit_down_seen_after_a_stand_up_claims_no_sitting_guessed_before_it():
    """Real chest recording (Casale subject15, CC BY 4.0): the wearer sits from the start, stands
    up (the rise leaves its lean out and back), walks without a walk being sure, and a sit-down is
    then detected while still on the feet. Its window's posture lies nearer part of the seated
    start than the posture after it, but the rise between them says the sitting was no standing."""

    ep = casale("subject15")
    seated = inside(ep, 925.0, 990.0)  # (claimed, it was 23 % sitting)
    assert seated.sum() >= 60
    assert np.isin(ep.state[seated], SIT).mean() >= 0.75


def test_a_bob_while_standing_talking_is_no_sit_down():
    """Real chest recording (Casale subject11, CC BY 4.0): standing and talking, the wearer dips
    at 1762 s; the acceleration tilts 14 deg for one quarter second and drops at 0.65 m/s, which
    was heard as a sure sit-down, and the next 200 s of standing were sitting."""

    ep = casale("subject11")
    standing = inside(ep, 1770.0, 1960.0)
    assert standing.sum() >= 180
    assert (ep.state[standing] == CODE["standing"]).mean() >= 0.9


@pytest.mark.parametrize("seed", [1, 4, 8])
def test_bobs_in_a_standing_chat_are_no_sit_downs(seed):
    """Standing chats with a quick knee bob every minute or so (Timeline.bob). Counting the tilt
    of a single quarter second, these days' first 90 minutes heard sit-downs inside their chats
    and called 75-94 % of a chat sitting (seeds 1-5 over 4 h: 9 heard in 34 chats)."""
    block, labels = simulate("standing-chats", seed=seed, duration_s=5400.0)
    batch = analyze(block)
    ep = batch.epochs
    chats = [(a, b) for a, b, _, code in labels.rows() if code == "stand_chat"]
    assert chats
    for a, b in chats:
        standing = inside(ep, a + 10.0, b - 2.0)
        assert (ep.state[standing] == CODE["standing"]).mean() >= 0.9, (a, b)
    if seed == 1:
        assert_streams_as_batch(block, batch, ((0, 0.0), (1, 1.0), (2, 60.0)), max_feeds=300)


@pytest.mark.parametrize("seed", [3, 5, 6, 11])
def test_a_shift_in_the_chair_is_no_stand_up(seed):
    """A sitter lifts the hips and sits back (Timeline.reseat): the transition measure hears a
    stand-up, but the trunk ends in this wearer's own seat (their sitting posture, known from the
    sit-down before), where no standing trunk is. Without that, each such shift made the rest
    of the desk session standing (these days: 0 % sitting after the shift). Seeds 6 and 11 sit
    13 deg reclined: the stand-up is heard at the pause with the hips lifted, the trunk leaning
    forward through the wearer's standing direction; judged there rather than UP_SETTLE_S later,
    where the trunk is back in the seat, their shifts were stand-ups (0 % sitting after each)."""
    block, labels = simulate("reseats", seed=seed, duration_s=3000.0)
    batch = analyze(block)
    ep = batch.epochs
    rows = list(labels.rows())
    shifts = [b for _, b, _, code in rows if code == "reseat"]
    assert shifts
    for b in shifts:
        end = next((a for a, _, lab, _ in rows if a > b and lab not in ("sitting", "slouching")), b + 600.0)
        after = inside(ep, b + 2.0, end - 2.0)
        assert after.sum() >= 300
        assert np.isin(ep.state[after], SIT).mean() >= 0.95, (b, ep.state_names[after][:5])
    if seed in (5, 11):
        assert_streams_as_batch(block, batch, ((0, 0.0), (1, 1.0), (2, 60.0)), max_feeds=300)
        # and cut right where the shift is heard, in the windows that hear it again, and while
        # it settles
        assert_streams_cut_at(block, batch, [shifts[0] + off for off in range(-2, 10)])


def test_a_shift_heard_as_a_sit_down_teaches_no_standing_posture():
    """A shift in the chair can be heard the other way, as a sit-down (the hips lowered again):
    its window starts in the wearer's own seat. Taken as a sit-down, the seat before it became
    the wearer's standing posture, both postures were then one, and the next shift (heard as a
    stand-up, 37 min later on this day) could no longer be told from a stand-up: the rest of that
    desk session was standing (0 % sitting)."""
    block, labels, batch = day("reseats", 2)
    ep = batch.epochs
    rows = list(labels.rows())
    shifts = [b for _, b, _, code in rows if code == "reseat"]
    assert 3445.0 < shifts[0] < 3455.0 and 5645.0 < shifts[2] < 5655.0  # (their ends) heard as a sit-down; as a stand-up
    end = next(a for a, _, _, code in rows if a > shifts[2] and code == "slouch_onset")
    after = inside(ep, shifts[2] + 8.0, end)
    assert after.sum() >= 100
    assert np.isin(ep.state[after], SIT).all(), ep.state_names[after][:5]


@pytest.mark.parametrize("seed", [3, 6])
def test_a_first_seat_after_a_walk_whose_end_went_unseen_is_sitting(seed):
    """The day's first walk ends in a radio gap and the wearer is seated when data resumes, 15-17
    deg from their walking upright (short of the 19 deg a seat straight after a walk needs to be
    sure). Nothing shows their own postures yet, so the first posture after the gap used to be
    taken for their standing one, the walk's end, and the reference the posture cue measured
    against: the bout was standing (0.06-0.64 of it sitting), no prompt came. A gap hides what
    happened after the walk: the walking upright is the standing reference instead, and the
    posture after the gap no standing anchor."""
    block, labels = simulate("seat-after-walk", seed=seed, duration_s=3600.0)
    batch = analyze(block)
    ep = batch.epochs
    rows = list(labels.rows())
    gap = next(r for r in rows if r[3] == "ble_gap")
    seated = inside(ep, gap[1] + 180.0, 3500.0)
    assert np.isin(ep.state[seated], SIT).mean() >= 0.95
    due, on_time, spurious, _ = prompt_check(ep, labels, 3600.0, 1.0)
    assert due == 2 and on_time == 2 and spurious == 0
    if seed == 3:
        assert_streams_as_batch(block, batch, ((0, 0.0), (1, 1.0), (2, 60.0)), max_feeds=300)
        assert_streams_cut_at(block, batch, [gap[0] - 1.0, gap[1], gap[1] + 2.0, gap[1] + 6.0, gap[1] + 30.0])


def test_a_slouch_long_after_a_sit_down_hidden_in_a_gap_is_sitting():
    """A sit-down inside a radio gap, then minutes of upright sitting only 10 deg from this
    wearer's standing (a level short of the switch), then a 40 deg slouch for 12 minutes. The
    body moved (data went missing) 6 minutes before the slouch, not within the 3 minutes a
    change toward sitting used to need: the slouch was standing. A gap since the last sure
    evidence may hold the sit-down however long before the posture shows it."""
    _, labels, result = day("hidden-sit-downs", 5)
    ep = result.epochs
    rows = list(labels.rows())
    gap_end = [b for _, b, _, code in rows if code == "ble_gap"][-1]  # the day's last gap
    a, b = next((a, b) for a, b, lab, _ in rows if lab == "slouching" and a > gap_end)
    assert a - gap_end > 300 and b - a > 600
    assert not any(gap_end < t < a for t, _, lab, _ in rows if lab == "transition")
    held = inside(ep, a, b, margin=5.0)
    assert np.isin(ep.state[held], SIT).mean() >= 0.9


@pytest.mark.parametrize("scenario", ["hidden-stand-ups", "seat-after-walk", "activity-files"])
def test_streaming_equals_batch_on_a_day_of_unseen_transitions(scenario):
    """Also across a seat reached straight from a walk (Decider._seats carries its watch), and
    across breaks that settle the epochs open before them (activity-files: the cue's level held
    through the missing epochs, carried from chunk to chunk)."""
    block, _ = simulate(scenario, seed=1 if scenario == "seat-after-walk" else 2, duration_s=2400.0)
    assert_streams_as_batch(block, analyze(block), ((0, 0.0), (1, 1.0), (2, 60.0)), max_feeds=400)


@pytest.mark.parametrize("seed", [2, 3])
def test_streaming_equals_batch_across_short_dropouts(seed):
    """Dropouts too short to be breaks: the posture cue's level and a change under way are held
    through them, and through a cue head that falls in one, carried from chunk to chunk."""
    from dropouts import add_dropouts

    block, labels = simulate("activity-files", seed=seed, duration_s=2400.0)
    holed, _ = add_dropouts(block, labels, seed)
    assert_streams_as_batch(holed, analyze(holed), ((0, 0.0), (1, 1.0), (2, 60.0)), max_feeds=400)


def test_streaming_equals_batch_with_every_chunk_ending_just_after_a_dropout():
    """Dense dropouts (0.3-9 s, every 8 s or so), each chunk ending 0.02-1 s after one: a chunk
    that ended on an epoch without data while the posture after a walk was still being collected
    left that epoch unchecked for missing data (the batch checked it), and the wearer's standing
    posture differed from there on (a review found 93 epochs differing)."""
    from dropouts import cut_out
    from test_core_streaming import first_difference, stream

    block, _ = simulate("hidden-sit-downs", seed=5, duration_s=2400.0)
    rng = np.random.default_rng(5 + 777)
    holes, at = [], 30.0
    while at < 2370.0:
        length = rng.uniform(0.3, 9.0)
        holes.append((at, at + length))
        at += length + rng.exponential(8.0) + 0.5
    holed = cut_out(block, holes)
    batch = analyze(holed)
    ends = [b + 0.02 + rng.uniform(0.0, 1.0) for _, b in holes]
    idx = sorted(set(np.searchsorted(holed.t, ends).tolist()) | {0, len(holed.t)})
    got = stream(holed, batch.calibration, 0.0, np.diff(idx).tolist())
    assert got.equals(batch.epochs), first_difference(got, batch.epochs)


def test_every_epoch_is_handed_out_within_the_smoother_lag():
    block, _ = simulate("hidden-sit-downs", seed=1, duration_s=3600.0)
    cal = analyze(block).calibration
    sp = StreamProcessor(CoreOptions(), cal, block.rate_hz)
    step = int(block.rate_hz)
    worst = 0
    for i in range(0, len(block), step):
        sp.feed(block.slice(i, i + step))
        worst = max(worst, len(sp.pending))
    assert 0 < worst <= sp.max_hold_epochs <= 150


# ------------------------------------------------------- the walking upright's seed (issue 9 + 10)
def test_the_posture_cue_is_seeded_by_an_upright_from_walking_or_a_calibrated_stand():
    """Before the wearer has walked, the posture cue's walking upright is the calibration's upright
    if it was found from walking, else the standing direction a guided calibration showed; a
    calibrated upright is a seated one and seeds nothing. A new calibration reseeds it."""
    from dataclasses import replace

    from sensorback.core.decide import Decider, walking_seed
    from sensorback.core.personal import from_windows
    from sensorback.core.pipeline import block_stats

    block, _ = simulate("slouch-mild", seed=2, duration_s=120.0)
    w = block.meta["sim"]["calibration_windows"]
    stats, sensor = block_stats(block, CoreOptions())
    guided, _ = from_windows(stats, CoreOptions(), tuple(w["upright"]), tuple(w["slouch"]), tuple(w["stand"]),
                             sensor=sensor)
    seated_only, _ = from_windows(stats, CoreOptions(), tuple(w["upright"]), tuple(w["slouch"]), sensor=sensor)
    auto = analyze(simulate("desk-day", seed=2, duration_s=900.0)[0]).calibration
    assert auto.reference.up_from_walking and not guided.reference.up_from_walking
    assert np.allclose(walking_seed(auto), auto.reference.up)
    assert np.allclose(walking_seed(guided), guided.stand)
    # standing lies a few degrees from sitting upright for this wearer, not on it
    assert np.degrees(np.arccos(np.clip(np.dot(guided.stand, guided.reference.up), -1, 1))) > 1.0
    assert walking_seed(seated_only) is None
    decider = Decider(CoreOptions(), seated_only, block.rate_hz)
    assert decider._cue.seed_up is None
    decider.calibration = guided
    assert np.allclose(decider._cue.seed_up, guided.stand)
    decider.calibration = replace(guided, stand=None)
    assert decider._cue.seed_up is None


def test_a_seat_as_upright_as_standing_stays_sitting_up_to_the_walk_after_it():
    """Real chest recording (Casale subject11, CC BY 4.0): a shift in the chair at 540-575 s is
    heard as a stand-up and a sure sit-down, whose seat the wearer then leaves for one as upright
    as the standing before it; that change toward standing is never accepted (no rise shows), but
    it held its epochs open, and the stand-up and walk at 1041-1086 s settled the last lag's
    worth of the seat (936-1041 s) standing."""
    ep = casale("subject11")
    seated = inside(ep, 600.0, 1040.0)
    assert seated.sum() >= 430
    assert np.isin(ep.state[seated], SIT).mean() >= 0.95


def test_a_slouch_past_the_cues_lean_does_not_hold_the_bout_open_until_the_next_walk():
    """The demo's wearer slouches for five minutes at ~31 deg, just past the posture cue's 'surely
    sitting' lean (30 deg), sits up, loses the radio for 12 s and gets up straight into a walk. The
    slouch's level differs from the one accepted while sitting upright, so it counted as a posture
    change under way and held every epoch open; the walk then settled the sitting after the gap
    standing (the break prompt read as heeded). Both levels say sitting: nothing is held."""
    block, labels, res = day("demo", 1)
    ep = res.epochs
    (g0, g1), = [(a, b) for a, b, lab, code in labels.rows() if code == "ble_gap"]
    stand_up = next(a for a, b, lab, code in labels.rows() if code == "sit_to_stand" and a > g1)
    after_gap = inside(ep, g1, stand_up, 1.0)
    assert after_gap.sum() > 20
    assert np.isin(ep.state[after_gap], SIT).mean() > 0.95


# ------------------------------------------------------------- a sit-down's window
def test_the_standing_before_a_seen_sit_down_is_not_claimed_for_sitting():
    """A transition window (6 s) starts at rest and holds the 1.5-3 s movement: its calm first
    epochs are the wearer still standing. Real waist recording (HAPT exp01, CC BY 4.0): every
    standing epoch up to the labelled stand-to-sit is standing, every sitting one after it sitting."""
    here = Path(__file__).resolve().parents[1] / "recordings"
    ep = analyze(formats.load(here / "hapt_waist_exp01_user01.csv.gz")).epochs
    import csv

    with open(here / "hapt_waist_exp01_user01.labels.csv", newline="") as f:
        table = list(csv.DictReader(f))
    sit_downs = [i for i, r in enumerate(table) if r["source_code"] == "7"]
    assert sit_downs
    for i in sit_downs:
        before, after = table[i - 1], table[i + 1]
        assert before["label"] == "standing" and after["label"] == "sitting"
        stand = inside(ep, float(before["t_start"]), float(before["t_end"]))
        sit = inside(ep, float(after["t_start"]), float(after["t_end"]))
        assert stand.sum() >= 10 and sit.sum() >= 10
        assert (ep.state[stand] == CODE["standing"]).all(), ep.state_names[stand][-6:]
        assert np.isin(ep.state[sit], SIT).all()


def test_a_slow_rise_that_ends_leaning_is_no_stand_up():
    """A standing trunk settles within a few degrees of the walking upright; a slow 'rise' that
    ends 19 deg or more from it is a shift in the chair. Real chest recording (Casale subject15,
    CC BY 4.0): after shifting at 957 s it sits on leaning 22-29 deg until it gets up at 992 s;
    the slow rise used to tip the smoother to standing and the walk then settled all of it so."""

    ep = casale("subject15")
    judged = inside(ep, 980.0, 991.0)
    assert judged.sum() == 11
    assert np.isin(ep.state[judged], SIT).all(), ep.state_names[judged]


def test_real_standing_spliced_after_real_sitting_with_no_stand_up_between():
    """benchmarks/spliced.py builds the held-out failure from real signals: a wearer's longest
    sitting, a radio gap, then their own longest standing (Casale subject13, CC BY 4.0: 5.9 and
    5.5 min). The parts keep their labelled lengths, the gap is GAP_S, recalls() counts the
    epochs wholly inside each part, and this wearer's unseen standing is found (most of it)."""
    import csv

    from conftest import shared_file
    from spliced import GAP_S, recalls, sit_then_stand

    rec = shared_file("realdata", "chest_casale", "subject13.csv.gz")
    lab = rec.with_name("subject13.labels.csv")
    with open(lab, newline="") as f:
        rows = list(csv.DictReader(f))

    def longest(label):
        return max(float(r["t_end"]) - float(r["t_start"]) for r in rows if r["label"] == label)

    sp = sit_then_stand(formats.load(rec), lab)
    assert sp.sitting[1] == pytest.approx(longest("sitting"), abs=0.1)
    assert sp.standing[1] - sp.standing[0] == pytest.approx(longest("standing"), abs=0.1)
    assert sp.standing[0] - sp.sitting[1] == pytest.approx(GAP_S, abs=0.1)
    ep = analyze(sp.block).epochs
    stood, standing, sat, sitting = recalls(sp, ep)
    assert standing == int(inside(ep, *sp.standing).sum()) > 300
    assert sitting == int(inside(ep, *sp.sitting).sum()) > 300
    assert stood >= 0.8 * standing and sat >= 0.9 * sitting


def test_the_spliced_recording_after_a_walk_puts_the_wearers_own_walk_and_a_gap_first():
    """spliced.after_a_walk: WALK_S of the wearer's own walking, a GAP_S radio gap, then the same
    sitting and standing, shifted; the walk (the wearer's longest labelled moving row, here with
    pauses) is mostly seen as moving."""
    from conftest import shared_file
    from spliced import GAP_S, WALK_S, after_a_walk, recalls, sit_then_stand

    from sensorback.core.states import CODE as STATE

    rec = shared_file("realdata", "chest_casale", "subject13.csv.gz")
    lab = rec.with_name("subject13.labels.csv")
    block = formats.load(rec)
    sp = sit_then_stand(block, lab)
    walked = after_a_walk(block, lab, sp)
    shift = walked.sitting[0] - sp.sitting[0]
    assert shift == pytest.approx(WALK_S + GAP_S, abs=0.5)
    assert walked.standing == pytest.approx((sp.standing[0] + shift, sp.standing[1] + shift))
    ep = analyze(walked.block).epochs
    assert (ep.state[inside(ep, 5.0, WALK_S - 5.0)] == STATE["moving"]).mean() > 0.5
    stood, standing, sat, sitting = recalls(walked, ep)
    assert standing == int(inside(ep, *walked.standing).sum()) > 300
    assert sitting == int(inside(ep, *walked.sitting).sum()) > 300


def test_a_seat_reached_straight_from_a_walk_shows_no_standing_in_between():
    """seat-after-walk (the real signals' lesson, benchmarks/spliced.py after_a_walk): each desk
    session begins with a radio gap that starts inside a walk and ends on the seat, so nothing
    between the walk and the sitting arrives."""
    block, labels = simulate("seat-after-walk", seed=1, duration_s=3600.0)
    rows = list(labels.rows())
    gaps = [i for i, r in enumerate(rows) if r[3] == "ble_gap" and 0 < i < len(rows) - 1]
    assert gaps
    for i in gaps:
        assert rows[i - 1][2] == "moving" and rows[i + 1][2] == "sitting"
        a, b = rows[i][0], rows[i][1]
        assert not ((block.t >= a) & (block.t < b)).any()


@pytest.mark.parametrize("seed", [1, 4])
def test_a_seat_reached_straight_from_a_walk_is_sitting_from_its_start(seed):
    """The first posture after a walk used to be taken for standing, so a seat reached unseen
    (the walk's end and the sit-down in one radio gap) made the whole desk session standing.
    When that posture lies 19 deg or more from the walking upright it is a seat (Decider._seats):
    here the first session, from the gap's end, is sitting."""
    block, labels = simulate("seat-after-walk", seed=seed, duration_s=2400.0)
    ep = analyze(block).epochs
    rows = list(labels.rows())
    i = next(i for i, r in enumerate(rows) if r[3] == "ble_gap")
    end = next(r[0] for r in rows[i:] if r[2] not in ("sitting", "slouching", "no_data"))
    seated = inside(ep, rows[i][1], end)
    assert seated.sum() > 600
    assert np.isin(ep.state[seated], SIT).mean() >= 0.95


def test_a_real_seat_reached_straight_from_a_walk_is_sitting():
    """Real signals (Casale subject12, CC BY 4.0, through benchmarks/spliced.py): 60 s of their
    walking, a radio gap, then their sitting 26 deg from the walking upright. It was standing
    for all of its 15.6 minutes; now it is sitting."""
    from conftest import shared_file
    from spliced import after_a_walk, recalls, sit_then_stand

    rec = shared_file("realdata", "chest_casale", "subject12.csv.gz")
    lab = rec.with_name("subject12.labels.csv")
    block = formats.load(rec)
    walked = after_a_walk(block, lab, sit_then_stand(block, lab))
    _, _, sat, sitting = recalls(walked, analyze(walked.block).epochs)
    assert sitting > 800 and sat >= 0.95 * sitting


def test_a_level_is_accepted_through_a_fidget_but_not_without_enough_still_heads():
    """PostureCue._persistent: heads whose trunk was not still (a gesture, a step) neither hold a
    posture change up nor count toward it; at least half the window's heads must have been
    judged, and the change is taken at a judged head. The same in any chunking. (Fidgety
    standing used to keep its standing level from ever being accepted: the spliced Casale
    subject12 stood 29 % of their standing, not 11 %, once this held.)"""
    from sensorback.core.posture_cue import PostureCue
    from sensorback.core.smoother import NAT

    def accepted(seen_every, chunks=(400,)):
        cue = PostureCue(1.0, 8, 150, cue_every=4)
        n = sum(chunks)
        out = np.full(n, -8 * NAT, np.int64)
        seen = np.ones(n, bool)
        if seen_every:
            seen[::seen_every] = False
        out[~seen] = 0
        mark = np.zeros(n, bool)
        eff, i = [], 0
        for c in chunks:
            eff.append(cue._persistent(out[i:i + c], mark[i:i + c], None, seen[i:i + c]))
            i += c
        return np.concatenate(eff)

    w = PostureCue(1.0, 8, 150, cue_every=4).persist
    every_third = accepted(3)
    assert (every_third[w:] == -8 * NAT).all()            # a third of the heads fidgeting
    assert np.array_equal(every_third, accepted(3, (7, 93, 1, 299)))
    assert (accepted(0)[w - 1:] == -8 * NAT).all()
    cue = PostureCue(1.0, 8, 150, cue_every=4)
    seen = np.zeros(400, bool)
    seen[::3] = True                                       # two of three heads not judged
    out = np.where(seen, -8 * NAT, 0).astype(np.int64)
    assert (cue._persistent(out, np.zeros(400, bool), None, seen) == 0).all()



def _tilted(deg: np.ndarray) -> np.ndarray:
    """Unit directions tilted deg forward from (0, 0, 1), one row per epoch (NaN: no data)."""
    r = np.radians(deg)
    return np.stack([np.sin(r), np.zeros_like(r), np.cos(r)], axis=1)


def test_the_lean_out_and_back_of_a_rise_is_an_excursion_a_lean_in_the_chair_is_not():
    """PostureCue.excursions: a slow rise leans the trunk 15-30 deg forward and brings it back;
    a reclined sitter leaning forward to upright, or a slouch settling in, goes one way only.
    The same in any chunking."""
    from sensorback.core.posture_cue import EXCURSION_EPOCHS, PostureCue

    deg = np.full(200, -10.0)                    # reclined, then ...
    deg[40:46] = [0.0, 10.0, 20.0, 20.0, 10.0, 2.0]   # ... a rise: out 30 deg and back to 2
    deg[46:100] = 2.0
    deg[100:110] = np.linspace(2.0, 17.0, 10)     # a lean of 15 deg, held
    deg[110:150] = 17.0
    deg[150:160] = np.nan                        # no data
    deg[160:] = 17.0
    g = _tilted(deg)
    flags = PostureCue(1.0, 8, 150).excursions(g)
    # seen from the epoch the trunk is back, while the span still starts before the rise
    assert np.flatnonzero(flags).tolist() == list(range(45, 40 + EXCURSION_EPOCHS + 1))
    cue = PostureCue(1.0, 8, 150)
    cuts = [0, 3, 41, 44, 120, 155, 200]
    chunked = np.concatenate([cue.excursions(g[a:b]) for a, b in zip(cuts, cuts[1:])])
    assert np.array_equal(chunked, flags)
    # a deep slouch settling in over 5 s and recovering in 4 s goes one way each time: it passes
    # through directions 12 deg and more from both ends of the span, but on the way between them
    deg = np.full(120, 10.0)
    deg[20:25] = np.linspace(17.0, 45.0, 5)
    deg[25:80] = 45.0
    deg[80:84] = np.linspace(36.0, 10.0, 4)
    assert not PostureCue(1.0, 8, 150).excursions(_tilted(deg)).any()


def test_a_change_toward_standing_needs_a_trace_of_rising_a_change_toward_sitting_does_not():
    """PostureCue._persistent with `rose`: a level that turns standing for minutes is accepted
    only where a transition could have left its trace (rose), one that turns sitting wherever
    the body moved (moved), as before."""
    from sensorback.core.posture_cue import PostureCue
    from sensorback.core.smoother import NAT

    n = 300
    for sign, rose_at, accepted in ((-1, False, False), (-1, True, True), (1, False, True)):
        cue = PostureCue(1.0, 8, 150, cue_every=4)
        out = np.zeros(n, np.int64)
        out[50:] = sign * 8 * NAT
        eff = cue._persistent(out, np.zeros(n, bool), np.ones(n, bool), np.ones(n, bool),
                              np.full(n, rose_at))
        assert bool(eff[-1] == sign * 8 * NAT) == accepted, (sign, rose_at)


def test_a_reclined_sitter_leaning_forward_to_where_they_stand_stays_sitting():
    """hidden-sit-downs seed 5: a wearer who sits 9 deg reclined from their standing posture
    leans 7 deg forward for three minutes (5413-5583 s), which puts the trunk where they stand.
    Nothing rose (no lean out and back, no gap): it stays sitting, the bout is not cut by a
    false break, and the four break prompts of that bout come on time (they were all lost). (Of
    the day's 11 prompts, the last bout's two come 5 minutes late: its seat, reached in a radio
    gap, is only 9 deg from standing and counts as sitting only from the slouch after it.)"""
    from accuracy import prompts

    block, labels, result = day("hidden-sit-downs", 5)
    ep = result.epochs
    lean = inside(ep, 5413.0, 5583.0, 1.0)
    assert lean.sum() > 150
    assert np.isin(ep.state[lean], SIT).mean() >= 0.95
    p = prompts(ep, labels, block.meta["sim"]["duration_s"], 1.0)
    assert p.on_time >= p.due - 2 and p.spurious == 0 and p.late <= 2, p


def test_a_real_wearer_shifting_in_the_chair_stays_sitting():
    """Casale subject11 (CC BY 4.0) shifts in the chair at 545-572 s and then sits 6-8 deg
    nearer their walking upright until they stand up; that posture change was taken for an
    unseen stand-up and 300 s of labelled sitting called standing (sit/stand balanced accuracy
    0.43). No lean out and back and no gap came with it: it stays sitting."""
    from accuracy import evaluate
    from conftest import shared_file

    rec = shared_file("realdata", "chest_casale", "subject11.csv.gz")
    truth, state = evaluate(rec, rec.with_name("subject11.labels.csv"), CoreOptions())
    m = np.zeros(len(state), bool)
    m[600:930] = True
    m &= truth == "sitting"
    assert m.sum() > 300
    assert np.isin(state[m], SIT).mean() >= 0.95


def test_a_cheap_sensors_offset_does_not_turn_a_chest_wearers_day_around():
    """Real chest recording (Casale subject01, CC BY 4.0), which only sits and stands: its still
    orientations are too narrow a cone for a sphere fit. Given the offsets and gains of an
    uncalibrated sensor (benchmarks/accuracy.py with_sensor_error, variant 4: about 27 and 29 mg
    on two axes), the fit of the offset across that cone keeps its sitting and standing as they
    were (without it, sit/stand balanced accuracy fell from 0.988 to 0.569: a false stand-up)."""
    from accuracy import epoch_truth, score, with_sensor_error
    from conftest import shared_file

    rec = shared_file("realdata", "chest_casale", "subject01.csv.gz")
    block = formats.load(rec)
    worse = with_sensor_error(block, 4)
    result = analyze(worse)
    assert result.calibration.sensor.note.startswith("offset across the one cone"), result.calibration.sensor.note
    ep = result.epochs
    truth = epoch_truth(rec.with_name("subject01.labels.csv"), len(ep), 1.0)
    assert score(truth, ep.state).sit_stand_ba > 0.95
    assert np.mean(ep.state == analyze(block).epochs.state) > 0.98


def test_a_seat_reached_unseen_is_known_by_the_wearers_own_sitting_posture():
    """seat-after-walk, a wearer who sits 15 deg reclined from their standing posture (seed 1): a
    seat reached straight from a walk lies short of SIT_DEG from the walking upright, so only the
    first session (nothing of this wearer known yet) is left standing. Once a seen stand-up has
    shown their sitting and standing postures, the next seat reached through a radio gap matches
    the sitting one (posture_cue._own_seat) and is sitting from the gap's end, while the standing
    after their walks stays standing; chunked as batch."""
    block, labels = simulate("seat-after-walk", seed=1, duration_s=4000.0)
    batch = analyze(block)
    ep = batch.epochs
    rows_ = list(labels.rows())
    up = next(r for r in rows_ if r[3] == "sit_to_stand")
    gap = next(r for r in rows_ if r[3] == "ble_gap" and r[0] > up[1])
    end = next(r[0] for r in rows_ if r[0] >= gap[1] and r[2] not in ("sitting", "slouching", "no_data"))
    seated = inside(ep, gap[1], end)
    assert seated.sum() > 600
    assert np.isin(ep.state[seated], SIT).mean() >= 0.95
    standing = np.zeros(len(ep), bool)
    for a, b, lab, _code in rows(labels, lambda lab, code: lab == "standing"):
        standing |= inside(ep, a, b, margin=2.0)
    assert standing.sum() > 60
    assert (ep.state[standing] == CODE["standing"]).mean() >= 0.9
    assert_streams_as_batch(block, batch, ((0, 0.0), (1, 1.0)), max_feeds=200)


def test_a_posture_after_a_walk_is_a_seat_only_where_the_wearers_sitting_lies():
    """_own_seat on directions: the wearer stands upright and sits 14 deg reclined. After a walk,
    their sitting posture (or near it) is a seat; their standing one, a posture a few degrees
    off it, or one 14 deg off to the side (nearer neither) is not; nor is anything before both
    postures are known."""
    from sensorback.core.posture_cue import Anchors, _own_seat

    def tilt(deg, axis):
        r = np.radians(deg)
        v = np.array([0.0, 0.0, 1.0]) * np.cos(r)
        v[axis] = np.sin(r)
        return v

    anchors = Anchors(stand=tilt(0.0, 0), sit=tilt(-14.0, 0))
    assert _own_seat(tilt(-14.0, 0), anchors)
    assert _own_seat(tilt(-12.0, 0), anchors)
    assert not _own_seat(tilt(0.0, 0), anchors)
    assert not _own_seat(tilt(-5.0, 0), anchors)
    assert not _own_seat(tilt(14.0, 1), anchors)
    assert not _own_seat(tilt(-14.0, 0), Anchors(stand=tilt(0.0, 0)))
    assert not _own_seat(tilt(-14.0, 0), Anchors(sit=tilt(-14.0, 0)))


# ------------------------------------------------------------------------ told postures
def _fed(block, calibration, tell, tell_at: int, seed: int, delay: float) -> tuple[EpochTable, int]:
    """block through a StreamProcessor in a random chunking, tell(processor) called once the first
    tell_at samples are in; (all epochs, what tell returned)."""
    from test_core_streaming import chunk_sizes

    sp = StreamProcessor(CoreOptions(), calibration, block.rate_hz, max_delay_s=delay)
    out, i, told = [], 0, None
    for part, n in ((0, tell_at), (1, len(block) - tell_at)):
        if part == 1:
            told = tell(sp)
        for k in chunk_sizes(n, np.random.default_rng(seed + part)) if n else []:
            out.append(sp.feed(block.slice(i, i + k)))
            i += k
    return EpochTable.concat(out + [sp.finish()]), told


def test_a_told_standing_window_makes_a_seated_looking_still_stretch_standing():
    """tell_standing (a guided calibration's stand step): the still epochs wholly inside the window
    are sure standing, here on a stretch where the simulated wearer really sits upright and leans
    a little (after a radio gap), so being told is the only reason to call it standing. Epochs
    far from it keep their states, and the result does not depend on the chunking or on when,
    before the window, it was told."""
    block, _ = simulate("demo", seed=1)
    batch = analyze(block)
    plain = batch.epochs
    window = (470.0, 495.0)
    at = inside(plain, *window)
    assert at.sum() == 25 and np.isin(plain.state[at], SIT).all()
    got, n = _fed(block, batch.calibration, lambda sp: sp.tell_standing(*window), 0, 1, 1.0)
    assert n == 25
    assert (got.state[at] == CODE["standing"]).all()
    far = (plain.t_end <= 440.0) | (plain.t_start >= 600.0)
    assert np.array_equal(got.state[far], plain.state[far])
    before = int(np.searchsorted(block.t, window[0] - 3.0))
    for seed, delay, tell_at in [(2, 0.0, 0), (3, 60.0, before), (4, 1e9, before), (5, 7.5, before // 2)]:
        again, n = _fed(block, batch.calibration, lambda sp: sp.tell_standing(*window), tell_at, seed, delay)
        assert n == 25 and again.equals(got), f"seed {seed}, delay {delay}"


def test_a_window_told_after_its_epochs_were_decided_applies_to_the_rest_only():
    """Telling comes too late for epochs already decided: they get no evidence of their own (no
    error, nothing disturbed: here they stay as first decided), and the epochs of the window still
    to come are told; a window wholly decided changes nothing at all. Where told windows overlap,
    the one told last counts."""
    block, _ = simulate("demo", seed=1)
    batch = analyze(block)
    plain = batch.epochs
    window = (470.0, 495.0)
    mid = int(np.searchsorted(block.t, 482.5))  # epochs up to 481 are decided once these are in
    late, n = _fed(block, batch.calibration, lambda sp: sp.tell_standing(*window), mid, 6, 0.0)
    assert n == 13  # epochs 482 .. 494
    early = late.t_end <= 482.0
    assert np.array_equal(late.state[early], plain.state[early])
    assert np.isin(late.state[inside(late, 470.0, 482.0)], SIT).all()
    assert (late.state[inside(late, 482.0, window[1])] == CODE["standing"]).all()
    after, n = _fed(block, batch.calibration, lambda sp: sp.tell_standing(*window),
                    int(np.searchsorted(block.t, 520.0)), 7, 1.0)
    assert n == 0 and after.equals(plain)
    # told standing, then seated over the same seconds: seated
    both, _ = _fed(block, batch.calibration, lambda sp: (sp.tell_standing(*window), sp.tell_seated(*window)), 0, 8, 1.0)
    assert np.isin(both.state[inside(both, *window)], SIT).all()
    with pytest.raises(ValueError):
        StreamProcessor(CoreOptions(), batch.calibration, block.rate_hz).tell_seated(10.0, 5.0)


# ------------------------------------------------------------------ a calibration's own postures
def test_a_calibrations_stand_step_shows_the_wearers_postures_before_any_transition():
    """calibrated-hidden (seed 1): a guided calibration with its stand step, then two hours whose
    every sit-down and stand-up goes unseen (slow, or in a radio gap) and no walks. Told where the
    calibration's steps were (--reference-window, --forward-window, --stand-window), the core
    knows this wearer's sitting and standing postures from the start and again once the stand
    step is over (decide.own_postures; the calibration's own stand-up showed the slouch as the
    sitting posture): sitting and standing both >= 0.9. Told nothing, a third of the unseen seats
    are taken for standing (sitting 0.63; 0.46 before a rise's trace had to come before the
    standing it explains, 0.51 before it had to show a posture change): the calibration is worth
    a quarter of the sitting or more. Chunked as batch."""
    block, labels = simulate("calibrated-hidden", seed=1)
    w = block.meta["sim"]["calibration_windows"]
    told = CoreOptions(reference_window=tuple(w["upright"]), forward_window=tuple(w["slouch"]),
                       stand_window=tuple(w["stand"]))
    shares = {}
    for name, options in (("told", told), ("untold", CoreOptions())):
        batch = analyze(block, options)
        ep = batch.epochs
        standing, seated = np.zeros(len(ep), bool), np.zeros(len(ep), bool)
        for a, b, lab, _code in labels.rows():
            m = inside(ep, max(a, 100.0), b, margin=30.0)
            standing |= m & (lab == "standing")
            seated |= m & (lab in ("sitting", "slouching"))
        assert standing.sum() > 600 and seated.sum() > 2400
        shares[name] = ((ep.state[standing] == CODE["standing"]).mean(), np.isin(ep.state[seated], SIT).mean())
        if name == "told":
            assert batch.calibration.stand is not None
            from test_core_streaming import chunk_sizes, first_difference, stream

            for seed, delay in ((0, 0.0), (1, 1.0)):
                sizes = chunk_sizes(len(block), np.random.default_rng(seed), max_feeds=200)
                got = stream(block, batch.calibration, delay, sizes, options=options)
                assert got.equals(ep), first_difference(got, ep)
    assert min(shares["told"]) >= 0.9, shares
    assert shares["told"][1] - shares["untold"][1] >= 0.25, shares


def test_own_postures_come_only_from_a_calibration_that_showed_both():
    """decide.own_postures: a seated upright the wearer was told to take and a stand step; not an
    upright found from walking, nor a calibration without its stand step."""
    from sensorback.core.decide import own_postures
    from sensorback.core.reference import Calibration, Reference
    from sensorback.core.calibration import SensorCalibration

    up, fwd, stand = (0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.2, 0.0, 0.98)

    def cal(source, stand_dir):
        return Calibration(SensorCalibration(), Reference(up, fwd, source, "x"), stand=stand_dir)

    got = own_postures(cal("calibrated upright", stand))
    assert np.allclose(got.sit, up) and np.allclose(got.stand, np.array(stand) / np.linalg.norm(stand))
    assert own_postures(cal("window 3:12 s", stand)).sit is not None
    assert own_postures(cal("walking (300 s)", stand)).stand is None
    assert own_postures(cal("calibrated upright", None)).stand is None



def test_the_calm_seconds_before_a_stand_up_stay_seated():
    """A stand-up's transition window (6 s) starts at rest, before the movement: its calm first
    epochs are the wearer still seated. Claimed for standing (until stop 27) they lengthened the
    break: this day's 56 s stand at 82.9 min (under the coach's 60 s break) read as 60 s, so the
    seated bout restarted and the next three prompts (86, 96, 106 min) never came."""
    from closed_gaps import close_gaps

    block, labels = close_gaps(*simulate("hidden-sit-downs", seed=1))
    ep = analyze(block).epochs
    rows = list(labels.rows())
    (a,) = [a for a, _, lab, code in rows if code == "sit_to_stand" and 4960.0 < a < 4980.0]
    seated_again = next(b for b, _, lab, _ in rows if b > a and lab not in ("transition", "standing"))
    assert 50.0 < seated_again - a < 60.0  # a stand shorter than a break
    before = inside(ep, a - 6.0, a)
    assert before.sum() >= 4
    assert np.isin(ep.state[before], SIT).all(), ep.state_names[before]
    due, on_time, spurious, _ = prompt_check(ep, labels, block.meta["sim"]["duration_s"], 1.0)
    assert (on_time, spurious) == (due, 0), (due, on_time, spurious)


def test_a_dropout_where_a_stand_up_comes_to_rest_leaves_it_only_likely():
    """A stand-up is judged where the trunk came to rest, 3 s after it was heard (UP_SETTLE_S).
    With no data in that second, a shift in the chair (heard here at epoch 1728 of this day,
    the wearer seated until a stand-up at 2395 s) passed both tests on the trunk's direction as a
    sure stand-up: 666 seated epochs were called standing (review of stop 27)."""
    block, labels, _ = day("reseats", 1)
    keep = ~((block.t >= 1731.0) & (block.t < 1732.0))
    dropped = SampleBlock(block.t[keep], block.acc[keep], device=block.device, rate_hz=block.rate_hz,
                          meta=dict(block.meta))
    ep = analyze(dropped).epochs
    seated = inside(ep, 1720.0, 2395.0) & (ep.state != CODE["no_data"])
    assert seated.sum() >= 600
    assert np.isin(ep.state[seated], SIT).all(), np.unique(ep.state_names[seated], return_counts=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_activity_files_keep_the_sitting_before_a_hidden_stand_up(seed):
    """activity-files: sitting, standing and walking files joined with every stand-up and
    sit-down in a radio gap. The standing after a gap used to claim the sitting still open before
    it (up to the smoother's 150 s lag: sitting recall 0.57-0.81 here); a break long enough to hold
    a transition now decides those epochs as they stood, by the evidence before it."""
    block, labels = simulate("activity-files", seed=seed, duration_s=1800.0)
    ep = analyze(block).epochs
    truth = labels.at(ep.t_start + 0.5)
    sitting, standing = truth == "sitting", truth == "standing"
    assert sitting.sum() > 300 and standing.sum() > 300
    assert np.isin(ep.state[sitting], SIT).mean() >= 0.95
    assert (ep.state[standing] == CODE["standing"]).mean() >= 0.8


@pytest.mark.parametrize("scenario,seed", [("hidden-sit-downs", 1), ("hidden-sit-downs", 2),
                                           ("activity-files", 4), ("activity-files", 5)])
def test_short_dropouts_change_no_sitting_or_standing(scenario, seed):
    """A dropout of 1-4.6 s (benchmarks/dropouts.py: the lost packets of a real radio link) is too
    short to hold a sit-down or a stand-up: with the same calibration, every epoch with data in
    both is sitting or standing alike, give or take a few. Before breaks were told from dropouts
    (a dropout counted as a trace of rising and settled the open epochs before it on the score
    alone) 8-11 % of them changed here. In activity-files 4-6 % still changed after that: a
    posture change under way (held by the smoother until accepted) was released by the dropout's
    epochs, and by the data epochs after a posture-cue head that fell in it, and the score then
    settled the epochs it held (now the change under way is held through the dropout)."""
    from dropouts import add_dropouts

    block, labels = simulate(scenario, seed=seed, duration_s=2400.0)
    cal = analyze(block).calibration
    plain = analyze(block, calibration=cal).epochs
    dropped, _ = add_dropouts(block, labels, seed)
    assert len(dropped.meta["sim"]["gaps"]) - len(block.meta["sim"]["gaps"]) >= 5
    holed = analyze(dropped, calibration=cal).epochs
    ka, kb = np.round(plain.t_start).astype(int), np.round(holed.t_start).astype(int)
    both = np.intersect1d(ka[plain.state != CODE["no_data"]], kb[holed.state != CODE["no_data"]])
    assert both.size > 2000
    a = np.isin(plain.state[np.searchsorted(ka, both)], SIT)
    b = np.isin(holed.state[np.searchsorted(kb, both)], SIT)
    assert (a == b).mean() >= 0.99
