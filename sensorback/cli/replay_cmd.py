"""``sensorback replay``: a recording through the core, the coach and the store, printing what the
coach says at the moment it would have said it.

Importing this module registers the command on the main typer ``app`` (app.py does that with one
import line). The replay itself is ``sensorback.replay.FileReplay`` (over ``sensorback.replay.replay``);
this module checks the arguments, opens the database and the events file, shows progress, prints,
and turns Ctrl-C into exit code 130 (a kill: 143, a closed terminal: 129).
"""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import SensorbackError
from . import _args
from ._options import (CALIBRATION_OPTION, CSV_RATE_OPTION, DB_OPTION, FORWARD_WINDOW_OPTION, READ_FORMATS,
                       REFERENCE_WINDOW_OPTION, SPEED_FLOOR, STAND_WINDOW_OPTION)
from ._progress import Progress, clear_active, interactive
from ._runtime import stopped_said
from ._app import app
from .coach_cmds import SET_OPTION, coach_settings


def parse_speed(text: str | None) -> float | None:
    """'max' -> None (as fast as possible); '50', '50x', '0.5' -> 50.0, 50.0, 0.5."""
    if text is None or text.strip().lower() == "max":
        return None
    return _args.parse_times_real_time(text, "50", or_max=True)


def parse_snoozes(items: list[str] | None) -> list[tuple[float, float | None]]:
    """['1900', '2500:20'] -> [(1900.0, None), (2500.0, 20.0)]: snooze at recording second T, for
    MIN minutes of sitting (default: the snooze_min setting). Whether T is within the recording is
    checked once it is loaded (_args.check_times_inside)."""
    out: list[tuple[float, float | None]] = []
    for item in items or ():
        at, sep, minutes = item.partition(":")
        try:
            t = float(at)
            m = float(minutes) if sep else None
        except ValueError:
            t = math.nan
            m = None
        if not math.isfinite(t) or (sep and not (m is not None and math.isfinite(m) and 0 < m <= 1440)):
            raise SensorbackError(
                f"--snooze: expected SECONDS or SECONDS:MINUTES (minutes above 0, at most 1440), e.g. 1900:20, "
                f"got '{item}'")
        out.append((t, m))
    return out


class _EventSink:
    """Each coach event: a row in the events file (flushed at once), and a printed line for the
    kinds a person is shown."""

    def __init__(self, path: Optional[Path]):
        from ..formats.events_csv import EventsFile

        self.path = path
        self.file = EventsFile(path) if path is not None else None

    def __call__(self, event) -> None:
        from ..replay import PRINTED_KINDS, event_line

        if self.file is not None:
            self.file.write(event)
        if event.kind in PRINTED_KINDS:
            clear_active()
            typer.echo(event_line(event))

    def close(self, replayed: bool = True) -> None:
        """Put the events file in place; when nothing was replayed (a failure or Ctrl-C before the
        replay began), remove it instead, so that an earlier events file stays as it was."""
        if self.file is not None:
            if replayed:
                self.file.close()
            else:
                self.file.discard()


def _check_events_path(events: Path, recording: Path, database: Path | None) -> None:
    if events.exists() and events.resolve() == recording.resolve():
        raise SensorbackError(f"--events: {events} is the recording itself; choose another name")
    _args.check_apart_from_db("--events", events, database, "the replay")
    _args.check_output("--events", events, replaces="events", example="events.csv")


@app.command(
    "replay",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback replay recordings/demo.sbr\n"
        "  sensorback replay day.sbr --speed 60 --events day.events.csv\n"
        "  sensorback replay day.sbr --db ~/back.db --set sit_limit_min=45\n"
        "  sensorback replay day.sbr --snooze 1900:20 --replace\n"
        "  sensorback replay subject01.csv.gz --start '2024-03-05 08:30'\n\n"
        "Times are the recording's own (00:31:02 is 31 min 2 s after its first sample). All timing "
        "inside is sample time, so the prompts, nudges and stored rows are the same at every --speed; "
        "pacing only changes when they are printed. The events file has exactly the columns "
        "t,kind,detail (t in seconds). Replaying a recording that is already in the database prints "
        "the events again but stores nothing (--replace stores this replay in its place). Ctrl-C "
        "stores what was processed so far and exits with code 130 (a kill, SIGTERM: 143). A recording without a start time "
        "(a CSV with t in seconds) is stored as ending at the moment of the replay, with a note, unless "
        "--start gives its start."
    ),
)
def replay_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help=f"Recording to replay {READ_FORMATS}.", show_default=False,
                             readable=False)
    ],
    speed: Annotated[
        str,
        typer.Option("--speed", metavar="N|max",
                     help=f"Pace the replay at N times real time (1 = live pace), {SPEED_FLOOR}, or 'max': as "
                     "fast as possible."),
    ] = "max",
    db: Annotated[Optional[str], DB_OPTION] = None,
    events: Annotated[
        Optional[Path],
        typer.Option("--events", metavar="OUT.csv", help="Also write one CSV row per coach event (t,kind,detail; OUT.csv.gz is "
                     "gzip-compressed). "
                     "An existing OUT is replaced only if it is an events file sensorback wrote (never a recording).",
                     show_default=False, readable=False),
    ] = None,
    reference_window: Annotated[Optional[str], REFERENCE_WINDOW_OPTION] = None,
    forward_window: Annotated[Optional[str], FORWARD_WINDOW_OPTION] = None,
    stand_window: Annotated[Optional[str], STAND_WINDOW_OPTION] = None,
    calibration: Annotated[Optional[str], CALIBRATION_OPTION] = None,
    rate: Annotated[Optional[float], CSV_RATE_OPTION] = None,
    set_flags: Annotated[Optional[list[str]], SET_OPTION] = None,
    snooze: Annotated[
        Optional[list[str]],
        typer.Option("--snooze", metavar="SECONDS[:MIN]",
                     help="Act as if the wearer snoozed break prompts at that recording second, for MIN "
                     "minutes of sitting (default: the snooze_min setting). Repeatable.", show_default=False),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Store this replay even if the recording is already in the "
                           "database, replacing the earlier session (e.g. after changing coach settings).")
    ] = False,
    start: Annotated[
        Optional[str],
        typer.Option("--start", metavar="TIME",
                     help="When the recording started, local time: 'YYYY-MM-DD HH:MM[:SS]', only for a "
                     "recording without its own start time (a CSV with t in seconds). Default: stored "
                     "as ending now, with a note.", show_default=False),
    ] = None,
):
    """Replay a recording through the coach and the store, printing each prompt and nudge."""
    started = time.perf_counter()
    pace = parse_speed(speed)
    windows = _args.told_windows(reference_window, forward_window, stand_window)
    _args.check_rate("--rate", rate)
    settings = coach_settings(set_flags)
    snoozes = parse_snoozes(snooze)
    _args.check_input_file(file)
    stored = _args.stored_calibration(calibration, windows)

    from ..core import CoreOptions
    from ..replay import recording_start
    from ..report.when import parse_at
    from ..sources import open_source

    began = parse_at(start, "--start") if start is not None else None
    target, given = _args.check_db(db)
    if events is not None:
        _check_events_path(events, file, target.sqlite_path)
    source = open_source(file=file, speed=pace, rate_hz=rate)  # an unknown file type: before the database opens
    show = interactive()

    def reading() -> Progress:
        """The line while the file is read: 'reading FILE [###.....]  30%' (formats.load's bytes)."""
        return Progress(f"reading {file}", enabled=show)

    read_early = None
    # A --rate the file does not take (it has its own timestamps), a --start it does not take (it has
    # its own start): refused before the database opens, so the file is read now, once, with its bar.
    if rate is not None or began is not None:
        with reading() as progress:
            read_early = source.load(progress.update)
    options = CoreOptions(**windows)
    placement = None  # without --start, FileReplay.begin places the recording (when it claims the session)
    if began is not None:
        placement = recording_start(read_early, file, began, epoch_s=options.epoch_s)

    from ..replay import FileReplay
    from ..store import open_store

    # the store is given to job.begin: loading and calibrating do not touch it
    job = FileReplay(source, None, options, settings, stored=stored, snoozes=snoozes, replace=replace, db=db,
                     started=started, placement=placement)

    def opened():
        t = time.perf_counter()
        store = open_store(db)
        job.timings["open_db"] = time.perf_counter() - t  # importing the database libraries included
        return store

    # An existing database (or a server) is opened first, so that a locked, read-only or foreign one is
    # refused before a long load; a new file only once the recording has loaded (none left by a bad one).
    store = None if _args.creates_db(target, given) else opened()
    sink: Optional[_EventSink] = None
    replayed = False  # the replay began: its events file is kept, whatever ends it
    try:
        # the file is read here unless it was above (then job.load is at once: the next phase shows)
        with reading() if read_early is None else Progress(f"calibrating on {file}", enabled=show) as progress:
            block = job.load(progress.update)
            _args.check_windows_inside(windows, block.t, block.rate_hz, file)
            _args.check_times_inside("--snooze", [at for at, _ in snoozes], block.t, block.rate_hz, file)
            progress.update(0, label=f"calibrating on {file}", total=0)
            cal = job.calibrate()
            job.notes += _args.forward_advice(cal)
        if store is None:
            store = opened()
        sink = _EventSink(events)
        begun = job.begin(store)
        if begun.action != "new":  # skipped or replacing: worth knowing before a long replay starts
            typer.echo(begun.message, err=True)
        for note in job.start_notes:  # a guessed start, an overlap: before a long replay starts
            typer.echo(note, err=True)
        try:
            with Progress(f"replaying {file.name}", total=job.total_s, enabled=show) as progress:
                replayed = True
                result = job.run(on_event=sink, on_block=progress.update)
            if result.interrupted:  # the command is ending: a further Ctrl-C is ignored from here on, so
                # that one in the clean-up below does not cut off the line that says what was stored
                said, code = stopped_said(result.stopped_by or signal.SIGINT)
        except KeyboardInterrupt:
            # A further Ctrl-C after the replay had stopped, before the line above was reached (the
            # rest of job.run, the progress line's end): the job's result already says what was stored.
            result = job.result
            if result is None or not result.interrupted:
                raise
            said, code = stopped_said(result.stopped_by or signal.SIGINT)
    finally:
        if sink is not None:
            sink.close(replayed)
        job.close()
        if store is not None:
            store.close()

    if result.interrupted:
        typer.echo(job.interrupted_line(sink.path, said), err=True)
        raise typer.Exit(code)
    _args.warn_calibration_misfit(file, result.misfit)
    for line in job.summary_lines(sink.path):
        typer.echo(line)
    return result
