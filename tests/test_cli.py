"""The sensorback command line, driven through typer's CliRunner and as the installed script."""

from __future__ import annotations

import csv
import functools
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sensorback import __version__
from sensorback.cli import app
from sensorback.cli import _args
from sensorback.cli._runtime import Terminated, run_guarded
from sensorback.core.epochs import EpochTable
from sensorback.core.states import CODE, STATES
from sensorback.errors import InputError, SensorbackError
from sensorback.formats.epochs_csv import write_epochs_csv
from cli_checks import all_params, one_line_error as assert_one_line_error
from conftest import DEADLINE_S, honouring_permissions, signalled_at, wait_until

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "recordings"
CHEST = RECORDINGS / "chest_casale_subject04.csv.gz"
WAIST = RECORDINGS / "hapt_waist_exp01_user01.csv.gz"
HEADER = "t_start,t_end,state,inclination_deg,intensity_g"

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def installed_script() -> str:
    found = shutil.which("sensorback", path=sysconfig.get_path("scripts")) or shutil.which("sensorback")
    assert found, "the sensorback console script is not installed; run pip install -e '.[test]'"
    return found


# --------------------------------------------------------------------------------------------- help


def test_help_lists_the_commands_with_examples():
    r = run("--help")
    assert r.exit_code == 0
    for command in ("analyze", "convert", "simulate"):
        assert command in r.stdout
    assert "Examples:" in r.stdout
    assert "sensorback analyze recordings/demo.sbr" in r.stdout


@pytest.mark.parametrize("command", ["analyze", "convert", "simulate"])
def test_each_command_help_teaches_with_examples(command):
    r = run(command, "--help")
    assert r.exit_code == 0
    assert f"sensorback {command} " in r.stdout.split("Examples:")[1]


def test_analyze_help_names_every_option():
    r = run("analyze", "-h")
    for option in ("--epochs", "--json", "--reference-window", "--forward-window", "--stand-window", "--rate",
                   "--epoch-seconds", "--slouch-threshold"):
        assert option in r.stdout
    assert HEADER in " ".join(r.stdout.split())  # the epochs columns are documented


def test_version():
    r = run("--version")
    assert r.exit_code == 0
    assert r.stdout.strip() == f"sensorback {__version__}"


def test_no_arguments_shows_usage():
    r = run()
    assert r.exit_code == 2
    assert "Usage:" in r.output and "Traceback" not in r.output


# ------------------------------------------------------------------------------------ user mistakes


def test_missing_file_is_one_line(tmp_path):
    missing = tmp_path / "nope.csv"
    assert_one_line_error(run("analyze", missing), str(missing), "no such file")


def test_a_missing_file_or_a_folder_among_several_is_a_failed_file_and_the_others_are_analysed(tmp_path):
    """A missing FILE or a folder among several stopped them all before any work ('error: second.sbr:
    no such file', nothing on stdout), against the promise that a file that cannot be read does not
    stop the others, which an unreadable or garbage file kept. Alone, each is still one line, exit 2."""
    missing = tmp_path / "second.sbr"
    folder = tmp_path / "folder"
    folder.mkdir()
    r = run("analyze", CHEST, missing, folder, WAIST, "--json", "--epochs", tmp_path / "e.csv")
    assert r.exit_code == 2, r.output
    docs = json.loads(r.stdout)
    assert [d["file"] for d in docs] == [str(CHEST), str(missing), str(folder), str(WAIST)]
    assert docs[1] == {"file": str(missing), "status": "failed", "error": f"{missing}: no such file"}
    assert docs[2] == {"file": str(folder), "status": "failed", "error": f"{folder}: not a file"}
    assert [d["status"] for d in (docs[0], docs[3])] == ["ok", "ok"]
    assert docs[3]["summary"] == json.loads(run("analyze", WAIST, "--json").stdout)["summary"]
    told = [line for line in r.stderr.splitlines() if line.startswith(("error: ", "wrote "))]
    assert told == [f"wrote {docs[0]['summary']['epochs']:,} epochs to {tmp_path / 'e.chest_casale_subject04.csv'}",
                    f"error: {missing}: no such file", f"error: {folder}: not a file",
                    f"wrote {docs[3]['summary']['epochs']:,} epochs to {tmp_path / 'e.hapt_waist_exp01_user01.csv'}"]
    assert sorted(q.name for q in tmp_path.iterdir()) == [
        "e.chest_casale_subject04.csv", "e.hapt_waist_exp01_user01.csv", "folder"]  # the good files' tables
    for options in ([], ["--json"]):  # every file bad: each told, nothing printed
        r = run("analyze", missing, folder, *options)
        assert r.exit_code == 2 and r.stdout == ""
        assert r.stderr.splitlines() == [f"error: {missing}: no such file", f"error: {folder}: not a file"]
    for alone, said in ((missing, "no such file"), (folder, "not a file")):
        for options in ([], ["--json"]):
            assert_one_line_error(run("analyze", alone, *options), f"{alone}: {said}")


def test_an_unreadable_file_is_one_failed_file_and_outputs_are_judged_by_sensorback(tmp_path):
    """typer refused any path that exists and cannot be read, before sensorback saw it: an unreadable
    recording among several stopped them all ("Invalid value for 'FILE': path ... is not readable",
    against the promise that a file that cannot be read does not stop the others), and an unreadable
    existing OUT was called unreadable rather than refused as existing."""
    locked = tmp_path / "locked.csv"
    shutil.copy(WAIST, locked)
    locked.chmod(0)
    sb = [sys.executable, "-m", "sensorback.cli"]

    def run_user(*args):
        return subprocess.run(honouring_permissions([*sb, *map(str, args)]), capture_output=True, text=True,
                              timeout=DEADLINE_S, cwd=tmp_path)

    r = run_user("analyze", "locked.csv", WAIST, "--json")
    assert r.returncode == 2 and r.stderr == "error: locked.csv: cannot open: Permission denied\n", r.stderr
    failed, done = json.loads(r.stdout)
    assert failed == {"file": "locked.csv", "status": "failed", "error": "locked.csv: cannot open: Permission denied"}
    assert done["status"] == "ok" and done["samples"] == 20598
    for args in (["convert", "locked.csv", "x.sbr"], ["replay", "locked.csv", "--db", "x.db"]):
        r = run_user(*args)
        assert (r.returncode, r.stderr) == (2, "error: locked.csv: cannot open: Permission denied\n"), args
    r = run_user("convert", WAIST, "locked.csv")
    assert r.returncode == 2 and r.stderr.startswith("error: OUT: locked.csv already exists;"), r.stderr
    r = run_user("analyze", WAIST, "--epochs", "locked.csv")
    assert r.returncode == 2 and "(it cannot be read)" in r.stderr, r.stderr


def test_sensor_logger_accelerometer_in_a_folder_that_cannot_be_listed_says_so(tmp_path):
    """Sensor Logger's Accelerometer.csv needs the Gravity.csv beside it; in a folder that could not
    be listed (mode 0311: its files open by name) the error said no Gravity.csv was beside it, with
    one there. Now the one line names the folder and why it could not be listed. A file of its own
    columns under that name needs no Gravity.csv and is still read."""
    folder = tmp_path / "export"
    folder.mkdir()
    n = 600
    ns = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 20_000_000  # 50 Hz
    for name, xyz in (("Accelerometer.csv", (0.05, 0.02, 0.03)), ("Gravity.csv", (0.2, 0.1, 0.97))):
        (folder / name).write_text("time,seconds_elapsed,z,y,x\n" + "".join(
            f"{tn},{(tn - ns[0]) / 1e9:.6f},{xyz[2] * 9.80665:.6f},{xyz[1] * 9.80665:.6f},{xyz[0] * 9.80665:.6f}\n"
            for tn in ns.tolist()))
    (folder / "accelerometer.csv.gz").write_bytes(WAIST.read_bytes())
    folder.chmod(0o311)
    try:
        def run_user(*args):
            return subprocess.run(honouring_permissions([sys.executable, "-m", "sensorback.cli", *map(str, args)]),
                                  capture_output=True, text=True, timeout=DEADLINE_S, cwd=tmp_path)

        r = run_user("analyze", "export/Accelerometer.csv")
        assert (r.returncode, r.stdout) == (2, ""), (r.returncode, r.stdout, r.stderr)
        assert r.stderr == (f"error: export/Accelerometer.csv: cannot list its folder {folder} to find the Gravity.csv "
                            "beside it (Sensor Logger's Accelerometer.csv has gravity removed): Permission denied\n"), \
            r.stderr
        r = run_user("analyze", "export/accelerometer.csv.gz", "--json")
        assert r.returncode == 0 and json.loads(r.stdout)["samples"] == 20598, (r.returncode, r.stderr)
    finally:
        folder.chmod(0o700)


def test_a_csv_whose_header_names_the_wrong_unit_is_refused_by_analyze(tmp_path):
    """'ax (g)' over values in m/s^2: a warning, then an analysis of a wearer 10 g heavy with exit 0.
    Now the file is refused in one line with the header to write, beside a file that is analysed."""
    bad = tmp_path / "ms2.csv"
    rows = "".join(f"{i * 0.02:.2f},0.98,1.96,9.51\n" for i in range(600))
    bad.write_text("t,ax (g),ay (g),az (g)\n" + rows)
    r = subprocess.run([sys.executable, "-m", "sensorback.cli", "analyze", "ms2.csv", WAIST], capture_output=True,
                       text=True, timeout=DEADLINE_S, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.splitlines() == [
        "error: ms2.csv: the header says the acceleration is in g (ax (g)), but the values look like m/s^2 (median "
        "|a| 9.76); not converted: name their unit in the header, e.g. 'ax (m/s^2)', or none to have it judged from "
        "the values"], r.stderr
    assert WAIST.name in r.stdout  # the other file is analysed
    bad.write_text("t,ax (m/s^2),ay (m/s^2),az (m/s^2)\n" + rows)
    r = subprocess.run([sys.executable, "-m", "sensorback.cli", "analyze", "ms2.csv"], capture_output=True,
                       text=True, timeout=DEADLINE_S, cwd=tmp_path)
    assert r.returncode == 0 and "error" not in r.stderr, r.stderr


@pytest.mark.parametrize("command", [["analyze", "-"], ["convert", "-", "out.sbr"], ["replay", "-"]])
def test_standard_input_is_named_not_called_a_missing_file(command, tmp_path, monkeypatch):
    """'zcat day.csv.gz | sensorback analyze -' is a Unix habit: say that it is not supported, and
    why, rather than '-: no such file'."""
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run(*command), "-: standard input is not read", "give the recording's file name")


def test_directory_is_not_a_recording(tmp_path):
    assert_one_line_error(run("analyze", tmp_path), "not a file")


@pytest.mark.parametrize("option", ["--reference-window", "--forward-window", "--stand-window"])
@pytest.mark.parametrize("value", ["5", "a:b", "10:5", "7:7", "1:2:3", "nan:5", "3:", ""])
def test_bad_window_syntax_is_one_line_naming_the_option(option, value):
    assert_one_line_error(run("analyze", CHEST, option, value), option, f"'{value}'")


@pytest.mark.parametrize("command", ["analyze", "replay"])
@pytest.mark.parametrize("seated, stand", [("--reference-window", "30:40"), ("--forward-window", "5:31")])
def test_a_stand_window_overlapping_a_seated_one_is_one_line(command, seated, stand, tmp_path):
    """The same seconds cannot be told standing and sitting: refused before anything is read."""
    r = run(command, CHEST, "--db", tmp_path / "x.db", seated, "30:60", "--stand-window", stand) if command == "replay" \
        else run(command, CHEST, seated, "30:60", "--stand-window", stand)
    assert_one_line_error(r, f"--stand-window {stand} overlaps {seated} 30:60")
    assert not (tmp_path / "x.db").exists()


def test_stand_apart_allows_windows_that_only_touch():
    _args.check_stand_apart((60.0, 90.0), {"--reference-window": (30.0, 60.0), "--forward-window": None})
    _args.check_stand_apart(None, {"--reference-window": (30.0, 60.0)})
    with pytest.raises(SensorbackError, match="^--stand-window 59.5:90 overlaps --reference-window 30:60: "):
        _args.check_stand_apart((59.5, 90.0), {"--reference-window": (30.0, 60.0)})


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--rate", "0"], "--rate"),
        (["--rate", "-50"], "--rate"),
        (["--epoch-seconds", "0"], "--epoch-seconds"),
        (["--slouch-threshold", "95"], "--slouch-threshold"),
        (["--rate", "abc"], "--rate"),
        (["--bogus"], "--bogus"),
    ],
)
def test_bad_option_values_are_one_line(args, fragment):
    assert_one_line_error(run("analyze", CHEST, *args), fragment)


@pytest.mark.parametrize(
    "args, said",
    [
        (["analyze", CHEST, "--rate"], "Option '--rate' requires an argument (see 'sensorback analyze --help')"),
        (["analyze", CHEST, "--json=yes"], "Option '--json' does not take a value (see 'sensorback analyze --help')"),
        (["analyze", CHEST, "--bogus"], "No such option: --bogus (see 'sensorback analyze --help')"),
        (["report", "--html"], "Option '--html' requires an argument (see 'sensorback report --help')"),
        (["replay", CHEST, "--speed"], "Option '--speed' requires an argument (see 'sensorback replay --help')"),
        (["log", "pain", "3", "--at"], "Option '--at' requires an argument (see 'sensorback log pain --help')"),
        (["--version=3"], "Option '--version' does not take a value (see 'sensorback --help')"),
    ],
)
def test_an_option_missing_its_value_says_where_help_is_like_every_usage_error(args, said):
    # click's parser raised these without the command, so the hint the other usage errors end in was lost
    assert assert_one_line_error(run(*args)) == f"error: {said}"


def single_value_options():
    """(command path, option) for every option of every command that takes one value."""
    from typer.core import TyperOption

    return [(path, p) for path, p in all_params()
            if isinstance(p, TyperOption) and not (p.is_flag or p.multiple or p.count)]


def test_every_option_that_takes_one_value_refuses_to_be_given_twice():
    # click kept the last value without a word: '--start X --start Y' replayed from Y
    options = single_value_options()
    assert len(options) > 40 and {"--start", "--rate", "--db", "--speed"} <= {p.opts[0] for _, p in options}
    for path, option in options:
        name = max(option.opts, key=len)
        r = run(*path, name, "1", f"{name}=2")
        assert_one_line_error(r, f"error: {name} was given twice: it takes one value (see 'sensorback {' '.join(path)} --help')")


def test_an_option_given_twice_ends_the_installed_command_with_exit_2(tmp_path):
    out = tmp_path / "out.csv"
    r = subprocess.run([installed_script(), "convert", CHEST, out, "--rate", "50", "--rate", "60", "--rate", "70"],
                       capture_output=True, text=True, timeout=DEADLINE_S)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "error: --rate was given 3 times: it takes one value (see 'sensorback convert --help')\n"
    assert not out.exists()


def test_options_that_collect_values_may_repeat(tmp_path):
    r = run("config", "show", "--set", "sit_limit_min=45", "--set", "reprompt_min=7", "--json")
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert (shown["sit_limit_min"], shown["reprompt_min"]) == (45, 7), shown
    repeatable = {(path, p.opts[0]) for path, p in all_params() if getattr(p, "multiple", False)}
    assert repeatable == {(("monitor",), "--set"), (("replay",), "--set"), (("replay",), "--snooze"),
                          (("config", "show"), "--set")}  # each has a test of its own repeated use


def flag_options():
    """(command path, option) for every on/off flag of every command (--plain, --stand/--no-stand)."""
    from typer.core import TyperOption

    return [(path, p) for path, p in all_params()
            if path and isinstance(p, TyperOption) and p.is_flag and not (p.multiple or p.count)]


def test_every_flag_refuses_to_be_given_twice_or_both_ways():
    # click kept the last without a word: 'calibrate --stand --no-stand' calibrated without the stand
    flags = flag_options()
    assert {"--plain", "--json", "--stand", "--week", "--radiating"} <= {p.opts[0] for _, p in flags}
    assert [p.secondary_opts for _, p in flags if p.secondary_opts] == [["--no-stand"]]
    assert not [p for _, p in all_params() if getattr(p, "count", False)]  # none counts its uses (-vv)
    for path, option in flags:
        see = f"(see 'sensorback {' '.join(path)} --help')"
        for name in (*option.opts, *option.secondary_opts):
            assert_one_line_error(run(*path, name, name), f"error: {name} was given twice: give it once {see}")
        if option.secondary_opts:
            on, off = option.opts[0], option.secondary_opts[0]
            assert_one_line_error(run(*path, on, off), f"error: {on} and {off} were both given: give one of them {see}")
            assert_one_line_error(run(*path, off, on, on),
                                  f"error: {off} and {on} were both given: give one of them {see}")


def test_a_flag_given_twice_ends_the_installed_command_with_exit_2(tmp_path):
    for args, said in ((["monitor", "--demo", "--plain", "--plain", "--db", tmp_path / "d.db"],
                        "--plain was given twice: give it once (see 'sensorback monitor --help')"),
                       (["calibrate", "--demo", "--stand", "--no-stand", "--out", tmp_path / "c.json"],
                        "--stand and --no-stand were both given: give one of them (see 'sensorback calibrate --help')")):
        r = subprocess.run([installed_script(), *map(str, args)], capture_output=True, text=True, timeout=DEADLINE_S)
        assert (r.returncode, r.stdout, r.stderr) == (2, "", f"error: {said}\n")
    assert list(tmp_path.iterdir()) == []  # refused before anything was started or written


def test_a_flag_given_once_and_a_positional_still_parse():
    r = run("exercises", "list", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout), r.output
    assert_one_line_error(run("log", "pain", "3", "--radiating", "--radiating"),
                          "error: --radiating was given twice: give it once")


def test_unknown_command_is_one_line():
    assert_one_line_error(run("analyse", CHEST), "analyse")


def test_simulate_needs_a_scenario(tmp_path):
    assert_one_line_error(run("simulate", "--out", tmp_path / "x.sbr"), "--scenario")


def test_several_files_with_the_same_name_cannot_share_epochs_output(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = tmp_path / "a" / "day.csv", tmp_path / "b" / "day.sbr"
    one.write_text("t,ax,ay,az\n")
    two.write_text("")
    assert_one_line_error(run("analyze", one, two, "--epochs", tmp_path / "out.csv"), "--epochs", "out.day.csv")


def test_epochs_output_never_overwrites_an_input(tmp_path):
    src = tmp_path / "day.csv.gz"
    shutil.copy(CHEST, src)
    before = src.read_bytes()
    assert_one_line_error(run("analyze", src, "--epochs", src), "--epochs", "input")
    assert src.read_bytes() == before


def test_convert_refuses_to_overwrite_its_input(tmp_path):
    src = tmp_path / "day.csv.gz"
    shutil.copy(CHEST, src)
    assert_one_line_error(run("convert", src, src), "same file")


DEMO_SBR = RECORDINGS / "demo.sbr"
AX3 = ROOT / "tests" / "data" / "ax3_testfile.cwa"


@pytest.mark.parametrize("command", ["analyze", "replay", "convert"])
@pytest.mark.parametrize("recording, own", [(DEMO_SBR, "50 Hz"), (WAIST, "50 Hz"), (AX3, "100 Hz")])
def test_rate_is_refused_for_a_file_with_its_own_timestamps(tmp_path, command, recording, own):
    out = tmp_path / "out.sbr"
    extra = {"replay": ["--db", tmp_path / "x.db"], "convert": [out]}.get(command, [])
    assert_one_line_error(run(command, recording, *extra, "--rate", "10"),
                          f"--rate: {recording} has its own timestamps ({own}); --rate is only for CSV files "
                          "without a time column")
    assert not out.exists() and not (tmp_path / "x.db").exists()


def test_rate_still_times_a_csv_without_a_time_column(tmp_path):
    src, out = tmp_path / "raw.csv", tmp_path / "raw.sbr"
    src.write_text("ax,ay,az\n" + "0,0,1\n" * 100)
    r = run("convert", src, out, "--rate", "25")
    assert r.exit_code == 0, r.output
    assert "wrote" in r.stdout and "100 samples, 4 s at 25 Hz" in r.stdout


def test_convert_missing_input(tmp_path):
    assert_one_line_error(run("convert", tmp_path / "in.sbr", tmp_path / "out.csv"), "in.sbr: no such file")


# ------------------------------------------------------------------- error and warning plumbing


def test_errors_warnings_and_interrupts_become_one_line(capsys):
    def user_mistake():
        raise InputError("day.csv", "non-numeric value 'x' in column ay", line=3)

    assert run_guarded(user_mistake) == 2
    assert capsys.readouterr().err == "error: day.csv:3: non-numeric value 'x' in column ay\n"

    def noisy():
        warnings.warn("day.csv: 12 samples out of order,\n  sorted by time")
        return None

    assert run_guarded(noisy) == 0
    assert capsys.readouterr().err == "warning: day.csv: 12 samples out of order, sorted by time\n"

    def ctrl_c():
        raise KeyboardInterrupt

    assert run_guarded(ctrl_c) == 130
    assert capsys.readouterr().err == "interrupted\n"

    def unwritable():
        open("/nonexistent-dir/out.csv", "w")

    assert run_guarded(unwritable) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: /nonexistent-dir/out.csv: ") and err.count("\n") == 1


def test_ctrl_c_inside_a_compiled_module_import_is_an_interrupt_too(capsys):
    """Ctrl-C while a command imports SciPy (the first second of 'monitor --demo') lands in a compiled
    module's initialisation, which re-raises it as 'ImportError: initialization failed' caused by
    the KeyboardInterrupt: that is still the user's Ctrl-C, not a bug with a traceback."""
    def ctrl_c_in_import():
        raise ImportError("initialization failed") from KeyboardInterrupt()

    assert run_guarded(ctrl_c_in_import) == 130
    assert capsys.readouterr().err == "interrupted\n"

    def sigterm_in_import():
        raise ImportError("initialization failed") from Terminated(signal.SIGTERM)

    assert run_guarded(sigterm_in_import) == 128 + signal.SIGTERM
    assert capsys.readouterr().err == "terminated (SIGTERM)\n"


def test_a_stop_inside_a_progress_line_says_what_it_stopped(capsys):
    """Ctrl-C (or a kill) while a progress line ran ended with a bare 'interrupted': the line says
    what was stopped, the innermost progress line's label as it stood (drawn or not: the line is
    said either way), after the command line's words for the signal."""
    from sensorback.cli._progress import Progress

    def reading():
        with Progress("reading day.sbr", enabled=False) as progress:
            progress.update(0, label="analyzing day.sbr", total=0)  # the next phase
            raise KeyboardInterrupt

    assert run_guarded(reading) == 130
    assert capsys.readouterr().err == "interrupted while analyzing day.sbr\n"

    def nested_kill():
        with Progress("cohort: 3/40 files", enabled=False):
            with Progress("writing day.csv.gz", enabled=False):
                raise Terminated(signal.SIGTERM)

    assert run_guarded(nested_kill) == 128 + signal.SIGTERM
    assert capsys.readouterr().err == "terminated (SIGTERM) while writing day.csv.gz\n"

    def after_it():
        with Progress("reading day.sbr", enabled=False):
            pass
        raise KeyboardInterrupt  # a finished progress line is not what was stopped

    assert run_guarded(after_it) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_bugs_keep_their_traceback():
    def bug():
        raise ZeroDivisionError("a real bug")

    with pytest.raises(ZeroDivisionError):
        run_guarded(bug)


# ------------------------------------------------------------------------ argument helpers (pure)


def test_parse_window():
    assert _args.parse_window("--reference-window", None) is None
    assert _args.parse_window("--reference-window", "30:90") == (30.0, 90.0)
    assert _args.parse_window("--forward-window", " 1.5 : 2e1 ") == (1.5, 20.0)
    with pytest.raises(SensorbackError, match="^--forward-window: START must be before END"):
        _args.parse_window("--forward-window", "9:3")


def test_window_must_lie_inside_the_recording():
    t = np.arange(0, 600, 0.02) + 0.004  # first sample at 0.004 s, last at 599.984 s, 50 Hz
    _args.check_window_inside("--reference-window", (0.0, 600.0), t, 50.0, "x.sbr")
    _args.check_window_inside("--reference-window", (0.0, 600.98), t, 50.0, "x.sbr")  # within a second
    with pytest.raises(SensorbackError, match=r"^--reference-window: 500:602 is outside x.sbr, which runs from "
                                              r"0.0 s to 600.0 s$"):
        _args.check_window_inside("--reference-window", (500.0, 602.0), t, 50.0, "x.sbr")
    with pytest.raises(SensorbackError, match="^--forward-window: "):
        _args.check_window_inside("--forward-window", (-2.0, 10.0), t, 50.0, "x.sbr")
    with pytest.raises(SensorbackError, match="no samples"):
        _args.check_window_inside("--forward-window", (0.0, 1.0), np.zeros(0), 50.0, "x.sbr")


@pytest.mark.parametrize(
    "text, seconds", [("600", 600.0), ("90s", 90.0), ("10min", 600.0), ("10m", 600.0), ("1.5h", 5400.0),
                      # too large for a float: inf, for the caller's upper limit to refuse and name
                      ("1e400", float("inf")), ("inf", float("inf")), ("Infinity h", float("inf")),
                      ("1e305d", float("inf"))]
)
def test_parse_duration(text, seconds):
    assert _args.parse_duration("--duration", text) == seconds


@pytest.mark.parametrize("text", ["", "ten", "0", "5 weeks", "-3", "nan", "-inf", "0e400"])
def test_parse_duration_rejects(text):
    with pytest.raises(SensorbackError, match="^--duration: "):
        _args.parse_duration("--duration", text)


def test_epochs_file_names():
    assert _args.epochs_paths(None, [Path("a.sbr")]) == [None]
    assert _args.epochs_paths(Path("e.csv"), [Path("x/a.sbr")]) == [Path("e.csv")]
    assert _args.epochs_paths(Path("o/e.csv"), [Path("mon.sbr"), Path("x/tue.csv.gz")]) == [
        Path("o/e.mon.csv"), Path("o/e.tue.csv")
    ]
    assert _args.epochs_paths(Path("e.csv.gz"), [Path("a.sbr"), Path("b.sbr")]) == [
        Path("e.a.csv.gz"), Path("e.b.csv.gz")
    ]
    assert _args.epochs_paths(Path("epochs"), [Path("a.sbr"), Path("b.sbr")]) == [
        Path("epochs.a.csv"), Path("epochs.b.csv")
    ]


@pytest.mark.parametrize("epochs", [[], ["--epochs", "e.csv"]], ids=["alone", "with-epochs"])
def test_the_same_recording_twice_says_so(tmp_path, monkeypatch, epochs):
    """'analyze day.sbr day.sbr' analysed the file twice without a word (two summaries, two JSON
    entries of one file); with --epochs it said 'rename one', with nothing to rename. Either way the
    one file, however it is spelled, is refused in one line before any work."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(DEMO_SBR, tmp_path / "day.sbr")
    (tmp_path / "link.sbr").symlink_to(tmp_path / "day.sbr")
    once = "given twice; give each recording once"
    for args, said in ((["day.sbr", "day.sbr"], f"error: day.sbr is {once}"),
                       (["day.sbr", "./day.sbr"], f"error: day.sbr is {once}"),
                       (["day.sbr", str(tmp_path / "day.sbr")],
                        f"error: day.sbr and {tmp_path / 'day.sbr'} are the same file, {once}"),
                       (["link.sbr", "day.sbr"], f"error: link.sbr and day.sbr are the same file, {once}")):
        assert assert_one_line_error(run("analyze", *args, *epochs, "--json"), said) == said
    assert sorted(q.name for q in tmp_path.iterdir()) == ["day.sbr", "link.sbr"]  # no epochs table


def test_two_recordings_of_one_name_are_two_recordings(tmp_path, monkeypatch):
    """Files of one name in two folders are analysed both; only --epochs, which would name both
    tables alike, refuses them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for where in (tmp_path, tmp_path / "sub"):
        shutil.copy(AX3, where / "day.cwa")
    r = run("analyze", "day.cwa", "sub/day.cwa", "--json")
    assert r.exit_code == 0, r.output
    assert [(d["file"], d["status"]) for d in json.loads(r.stdout)] == [("day.cwa", "ok"), ("sub/day.cwa", "ok")]
    assert_one_line_error(run("analyze", "day.cwa", "sub/day.cwa", "--epochs", "e.csv"),
                          "--epochs: day.cwa and sub/day.cwa would both write e.day.csv; rename one or analyze "
                          "them separately")
    assert not (tmp_path / "e.day.csv").exists()


def _small_table():
    n = 3
    return EpochTable(
        t_start=np.array([10.0, 11.0, 12.0]),
        t_end=np.array([11.0, 12.0, 13.0]),
        state=np.array([CODE["sitting"], CODE["no_data"], CODE["slouching"]], np.int8),
        inclination_deg=np.array([12.345, np.nan, 31.0], np.float32),
        flexion_deg=np.zeros(n, np.float32),
        lateral_deg=np.zeros(n, np.float32),
        intensity_g=np.array([0.01, np.nan, 0.25], np.float32),
        cadence_spm=np.zeros(n, np.float32),
    )


def test_write_epochs_csv_exact_content(tmp_path):
    out = tmp_path / "e.csv"
    write_epochs_csv(_small_table(), out)
    assert out.read_text() == (
        f"{HEADER}\n"
        "10.000,11.000,sitting,12.35,0.0100\n"
        "11.000,12.000,no_data,,\n"
        "12.000,13.000,slouching,31.00,0.2500\n"
    )
    gz = tmp_path / "e.csv.gz"
    write_epochs_csv(_small_table(), gz)
    assert gzip.open(gz, "rt").read() == out.read_text()


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
def test_ctrl_c_while_an_epochs_table_is_formatted_stops_the_write(tmp_path):
    """np.char.mod, which formatted the columns, lost an interrupt that came while it ran: the
    table was written and analyze went on with its next file, exit 0. A SIGINT's KeyboardInterrupt,
    raised here by an alarm 50 ms into writing two days of epochs, must come out, leaving no file."""
    n = 2 * 86400
    t = np.arange(n, dtype=float)
    f32 = np.full(n, 12.5, np.float32)
    table = EpochTable(t, t + 1.0, np.full(n, CODE["sitting"], np.int8), f32, f32, f32, f32, f32)
    out = tmp_path / "e.csv"

    def ctrl_c(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGALRM, ctrl_c)
    try:
        with pytest.raises(KeyboardInterrupt):
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            write_epochs_csv(table, out)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
    assert os.listdir(tmp_path) == []


def test_write_epochs_csv_empty_table(tmp_path):
    out = tmp_path / "e.csv"
    write_epochs_csv(EpochTable.empty(), out)
    assert out.read_text() == HEADER + "\n"


# --------------------------------------------- end to end (need sensorback.formats, .core and .sim)


def test_convert_round_trip(tmp_path):
    from sensorback import formats

    original = formats.load(WAIST)
    native = tmp_path / "waist.sbr"
    back = tmp_path / "waist.csv"
    r = run("convert", WAIST, native)
    assert r.exit_code == 0, r.output
    # the length as analyze writes it ('recorded 6 min 52 s'), not '411.9 s'
    assert r.stdout == f"wrote {native}: 20,598 samples, 6 min 52 s at 50 Hz\n"
    assert "recorded 6 min 52 s (0-412 s" in run("analyze", native).stdout
    r = run("convert", native, back)
    assert r.exit_code == 0, r.output
    via_native = formats.load(native)
    via_csv = formats.load(back)
    assert len(via_native) == len(original) == len(via_csv) == 20598
    np.testing.assert_array_equal(via_native.acc, original.acc)
    np.testing.assert_allclose(via_native.t, original.t, rtol=0, atol=1e-6)
    np.testing.assert_allclose(via_csv.acc, original.acc, rtol=0, atol=1e-4)
    np.testing.assert_allclose(via_csv.t, original.t, rtol=0, atol=1e-3)


def _record_progress(monkeypatch, module) -> list[tuple[str, float | None, float]]:
    """Make ``module``'s progress line draw as on a terminal and note (label, total, done) at its
    start and every update, in the list returned (what it draws, and when, is
    test_progress_draws_a_bar_then_erases_it's)."""
    from sensorback.cli._progress import Progress

    shown: list[tuple[str, float | None, float]] = []

    class Seen(Progress):
        def __init__(self, label, total=None, **kw):
            super().__init__(label, total, **kw)
            shown.append((self.label, self.total, self.done))

        def update(self, done, label=None, total=None):
            super().update(done, label, total)
            shown.append((self.label, self.total, self.done))

    monkeypatch.setattr(module, "Progress", Seen)
    monkeypatch.setattr(module, "interactive", lambda json_output=False: True)
    return shown


@pytest.mark.parametrize("command", ["analyze", "replay"])
def test_one_file_shows_how_much_of_it_is_read_on_a_terminal(tmp_path, monkeypatch, command):
    """analyze of one file and replay draw 'reading FILE [##......]  20%' (bytes of FILE read: a
    week-long CSV takes minutes to parse) before the next phase, where they drew 'loading FILE ...'
    with no share; analyze of several files still counts files (its bar says which file it is on)."""
    from sensorback.cli import file_cmds, replay_cmd
    from sensorback.formats import csv_io

    shown = _record_progress(monkeypatch, file_cmds if command == "analyze" else replay_cmd)
    size = WAIST.stat().st_size
    piece = 40_000
    monkeypatch.setattr(csv_io, "_READ_BYTES", piece)
    extra = ["--db", str(tmp_path / "r.db")] if command == "replay" else []
    r = run(command, WAIST, *extra)
    assert r.exit_code == 0, r.output
    reading = [(total, done) for label, total, done in shown if label == f"reading {WAIST}"]
    totals = [total for total, _ in reading]
    first = totals.index(size)  # formats.load's first call: the total, before a byte is read
    assert set(totals[:first]) == {None} and set(totals[first:]) == {size} and reading[first] == (size, 0), shown
    read = [done for _, done in reading if done]
    assert read == sorted(read) and len(read) >= 3 and read[-1] == size, read
    after = shown[len(reading):]
    assert after and after[0][0] != f"reading {WAIST}" and not after[0][1], shown  # the next phase: no bar

    if command == "analyze":  # several files: the bar counts them
        shown.clear()
        assert run("analyze", WAIST, RECORDINGS / "hapt_waist_exp41_user20.csv.gz").exit_code == 0
        assert {total for _, total, _ in shown} == {2}, shown


@pytest.mark.parametrize("option", ["--start", "--rate"])
def test_replay_shows_the_reading_that_start_or_rate_asks_for_first(tmp_path, monkeypatch, option):
    """replay --start / --rate read the file before the database opens (to refuse a file with its own
    start or timestamps): that read is the one with the bar, 'reading FILE [##....]  20%', and the
    file is read once. It read without a bar, then drew an empty 'reading FILE' over nothing."""
    from sensorback import formats
    from sensorback.cli import replay_cmd
    from sensorback.formats import csv_io

    shown = _record_progress(monkeypatch, replay_cmd)
    reads = []
    load = formats.load
    monkeypatch.setattr(formats, "load", lambda *a, **kw: reads.append(a[0]) or load(*a, **kw))
    monkeypatch.setattr(csv_io, "_READ_BYTES", 40_000)
    if option == "--start":  # WAIST has t in seconds: no start of its own
        path, extra = WAIST, ["--start", "2024-03-05 08:30"]
    else:  # no time column at all
        path, extra = tmp_path / "no_time.csv", ["--rate", "50"]
        rows = gzip.decompress(WAIST.read_bytes()).decode().splitlines()[1:]
        path.write_text("ax,ay,az\n" + "".join(row.split(",", 1)[1] + "\n" for row in rows))
    size = path.stat().st_size
    r = run("replay", path, "--db", tmp_path / "r.db", *extra)
    assert r.exit_code == 0, r.output
    assert reads == [path]  # once
    labels = [label for label, _, _ in shown]
    assert labels.count(f"reading {path}") == len(labels[:labels.index(f"calibrating on {path}")]), shown
    read = [done for label, total, done in shown if label == f"reading {path}" and total == size]
    assert read == sorted(read) and len(read) >= 3 and read[0] == 0 and read[-1] == size, shown


def test_convert_shows_how_far_its_reading_and_writing_are_on_a_terminal(tmp_path, monkeypatch):
    """On a terminal convert's line says the phase and how far it is: 'reading IN [##......]  20%'
    (bytes of IN read: a week-long CSV takes long to parse), then 'writing OUT [####....]  40%'
    (samples written: a CSV of a long recording takes seconds). It said 'converting IN ...  7 s' to
    the end, then 'reading IN ...  7 s' with no share while reading. The Progress it draws is
    recorded here (what it draws, and when, is test_progress_draws_a_bar_then_erases_it's)."""
    from sensorback import formats
    from sensorback.cli import file_cmds
    from sensorback.formats import csv_io

    shown = _record_progress(monkeypatch, file_cmds)
    size = WAIST.stat().st_size
    piece = 40_000
    assert size > 3 * piece  # several reads of the gzip file
    monkeypatch.setattr(csv_io, "_READ_BYTES", piece)
    out = tmp_path / "waist.csv"
    monkeypatch.setattr(formats, "write_csv", functools.partial(formats.write_csv, chunk_rows=5000))  # 5 chunks
    r = run("convert", WAIST, out)
    assert r.exit_code == 0, r.output
    reading = [(total, done) for label, total, done in shown if label == f"reading {WAIST}"]
    assert reading[:2] == [(None, 0), (size, 0)] and {total for total, _ in reading[1:]} == {size}  # formats.load's
    read = [done for _, done in reading[2:]]
    assert read == sorted(read) and len(read) >= 3 and read[-1] == size, read  # bytes read, up to the whole file
    assert set(read[:-1]) <= set(range(piece, size, piece)), read
    writing = shown[len(reading):]
    assert writing[0] == (f"writing {out}", 20598, 0)
    assert [done for label, total, done in writing[1:]] == [5000, 10000, 15000, 20000, 20598], shown
    assert {(label, total) for label, total, _ in writing} == {(f"writing {out}", 20598)}

    shown.clear()  # a .sbr, read in a moment: its bar is full at once when it is read
    native = tmp_path / "waist.sbr"
    formats.save(formats.load(WAIST), native)
    assert run("convert", native, tmp_path / "again.csv").exit_code == 0
    assert [(t, d) for label, t, d in shown if label == f"reading {native}"] == \
        [(None, 0), (native.stat().st_size, 0), (native.stat().st_size, native.stat().st_size)]


def test_reading_bar_counts_the_gravity_file_sensor_logger_is_read_with(tmp_path, monkeypatch):
    """Sensor Logger's Accelerometer.csv is read with the Gravity.csv beside it: the bar fills to the
    bytes of both, and stands part way when the first is read (it stood at 100 % while Gravity.csv,
    as long to read, was read)."""
    from sensorback.cli import file_cmds
    from sensorback.formats import csv_io

    shown = _record_progress(monkeypatch, file_cmds)
    n = 2000
    ns = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 20_000_000  # 50 Hz
    t = np.arange(n) / 50.0
    gravity = np.column_stack([0.2 * np.sin(t / 7), np.full(n, 0.1), np.sqrt(1 - 0.01 - (0.2 * np.sin(t / 7)) ** 2)])
    user = 0.05 * np.column_stack([np.sin(3 * t), np.cos(5 * t), np.sin(2 * t)])
    files = {}
    for name, xyz in (("Accelerometer.csv", user), ("Gravity.csv", gravity)):
        files[name] = tmp_path / name
        files[name].write_text("time,seconds_elapsed,z,y,x\n" + "".join(
            f"{tn},{(tn - ns[0]) / 1e9:.6f},{z * 9.80665:.6f},{y * 9.80665:.6f},{x * 9.80665:.6f}\n"
            for tn, (x, y, z) in zip(ns.tolist(), xyz)))
    acc, both = files["Accelerometer.csv"].stat().st_size, sum(f.stat().st_size for f in files.values())
    monkeypatch.setattr(csv_io, "_READ_BYTES", 20_000)
    assert acc > 3 * 20_000  # several reads of each file
    r = run("convert", files["Accelerometer.csv"], tmp_path / "total.sbr")
    assert r.exit_code == 0, r.output
    reading = [(total, done) for label, total, done in shown if label == f"reading {files['Accelerometer.csv']}"]
    assert {total for total, _ in reading[1:]} == {both}, reading
    read = [done for _, done in reading[1:]]
    assert read == sorted(read) and read[0] == 0 and read[-1] == both and acc in read, read


def test_convert_in_a_pipe_says_only_what_it_wrote(tmp_path):
    out = tmp_path / "waist.csv.gz"
    r = subprocess.run([sys.executable, "-m", "sensorback.cli", "convert", WAIST, out],
                       capture_output=True, text=True, timeout=DEADLINE_S)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr  # no progress line where nobody watches
    assert r.stdout == f"wrote {out}: 20,598 samples, 6 min 52 s at 50 Hz\n"


def test_unknown_scenario_lists_the_valid_names(tmp_path):
    from sensorback.sim import SCENARIOS

    out = tmp_path / "x.sbr"
    r = run("simulate", "--scenario", "no-such-scenario", "--out", out)
    assert_one_line_error(r, "--scenario", "no-such-scenario", *SCENARIOS)
    assert not out.exists()


def test_simulate_help_lists_the_scenarios():
    from sensorback.sim import SCENARIOS

    text = " ".join(run("simulate", "--help").stdout.split())
    for name in SCENARIOS:
        assert name in text


def test_simulate_writes_recording_and_labels(tmp_path):
    from sensorback import formats
    from sensorback.sim import SCENARIOS

    scenario = next(iter(SCENARIOS))
    out = tmp_path / "sim.csv.gz"
    r = run("simulate", "--scenario", scenario, "--out", out, "--seed", "3", "--rate", "25", "--duration", "2min")
    assert r.exit_code == 0, r.output
    labels = tmp_path / "sim.labels.csv"
    assert out.exists() and labels.exists()
    assert r.stdout == f"wrote {out} (2 min 00 s at 25 Hz) and {labels}\n"  # as analyze writes lengths
    block = formats.load(out)
    assert block.rate_hz == pytest.approx(25.0)
    assert block.duration_s == pytest.approx(120.0, abs=1.0)
    with open(labels, newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) > 1
    assert rows[0][:2] == ["t_start", "t_end"]


def test_simulate_writes_exactly_what_simulate_makes(tmp_path):
    """The command makes and writes a recording piece by piece: the same bytes as saving simulate()'s."""
    from sensorback import formats
    from sensorback.sim import simulate

    out = tmp_path / "sim.sbr"
    assert run("simulate", "--scenario", "demo", "--out", out, "--seed", "4", "--rate", "20", "--duration", "10min").exit_code == 0
    block, _ = simulate("demo", seed=4, rate_hz=20, duration_s=600)
    formats.save(block, tmp_path / "ref.sbr")
    assert out.read_bytes() == (tmp_path / "ref.sbr").read_bytes()
    assert not list(tmp_path.glob("*.writing"))


@pytest.mark.parametrize("option,value,message", [
    ("--duration", "1000d", "--duration: must be from 1 s to 7 days, got '1000d'"),
    ("--duration", "0.5s", "--duration: must be from 1 s to 7 days, got '0.5s'"),
    # infinite or too large for a float: the real limit, not 'must be longer than 0 s'
    ("--duration", "1e400", "--duration: must be from 1 s to 7 days, got '1e400'"),
    ("--duration", "1e305d", "--duration: must be from 1 s to 7 days, got '1e305d'"),
    ("--duration", "inf", "--duration: must be from 1 s to 7 days, got 'inf'"),
    ("--duration", "nan", "--duration: expected a duration such as 600, 90s, 10min or 8h, got 'nan'"),
    ("--duration", "0", "--duration: must be longer than 0 s, got '0'"),
    # one limit for --rate, whatever side of the readers' 5 Hz floor the rate is
    ("--rate", "5", "--rate: the simulator samples at 10 to 200 Hz, got 5"),
    ("--rate", "1", "--rate: the simulator samples at 10 to 200 Hz, got 1"),
    ("--rate", "250", "--rate: the simulator samples at 10 to 200 Hz, got 250"),
    ("--seed", "-1", "--seed: must be a whole number, 0 or more, got -1"),
    ("--start", "2025-13-01", "--start: '2025-13-01' is not a real date (month must be in 1..12)"),
    ("--start", "1999-12-31", "--start: 1999-12-31 is outside the years sensorback handles (2000 to 2099)"),
    ("--start", "08:30", "--start: expected a date or a date and time such as 2025-01-06 or '2025-01-06 08:30' "
                         "(local time, or with an offset such as +01:00 or Z), got '08:30'"),
    ("--start", "2025-01-06 25:00", "--start: expected a date or a date and time such as 2025-01-06 or "
                                    "'2025-01-06 08:30' (local time, or with an offset such as +01:00 or Z), "
                                    "got '2025-01-06 25:00'"),
])
def test_simulate_errors_name_the_option(tmp_path, option, value, message):
    out = tmp_path / "sim.sbr"
    line = assert_one_line_error(run("simulate", "--scenario", "demo", "--out", out, option, value), message)
    assert line == f"error: {message}"
    assert not out.exists()


@pytest.mark.parametrize("content,field", [
    ({}, "the field 'sensor' is missing"),
    ({"calibration": {}}, "the field 'sensor' is missing"),
    ({"sensor": {"offset": [0, 0, 0], "gain": [1, 1, 1]}}, "the field 'reference' is missing"),
    ({"sensor": {"offset": [0, 0, 0]}, "reference": {}}, "the field 'sensor.gain' is missing"),
    ({"sensor": {"offset": [0, 0, 0], "gain": [1, 1, 1]}, "reference": {"up": [0, 0, 1]}},
     "the field 'reference.forward' is missing"),
    ({"sensor": {"offset": [0, 0], "gain": [1, 1, 1]}, "reference": {}}, "'sensor.offset' must be 3 finite numbers"),
])
def test_a_calibration_file_missing_a_field_says_which(tmp_path, content, field):
    cal = tmp_path / "mine.json"
    cal.write_text(json.dumps(content))
    for command in (["analyze", CHEST], ["replay", CHEST, "--db", tmp_path / "r.db"]):
        line = assert_one_line_error(run(*command, "--calibration", cal), f"--calibration {cal}: ", field,
                                     "run 'sensorback calibrate' again")
        assert "KeyError" not in line and "(" not in line
    assert not (tmp_path / "r.db").exists()


GAIN_RANGE = "the field 'sensor.gain' must be 3 finite numbers from 0.5 to 2"
GAIN_WHY = ": a sensor's gain is a few percent off 1"
OFFSET_RANGE = "the field 'sensor.offset' must be 3 finite numbers from -1 to 1 g"
OFFSET_WHY = ": a sensor's offset is tens of mg"


@pytest.mark.parametrize("sensor,detail", [
    # a gain of 0 read every sample as 0 g (68 % not worn); a negative one turned upright upside down
    ({"offset": [0, 0, 0], "gain": [0, 0, 0]}, f"{GAIN_RANGE}, got [0, 0, 0]{GAIN_WHY}"),
    ({"offset": [0, 0, 0], "gain": [-1, 1, 1]}, f"{GAIN_RANGE}, got [-1, 1, 1]{GAIN_WHY}"),
    ({"offset": [0, 0, 0], "gain": [1e6, 1, 1]}, f"{GAIN_RANGE}, got [1e+06, 1, 1]{GAIN_WHY}"),
    ({"offset": [0, 0, 0], "gain": [1, 0.49, 1]}, f"{GAIN_RANGE}, got [1, 0.49, 1]{GAIN_WHY}"),
    ({"offset": [0, 0, 0], "gain": [1, 1, float("nan")]}, f"{GAIN_RANGE}, got [1, 1, nan]{GAIN_WHY}"),
    ({"offset": [0, 0, 0], "gain": [1, float("inf"), 1]}, f"{GAIN_RANGE}, got [1, inf, 1]{GAIN_WHY}"),
    ({"offset": [0, 0, 0], "gain": [1, 1]}, f"{GAIN_RANGE}{GAIN_WHY}; "),
    ({"offset": [50, 0, 0], "gain": [1, 1, 1]}, f"{OFFSET_RANGE}, got [50, 0, 0]{OFFSET_WHY}"),
    ({"offset": [0, float("nan"), 0], "gain": [1, 1, 1]}, f"{OFFSET_RANGE}, got [0, nan, 0]{OFFSET_WHY}"),
])
def test_a_calibration_file_with_an_impossible_sensor_correction_is_refused(tmp_path, sensor, detail):
    """analyze and replay --calibration: a gain or offset no accelerometer has (limits.MIN_GAIN to
    MAX_GAIN, MAX_OFFSET_G), as a not-all-zero reference.up is: one line naming the field and the
    values, before anything runs (it gave not_worn 68 % and a median inclination of 180 degrees)."""
    cal = tmp_path / "mine.json"
    good = {"sensor": {"offset": [0, 0, 0], "gain": [1, 1, 1]},
            "reference": {"up": [0, 0, 1], "forward": [1, 0, 0]}}
    cal.write_text(json.dumps({"calibration": dict(good, sensor=sensor)}))  # (NaN, Infinity: as Python writes them)
    for command in (["analyze", CHEST], ["replay", CHEST, "--db", tmp_path / "r.db"]):
        line = assert_one_line_error(run(*command, "--calibration", cal), f"--calibration {cal}: not a usable calibration: "
                                     f"{detail}", "run 'sensorback calibrate' again")
        assert line.endswith("; run 'sensorback calibrate' again") and "(" not in line
    assert not (tmp_path / "r.db").exists()


def test_the_sensor_correction_limits_are_inclusive_and_hold_every_fit():
    """0.5 and 2, -1 and 1 g are accepted; what the sphere fit can make (gains 0.7 to 1.3, offsets
    within 0.5 g) is well inside, so a learned sensor is always loadable again."""
    from sensorback.core.reference import sensor_from_dict

    sensor = sensor_from_dict({"offset": [-1, 1, 0.5], "gain": [0.5, 2, 1.3]})
    assert sensor.offset == (-1.0, 1.0, 0.5) and sensor.gain == (0.5, 2.0, 1.3)
    for gain in ([0.4999, 1, 1], [1, 2.0001, 1]):
        with pytest.raises(ValueError, match="'sensor.gain' must be 3 finite numbers from 0.5 to 2"):
            sensor_from_dict({"offset": [0, 0, 0], "gain": gain})
    with pytest.raises(ValueError, match="'sensor.offset' must be 3 finite numbers from -1 to 1 g"):
        sensor_from_dict({"offset": [0, -1.001, 0], "gain": [1, 1, 1]})

def test_a_stored_calibration_missing_a_field_says_which(tmp_path):
    from sensorback.calibrations import CalibrationStore

    store = CalibrationStore(tmp_path / "calibrations.json")
    store.path.write_text(json.dumps({"devices": {"demo": {"calibration": {"sensor": {}}}}}))
    with pytest.raises(SensorbackError, match=rf"^the calibration of demo in {store.path}: not a usable calibration: "
                                              r"the field 'sensor.offset' is missing; run 'sensorback calibrate' again$"):
        store.load("demo")



def test_a_stored_calibration_with_an_impossible_gain_says_so(tmp_path):
    """The stored calibrations monitor uses (a device's calibration, a learned sensor of its own)
    are read by the same sensor_from_dict: a gain of 0 is refused there too, naming the entry."""
    from sensorback.calibrations import CalibrationStore

    store = CalibrationStore(tmp_path / "calibrations.json")
    zero = {"offset": [0, 0, 0], "gain": [0, 0, 0]}
    cal = {"sensor": zero, "reference": {"up": [0, 0, 1], "forward": [1, 0, 0]}}
    store.path.write_text(json.dumps({"devices": {
        "demo": {"calibration": cal},
        "learned": {"sensor": zero, "sensor_saved_at": "2026-01-01T00:00:00+00:00"}}}))
    with pytest.raises(SensorbackError, match=rf"^the calibration of demo in {store.path}: not a usable calibration: "
                                              r"the field 'sensor.gain' must be 3 finite numbers from 0.5 to 2, got \[0, 0, 0\]: "
                                              r"a sensor's gain is a few percent off 1; run 'sensorback calibrate' again$"):
        store.load("demo")
    with pytest.raises(SensorbackError, match=rf"^the sensor calibration of learned in {store.path}: not usable: the "
                                              r"field 'sensor.gain' must be 3 finite numbers from 0.5 to 2, got \[0, 0, 0\]: .*; delete it$"):
        store.load_sensor("learned")

@pytest.fixture
def auckland(monkeypatch):
    """The process's local time zone is Pacific/Auckland (UTC+13 in January: a local morning is the
    UTC day before)."""
    import time

    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_simulate_starts_on_the_day_given(tmp_path, auckland):
    """--start 2025-01-06: the recording starts that (local) day, at the simulated wearer's usual
    08:00 and the seed's minutes; the samples are those of the default start."""
    from datetime import datetime

    from sensorback import formats

    week = tmp_path / "week.sbr"
    r = run("simulate", "--scenario", "demo", "--seed", "2", "--duration", "2min", "--start", "2025-01-06",
            "--out", week)
    assert r.exit_code == 0, r.output
    block = formats.load(week)
    local = datetime.fromtimestamp(block.start_time).astimezone()
    assert local.date().isoformat() == "2025-01-06" and local.utcoffset().total_seconds() == 13 * 3600
    assert 8 * 60 <= local.hour * 60 + local.minute <= 8 * 60 + 30
    assert run("simulate", "--scenario", "demo", "--seed", "2", "--duration", "2min", "--out",
               tmp_path / "default.sbr").exit_code == 0
    default = formats.load(tmp_path / "default.sbr")
    assert np.array_equal(block.t, default.t) and np.array_equal(block.acc, default.acc)
    # the seed's minutes after 08:00 are the default day's after 08:00 UTC
    assert block.start_time - local.replace(hour=8, minute=0, second=0, microsecond=0).timestamp() == \
        pytest.approx(default.start_time - 1709539200.0, abs=1e-6)


def test_simulate_starts_at_the_time_given(tmp_path, auckland):
    from datetime import datetime, timezone

    from sensorback import formats

    for text, expected in [("2025-01-06 07:15", datetime(2025, 1, 5, 18, 15, tzinfo=timezone.utc)),  # local
                           ("2025-01-06T07:15:30+01:00", datetime(2025, 1, 6, 6, 15, 30, tzinfo=timezone.utc)),
                           ("2025-01-06 07:15Z", datetime(2025, 1, 6, 7, 15, tzinfo=timezone.utc))]:
        out = tmp_path / f"{len(list(tmp_path.glob('*.sbr')))}.sbr"
        r = run("simulate", "--scenario", "demo", "--duration", "60", "--start", text, "--out", out)
        assert r.exit_code == 0, r.output
        assert formats.load(out).start_time == expected.timestamp(), text


def test_simulate_without_start_is_unchanged():
    """The default start, Monday 2024-03-04 08:00 UTC and the seed's minutes: the bundled demo.sbr
    (made by 'simulate --scenario demo --seed 1' before --start existed) comes out again, sample for
    sample, with its start. (Not byte for byte: its metadata predates the simulator's 'stuck' entry.)"""
    from sensorback import formats
    from sensorback.sim import simulate

    made, _ = simulate("demo", seed=1)
    bundled = formats.load(RECORDINGS / "demo.sbr")
    assert made.start_time == bundled.start_time == 1709539601.783
    assert np.array_equal(made.t, bundled.t) and np.array_equal(made.acc, bundled.acc)


def test_simulate_same_seed_same_recording(tmp_path):
    from sensorback import formats
    from sensorback.sim import SCENARIOS

    scenario = next(iter(SCENARIOS))
    for name in ("a.sbr", "b.sbr"):
        assert run("simulate", "--scenario", scenario, "--out", tmp_path / name, "--duration", "60").exit_code == 0
    a, b = formats.load(tmp_path / "a.sbr"), formats.load(tmp_path / "b.sbr")
    np.testing.assert_array_equal(a.acc, b.acc)


def test_analyze_prints_a_summary():
    r = run("analyze", CHEST)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert out.splitlines()[0].startswith(str(CHEST))
    for name in STATES:
        assert name in out
    assert "seated bouts:" in out and "seated (sitting + slouching): " in out
    assert "worn" in out


def test_analyze_writes_the_exact_epochs_header(tmp_path):
    out = tmp_path / "epochs.csv"
    r = run("analyze", CHEST, "--epochs", out)
    assert r.exit_code == 0, r.output
    lines = out.read_text().splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader(lines))
    assert len(rows) >= 590  # a 600 s recording in 1 s epochs
    t_start = np.array([float(r["t_start"]) for r in rows])
    t_end = np.array([float(r["t_end"]) for r in rows])
    assert np.all(np.diff(t_start) > 0) and np.all(t_end > t_start)
    assert t_start[0] >= 0.0 and t_end[-1] <= 601.0  # the recording's own time axis
    assert {r["state"] for r in rows} <= set(STATES)
    assert f"wrote {len(rows):,} epochs to {out}" in r.stderr


def test_analyze_json_parses(tmp_path):
    r = run("analyze", CHEST, "--json", "--epoch-seconds", "2")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["file"] == str(CHEST)
    assert doc["options"]["epoch_s"] == 2
    s = doc["summary"]
    assert s["total_s"] == pytest.approx(600, abs=3)
    assert set(s["states"]) == set(STATES)
    assert sum(v["seconds"] for v in s["states"].values()) == pytest.approx(s["total_s"])
    assert s["seated"]["bouts"] >= 1  # the excerpt opens with 200 s at the computer
    assert "sitting" not in s  # the state's name only names the state (s["states"]["sitting"])
    states = s["states"]
    assert s["seated"]["seated_s"] == pytest.approx(states["sitting"]["seconds"] + states["slouching"]["seconds"])


@pytest.mark.parametrize("epoch_s", ["0.5", "2"])
def test_the_walking_upright_note_counts_seconds_whatever_the_epoch(epoch_s):
    """'upright reference: walking (N s)' counted epochs as seconds: twice the walking at 0.5 s
    epochs, half of it at 2 s."""
    walked = {}
    for e in ("1", epoch_s):
        r = run("analyze", WAIST, "--json", "--epoch-seconds", e)
        assert r.exit_code == 0, r.output
        note = next(n for n in json.loads(r.stdout)["calibration"] if n.startswith("upright reference:"))
        walked[e] = float(re.search(r"walking \((\d+) s\)", note).group(1))
    assert walked[epoch_s] == pytest.approx(walked["1"], rel=0.15), walked


def test_analyze_several_files_json_list_and_epochs_per_file(tmp_path):
    out = tmp_path / "e.csv"
    r = run("analyze", CHEST, WAIST, "--json", "--epochs", out)
    assert r.exit_code == 0, r.output
    docs = json.loads(r.stdout)
    assert [d["file"] for d in docs] == [str(CHEST), str(WAIST)]
    for stem in ("chest_casale_subject04", "hapt_waist_exp01_user01"):
        written = tmp_path / f"e.{stem}.csv"
        assert written.read_text().splitlines()[0] == HEADER
    assert not out.exists()


def bad_recording(tmp_path, name="bad.csv") -> tuple[Path, str]:
    """A CSV with a non-numeric value on line 3, and the one-line error a load of it gives."""
    from sensorback import formats

    p = tmp_path / name
    p.write_text("t,ax,ay,az\n0,0.1,0.2,0.97\n0.02,abc,0.2,0.97\n")
    with pytest.raises(InputError) as e:
        formats.load(p)
    assert str(e.value).startswith(f"{p}:3: ")
    return p, str(e.value)


def test_a_bad_file_among_several_is_told_as_met_and_the_others_are_analysed(tmp_path):
    """The bad file stopped the run: the files after it were not analysed. Its error now comes
    where it is met (stderr and stdout in one stream), between the good files' summaries."""
    bad, said = bad_recording(tmp_path)
    p = subprocess.run([installed_script(), "analyze", str(CHEST), str(bad), str(WAIST)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=DEADLINE_S, stdin=subprocess.DEVNULL)
    assert p.returncode == 2, p.stdout
    lines = p.stdout.splitlines()
    titles = [i for i, line in enumerate(lines) if line.startswith((str(CHEST), str(WAIST)))]
    errors = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert [lines[i] for i in errors] == [f"error: {said}"]
    assert len(titles) == 2 and titles[0] < errors[0] < titles[1], lines
    assert "Traceback" not in p.stdout


def test_a_bad_file_among_several_is_an_entry_of_the_json_list(tmp_path):
    """With --json nothing was printed at all: the good files' results were lost."""
    bad, said = bad_recording(tmp_path)
    out = tmp_path / "e.csv"
    r = run("analyze", CHEST, bad, WAIST, "--json", "--epochs", out)
    assert r.exit_code == 2, r.output
    docs = json.loads(r.stdout)
    assert [d["file"] for d in docs] == [str(CHEST), str(bad), str(WAIST)]
    assert docs[1] == {"file": str(bad), "status": "failed", "error": said}
    assert [d["status"] for d in (docs[0], docs[2])] == ["ok", "ok"]
    assert docs[2]["summary"] == json.loads(run("analyze", WAIST, "--json").stdout)["summary"]
    told = [line for line in r.stderr.splitlines() if line.startswith(("error: ", "wrote "))]
    assert told == [f"wrote {docs[0]['summary']['epochs']:,} epochs to {tmp_path / 'e.chest_casale_subject04.csv'}",
                    f"error: {said}",
                    f"wrote {docs[2]['summary']['epochs']:,} epochs to {tmp_path / 'e.hapt_waist_exp01_user01.csv'}"]
    assert sorted(q.name for q in tmp_path.iterdir()) == [
        "bad.csv", "e.chest_casale_subject04.csv", "e.hapt_waist_exp01_user01.csv"]  # the good files' tables


def test_when_every_file_is_bad_each_is_told_and_nothing_is_printed(tmp_path):
    bad, said = bad_recording(tmp_path)
    worse, said_too = bad_recording(tmp_path, "worse.csv")
    assert_one_line_error(run("analyze", bad, "--json"), said)  # one file: as it always was
    for options in ([], ["--json"]):
        r = run("analyze", bad, worse, *options)
        assert r.exit_code == 2 and r.stdout == ""
        assert r.stderr.splitlines() == [f"error: {said}", f"error: {said_too}"]


def test_ctrl_c_after_a_bad_file_stops_everything_at_once(tmp_path):
    """A bad file no longer ends the run; Ctrl-C still does, at once: exit 130, no JSON, and no
    epochs table of the file it cut short (nor a temp file)."""
    import signal

    from sensorback import formats
    from sensorback.sim import simulate

    bad, said = bad_recording(tmp_path)
    block, _ = simulate("desk-day", seed=1, duration_s=8 * 3600.0)
    days = [tmp_path / f"{day}.sbr" for day in ("mon", "tue", "wed", "thu")]  # seconds of work in all
    for day in days:
        formats.save(block, day)
    p = subprocess.Popen([installed_script(), "analyze", str(bad), *map(str, days), "--json", "--epochs",
                          str(tmp_path / "e.csv")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    try:
        assert p.stderr.readline() == f"error: {said}\n"  # the bad file is behind; the first day under way
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=DEADLINE_S)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, (out, err)
    # the last line names what it stopped: a day's read or analysis ('interrupted while analyzing
    # .../tue.sbr'), or nothing when it came while a table was written, outside the progress line
    last = err.splitlines()[-1]
    assert out == "" and "Traceback" not in err and (last == "interrupted" or any(
        last in (f"interrupted while reading {day}", f"interrupted while analyzing {day}") for day in days)), err
    inputs = {"bad.csv", *(day.name for day in days)}
    tables = [q for q in tmp_path.iterdir() if q.name not in inputs]
    assert len(tables) < len(days)  # it stopped before the end
    for q in tables:  # a day finished before Ctrl-C keeps its whole table; no temp file is left
        assert q.name in {f"e.{day.stem}.csv" for day in days}, q.name
        assert len(q.read_text().splitlines()) == 1 + 8 * 3600


def test_analyze_json_says_which_clock_the_start_time_is_on(tmp_path):
    """A .cwa's start is the logger's clock of unknown zone: the text says '(device clock)', and the
    JSON's start_time, a number that reads as Unix time, said nothing of it."""
    text = run("analyze", AX3)
    assert text.exit_code == 0 and "(device clock)" in text.stdout.splitlines()[0]
    assert json.loads(run("analyze", AX3, "--json").stdout)["clock"] == "device-local"
    assert json.loads(run("analyze", DEMO_SBR, "--json").stdout)["clock"] == "utc"
    untimed = json.loads(run("analyze", CHEST, "--json").stdout)  # t in seconds from its start
    assert untimed["start_time"] is None and untimed["clock"] == "none"


def test_analyze_with_windows_inside_and_outside_the_recording():
    r = run("analyze", CHEST, "--reference-window", "10:70", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["options"]["reference_window"] == [10, 70]
    assert_one_line_error(run("analyze", CHEST, "--reference-window", "500:900"), "--reference-window", "outside")


@pytest.mark.parametrize("command", ["analyze", "replay"])
def test_a_reference_window_shorter_than_an_epoch_works(tmp_path, command):
    extra = ["--db", tmp_path / "x.db"] if command == "replay" else []
    # half a second of sitting upright (the demo walks until 35 s: a window there is refused as moving)
    r = run(command, DEMO_SBR, *extra, "--reference-window", "60:60.5")
    assert r.exit_code == 0, r.output
    assert "upright reference: window 60:60.5 s" in r.stdout


# ------------------------------------------------------------------------- the installed script


def test_installed_script_version_and_missing_file(tmp_path):
    exe = installed_script()
    p = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=DEADLINE_S)
    assert p.returncode == 0 and p.stdout.strip() == f"sensorback {__version__}"
    missing = tmp_path / "missing.sbr"
    p = subprocess.run([exe, "analyze", str(missing)], capture_output=True, text=True, timeout=DEADLINE_S)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr == f"error: {missing}: no such file\n"
    p = subprocess.run([exe, "analyze", str(CHEST), "--forward-window", "x"], capture_output=True, text=True,
                       timeout=DEADLINE_S)
    assert p.returncode == 2 and p.stderr.startswith("error: --forward-window: ") and p.stderr.count("\n") == 1


@pytest.mark.parametrize("module", ["sensorback", "sensorback.cli"])
def test_python_dash_m_runs_the_same_cli(module):
    p = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                       timeout=DEADLINE_S)
    assert p.returncode == 0 and "simulate" in p.stdout


def test_installed_script_analyzes_a_real_recording(tmp_path):
    exe = installed_script()
    out = tmp_path / "e.csv"
    p = subprocess.run([exe, "analyze", str(WAIST), "--json", "--epochs", str(out)], capture_output=True,
                       text=True, timeout=DEADLINE_S, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    doc = json.loads(p.stdout)
    assert doc["summary"]["epochs"] > 0
    assert out.read_text().splitlines()[0] == HEADER


# ------------------------------------------------------------------------------- progress line


def test_progress_draws_a_bar_then_erases_it():
    import io

    from sensorback.cli._progress import Progress

    stream = io.StringIO()
    with Progress("analyzing day.sbr", total=200, stream=stream, delay=0.0) as p:
        p.update(50)
        wait_until(lambda: "analyzing day.sbr [######..................]  25%" in stream.getvalue(),
                   "the bar at 25 %")
    text = stream.getvalue()
    assert text.endswith("\r")  # erased on exit, the cursor back at the start of the line
    quiet = io.StringIO()
    with Progress("quick", total=1, stream=quiet, delay=60.0):
        pass
    assert quiet.getvalue() == ""  # work faster than the delay shows nothing
    off, on = io.StringIO(), io.StringIO()
    with Progress("off", stream=off, enabled=False, delay=0.0):
        with Progress("on", stream=on, delay=0.0):  # the same time, enabled: it draws
            wait_until(lambda: "on ..." in on.getvalue(), "the enabled progress line")
    assert off.getvalue() == ""


def test_progress_shows_a_long_run_in_hours_and_minutes():
    """A cohort run of hours showed '3900 s'; the time is written as analyze writes durations."""
    from sensorback.cli._progress import Progress

    with Progress("cohort: 3/40 files", total=40, enabled=False) as p:
        p._t0 -= 3900.0  # as if it had started 65 minutes ago
        assert p.line().endswith("]   0%  1 h 05 min")
        p._t0 += 3900.0 - 272.0
        assert p.line().endswith("  4 min 32 s")


def test_no_progress_when_piped_or_json():
    from sensorback.cli._progress import interactive

    assert interactive(json_output=True) is False
    assert interactive() is False  # pytest captures stdout and stderr: not a terminal


@pytest.mark.parametrize("sig,code,said", [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated (SIGTERM)"),
                                           ("SIGHUP", 129, "terminated (SIGHUP)")])
def test_ctrl_c_and_kill_exit_with_a_message_and_leave_no_file(tmp_path, sig, code, said):
    """Ctrl-C, and a kill (a batch queue's time limit, a closed terminal), clean up the same way."""
    import signal

    from sensorback import formats
    from sensorback.samples import SampleBlock

    n = 8 * 3600 * 50  # a working day at 50 Hz: writing it as CSV takes seconds
    rng = np.random.default_rng(0)
    block = SampleBlock(t=np.arange(n) / 50.0, acc=rng.normal(0, 0.3, (n, 3)), device="test", rate_hz=50.0,
                        meta={"firmware": 7})  # metadata CSV cannot keep: the writer warns
    src, dst = tmp_path / "day.sbr", tmp_path / "day.csv.gz"
    formats.save(block, src)
    p = subprocess.Popen([installed_script(), "convert", str(src), str(dst)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        # The CSV writer's note comes just before the long write: interrupt after it.
        first = p.stderr.readline()
        assert first.startswith("warning: "), first
        p.send_signal(getattr(signal, sig))
        out, err = p.communicate(timeout=DEADLINE_S)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == code, (out, err)
    assert err == f"{said} while writing {dst}\n"  # what it stopped: the progress line's label
    assert "Traceback" not in out + err
    assert sorted(q.name for q in tmp_path.iterdir()) == ["day.sbr"]  # no output, no temp file


#: What the console script runs (`from sensorback.cli import main; sys.exit(main())`), and `python -m
#: sensorback`, each after PROLOGUE (the test's stand-in for what a user's machine does at that moment).
ENTRIES = {"console-script": "import sys\nfrom sensorback.cli import main\nsys.exit(main())\n",
           "python-m": "import runpy\nrunpy.run_module('sensorback', run_name='__main__', alter_sys=True)\n"}


STALL = (  # the load stops at one of the command line's modules until the Ctrl-C
    "import signal, sys\n"
    "class Stall:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'sensorback.cli._app':\n"
    "            print('loading', flush=True)\n"
    "            signal.pause()\n"
    "sys.meta_path.insert(0, Stall())\n")


@pytest.mark.parametrize("entry", ENTRIES)
def test_ctrl_c_while_the_command_line_loads_is_one_line(tmp_path, entry):
    """Ctrl-C in the tenths of a second the command line takes to load (on a slow or cold disk,
    longer), before it handles Ctrl-C itself, printed a KeyboardInterrupt traceback: it is
    'interrupted', exit 130, like any other."""
    cmd = [sys.executable, "-c", STALL + ENTRIES[entry], "convert", str(DEMO_SBR), str(tmp_path / "day.csv")]
    ran = signalled_at(cmd, lambda line: line == "loading", signal.SIGINT, "the command line loading")
    assert (ran.returncode, ran.err) == (130, "interrupted\n"), ran.err
    assert ran.lines == ["loading"] and list(tmp_path.iterdir()) == []


def test_ctrl_c_while_a_program_imports_the_command_line_is_its_keyboard_interrupt():
    """The command line's handling of a Ctrl-C while it loads ran when the package was imported: a
    library or a REPL importing sensorback.cli got SystemExit(130) and 'interrupted' on stderr for a
    Ctrl-C there. Now only the entry point (main) ends the process; an import raises
    KeyboardInterrupt, as any import does, and the program goes on."""
    library = (STALL + "try:\n    from sensorback.cli import app\n"
               "except KeyboardInterrupt:\n    print('KeyboardInterrupt', flush=True)\n"
               "import sensorback.cli\nprint('going on', 'main' in dir(sensorback.cli), flush=True)\n")
    ran = signalled_at([sys.executable, "-c", library], lambda line: line == "loading", signal.SIGINT,
                       "the command line loading")
    assert (ran.returncode, ran.err) == (0, ""), ran.err
    assert ran.lines == ["loading", "KeyboardInterrupt", "going on True"]


def test_dir_of_the_command_line_package_lists_app_without_loading_it():
    """``app`` is a property of the package's module class (it loads the command line when asked
    for), so dir(sensorback.cli) left it out, and tab completion in a REPL did not offer it. dir()
    lists it now, and listing it loads nothing."""
    probe = ("import sys, sensorback.cli as cli\n"
             "names = dir(cli)\n"
             "print('app' in names, 'main' in names, names == sorted(names), 'sensorback.cli.app' in sys.modules)\n"
             "import typer\n"
             "print(isinstance(cli.app, typer.Typer))\n")
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=DEADLINE_S)
    assert (ran.returncode, ran.stderr) == (0, ""), ran.stderr
    assert ran.stdout.splitlines() == ["True True True False", "True"]


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_second_ctrl_c_while_the_first_is_said_changes_nothing(tmp_path, entry):
    """Ctrl-C pressed twice (or sent twice: by the terminal and by a wrapper that passes it on): the
    second one, coming while the command said 'interrupted', raised a KeyboardInterrupt there, with a
    traceback of both. Once the command is stopping, a further Ctrl-C has nothing left to stop."""
    twice = (  # the second Ctrl-C comes exactly while the first one is said
        "import os, signal, sys\n"
        "class Twice:\n"
        "    def __init__(self, stream):\n"
        "        self.stream = stream\n"
        "    def write(self, text):\n"
        "        if text.startswith('interrupted'):\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return self.stream.write(text)\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(self.stream, name)\n"
        "sys.stderr = Twice(sys.stderr)\n")
    from sensorback import formats
    from sensorback.samples import SampleBlock

    n = 8 * 3600 * 50  # a working day at 50 Hz: writing it as CSV takes seconds
    block = SampleBlock(t=np.arange(n) / 50.0, acc=np.random.default_rng(0).normal(0, 0.3, (n, 3)), device="test",
                        rate_hz=50.0, meta={"firmware": 7})  # metadata CSV cannot keep: the writer warns
    src, dst = tmp_path / "day.sbr", tmp_path / "day.csv.gz"
    formats.save(block, src)
    p = subprocess.Popen([sys.executable, "-c", twice + ENTRIES[entry], "convert", str(src), str(dst)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        first = p.stderr.readline()  # the CSV writer's note comes just before the long write
        assert first.startswith("warning: "), first
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=DEADLINE_S)
    finally:
        if p.poll() is None:
            p.kill()
    assert (p.returncode, err) == (130, f"interrupted while writing {dst}\n"), err
    assert sorted(q.name for q in tmp_path.iterdir()) == ["day.sbr"]  # no output, no temp file


@pytest.mark.parametrize("args", [["--help"], ["analyze", "--help"], ["analyze", WAIST, "--json"],
                                  ["analyze", WAIST], ["exercises"], ["analyze", "missing.csv"]],
                         ids=["help", "command-help", "json", "summary", "exercises", "error-line"])
def test_a_reader_that_has_gone_ends_the_command_quietly(args):
    """Output into a pipe whose reader has gone (its read end closed before the command starts, so
    every write fails): exit 141 (128 + SIGPIPE, as cat or grep end there) and not a word; it was
    exit 1, from typer, without a word. With stderr on the same pipe ('2>&1 | head'), the error
    line it cannot say ends it the same way."""
    read, write = os.pipe()
    os.close(read)
    try:
        p = subprocess.run([installed_script(), *map(str, args)], stdout=write,
                           stderr=write if args[-1] == "missing.csv" else subprocess.PIPE,
                           stdin=subprocess.DEVNULL, text=True, timeout=DEADLINE_S)
    finally:
        os.close(write)
    assert p.returncode == 141, p.stderr
    assert not p.stderr  # no traceback, no 'Exception ignored ... BrokenPipeError' at exit


def test_a_reader_that_stops_early_ends_the_command_quietly_and_cleans_up(tmp_path):
    """'sensorback analyze long.sbr --epochs /dev/stdout | head -c 10': the epochs table (14,400
    rows, far more than a pipe holds) meets the closed pipe; exit 141, nothing on stderr."""
    from sensorback import formats
    from sensorback.samples import SampleBlock

    n = 4 * 3600 * 25
    rng = np.random.default_rng(1)
    block = SampleBlock(t=np.arange(n) / 25.0, acc=rng.normal(0, 0.3, (n, 3)) + [0.0, 0.0, 1.0], device="test",
                        rate_hz=25.0)
    formats.save(block, tmp_path / "long.sbr")
    cmd = subprocess.Popen([installed_script(), "analyze", "long.sbr", "--epochs", "/dev/stdout"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    head = subprocess.Popen(["head", "-c", "10"], stdin=cmd.stdout, stdout=subprocess.PIPE)
    cmd.stdout.close()  # head holds the only read end
    try:
        first, _ = head.communicate(timeout=DEADLINE_S)
        _, err = cmd.communicate(timeout=DEADLINE_S)
    finally:
        for p in (cmd, head):
            if p.poll() is None:
                p.kill()
    assert first == HEADER.encode()[:10]
    assert cmd.returncode == 141 and err == b"", err.decode()
    assert sorted(q.name for q in tmp_path.iterdir()) == ["long.sbr"]  # nothing left behind


def test_a_stand_window_is_told_standing_and_shown_in_the_calibration_notes(tmp_path):
    """--stand-window: the seconds it marks (HAPT exp01: standing 5-24 s, sitting 28-43 s) are
    standing, the calibration notes how far the standing lies from the upright reference, and the
    JSON options name it."""
    epochs = tmp_path / "e.csv"
    r = run("analyze", WAIST, "--reference-window", "30:40", "--stand-window", "6:20", "--json", "--epochs", epochs)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["options"]["stand_window"] == [6.0, 20.0]
    assert any(n.startswith("standing: window 6:20 s") for n in out["calibration"])
    rows = [line.split(",") for line in epochs.read_text().splitlines()[1:]]
    told = [row[2] for row in rows if 6.0 <= float(row[0]) and float(row[1]) <= 20.0]
    assert len(told) == 14 and set(told) == {"standing"}
