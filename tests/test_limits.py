"""Input limits (sensorback/limits.py): rates, epoch lengths, dates, time spans and long gaps.

Every case is either a one-line error naming the file (or option) or a documented repair with a
warning, and a long gap is never filled with empty epochs: the core starts afresh after it, in
batch and in streaming alike.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sensorback import formats, limits
from sensorback.cli import app
from sensorback.core import CoreOptions, EpochTable, StreamProcessor, analyze
from sensorback.core.states import CODE
from sensorback.errors import InputError, SensorbackError
from sensorback.formats import FormatWarning
from sensorback.replay import replay, split_blocks
from sensorback.samples import SampleBlock
from sensorback.summary import summarize
from cli_checks import one_line_error

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"
WAIST = RECORDINGS / "hapt_waist_exp01_user01.csv.gz"  # 412 s at 50 Hz, real

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def waist() -> SampleBlock:
    return formats.load(WAIST)


def with_gap(block: SampleBlock, gap_s: float, at: float = 0.5) -> SampleBlock:
    """The same samples with everything after the fraction `at` moved gap_s later."""
    t = block.t.copy()
    i = int(len(t) * at)
    t[i:] += gap_s
    return SampleBlock(t, block.acc, device=block.device, rate_hz=block.rate_hz, start_time=block.start_time)


def write_csv(path: Path, block: SampleBlock) -> Path:
    rows = "".join(f"{t:.6f},{a[0]:.5f},{a[1]:.5f},{a[2]:.5f}\n" for t, a in zip(block.t, block.acc))
    path.write_text("t,ax,ay,az\n" + rows)
    return path


def loaded(path, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block = formats.load(path, **kw)
    return block, [str(w.message) for w in caught if issubclass(w.category, FormatWarning)]


# ----------------------------------------------------------------------------- long gaps: the core


def test_a_long_gap_is_not_filled_and_the_parts_are_analysed_as_separate_stretches():
    base = waist()
    gapped = with_gap(base, 1e7)
    result = analyze(gapped)  # filling 10 M empty epochs took minutes and gigabytes: see the count below
    table = result.epochs
    # no epoch inside the gap, and the epochs are whole recorded time plus a few edge epochs
    cut = gapped.t[len(base) // 2]
    assert not ((table.t_start > gapped.t[len(base) // 2 - 1] + 1) & (table.t_end < cut - 1)).any()
    assert len(table) <= 2 * (base.duration_s + 4)
    s = summarize(table)
    assert s.total_s < base.duration_s + 4  # "recorded 2777 h" before


def test_each_stretch_is_decided_as_a_recording_of_its_own_with_the_same_calibration():
    base = waist()
    gapped = with_gap(base, 3 * 3600.0)
    whole = analyze(gapped)
    i = len(base) // 2
    first = analyze(gapped.slice(0, i), calibration=whole.calibration).epochs
    second = analyze(gapped.slice(i, len(gapped)), calibration=whole.calibration).epochs
    assert whole.epochs.equals(EpochTable.concat([first, second]))


def test_a_stretch_after_a_long_gap_revises_its_own_sit_downs():
    """The demo (sit-downs whose epochs are revised once confirmed, slouching judged by the
    personal line) cut by an hour's and a three days' gap: each stretch starts afresh with the
    same slouch rule (the restart used to build its settler without one and crashed)."""
    demo = formats.load(RECORDINGS / "demo.sbr")
    t = demo.t.copy()
    n = len(t)
    t[n // 3:] += 3600.0
    t[2 * n // 3:] += 3 * 86400.0
    gapped = SampleBlock(t, demo.acc, rate_hz=demo.rate_hz, start_time=demo.start_time)
    whole = analyze(gapped)
    parts = [analyze(gapped.slice(a, b), calibration=whole.calibration).epochs
             for a, b in ((0, n // 3), (n // 3, 2 * n // 3), (2 * n // 3, n))]
    assert whole.epochs.equals(EpochTable.concat(parts))
    assert (whole.epochs.state == CODE["sitting"]).any() and (whole.epochs.state == CODE["slouching"]).any()

def test_after_a_long_gap_everything_starts_afresh_the_posture_smoother_and_slouch_rule_too():
    """A stretch after a long gap is decided as a recording of its own: the sit/stand smoother and
    posture cue forget too, and a sit-down confirmed after the gap revises its epochs by the slouch
    rule (the restart once gave the new settler no rule: AttributeError on the first revision)."""
    from sensorback.sim import simulate

    demo, _ = simulate("demo", seed=1)
    i = int(np.searchsorted(demo.t, 60.0))
    gapped = SampleBlock(np.concatenate([demo.t[:i], demo.t + 960.0]), np.concatenate([demo.acc[:i], demo.acc]),
                         rate_hz=demo.rate_hz)
    whole = analyze(gapped)
    first = analyze(gapped.slice(0, i), calibration=whole.calibration).epochs
    second = analyze(gapped.slice(i, len(gapped)), calibration=whole.calibration).epochs
    assert whole.epochs.equals(EpochTable.concat([first, second]))
    sat = whole.epochs.take(whole.epochs.t_start >= 960.0)
    assert np.isin(sat.state, [CODE["sitting"], CODE["slouching"]]).sum() > 300  # the demo's desk time


@pytest.mark.parametrize("gap_s", [limits.MAX_GAP_S + 30, 1e7])
def test_streaming_equals_batch_across_a_long_gap(gap_s):
    gapped = with_gap(waist(), gap_s, at=0.37)
    batch = analyze(gapped)
    rng = np.random.default_rng(5)
    for delay in (0.0, 60.0, 1e9):
        sp = StreamProcessor(CoreOptions(), batch.calibration, gapped.rate_hz, max_delay_s=delay)
        out, i = [], 0
        while i < len(gapped):
            k = int(rng.integers(1, 4000))
            out.append(sp.feed(gapped.slice(i, i + k)))
            i += k
        out.append(sp.finish())
        assert EpochTable.concat(out).equals(batch.epochs), delay


def test_a_short_gap_stays_inside_its_stretch_as_no_data():
    gapped = with_gap(waist(), 120.0)
    table = analyze(gapped).epochs
    inside = (table.t_start >= gapped.t[len(gapped) // 2 - 1] + 1) & (table.t_end <= gapped.t[len(gapped) // 2] - 1)
    assert inside.sum() >= 115 and (table.state_names[inside] == "no_data").all()


def test_replay_of_a_long_gap_neither_hangs_nor_counts_the_gap():
    gapped = with_gap(waist(), 1e7)
    calibration = analyze(gapped).calibration
    result = replay(split_blocks(gapped, 10.0), CoreOptions(), None, None, calibration=calibration)
    assert result.gap_s > 1e7 - 1 and result.duration_s < waist().duration_s + 4
    assert result.epochs == len(analyze(gapped).epochs)


# ----------------------------------------------------------------------------- long gaps: files and CLI


def test_a_long_gap_in_a_file_is_a_warning_naming_the_line(tmp_path):
    path = write_csv(tmp_path / "gap.csv", with_gap(waist().slice(0, 3000), 1e7))
    block, notes = loaded(path)
    assert len(block) == 3000
    assert notes == [f"{path}: a gap of 116 days before line 1502 (t = 1e+07 s), longer than 10 min: not "
                     "counted as recorded time; the parts on either side are analysed separately"]


def two_gaps(tmp_path, first_s: float, second_s: float):
    """The notes of a 3000-sample file with gaps after its samples 1000 and 2000, and its path."""
    b = waist().slice(0, 3000)
    t = b.t.copy()
    t[1000:] += first_s
    t[2000:] += second_s
    path = write_csv(tmp_path / "gaps.csv", SampleBlock(t, b.acc))
    return loaded(path)[1], path


def test_several_long_gaps_are_one_warning(tmp_path):
    notes, path = two_gaps(tmp_path, 3600, 7200)
    assert len(notes) == 1 and notes[0].startswith(f"{path}: 2 gaps longer than 10 min (3 h 00 min in all; the longest, "
                                                   "2 h 00 min, before line 2002")


@pytest.mark.parametrize("gap_s,said", [(600.0, "600.02 s"), (620.0, "10 min 20 s"), (629.98, "10 min 30 s"),
                                         (660.0, "11 min")])
def test_a_gap_just_over_the_limit_never_reads_as_the_limit(tmp_path, gap_s, said):
    """Rounded alike, a 600.02 s gap read 'a gap of 10 min ..., longer than 10 min' (and up to
    630 s, which rounds to 10 min): it is written finer until the two differ."""
    block = waist().slice(0, 3000)  # 50 Hz: moving half of it gap_s later makes a step of gap_s + 0.02
    path = write_csv(tmp_path / "gap.csv", with_gap(block, gap_s))
    _, notes = loaded(path)
    assert len(notes) == 1 and notes[0].startswith(f"{path}: a gap of {said} before line 1502 (t = "), notes
    assert notes[0].endswith(", longer than 10 min: not counted as recorded time; the parts on either side are "
                             "analysed separately")
    r = run("analyze", path)
    assert r.exit_code == 0, r.output
    assert f"warning: {path}: a gap of {said} before line 1502" in r.stderr


def test_several_gaps_just_over_the_limit_never_read_as_the_limit(tmp_path):
    notes, path = two_gaps(tmp_path, 600.0, 600.0)
    assert len(notes) == 1 and notes[0].startswith(f"{path}: 2 gaps longer than 10 min (1200.04 s in all; the "
                                                   "longest, 600.02 s, before line "), notes


def test_a_span_over_a_limit_never_reads_as_the_limit():
    from sensorback.timefmt import span, span_over

    for limit in (60.0, 600.0, 3600.0, limits.MAX_DURATION_S):
        for over in (1e-4, 0.004, 0.02, 0.5, 1.0, 29.0, 31.0, 0.01 * limit, 0.05 * limit, limit):
            said = span_over(limit + over, limit)
            assert said != span(limit), (limit, over, said)
    assert span_over(620.0, 600.0) == "10 min 20 s"
    assert span_over(900.0, 600.0) == span(900.0) == "15 min"  # span's own words when they differ
    assert span_over(100.3 * 86400, limits.MAX_DURATION_S) == "100.3 days"
    assert span_over(600.0001, 600.0) == "just over 10 min"


def test_analyze_and_replay_of_a_long_gap_on_the_command_line(tmp_path):
    path = tmp_path / "gap.sbr"
    formats.save(with_gap(waist(), 1e7), path)
    r = run("analyze", path)
    assert r.exit_code == 0, r.output
    assert "warning: " in r.stderr and "a gap of 116 days" in r.stderr
    assert "recorded 6 min 5" in r.stdout  # not "recorded 2777 h"
    r = run("replay", path, "--db", tmp_path / "x.db")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"replayed 7 min of {path.name}")


def test_more_recorded_time_than_any_logger_holds_is_refused(tmp_path):
    # 101 days with a sample every 5 min (gaps shorter than MAX_GAP_S count as recorded time),
    # after enough 50 Hz samples that the median spacing is a normal rate
    dense = np.arange(40_000) / 50.0
    sparse = dense[-1] + np.arange(1, int(101 * 86400 / 300)) * 300.0
    t = np.concatenate([dense, sparse])
    path = tmp_path / "long.sbr"
    formats.save(SampleBlock(t, np.tile([0.0, 0.0, 1.0], (len(t), 1)), rate_hz=50.0), path)
    with pytest.raises(InputError) as e:
        formats.load(path)
    assert str(e.value) == (f"{path}: 101 days of recording (not counting gaps longer than 10 min), more than "
                            "the 100 days any logger holds; split the file, or check its timestamps")


def test_timestamps_scaled_by_1e12_are_one_line_errors_not_a_880_TiB_allocation(tmp_path):
    b = waist().slice(0, 2000)
    path = write_csv(tmp_path / "scaled.csv", SampleBlock(b.t * 1e12, b.acc))
    for command in ("analyze", "replay"):
        extra = ["--db", tmp_path / "x.db"] if command == "replay" else []
        line = one_line_error(run(command, path, *extra), str(path))
        assert "more than 10 years from 0" in line or "sample rate" in line
    line = one_line_error(run("convert", path, tmp_path / "out.sbr"), str(path))
    assert not (tmp_path / "out.sbr").exists()


def test_convert_never_writes_a_0_hz_file(tmp_path):
    path = tmp_path / "slow.csv"
    path.write_text("t,ax,ay,az\n" + "".join(f"{i * 1000},0,0,1\n" for i in range(100)))
    one_line_error(run("convert", path, tmp_path / "slow.sbr"), f"{path}: sample rate 0.001 Hz is below 5 Hz")
    assert not (tmp_path / "slow.sbr").exists()


@pytest.mark.parametrize("step, fragment", [(1e-5, "above 6400 Hz"), (0.5, "below 5 Hz")])
def test_measured_rate_outside_the_limits_names_the_cause(tmp_path, step, fragment):
    n = 500
    path = tmp_path / "x.sbr"
    # the header claims 50 Hz; the timestamps say otherwise
    formats.save(SampleBlock(np.arange(n) * step, np.tile([0.0, 0.0, 1.0], (n, 1)), rate_hz=50.0), path)
    with pytest.raises(InputError, match=fragment) as e:
        formats.load(path)
    assert str(e.value).startswith(f"{path}: samples are a median")


def test_a_rate_exactly_at_the_limit_is_taken_whatever_its_timestamps_round_to(tmp_path):
    """0.2 s steps written as decimals measure 4.999999999999996 Hz: that is 5 Hz, the lowest rate
    taken, not a rate below it (a public posture set at 5 Hz was refused)."""
    path = tmp_path / "five.csv"
    path.write_text("t,ax,ay,az\n" + "".join(f"{i * 0.2:.1f},0,0,1\n" for i in range(3000)))
    block, _ = loaded(path)
    assert len(block) == 3000 and block.rate_hz == pytest.approx(5.0)
    assert limits.rate_problem(4.999999999999996) is None
    assert "below 5 Hz" in limits.rate_problem(4.99)


def test_a_low_rate_is_analysed_with_a_warning(tmp_path):
    b = waist()
    path = write_csv(tmp_path / "slow.csv", SampleBlock(b.t[::6], b.acc[::6]))  # 8.3 Hz
    block, notes = loaded(path)
    assert notes == [f"{path}: sample rate 8.33 Hz is below 10 Hz: states are less reliable (sit-downs and steps are hard to see)"]


def test_times_far_from_zero_are_refused(tmp_path):
    n = 300
    path = tmp_path / "far.sbr"
    formats.save(SampleBlock(4e8 + np.arange(n) / 50, np.tile([0.0, 0.0, 1.0], (n, 1))), path)
    with pytest.raises(InputError, match="more than 10 years from 0"):
        formats.load(path)


def test_a_start_time_that_is_not_a_date_is_dropped_with_a_warning(tmp_path):
    path = tmp_path / "rtc.sbr"
    n = 300
    formats.save(SampleBlock(np.arange(n) / 50, np.tile([0.0, 0.0, 1.0], (n, 1)), start_time=12.0), path)
    block, notes = loaded(path)
    assert block.start_time is None
    assert notes == [f"{path}: start_time 12 is not a date from 2000 to 2099 (a clock that was never set?); "
                     "the start time is taken as unknown"]


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize("value", ["1e9", "0.1", "5", "nan"])
def test_epoch_seconds_outside_half_a_second_to_two_seconds(value):
    one_line_error(run("analyze", WAIST, "--epoch-seconds", value), "--epoch-seconds: must be from 0.5 to 2 seconds")


@pytest.mark.parametrize("value", ["0.5", "1", "2"])
def test_epoch_seconds_inside_the_limits(value):
    r = run("analyze", WAIST, "--epoch-seconds", value, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    epoch_s, s = float(value), out["summary"]
    assert out["options"]["epoch_s"] == epoch_s
    # epochs of that length across the whole recording (412 s)
    assert s["epochs"] == pytest.approx(out["samples"] / out["rate_hz"] / epoch_s, abs=2)


@pytest.mark.parametrize("command", ["analyze", "replay", "convert"])
@pytest.mark.parametrize("value, fragment", [("1", "below 5 Hz"), ("1e6", "above 6400 Hz"), ("0", "positive")])
def test_rate_option_outside_the_limits(tmp_path, command, value, fragment):
    extra = {"replay": ["--db", tmp_path / "x.db"], "convert": [tmp_path / "out.sbr"]}.get(command, [])
    one_line_error(run(command, WAIST, *extra, "--rate", value), "--rate: sample rate", fragment)


@pytest.mark.parametrize("command", [["replay", WAIST], ["report"], ["log", "pain", "3"]])
def test_an_empty_db_option_is_an_error_not_the_default_database(tmp_path, monkeypatch, command):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("SENSORBACK_DB", raising=False)
    one_line_error(run(*command, "--db", ""), "--db: the value is empty")
    one_line_error(run(*command, "--db", "  "), "--db: the value is empty")
    assert not (tmp_path / "data").exists()  # nothing was created in the default place


@pytest.mark.parametrize("command", [["monitor", "--demo", "--plain"], ["replay", WAIST], ["report"],
                                     ["log", "pain", "3"]])
def test_a_db_url_that_keeps_nothing_or_is_malformed_is_one_line(tmp_path, monkeypatch, command):
    """sqlite:// (in memory) would take a whole session and lose it at the end; sqlite://x.db puts
    the file where SQLite URLs have no place for it (SQLAlchemy's multi-line error was a traceback)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("SENSORBACK_DB", raising=False)
    for url in ("sqlite://", "sqlite:///:memory:"):
        one_line_error(run(*command, "--db", url), f"--db: {url} is an in-memory SQLite database",
                       "keeps nothing once the command ends")
    one_line_error(run(*command, "--db", "sqlite://x.db"), "--db 'sqlite://x.db' is not an SQLite URL",
                   "sqlite:///x.db")
    one_line_error(run(*command, "--db", "postgresql://me@db:x/back"), "is not a database URL or file path")
    monkeypatch.setenv("SENSORBACK_DB", "sqlite://")
    one_line_error(run(*command), "$SENSORBACK_DB: sqlite:// is an in-memory SQLite database")
    assert list(tmp_path.iterdir()) == []  # nothing created, not even the default data folder


@pytest.mark.parametrize("day", ["0001-01-01", "1970-01-01", "1999-12-31"])
def test_report_day_before_2000(day, tmp_path):
    one_line_error(run("report", "--day", day, "--db", tmp_path / "x.db"),
                   f"--day: {day} is outside the years sensorback handles (2000 to 2099)")


@pytest.mark.parametrize("at", ["0001-01-01 10:00", "1969-12-31 23:00"])
def test_log_at_before_2000(at, tmp_path):
    one_line_error(run("log", "pain", "3", "--at", at, "--db", tmp_path / "x.db"), "--at:", "outside the years")


def test_limits_are_checked_in_one_place():
    """The checks raise the project's one-line errors; their numbers are the documented ones."""
    with pytest.raises(SensorbackError, match="--rate: sample rate 2 Hz is below 5 Hz"):
        limits.check_rate(2.0, "--rate")
    assert limits.rate_problem(50.0) is None and limits.low_rate_note(50.0) is None
    # a 10 Hz recording whose clock runs a little slow said "sample rate 10 Hz is below 10 Hz"
    assert limits.low_rate_note(9.9996) is None and limits.low_rate_note(9.99) is None
    assert "sample rate 9.8 Hz is below 10 Hz" in limits.low_rate_note(9.8)
    assert (limits.MIN_RATE_HZ, limits.MAX_RATE_HZ, limits.MIN_EPOCH_S, limits.MAX_EPOCH_S, limits.MAX_GAP_S) == \
        (5.0, 6400.0, 0.5, 2.0, 600.0)
