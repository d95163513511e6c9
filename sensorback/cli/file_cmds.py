"""``sensorback analyze``, ``convert`` and ``simulate``: the commands on recording files.

Importing this module registers them on the main typer ``app`` (app.py does that with one import
line). No analysis happens here; this module only checks arguments, calls the parts and prints.
What the commands need (numpy, the core, the simulator) is imported when they run, and what their
help shows of it when the help is asked for (help_filled_by).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import SensorbackError, file_error
from ..timefmt import count, precise_duration
from . import _args
from ._app import app
from ._options import (CALIBRATION_OPTION, CSV_RATE_OPTION, FORWARD_WINDOW_OPTION, READ_FORMATS,
                       REFERENCE_WINDOW_OPTION, STAND_WINDOW_OPTION)
from ._progress import Progress, interactive
from ._runtime import help_filled_by, tell_error


#: The recording files convert and simulate write.
WRITTEN_SUFFIXES = (".sbr", ".csv", ".csv.gz")


def _core_default(name: str):
    """What the help shows as the core's default for an option (asked for when it is shown)."""
    def text() -> str:
        from ..core.options import CoreOptions

        return f"{getattr(CoreOptions, name):g}"
    return text


def _scenario_lines() -> str:
    from ..sim import SCENARIOS

    width = max(map(len, SCENARIOS))
    # Only the part of a description before its colon, to keep one line per scenario.
    return "\n".join(f"{name:<{width}}  {text.split(':')[0]}" for name, text in SCENARIOS.items())


def _example_scenario() -> str:
    from ..sim import SCENARIOS

    return next(iter(SCENARIOS))


def _duration_range() -> str:
    from ..sim import duration_range

    return duration_range()


def _note(message: str) -> None:
    typer.echo(message, err=True)


def _describe(path: Path, block) -> str:
    parts = [f"{block.device}", f"{count(len(block), 'sample')} at {block.rate_hz:g} Hz"]
    if block.start_time is not None:
        start = datetime.fromtimestamp(block.start_time, tz=timezone.utc)
        local = block.clock == "device-local"  # .cwa/.gt3x: the logger's clock, zone unknown
        start_text = start.isoformat(timespec="seconds")
        parts.append("started " + (start_text.replace("+00:00", " (device clock)") if local
                                   else start_text.replace("+00:00", "Z")))
    return f"{path}  ({', '.join(parts)})"


@app.command(
    cls=help_filled_by(epoch_s=_core_default("epoch_s")),
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback analyze recordings/demo.sbr\n"
        "  sensorback analyze day.csv --rate 52 --epochs day.epochs.csv\n"
        "  sensorback analyze day.sbr --reference-window 600:660 --forward-window 700:720 --json\n"
        "  sensorback analyze day.sbr --calibration 'Polar H10 A1B2C3D4'\n"
        "  sensorback analyze mon.sbr tue.sbr --epochs out.csv   # writes out.mon.csv, out.tue.csv\n\n"
        "Times in windows and in the epochs file are seconds on the recording's own time axis "
        "(0 at its first sample for files written by sensorback). The epochs file has exactly the "
        "columns t_start,t_end,state,inclination_deg,intensity_g; an empty field means no value.\n\n"
        "A FILE that cannot be read or analysed (missing, a folder, unreadable, not a recording) does not stop "
        "the others: its one-line error is printed "
        "when it is met, the other files are analysed and printed (and their epochs files written), and "
        "the exit code is 2, as for one bad file. The same file named twice (day.csv ./day.csv) is refused "
        "before any work. With --json and several FILEs, each summary has "
        "\"status\": \"ok\", and a bad file is an entry {\"file\": ..., \"status\": \"failed\", "
        "\"error\": its error line} in the list, in FILE order."
    )
)
def analyze(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE", help=f"Recordings to analyze {READ_FORMATS}.",
                       show_default=False, readable=False),
    ],
    epochs: Annotated[
        Optional[Path],
        typer.Option(
            "--epochs",
            metavar="OUT.csv",
            help="Also write one CSV row per epoch. With several FILEs each gets its own file, named "
            "OUT.<file name>.csv. An existing OUT is replaced only if it is an epochs table sensorback "
            "wrote (never a recording).",
            readable=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON (a list when there are several files; "
                           "a bad file is an entry saying it failed and why, see below).")
    ] = False,
    reference_window: Annotated[Optional[str], REFERENCE_WINDOW_OPTION] = None,
    forward_window: Annotated[Optional[str], FORWARD_WINDOW_OPTION] = None,
    stand_window: Annotated[Optional[str], STAND_WINDOW_OPTION] = None,
    calibration: Annotated[Optional[str], CALIBRATION_OPTION] = None,
    rate: Annotated[Optional[float], CSV_RATE_OPTION] = None,
    epoch_seconds: Annotated[
        Optional[float],
        typer.Option(
            "--epoch-seconds",
            metavar="S",
            help="Length of one epoch in seconds, 0.5 to 2. Default: {epoch_s}. The rules are tuned and "
                 "validated at 1 s; other lengths change the results (see docs/limits.md).",
        ),
    ] = None,
    slouch_threshold: Annotated[
        Optional[float],
        typer.Option(
            "--slouch-threshold",
            metavar="DEG",
            help="Forward flexion beyond the upright reference, in degrees, above which sitting counts "
            "as slouching, for anyone. Default: the wearer's personal line (halfway to their usual slouch, "
            "from --forward-window, --calibration or their own sitting), else 20.",
        ),
    ] = None,
) -> None:
    """Analyze recordings: time per posture state, seated time and bouts, breaks and trunk angles."""
    windows = _args.told_windows(reference_window, forward_window, stand_window)
    _args.check_rate("--rate", rate)
    _args.check_epoch_seconds("--epoch-seconds", epoch_seconds)
    if slouch_threshold is not None and not (0 < slouch_threshold < 90):
        raise SensorbackError(f"--slouch-threshold: must be between 0 and 90 degrees, got {slouch_threshold:g}")
    for path in files:
        if len(files) == 1 or str(path) == "-":  # '-' is no file to fail: a mistake of the command line
            _args.check_input_file(path)
        # else a missing FILE or a folder among several is a failed file in its turn, as an unreadable one is
    _args.check_each_once(files)
    out_paths = _args.epochs_paths(epochs, files)
    for out in out_paths:
        if out is not None:
            _args.check_output("--epochs", out, replaces="epochs")
    stored = _args.stored_calibration(calibration, windows)

    from .. import formats
    from ..core import CoreOptions, analyze as run_core
    from ..formats.epochs_csv import write_epochs_csv
    from ..summary import format_summary, summarize

    options = CoreOptions(**_args.given(epoch_s=epoch_seconds, slouch_threshold_deg=slouch_threshold,
                                        **windows))

    show_progress = interactive(json_output)
    results = []
    failed = []  # the exit code of each file that failed
    # With several files the bar counts files (files done, of them all); for one file it shows how much
    # of it is read (formats.load's bytes, of its total), then the phase and time.
    files_total = len(files) if len(files) > 1 else None
    for i, (path, out) in enumerate(zip(files, out_paths)):
        try:
            with Progress(f"reading {path}", total=files_total, enabled=show_progress) as progress:
                progress.update(i)
                _args.check_input_file(path)  # 'no such file', 'not a file' (a folder)
                block = formats.load(path, rate_hz=rate, progress=None if files_total else progress.update)
                _args.check_windows_inside(windows, block.t, block.rate_hz, path)
                progress.update(i, label=f"analyzing {path}", total=files_total or 0)
                result = run_core(block, options, None if stored is None else stored[0])
        except SensorbackError as e:  # this file's own: told now, and the others are still analysed
            line = file_error(path, e)
            tell_error(line)
            failed.append(e.exit_code)
            results.append({"file": str(path), "status": "failed", "error": line})
            continue
        if stored is not None:
            result.notes = [f"calibration: {stored[1]}"]
        result.notes += _args.forward_advice(result.calibration)
        table = result.epochs
        _args.warn_if_calibration_misfits(path, table, stored)
        summary = summarize(table)
        if out is not None:
            write_epochs_csv(table, out)
            _note(f"wrote {count(len(table), 'epoch')} to {out}")
        if json_output:
            results.append(
                {
                    "file": str(path),
                    "status": "ok",
                    "device": block.device,
                    "rate_hz": block.rate_hz,
                    "start_time": block.start_time,
                    "clock": block.clock,
                    "samples": len(block),
                    "options": {
                        "epoch_s": options.epoch_s,
                        "slouch_threshold_deg": result.calibration.slouch_rule(options.slouch_threshold_deg).line_deg,
                        "reference_window": list(options.reference_window) if options.reference_window else None,
                        "forward_window": list(options.forward_window) if options.forward_window else None,
                        "stand_window": list(options.stand_window) if options.stand_window else None,
                    },
                    "calibration": list(result.notes),
                    "summary": summary.to_dict(),
                }
            )
        else:
            if len(failed) < i:  # a summary above
                typer.echo("")
            typer.echo(format_summary(summary, title=_describe(path, block)))
            for note in result.notes:
                typer.echo(f"  {note}")
    if json_output and len(failed) < len(files):
        typer.echo(json.dumps(results[0] if len(files) == 1 else results, indent=2))
    if failed:
        raise typer.Exit(failed[0])


@app.command(
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback convert day.sbr day.csv.gz\n"
        "  sensorback convert export.csv export.sbr --rate 50\n\n"
        "The output format follows OUT's extension: .sbr (native), .csv or .csv.gz. What OUT cannot keep "
        "is named in a warning: metadata a CSV has no place for, and a CSV's columns other than time, "
        "acceleration and device (a temperature, a label), which sensorback does not read. A second time "
        "column (Sensor Logger's seconds_elapsed) is the time axis OUT keeps, and is not named."
    )
)
def convert(
    src: Annotated[Path, typer.Argument(metavar="IN", help=f"Recording to read {READ_FORMATS}.",
                                        show_default=False, readable=False)],
    dst: Annotated[Path, typer.Argument(metavar="OUT", help="File to write (.sbr, .csv, .csv.gz), a new one: an "
                                        "existing file is never written over.", show_default=False,
                                        readable=False)],
    rate: Annotated[Optional[float], CSV_RATE_OPTION] = None,
) -> None:
    """Convert a recording from one supported format to another."""
    _args.check_rate("--rate", rate)
    _args.check_input_file(src)
    if dst.exists() and dst.resolve() == src.resolve():
        raise SensorbackError(f"{dst}: OUT is the same file as IN; choose another name")
    _args.check_output("OUT", dst, suffixes=WRITTEN_SUFFIXES, keep=True)

    from .. import formats

    # On a terminal: 'reading IN [###.....]  30%  3 s' (bytes of IN read, of the total formats.load
    # gives), then 'writing OUT [#####...]  40%  5 s' (samples written).
    with Progress(f"reading {src}", enabled=interactive()) as progress:
        block = formats.load(src, rate_hz=rate, progress=progress.update)
        progress.update(0, label=f"writing {dst}", total=len(block))
        formats.save(block, dst, progress=progress.update)
    typer.echo(f"wrote {dst}: {count(len(block), 'sample')}, {precise_duration(block.duration_s)} at {block.rate_hz:g} Hz")


@app.command(
    cls=help_filled_by(scenarios=_scenario_lines, example=_example_scenario, duration_range=_duration_range),
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback simulate --scenario {example} --out day.sbr\n"
        "  sensorback simulate --scenario {example} --out day.csv.gz --seed 3 --duration 2h\n"
        "  sensorback simulate --scenario {example} --out week.sbr --duration 7d --start 2025-01-06\n\n"
        "Besides OUT it writes the true state of every stretch of time to a sidecar named like OUT "
        "with .labels.csv in place of the extension (day.sbr -> day.labels.csv). Neither may exist "
        "yet: sensorback never writes over a recording or its labels."
    )
)
def simulate(
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            metavar="NAME",
            help="What the simulated wearer does, one of:\n\n\b\n{scenarios}",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="FILE", help="Recording to write (.sbr, .csv, .csv.gz).", show_default=False,
                     readable=False)
    ],
    seed: Annotated[Optional[int], typer.Option("--seed", metavar="N", help="Random seed. Default: 0.")] = None,
    rate: Annotated[
        Optional[float], typer.Option("--rate", metavar="HZ", help="Sample rate. Default: 50.")
    ] = None,
    duration: Annotated[
        Optional[str],
        typer.Option(
            "--duration",
            metavar="S",
            help="Length, {duration_range}, in seconds or with a unit (90s, 10min, 8h). Default: the "
            "scenario's own.",
        ),
    ] = None,
    start: Annotated[
        Optional[str],
        typer.Option(
            "--start",
            metavar="DATE[ TIME]",
            help="When the recording starts: a day, YYYY-MM-DD (the wearer's day then starts at 08:00 "
            "local time, 0-30 min later by seed), or a day and time, 'YYYY-MM-DD HH:MM[:SS]', local time "
            "unless an offset such as +01:00 or Z follows. Default: Monday 2024-03-04, 08:00 UTC and the "
            "seed's minutes.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write a simulated recording, and its true labels, without any hardware."""
    from .. import formats, sim

    if scenario not in sim.SCENARIOS:
        raise SensorbackError(
            f"--scenario: unknown scenario '{scenario}'; choose one of: {', '.join(sim.SCENARIOS)}"
        )
    # the simulator's own checks, under the options' names
    if seed is not None:
        sim.check_seed(seed, "--seed")
    if rate is not None:
        sim.check_rate(rate, "--rate")
    duration_s = _args.parse_duration("--duration", duration)
    if duration_s is not None:
        sim.check_duration(duration_s, "--duration", shown=f"'{duration}'")
    if start is not None:
        from ..report.when import parse_start

        start_at = parse_start(start, "--start")
    else:
        start_at = None
    _args.check_output("--out", out, suffixes=WRITTEN_SUFFIXES, keep=True)
    labels_out = sim.sidecar_path(out)
    if labels_out.exists():  # labels, maybe real ones, beside another recording of that name
        raise SensorbackError(f"--out: {labels_out}, where the labels of {out.name} would go, already exists; "
                              "choose another name, or move it first")

    # Made and written piece by piece: a week at 50 Hz needs no more memory than an hour. OUT
    # appears only once complete (an interrupt leaves nothing); then the labels.
    with Progress(f"simulating {scenario} into {out}", total=1.0, enabled=interactive()) as progress:
        rec = sim.simulate_stream(scenario, progress=progress.update,
                                  **_args.given(seed=seed, rate_hz=rate, duration_s=duration_s,
                                                start_time=start_at))
        formats.save_blocks(rec.blocks(), out, rec.n_samples, device=rec.device, rate_hz=rec.rate,
                            start_time=rec.start_time, meta={"sim": rec.meta})
        sim.write_labels(rec.labels, labels_out)
    typer.echo(f"wrote {out} ({precise_duration(rec.duration_s)} at {rec.rate:g} Hz) and {labels_out}")
