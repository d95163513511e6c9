"""Every file or folder the user names for sensorback to write gets the same checks, before any work
starts (cli/_args.py check_output): its folder must exist (it is never created), it must not be a
folder, a recording is never written over, an epochs table, events file, report or calibration
replaces only an earlier one of its kind, and names that cannot be meant are refused."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sensorback.cli import app
from cli_checks import one_line_error
from conftest import DEMO

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    """The default database, config and calibrations live under tmp_path, never the user's own."""
    monkeypatch.delenv("SENSORBACK_DB", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def commands(out, db):
    """(option, command line) for every output a user can name; `out` is the named output."""
    return [
        ("OUT", ["convert", DEMO, out / "x.csv"]),
        ("--epochs", ["analyze", DEMO, "--epochs", out / "e.csv"]),
        ("--events", ["replay", DEMO, "--db", db, "--events", out / "e.csv"]),
        ("--db", ["replay", DEMO, "--db", out / "x.db"]),
        ("--out", ["simulate", "--scenario", "demo", "--duration", "60", "--out", out / "s.sbr"]),
        ("--db", ["monitor", "--demo", "--plain", "--speed", "2000", "--db", out / "x.db"]),
        ("--record", ["monitor", "--demo", "--plain", "--speed", "2000", "--db", db, "--record", out / "r.sbr"]),
        ("--db", ["report", "--db", out / "x.db"]),
        ("--html", ["report", "--html", out / "r.html"]),
        ("--db", ["log", "pain", "3", "--db", out / "x.db"]),
        ("--db", ["log", "exercise", "plank", "--db", out / "x.db"]),
        ("--out", ["calibrate", "--demo", "--speed", "1000", "--out", out / "c.json"]),
        ("--out", ["cohort", DEMO, "--out", out / "results"]),
    ]


CASES = range(len(commands(Path("out"), Path("x.db"))))


def listing(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


@pytest.mark.parametrize("case", CASES)
def test_a_missing_folder_is_refused_before_any_work_and_never_created(tmp_path, case):
    nodir = tmp_path / "nodir"
    option, args = commands(nodir, tmp_path / "x.db")[case]
    before = listing(tmp_path)
    one_line_error(run(*args), f"{option}: there is no folder {nodir} (create it first)")
    assert listing(tmp_path) == before  # no folder, no database, no half-written file


@pytest.mark.parametrize("case", CASES)
def test_an_existing_folder_as_the_output_file_is_refused(tmp_path, case):
    folder = tmp_path / "folder"
    option, args = commands(tmp_path, tmp_path / "x.db")[case]
    args[-1] = folder
    folder.mkdir()
    before = listing(tmp_path)
    expected = f"{option}: {folder} is a file; give a folder" if args[0] == "cohort" else \
        f"{option}: {folder} is a folder; give a file name, e.g. {folder}/"
    if args[0] == "cohort":  # cohort's --out is a folder: an existing one is fine, a file is not
        folder.rmdir()
        folder.write_text("not a folder")
        before = listing(tmp_path)
    one_line_error(run(*args), expected)
    assert listing(tmp_path) == before


def test_the_default_database_folder_is_still_created(tmp_path):
    r = run("log", "pain", "2")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "data" / "sensorback" / "sensorback.db").is_file()


@pytest.mark.parametrize("args", [["report"], ["replay", DEMO], ["log", "pain", "2"]], ids=["report", "replay", "log"])
def test_a_folder_where_the_default_database_goes_is_named_as_a_folder(tmp_path, args):
    """A folder named sensorback.db where the default database goes (no --db, no $SENSORBACK_DB):
    SQLite's 'unable to open database file' came through. Now one line names it as a folder, and
    nothing is written."""
    folder = tmp_path / "data" / "sensorback" / "sensorback.db"
    folder.mkdir(parents=True)
    before = listing(tmp_path)
    one_line_error(run(*args), f"error: database {folder} is a folder, not a database file; ")
    assert listing(tmp_path) == before


# ------------------------------------------------------------------- recordings are never written over


def test_monitor_never_records_over_an_existing_recording(tmp_path):
    keep = tmp_path / "keep.sbr"
    keep.write_bytes(b"fifteen minutes of raw data")
    one_line_error(run("monitor", "--demo", "--plain", "--speed", "2000", "--db", tmp_path / "x.db",
                       "--record", keep),
                   f"--record: {keep} already exists; choose another name, or delete it first")
    assert keep.read_bytes() == b"fifteen minutes of raw data"
    assert not (tmp_path / "x.db").exists()


def test_monitor_records_only_into_sbr_files(tmp_path):
    one_line_error(run("monitor", "--demo", "--plain", "--speed", "2000", "--db", tmp_path / "x.db",
                       "--record", tmp_path / "x.csv"), f"--record: {tmp_path / 'x.csv'} must end in .sbr")
    assert listing(tmp_path) == []


def test_monitor_records_into_a_new_file(tmp_path):
    rec = tmp_path / "new.sbr"
    r = run("monitor", "--demo", "--seed", "1", "--plain", "--speed", "2000", "--db", tmp_path / "x.db", "--record", rec)
    assert r.exit_code == 0, r.output
    from sensorback import formats

    # every sample played, as played: the demo with --seed 1 is the bundled recording's wearer
    recorded, bundled = formats.load(rec), formats.load(DEMO)
    assert np.array_equal(recorded.t, bundled.t) and np.array_equal(recorded.acc, bundled.acc)


@pytest.mark.parametrize("named", ["--db", "$SENSORBACK_DB"])
def test_monitor_never_records_into_the_database_file(tmp_path, monkeypatch, named):
    """--record naming the database the session creates: the recording was renamed over the new
    database at the end, its stored session lost while the summary said 'stored in same.sbr'."""
    db = tmp_path / "same.sbr"
    monkeypatch.chdir(tmp_path)
    if named == "--db":
        r = run("monitor", "--demo", "--plain", "--speed", "2000", "--db", db, "--record", "same.sbr")
    else:
        monkeypatch.setenv("SENSORBACK_DB", str(db))
        r = run("monitor", "--plain", "--device", "nothing-near", "--record", "same.sbr")
    one_line_error(r, "--record: same.sbr is the database the session stores into; choose another name")
    assert not list(tmp_path.glob("same.sbr*"))  # no database, no recording, no -wal beside them


def test_a_demo_records_beside_sensorback_db_when_it_keeps_apart(tmp_path, monkeypatch):
    """--demo without --db stores into demo.db, not $SENSORBACK_DB: a recording of that name is fine."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SENSORBACK_DB", str(tmp_path / "same.sbr"))
    r = run("monitor", "--demo", "--plain", "--speed", "2000", "--record", "same.sbr")
    assert r.exit_code == 0, r.output
    from sensorback import formats

    assert len(formats.load(tmp_path / "same.sbr")) > 0
    assert (tmp_path / "data" / "sensorback" / "demo.db").is_file()


@pytest.mark.parametrize("command", [
    lambda out: ["convert", DEMO, out],
    lambda out: ["simulate", "--scenario", "demo", "--duration", "60", "--out", out],
])
def test_convert_and_simulate_never_write_over_a_recording(tmp_path, command):
    keep = tmp_path / "keep.sbr"
    keep.write_bytes(b"a recording")
    one_line_error(run(*command(keep)), f"{keep} already exists; choose another name, or delete it first")
    assert keep.read_bytes() == b"a recording"
    assert listing(tmp_path) == [Path("keep.sbr")]


def test_simulate_never_writes_over_labels_beside_another_recording(tmp_path):
    """study/subject13.labels.csv may hold someone's real labels (its recording a .csv.gz): a
    simulated subject13.sbr must not replace them, and nothing is written (a retry stays possible)."""
    labels = tmp_path / "day.labels.csv"
    labels.write_text("t_start,t_end,label\n0,60,sitting\n")
    one_line_error(run("simulate", "--scenario", "demo", "--duration", "60", "--out", tmp_path / "day.sbr"),
                   f"{labels}, where the labels of day.sbr would go, already exists")
    assert labels.read_text() == "t_start,t_end,label\n0,60,sitting\n"
    assert listing(tmp_path) == [Path("day.labels.csv")]


# ------------------------------------------------- derived outputs replace only their own earlier files


def derived(out, db):
    """(option, command line, what it replaces) for every output that may replace an earlier one of its
    kind: it writes `out`."""
    return [
        ("--epochs", ["analyze", DEMO, "--epochs", out], "an epochs table sensorback wrote"),
        ("--events", ["replay", DEMO, "--db", db, "--events", out], "an events file sensorback wrote"),
        ("--html", ["report", "--db", db, "--html", out], "an HTML report sensorback wrote"),
        ("--out", ["calibrate", "--demo", "--speed", "1000", "--out", out], "a calibration file sensorback wrote"),
    ]


DERIVED = range(len(derived(Path("o"), Path("x.db"))))


@pytest.fixture(scope="module")
def csv_recording(tmp_path_factory):
    """The demo recording as sensorback's own CSV (made once: converting takes a few seconds)."""
    path = tmp_path_factory.mktemp("csv") / "day.csv"
    r = run("convert", DEMO, path)
    assert r.exit_code == 0, r.output
    return path


def made_db(tmp_path):
    """A database holding the demo day (replay and report need one; made before the refusal is tried)."""
    db = tmp_path / "back.db"
    r = run("replay", DEMO, "--db", db)
    assert r.exit_code == 0, r.output
    return db


@pytest.mark.parametrize("case", DERIVED)
@pytest.mark.parametrize("name", ["day.csv", "day.sbr"])
def test_a_derived_output_never_replaces_a_recording(tmp_path, case, name, csv_recording):
    """`analyze day.sbr --epochs day.csv` with day.csv a recording (the bug: it was replaced by an epochs
    table without a word): refused before any work, the recording as it was, nothing else written."""
    keep = tmp_path / name
    shutil.copyfile(csv_recording if name.endswith(".csv") else DEMO, keep)
    before = keep.read_bytes()
    db = made_db(tmp_path)
    listed = listing(tmp_path)
    option, args, what = derived(keep, db)[case]
    one_line_error(run(*args), f"{option}: {keep} already exists and is not {what} (it looks like a recording); "
                               "choose another name or delete it first")
    assert keep.read_bytes() == before
    assert listing(tmp_path) == listed


@pytest.mark.parametrize("case", DERIVED)
def test_a_derived_output_never_replaces_a_file_of_another_kind(tmp_path, case):
    """A text file of the user's own, or sensorback's output of another kind (an HTML report named
    like an events file): refused, left as it was."""
    db = made_db(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("t_start is when I started\n")
    option, args, what = derived(notes, db)[case]
    line = one_line_error(run(*args), f"{option}: {notes} already exists and is not {what}; choose another name")
    assert "(it" not in line  # no guess about a file it does not know
    assert notes.read_text() == "t_start is when I started\n"
    database = tmp_path / "other.db"
    shutil.copyfile(db, database)
    option, args, what = derived(database, db)[case]
    one_line_error(run(*args), f"{option}: {database} already exists and is not {what} (it looks like a database)")
    assert database.read_bytes() == db.read_bytes()
    other_case = (case + 1) % len(DERIVED)  # an earlier output of the next option
    theirs = tmp_path / "theirs.out"
    _, other_args, other_what = derived(theirs, db)[other_case]
    assert run(*other_args).exit_code == 0
    before = theirs.read_bytes()
    option, args, what = derived(theirs, db)[case]
    one_line_error(run(*args), f"{option}: {theirs} already exists and is not {what} (it is {other_what})")
    assert theirs.read_bytes() == before


@pytest.mark.parametrize("case", DERIVED)
def test_a_derived_output_replaces_its_own_earlier_file_whole_and_private(tmp_path, case):
    """Re-running an analysis writes over its earlier output: the new file is complete (no temp file
    left beside it) and 0600 even if the earlier one was made readable to others."""
    db = made_db(tmp_path)
    out = tmp_path / "out.file"
    option, args, what = derived(out, db)[case]
    first = run(*args)
    assert first.exit_code == 0, first.output
    earlier = out.read_bytes()
    os.chmod(out, 0o644)
    again = run(*args)
    assert again.exit_code == 0, (again.output, again.exception)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert not list(tmp_path.glob("*.writing"))
    if option in ("--epochs", "--events"):  # the same recording gives the same rows (a report says when it was made)
        assert out.read_bytes() == earlier


def test_an_epochs_table_replaces_its_gzipped_earlier_self_and_an_empty_file(tmp_path):
    out = tmp_path / "e.csv.gz"
    assert run("analyze", DEMO, "--epochs", out).exit_code == 0
    r = run("analyze", DEMO, "--epochs", out)
    assert r.exit_code == 0, r.output
    empty = tmp_path / "empty.csv"
    empty.touch()  # nothing to lose
    assert run("analyze", DEMO, "--epochs", empty).exit_code == 0
    assert empty.read_text().startswith("t_start,t_end,state,")


def test_with_several_recordings_every_epochs_file_is_checked_first(tmp_path, csv_recording):
    """`--epochs e.csv mon.sbr tue.sbr` writes e.mon.csv and e.tue.csv: a recording at either name is
    refused before the first is analysed."""
    mon, tue = tmp_path / "mon.sbr", tmp_path / "tue.sbr"
    shutil.copyfile(DEMO, mon)
    shutil.copyfile(DEMO, tue)
    taken = tmp_path / "e.tue.csv"
    shutil.copyfile(csv_recording, taken)
    one_line_error(run("analyze", mon, tue, "--epochs", tmp_path / "e.csv"),
                   f"--epochs: {taken} already exists and is not an epochs table sensorback wrote")
    assert not (tmp_path / "e.mon.csv").exists()
    assert taken.read_bytes() == csv_recording.read_bytes()


# ---------------------------------------------------------------------------------- odd output names


@pytest.mark.parametrize("name", ["day.txt", "day.tsv", "day", "day.cwa"])
def test_convert_writes_only_the_formats_it_lists(tmp_path, name):
    out = tmp_path / name
    one_line_error(run("convert", DEMO, out), f"OUT: {out} must end in .sbr, .csv or .csv.gz")
    assert not out.exists()


def test_simulate_writes_only_the_formats_it_lists(tmp_path):
    out = tmp_path / "day.txt"
    one_line_error(run("simulate", "--scenario", "demo", "--out", out), f"--out: {out} must end in .sbr, .csv or .csv.gz")
    assert listing(tmp_path) == []


def test_alternatives_in_messages_are_listed_by_one_helper():
    """'a, b or c' was built twice, by formats/units (the units of acceleration) and cli/_args (an
    output's suffixes); errors.or_list is its one home now, under both, and their words are as they were."""
    from sensorback.cli import _args
    from sensorback.errors import or_list
    from sensorback.formats import units

    assert [or_list(x) for x in (["g"], ["g", "mg"], ("g", "m/s^2", "mg"))] == ["g", "g or mg", "g, m/s^2 or mg"]
    assert units.ACC_UNIT_NAMES == "g, m/s^2 or mg" and units.or_list is _args.or_list is or_list
    assert not hasattr(units, "_or_list")


@pytest.mark.parametrize("option, args", [
    ("--epochs", ["analyze", DEMO, "--epochs", "-"]),
    ("--events", ["replay", DEMO, "--events", "-"]),
    ("--html", ["report", "--html", "-"]),
])
def test_dash_is_not_taken_as_a_file_name(tmp_path, monkeypatch, option, args):
    monkeypatch.chdir(tmp_path)
    one_line_error(run(*args), f"{option}: '-' (standard output) is not supported here; give a file name")
    assert not (tmp_path / "-").exists()
