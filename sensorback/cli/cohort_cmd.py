"""``sensorback cohort``: every recording of a study on Dask, one row of exposures per file and day.

Importing this module registers the command (app.py does that with one import line). The work is in
sensorback.cohort; dask and pyarrow are imported only when the command runs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from ..errors import SensorbackError
from ..extensions import EXTENSIONS
from . import _args
from ._progress import Progress, clear_active, interactive
from ..signals import stopped_by
from ..timefmt import count
from ._runtime import stopped_said
from ._app import app


def _check_installed() -> None:
    missing = [m for m in ("dask", "distributed", "pyarrow") if importlib.util.find_spec(m) is None]
    if missing:
        raise SensorbackError(f"cohort needs {', '.join(missing)}: pip install 'sensorback[cohort]'")


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SensorbackError(
            f"--timezone: unknown time zone '{name}'; use an IANA name such as Europe/Berlin or UTC") from None


def _interrupted(out: Path, signum: int, result=None) -> NoReturn:
    """The one message for a cohort run cut short by a signal, wherever it came: what is kept, and how
    to finish (result None: stopped before any file was begun, so nothing), after the command line's
    words for that signal. Ctrl-C: 'interrupted: ...', exit 130;
    a kill: 'terminated (SIGTERM): ...', exit 143 (SIGHUP 129)."""
    clear_active()
    said, code = stopped_said(signum)
    if result is None:  # still looking for the inputs, or starting the cluster: no file begun
        where = f" in {out}" if out.is_dir() else ""  # a DIR this run made is gone again (remove_unused)
        typer.echo(f"{said}: before any file was analysed; nothing was written{where}", err=True)
        raise typer.Exit(code)
    kept = f"{result.ok + result.failed} of {count(result.files - result.skipped, 'file')} finished and kept in {out}"
    typer.echo(f"{said}: {kept}; run again with --resume to finish", err=True)
    raise typer.Exit(code)


def _rate(result, elapsed: float) -> str:
    if elapsed <= 0 or result.recorded_days <= 0:
        return ""
    return f", {result.recorded_days / (elapsed / 3600.0):.0f} person-days/h"


def _progress_label(result, todo: int, elapsed: float = 0.0) -> str:
    """'cohort: 3/12 files, 0 failed, 9 left, 833 person-days/h', from the start on (0/12 before the
    first file is done, rather than a bare 'cohort' while the biggest files take minutes)."""
    done = result.ok + result.failed
    return f"cohort: {done}/{todo} files, {result.failed} failed, {todo - done} left{_rate(result, elapsed)}"


def _no_dashboard(needs: str, scheduler: str | None) -> str:
    """Why no dashboard link is printed, and how to get one (the cohort extra brings bokeh)."""
    if scheduler:
        return f"no live dashboard: Dask serves it only with {needs} installed where the scheduler runs"
    return f"no live dashboard: Dask serves it only with {needs} installed; pip install 'sensorback[cohort]' adds it"


def _left_out(counts: dict[str, int]) -> str:
    """' left out 2 epochs tables and 1 events file sensorback wrote;' or ''."""
    from ..outputs import KINDS

    if not counts:
        return ""
    words = [count(n, KINDS[k].noun) for k, n in sorted(counts.items())]
    return f" left out {' and '.join(words)} sensorback wrote (not recordings);"


@app.command(
    "cohort",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback cohort study/ --out results/\n"
        "  sensorback cohort 'study/**/*.cwa' --out results/ --workers 8\n"
        "  sensorback cohort study/ --out results/ --no-dashboard    # on a shared server: no bokeh, no link\n"
        "  sensorback cohort study/ --out results/ --resume          # after a crash, a kill or Ctrl-C\n"
        "  sensorback cohort study/ --out results/ --scheduler tcp://10.0.0.5:8786\n\n"
        "Writes DIR/days.parquet and DIR/days.csv (one row per file and calendar day: wear time, time per "
        "state, seated bouts (sitting and slouching) and breaks, sit-to-stand rises, trunk flexion past 20/30/60/90 degrees upright "
        "and seated, slouch share, data quality) and DIR/files.csv (one row per input: ok or failed with its "
        "error). A file that fails is recorded and the run goes on. Each finished file is kept at once, so "
        "--resume after a crash, a kill or Ctrl-C analyses only what is left (and files that changed or failed); "
        "Ctrl-C or a kill (SIGTERM) first writes the tables of the finished files, then exits 130 or 143. "
        "Epochs tables and events files sensorback wrote (analyze --epochs, replay --events) are known by their "
        "first line and left out, whatever their names. "
        "DIR may be new, empty or an earlier run's results; a folder holding files of those names that "
        "sensorback cohort did not write is refused before any work (other files in it are left alone). "
        "DIR may not be the study folder or hold any input (a folder, a file, a pattern's folder): refused before "
        "anything is written; a folder inside the study, such as study/results, is fine. "
        "One run at a time per DIR: a second run on a DIR another run is using is refused at once, "
        "before it searches the study (the lock ends with the run, killed or not). "
        "The exit code is 0 when the run completes, failed files included (see files.csv). "
        "Needs pip install 'sensorback[cohort]'. Definitions, schema and cluster set-up: docs/cohort.md."
    ),
)
def cohort_command(
    inputs: Annotated[
        list[str],
        typer.Argument(metavar="INPUTS...", show_default=False,
                       help=f"Recordings ({', '.join(EXTENSIONS)}), folders (searched recursively) or "
                       "quoted glob patterns such as 'study/**/*.cwa'."),
    ],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", show_default=False,
                                      help="Folder for the results: new, empty or an earlier run's "
                                      "(created, private to you, in an existing folder; files of yours named "
                                      "like the results are never replaced).", readable=False)],
    workers: Annotated[
        Optional[int],
        typer.Option("--workers", metavar="N", show_default=False,
                     help="Worker processes of the local Dask cluster. Default: one per CPU core."),
    ] = None,
    scheduler: Annotated[
        Optional[str],
        typer.Option("--scheduler", metavar="ADDRESS", show_default=False,
                     help="Use a running Dask cluster, e.g. tcp://10.0.0.5:8786, instead of a local one. Its "
                     "workers need sensorback installed and must see the input files at the same paths."),
    ] = None,
    no_dashboard: Annotated[
        bool,
        typer.Option("--no-dashboard",
                     help="Start the local Dask cluster without its live dashboard: bokeh is not loaded and no "
                     "dashboard link is printed (the scheduler's HTTP port, on this machine only, still answers "
                     "Dask's /health and /metrics, as with dask scheduler --no-dashboard)."),
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Finish an earlier run in DIR: skip files already "
                                         "analysed whose content has not changed.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Discard the results of an earlier run in DIR "
                                            "and start again (files it did not write are still refused).")] = False,
    timezone: Annotated[
        str,
        typer.Option("--timezone", metavar="TZ",
                     help="Time zone for the calendar days of files that record UTC time (.sbr, CSV with Unix "
                     "times). .cwa and .gt3x files record the wearer's local clock and use it as it is."),
    ] = "UTC",
) -> None:
    """Analyse a whole study on Dask: exposures per file and calendar day, resumable."""
    if workers is not None and workers < 1:
        raise SensorbackError(f"--workers: must be at least 1, got {workers}")
    if workers is not None and scheduler:
        raise SensorbackError("--workers and --scheduler: choose one (a running cluster has its own workers)")
    if no_dashboard and scheduler:
        raise SensorbackError("--no-dashboard and --scheduler: choose one (a running cluster's dashboard is its "
                              "scheduler's: start it with dask scheduler --no-dashboard)")
    if resume and overwrite:
        raise SensorbackError("--resume and --overwrite: choose one")
    _check_timezone(timezone)
    _args.check_output("--out", out, folder=True, replaces="cohort")
    _check_installed()
    from ..cohort.run import run_cohort

    show = interactive()
    progress: Optional[Progress] = None
    t0 = [0.0]

    def on_start(result, todo: int) -> None:
        import time

        nonlocal progress
        where = count(result.workers, 'worker')
        where += f", dashboard {result.dashboard}" if result.dashboard else ""
        skipped = f" ({result.skipped} already done)" if result.skipped else ""
        typer.echo(f"analysing {todo} of {count(result.files, 'file')}{skipped} on {where}", err=True)
        if result.dashboard_needs:
            typer.echo(f"note: {_no_dashboard(result.dashboard_needs, scheduler)}", err=True)
        t0[0] = time.perf_counter()
        progress = Progress(_progress_label(result, todo), total=todo, enabled=show, delay=0.0)
        progress.__enter__()

    def on_file(row, result, todo: int) -> None:
        import time

        done = result.ok + result.failed
        if row["status"] != "ok":
            clear_active()
            typer.echo(f"failed: {row['error']}", err=True)
        if progress is not None:
            progress.update(done, label=_progress_label(result, todo, time.perf_counter() - t0[0]))

    try:
        result = run_cohort(inputs, out, workers=workers, scheduler=scheduler, resume=resume, overwrite=overwrite,
                            timezone_name=timezone, dashboard=not no_dashboard, on_start=on_start, on_file=on_file)
    except KeyboardInterrupt as e:  # before run_cohort handles it (looking for the inputs); after, it says so itself
        _interrupted(out, stopped_by(e))
    finally:
        if progress is not None:
            progress.__exit__(None, None, None)
    if result.interrupted:
        _interrupted(out, result.stopped_by, result)
    done = f"{result.ok} ok, {result.failed} failed" + (f", {result.skipped} unchanged since the last run"
                                                         if result.skipped else "")
    rate = f" ({result.recorded_days:.1f} person-days in {result.wall_s:.1f} s)" if result.ok else ""
    typer.echo(f"{count(result.files, 'file')}: {done}{rate};{_left_out(result.left_out)} wrote {out / 'days.parquet'}, "
               "days.csv and files.csv")
