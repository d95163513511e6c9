"""CSV that keeps a recording exactly: a time column named "t (s since <date> at <rate> Hz)" and a
'device' column are read back as start time, nominal rate and device, and write_csv writes every
value to the last bit (docs/native-format.md, "CSV interchange")."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from sensorback import formats
from sensorback.errors import InputError
from sensorback.formats import FormatWarning
from sensorback.formats.csv_write import float32_digits

ROWS = "".join(f"{i / 50!r},0.1,0.2,0.97,dev 1\n" for i in range(300))


def load(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block = formats.load(path)
    return block, [str(w.message) for w in caught if issubclass(w.category, FormatWarning)]


def unix(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


# ----------------------------------------------------------------------------- reading


@pytest.mark.parametrize("name, start", [
    ("t (s since 2024-03-04T08:15:15.749Z)", unix(2024, 3, 4, 8, 15, 15) + 0.749),
    ("time (seconds since 2024-03-04 10:15:15+02:00)", unix(2024, 3, 4, 8, 15, 15)),
    ("Time [s since 2024-03-04T03:15-0500]", unix(2024, 3, 4, 8, 15)),
])
def test_time_column_since_a_date_is_the_start_time(tmp_path, name, start):
    path = tmp_path / "x.csv"
    path.write_text(f'"{name}",ax,ay,az,device\n' + ROWS)
    block, notes = load(path)
    assert notes == []
    assert block.start_time == start and block.device == "dev 1" and "clock" not in block.meta
    assert block.t.tobytes() == (np.arange(300) / 50).tobytes()


@pytest.mark.parametrize("name, start", [("t (s at 48.5 Hz)", None),
                                         ("t (s since 2024-03-04T08:15:15Z at 48.5 Hz)", unix(2024, 3, 4, 8, 15, 15))])
def test_time_column_at_a_rate_is_the_nominal_rate(tmp_path, name, start):
    path = tmp_path / "x.csv"
    path.write_text(f"{name},ax,ay,az,device\n" + ROWS)  # 50 Hz by the timestamps
    block, notes = load(path)
    assert notes == [] and block.rate_hz == 48.5 and block.start_time == start


def test_a_nominal_rate_the_timestamps_contradict_gives_way_with_a_warning(tmp_path):
    """A file thinned or edited since it was written (every other row kept, its header left as
    it was) must not be analysed at the rate its header states: the timestamps decide, and a
    warning says so. A device clock's percent or two of drift keeps the nominal rate."""
    every_other = "".join(f"{i / 25!r},0.1,0.2,0.97,dev 1\n" for i in range(300))
    path = tmp_path / "thinned.csv"
    path.write_text("t (s since 2024-03-04T08:15:15Z at 50 Hz),ax,ay,az,device\n" + every_other)
    block, notes = load(path)
    assert block.rate_hz == 25.0
    assert len(notes) == 1 and "says 50 Hz but the timestamps show 25 Hz" in notes[0] and "thinned.csv" in notes[0]
    drifting = "".join(f"{i / 49.4!r},0.1,0.2,0.97,dev 1\n" for i in range(300))  # 1.2 % slow, like an AX3
    path.write_text("t (s since 2024-03-04T08:15:15Z at 50 Hz),ax,ay,az,device\n" + drifting)
    block, notes = load(path)
    assert block.rate_hz == 50.0 and notes == []


def test_since_a_device_clock_date_keeps_the_clock_unknown(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("t (s since 2024-03-04T08:15:15.5 device clock),ax,ay,az\n" + ROWS.replace(",dev 1", ""))
    block, notes = load(path)
    assert notes == [] and block.device == "csv"
    assert block.start_time == unix(2024, 3, 4, 8, 15, 15) + 0.5 and block.meta["clock"] == "device-local"


def test_since_a_date_without_zone_is_local_time_with_a_note(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("t (s since 2024-03-04 08:15:15),ax,ay,az,device\n" + ROWS)
    block, notes = load(path)
    assert block.start_time == datetime(2024, 3, 4, 8, 15, 15).timestamp()
    assert len(notes) == 1 and notes[0].startswith(
        f"{path}: column 't (s since 2024-03-04 08:15:15)': its date has no time zone; read as this computer's local time (UTC")


def test_since_words_are_not_a_date(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("t (s since start),ax,ay,az\n" + ROWS.replace(",dev 1", ""))
    block, notes = load(path)
    assert notes == [] and block.start_time is None


@pytest.mark.parametrize("date, why", [("2024-13-04T08:15:15Z", "not a valid date"),
                                        ("2024-03-04 at 8", "not a date-time like"),
                                        ("1970-01-01T00:00:00Z", "not a date from 2000 to 2099"),
                                        ("2024-03-04T08:15:15Z at -3 Hz", "'-3' Hz is not a sample rate")])
def test_since_a_bad_date_is_refused(tmp_path, date, why):
    path = tmp_path / "x.csv"
    path.write_text(f"t (s since {date}),ax,ay,az\n" + ROWS.replace(",dev 1", ""))
    with pytest.raises(InputError, match=f"x.csv:1: column 't \\(s since .*{why}"):
        formats.load(path)


# ----------------------------------------------------------------------------- writing


def test_float32_digits_are_enough_and_few():
    rng = np.random.default_rng(5)
    values = np.concatenate([
        rng.normal(0, 2, 200_000), 10 ** rng.uniform(-8, 8, 50_000), np.arange(-40000, 40000) * 2.0**-13,
        np.arange(-3000, 3000) / 1000, 2.0 ** np.arange(-40, 40),
        [0, -0.0, 1e-45, 3.4e38, 1.17549435e-38, 12345678, 9.9999999, 99999.99, 1e5, 1e4, 1e-4, 9.999e-5, 2**24 + 1],
    ]).astype(np.float32)
    digits = float32_digits(values)
    text = ["%.*g" % (d, v) for d, v in zip(digits.tolist(), values.astype(np.float64).tolist())]
    assert np.array(text, dtype=np.float64).astype(np.float32).tobytes() == values.tobytes()
    assert text[-13:-8] == ["0", "-0", "1.40129846e-45", "3.39999995e+38", "1.17549435e-38"]
    mg = text[330_000:336_000]  # -3 to 3 g in steps of 1 mg: as short as they were typed
    assert mg == ["%g" % (i / 1000) for i in range(-3000, 3000)] and mg[2966] == "-0.034"
    assert float32_digits(np.float32([0.96643066, 0.1541748, 1 / 3])).tolist() == [8, 7, 8]


def cli(*args):
    """(stdout, the warnings printed) of one sensorback command."""
    from typer.testing import CliRunner

    from sensorback.cli import app

    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.stdout, [line for line in r.stderr.splitlines() if line.startswith("warning: ")]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    from sensorback.sim import simulate

    block, _ = simulate("demo", seed=2, duration_s=300.0)
    path = tmp_path_factory.mktemp("rec") / "day.sbr"
    formats.save(block, path)
    return path


@pytest.mark.parametrize("name", ["day.csv", "day.csv.gz"])
def test_sbr_to_csv_and_back_changes_nothing(tmp_path, recording, name):
    """Samples bit for bit, start time and device, and so analyze's summary and JSON to the digit;
    with the old %.6f/%.5f export the angles and the calibration came out different."""
    csv, back = tmp_path / name, tmp_path / "back.sbr"
    _, warned = cli("convert", recording, csv)
    assert warned == [f"warning: {csv}: CSV does not keep the metadata 'sim' (use .sbr to keep everything)"]
    cli("convert", csv, back)
    orig = formats.load(recording)
    for path in (csv, back):
        got, notes = load(path)
        assert notes == []
        assert got.t.tobytes() == orig.t.tobytes() and got.acc.tobytes() == orig.acc.tobytes()
        assert (got.start_time, got.device, got.rate_hz) == (orig.start_time, "simulator", orig.rate_hz)
    for options in ([], ["--json"]):
        want = cli("analyze", *options, recording)[0].replace(str(recording), "FILE")
        assert ("FILE  (simulator, " in want) if not options else ('"start_time": 17' in want)
        for path in (csv, back):
            assert cli("analyze", *options, path)[0].replace(str(path), "FILE") == want


def test_rate_is_still_refused_for_a_written_csv(tmp_path, recording):
    from typer.testing import CliRunner

    from sensorback.cli import app

    csv = tmp_path / "day.csv"
    cli("convert", recording, csv)
    r = CliRunner().invoke(app, ["analyze", "--rate", "50", str(csv)])
    assert r.exit_code == 2 and "--rate is only for CSV files without a time column" in r.output


def test_a_cwa_keeps_its_device_clock_and_nominal_rate(tmp_path):
    """A logger's clock of unknown zone and a nominal rate its timestamps do not give back (the
    AX3 test file logs 98.8 Hz on its clock at a nominal 100 Hz) survive CSV, so analyze agrees."""
    cwa = Path(__file__).parent / "data" / "ax3_testfile.cwa"
    csv = tmp_path / "ax3.csv.gz"
    _, warned = cli("convert", cwa, csv)
    assert warned == [f"warning: {csv}: CSV does not keep the metadata 'annotation', 'firmware', 'hardware', "
                      "'range_g', 'serial', 'session' (use .sbr to keep everything)"]
    orig, got = formats.load(cwa), load(csv)[0]
    assert got.t.tobytes() == orig.t.tobytes() and got.acc.tobytes() == orig.acc.tobytes()
    assert (got.start_time, got.rate_hz, got.device, got.meta["clock"]) == (orig.start_time, 100.0, "axivity-ax3",
                                                                           "device-local")
    want = cli("analyze", "--json", cwa)[0].replace(str(cwa), "FILE")
    assert cli("analyze", "--json", csv)[0].replace(str(csv), "FILE") == want


@pytest.mark.parametrize("out, then", [("x.sbr", "y.csv"), ("x.csv", "y.sbr")])
def test_convert_names_the_columns_it_does_not_keep(tmp_path, out, then):
    """A CSV's extra columns (a temperature, a label) were dropped by convert without a word, while
    it names everything else a target does not keep: one warning naming them, once."""
    src, dst = tmp_path / "in.csv", tmp_path / out
    src.write_text("t,ax,ay,az,temp,label\n" + "".join(f"{i / 50!r},0.1,0.2,0.97,31.5,sit\n" for i in range(300)))
    assert cli("analyze", src)[1] == []  # analysing needs only time and acceleration: nothing to say
    _, warned = cli("convert", src, dst)
    assert warned == [f"warning: {dst}: the columns 'temp', 'label' of in.csv are not written "
                      "(sensorback reads only the time, acceleration and device columns)"]
    block, notes = load(dst)
    assert notes == [] and len(block) == 300
    assert cli("convert", dst, tmp_path / then)[1] == []  # said once, not carried into the next file


@pytest.mark.parametrize("header, row, unread", [
    # Sensor Logger: Unix ns 'time' is read, 'seconds_elapsed' is the same axis counted from 0
    ("time,seconds_elapsed,z,y,x", lambda i: f"{1709539200_000_000_000 + i * 20_000_000},{i * 0.02:.2f},9.5,0.98,1.96", []),
    # MetaBase: 'epoch (ms)' is read; its local time as text and its elapsed seconds are copies
    ("epoch (ms),time (-04:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)",
     lambda i: f"{1709539200000 + i * 20},2024-03-04T04.00.{i // 50:02d}.{i % 50 * 20:03d},{i * 0.02:.2f},0.1,0.2,0.97", []),
    # a copy of the time beside a column of data: only the data is named
    ("t,ax,ay,az,elapsed,temp", lambda i: f"{i * 0.02:.2f},0.1,0.2,0.97,{i * 0.02:.2f},31.5", ["temp"]),
])
def test_convert_does_not_name_a_second_time_column_as_unread(tmp_path, header, row, unread):
    """Sensor Logger's seconds_elapsed (and MetaBase's elapsed, ...) were named as columns convert
    does not write, though they hold nothing but the time axis the recording keeps."""
    src, dst = tmp_path / "in.csv", tmp_path / "out.sbr"
    src.write_text(header + "\n" + "".join(row(i) + "\n" for i in range(300)))
    _, warned = cli("convert", src, dst)
    said = [w for w in warned if "are not written" in w]
    assert said == ([f"warning: {dst}: the columns {', '.join(map(repr, unread))} of in.csv are not written "
                     "(sensorback reads only the time, acceleration and device columns)"] if unread else [])
    assert len(load(dst)[0]) == 300
