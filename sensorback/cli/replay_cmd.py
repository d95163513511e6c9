"""``sensorback replay``: a recording through the core, the coach and the store, printing what the
coach says at the moment it would have said it.

Importing this module registers the command on the main typer ``app`` (app.py does that with one
import line). The wiring itself is ``sensorback.replay.replay``; this module checks the arguments,
opens the database and the events file, prints, and turns Ctrl-C into exit code 130.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import re
import sys
import time
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from ..errors import SensorbackError, naming
from ..private import open_private
from . import _args
from ._options import CALIBRATION_OPTION, CSV_RATE_OPTION, DB_OPTION, FORWARD_WINDOW_OPTION, REFERENCE_WINDOW_OPTION
from ._progress import Progress, clear_active, interactive
from ._runtime import EXIT_INTERRUPTED
from ._app import app
from .coach_cmds import SET_OPTION, coach_settings

EVENTS_HEADER = ("t", "kind", "detail")
#: Paced replays write to the database at least every this many wall seconds (and every 5 s of
#: samples at live pace), so a killed replay loses little; as fast as possible, in big batches.
PACED_WRITE_WALL_S = 1.0
FAST_BATCH_EPOCHS = 5000


def parse_speed(text: str | None) -> float | None:
    """'max' -> None (as fast as possible); '50', '50x', '0.5' -> 50.0, 50.0, 0.5."""
    if text is None or text.strip().lower() == "max":
        return None
    return _args.parse_times_real_time(text, "50", or_max=True)


def parse_snoozes(items: list[str] | None) -> list[tuple[float, float | None]]:
    """['1900', '2500:20'] -> [(1900.0, None), (2500.0, 20.0)]: snooze at recording second T, for
    MIN minutes of sitting (default: the snooze_min setting)."""
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


def _recorder_batching(speed: float | None) -> dict:
    if speed is None:
        return {"max_epochs": FAST_BATCH_EPOCHS, "max_seconds": None}
    from ..replay import block_seconds
    from ..store.recorder import LEASE_S

    # A very slow pace hands over a block (and writes) rarely: the claim on the session must
    # outlast three such waits.
    return {"max_epochs": FAST_BATCH_EPOCHS, "max_seconds": max(5.0, speed * PACED_WRITE_WALL_S),
            "lease_s": max(LEASE_S, 3 * block_seconds(speed) / speed)}


class _EventSink:
    """Each coach event: a row in the events file (flushed at once), and a printed line for the
    kinds a person is shown."""

    def __init__(self, path: Optional[Path]):
        self.path = path
        self.rows = 0
        self._fh = None
        self._writer = None
        if path is not None:
            with naming(path):  # a full disk names the file
                self._fh = open_private(path, "w", newline="", encoding="utf-8")
                self._writer = csv.writer(self._fh, lineterminator="\n")
                self._writer.writerow(EVENTS_HEADER)
                self._fh.flush()

    def __call__(self, event) -> None:
        from ..replay import PRINTED_KINDS, event_line

        if self._writer is not None:
            with naming(self.path):
                self._writer.writerow((f"{event.t:.3f}", event.kind, event.detail))
                self._fh.flush()
            self.rows += 1
        if event.kind in PRINTED_KINDS:
            clear_active()
            typer.echo(event_line(event))

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            with naming(self.path):
                fh.close()


def _tracked(blocks, progress: Progress, t0: float) -> Iterator:
    for block in blocks:
        yield block
        progress.update(float(block.t[-1]) - t0)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _report_line(result, started_at, db: Optional[str]) -> Optional[str]:
    """'  report:  sensorback report --day 2024-03-04': the local day(s) the epochs went to, as the
    command that shows them (a plain 'sensorback report' shows today)."""
    if started_at is None or result.t_start is None or result.t_end is None:
        return None
    import shlex
    from datetime import timedelta

    from ..report.when import local_days

    days = local_days(started_at + timedelta(seconds=result.t_start), started_at + timedelta(seconds=result.t_end))
    where = f" --db {shlex.quote(db)}" if db not in (None, "") else ""
    if len(days) == 1:
        return f"  report:  sensorback report --day {days[0].isoformat()}{where}"
    span = f"{days[0].isoformat()} to {days[-1].isoformat()}"
    if len(days) <= 7:
        return f"  report:  {span}: sensorback report --week --day {days[-1].isoformat()}{where}"
    return f"  report:  {span} ({len(days)} days): sensorback report --day DATE{where}, or --week --day DATE"


def _summary(path: Path, result, speed, store_name: str, begun, sink: _EventSink, notes: list[str]) -> list[str]:
    from ..timefmt import duration

    c = result.counts()
    wall = result.wall_s
    if speed is not None:
        how = f"paced at {speed:g}x real time"
    elif wall > 0 and result.duration_s > 0:
        how = f"as fast as possible: {result.duration_s / wall:,.0f}x real time"
    else:
        how = "as fast as possible"
    lines = [f"replayed {duration(result.duration_s)} of {path.name} in {wall:.2f} s ({how})"]
    if begun.action == "busy":
        lines.append(f"  epochs:  {result.epochs:,} processed, none stored: another sensorback is importing this "
                     f"recording into {store_name} right now (session {begun.existing.id})")
    elif begun.skipped:
        lines.append(f"  epochs:  {result.epochs:,} processed, none stored: {store_name} already holds this "
                     f"recording as session {begun.existing.id} (use --replace to store it again)")
    else:
        redo = f", replacing session {begun.existing.id}" if begun.action == "replace" else ""
        lines.append(f"  epochs:  {result.stored_epochs:,} stored in session {result.session_id} of "
                     f"{store_name}{redo}")
    outcomes = [f"{c[f'outcome:{o}']} {o}" for o in ("heeded", "ignored", "snoozed", "unknown") if c[f"outcome:{o}"]]
    prompts = _plural(c["break_prompt"], "break prompt") + (f" ({', '.join(outcomes)})" if outcomes else "")
    lines.append(f"  coach:   {prompts}; {_plural(c['break_verified'], 'break')}; "
                 f"{_plural(c['slouch_nudge'], 'slouch nudge')}"
                 + (f"; {_plural(c['snoozed'], 'snooze')}" if c["snoozed"] else ""))
    where = [] if begun.skipped else ["stored"]
    if sink.path is not None:
        where.append(f"written to {sink.path}")
    if where:
        lines.append(f"  events:  {_plural(len(result.events), 'event')} {' and '.join(where)}")
    lines += [f"  {n}" for n in notes]
    return lines


def _check_events_path(events: Path, recording: Path) -> None:
    if events.exists() and events.resolve() == recording.resolve():
        raise SensorbackError(f"--events: {events} is the recording itself; choose another name")
    if events.is_dir():
        raise SensorbackError(f"--events: {events} is a folder; give a file name, e.g. {events / 'events.csv'}")
    folder = events.parent
    if not folder.is_dir():
        raise SensorbackError(f"--events: cannot write {events}: there is no folder {folder}")


_KEPT = re.compile(r";\s*\d+ unwritten epochs? kept for a retry\s*$")


def _store_failure(e, rec) -> SensorbackError:
    """The store's one-line error, told for a replay that stops here (nothing is kept for a retry)."""
    text = _KEPT.sub("", str(e))
    written = rec.written_epochs if rec is not None else 0
    return type(e)(f"{text}; the replay stopped ({_plural(written, 'epoch')} stored before that)")


@app.command(
    "replay",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback replay recordings/demo.sbr\n"
        "  sensorback replay day.sbr --speed 60 --events day.events.csv\n"
        "  sensorback replay day.sbr --db ~/back.db --set sit_limit_min=45\n"
        "  sensorback replay day.sbr --snooze 1900:20 --replace\n\n"
        "Times are the recording's own (00:31:02 is 31 min 2 s after its first sample). All timing "
        "inside is sample time, so the prompts, nudges and stored rows are the same at every --speed; "
        "pacing only changes when they are printed. The events file has exactly the columns "
        "t,kind,detail (t in seconds). Replaying a recording that is already in the database prints "
        "the events again but stores nothing (--replace stores this replay in its place). Ctrl-C "
        "stores what was processed so far and exits with code 130."
    ),
)
def replay_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Recording to replay (.sbr, .csv, .csv.gz).", show_default=False)
    ],
    speed: Annotated[
        str,
        typer.Option("--speed", metavar="N|max",
                     help="Pace the replay at N times real time (1 = live pace), or 'max': as fast as possible."),
    ] = "max",
    db: Annotated[Optional[str], DB_OPTION] = None,
    events: Annotated[
        Optional[Path],
        typer.Option("--events", metavar="OUT.csv", help="Also write one CSV row per coach event (t,kind,detail).",
                     show_default=False),
    ] = None,
    reference_window: Annotated[Optional[str], REFERENCE_WINDOW_OPTION] = None,
    forward_window: Annotated[Optional[str], FORWARD_WINDOW_OPTION] = None,
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
):
    """Replay a recording through the coach and the store, printing each prompt and nudge."""
    started = time.perf_counter()
    pace = parse_speed(speed)
    ref = _args.parse_window("--reference-window", reference_window)
    fwd = _args.parse_window("--forward-window", forward_window)
    _args.check_rate("--rate", rate)
    settings = coach_settings(set_flags)
    snoozes = parse_snoozes(snooze)
    _args.check_input_file(file)
    stored = _args.stored_calibration(calibration, ref, fwd)

    from .. import formats
    from ..core import CoreOptions

    formats.kind_of(file)  # an unknown file type is reported before the database is opened
    if events is not None:
        _check_events_path(events, file)
    options = CoreOptions(reference_window=ref, forward_window=fwd)

    t = time.perf_counter()
    from ..core import calibrate
    from ..replay import block_seconds, replay, split_blocks
    from ..store import StoreError, file_digest, open_store

    show = interactive()
    store = open_store(db)
    open_s = time.perf_counter() - t  # importing the database libraries included
    sink: Optional[_EventSink] = None
    rec = None
    try:
        t = time.perf_counter()
        with Progress(f"loading {file}", enabled=show) as progress:
            block = formats.load(file, rate_hz=rate)
            _args.check_window_inside("--reference-window", ref, block.t, block.rate_hz, file)
            _args.check_window_inside("--forward-window", fwd, block.t, block.rate_hz, file)
            load_s = time.perf_counter() - t
            progress.update(0, label=f"calibrating on {file}")
            t = time.perf_counter()
            if stored is None:
                calibration, notes = calibrate(block, options)
            else:
                calibration, notes = stored[0], [f"calibration: {stored[1]}"]
            notes += _args.forward_advice(calibration)
            calibrate_s = time.perf_counter() - t
        identity = dataclasses.asdict(options)
        if rate is not None:
            identity["rate_hz"] = rate
        if stored is not None:  # another calibration is another analysis of the same file
            identity["calibration"] = calibration.to_dict()
        sink = _EventSink(events)
        rec = store.recorder(**_recorder_batching(pace))
        begun = rec.begin_session(
            device=block.device, source=str(file.resolve()), start=block.start_time, rate_hz=block.rate_hz,
            epoch_s=options.epoch_s, calibration=calibration, options=identity, content_hash=file_digest(file),
            on_existing="replace" if replace else "auto")
        if begun.action != "new":  # skipped or replacing: worth knowing before a long replay starts
            typer.echo(begun.message, err=True)
        started_at = begun.existing.started_at if begun.skipped else rec.start
        t0 = float(block.t[0]) if len(block) else 0.0
        total = block.duration_s or None
        with Progress(f"replaying {file.name}", total=total, enabled=show) as progress:
            blocks = _tracked(split_blocks(block, block_seconds(pace)), progress, t0)
            try:
                result = replay(blocks, options, settings, rec, pace=pace, on_event=sink,
                                calibration=calibration, snoozes=snoozes)
            except StoreError as e:
                raise _store_failure(e, rec) from None
        result.notes = notes
        result.timings["load"] = load_s
        result.timings["calibrate"] = calibrate_s
        result.timings["open_db"] = open_s
        result.wall_s = time.perf_counter() - started  # the whole command, database opening included
    finally:
        if sink is not None:
            sink.close()
        if rec is not None and not isinstance(sys.exc_info()[1], StoreError):
            try:  # an unfinished session (Ctrl-C, a failure) is let go of: a replay again replaces it
                rec.close()
            except StoreError:
                pass
        store.close()

    if result.interrupted:
        where = "" if sink.path is None else f"; events so far in {sink.path}"
        if begun.action == "busy":
            stored = (f"nothing stored (another sensorback is importing this recording into {store.name} as "
                      f"session {begun.existing.id})")
        elif begun.skipped:
            stored = f"nothing stored ({store.name} already holds this recording as session {begun.existing.id})"
        elif result.session_id is None:
            stored = f"nothing stored in {store.name} yet"
        else:
            stored = (f"{_plural(result.stored_epochs, 'epoch')} and {_plural(len(result.events), 'event')} "
                      f"stored in session {result.session_id} of {store.name}, left unfinished (replaying the "
                      "file again replaces it)")
        from ..timefmt import clock

        at = clock(result.t_end if result.t_end is not None else t0)
        typer.echo(f"interrupted at {at} of the recording: {stored}{where}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    lines = _summary(file, result, pace, store.name, begun, sink, notes)
    report = _report_line(result, started_at, db)
    if report is not None:
        lines.insert(-len(notes) if notes else len(lines), report)
    for line in lines:
        typer.echo(line)
    return result
