"""CSV that keeps a recording exactly: a time column named "t (s since <date>)" and a 'device'
column are read back as start time and device (docs/csv-format.md)."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

import numpy as np
import pytest

from sensorback import formats
from sensorback.errors import InputError
from sensorback.formats import FormatWarning

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
                                        ("1970-01-01T00:00:00Z", "not a date from 2000 to 2099")])
def test_since_a_bad_date_is_refused(tmp_path, date, why):
    path = tmp_path / "x.csv"
    path.write_text(f"t (s since {date}),ax,ay,az\n" + ROWS.replace(",dev 1", ""))
    with pytest.raises(InputError, match=f"x.csv:1: column 't \\(s since .*{why}"):
        formats.load(path)
