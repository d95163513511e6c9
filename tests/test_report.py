"""sensorback report: day and week numbers from a real database, checked against values worked out
here independently (per-second labels and a plain loop for bouts and breaks), the text, JSON and
HTML renderings, and the command line."""

from __future__ import annotations

import json
import os
import math
import re
import shutil
import sqlite3
import time
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sensorback.cli import app
from sensorback.coach import run_coach
from sensorback.core.epochs import EpochTable
from sensorback.core.states import CODE
from sensorback.errors import SensorbackError
from sensorback.report import build_report, load_rows, render_html, render_text
from sensorback.report import compute
from sensorback.report.when import day_bounds, parse_at, parse_day
from sensorback.store import open_store
from cli_checks import one_line_error
from conftest import SHARED, files_as_they_are, journal_mode

zoneinfo = pytest.importorskip("zoneinfo")
try:
    TZ = zoneinfo.ZoneInfo("Europe/Berlin")
except zoneinfo.ZoneInfoNotFoundError:  # pragma: no cover - no time zone database
    pytest.skip("no time zone database (Europe/Berlin)", allow_module_level=True)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
DAY = date(2024, 3, 5)                      # a Tuesday, UTC+01:00
WEEK_END = date(2024, 4, 2)                 # the week Mar 27 .. Apr 2 holds the switch to summer time
SEATED, UP, PAUSED = ("sitting", "slouching"), ("standing", "moving"), ("lying", "not_worn", "no_data", "gap")
POSTURE = SEATED + UP
FLEX = {"moving": 25.0, "standing": 5.0, "sitting": 12.0, "slouching": 35.0, "lying": 80.0, "not_worn": 3.0,
        "no_data": math.nan}

runner = CliRunner()


def local(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=TZ)


# ------------------------------------------------------------------------------ building data

def table_from(script) -> EpochTable:
    """1-s epochs from [(state, seconds[, flexion]), ...]; ("gap", seconds) leaves a hole."""
    t, rows = 0, []
    for item in script:
        state, n = item[0], item[1]
        if state != "gap":
            flex = item[2] if len(item) > 2 else FLEX[state]
            rows += [(t + i, CODE[state], flex) for i in range(n)]
        t += n
    t0 = np.array([r[0] for r in rows], dtype=np.float64)
    flex = np.array([r[2] for r in rows], dtype=np.float32)
    n = len(rows)
    return EpochTable(t0, t0 + 1.0, np.array([r[1] for r in rows], dtype=np.int8), flex * 0.9, flex,
                      np.zeros(n, np.float32), np.full(n, 0.01, np.float32), np.zeros(n, np.float32))


def random_script(seed: int, total_s: int) -> list:
    rng = np.random.default_rng(seed)
    names = ["moving", "standing", "sitting", "slouching", "lying", "not_worn", "no_data", "gap"]
    weights = np.array([2, 2, 6, 3, 1, 1, 1, 0.5])
    out, t = [], 0
    while t < total_s:
        state = str(rng.choice(names, p=weights / weights.sum()))
        n = int(rng.choice([rng.integers(1, 90), rng.integers(30, 900)]))
        flex = float(rng.uniform(0, 75)) if state != "no_data" else math.nan
        out.append((state, n, flex) if state != "gap" else (state, n))
        t += n
    if out[0][0] == "gap":
        out[0] = ("sitting", out[0][1], 10.0)
    return out


SCRIPT_A = [                      # one session from 08:00; by hand: bouts A, B, C(ends in SCRIPT_B), 4 breaks
    ("moving", 300),              # break 1 (no bout open)
    ("sitting", 600), ("slouching", 200), ("sitting", 700),
    ("standing", 30),             # too short: bout A goes on and counts it
    ("sitting", 1200, 25.0),      # bout A = 600 + 200 + 700 + 30 + 1200 = 2730 s
    ("standing", 90),             # break 2
    ("sitting", 2400, 45.0),      # bout B
    ("not_worn", 600),            # neither ends nor counts
    ("sitting", 300),             # bout B = 2700 s
    ("no_data", 120),
    ("moving", 60, 65.0),         # break 3 (exactly 60 s)
    ("lying", 600),
    ("sitting", 100),             # bout C starts
]
SCRIPT_B = [                      # a second session from 14:00
    ("sitting", 40), ("standing", 40),
    ("gap", 600),                 # a hole splits the two 40-s stands: no break
    ("standing", 40), ("sitting", 1800, 21.0),
    ("standing", 45), ("moving", 45),  # break 4 (90 s, mixed); bout C = 100 + 40 + 40 + 40 + 1800 = 2020 s
]


class World:
    """What the test wrote, second by second (newer sessions overwrite older ones), and the coach
    events with their absolute times."""

    def __init__(self, store):
        self.store = store
        self.sec: dict[int, tuple[str, float, int]] = {}
        self.events: list[tuple[float, str, str | None, int]] = []
        self.dropped: list[int] = []

    def session(self, start: datetime, script, coach: bool = True, events=None) -> int:
        table = table_from(script)
        evs = run_coach(table) if coach else []
        with self.store.recorder(max_seconds=None, max_epochs=100_000) as rec:
            rec.begin_session(device="test", source="test", start=start, rate_hz=50.0, epoch_s=1.0)
            rec.add_epochs(table)
            rec.add_events(evs)
            if events:
                rec.add_events(events)
            sid = rec.end_session()
        base = int(start.timestamp())
        covered = set()
        for t, st, fx in zip(table.t_start.tolist(), table.state.tolist(), table.flexion_deg.tolist()):
            s = base + int(t)
            if s in self.sec:
                self.dropped.append(s)
            self.sec[s] = (list(CODE)[st], fx, sid)
            covered.add(s)
        # an older session's events inside this session's time are superseded
        self.events = [e for e in self.events if not (int(e[0]) in covered or int(e[0]) - 1 in covered)]
        self.events += [(base + e.t, e.kind, e.outcome, sid) for e in evs]
        self.events += [(base + e["t"], e["kind"], e.get("outcome"), sid) for e in events or ()]
        return sid


def ref_bouts(labels: list[str]) -> tuple[list[int], int]:
    """A plain loop over per-second labels: (bout durations, breaks)."""
    bouts, breaks = [], 0
    cur = None
    up = pending = 0
    for lab in labels + ["end"]:
        if lab in UP:
            up += 1
            continue
        if up:
            if up >= 60:
                breaks += 1
                if cur is not None:
                    bouts.append(cur)
                cur, pending = None, 0
            elif cur is not None:
                pending += up
            up = 0
        if lab in SEATED:
            cur = (cur or 0) + 1 + pending
            pending = 0
    if cur is not None:
        bouts.append(cur)
    return bouts, breaks


def expected_day(world: World, day: date, now: datetime = NOW) -> dict:
    start, end = day_bounds(day, TZ)
    a, b = int(start.timestamp()), int(end.timestamp())
    secs = sorted(s for s in world.sec if a <= s < b)
    labels, prev = [], None
    for s in secs:
        if prev is not None and s != prev + 1:
            labels.append("gap")
        labels.append(world.sec[s][0])
        prev = s
    bouts, breaks = ref_bouts(labels)
    states = {name: sum(1 for s in secs if world.sec[s][0] == name) for name in CODE}
    recorded = len(secs)
    worn = recorded - states["not_worn"] - states["no_data"]
    span = max(0, min(b, int(now.timestamp())) - a)
    seated = states["sitting"] + states["slouching"]
    flexed = {t: sum(1 for s in secs if world.sec[s][0] in POSTURE and world.sec[s][1] > t) for t in (20, 30, 60)}
    evs = [e for e in world.events if a <= e[0] < b]
    # each prompt's outcome is the next outcome of its session, whatever day that falls on
    settled, waiting = {}, {}
    for e in sorted(world.events):
        if e[1] == "break_prompt":
            waiting.setdefault(e[3], []).append(e)
        elif e[1] == "prompt_outcome" and waiting.get(e[3]):
            settled[waiting[e[3]].pop(0)] = e[2]
    outcomes = {k: sum(1 for e in evs if e[1] == "break_prompt" and settled.get(e, "unknown") == k) for k in
                ("heeded", "snoozed", "ignored", "unknown")}
    return {
        "span_s": span, "recorded_s": recorded, "worn_s": worn, "states_s": states,
        "not_worn_s": states["not_worn"], "no_data_s": states["no_data"], "not_recorded_s": span - recorded,
        "unseen_s": states["not_worn"] + states["no_data"] + span - recorded,
        "seated": {
            "seated_s": seated, "share_of_worn": seated / worn if worn else None,
            "bouts": len(bouts), "longest_bout_s": max(bouts, default=0),
            "long_bouts": sum(1 for x in bouts if x >= 1800), "long_bout_min": 30, "breaks": breaks,
            "breaks_per_worn_hour": breaks / (worn / 3600) if worn else None,
            "slouching_s": states["slouching"], "slouch_share": states["slouching"] / seated if seated else None,
        },
        "coach": {
            "prompts": sum(1 for e in evs if e[1] == "break_prompt"), "outcomes": outcomes,
            "heeded_share": (outcomes["heeded"] / sum(1 for e in evs if e[1] == "break_prompt")
                             if any(e[1] == "break_prompt" for e in evs) else None),
            "slouch_nudges": sum(1 for e in evs if e[1] == "slouch_nudge"),
            "snoozes": sum(1 for e in evs if e[1] == "snoozed"),
        },
        "flexed_s": {f"over_{t}_deg": v for t, v in flexed.items()},
        "overlap_dropped_s": sum(1 for s in world.dropped if a <= s < b),
    }


def assert_numbers(got: dict, want: dict, where: str = "") -> None:
    for key, value in want.items():
        if isinstance(value, dict):
            assert_numbers(got[key], value, f"{where}{key}.")
        elif value is None:
            assert got[key] is None, f"{where}{key}: {got[key]!r} != None"
        else:
            assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-6), f"{where}{key}: {got[key]!r} != {value!r}"


def report_dict(url: str, first: date, last: date, kind: str) -> dict:
    with open_store(url) as store:
        rows = load_rows(store, first, last, TZ)
    return build_report(rows, now=NOW, tz=TZ, kind=kind).to_dict()


@pytest.fixture
def db(tmp_path) -> str:
    return "sqlite:///" + str(tmp_path / "report.db")


@pytest.fixture
def berlin(monkeypatch):
    """The process's local time zone is Europe/Berlin (for the command line)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def scripted_day(url: str) -> World:
    with open_store(url) as store:
        world = World(store)
        world.session(local(DAY, 8), SCRIPT_A)
        world.session(local(DAY, 14), SCRIPT_B)
        # the day before and after: must not leak in
        world.session(local(DAY - timedelta(days=1), 23, 50), [("sitting", 600)], coach=False)
        world.session(local(DAY + timedelta(days=1), 0, 0), [("sitting", 300)], coach=False)
    return world


# ------------------------------------------------------------------------------------- the day

def test_day_numbers_match_the_script(store_url):
    """Runs on SQLite and PostgreSQL: every number of a scripted day."""
    world = scripted_day(store_url)
    got = report_dict(store_url, DAY, DAY, "day")
    want = expected_day(world, DAY)
    assert_numbers(got["totals"], want)
    assert_numbers(got["days"][0], want)
    # and by hand, from the script's comments
    s = got["totals"]["seated"]
    assert (s["bouts"], s["longest_bout_s"], s["long_bouts"], s["breaks"]) == (3, 2730, 3, 4)
    assert got["totals"]["recorded_s"] == 7300 + 2010
    assert got["totals"]["span_s"] == 86400
    assert got["totals"]["states_s"]["slouching"] == 200 and got["totals"]["not_worn_s"] == 600
    # over 20: slouching, sitting at 25/45/21 degrees, and moving at 25 and 65 degrees
    assert got["totals"]["flexed_s"] == {"over_20_deg": 200 + 1200 + 2400 + 1800 + 300 + 60 + 45,
                                         "over_30_deg": 2400 + 60 + 200, "over_60_deg": 60}
    assert got["totals"]["coach"]["prompts"] >= 3  # bouts A, B and C each reach 30 min of sitting
    assert got["has_data"] and not got["database_empty"]
    assert got["kind"] == "day" and got["from"] == got["to"] == "2024-03-05"
    assert got["start"] == "2024-03-04T23:00:00Z" and got["end"] == "2024-03-05T23:00:00Z"


def test_random_days_match_a_plain_loop(db):
    with open_store(db) as store:
        world = World(store)
        for k, seed in enumerate((11, 12, 13)):
            world.session(local(DAY, 6 + 5 * k), random_script(seed, 4 * 3600))
    got = report_dict(db, DAY, DAY, "day")
    assert_numbers(got["totals"], expected_day(world, DAY))


def test_overlapping_sessions_newest_wins(db):
    with open_store(db) as store:
        world = World(store)
        old = world.session(local(DAY, 14), [("sitting", 1800)], coach=False,
                            events=[{"t": 300.0, "kind": "slouch_nudge"}, {"t": 900.0, "kind": "slouch_nudge"}])
        new = world.session(local(DAY, 14, 10), [("standing", 1800)], coach=False,
                            events=[{"t": 60.0, "kind": "break_prompt"}])
        assert new > old
    got = report_dict(db, DAY, DAY, "day")
    t = got["totals"]
    assert t["states_s"]["sitting"] == 600 and t["states_s"]["standing"] == 1800
    assert t["overlap_dropped_s"] == 1200
    assert t["coach"]["slouch_nudges"] == 1 and t["coach"]["prompts"] == 1  # the nudge at 14:15 was superseded
    assert_numbers(t, expected_day(world, DAY))
    assert any("recorded twice" in m for m in got["messages"])


def test_prompt_vocabulary_of_other_writers(db):
    """Events written as kind 'prompt' with their own outcome ('done', 'dismissed') count too."""
    with open_store(db) as store:
        World(store).session(local(DAY, 9), [("sitting", 600)], coach=False, events=[
            {"t": 100.0, "kind": "prompt", "outcome": "done"},
            {"t": 200.0, "kind": "prompt", "outcome": "dismissed"},
            {"t": 300.0, "kind": "prompt"},
            {"t": 400.0, "kind": "break_prompt"},
            {"t": 500.0, "kind": "prompt_outcome", "outcome": "heeded"},
        ])
    c = report_dict(db, DAY, DAY, "day")["totals"]["coach"]
    assert c["prompts"] == 4
    assert c["outcomes"] == {"heeded": 2, "snoozed": 0, "ignored": 1, "unknown": 1}  # a prompt without one
    assert c["heeded_share"] == 0.5


def test_a_prompts_outcome_counts_on_the_prompts_day(db):
    """A prompt at 23:56 is settled at 00:01: it and its outcome count on the first day (which said
    '1 prompt' and no outcome), not the outcome on the next (which said '0 prompts: 1 ignored');
    in a week ending on the first day too. Every day's outcomes add up to its prompts."""
    sit_to_midnight = [("sitting", 23 * 3600 + 56 * 60 - (22 * 3600 + 26 * 60))]  # 90 min from 22:26
    with open_store(db) as store:
        world = World(store)
        world.session(local(DAY, 22, 26), sit_to_midnight + [("sitting", 900), ("standing", 120)])
    first, second = report_dict(db, DAY, DAY + timedelta(days=1), "week")["days"]
    assert first["coach"]["prompts"] == 7 and sum(first["coach"]["outcomes"].values()) == 7
    assert first["coach"]["outcomes"]["ignored"] == 7 - first["coach"]["outcomes"]["heeded"]
    assert second["coach"]["prompts"] == 1 and sum(second["coach"]["outcomes"].values()) == 1
    assert_numbers(first, expected_day(world, DAY))
    assert_numbers(second, expected_day(world, DAY + timedelta(days=1)))
    alone = report_dict(db, DAY, DAY, "week")["totals"]["coach"]  # the outcome lies past the week's end
    assert alone["outcomes"] == first["coach"]["outcomes"]


# ------------------------------------------------------------------------------------ the week

def build_week(url: str) -> World:
    with open_store(url) as store:
        w = World(store)
        w.session(local(date(2024, 3, 27), 8), SCRIPT_A)
        w.session(local(date(2024, 3, 27), 14), SCRIPT_B)
        w.session(local(date(2024, 3, 29), 9), random_script(5, 5 * 3600))
        w.session(local(date(2024, 3, 31), 10), random_script(6, 2 * 3600))      # 23-hour day
        w.session(local(date(2024, 3, 31), 23), random_script(7, 2 * 3600))      # runs past midnight
        w.session(local(date(2024, 4, 2), 7), random_script(8, 3 * 3600))
        w.session(local(date(2024, 4, 2), 8), random_script(9, 3 * 3600))        # overlaps the one before
        for when, name in [(local(date(2024, 3, 25), 18), "cat-cow"),             # outside the week
                           (local(date(2024, 3, 27), 18), "cat-cow"),
                           (local(date(2024, 3, 27), 18, 20), "bridges"),          # same session
                           (local(date(2024, 3, 27), 19, 30), "plank"),            # 70 min later: a new one
                           (local(date(2024, 4, 1), 7), "dead-bugs")]:
            store.add_exercise(when, name)
        for days_back, score in [(40, 2), (30, 3), (20, 4), (9, 5), (5, 6), (1, 5)]:
            store.add_pain_checkin(local(WEEK_END - timedelta(days=days_back), 20), score)
        store.add_pain_checkin(local(date(2024, 3, 30), 9), 4, radiating=True)
    return w


@pytest.fixture(scope="module")
def built_week(tmp_path_factory) -> tuple[Path, World]:
    """build_week's database (seven sessions with their coach runs: seconds), built once."""
    path = tmp_path_factory.mktemp("week") / "report.db"
    world = build_week("sqlite:///" + str(path))
    assert not Path(str(path) + "-wal").exists()  # closed: the whole database is in the one file
    return path, world


@pytest.fixture
def week(built_week, db) -> World:
    """The test's own copy of build_week's database at db (a test may add to it), and its World
    (read only)."""
    path, world = built_week
    shutil.copy2(path, db.removeprefix("sqlite:///"))
    return world


def test_week_numbers_day_by_day(db, week):
    world = week
    got = report_dict(db, WEEK_END - timedelta(days=6), WEEK_END, "week")
    assert [d["date"] for d in got["days"]] == [(date(2024, 3, 27) + timedelta(days=i)).isoformat() for i in range(7)]
    total = {}
    for d in got["days"]:
        want = expected_day(world, date.fromisoformat(d["date"]))
        assert_numbers(d, want, d["date"] + ": ")
        for k in ("recorded_s", "worn_s", "not_recorded_s", "unseen_s", "overlap_dropped_s", "span_s"):
            total[k] = total.get(k, 0) + want[k]
    assert got["days"][4]["span_s"] == 23 * 3600             # Sunday Mar 31: clocks go forward
    assert got["days"][5]["recorded_s"] > 0                 # Apr 1: the session that ran past midnight
    assert got["days"][6]["overlap_dropped_s"] > 0
    assert_numbers(got["totals"], total)
    t, days = got["totals"]["seated"], [d["seated"] for d in got["days"]]
    assert t["bouts"] == sum(d["bouts"] for d in days) and t["breaks"] == sum(d["breaks"] for d in days)
    assert t["longest_bout_s"] == max(d["longest_bout_s"] for d in days)
    assert t["seated_s"] == pytest.approx(sum(d["seated_s"] for d in days))
    assert t["slouch_share"] == pytest.approx(sum(d["slouching_s"] for d in days) / t["seated_s"])
    assert t["breaks_per_worn_hour"] == pytest.approx(t["breaks"] / (got["totals"]["worn_s"] / 3600))
    # exercise: 3 sessions in the week (the one on Mar 25 is before it), goal met
    ex = got["exercise"]
    assert (ex["sessions"], ex["goal"], ex["met"]) == (3, 3, True)
    assert [s["exercises"] for s in ex["session_list"]] == [["cat-cow", "bridges"], ["plank"], ["dead-bugs"]]
    assert [d["exercise_sessions"] for d in got["days"]] == [2, 0, 0, 0, 0, 1, 0]
    # pain: six weeks ending Apr 2, oldest first
    weeks = got["pain"]["weeks"]
    assert [w["to"] for w in weeks][-1] == "2024-04-02" and len(weeks) == 6
    assert [w["checkins"] for w in weeks] == [1, 1, 0, 1, 1, 3]   # 40, 30, (20), 9, (5, 3, 1) days back
    assert weeks[-1]["mean"] == pytest.approx((6 + 5 + 4) / 3) and weeks[-1]["highest"] == 6
    assert weeks[0]["mean"] == 2
    assert [c["score"] for c in got["pain"]["checkins"]] == [6, 4, 5]
    assert [f["key"] for f in got["red_flags"]] == ["leg", "high_pain"]


def test_week_cli_json_text_and_html(db, week, berlin, tmp_path):
    r = runner.invoke(app, ["report", "--week", "--day", "2024-04-02", "--json", "--db", db])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    want = report_dict(db, WEEK_END - timedelta(days=6), WEEK_END, "week")
    for d in (got, want):
        d.pop("generated")
    assert got == want

    r = runner.invoke(app, ["report", "--week", "--day", "2024-04-02", "--db", db])
    assert r.exit_code == 0, r.output
    text = r.stdout
    flat = " ".join(text.split())
    assert "Back report for the week 27 Mar to 2 Apr 2024" in text
    for label in ("Day by day", "Wed 27 Mar", "Sun 31 Mar", "week", "seated bouts", "bouts of 30 min or more",
                  "breaks (on your feet 60 s or more)", "break prompts", "slouch nudges", "past 20°", "past 60°",
                  "3 of 3 sessions", "Pain check-ins", "unseen in all", "Pain shooting down a leg",
                  "Stop any exercise that causes sharp pain."):
        assert label in flat, label
    t = want["totals"]
    assert f"  seated bouts                        {t['seated']['bouts']}\n" in text

    out = tmp_path / "week.html"
    r = runner.invoke(app, ["report", "--week", "--day", "2024-04-02", "--html", str(out), "--db", db])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"wrote {out}")
    check_html(out.read_text(encoding="utf-8"), timelines=1, bars=3)


def test_shares_are_never_100_or_0_percent_unless_exactly_so(db):
    """A week with half an hour of data said '(100%) could not be seen', and a slouch share of half
    a percent read '1 %' or '0 %' by its rounding: a share that is not all or none never reads so."""
    from sensorback.timefmt import pct

    assert [pct(s) for s in (None, 0.0, 0.004, 0.005, 0.37, 0.994, 0.995, 0.9999, 1.0)] == [
        "-", "0 %", "<1 %", "<1 %", "37 %", "99 %", ">99 %", ">99 %", "100 %"]
    assert [pct(s, 1) for s in (0.0, 0.0004, 0.996, 0.9996, 1.0)] == ["0.0 %", "<0.1 %", "99.6 %", ">99.9 %", "100.0 %"]
    with open_store(db) as store:
        World(store).session(local(DAY, 9), [("sitting", 1796), ("slouching", 4)], coach=False)
        World(store).session(local(DAY + timedelta(days=1), 9), [("slouching", 600)], coach=False)
        rows = load_rows(store, DAY - timedelta(days=1), DAY + timedelta(days=5), TZ)
    report = build_report(rows, now=NOW, tz=TZ, kind="week")
    text = render_text(report, TZ)
    assert "167 h 20 min of 168 h 00 min (>99 %) could not be seen" in text  # 40 min seen: 99.6 % unseen
    lines = text.splitlines()
    header = lines.index("Day by day (hours:minutes)") + 1
    slouch = lines[header].split().index("slouch")
    row = {line.split()[1]: line.split() for line in lines[header + 1:header + 8]}
    assert row["05"][slouch + 2:slouch + 4] == ["<1", "%"]  # slouched 4 s of 1800 s seated
    assert row["06"][slouch + 2:slouch + 4] == ["100", "%"]  # all of its 600 s
    page = render_html(report, TZ)
    assert "(&gt;99 %) could not be seen" in page and "&lt;1 %" in page and "(100%)" not in page


@pytest.mark.parametrize("last, label", [
    (date(2026, 3, 29), "UTC+01:00 (CET) until Sun 29 Mar 02:00, then UTC+02:00 (CEST)"),
    (date(2026, 10, 25), "UTC+02:00 (CEST) until Sun 25 Oct 03:00, then UTC+01:00 (CET)"),
    (date(2026, 4, 5), "UTC+02:00 (CEST)"),  # the week after: one offset throughout
])
def test_a_period_across_a_clock_change_names_both_offsets(db, berlin, tmp_path, last, label):
    """A week across the switch to or from summer time said 'Local time UTC+01:00 (CET)' in its
    header, wrong for its last day; the header (text, HTML, JSON) now names both offsets and when
    the clocks changed. The zone is the process's (TZ), as for any 'sensorback report'."""
    with open_store(db) as store:
        World(store).session(datetime(last.year, last.month, last.day, 10, tzinfo=TZ), [("sitting", 600)],
                             coach=False)
    args = ["report", "--week", "--day", last.isoformat(), "--db", db]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    first = last - timedelta(days=6)
    assert " ".join(r.stdout.split()).startswith(f"Back report for the week {first.day} {first:%b} to ")
    assert f"Local time {label}; database" in " ".join(r.stdout.split())
    r = runner.invoke(app, args + ["--json"])
    assert json.loads(r.stdout)["timezone"] == label
    r = runner.invoke(app, args + ["--html", str(tmp_path / "week.html")])
    assert f"Local time {label} &middot;" in (tmp_path / "week.html").read_text(encoding="utf-8")
    if last.month == 3:  # the day of the change alone says it too
        r = runner.invoke(app, ["report", "--day", last.isoformat(), "--json", "--db", db])
        assert json.loads(r.stdout)["timezone"] == label


def test_day_text_shows_the_numbers(db):
    scripted_day(db)
    with open_store(db) as store:
        rows = load_rows(store, DAY, DAY, TZ)
    report = build_report(rows, now=NOW, tz=TZ, kind="day")
    text = render_text(report, TZ)
    assert text.startswith("Back report for Tuesday 5 March 2024\n")
    assert re.search(r"seated bouts\s+3\n", text)
    assert re.search(r"longest bout\s+46 min\n", text)   # 2730 s
    assert re.search(r"bouts of 30 min or more\s+3\n", text)
    assert re.search(r"breaks \(on your feet 60 s or more\)\s+4 \(", text)
    assert re.search(r"not worn\s+10 min\n", text)
    assert re.search(r"not recorded\s+21 h 25 min\n", text)   # 86400 - 9310 s
    assert "could not be seen" in text and "neither seated time nor a break" in text
    flat = " ".join(text.split())
    assert "0 of 3 sessions" in flat and "Stop any exercise that causes sharp pain." in flat


def _key_paths(d: dict, path: tuple = ()):
    for k, v in d.items():
        yield path + (k,)
        if isinstance(v, dict):
            yield from _key_paths(v, path + (k,))
        elif isinstance(v, list):
            for item in v:
                if isinstance(item, dict):
                    yield from _key_paths(item, path + (k,))


def test_sitting_is_the_state_alone_and_seated_counts_slouching_too(db, week):
    """One word, one meaning in the JSON, the text and the HTML (docs/report.md, "Sitting and
    seated"): "sitting" is only the state (sitting upright, disjoint from slouching); every figure
    that counts both is "seated", and seated = sitting + slouching wherever it is shown."""
    from sensorback.timefmt import minutes

    with open_store(db) as store:
        rows = load_rows(store, WEEK_END - timedelta(days=6), WEEK_END, TZ)
    report = build_report(rows, now=NOW, tz=TZ, kind="week")
    d = report.to_dict()
    named = [p for p in _key_paths(d) if "sitting" in p[-1]]
    assert named and all(p[-2:] == ("states_s", "sitting") for p in named), named
    for n in [d["totals"], *d["days"]]:
        assert n["seated"]["seated_s"] == pytest.approx(n["states_s"]["sitting"] + n["states_s"]["slouching"])
        assert n["seated"]["slouching_s"] == n["states_s"]["slouching"]
    t = report.totals
    assert t.seated_s > t.state_s["sitting"] > 0 and t.state_s["slouching"] > 0

    text = render_text(report, TZ)
    said = " ".join(text.replace(report.database, "DB").split())  # (the path names this test)
    assert not re.findall(r"sitting(?! upright)", said, re.I), "'sitting' in the text that is not the state"
    lines = text.splitlines()
    m = t.rounded  # the minutes shown (they add up: test_shown_minutes_add_up_as_parts_of_their_totals)
    i = lines.index(next(ln for ln in lines if ln.startswith("  seated ")))
    assert re.fullmatch(rf"  seated\s+{minutes(m.seated_s)}\s+\d+ % of worn time", lines[i])
    assert re.fullmatch(rf"    of it sitting upright\s+{minutes(m.state_s['sitting'])}", lines[i + 1])
    assert re.fullmatch(rf"    of it slouching\s+{minutes(m.state_s['slouching'])}\s+\d+ % of seated time",
                        lines[i + 2])
    assert re.search(r"day\s+worn\s+seated\s+slouch", text)  # the week table's column

    page = render_html(report, TZ)
    # (a prompt mark's hover text quotes the coach, whose sitting clock is its own: docs/coach.md)
    quotes = re.sub(r"<title>[^<]*break prompt: [^<]*</title>", "", page)
    words = " ".join(re.sub(r"<[^>]+>", " ", quotes).split())
    assert not re.findall(r"sitting(?! upright)", words, re.I), "'sitting' in the page that is not the state"
    assert f"seated (sitting upright + slouching) {minutes(m.seated_s)}" in words
    assert f"of it sitting upright {minutes(m.state_s['sitting'])}" in words
    assert f"of it slouching {minutes(m.state_s['slouching'])}" in words
    assert "Seated (hours)" in words and "Slouch share of seated time (%)" in words


def _min(text: str) -> int:
    """Whole minutes from '9 h 44 min', '34 min' or '153:28'."""
    if ":" in text:
        h, m = text.split(":")
        return 60 * int(h) + int(m)
    m = re.fullmatch(r"(?:(\d+) h )?(\d+) min", text)
    assert m, text
    return 60 * int(m.group(1) or 0) + int(m.group(2))


def _where_the_time_went(cells: dict[str, str]) -> dict[str, int]:
    """The time section's rows (label -> shown text) as whole minutes, checked to add up."""
    got = {k.strip(): _min(v) for k, v in cells.items()}
    assert got["seated"] == got["of it sitting upright"] + got["of it slouching"], got
    assert got["worn in all"] == got["seated"] + got["standing"] + got["moving"] + got["lying"], got
    return got


def _columns_add_up(rows: list[list[str]], header: list[str], names) -> None:
    """In a day-by-day table, each named column of the days adds up to the week's row."""
    *days, week = rows
    assert week[0] == "week" and len(days) == 7
    for name in names:
        i = header.index(name)
        assert sum(_min(r[i]) for r in days) == _min(week[i]), (name, [r[i] for r in rows])


def test_shown_minutes_add_up_as_parts_of_their_totals(db, week):
    """Rounding each figure on its own showed build_week's worn time as 13:32 beside days adding
    up to 13:31 and states adding up to 13:31 (and unseen 153:28 beside days adding up to 153:29,
    bent past 20° 9:41 beside 9:42). Now every time the text and the
    HTML show beside its parts is the sum of the parts as shown, both ways (the days' columns and
    each day's or the week's states), and each is still its exact value rounded down or up."""
    with open_store(db) as store:
        rows = load_rows(store, WEEK_END - timedelta(days=6), WEEK_END, TZ)
    report = build_report(rows, now=NOW, tz=TZ, kind="week")
    exact = report.to_dict()
    text = render_text(report, TZ)
    lines = text.splitlines()

    def block(title: str) -> list[list[str]]:
        i = lines.index(title) if title in lines else next(k for k, ln in enumerate(lines) if ln.startswith(title))
        out = []
        for ln in lines[i + 1:]:
            if not ln.strip():
                break
            out.append(re.split(r"\s{2,}", ln.strip()))
        return out

    header, *table1 = block("Day by day")
    _columns_add_up(table1, header, ("worn", "seated", "unseen"))
    i = lines.index("Day by day (hours:minutes)") + len(table1) + 3
    header2 = re.split(r"\s{2,}", lines[i].strip())
    table2 = [re.split(r"\s{2,}", ln.strip()) for ln in lines[i + 1:i + 9]]
    _columns_add_up(table2, header2, ("past 20°", "past 30°", "past 60°"))
    for r in table1[:-1]:                            # a day's worn and unseen time fill the day
        d = next(d for d in exact["days"] if date.fromisoformat(d["date"]).strftime("%a %d %b") == r[0])
        assert _min(r[1]) + _min(r[-1]) == d["span_s"] / 60, r
    week = _where_the_time_went({r[0]: r[1] for r in block("Where the time went")})
    assert week["unseen in all"] == week["not worn"] + week["no usable data"] + week["not recorded"]
    assert (week["worn in all"], week["seated"], week["unseen in all"]) == tuple(_min(x) for x in
                                                                                (table1[-1][1], table1[-1][2], table1[-1][-1]))
    t = exact["totals"]
    for label, seconds in [("seated", t["seated"]["seated_s"]), ("of it slouching", t["states_s"]["slouching"]),
                           ("lying", t["states_s"]["lying"]), ("worn in all", t["worn_s"]),
                           ("not recorded", t["not_recorded_s"]), ("unseen in all", t["unseen_s"])]:
        assert abs(week[label] - seconds / 60) < 1, (label, week[label], seconds)
    assert any(d["worn_s"] % 60 for d in exact["days"])  # the JSON keeps exact seconds

    page = render_html(report, TZ)
    cells = re.findall(r"<tr(?: class=\"[^\"]*\")?>((?:<td>[^<]*</td>)+)</tr>", page)
    rows_ = [re.findall(r"<td>([^<]*)</td>", c) for c in cells]
    numbers = {r[0].replace("seated (sitting upright + slouching)", "seated"): r[1] for r in rows_ if len(r) == 3}
    shown = _where_the_time_went({k: v for k, v in numbers.items() if not k.startswith(("break", "slouch", "trunk"))})
    assert shown == {k: v for k, v in week.items() if k != "unseen in all"}  # the same minutes as the text
    head = re.findall(r"<th>([^<]*)</th>", page.split('<table class="week">')[1].split("</tr>")[0])
    _columns_add_up([r for r in rows_ if len(r) == len(head)], head, ("worn", "seated", "unseen"))

    for d in exact["days"]:                         # each day's own report adds up too
        if d["recorded_s"]:
            day = date.fromisoformat(d["date"])
            with open_store(db) as store:
                one = build_report(load_rows(store, day, day, TZ), now=NOW, tz=TZ, kind="day")
            lines = render_text(one, TZ).splitlines()
            _where_the_time_went({r[0]: r[1] for r in block("Where the time went")})


def test_controlled_rounding_keeps_every_shown_sum_within_a_minute():
    """report.rounding on random tables (days x states, some empty): every cell and every shown sum
    (a group of columns in a row, or over all rows) is its exact value rounded down or up, and the
    shown sums are sums of the shown cells; alone, a time rounds to the nearest minute, halves
    down."""
    from sensorback.report.rounding import controlled_round

    groups = [[0, 1], [0, 1, 2, 3, 4], [5, 6, 7]]           # seated, worn, unseen (compute._TIME_GROUPS)
    rng = np.random.default_rng(7)
    for _ in range(40):
        exact = rng.uniform(0, 6 * 3600, size=(7, 8)) * (rng.random((7, 8)) < 0.7)
        shown = controlled_round(exact, groups)
        assert np.all(shown % 60 == 0)
        for g in groups + [[c] for c in range(8)] + [list(range(8))]:
            for rows in [[r] for r in range(7)] + [list(range(7))]:
                e, s = exact[np.ix_(rows, g)].sum() / 60, shown[np.ix_(rows, g)].sum() / 60
                assert math.floor(e) <= s <= math.ceil(e), (rows, g, e, s)
    assert [controlled_round(np.array([[s]]), [])[0, 0] for s in (0, 29.9, 30, 89, 90, 95, 120)] == [
        0, 0, 0, 60, 60, 120, 120]
    # three 40 s parts make 2 min: two of them show 1 min, not all three (or none)
    assert sorted(controlled_round(np.array([[40.0, 40.0, 40.0]]), [[0, 1, 2]])[0]) == [0, 60, 60]
    # the sum of more cells first: 30 + 90 + 120 + 95 s make 5.6 min, shown as 6 (not 5 as the
    # parts alone would, or 7)
    assert controlled_round(np.array([[30.0, 90.0, 120.0, 95.0]]), []).sum() == 360
    with pytest.raises(ValueError, match="nest"):
        controlled_round(np.zeros((2, 3)), [[0, 1], [1, 2]])


# ---------------------------------------------------------------------------------------- HTML

class _Page(HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "area", "base", "col", "embed", "source", "track", "wbr"}
    SVG_SELF = {"rect", "line", "circle", "path", "polyline"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.tags: dict[str, int] = {}
        self.svg_classes: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.attrs += [(k, v or "") for k, v in attrs]
        if tag == "svg":
            self.svg_classes.append(dict(attrs).get("class", ""))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.attrs += [(k, v or "") for k, v in attrs]

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def check_html(page: str, timelines: int, bars: int) -> _Page:
    assert page.startswith("<!DOCTYPE html>")
    p = _Page()
    p.feed(page)
    p.close()
    assert not p.errors, p.errors[:5]
    assert p.stack == [], p.stack
    assert p.tags.get("html") == 1 and p.tags.get("style") == 1 and p.tags.get("body") == 1
    # timelines and the pain chart are drawn twice, for a wide and a narrow page; bar charts once
    assert p.svg_classes.count("chart timeline") == 2 * timelines
    assert p.svg_classes.count("chart bars") == bars
    assert p.svg_classes.count("chart pain") == 2
    assert p.tags.get("rect", 0) > 10
    assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags and "iframe" not in p.tags
    assert not [a for a in p.attrs if a[0] in ("src", "href")]
    low = page.lower()
    assert "http" not in low and "src=" not in low and "url(" not in low and "@import" not in low
    return p


def test_day_html_is_one_self_contained_page(db, tmp_path):
    scripted_day(db)
    with open_store(db) as store:
        store.add_pain_checkin(local(DAY, 12), 3)
        rows = load_rows(store, DAY, DAY, TZ)
    report = build_report(rows, now=NOW, tz=TZ, kind="day")
    page = render_html(report, TZ)
    p = check_html(page, timelines=2, bars=0)   # the 24 hours and a close-up of 08:00-15:00
    assert "Close-up of 08:00 to 15:00" in page
    assert p.tags.get("path", 0) >= 3            # a mark per break prompt
    assert "break prompt" in page and "Stop any exercise that causes sharp pain." in page


@pytest.fixture(scope="module")
def chromium():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _chromium import Browser

    if Browser.find() is None:
        pytest.skip("no Chromium here (apt-get install chromium, or set $CHROMIUM)")
    with Browser(timeout_s=180) as browser:
        yield browser


@pytest.mark.parametrize("kind", ["day", "week"])
def test_html_fits_a_phone_and_a_desktop(kind, db, tmp_path, chromium):
    """In headless Chromium at 1280 and 400 CSS px: no sideways scrolling, the whole day (or week)
    in view, every chart inside the screen with text drawn at 9 px or more."""
    if kind == "day":
        scripted_day(db)
        first = last = DAY
    else:
        build_week(db)
        first, last = WEEK_END - timedelta(days=6), WEEK_END
    with open_store(db) as store:
        store.add_pain_checkin(local(last, 12), 3)
        rows = load_rows(store, first, last, TZ)
    page = tmp_path / f"{kind}.html"
    page.write_text(render_html(build_report(rows, now=NOW, tz=TZ, kind=kind), TZ), encoding="utf-8")
    want = {"timeline": 2 if kind == "day" else 1, "pain": 1, **({"bars": 3} if kind == "week" else {})}
    for width in (1280, 400):
        m = chromium.open(page.resolve().as_uri(), width).metrics
        assert m["viewport"] == width and m["scroll_width"] <= width, (width, m["scroll_width"])
        charts = m["charts"]
        shown = {k: sum(c["kind"] == k for c in charts) for k in want}
        assert shown == want, (width, charts)  # one drawing of each chart, not both
        for c in charts:
            assert 0 <= c["left"] and c["right"] <= width, (width, c)
            assert c["text_px"] >= 9, (width, c)
        timelines = [c for c in charts if c["kind"] == "timeline"]
        assert min(c["width"] for c in timelines) >= 0.8 * (width if width < 1000 else 952), (width, timelines)


def test_minute_bins_cover_the_day():
    from sensorback.report.html import NOT_RECORDED, minute_bins

    start, end = day_bounds(DAY, TZ)
    origin = start.timestamp()
    day = compute.Day(DAY, start, end, compute.Numbers(),
                      segments=[(origin + 3600, origin + 3600 + 125, CODE["sitting"]),
                                (origin + 3725, origin + 3800, CODE["moving"])])
    bins = minute_bins(day)
    assert bins[0] == (0.0, 3600.0, NOT_RECORDED)
    assert bins[1] == (3600.0, 3720.0, CODE["sitting"])   # the third minute is mostly moving
    assert bins[2] == (3720.0, 3780.0, CODE["moving"])
    assert bins[-1][1] == 86400.0


def test_report_words_are_our_own(db, week):
    """No run of 6 words in the text or HTML report comes from the source article."""
    article = SHARED / "seed" / "lower-back-exercises-article.txt"
    if not article.exists():
        pytest.skip("the source article is not on this machine")

    def shingles(text: str) -> set:
        words = re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))
        return {tuple(words[i:i + 6]) for i in range(len(words) - 5)}

    with open_store(db) as store:
        store.add_pain_checkin(local(WEEK_END, 8), 8, bladder=True, fever=True, weight_loss=True, numbness=True)
        rows = load_rows(store, WEEK_END - timedelta(days=6), WEEK_END, TZ)
    report = build_report(rows, now=NOW, tz=TZ, kind="week")
    page = re.sub(r"<[^>]+>", " ", render_html(report, TZ))
    source = shingles(article.read_text(encoding="utf-8"))
    for text in (render_text(report, TZ), page):
        assert not shingles(text) & source


# ----------------------------------------------------------------------------------- no data

def test_missing_default_database_is_a_friendly_message_and_is_not_created(tmp_path, berlin, monkeypatch):
    monkeypatch.delenv("SENSORBACK_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for args in ([], ["--json"], ["--week"]):
        r = runner.invoke(app, ["report", *args])
        assert r.exit_code == 0, r.output
        assert "Nothing is recorded" in r.stdout
    assert not (tmp_path / "data").exists()
    got = json.loads(runner.invoke(app, ["report", "--json"]).stdout)
    assert got["database_empty"] and not got["has_data"] and got["totals"]["recorded_s"] == 0


def test_a_named_database_that_does_not_exist_is_an_error_not_an_empty_report(tmp_path, monkeypatch):
    """--db names a database for this run: a missing one is a typo. $SENSORBACK_DB says where the
    user's data go, like the default database: before anything is stored there, the report says so."""
    typo = tmp_path / "typo.db"
    one_line_error(runner.invoke(app, ["report", "--db", str(typo)]), f"--db: there is no database {typo} (")
    monkeypatch.setenv("SENSORBACK_DB", str(typo))
    r = runner.invoke(app, ["report"])
    assert r.exit_code == 0 and "Nothing is recorded" in r.stdout, r.output
    assert not typo.exists()


def test_empty_database_and_a_day_without_data(db, tmp_path, berlin):
    open_store(db).close()
    r = runner.invoke(app, ["report", "--day", "2024-03-05", "--db", db])
    assert r.exit_code == 0, r.output
    assert "Nothing is recorded" in r.stdout
    scripted_day(db)
    r = runner.invoke(app, ["report", "--day", "2024-03-01", "--db", db])
    assert r.exit_code == 0, r.output
    assert "No sensor data for Friday 1 March 2024: nothing was recorded then." in r.stdout
    out = tmp_path / "empty.html"
    r = runner.invoke(app, ["report", "--day", "2024-03-01", "--db", db, "--html", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert "No sensor data" in page and "timeline" not in page
    p = _Page()
    p.feed(page)
    assert not p.errors and "http" not in page


def test_a_day_without_data_names_the_nearest_days_with_data(db, berlin):
    scripted_day(db)  # sessions on DAY - 1 (from 23:50), DAY and DAY + 1 (00:00 - 00:05)
    later = (DAY + timedelta(days=5)).isoformat()
    r = runner.invoke(app, ["report", "--day", later, "--db", db])
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    nearest = (DAY + timedelta(days=1)).isoformat()
    assert ("The nearest day with sensor data: Wednesday 6 March 2024; see it with "
            f"'sensorback report --day {nearest} --db {db}'.") in text  # the command shows this database
    r = runner.invoke(app, ["report", "--week", "--day", (DAY + timedelta(days=14)).isoformat(), "--db", db])
    assert ("The nearest day with sensor data: Wednesday 6 March 2024; see it with "
            f"'sensorback report --week --day {nearest} --db {db}'.") in " ".join(r.stdout.split())
    earlier = (DAY - timedelta(days=3)).isoformat()
    got = json.loads(runner.invoke(app, ["report", "--day", earlier, "--db", db, "--json"]).stdout)
    assert got["nearest_days_with_data"] == {"before": None, "after": (DAY - timedelta(days=1)).isoformat()}
    with open_store(db) as store:  # both sides: both named, the closer one to look at
        world = World(store)
        world.session(local(DAY + timedelta(days=9), 9), [("sitting", 60)], coach=False)
    r = runner.invoke(app, ["report", "--day", (DAY + timedelta(days=7)).isoformat(), "--db", db])
    text = " ".join(r.stdout.split())
    assert ("The nearest days with sensor data: Wednesday 6 March 2024 (before) and Thursday 14 March 2024 "
            f"(after); see it with 'sensorback report --day 2024-03-14 --db {db}'.") in text
    r = runner.invoke(app, ["report", "--day", DAY.isoformat(), "--db", db, "--json"])
    assert json.loads(r.stdout)["nearest_days_with_data"] == {"before": None, "after": None}  # it has data


def test_today_so_far_counts_only_the_hours_gone(db):
    now = local(DAY, 10, 30).astimezone(timezone.utc)
    with open_store(db) as store:
        World(store).session(local(DAY, 8), [("sitting", 3600)], coach=False)
        rows = load_rows(store, DAY, DAY, TZ)
    t = build_report(rows, now=now, tz=TZ).to_dict()["totals"]
    assert t["span_s"] == 10.5 * 3600 and t["not_recorded_s"] == 9.5 * 3600


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("value, fragment", [
    ("2024-13-01", "not a real date"), ("2024-02-30", "not a real date"), ("05/03/2024", "YYYY-MM-DD"),
    ("tomorrow", "YYYY-MM-DD"), ("2999-01-01", "in the future"), ("", "YYYY-MM-DD"),
])
def test_bad_day_is_one_line(db, value, fragment):
    one_line_error(runner.invoke(app, ["report", "--day", value, "--db", db]), "--day", fragment)


def test_missing_database_folder_and_html_folder_are_one_line(tmp_path):
    one_line_error(runner.invoke(app, ["report", "--db", str(tmp_path / "no" / "such" / "x.db")]),
                   f"--db: there is no folder {tmp_path / 'no' / 'such'} (create it first)")
    assert not (tmp_path / "no").exists()
    one_line_error(runner.invoke(app, ["report", "--db", str(tmp_path / "x.db"), "--html",
                                       str(tmp_path / "nope" / "r.html")]),
                   f"--html: there is no folder {tmp_path / 'nope'} (create it first)")
    one_line_error(runner.invoke(app, ["report", "--db", str(tmp_path / "x.db"), "--html", str(tmp_path)]),
                   "--html", "is a folder")


def test_missing_database_folder_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SENSORBACK_DB", str(tmp_path / "gone" / "x.db"))
    one_line_error(runner.invoke(app, ["report"]), f"$SENSORBACK_DB: there is no folder {tmp_path / 'gone'} (create")


def test_parse_day_and_at():
    now = datetime(2024, 3, 5, 9, 0, tzinfo=timezone.utc)   # 10:00 in Berlin
    assert parse_day(None, now=now, tz=TZ) == date(2024, 3, 5)
    assert parse_day("yesterday", now=now, tz=TZ) == date(2024, 3, 4)
    assert parse_day("2024-3-1", now=now, tz=TZ) == date(2024, 3, 1)
    assert parse_at(None, now=now, tz=TZ) == now
    assert parse_at("09:15", now=now, tz=TZ) == local(date(2024, 3, 5), 9, 15)
    assert parse_at("23:30", now=now, tz=TZ) == local(date(2024, 3, 4), 23, 30)   # still ahead today: last night
    assert parse_at("yesterday 18:00", now=now, tz=TZ) == local(date(2024, 3, 4), 18)
    assert parse_at("2024-03-01 07:05", now=now, tz=TZ) == local(date(2024, 3, 1), 7, 5)
    assert parse_at("2024-03-01T07:05:00Z", now=now, tz=TZ) == datetime(2024, 3, 1, 7, 5, tzinfo=timezone.utc)
    for bad in ("25:00", "noon", "2024-03-09 10:00", "today 11:00", "yesterday"):
        with pytest.raises(SensorbackError, match="--at"):
            parse_at(bad, now=now, tz=TZ)


# -------------------------------------------------------------------------------- end to end

def test_analyze_and_report_json_name_long_bouts_alike(tmp_path, berlin):
    """One concept, one name: the seated bouts lasting at least the long-bout threshold are
    `seated.long_bouts` in `analyze --json` and in `report --json` for the same recording (the
    report said `bouts_30_min_or_more`, wrong whenever the threshold is not 30), with the
    threshold beside them, and the same counts. The rules both state (the break's and the long
    bout's thresholds) have the same names, units and values in both (analyze's said
    long_bout_min_s, in seconds, where the report says long_bout_min, in minutes)."""
    from sensorback import sim
    from sensorback.formats import write_native

    start = local(DAY, 9)
    block, _ = sim.simulate("desk-day", seed=3, rate_hz=20, duration_s=3 * 3600, start_time=start)
    rec, url = tmp_path / "day.sbr", "sqlite:///" + str(tmp_path / "day.db")
    write_native(block, rec)
    analyzed = runner.invoke(app, ["analyze", str(rec), "--json"])
    assert analyzed.exit_code == 0, analyzed.output
    assert runner.invoke(app, ["replay", str(rec), "--db", url]).exit_code == 0
    reported = runner.invoke(app, ["report", "--day", DAY.isoformat(), "--db", url, "--json"])
    assert reported.exit_code == 0, reported.output
    a = json.loads(analyzed.stdout)["summary"]["seated"]
    report = json.loads(reported.stdout)
    r = report["totals"]["seated"]
    for seated in (a, r):
        assert "bouts_30_min_or_more" not in seated
        assert seated["long_bout_min"] == 30
    assert a["long_bouts"] == r["long_bouts"] > 0
    assert a["bouts"] == r["bouts"]
    thresholds = {k: v for k, v in a["rules"].items() if isinstance(v, (int, float))}
    assert thresholds == {"break_min_s": 60, "long_bout_min": 30}
    assert thresholds == {k: report["rules"][k] for k in thresholds}


def test_simulated_day_matches_the_per_recording_summary(db):
    """Simulator -> core -> coach -> store -> report gives the numbers of sensorback.summary for
    the same epochs (one recording, no gaps)."""
    from sensorback import sim
    from sensorback.core import analyze
    from sensorback.summary import summarize

    block, _ = sim.simulate("desk-day", seed=3, rate_hz=20, duration_s=3 * 3600)
    epochs = analyze(block).epochs
    events = run_coach(epochs)
    with open_store(db) as store:
        with store.recorder(max_seconds=None, max_epochs=50_000) as rec:
            rec.begin_session(device=block.device, source="sim", start=local(DAY, 9), rate_hz=block.rate_hz)
            rec.add_epochs(epochs)
            rec.add_events(events)
            rec.end_session()
    got = report_dict(db, DAY, DAY, "day")["totals"]
    s = summarize(epochs)
    assert got["seated"]["bouts"] == s.n_bouts and got["seated"]["breaks"] == s.breaks
    assert got["seated"]["longest_bout_s"] == pytest.approx(s.longest_bout_s)
    assert got["seated"]["long_bouts"] == s.long_bouts
    assert got["worn_s"] == pytest.approx(s.worn_s) and got["recorded_s"] == pytest.approx(s.total_s)
    # every state alone, and the seated total (sitting + slouching), are the same figures in both
    assert got["states_s"] == pytest.approx(s.state_s)
    assert got["seated"]["seated_s"] == pytest.approx(s.seated_s)
    assert s.seated_s == pytest.approx(s.state_s["sitting"] + s.state_s["slouching"])
    assert s.seated_s > s.state_s["sitting"] > 0
    assert got["seated"]["slouching_s"] == pytest.approx(s.state_s["slouching"])
    assert got["seated"]["slouch_share"] == pytest.approx(s.slouch_share, abs=1e-6)
    for thr, sec in s.flexed_s.items():
        assert got["flexed_s"][f"over_{thr}_deg"] == pytest.approx(sec)
    kinds = [e.kind for e in events]
    assert got["coach"]["prompts"] == kinds.count("break_prompt") > 0
    assert got["coach"]["slouch_nudges"] == kinds.count("slouch_nudge")
    assert got["coach"]["outcomes"]["heeded"] == sum(1 for e in events if e.outcome == "heeded")


# ------------------------------------------------------------------------ sessions without epochs

def test_a_session_whose_last_epoch_crosses_midnight_is_not_called_empty_the_next_day(db):
    """Its epochs all start on the day before (the last one ends 0.5 s into the next day): the next
    day's report has no data of it, but must not name it 'stopped before its first epoch'. It did,
    judging emptiness by the period's epochs."""
    with open_store(db) as store:
        World(store).session(datetime(2024, 3, 4, 23, 59, 29, 500000, tzinfo=TZ), [("sitting", 31)], coach=False)
        report = build_report(load_rows(store, DAY, DAY, TZ), now=NOW, tz=TZ)
        assert len(store.sessions(*day_bounds(DAY, TZ))) == 1  # it overlaps the day
    assert report.to_dict()["sessions_without_epochs"] == []
    assert not any("before its first epoch" in m for m in report.messages)


def test_an_unfinished_session_without_epochs_is_reported_not_a_crash(db):
    """A session begun and never ended, without an epoch (a replay killed before its first flush, or
    a monitor just starting): report --json gave a traceback on its missing end. Its end is null,
    and the note says what may have happened; the text and HTML render."""
    with open_store(db) as store:
        rec = store.recorder(max_seconds=None, max_epochs=100_000)
        # an import is claimed (its row written, unfinished) as it begins
        rec.begin_session(device="test", source="test", start=local(DAY, 9), rate_hz=50.0, epoch_s=1.0,
                          content_hash="0" * 64)
        report = build_report(load_rows(store, DAY, DAY, TZ), now=NOW, tz=TZ)
    (empty,) = report.to_dict()["sessions_without_epochs"]
    assert empty["end"] is None and empty["start"].startswith("2024-03-05T08:00:00")
    json.dumps(report.to_dict())
    (note,) = [m for m in report.messages if "has no epochs" in m]
    assert "has not ended" in note and "09:00:00" in note
    text = " ".join(render_text(report).split())  # (the text wraps its lines)
    assert "Nothing has been classified on any other day" in text and "has not ended" in text
    assert "has not ended" in render_html(report)


def test_a_report_on_an_empty_database_file_writes_nothing_into_it(tmp_path, berlin):
    """A database file made empty beforehand (touch back.db): a report said 'Nothing is recorded'
    but wrote sensorback's schema into it, switched it to WAL and made it 0600 on the way, all
    writes a report must not make. It now reads it as the empty store it is and leaves it alone."""
    path = tmp_path / "back.db"
    path.touch()
    os.chmod(path, 0o644)
    for args in (["--day", "2024-03-05"], ["--json"], ["--week"]):
        r = runner.invoke(app, ["report", *args, "--db", str(path)])
        assert r.exit_code == 0, r.output
        assert "Nothing is recorded" in r.stdout or json.loads(r.stdout)["database_empty"]
    assert path.stat().st_size == 0 and oct(path.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back.db"]


@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_a_report_leaves_a_current_database_as_it_was(tmp_path, berlin, mode):
    """A report only reads: a database sensorback wrote, in the rollback-journal mode another tool
    (sqlite3, a backup) may have left it in, was switched to WAL by every report, a write to the
    file (its header) the user did not ask for. Its bytes, modification time, mode bits and
    journal mode are now as they were, and no -wal or -shm file is left beside it."""
    path = tmp_path / "back.db"
    with open_store(str(path)) as store:  # a writer: WAL, 0600
        store.add_pain_checkin(local(DAY, 9), 3)
    conn = sqlite3.connect(path)
    assert conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0] == mode
    conn.close()
    os.chmod(path, 0o644)
    before = files_as_they_are(tmp_path)
    assert list(before) == ["back.db"]
    for args in (["--day", "2024-03-05"], ["--day", "2024-03-05", "--json"], ["--week", "--day", "2024-03-05"]):
        r = runner.invoke(app, ["report", *args, "--db", str(path)])
        assert r.exit_code == 0, r.output
        assert "3/10" in r.stdout or json.loads(r.stdout)["days"][0]["pain_scores"] == [3]
    assert files_as_they_are(tmp_path) == before
    assert journal_mode(path) == mode


def empty_sqlite_file(path: Path, how: str) -> None:
    """A valid SQLite database without a single table that is not a 0-byte file."""
    conn = sqlite3.connect(path)
    if how == "vacuum":  # what `sqlite3 back.db vacuum` leaves: a 4096-byte header page
        conn.execute("VACUUM")
    elif how == "user_version":
        conn.execute("PRAGMA user_version = 7")
    elif how == "dropped":  # a table made and dropped again: 8192 bytes, one free page
        conn.execute("CREATE TABLE scratch (a)")
        conn.execute("DROP TABLE scratch")
    elif how == "wal":  # switched to WAL by another tool, nothing in it
        conn.execute("PRAGMA journal_mode = WAL")
    conn.commit()
    conn.close()
    assert path.stat().st_size > 0


@pytest.mark.parametrize("how", ["vacuum", "user_version", "dropped", "wal"])
def test_a_report_on_an_empty_sqlite_database_writes_nothing_into_it(tmp_path, berlin, how):
    """An SQLite file without a table that is more than 0 bytes (`sqlite3 back.db vacuum`, a
    dropped table) was given sensorback's whole schema by a report (and switched to WAL); only a
    0-byte file was read as the empty store it is. No schema revision and no tables is now an
    empty store whatever the file's size: the report says nothing is recorded and writes nothing."""
    path = tmp_path / "back.db"
    empty_sqlite_file(path, how)
    os.chmod(path, 0o644)
    before = files_as_they_are(tmp_path)
    mode = journal_mode(path)
    assert files_as_they_are(tmp_path) == before
    for args in (["--day", "2024-03-05"], ["--json"], ["--week"]):
        r = runner.invoke(app, ["report", *args, "--db", str(path)])
        assert r.exit_code == 0, r.output
        assert "Nothing is recorded" in r.stdout or json.loads(r.stdout)["database_empty"]
    assert files_as_they_are(tmp_path) == before
    assert journal_mode(path) == mode
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    conn.close()
