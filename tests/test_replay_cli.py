"""``sensorback replay``: the command line around sensorback.replay.

The same recording gives the same events file and the same database rows at every --speed; a
simulated desk-day with default settings has prompts, breaks, outcomes and nudges, stored exactly
as the coach says them; replaying again stores nothing twice; every mistake is one line; Ctrl-C
stores what was processed and exits 130.
"""

from __future__ import annotations

import csv
import functools
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sensorback import formats
from sensorback.cli import app
from sensorback.coach import CoachSettings, run_coach
from sensorback.core import analyze
from sensorback.errors import SensorbackError
from sensorback.replay import event_line
from sensorback.store import models, open_store
from cli_checks import one_line_error as assert_one_line_error
from conftest import DEADLINE_S, signalled_at

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "recordings" / "demo.sbr"
HEADER = "t,kind,detail"
# The 12-minute demo gets a nudge (189 s), a prompt (194 s), a snooze (200 s: the prompt's outcome is
# 'snoozed') and a break (378 s) with these.
BUSY = ["--set", "sit_limit_min=2", "--set", "slouch_budget_min=1", "--snooze", "200:3"]

runner = CliRunner()


@pytest.fixture(autouse=True)
def _own_config(tmp_path, monkeypatch):
    """No user config file or database may leak into these tests."""
    monkeypatch.setenv("SENSORBACK_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("SENSORBACK_DB", str(tmp_path / "default.db"))


def run(*args):
    return runner.invoke(app, ["replay", *map(str, args)])


def ok(result):
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def db_rows(url: str) -> dict[str, list[dict]]:
    """Every stored row except ids and wall-clock insertion times."""
    skip = {"id", "session_id", "event_id", "created_at"}
    store = open_store(url)
    out = {}
    try:
        with store.engine.connect() as conn:
            for model, order in ((models.Session, models.Session.id), (models.Epoch, models.Epoch.t_start),
                                 (models.Bout, models.Bout.t_start), (models.Event, models.Event.id)):
                cols = [c for c in model.__table__.columns if c.name not in skip]
                out[model.__tablename__] = [dict(r._mapping) for r in conn.execute(select(*cols).order_by(order))]
    finally:
        store.close()
    return out


def read_events(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------------------ speed invariance


def test_every_speed_gives_the_same_events_and_rows(store_url, tmp_path):
    fast = ok(run(DEMO, "--speed", "max", "--db", store_url, "--events", tmp_path / "max.csv", *BUSY))
    rows_fast = db_rows(store_url)
    start = time.monotonic()
    paced = ok(run(DEMO, "--speed", "2000", "--db", store_url, "--events", tmp_path / "paced.csv", "--replace",
                   *BUSY))
    assert time.monotonic() - start >= 900 / 2000  # it was paced
    rows_paced = db_rows(store_url)

    assert (tmp_path / "max.csv").read_bytes() == (tmp_path / "paced.csv").read_bytes()
    kinds = {r["kind"] for r in read_events(tmp_path / "max.csv")}
    assert kinds == {"break_prompt", "break_verified", "slouch_nudge", "snoozed", "prompt_outcome"}
    assert len(rows_fast["sessions"]) == 1 and len(rows_fast["epochs"]) == 900
    assert rows_paced == rows_fast
    # The same lines were printed, only at other moments.
    printed = [line for line in fast.stdout.splitlines() if line[:2].isdigit()]
    assert printed == [line for line in paced.stdout.splitlines() if line[:2].isdigit()]
    assert printed[:3] == [
        "00:02:44  slouch nudge: slouched for 1 min — sit back, let the shoulders drop and lift the chest a little",
        "00:02:52  break prompt: you have been sitting 2 min — try: torso twists (8 times on each side)",
        "00:03:20  snoozed: next break prompt after 3 min more sitting",
    ]
    assert "replacing session" in paced.stderr


# ------------------------------------------------------------------------------ a desk-day


@pytest.fixture(scope="module")
def desk_day(tmp_path_factory):
    from sensorback.sim import simulate

    # 8 h at 50 Hz; a break before its first sitting resets no clock. From 08:00 local time (plus
    # the seed's minutes), so that the day is one local day in any zone (08:00 UTC is 22:00 at
    # UTC+14 and 17:00 in Tokyo, and the report of its first day then held only part of it)
    block, _ = simulate("desk-day", seed=2, start_time=date(2024, 3, 4))
    path = tmp_path_factory.mktemp("day") / "desk-day.sbr"
    formats.save(block, path)
    return path


def test_desk_day_events_file_and_database(desk_day, tmp_path):
    db = str(tmp_path / "day.db")
    out = tmp_path / "day.events.csv"
    r = ok(run(desk_day, "--db", db, "--events", out))

    block = formats.load(desk_day)
    analysis = analyze(block)
    expected = run_coach(analysis.epochs, CoachSettings())

    assert out.read_text().splitlines()[0] == HEADER
    rows = read_events(out)
    assert [(float(r["t"]), r["kind"], r["detail"]) for r in rows] == [(e.t, e.kind, e.detail) for e in expected]
    kinds = {r["kind"] for r in rows}
    assert kinds >= {"break_prompt", "break_verified", "slouch_nudge", "prompt_outcome"}
    prompts = [e for e in expected if e.kind == "break_prompt"]
    assert prompts and all(e.sitting_s >= 30 * 60 for e in prompts)  # sitting stretches over 30 min

    store = open_store(db)
    try:
        (session,) = store.sessions(0, 2e9)
        assert session.complete and session.calibration == analysis.calibration.to_dict()
        assert session.source == str(desk_day.resolve()) and session.rate_hz == block.rate_hz
        stored = store.epochs(0, 2e9)
        np.testing.assert_array_equal(stored.state, analysis.epochs.state)
        np.testing.assert_allclose(stored.time - block.start_time, analysis.epochs.t_start, atol=1e-6)
        events = store.events(0, 2e9)
        assert [(e.t, e.kind, e.detail, e.outcome, e.exercise) for e in events] == \
            [(e.t, e.kind, e.detail, e.outcome, e.exercise) for e in expected]
    finally:
        store.close()

    # Printed: each prompt, nudge and outcome with its recording time, then the summary.
    printed = [line for line in r.stdout.splitlines() if line[:2].isdigit()]
    shown = [e for e in expected if e.kind in ("break_prompt", "slouch_nudge", "prompt_outcome", "snoozed")]
    assert printed == [event_line(e) for e in shown]
    summary = r.stdout.splitlines()[len(printed):]
    assert summary[0].startswith("replayed 8 h 00 min of desk-day.sbr in ")
    assert f"epochs:  {len(analysis.epochs):,} stored in session {session.id} of {db}" in summary[1]
    assert f"{len(prompts)} break prompts (" in summary[2]
    assert f"events:  {len(expected)} events stored and written to {out}" in summary[3]


def test_snoozes_are_replayed_and_stored(desk_day, tmp_path):
    db = str(tmp_path / "day.db")
    first = run_coach(analyze(formats.load(desk_day)).epochs, CoachSettings())
    prompt = next(e for e in first if e.kind == "break_prompt")
    out = tmp_path / "snoozed.csv"
    ok(run(desk_day, "--db", db, "--events", out, "--snooze", f"{prompt.t + 30:g}:20"))
    rows = read_events(out)
    snoozes = [r for r in rows if r["kind"] == "snoozed"]
    assert len(snoozes) == 1 and float(snoozes[0]["t"]) >= prompt.t + 30
    assert any(r["kind"] == "prompt_outcome" and ": snoozed (" in r["detail"] for r in rows)
    store = open_store(db)
    try:
        assert [e.kind for e in store.events(0, 2e9)] == [r["kind"] for r in rows]
    finally:
        store.close()


def test_an_events_file_named_gz_is_gzip_and_replaced_on_a_rerun(tmp_path):
    """--events day.events.csv.gz wrote plain text under a .gz name (pandas and zcat refuse it);
    it is gzip now, as --epochs OUT.csv.gz is, with the same rows, and private."""
    import gzip
    import stat

    db = str(tmp_path / "gz.db")
    ok(run(DEMO, "--db", db, "--events", tmp_path / "plain.csv", *BUSY))
    packed = tmp_path / "day.events.csv.gz"
    ok(run(DEMO, "--db", db, "--events", packed, *BUSY))
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed.read_bytes()) == (tmp_path / "plain.csv").read_bytes()
    assert stat.S_IMODE(packed.stat().st_mode) == 0o600
    ok(run(DEMO, "--db", db, "--events", packed, *BUSY))  # an earlier events file of its own: replaced
    assert gzip.decompress(packed.read_bytes()) == (tmp_path / "plain.csv").read_bytes()


# ------------------------------------------------------------------------------ re-replay


def test_replaying_again_stores_nothing_twice(tmp_path):
    db = str(tmp_path / "again.db")
    ok(run(DEMO, "--db", db, "--events", tmp_path / "1.csv", *BUSY))
    before = db_rows(db)
    again = ok(run(DEMO, "--db", db, "--events", tmp_path / "2.csv", *BUSY))
    assert db_rows(db) == before
    assert "already in" in again.stderr and "skipped" in again.stderr
    assert "900 processed, none stored: " in again.stdout and "as session 1 (use --replace" in again.stdout
    # The replay itself still runs: same events printed and written.
    assert (tmp_path / "1.csv").read_bytes() == (tmp_path / "2.csv").read_bytes()
    assert "00:02:52  break prompt" in again.stdout


@pytest.mark.skipif(sys.getfilesystemencoding().lower() not in ("utf-8", "utf8") or sys.platform == "darwin",
                    reason="needs a file system that takes names whose bytes are not UTF-8")
def test_a_recording_whose_name_is_not_utf8_is_stored(tmp_path):
    """A Latin-1 file name (b'd\\xe9mo.sbr') ended the replay in a traceback as the session was
    stored (SQLite takes UTF-8 text only); the session's source keeps the name as Python shows it."""
    rec = tmp_path / os.fsdecode(b"d\xe9mo.sbr")
    rec.write_bytes(DEMO.read_bytes())
    db = tmp_path / "back.db"
    sb = [sys.executable, "-m", "sensorback.cli", "replay", str(rec), "--db", str(db)]
    first = subprocess.run(sb, capture_output=True, timeout=DEADLINE_S)
    assert first.returncode == 0 and b"Traceback" not in first.stderr, first.stderr.decode(errors="replace")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT source FROM sessions").fetchall() == [(f"{tmp_path}/d\\xe9mo.sbr",)]
    again = subprocess.run(sb, capture_output=True, timeout=DEADLINE_S)  # known by its content: stored once
    assert again.returncode == 0 and b"already in" in again.stderr, again.stderr.decode(errors="replace")


def test_replay_names_the_day_to_report(tmp_path):
    from datetime import datetime

    db = str(tmp_path / "day.db")
    r = ok(run(DEMO, "--db", db))
    day = datetime.fromtimestamp(formats.load(DEMO).start_time).date().isoformat()  # a local day
    (line,) = [ln for ln in r.stdout.splitlines() if ln.startswith("  report:")]
    assert line == f"  report:  sensorback report --day {day} --db {db}"
    shown = runner.invoke(app, line.split("sensorback ", 1)[1].split())
    assert shown.exit_code == 0 and "No sensor data" not in shown.stdout and "worn in all" in shown.stdout
    again = ok(run(DEMO, "--db", db))  # already stored: it says where it is all the same
    assert line in again.stdout.splitlines()


# ---------------------------------------------------------------- recordings without a start time

WAIST = ROOT / "recordings" / "hapt_waist_exp01_user01.csv.gz"  # real, 412 s at 50 Hz, t in seconds: no start


def sessions(db: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, started_at, start_estimated, ended_at FROM sessions ORDER BY id").fetchall()
    as_utc = lambda text: datetime.fromisoformat(text).replace(tzinfo=timezone.utc)  # noqa: E731
    return [(i, as_utc(a), bool(e), as_utc(b) if b else None) for i, a, e, b in rows]


def test_a_recording_without_a_start_time_ends_now_and_says_so(tmp_path):
    db = str(tmp_path / "nostart.db")
    before = datetime.now(timezone.utc)
    r = ok(run(WAIST, "--db", db))
    after = datetime.now(timezone.utc)
    ((sid, start, estimated, end),) = sessions(db)
    # ends at the replay (its last, partial epoch is not stored), never in the future
    assert estimated and before - timedelta(seconds=1) <= end <= after
    assert 400 <= (end - start).total_seconds() <= 420
    (note,) = r.stderr.splitlines()
    assert note.startswith("note: hapt_waist_exp01_user01.csv.gz has no start time; stored as ending now (")
    assert note.endswith("give its real start with --start 'YYYY-MM-DD HH:MM' --replace")
    # today's report never counts more worn time than the day has had
    shown = runner.invoke(app, ["report", "--db", db, "--json"])
    totals = json.loads(shown.stdout)["totals"]
    assert totals["recorded_s"] <= totals["span_s"]


def test_a_second_recording_without_a_start_time_names_the_overlap(tmp_path):
    db = str(tmp_path / "two.db")
    other = tmp_path / "other.csv"  # the same samples in another file: another recording to the store
    other.write_bytes(gzip.decompress(WAIST.read_bytes()))
    ok(run(WAIST, "--db", db))
    r = ok(run(other, "--db", db))
    first, second = sessions(db)
    assert second[0] == 2 and second[3] <= datetime.now(timezone.utc)
    overlap = [ln for ln in r.stderr.splitlines() if "overlaps" in ln]
    assert len(overlap) == 1 and overlap[0].startswith("note: other.csv (")
    assert ") overlaps session 1 (hapt_waist_exp01_user01.csv.gz, " in overlap[0]
    assert overlap[0].endswith("reports show only this replay; set its real start with --start 'YYYY-MM-DD "
                               "HH:MM' --replace")
    # given its real start, it is stored there (not a guess) and overlaps nothing any more
    fixed = ok(run(other, "--db", db, "--start", "2024-03-05 08:30", "--replace"))
    assert fixed.stderr.splitlines() == [f"{other.resolve()}: replacing session 2 once this replay finishes"]
    (_, start, estimated, end) = sessions(db)[1]
    assert not estimated and start == datetime(2024, 3, 5, 8, 30).astimezone(timezone.utc)
    assert "  report:  sensorback report --day 2024-03-05 --db " + db in fixed.stdout
    shown = runner.invoke(app, ["report", "--day", "2024-03-05", "--db", db])
    assert "worn in all" in shown.stdout and "recorded twice" not in shown.stdout
    # replaced again at the same start: the session it replaces (kept until it ends) is no overlap
    again = ok(run(other, "--db", db, "--start", "2024-03-05 08:30", "--replace"))
    assert again.stderr.splitlines() == [f"{other.resolve()}: replacing session 3 once this replay finishes"]


@pytest.mark.parametrize("recording,start", [(WAIST, "2024-03-05 08:30"), (WAIST, None), (DEMO, None)])
def test_the_recording_is_placed_on_the_calendar_once(recording, start, tmp_path, monkeypatch):
    """Where the recording goes (recording_start) is worked out once: with --start by the command,
    before the database opens (to refuse a bad one early), and handed to FileReplay; without it by
    FileReplay.begin. The stored start is the same either way."""
    import sensorback.replay as replay_module

    calls = []
    real = replay_module.recording_start

    def counted(*args, **kwargs):
        calls.append(args[2] if len(args) > 2 else kwargs.get("given"))
        return real(*args, **kwargs)

    monkeypatch.setattr(replay_module, "recording_start", counted)
    db = str(tmp_path / "once.db")
    ok(run(recording, "--db", db, *(["--start", start] if start else [])))
    assert len(calls) == 1, calls
    ((_, stored, estimated, _),) = sessions(db)
    if start:
        assert calls[0] == datetime(2024, 3, 5, 8, 30).astimezone() and not estimated
        assert stored == datetime(2024, 3, 5, 8, 30).astimezone(timezone.utc)
    else:
        assert calls[0] is None and estimated == (recording == WAIST)


def test_a_start_that_would_end_in_the_future_is_refused(tmp_path):
    db = tmp_path / "future.db"
    # 412 s would end after now. Given with its UTC offset: a naive local time in the hour the
    # clocks go back reads as the first of the two (an hour earlier), and would end in the past.
    soon = (datetime.now(timezone.utc) - timedelta(minutes=2)).astimezone().isoformat(timespec="minutes")
    line = assert_one_line_error(run(WAIST, "--db", db, "--start", soon), "--start: hapt_waist_exp01_user01.csv.gz "
                                 "would then end at ", "in the future (it lasts 00:06:5")
    assert line.endswith("give an earlier start") and not db.exists()


# ------------------------------------------------------------------------------ mistakes


@pytest.mark.parametrize("args,fragments", [
    (["missing.sbr"], ["missing.sbr", "no such file"]),
    ([ROOT / "README.md"], ["README.md", "unknown file type"]),
    ([DEMO, "--reference-window", "5"], ["--reference-window", "START:END"]),
    ([DEMO, "--forward-window", "90:30"], ["--forward-window", "START must be before END"]),
    ([DEMO, "--reference-window", "5000:5060"], ["--reference-window", "is outside"]),
    ([DEMO, "--speed", "fast"], ["--speed", "'fast'"]),
    ([DEMO, "--speed", "0"], ["--speed", "'0'"]),
    ([DEMO, "--speed", "-5"], ["--speed", "'-5'"]),
    ([DEMO, "--speed", "inf"], ["--speed", "'inf'"]),
    # a positive speed so slow that the replay is a hang (the 15-min demo at 1e-9x: 29,000 years)
    ([DEMO, "--speed", "1e-9"], ["--speed: must be at least 0.1 times real time (slower shows nothing more: "
                                 "each 1 s epoch would stay over 10 s on screen), got '1e-9'"]),
    ([DEMO, "--speed", "0.09x"], ["--speed: must be at least 0.1 times real time", "got '0.09x'"]),
    ([DEMO, "--set", "sit_limit=45"], ["--set", "unknown setting 'sit_limit'", "sit_limit_min"]),
    ([DEMO, "--set", "sit_limit_min=soon"], ["--set", "sit_limit_min"]),
    ([DEMO, "--set", "sit_limit_min"], ["--set", "KEY=VALUE"]),
    ([DEMO, "--snooze", "later"], ["--snooze", "'later'"]),
    ([DEMO, "--snooze", "100:0"], ["--snooze", "'100:0'"]),
    # checked against the recording, as the windows are (it was snoozing at 00:00:00, or never)
    ([DEMO, "--snooze", "-5"], ["--snooze: -5 is outside", "which runs from 0.0 s to 900.0 s"]),
    ([DEMO, "--snooze", "200", "--snooze", "100000:5"], ["--snooze: 100000 is outside", "to 900.0 s"]),
    ([DEMO, "--rate", "0"], ["--rate"]),
    ([DEMO, "--start", "soon"], ["--start", "'soon'"]),
    ([DEMO, "--start", "2024-03-05 08:00"], ["--start: demo.sbr has its own start time (", "only for recordings "
                                             "without one"]),
    ([DEMO, "--events", "/no/such/folder/e.csv"], ["--events", "/no/such/folder"]),
    ([DEMO, "--db", "postgresql+psycopg://nobody@127.0.0.1:1/sensorback"], ["database", "127.0.0.1:1"]),
    ([DEMO, "--db", "nosuchdb://somewhere"], ["nosuchdb://somewhere"]),
    ([DEMO, "--db", "/proc/no/such/folder/x.db"], ["/proc/no/such/folder"]),
])
def test_mistakes_are_one_line(args, fragments, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # (a file written by mistake to a relative name would show below)
    r = run(*args)
    assert_one_line_error(r, *fragments)
    assert r.exit_code == 2
    assert list(tmp_path.iterdir()) == []  # no database created ($SENSORBACK_DB), even after the load


@pytest.mark.parametrize("where", ["--db", "$SENSORBACK_DB", "default"])
def test_a_recording_that_fails_to_load_leaves_no_database(tmp_path, monkeypatch, where):
    """A garbage CSV: the one-line error, and no new database (nor -wal/-shm, nor the default
    database's folder) left behind; the database was created, empty, before the file was read."""
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"garbage\n\x01\x02blah,,\n")
    db = tmp_path / "new" / "back.db"
    db.parent.mkdir()
    if where == "--db":
        r = run(bad, "--db", db)
    else:
        if where == "$SENSORBACK_DB":
            monkeypatch.setenv("SENSORBACK_DB", str(db))
        else:
            monkeypatch.delenv("SENSORBACK_DB")
            monkeypatch.setenv("XDG_DATA_HOME", str(db.parent))
        r = run(bad)
    assert_one_line_error(r, "bad.csv:1: no acceleration columns found")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["bad.csv", "new"]
    # a good recording then creates it as before
    ok(run(DEMO, "--db", db))
    assert len(db_rows(str(db))["epochs"]) == 900


def test_a_recording_that_fails_to_load_leaves_an_existing_database_as_it_was(tmp_path):
    """An existing database is still opened before the recording is read (a locked or read-only
    one is refused before a long load); a file that then fails changes nothing in it."""
    db = tmp_path / "back.db"
    ok(run(DEMO, "--db", db))
    before = db_rows(str(db))
    bad = tmp_path / "bad.csv"
    bad.write_text("t,ax,ay,az\n0,0,0,1\n0.02,zero,0,1\n")
    r = run(bad, "--db", db)
    assert_one_line_error(r, "bad.csv:3: non-numeric value 'zero' in column ax")
    assert db_rows(str(db)) == before


@pytest.mark.parametrize("named", ["--db", "$SENSORBACK_DB"])
def test_events_into_the_database_file_is_refused_before_the_replay(tmp_path, monkeypatch, named):
    """--events naming the database a replay creates: the events file was renamed over the new
    database at the end, the stored session lost without a word ('written to back.db')."""
    db = tmp_path / "back.db"
    monkeypatch.chdir(tmp_path)
    if named == "--db":
        r = run(DEMO, "--db", db, "--events", "back.db")
    else:
        monkeypatch.setenv("SENSORBACK_DB", str(db))
        r = run(DEMO, "--events", "back.db")
    assert_one_line_error(r, "--events: back.db is the database the replay stores into; choose another name")
    assert not db.exists()


def test_a_locked_database_is_one_line_and_leaves_the_events_file_as_it_was(tmp_path, monkeypatch):
    """The import is claimed before the replay starts: a database locked then ends the command before
    any event, and an events file of an earlier replay stays as it was (it was replaced by a file
    holding only the header: the earlier events were lost, for a replay that never ran)."""
    import sensorback.store

    db = str(tmp_path / "locked.db")
    events = tmp_path / "e.csv"
    ok(run(DEMO, "--db", str(tmp_path / "earlier.db"), "--events", events, *BUSY))
    earlier = events.read_bytes()
    assert len(read_events(events)) > 1
    open_store(db).close()  # migrated: the replay gets as far as its first write
    monkeypatch.setattr(sensorback.store, "open_store",
                        functools.partial(sensorback.store.open_store, busy_timeout_s=0.3))
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        # (no nudges: the demo's slouch nudge would be printed before the first write fails)
        r = run(DEMO, "--db", db, "--events", events, "--set", "slouch_nudges=false")
    finally:
        lock.rollback()
        lock.close()
    assert_one_line_error(r, db, "locked by another program", "to claim the import", code=1)
    assert "kept for a retry" not in r.stderr
    assert events.read_bytes() == earlier
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("e.csv")) == ["e.csv"]  # no temp file
    ok(run(DEMO, "--db", db))  # once the lock is gone
    assert len(db_rows(db)["epochs"]) == 900


def test_a_read_only_database_is_one_line(tmp_path):
    db = tmp_path / "ro.db"
    open_store(str(db)).close()
    r = run(DEMO, "--db", f"sqlite:///file:{db}?mode=ro&uri=true", "--set", "slouch_nudges=false")
    assert_one_line_error(r, str(db), "read-only")


# ------------------------------------------------------------------------------ Ctrl-C


def test_a_replace_stopped_part_way_keeps_the_complete_session(tmp_path):
    """--replace of a day already stored, stopped by Ctrl-C: the stored day stays whole and the line
    says so (the old session used to be deleted before the replay began)."""
    db = str(tmp_path / "r.db")
    ok(run(DEMO, "--db", db))
    before = db_rows(db)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "sensorback.cli", "replay", str(DEMO), "--speed", "50", "--db", db, "--replace",
           "--set", "sit_limit_min=2"]
    ran = signalled_at(cmd, lambda ln: "break prompt" in ln, signal.SIGINT, "the first break prompt",  # well in
                       env=env)
    err = ran.err
    assert ran.returncode == 130, err
    said = err.splitlines()
    assert len(said) == 2 and said[0] == f"{DEMO}: replacing session 1 once this replay finishes", err
    assert said[1].startswith("interrupted at 00:0") and said[1].endswith(
        f" of the recording: nothing stored; session 1 of {db} is kept as it was (a replacement takes its place "
        "only once it finishes)"), err
    assert db_rows(db) == before  # the complete day, row for row, and nothing of the replacement


@pytest.mark.parametrize("sig,code,said", [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated (SIGTERM)"),
                                           ("SIGHUP", 129, "terminated (SIGHUP)")])
def test_ctrl_c_or_a_kill_stores_what_was_processed_and_says_where_it_stopped(tmp_path, sig, code, said):
    """Ctrl-C, a kill and a closed terminal: what was processed is stored and one line says where it
    stopped, in the command line's words for the signal, exit 130, 143 or 129 (a kill said only
    'terminated (SIGTERM)', without where it stopped or what was stored)."""
    db = str(tmp_path / "int.db")
    out = tmp_path / "int.csv"
    env = dict(os.environ, SENSORBACK_CONFIG=str(tmp_path / "none.toml"), PYTHONUNBUFFERED="1")
    env.pop("SENSORBACK_DB", None)
    cmd = [sys.executable, "-m", "sensorback.cli", "replay", str(DEMO), "--speed", "50", "--db", db,
           "--events", str(out), "--set", "sit_limit_min=2"]
    ran = signalled_at(cmd, lambda ln: True, getattr(signal, sig), "the first line", env=env)
    first, printed, err = ran.line, ran.lines, ran.err
    assert first.startswith("00:02:52  break prompt: "), first
    assert ran.returncode == code, (printed, err)
    assert printed == [first]  # no summary
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{said} at 00:0"), err
    assert "Traceback" not in err

    rows = db_rows(db)
    (session,) = rows["sessions"]
    assert session["ended_at"] is None  # unfinished: a replay again replaces it
    t_end = [e["t_end"] for e in rows["epochs"]]
    assert t_end == [float(i) for i in range(1, len(t_end) + 1)]  # every epoch up to where it stopped
    assert 172.0 <= t_end[-1] < 900.0
    assert [(e["t"], e["kind"]) for e in rows["events"]][0] == (172.0, "break_prompt")
    assert f"{len(t_end)} epochs and " in lines[0] and "session 1 of " in lines[0]
    events = read_events(out)
    assert events[0]["kind"] == "break_prompt" and float(events[0]["t"]) == 172.0
    assert len(events) == len(rows["events"])

    again = ok(run(DEMO, "--db", db, "--set", "sit_limit_min=2"))
    assert "replacing session 1, whose import did not finish" in again.stderr
    rows = db_rows(db)
    assert len(rows["sessions"]) == 1 and rows["sessions"][0]["ended_at"] is not None
    assert len(rows["epochs"]) == 900


def replay_stopped_twice(tmp_path, hooks: str):
    """Replay the demo (paced, a 2-min sitting limit) as a command whose code first runs ``hooks``
    (they send the second Ctrl-C), stopped by a Ctrl-C at its first line: (database, the run, its
    one stderr line), after checking that it ended as a stop does (exit 130, one line, no
    traceback)."""
    script = hooks + "from sensorback.cli import main\nmain()\n"
    db = str(tmp_path / "twice.db")
    env = dict(os.environ, SENSORBACK_CONFIG=str(tmp_path / "none.toml"), PYTHONUNBUFFERED="1")
    env.pop("SENSORBACK_DB", None)
    cmd = [sys.executable, "-c", script, "replay", str(DEMO), "--speed", "50", "--db", db, "--set", "sit_limit_min=2"]
    ran = signalled_at(cmd, lambda ln: True, signal.SIGINT, "the first line", env=env)
    assert ran.line.startswith("00:02:52  break prompt: "), ran.line
    lines = ran.err.strip().splitlines()
    assert ran.returncode == 130 and len(lines) == 1 and "Traceback" not in ran.err, ran.err
    return db, ran, lines


@pytest.mark.parametrize("where", ["last-write", "clean-up"])
def test_a_second_ctrl_c_while_the_first_is_handled_says_what_was_stored(tmp_path, where):
    """Ctrl-C twice, the second while the first's work runs: before the last write (a second Ctrl-C
    stops at once, without it) or in the command's clean-up after it. Either way the command said
    only 'interrupted': what was processed since the last batch was lost without a word, or
    everything was stored and the line saying so was cut off. Now the one line says what the
    database holds, and that the last epochs and events were not stored when they were not."""
    hook = {"last-write": ("sensorback.replay", "_Replay", "interrupt"),
            "clean-up": ("sensorback.store.store", "Store", "close")}[where]
    again = (  # the second Ctrl-C comes exactly as that step begins
        "import importlib, os, signal\n"
        f"cls = getattr(importlib.import_module({hook[0]!r}), {hook[1]!r})\n"
        f"step = getattr(cls, {hook[2]!r})\n"
        "def again(self, *args):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return step(self, *args)\n"
        f"setattr(cls, {hook[2]!r}, again)\n")
    db, ran, lines = replay_stopped_twice(tmp_path, again)
    rows = db_rows(db)
    epochs, events = len(rows["epochs"]), len(rows["events"])
    if where == "last-write":
        assert lines[0].startswith("interrupted at 00:0") and \
            " of the recording, and again before its last epochs and events were stored: " in lines[0], lines[0]
        stored = f"{epochs} epochs stored in session 1 of {db}" if epochs else f"no epoch stored in {db}"
        assert stored in lines[0], (lines[0], epochs)
    else:
        assert lines[0].startswith("interrupted at 00:0") and lines[0].endswith(
            f": {epochs} epochs and {events} event{'s' * (events != 1)} stored in session 1 of {db}, left unfinished "
            "(replaying the file again replaces it)"), (lines[0], epochs, events)
        assert epochs >= 172 and (rows["events"][0]["t"], rows["events"][0]["kind"]) == (172.0, "break_prompt")


#: A second Ctrl-C just after the first stop's last write was committed (before the replay noted
#: what it wrote), or just after the replay returned (before the command took its stop words).
AFTER_THE_WRITE = {
    "after-its-commit": (
        "from sensorback.replay import _Replay as R\n"
        "from sensorback.store.recorder import Recorder\n"
        "stopping, interrupt, flush = [], R.interrupt, Recorder.flush\n"
        "def interrupt_(self):\n"
        "    close = self.runner.close\n"
        "    def close_(*args, **kwargs):\n"
        "        close(*args, **kwargs)\n"
        "        stopping.append(True)  # (the stop's own flush, not one a full batch made in close)\n"
        "    self.runner.close = close_\n"
        "    return interrupt(self)\n"
        "def flush_(self, **kwargs):\n"
        "    flush(self, **kwargs)\n"
        "    if stopping:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "R.interrupt, Recorder.flush = interrupt_, flush_\n"),
    "after-the-replay": (
        "import sensorback.replay as module\n"
        "replay = module.replay\n"
        "def replay_(*args, **kwargs):\n"
        "    result = replay(*args, **kwargs)\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return result\n"
        "module.replay = replay_\n"),
}


@pytest.mark.parametrize("when", AFTER_THE_WRITE)
def test_a_second_ctrl_c_after_the_last_write_says_all_was_stored(tmp_path, when):
    """Ctrl-C twice, the second after the first stop's last write was committed: in the moment
    before the replay noted what it wrote, the line said 'and again before its last epochs and
    events were stored', which they were; after the replay had returned, before the command took
    its stop words, the command said only 'interrupted'. Either way everything processed is
    stored, and the one line says so, as after a single Ctrl-C."""
    db, ran, lines = replay_stopped_twice(tmp_path, "import os, signal\n" + AFTER_THE_WRITE[when])
    rows = db_rows(db)
    t_end = [e["t_end"] for e in rows["epochs"]]
    events = len(rows["events"])
    assert t_end == [float(i) for i in range(1, len(t_end) + 1)] and 172.0 <= t_end[-1] < 900.0
    assert lines[0].startswith("interrupted at 00:0") and lines[0].endswith(
        f" of the recording: {len(t_end)} epochs and {events} event{'s' * (events != 1)} stored in session 1 of "
        f"{db}, left unfinished (replaying the file again replaces it)"), (lines[0], len(t_end), events)


# ------------------------------------------------------------------------------ help


def test_help_shows_the_options_and_examples():
    r = runner.invoke(app, ["replay", "--help"])
    assert r.exit_code == 0
    for option in ("--speed", "--db", "--events", "--reference-window", "--forward-window", "--rate", "--set",
                   "--snooze", "--replace"):
        assert option in r.stdout
    assert "sensorback replay recordings/demo.sbr" in r.stdout.split("Examples:")[1]
    assert "replay" in runner.invoke(app, ["--help"]).stdout


def test_errors_are_sensorback_errors():
    from sensorback.cli.replay_cmd import parse_snoozes, parse_speed

    assert parse_speed("max") is None and parse_speed(" MAX ") is None
    assert parse_speed("50") == 50.0 and parse_speed("2.5x") == 2.5
    assert parse_speed("0.1") == 0.1 and parse_speed("0.1x") == 0.1  # the floor itself (limits.MIN_SPEED)
    assert parse_snoozes(["10", "20:5"]) == [(10.0, None), (20.0, 5.0)]
    for bad in ("", "x", "nan", "-1", "0x", "1e-9", "0.0999"):
        with pytest.raises(SensorbackError):
            parse_speed(bad)


@pytest.mark.parametrize("command", [["replay", str(DEMO)], ["monitor", "--demo", "--plain"], ["calibrate", "--demo"]])
def test_every_speed_has_one_floor_said_in_its_help(command, tmp_path, monkeypatch):
    """replay, monitor --demo and calibrate --demo share one --speed check (_args.parse_times_real_time,
    limits.MIN_SPEED): a tiny speed, which was a hang, is refused at once, before anything runs or is
    stored, and each command's --help says the floor."""
    from sensorback.limits import MIN_SPEED

    monkeypatch.setenv("SENSORBACK_CALIBRATIONS", str(tmp_path / "calibrations.json"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    began = time.monotonic()
    line = assert_one_line_error(runner.invoke(app, [*command, "--speed", "1e-9"]), "--speed: must be at least 0.1 "
                                 "times real time", "got '1e-9'")
    assert time.monotonic() - began < DEADLINE_S and line.startswith("error: --speed: ")
    assert list(tmp_path.iterdir()) == []  # no database, calibration or demo data written
    help_text = " ".join(runner.invoke(app, [command[0], "--help"], env={"COLUMNS": "200"}).stdout.split())
    assert f"N at least {MIN_SPEED:g} (a tenth of real time: each 1 s epoch then stays 10 s on screen" in help_text


def test_replay_names_its_coach_count_apart_from_the_breaks_report_and_analyze_count(desk_day, tmp_path):
    """The report and analyze count breaks (every unbroken run of 60 s or more on your feet); the
    coach's break_verified events count resets of its sitting clock (none before the first sitting or
    between two breaks, drop-outs bridged). Replay must not print the second as 'N breaks'."""
    import json
    import re
    from datetime import datetime

    from sensorback.summary import summarize

    db = str(tmp_path / "day.db")
    r = ok(run(desk_day, "--db", db))
    analysis = analyze(formats.load(desk_day))
    events = run_coach(analysis.epochs, CoachSettings())
    resets = sum(e.kind == "break_verified" for e in events)
    breaks = summarize(analysis.epochs).breaks
    assert resets != breaks  # this day starts on its feet: a break that resets no sitting clock

    (coach,) = [ln for ln in r.stdout.splitlines() if ln.startswith("  coach:")]
    assert f"; {resets} sitting clock resets;" in coach
    assert not re.search(r"\d+ breaks?(?! prompt)\b", coach)  # no count there reads as the report's breaks

    analyzed = json.loads(ok(runner.invoke(app, ["analyze", str(desk_day), "--json"])).stdout)["summary"]
    assert analyzed["seated"]["breaks"] == breaks
    day = datetime.fromtimestamp(formats.load(desk_day).start_time).date().isoformat()
    report = ok(runner.invoke(app, ["report", "--db", db, "--day", day]))
    (line,) = [ln for ln in report.stdout.splitlines() if "breaks (on your feet 60 s or more)" in ln]
    assert line.split(")", 1)[1].split()[0] == str(breaks)
    # analyze's and the report's JSON agree on each state alone and on the seated total, under the
    # same names: states' "sitting" is sitting upright, "seated_s" is sitting + slouching
    reported = json.loads(ok(runner.invoke(app, ["report", "--db", db, "--day", day, "--json"])).stdout)["totals"]
    assert reported["states_s"] == pytest.approx({k: v["seconds"] for k, v in analyzed["states"].items()})
    assert reported["seated"]["seated_s"] == pytest.approx(analyzed["seated"]["seated_s"])
    assert analyzed["seated"]["seated_s"] == pytest.approx(
        analyzed["states"]["sitting"]["seconds"] + analyzed["states"]["slouching"]["seconds"])
    assert reported["seated"]["slouch_share"] == pytest.approx(analyzed["seated"]["slouch_share"], abs=1e-6)
