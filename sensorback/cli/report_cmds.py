"""``sensorback report`` and ``sensorback log``: what the user reads afterwards, and what they tell us.

Importing this module registers the commands on the main typer ``app`` (app.py does that with one
import line). The numbers come from ``sensorback.report``; this module only checks arguments,
opens the store, calls it and prints. Mistakes are one-line SensorbackErrors.
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import SensorbackError, naming
from ..private import Replacing
from . import _args
from ._options import DB_OPTION
from ._runtime import SensorbackTyper, help_filled_by
from ._app import app


_COMMON = dict(no_args_is_help=True, add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


# --------------------------------------------------------------------------------- the database

def _open_for_writing(db: Optional[str]):
    from ..store import open_store

    target, given = _args.check_db(db)
    _args.creates_db(target, given)  # a new database's folder is checked as any output's (read-only, say)
    return open_store(db)


def _open_for_reading(db: Optional[str], upgrade: bool = False):
    """The store, or None when the default SQLite database does not exist yet (a report never
    creates one); a database the user named with --db must exist. Opening it writes nothing
    (open_store(read_only=True): an empty database is read as an empty store, a schema of an older
    sensorback is refused), unless ``upgrade`` (--upgrade-db) asks to bring that schema up to date
    first, and it is older."""
    from ..store import open_store

    target, given = _args.check_db(db, must_exist=True)
    path = target.sqlite_path
    if path is not None and not target.read_only_uri and not path.exists():
        return None, target.name
    store = open_store(db, read_only=True, upgrade_old=upgrade)  # a database on a read-only mount can be read
    return store, store.name


# ------------------------------------------------------------------------------------ report

@app.command(
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback report                      # today so far\n"
        "  sensorback report --day 2024-05-03\n"
        "  sensorback report --day yesterday --json\n"
        "  sensorback report --week --html week.html\n"
        "  sensorback report --week --day 2024-05-05 --db ~/back.db\n\n"
        "Days are local calendar days; --week is the 7 days ending on --day (default today). "
        "Breaks are 60 s or more on your feet; time not worn, without usable data or not recorded "
        "counts as neither seated time nor a break and is shown as such. With --html the page is "
        "written instead of the text report (with --json the JSON is printed as well)."
    )
)
def report(
    day: Annotated[
        Optional[str],
        typer.Option("--day", metavar="DATE", help="The day, as YYYY-MM-DD, 'today' or 'yesterday'. Default: today."),
    ] = None,
    week: Annotated[bool, typer.Option("--week", help="The 7 days ending on --day, day by day.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report's numbers as JSON.")] = False,
    html: Annotated[
        Optional[Path],
        typer.Option("--html", metavar="OUT", help="Write the report as one self-contained HTML page. An "
                     "existing OUT is replaced only if it is a report sensorback wrote.", show_default=False,
                     readable=False),
    ] = None,
    db: Annotated[Optional[str], DB_OPTION] = None,
    upgrade_db: Annotated[
        bool,
        typer.Option("--upgrade-db", help="First upgrade a database written by an older sensorback to this "
                     "version's schema, keeping its data (a report otherwise writes nothing and refuses it)."),
    ] = False,
) -> None:
    """Seated time, breaks, slouching, trunk flexion, exercise and pain for a day or a week."""
    from ..report import build_report, load_rows, render_html, render_text
    from ..report.load import empty_rows
    from ..report.when import parse_day

    now = datetime.now(timezone.utc)
    last = parse_day(day, "--day", now=now)
    first = last - timedelta(days=6) if week else last
    if html is not None:
        _args.check_output("--html", html, replaces="report", example="report.html")

    store, name = _open_for_reading(db, upgrade=upgrade_db)
    if store is None:
        rows = empty_rows(first, last, name)
    else:
        with store:
            rows = load_rows(store, first, last)
    again = f"--db {shlex.quote(db)}" if db not in (None, "") else ""  # a suggested command shows this data too
    result = build_report(rows, now=now, kind="week" if week else "day", options=again)

    if html is not None:
        page = render_html(result)
        with naming(html), Replacing(html, "w", encoding="utf-8") as f:  # a full disk names the file
            f.write(page)
        typer.echo(f"wrote {html} ({len(page.encode()) // 1024 + 1} KB)", err=json_output)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    elif html is None:
        typer.echo(render_text(result))


# --------------------------------------------------------------------------------------- log

log_app = SensorbackTyper(
    name="log",
    help="Log an exercise you did, or how your back feels (a pain check-in).",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback log exercise cat-cow\n"
        "  sensorback log exercise \"child's pose\" --at 18:30\n"
        "  sensorback log pain 3\n"
        "  sensorback log pain 7 --radiating --note \"after the long drive\"\n"
        "  sensorback log pain 4 --at \"yesterday 21:00\"\n\n"
        "TIME is HH:MM (today, local time), 'yesterday HH:MM' or 'YYYY-MM-DD HH:MM'. Default: now."
    ),
    **_COMMON,
)

AT_OPTION = typer.Option("--at", metavar="TIME", help="When: HH:MM, 'yesterday HH:MM' or 'YYYY-MM-DD HH:MM'. "
                         "Default: now.", show_default=False)


def _goal_line(store, at: datetime, now: datetime) -> str:
    """The sessions in the 7 days ending on the day of the logged exercise (the report's exercise
    count for that day), against the goal: 'the last 7 days' when that day is today, else the
    7 days ending on it, named (a session logged for last month says nothing about this week).
    ``now``: the instant ``at`` was read against (one reading of the clock: read again, it may be
    past midnight, and an exercise logged now would be named as of yesterday)."""
    from ..report.compute import EXERCISE_GOAL, exercise_sessions
    from ..report.when import day_bounds, to_local

    today = to_local(now).date()
    last = min(to_local(at).date(), today)
    start = day_bounds(last - timedelta(days=6))[0]
    end = day_bounds(last)[1]
    n = len(exercise_sessions(store.exercises(start, end)))
    span = "the last 7 days" if last == today else f"the 7 days ending {last.isoformat()}"
    if n >= EXERCISE_GOAL:
        return f"Exercise sessions in {span}: {n} (goal {EXERCISE_GOAL} a week - reached)."
    return f"Exercise sessions in {span}: {n} of {EXERCISE_GOAL}."


@log_app.command(
    "exercise",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback log exercise cat-cow\n"
        "  sensorback log exercise \"child's pose\" --at 18:30\n"
        "  sensorback log exercise plank --at \"yesterday 07:15\" --db ~/back.db\n\n"
        "Case, spaces and apostrophes in NAME do not matter, and part of a name is enough when only "
        "one exercise has it ('hamstring'); 'sensorback exercises' lists the names. TIME is HH:MM "
        "(today, local time), 'yesterday HH:MM' or 'YYYY-MM-DD HH:MM'. Default: now. It then says "
        "how many exercise sessions the 7 days ending that day hold, against the weekly goal."
    ),
)
def log_exercise(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The exercise, e.g. cat-cow (see 'sensorback "
                                        "exercises').", show_default=False)],
    at: Annotated[Optional[str], AT_OPTION] = None,
    db: Annotated[Optional[str], DB_OPTION] = None,
) -> None:
    """Log an exercise you did (names are forgiving: case, spaces, a unique part)."""
    from ..coach import exercises as lib
    from ..report.redflags import SHARP_PAIN
    from ..report.when import format_local, parse_at

    ex = lib.get(name)
    now = datetime.now(timezone.utc)
    when = parse_at(at, "--at", now=now)
    with _open_for_writing(db) as store:
        store.add_exercise(when, ex.key, "manual")
        typer.echo(f"Logged {ex.name} at {format_local(when)}.")
        typer.echo(_goal_line(store, when, now))
    typer.echo(SHARP_PAIN)


def _score(text: str) -> int:
    t = text.strip()
    if not t.lstrip("-").isdigit() or not 0 <= int(t) <= 10:
        raise SensorbackError(f"SCORE: pain must be a whole number from 0 (none) to 10 (worst), got '{text}'")
    return int(t)


def _high_pain() -> str:
    from ..report.redflags import HIGH_PAIN

    return str(HIGH_PAIN)


def _persist_weeks() -> str:
    from ..report.redflags import PERSIST_DAYS

    return f"{PERSIST_DAYS // 7} weeks" if PERSIST_DAYS % 7 == 0 else f"{PERSIST_DAYS} days"


@log_app.command(
    "pain",
    cls=help_filled_by(high=_high_pain, weeks=_persist_weeks),
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback log pain 3\n"
        "  sensorback log pain 0 --note \"good day\"\n"
        "  sensorback log pain 7 --radiating --numbness\n"
        "  sensorback log pain 4 --at \"yesterday 21:00\"\n\n"
        "SCORE is a whole number from 0 (no pain) to 10 (worst imaginable). Each flag answers yes to "
        "one question; leave it out for no. Some answers, and pain of {high} or more (now, or for "
        "{weeks} running), get a plain note on how soon to see a professional. TIME is HH:MM (today, local "
        "time), 'yesterday HH:MM' or 'YYYY-MM-DD HH:MM'. Default: now."
    ),
)
def log_pain(
    score: Annotated[str, typer.Argument(metavar="SCORE", help="Pain now, 0 (none) to 10 (worst imaginable).",
                                         show_default=False)],
    radiating: Annotated[bool, typer.Option("--radiating", help="Pain shoots down a leg.")] = False,
    numbness: Annotated[bool, typer.Option("--numbness", help="Numbness or pins and needles.")] = False,
    fever: Annotated[bool, typer.Option("--fever", help="Fever or chills.")] = False,
    bladder: Annotated[bool, typer.Option("--bladder", help="Trouble controlling bladder or bowels.")] = False,
    weight_loss: Annotated[bool, typer.Option("--weight-loss", help="Losing weight without trying.")] = False,
    note: Annotated[Optional[str], typer.Option("--note", metavar="TEXT", help="A few words for yourself.")] = None,
    at: Annotated[Optional[str], AT_OPTION] = None,
    db: Annotated[Optional[str], DB_OPTION] = None,
) -> None:
    """Log a pain check-in; says plainly when your answers call for a professional."""
    from ..localday import today
    from ..report import redflags
    from ..report.when import format_local, parse_at

    value = _score(score)
    when = parse_at(at, "--at")
    answers = dict(radiating=radiating, numbness=numbness, fever=fever, bladder=bladder, weight_loss=weight_loss)
    with _open_for_writing(db) as store:
        store.add_pain_checkin(when, value, note=note, **answers)
        history = store.pain_checkins(redflags.history_start(today(when)),
                                      datetime.now(timezone.utc) + timedelta(minutes=2))
    flags = redflags.assess(value, [(c.at, c.score) for c in history if c.at <= when], **answers)
    extras = redflags.answered_yes(answers)
    typer.echo(f"Logged pain {value}/10 at {format_local(when)}" + (f" ({', '.join(extras)})" if extras else "") + ".")
    for f in flags:
        typer.echo(("! " if f.level != "advice" else "- ") + f.message)
    if flags:
        typer.echo(redflags.NOT_A_DIAGNOSIS)
    if redflags.suggests_exercise(flags) and value > 0:
        typer.echo("Gentle movement often helps a sore back: 'sensorback exercises' lists some to try. "
                   + redflags.SHARP_PAIN)


app.add_typer(log_app)
