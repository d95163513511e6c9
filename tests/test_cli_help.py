"""--help speaks the user's language on every command (metavars, no Python types), each option's help
is about its own command, and shell completion works."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from sensorback.cli import app

runner = CliRunner()
PY_TYPE = re.compile(r"<(?:int|str|float|bool|path|Path|list\[[^>]*\]|[a-z]+\[[^>]*\])>")


def command_paths(cmd=None, path=()):
    cmd = cmd or typer.main.get_command(app)
    yield path
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from command_paths(sub, (*path, name))


PATHS = list(command_paths())


def help_of(*path: str) -> str:
    r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "sensorback")
def test_help_shows_no_python_types(path):
    text = help_of(*path)
    assert not PY_TYPE.findall(text), PY_TYPE.findall(text)


def test_every_command_is_checked():
    names = {" ".join(p) for p in PATHS}
    assert {"analyze", "replay", "monitor", "log exercise", "log pain", "config set", "exercises show"} <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "sensorback")
def test_usage_lines_read_cleanly(path):
    usage = help_of(*path).splitlines()[0]
    assert usage.startswith("Usage: sensorback") and not re.search(r"[{}]|\.\.\.\.\.\.", usage), usage


def test_arguments_show_their_metavars():
    analyze = help_of("analyze")
    assert analyze.splitlines()[0] == "Usage: sensorback analyze [OPTIONS] FILE..."
    assert re.search(r"^\s+FILE\.\.\.\s+Recordings to analyze", analyze, re.M)
    assert help_of("cohort").splitlines()[0] == "Usage: sensorback cohort [OPTIONS] INPUTS..."
    assert help_of("config", "set").splitlines()[0] == "Usage: sensorback config set [OPTIONS] KEY VALUE"
    assert re.search(r"^\s+NAME\s+The exercise", help_of("log", "exercise"), re.M)
    assert re.search(r"^\s+--seed N\s", help_of("monitor"), re.M)


def test_required_stays_with_the_option_not_the_last_line_of_a_list():
    from sensorback.sim import SCENARIOS

    lines = help_of("simulate").splitlines()
    scenario = next(ln for ln in lines if ln.lstrip().startswith("--scenario NAME"))
    assert scenario.rstrip().endswith("one of:  [required]")
    last = next(ln for ln in lines if ln.strip().startswith(list(SCENARIOS)[-1] + " "))
    assert "[required]" not in last
    assert re.search(r"^\s+--out FILE\s+Recording to write .*\[required\]$", "\n".join(lines), re.M)


LEAVES = [("exercises", "list"), ("exercises", "show"), ("config", "show"), ("config", "set"), ("config", "path"),
          ("log", "exercise"), ("log", "pain")]


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_the_coach_and_log_commands_each_have_their_own_examples(path):
    """Only their groups had examples; each command's own --help now shows how to call it, in
    the block every command's examples are in (kept as written, two spaces in)."""
    assert set(LEAVES) <= set(PATHS)
    _, _, examples = help_of(*path).partition("\n  Examples:\n\n")
    lines = examples.split("\n\n")[0].splitlines()
    command = f"sensorback {' '.join(path)}"
    assert len(lines) >= 2 and all(line.startswith("    ") for line in lines), examples
    assert all(command in line for line in lines), lines


def test_config_set_help_lists_every_setting_with_its_default_and_meaning():
    """Generated from the settings themselves (what 'config show' says): every key, its default
    and its describe() line, in the order of 'config show'."""
    from sensorback.coach.config import format_value
    from sensorback.coach.settings import KEYS, CoachSettings, describe

    text = help_of("config", "set")
    assert "{settings}" not in text
    flat = " ".join(text.split())
    defaults = CoachSettings()
    where = []
    for key in KEYS:
        entry = f"{key} (default {format_value(getattr(defaults, key))}) {describe(key)}"
        assert entry in flat, entry
        where.append(flat.index(entry))
    assert where == sorted(where)
    assert re.search(r"^    sit_limit_min \(default 30\)$", text, re.M)
    assert max(len(line) for line in text.splitlines()) <= 100


def test_log_pain_help_gives_the_warning_sign_thresholds_of_the_rules():
    from sensorback.report.redflags import HIGH_PAIN, PERSIST_DAYS

    flat = " ".join(help_of("log", "pain").split())
    assert f"pain of {HIGH_PAIN} or more (now, or for {PERSIST_DAYS // 7} weeks running)" in flat
    assert "{high}" not in flat and "{weeks}" not in flat


def test_config_show_set_says_what_it_does_there():
    text = " ".join(help_of("config", "show").split())
    assert "--set KEY=VALUE Show the settings as a command given this --set would use them" in text
    assert "see 'sensorback config show'" not in text
    # elsewhere --set still points to where the settings are listed
    assert "see 'sensorback config show'" in " ".join(help_of("replay").split())


def test_shell_completion_is_on():
    root = help_of()
    assert "--install-completion" in root and "--show-completion" in root
    env = dict(os.environ, _SENSORBACK_COMPLETE="complete_bash", COMP_WORDS="sensorback rep", COMP_CWORD="1")
    cmd = [sys.executable, "-c", "from sensorback.cli import main; main()"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == {"replay", "report"}
    env.update(COMP_WORDS="sensorback report --w", COMP_CWORD="2")
    assert subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120).stdout.split() == ["--week"]
    # --show-completion takes no shell name: it looks for the shell among its parent processes
    # (shellingham). So it runs under bash, as a user's would; run in-process it passed or failed
    # with whatever started the test run (a detached runner has no shell above it).
    bash = shutil.which("bash")
    assert bash, "the completion script is for bash: bash must be installed"
    shown = subprocess.run([bash, "-c", f'"{sys.executable}" -c "from sensorback.cli import main; main()" '
                                         "--show-completion; exit $?"],
                           env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "_sensorback_completion" in shown.stdout and "complete_bash" in shown.stdout


def test_cohort_help_lists_exactly_the_inputs_it_accepts():
    from sensorback.formats import EXTENSIONS

    text = " ".join(help_of("cohort").split())
    listed = re.search(r"INPUTS\.\.\. Recordings \(([^)]*)\)", text).group(1).split(", ")
    assert listed == list(EXTENSIONS) and ".csv.gz" in listed


def test_simulate_help_gives_the_duration_range_the_simulator_accepts():
    from sensorback.sim import duration_range

    text = " ".join(help_of("simulate").split())
    assert duration_range() == "1 s to 7 days"
    assert f"--duration S Length, {duration_range()}, in seconds" in text


def test_analyze_report_and_cohort_help_say_seated_for_sitting_and_slouching_together():
    """'sitting' is the state alone; what counts sitting and slouching together is 'seated' (cohort's
    help still said 'sitting bouts' for its seated_bouts column)."""
    flat = {name: " ".join(help_of(name).split()) for name in ("analyze", "report", "cohort")}
    assert "seated time and bouts" in flat["analyze"] and "sitting bouts" not in flat["analyze"]
    assert "seated bouts (sitting and slouching)" in flat["cohort"] and "sitting bouts" not in flat["cohort"]
    assert flat["report"].startswith("Usage: sensorback report [OPTIONS] Seated time, breaks, slouching")
    assert "neither seated time nor a break" in flat["report"] and "neither sitting" not in flat["report"]


@pytest.mark.parametrize("command, argument", [("analyze", "FILE..."), ("replay", "FILE"), ("convert", "IN")])
def test_every_command_reading_a_recording_names_the_formats_it_reads(command, argument):
    """replay and convert read .cwa and .gt3x as analyze does; their help said .sbr and CSV only
    (replay), or nothing (convert)."""
    text = " ".join(help_of(command).split())
    assert f"{argument} Recording" in text
    assert re.search(rf"{re.escape(argument)} Recordings? [^.]*\(\.sbr, \.csv, \.csv\.gz, \.cwa, \.gt3x\)", text)
