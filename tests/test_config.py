"""CoachSettings, the config file and 'sensorback config'. Never touches the real user config."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensorback.cli import app
from sensorback.cli.coach_cmds import coach_settings, parse_set_flags
from sensorback.coach import CoachSettings, config
from sensorback.coach.settings import KEYS, parse_value
from sensorback.errors import SensorbackError
from cli_checks import one_line_error

runner = CliRunner()


@pytest.fixture
def cfg(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    monkeypatch.setenv(config.ENV_VAR, str(path))
    return path


def run(*args: str):
    return runner.invoke(app, list(args))


# ------------------------------------------------------------------------------------ settings


def test_defaults_are_the_documented_ones():
    s = CoachSettings()
    assert (s.sit_limit_min, s.reprompt_min, s.break_min_s, s.heed_window_min, s.slouch_delay_s,
            s.slouch_cooldown_min) == (30, 10, 60, 5, 60, 10)
    assert s.break_prompts and s.slouch_nudges
    assert isinstance(CoachSettings(sit_limit_min=45).sit_limit_min, float)


@pytest.mark.parametrize("key,value,fragment", [
    ("sit_limit_min", 0, "above 0"), ("reprompt_min", -1, "above 0"), ("break_min_s", float("nan"), "break_min_s"),
    ("slouch_delay_s", -0.5, "at least 0"), ("sit_limit_min", 5000, "at most 1440"),
    ("sit_limit_min", "30", "number of minutes"), ("break_min_s", True, "number of seconds"),
    ("break_prompts", 1, "true or false"), ("slouch_budget_min", 61, "slouch_window_min"),
])
def test_bad_values_are_one_line_errors_naming_the_key(key, value, fragment):
    with pytest.raises(SensorbackError) as err:
        CoachSettings(**{key: value})
    assert str(err.value).startswith(key) and fragment in str(err.value)


def test_parse_value_from_text():
    assert parse_value("sit_limit_min", " 45 ") == 45.0
    assert parse_value("break_min_s", "1.5") == 1.5
    assert parse_value("slouch_nudges", "off") is False and parse_value("break_prompts", "True") is True
    with pytest.raises(SensorbackError, match="sit_limit_min: must be a number of minutes, got 'abc'"):
        parse_value("sit_limit_min", "abc")
    with pytest.raises(SensorbackError, match="got '0'"):
        parse_value("sit_limit_min", "0")
    with pytest.raises(SensorbackError, match="unknown setting 'sit_limit'; did you mean sit_limit_min"):
        parse_value("sit_limit", "3")


# ------------------------------------------------------------------------------------ file


def test_no_file_means_defaults(cfg):
    assert not cfg.exists()
    assert config.read_config() == {}
    assert config.load_settings() == CoachSettings()


def test_default_location_is_the_user_config_dir(monkeypatch):
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    import platformdirs

    assert config.config_path() == Path(platformdirs.user_config_dir("sensorback", appauthor=False)) / "config.toml"


def test_file_values_and_overrides(cfg):
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("# mine\nsit_limit_min = 45\nslouch_nudges = false\nbreak_min_s = 90.5\n")
    s = config.load_settings()
    assert (s.sit_limit_min, s.slouch_nudges, s.break_min_s) == (45.0, False, 90.5)
    s = config.load_settings(overrides={"sit_limit_min": "20", "reprompt_min": 4})
    assert (s.sit_limit_min, s.reprompt_min, s.slouch_nudges) == (20.0, 4.0, False)
    with pytest.raises(SensorbackError, match="unknown setting 'nope'"):
        config.load_settings(overrides={"nope": "1"})


@pytest.mark.parametrize("text,where,fragments", [
    ("sit_limit_min = \n", "", ["not a valid TOML file", "line 1"]),
    ("sit_limit_min = 30\nsit_limit_min = 40\n", "", ["not a valid TOML file"]),
    ("sitlimit = 30\n", ":1", ["sitlimit", "unknown setting"]),
    ("# mine\n\nsit_limit_min = 'thirty'\n", ":3", ["sit_limit_min: must be a number of minutes, got 'thirty'"]),
    ("reprompt_min = 5\n  'sit_limit_min' = -3  # no\n", ":2", ["sit_limit_min: must be above 0"]),
    ("break_prompts = 1\n", ":1", ["break_prompts: must be true or false"]),
    ("# mine\nsit_limit_min = 30\n\n[coach]\nsnooze_min = 3\n", ":4", ["[coach]", "sections are not used"]),
    ("# mine\n[[coach]]\nsnooze_min = 3\n", ":2", ["[coach]", "sections are not used"]),
    ("reprompt_min = 5\ncoach.snooze_min = 3\n", ":2", ["[coach]", "sections are not used"]),
    ("# mine\nsit_limit_min = \"45\"\n", ":2", ["sit_limit_min: '45' is a quoted string, not a number of minutes; "
                                              "write it without quotes: sit_limit_min = 45"]),
    ("slouch_nudges = 'false'\n", ":1", ["slouch_nudges: 'false' is a quoted string, not true or false; write it "
                                        "without quotes: slouch_nudges = false"]),
    ("slouch_budget_min = 30\nslouch_window_min = 20\n", "", ["slouch_budget_min (30 min) must not exceed "
                                                               "slouch_window_min (20 min)"]),
])
def test_broken_files_are_one_line_errors_naming_the_file(cfg, text, where, fragments):
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)
    with pytest.raises(SensorbackError) as err:
        config.load_settings()
    message = str(err.value)
    # file, then the line of the key whose value is wrong (where one key is to blame)
    assert message.startswith(f"{cfg}{where}: ") and "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_non_utf8_and_unreadable_files(cfg):
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_bytes(b"sit_limit_min = 30 # \xff\n")
    with pytest.raises(SensorbackError, match="not UTF-8"):
        config.read_config()
    cfg.unlink()
    cfg.mkdir()  # a directory where the file should be
    with pytest.raises(SensorbackError, match="cannot read the config file"):
        config.read_config()


def test_set_creates_the_file_and_keeps_other_lines_and_comments(cfg):
    path, value = config.set_value("sit_limit_min", "45")
    assert path == cfg and value == 45.0
    assert tomllib.loads(cfg.read_text()) == {"sit_limit_min": 45}
    cfg.write_text(cfg.read_text() + "\n# nudges annoy me\nslouch_nudges = false  # for now\n")
    config.set_value("slouch_nudges", "true")
    config.set_value("sit_limit_min", "50.5")
    config.set_value("break_min_s", "90")
    text = cfg.read_text()
    assert "# nudges annoy me\n" in text and "slouch_nudges = true  # for now\n" in text
    assert text.count("sit_limit_min") == 1 and text.endswith("break_min_s = 90\n")
    assert config.read_config() == {"sit_limit_min": 50.5, "slouch_nudges": True, "break_min_s": 90}
    path, value = config.set_value("sit_limit_min", "default")
    assert value == 30.0 and "sit_limit_min" not in cfg.read_text()
    assert config.load_settings().sit_limit_min == 30.0


def test_set_into_a_missing_folder_the_user_named_is_refused(tmp_path, monkeypatch):
    """$SENSORBACK_CONFIG (or $SENSORBACK_CALIBRATIONS) naming a folder that does not exist is a typo
    to show, not a folder to create (sensorback creates only its own default folders, as for --db)."""
    monkeypatch.setenv(config.ENV_VAR, str(tmp_path / "a" / "b" / "config.toml"))
    one_line_error(run("config", "set", "sit_limit_min", "45"),
                   f"$SENSORBACK_CONFIG: there is no folder {tmp_path / 'a' / 'b'} (create it first)")
    monkeypatch.setenv(config.ENV_VAR, str(tmp_path / "config.toml"))
    monkeypatch.setenv("SENSORBACK_CALIBRATIONS", str(tmp_path / "c" / "calibrations.json"))
    one_line_error(runner.invoke(app, ["calibrate", "--demo", "--speed", "1000"]),
                   f"$SENSORBACK_CALIBRATIONS: there is no folder {tmp_path / 'c'} (create it first)")
    one_line_error(runner.invoke(app, ["monitor", "--demo", "--speed", "1000", "--plain"]),
                   f"$SENSORBACK_CALIBRATIONS: there is no folder {tmp_path / 'c'} (create it first)")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_set_refuses_bad_values_and_never_overwrites_a_broken_file(cfg):
    with pytest.raises(SensorbackError, match="unknown setting 'sitlimit'"):
        config.set_value("sitlimit", "3")
    with pytest.raises(SensorbackError, match="reprompt_min: must be above 0"):
        config.set_value("reprompt_min", "0")
    assert not cfg.exists()
    with pytest.raises(SensorbackError, match=r"^slouch_budget_min = 100 not set: slouch_budget_min \(100 min\) must "
                                              r"not exceed slouch_window_min \(60 min\)"):
        config.set_value("slouch_budget_min", "100")
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("sit_limit_min = [1, 2\n")
    with pytest.raises(SensorbackError, match="not a valid TOML file"):
        config.set_value("sit_limit_min", "40")
    assert cfg.read_text() == "sit_limit_min = [1, 2\n"


def test_set_repairs_a_bad_value_of_the_same_key(cfg):
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('# mine\nsit_limit_min = "abc"  # keep me\nreprompt_min = 12\n')
    with pytest.raises(SensorbackError, match=f"^{cfg}:2: sit_limit_min: must be a number of minutes, got 'abc'; "
                                              "'sensorback config set sit_limit_min VALUE' replaces it$"):
        config.set_value("reprompt_min", "5")  # another key: the bad value is reported, the file kept
    assert 'sit_limit_min = "abc"' in cfg.read_text()
    assert config.set_value("sit_limit_min", "20") == (cfg, 20.0)
    assert cfg.read_text() == "# mine\nsit_limit_min = 20  # keep me\nreprompt_min = 12\n"
    cfg.write_text("sit_limit_min = true\n")
    assert config.set_value("sit_limit_min", "default") == (cfg, 30.0)
    assert config.read_config() == {}


def test_set_still_reports_another_bad_key(cfg):
    cfg.parent.mkdir(parents=True, exist_ok=True)
    text = "sit_limit_min = 'abc'\nreprompt_min = 0\n"
    cfg.write_text(text)
    # two bad values: setting either names the other, with no hint that 'config set' alone fixes it
    with pytest.raises(SensorbackError, match=f"^{cfg}:2: reprompt_min: must be above 0 and at most 1440 minutes, got 0$"):
        config.set_value("sit_limit_min", "20")
    with pytest.raises(SensorbackError, match=f"^{cfg}:1: sit_limit_min: must be a number"):
        config.set_value("reprompt_min", "5")
    assert cfg.read_text() == text
    # a cross-key conflict is repaired by setting one of its keys
    cfg.write_text("slouch_budget_min = 30\nslouch_window_min = 20\n")
    config.set_value("slouch_budget_min", "10")
    assert config.read_config() == {"slouch_budget_min": 10, "slouch_window_min": 20}


def test_set_slouch_window_says_what_clashes_and_what_it_means(cfg):
    """'config set slouch_window_min 1' blamed slouch_budget_min ('got 5', a value nobody typed) and
    named the config file, which held neither; the window's help spoke of 'the rolling window of the
    slouch budget'. The error now says the value typed was not set, and both values and why they clash."""
    r = run("config", "set", "slouch_window_min", "1")
    assert one_line_error(r) == ("error: slouch_window_min = 1 not set: slouch_budget_min (5 min) must not exceed "
                                 "slouch_window_min (1 min): a nudge waits for that much slouching within the window, "
                                 "so none could ever come")
    assert not cfg.exists()
    r = run("config", "set", "slouch_window_min", "5")
    assert r.exit_code == 0 and r.stdout == f"slouch_window_min = 5  ({cfg})\n"
    assert config.load_settings().slouch_window_min == 5
    cfg.write_text("slouch_budget_min = 90\nslouch_window_min = 120\n")  # the default window (60) is too short
    r = run("config", "set", "slouch_window_min", "default")
    assert one_line_error(r).startswith("error: slouch_window_min = 60 (default) not set: slouch_budget_min (90 min)")
    assert config.read_config() == {"slouch_budget_min": 90, "slouch_window_min": 120}
    shown = {line.split()[0]: line for line in run("config", "show").stdout.splitlines() if not line.startswith("#")}
    assert shown["slouch_window_min"].endswith("# how far back slouching counts toward slouch_budget_min; at least "
                                               "that long (min, > 0, <= 1440); config file")
    assert "slouching within the last slouch_window_min before a nudge can come" in shown["slouch_budget_min"]


def test_values_round_trip_through_the_file(cfg):
    for key, text in [("sit_limit_min", "0.1"), ("break_min_s", "86400"), ("slouch_clear_s", "0"),
                      ("heed_window_min", "2.75"), ("break_prompts", "no")]:
        _, value = config.set_value(key, text)
        assert config.load_settings().to_dict()[key] == value


def test_show_lines_are_a_valid_config_file(cfg):
    config.set_value("reprompt_min", "12")
    lines = config.show_lines(overrides={"sit_limit_min": "40"})
    assert lines[0] == f"# {cfg}"
    parsed = tomllib.loads("\n".join(lines))
    assert parsed == {**CoachSettings(sit_limit_min=40, reprompt_min=12).to_dict()}
    text = "\n".join(lines)
    assert "; flag" in text and "; config file" in text and "; default" in text
    assert list(parsed) == list(KEYS)


# ------------------------------------------------------------------------------------ CLI


def test_cli_config_path(cfg):
    r = run("config", "path")
    assert r.exit_code == 0 and r.stdout == f"{cfg}\n"


def test_cli_config_show_and_set(cfg):
    r = run("config")
    assert r.exit_code == 0 and "not created yet" in r.stdout and "sit_limit_min = 30" in r.stdout
    r = run("config", "set", "sit_limit_min", "45")
    assert r.exit_code == 0, r.output
    assert r.stdout == f"sit_limit_min = 45  ({cfg})\n"
    r = run("config", "show")
    assert "sit_limit_min = 45" in r.stdout and "config file" in r.stdout
    r = run("config", "show", "--json", "--set", "reprompt_min=5")
    data = json.loads(r.stdout)
    assert data["path"] == str(cfg) and data["sit_limit_min"] == 45 and data["reprompt_min"] == 5
    r = run("config", "set", "sit_limit_min", "default")
    assert r.stdout.startswith("sit_limit_min = 30 (default)")


def test_cli_config_errors_are_one_line(cfg):
    one_line_error(run("config", "set", "sit_limt", "4"), "unknown setting 'sit_limt'", "sit_limit_min")
    one_line_error(run("config", "set", "break_min_s", "soon"), "break_min_s", "number of seconds", "'soon'")
    one_line_error(run("config", "show", "--set", "reprompt_min"), "--set", "KEY=VALUE")
    one_line_error(run("config", "show", "--set", "reprompt_min=0"), "--set reprompt_min", "above 0")
    # the option, then a colon, as other one-line errors: '--set: ...', or '--set KEY: ...' for its value
    assert one_line_error(run("config", "show", "--set", "sit_limt=4")).startswith(
        "error: --set: unknown setting 'sit_limt'; did you mean sit_limit_min")
    assert one_line_error(run("config", "show", "--set", "slouch_budget_min=90")).startswith(
        "error: --set: slouch_budget_min (90 min) must not exceed slouch_window_min (60 min)")
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("sit_limit_min = = 3\n")
    one_line_error(run("config", "show"), str(cfg), "not a valid TOML file")
    one_line_error(run("config", "set", "reprompt_min", "5"), str(cfg), "not a valid TOML file")
    cfg.write_text('sit_limit_min = "abc"\n')
    one_line_error(run("config", "show"), f"{cfg}:1: sit_limit_min: must be a number of minutes, got 'abc'")
    r = run("config", "set", "sit_limit_min", "20")
    assert r.exit_code == 0 and r.stdout == f"sit_limit_min = 20  ({cfg})\n", r.output


@pytest.mark.parametrize("key", KEYS)
def test_cli_config_set_a_negative_number_reaches_the_value_check(cfg, key):
    # click took -1 for an option ("No such option: -1"); it is the value, checked like any other
    one_line_error(run("config", "set", key, "-1"), key, "got '-1'")
    assert not cfg.exists()


def test_cli_config_set_negative_values_are_kept_apart_from_unknown_options(cfg):
    one_line_error(run("config", "set", "sit_limit_min", "-0.5e1"), "sit_limit_min: must be above 0", "'-0.5e1'")
    one_line_error(run("config", "set", "sit_limit_min", "-1", "--bogus"), "No such option: --bogus")
    one_line_error(run("config", "set", "sit_limit_min", "--bogus"), "No such option: --bogus")


def test_set_flags_for_other_commands(cfg):
    assert parse_set_flags(["a=1", " b = 2 "]) == {"a": "1", "b": "2"}
    assert parse_set_flags(None) == {}
    with pytest.raises(SensorbackError, match="--set: expected KEY=VALUE"):
        parse_set_flags(["=3"])
    config.set_value("sit_limit_min", "45")
    s = coach_settings(["reprompt_min=5"])
    assert (s.sit_limit_min, s.reprompt_min) == (45.0, 5.0)
    with pytest.raises(SensorbackError, match="^--set: unknown setting 'x'"):
        coach_settings(["x=1"])
