"""sensorback log exercise / log pain: what is stored, what is said, and one-line errors."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from sensorback.cli import app
from sensorback.report import build_report, load_rows
from sensorback.store import open_store
from cli_checks import one_line_error

runner = CliRunner()
SHARP = "Stop any exercise that causes sharp pain."
WHEN = "2024-03-01T10:00:00Z"
AT = datetime(2024, 3, 1, 10, 0, tzinfo=timezone.utc)
ALL_TIME = (datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc))


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "log.db")


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def stored(db: str):
    with open_store(db) as store:
        return store.exercises(*ALL_TIME), store.pain_checkins(*ALL_TIME)


# ----------------------------------------------------------------------------------- exercise

@pytest.mark.parametrize("name, key", [("cat-cow", "cat-cow"), ("Childs Pose", "childs-pose"),
                                       ("child's pose", "childs-pose"), ("hamstring", "standing-hamstring-stretch"),
                                       ("Dead bug", "dead-bugs")])
def test_log_exercise_forgiving_names(db, name, key):
    r = run("log", "exercise", name, "--at", WHEN, "--db", db)
    assert r.exit_code == 0, r.output
    (ex,), _ = stored(db)
    assert (ex.name, ex.source, ex.at) == (key, "manual", AT)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Logged ") and lines[-1] == SHARP
    # the week of the logged day, said so (not this week's count, which the session is not part of);
    # the local day: 10:00 UTC is 2 March at UTC+14 (Pacific/Kiritimati), 29 February at UTC-11
    assert f"Exercise sessions in the 7 days ending {AT.astimezone().date().isoformat()}: 1 of 3." in r.stdout


def test_log_exercise_counts_the_week_of_the_logged_day(db):
    for at in ("2024-03-04 12:00", "2024-03-02 09:00", "2024-02-20 09:00"):  # the last is 13 days before
        r = run("log", "exercise", "plank", "--at", at, "--db", db)
        assert r.exit_code == 0, r.output
    assert "Exercise sessions in the 7 days ending 2024-02-20: 1 of 3." in r.stdout
    r = run("log", "exercise", "bridges", "--at", "2024-03-05 08:00", "--db", db)
    assert "Exercise sessions in the 7 days ending 2024-03-05: 3 (goal 3 a week - reached)." in r.stdout
    r = run("log", "exercise", "bridges", "--db", db)  # today: this week, which holds none of the above
    assert "Exercise sessions in the last 7 days: 1 of 3." in r.stdout


def test_log_exercise_counts_sessions_toward_the_goal(db):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for hours_ago in (50, 49.5, 26):   # the first two are one session
        t = (now - timedelta(hours=hours_ago)).isoformat()
        assert run("log", "exercise", "plank", "--at", t, "--db", db).exit_code == 0
    r = run("log", "exercise", "bridges", "--db", db)
    assert r.exit_code == 0, r.output
    assert "Exercise sessions in the last 7 days: 3 (goal 3 a week - reached)." in r.stdout


def test_log_exercise_reads_the_clock_once(db, monkeypatch):
    """An exercise logged now is this week's, whatever the clock does meanwhile: the clock was read
    for the time logged and again for 'today' of the goal line, and logged a hair before midnight
    it said 'the 7 days ending' on the day before (the day just ended), as if it were long ago."""
    import sensorback.cli.report_cmds as report_cmds
    import sensorback.report.when as when

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    ticks = [datetime(2026, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc),
             datetime(2027, 1, 1, 0, 0, 0, 1000, tzinfo=timezone.utc)]  # each reading: the next (then the last)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return (ticks.pop(0) if len(ticks) > 1 else ticks[0]).astimezone(tz)

    try:
        monkeypatch.setattr(report_cmds, "datetime", Clock)
        monkeypatch.setattr(when, "datetime", Clock)
        r = run("log", "exercise", "plank", "--db", db)
        assert r.exit_code == 0, r.output
        (ex,), _ = stored(db)
        assert ex.at == datetime(2026, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc)
        assert "Logged Plank at 2026-12-31 23:59." in r.stdout
        assert "Exercise sessions in the last 7 days: 1 of 3." in r.stdout
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("name", ["catcowx", "yoga"])
def test_unknown_exercise_is_one_line_with_suggestions(db, name):
    r = run("log", "exercise", name, "--db", db)
    one_line_error(r, "unknown exercise")
    assert "did you mean" in r.stderr or "choose one of" in r.stderr


@pytest.mark.parametrize("name, listed", [
    ("s", "(seated-forward-bend, standing-hamstring-stretch, hip-flexor-stretch, leg-swings, childs-pose and 6 more)"),
    ("stretch", "(hip-flexor-stretch, standing-hamstring-stretch)"),
])
def test_an_ambiguous_part_of_a_name_says_so_and_lists_the_matches(db, name, listed):
    """It said "unknown exercise 's'", as if no exercise had an s; nothing is logged."""
    r = run("log", "exercise", name, "--db", db)
    one_line_error(r, f"exercise name '{name}' is ambiguous: it matches", listed, "type more of the name")
    assert "unknown" not in r.stderr
    assert not os.path.exists(db)  # refused before the database is opened


# --------------------------------------------------------------------------------------- pain

def test_log_pain_stores_the_answers(db):
    r = run("log", "pain", "4", "--radiating", "--note", "after the drive", "--at", WHEN, "--db", db)
    assert r.exit_code == 0, r.output
    _, (c,) = stored(db)
    assert (c.score, c.at, c.note) == (4, AT, "after the drive")
    assert (c.radiating, c.numbness, c.fever, c.bladder, c.weight_loss) == (True, False, False, False, False)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Logged pain 4/10") and "(radiating)" in lines[0]
    assert lines[1].startswith("! Pain shooting down a leg")
    assert "cannot tell what causes your pain" in r.stdout
    assert "sensorback exercises" not in r.stdout   # no exercise suggestions when a doctor is advised


def test_urgent_comes_first(db):
    r = run("log", "pain", "8", "--numbness", "--fever", "--weight-loss", "--bladder", "--db", db)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[1].startswith("! URGENT") and "now" in lines[1]
    assert [l[:12] for l in lines[2:5]] == ["! Fever or c", "! Losing wei", "! Numbness o"]
    assert lines[5].startswith("- 8/10 is a lot of pain")


def test_plain_pain_gets_gentle_exercise_with_the_sharp_pain_rule(db):
    r = run("log", "pain", "3", "--db", db)
    assert r.exit_code == 0, r.output
    assert "!" not in r.stdout and "sensorback exercises" in r.stdout and SHARP in r.stdout
    r = run("log", "pain", "0", "--db", db)
    assert r.exit_code == 0 and r.stdout.strip().startswith("Logged pain 0/10") and len(r.stdout.splitlines()) == 1
    r = run("log", "pain", "6", "--db", db)
    assert "- 6/10 is a lot of pain" in r.stdout and SHARP in r.stdout


def test_pain_persisting_for_weeks_is_a_reminder(db):
    now = datetime.now(timezone.utc)
    with open_store(db) as store:
        for days_ago, score in [(40, 3), (29, 6), (21, 7), (14, 6), (7, 8)]:
            store.add_pain_checkin(now - timedelta(days=days_ago), score)
    r = run("log", "pain", "7", "--db", db)
    assert r.exit_code == 0, r.output
    assert "pain of 6/10 or more for about 4 weeks" in r.stdout
    assert "please see a doctor or physiotherapist" in r.stdout
    # a lower score ends the run
    r = run("log", "pain", "2", "--db", db)
    assert "weeks" not in r.stdout


@pytest.mark.parametrize("score", ["11", "-1", "x", "3.5", "", "10x"])
def test_bad_score_is_one_line_and_nothing_is_stored(db, score):
    one_line_error(run("log", "pain", score, "--db", db), "SCORE", "0 (none) to 10")
    assert not __import__("os").path.exists(db) or stored(db)[1] == []


@pytest.mark.parametrize("at, fragment", [("2999-01-01 10:00", "in the future"), ("noon", "expected a time"),
                                          ("25:61", "not a time of day")])
def test_bad_time_is_one_line(db, at, fragment):
    one_line_error(run("log", "pain", "3", "--at", at, "--db", db), "--at", fragment)
    one_line_error(run("log", "exercise", "cat-cow", "--at", at, "--db", db), "--at", fragment)


def test_missing_database_folder_is_one_line_and_not_created(tmp_path):
    target = tmp_path / "no" / "such" / "back.db"
    missing = f"--db: there is no folder {target.parent} (create it first)"
    one_line_error(run("log", "pain", "3", "--db", target), missing)
    one_line_error(run("log", "exercise", "plank", "--db", target), missing)
    assert not (tmp_path / "no").exists()


def test_default_database_is_created_in_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SENSORBACK_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    r = run("log", "pain", "2")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "data" / "sensorback" / "sensorback.db").exists()


def test_unknown_flag_is_one_line(db):
    one_line_error(run("log", "pain", "3", "--radating", "--db", db), "No such option: --radating")
    # beside a negative score, the unknown flag is still what is reported
    one_line_error(run("log", "pain", "-1", "--radating", "--db", db), "No such option: --radating")


def test_log_shows_in_the_report(db):
    # one named day throughout (logging "now" and reporting "today" disagree across midnight)
    assert run("log", "pain", "5", "--numbness", "--at", "2024-05-03 11:00", "--db", db).exit_code == 0
    assert run("log", "exercise", "bridges", "--at", "2024-05-03 11:05", "--db", db).exit_code == 0
    r = run("report", "--day", "2024-05-03", "--db", db)
    assert r.exit_code == 0, r.output
    flat = " ".join(r.stdout.split())
    assert "1 of 3 sessions" in flat and "Bridges" in flat and "5/10 (numbness)" in flat
    assert "Numbness or pins and needles" in flat and SHARP in flat


def test_log_pain_judges_the_reports_local_days(db, monkeypatch):
    """log pain looks at the same 42 local days as the report of that day (redflags.history_start),
    not at 42 times 24 hours before the check-in: a 7/10 at 10:00 on 24 September, the day before
    the report's first, is no part of the run, so neither says the pain has lasted weeks."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        with open_store(db) as store:
            store.add_pain_checkin(datetime(2024, 9, 24, 8, 0, tzinfo=timezone.utc), 7)   # 10:00 summer time
        r = run("log", "pain", "7", "--at", "2024-11-05 08:00", "--db", db)
        assert r.exit_code == 0, r.output
        said = [line[2:] for line in r.stdout.splitlines() if line[:2] in ("! ", "- ")]
        with open_store(db) as store:
            report = build_report(load_rows(store, date(2024, 11, 5), date(2024, 11, 5)),
                                  now=datetime(2024, 11, 6, tzinfo=timezone.utc))
        assert said == [f.message for f in report.flags] == ["7/10 is a lot of pain. If it stays this high, or "
                                                              "stops you doing everyday things, ask a doctor or "
                                                              "physiotherapist for advice."]
    finally:
        monkeypatch.undo()
        time.tzset()
