"""Every file or folder the user names for sensorback to write gets the same checks, before any work
starts (cli/_args.py check_output): its folder must exist (it is never created), it must not be a
folder, a recording is never written over, and names that cannot be meant are refused."""

from __future__ import annotations

from pathlib import Path

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
    r = run("monitor", "--demo", "--plain", "--speed", "2000", "--db", tmp_path / "x.db", "--record", rec)
    assert r.exit_code == 0, r.output
    from sensorback import formats

    assert len(formats.load(rec)) > 0


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


@pytest.mark.parametrize("option, args", [
    ("--epochs", ["analyze", DEMO, "--epochs", "-"]),
    ("--events", ["replay", DEMO, "--events", "-"]),
    ("--html", ["report", "--html", "-"]),
])
def test_dash_is_not_taken_as_a_file_name(tmp_path, monkeypatch, option, args):
    monkeypatch.chdir(tmp_path)
    one_line_error(run(*args), f"{option}: '-' (standard output) is not supported here; give a file name")
    assert not (tmp_path / "-").exists()
