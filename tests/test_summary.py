"""summarize() on hand-built EpochTables: every number checked exactly."""

import json
import math

import numpy as np
import pytest

from sensorback.core.epochs import EpochTable
from sensorback.core.states import CODE, STATES
from sensorback.summary import SEATED_STATES, format_duration, format_summary, seated_seconds, summarize

NAN = float("nan")


def table(segments, t0=0.0):
    """Build a contiguous EpochTable from (state, seconds[, n_epochs[, inclination[, flexion]]]) rows.

    Each row becomes n_epochs equal epochs (default 1) covering its seconds.
    """
    t_start, t_end, state, incl, flex = [], [], [], [], []
    t = t0
    for seg in segments:
        name, seconds = seg[0], seg[1]
        n = seg[2] if len(seg) > 2 else 1
        inc = seg[3] if len(seg) > 3 else 5.0
        fl = seg[4] if len(seg) > 4 else 0.0
        for i in range(n):
            t_start.append(t + seconds * i / n)
            t_end.append(t + seconds * (i + 1) / n)
            state.append(CODE[name])
            incl.append(inc)
            flex.append(fl)
        t += seconds
    m = len(state)
    return EpochTable(
        t_start=np.array(t_start, np.float64),
        t_end=np.array(t_end, np.float64),
        state=np.array(state, np.int8),
        inclination_deg=np.array(incl, np.float32),
        flexion_deg=np.array(flex, np.float32),
        lateral_deg=np.zeros(m, np.float32),
        intensity_g=np.zeros(m, np.float32),
        cadence_spm=np.zeros(m, np.float32),
    )


def test_seconds_shares_and_worn_time():
    s = summarize(table([("sitting", 10, 10), ("standing", 5, 5), ("not_worn", 3, 3), ("no_data", 2, 2)]))
    assert s.epochs == 20
    assert s.t_start == 0.0 and s.t_end == 20.0
    assert s.total_s == 20.0
    assert s.worn_s == 15.0
    assert s.state_s == {
        "moving": 0.0, "standing": 5.0, "sitting": 10.0, "slouching": 0.0,
        "lying": 0.0, "not_worn": 3.0, "no_data": 2.0,
    }
    assert s.share("sitting") == 0.5
    assert s.share("not_worn") == 0.15
    assert s.share_of_worn("standing") == 5 / 15
    assert s.share_of_worn("not_worn") is None
    d = s.to_dict()
    assert d["states"]["sitting"] == {"seconds": 10, "share": 0.5, "share_of_worn": round(10 / 15, 6)}
    assert set(d["states"]) == set(STATES)


def test_lying_counts_as_worn():
    s = summarize(table([("lying", 30), ("no_data", 10)]))
    assert s.worn_s == 30.0
    assert s.share_of_worn("lying") == 1.0


def test_short_stand_does_not_end_a_bout_but_a_minute_does():
    s = summarize(table([
        ("sitting", 600, 10),
        ("standing", 30, 3),  # short: stays in the bout, counts toward it
        ("slouching", 600, 10),
        ("standing", 20, 2), ("moving", 40, 4),  # 60 s upright in a mix: a break
        ("sitting", 100),
    ]))
    assert s.breaks == 1
    assert s.n_bouts == 2
    b1, b2 = s.bouts
    assert (b1.start_s, b1.end_s) == (0.0, 1230.0)
    assert b1.seated_s == 1200.0
    assert b1.slouching_s == 600.0
    assert b1.short_upright_s == 30.0
    assert b1.paused_s == 0.0
    assert b1.duration_s == 1230.0
    assert (b2.start_s, b2.end_s, b2.duration_s) == (1290.0, 1390.0, 100.0)
    assert s.longest_bout_s == 1230.0
    assert s.seated_s == 1300.0
    assert s.slouch_share == 600 / 1300


def test_break_threshold_is_inclusive_and_configurable():
    fifty_nine = summarize(table([("sitting", 100), ("standing", 59), ("sitting", 100)]))
    assert (fifty_nine.n_bouts, fifty_nine.breaks) == (1, 0)
    assert fifty_nine.bouts[0].duration_s == 259.0
    sixty = summarize(table([("sitting", 100), ("standing", 60), ("sitting", 100)]))
    assert (sixty.n_bouts, sixty.breaks) == (2, 1)
    custom = summarize(table([("sitting", 100), ("standing", 60), ("sitting", 100)]), sit_break_min_s=120)
    assert (custom.n_bouts, custom.breaks) == (1, 0)
    assert custom.to_dict()["seated"]["rules"]["break_min_s"] == 120


def test_lying_not_worn_and_no_data_pause_a_bout_without_ending_it():
    s = summarize(table([
        ("sitting", 100),
        ("lying", 50),
        ("sitting", 100),
        ("not_worn", 200),
        ("standing", 59),
        ("no_data", 10),  # splits the upright time: 59 s + 50 s are two short runs, not a break
        ("moving", 50),
        ("slouching", 10),
    ]))
    assert s.breaks == 0
    assert s.n_bouts == 1
    b = s.bouts[0]
    assert (b.start_s, b.end_s) == (0.0, 579.0)
    assert b.seated_s == 210.0
    assert b.slouching_s == 10.0
    assert b.short_upright_s == 109.0
    assert b.paused_s == 260.0
    assert b.duration_s == 319.0
    assert b.end_s - b.start_s - b.paused_s == b.duration_s


def test_time_after_the_last_seated_epoch_is_not_part_of_the_bout():
    s = summarize(table([
        ("standing", 300),  # a break before any bout still counts as a break
        ("sitting", 100),
        ("standing", 30),
        ("not_worn", 500),
        ("moving", 90),  # break after the bout
        ("lying", 100),
    ]))
    assert s.breaks == 2
    assert s.n_bouts == 1
    b = s.bouts[0]
    assert (b.start_s, b.end_s, b.duration_s, b.short_upright_s, b.paused_s) == (300.0, 400.0, 100.0, 0.0, 0.0)


def test_recording_ending_in_short_stand_closes_the_bout():
    s = summarize(table([("sitting", 50), ("standing", 10)]))
    assert s.n_bouts == 1
    assert s.bouts[0].duration_s == 50.0
    assert s.breaks == 0


def test_long_bouts_are_at_least_long_bout_min():
    s = summarize(table([
        ("sitting", 1800, 30), ("moving", 60),
        ("sitting", 1799, 7), ("moving", 60),
        ("sitting", 1000), ("standing", 50), ("sitting", 800),  # 1850 s with a short stand
    ]))
    assert [b.duration_s for b in s.bouts] == [1800.0, 1799.0, 1850.0]
    assert s.long_bouts == 2
    assert s.longest_bout_s == 1850.0
    longer = summarize(table([("sitting", 1800)]), long_bout_min=31)
    assert longer.long_bouts == 0
    # the threshold in minutes wherever it is stated (the rules said long_bout_min_s, in seconds)
    seated = longer.to_dict()["seated"]
    assert seated["long_bout_min"] == seated["rules"]["long_bout_min"] == 31
    assert "long_bout_min_s" not in seated["rules"]


def test_no_sitting_gives_no_bouts_and_no_slouch_share():
    s = summarize(table([("standing", 120), ("moving", 30)]))
    assert s.n_bouts == 0
    assert s.longest_bout_s == 0.0
    assert s.long_bouts == 0
    assert s.breaks == 1
    assert s.slouch_share is None
    assert s.seated_flexion.p50 is None and s.seated_flexion.epochs == 0


def test_inclination_percentiles_use_worn_finite_epochs_only():
    rows = [("standing", 1, 1, float(v)) for v in range(0, 101, 10)]  # 0, 10, ..., 100
    rows += [("not_worn", 1, 1, 170.0), ("no_data", 1, 1, NAN), ("sitting", 1, 1, NAN)]
    s = summarize(table(rows))
    assert s.inclination.epochs == 11
    assert (s.inclination.p10, s.inclination.p50, s.inclination.p90) == (10.0, 50.0, 90.0)


def test_inclination_percentiles_interpolate_linearly():
    s = summarize(table([("sitting", 1, 1, 0.0), ("sitting", 1, 1, 10.0)]))
    assert (s.inclination.p10, s.inclination.p50, s.inclination.p90) == (1.0, 5.0, 9.0)


def test_seated_flexion_percentiles_use_sitting_and_slouching():
    rows = [("sitting", 1, 1, 5.0, float(v)) for v in (0, 10, 20, 30, 40)]
    rows += [("slouching", 1, 1, 5.0, 50.0)]
    rows += [("standing", 1, 1, 5.0, 80.0), ("lying", 1, 1, 90.0, 90.0), ("sitting", 1, 1, 5.0, NAN)]
    s = summarize(table(rows))
    assert s.seated_flexion.epochs == 6
    assert s.seated_flexion.p10 == 5.0
    assert s.seated_flexion.p50 == 25.0
    assert s.seated_flexion.p90 == 45.0


def test_flexed_time_is_strictly_above_and_leaves_out_lying():
    s = summarize(table([
        ("sitting", 10, 2, 5.0, 20.0),  # exactly 20: not past it
        ("slouching", 7, 1, 5.0, 25.0),
        ("standing", 3, 3, 5.0, 35.0),
        ("moving", 2, 1, 5.0, 65.0),
        ("lying", 100, 1, 90.0, 90.0),
        ("not_worn", 50, 1, 5.0, 99.0),
        ("sitting", 4, 1, 5.0, NAN),
    ]))
    assert s.flexed_s == {20: 12.0, 30: 5.0, 60: 2.0}
    assert s.to_dict()["flexed_s"]["over_30_deg"] == 5


def test_non_contiguous_epochs_count_their_own_length():
    t = table([("sitting", 10), ("sitting", 10)])
    t.t_start[1] += 100.0
    t.t_end[1] += 100.0
    s = summarize(t)
    assert s.total_s == 20.0
    assert (s.t_start, s.t_end) == (0.0, 120.0)


def test_a_hole_between_epochs_is_paused_time():
    """A hole (a long gap in a recording, time between recordings) splits upright runs and pauses a
    bout, as no_data would; it is no state's time."""
    t = table([("sitting", 600, 600), ("standing", 40, 40), ("standing", 40, 40), ("sitting", 300, 300)])
    t.t_start[640:] += 3600.0
    t.t_end[640:] += 3600.0
    s = summarize(t)
    assert s.breaks == 0 and s.n_bouts == 1       # two 40 s stands around the hole: not a break
    assert s.bouts[0].paused_s == 3600.0 and s.bouts[0].duration_s == 600 + 80 + 300
    assert s.total_s == 980.0 and s.state_s["no_data"] == 0.0
    joined = summarize(table([("sitting", 600, 600), ("standing", 80, 80), ("sitting", 300, 300)]))
    assert joined.breaks == 1 and joined.n_bouts == 2


def test_empty_table():
    s = summarize(EpochTable.empty())
    assert s.epochs == 0
    assert s.total_s == 0.0 and s.worn_s == 0.0
    assert s.share("sitting") is None
    assert s.n_bouts == 0 and s.breaks == 0
    assert s.inclination.p50 is None
    d = json.loads(json.dumps(s.to_dict()))
    assert d["t_start"] is None and d["inclination_deg"]["p50"] is None
    assert "empty" in format_summary(s)


def test_to_dict_is_plain_json():
    s = summarize(table([("sitting", 100), ("standing", 60), ("slouching", 100, 1, 10.0, 30.0)]))
    d = s.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["total_s"] == 260
    assert back["seated"]["bouts"] == 2
    assert back["seated"]["breaks"] == 1
    assert back["seated"]["slouch_share"] == 0.5
    assert back["seated"]["bout_list"][1] == {
        "start_s": 160, "end_s": 260, "duration_s": 100, "seated_s": 100, "slouching_s": 100,
        "short_upright_s": 0, "paused_s": 0,
    }
    rules = back["seated"]["rules"]
    assert "lying" in rules["paused"] and rules["seated_states"] == ["sitting", "slouching"]
    assert back["inclination_deg"]["p50"] == 5


def test_format_summary_mentions_the_key_numbers():
    s = summarize(table([("sitting", 1800, 30), ("standing", 120, 2), ("slouching", 600, 10, 8.0, 25.0)]))
    text = format_summary(s, title="day.sbr")
    assert text.splitlines()[0] == "day.sbr"
    assert "seated bouts: 2" in text
    assert "longest 30 min 00 s" in text
    # a break is time on one's feet, in the report's words: not 'upright', which is also how one sits
    assert "breaks (on your feet 60 s or more): 1" in text and "upright" not in text
    assert "seated (sitting + slouching): 40 min 00 s, slouching 25.0 % of it" in text
    for name in STATES:
        assert name in text


def test_seated_is_sitting_plus_slouching_and_sitting_is_the_state_alone():
    """One word, one meaning: 'sitting' is the state (disjoint from slouching), every figure that
    counts both is 'seated'; in the text and in to_dict() alike."""
    s = summarize(table([("sitting", 1200, 20), ("slouching", 600, 10), ("standing", 120, 2)]))
    assert s.state_s["sitting"] == 1200 and s.seated_s == 1800 == seated_seconds(s.state_s)
    assert SEATED_STATES == ("sitting", "slouching")
    text = format_summary(s)
    (row,) = [ln for ln in text.splitlines() if ln.split()[0] == "sitting"]
    assert row.split()[1:3] == ["20", "min"]  # the state's own time, not the seated time
    assert "seated (sitting + slouching): 30 min 00 s" in text
    # 'sitting' only names the state: its table row and the seated line's definition
    for line in text.splitlines():
        if "sitting" in line:
            assert line.split()[0] == "sitting" or "seated (sitting + slouching)" in line, line
    d = s.to_dict()
    assert "sitting" not in d and d["seated"]["seated_s"] == 1800
    assert d["states"]["sitting"]["seconds"] == 1200
    assert d["seated"]["rules"]["seated_states"] == ["sitting", "slouching"]


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0 s"), (59.4, "59 s"), (60, "1 min 00 s"), (3599, "59 min 59 s"), (3600, "1 h 00 min"), (9000, "2 h 30 min"),
     (3880, "1 h 05 min"), (3629, "1 h 00 min"), (7170, "2 h 00 min")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [3600, 3629, 3630, 3880, 7170, 86399])
def test_from_an_hour_on_analyze_and_the_report_round_alike(seconds):
    """analyze's summary (precise_duration) and the report (minutes) say the same from an hour
    on; analyze cut the minutes off (3880 s: '1 h 04 min' beside the report's '1 h 05 min')."""
    from sensorback.timefmt import minutes

    assert format_duration(seconds) == minutes(seconds)


def test_summary_numbers_are_python_types():
    s = summarize(table([("sitting", 10)]))
    assert type(s.total_s) is float and type(s.bouts[0].duration_s) is float
    assert not math.isnan(s.inclination.p50)
