"""``sensorback monitor`` (live dashboard or --plain event lines) and ``sensorback calibrate``.

Importing this module registers both commands on the main typer ``app`` (app.py does that with
one import line). The session is ``sensorback.live.LiveSession``, the source comes from
``sensorback.sources.open_source``, the screens are ``sensorback.ui.dashboard`` and
``sensorback.ui.plain``, the guided calibration ``sensorback.session.guided``; this module checks
arguments, wires them, opens the database and prints.
"""

from __future__ import annotations

import shlex
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import SensorbackError
from ..signals import Terminated
from . import _args
from ._options import DEMO_DB_OPTION, SPEED_FLOOR
from ._app import app
from .coach_cmds import SET_OPTION, coach_settings

#: Live pace: write to the database at least every 5 s of samples (also sped up: at most about
#: once a wall second).
LIVE_WRITE_S = 5.0
#: --demo plays this simulator scenario by default: a quarter of an hour that shows every state,
#: simulated in a moment (an 8-hour day takes seconds to simulate before anything shows).
DEMO_SCENARIO = "demo"

_DEVICE_OPTION = typer.Option("--device", metavar="ADDRESS|NAME", show_default=False,
                              help="The sensor to connect to (Bluetooth address or name). Default: the first "
                              "supported sensor found.")
_DEMO_OPTION = typer.Option("--demo", help="Use the simulated wearer instead of a Bluetooth sensor.")


def _speed(text: str) -> float:
    return _args.parse_times_real_time(text, "60")


def _ble_failure(e: BaseException, command: str) -> Optional[SensorbackError]:
    """A Bluetooth failure (no adapter, no BlueZ/D-Bus, a lost link) as a one-line error suggesting
    the same command's --demo (a failed 'calibrate' offers 'calibrate --demo', not the monitor);
    None for anything else."""
    from ..sources.ble import BluetoothUnavailable
    from ..sources.ble_errors import user_error

    if isinstance(e, BluetoothUnavailable):  # the source's own line: what is wrong, not what to do
        return BluetoothUnavailable(f"{e} Without a sensor, try 'sensorback {command} --demo'.")
    if isinstance(e, SensorbackError):
        return None
    return user_error(e, f"without a sensor, try 'sensorback {command} --demo'")


@app.command(
    "monitor",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback monitor --demo --speed 30\n"
        "  sensorback monitor --demo --scenario desk-day --speed 60 --set sit_limit_min=5\n"
        "  sensorback monitor --device 'Polar H10 A1B2C3D4' --record today.sbr\n"
        "  sensorback monitor --demo --plain --speed 200 >> monitor.log\n\n"
        "Keys: c calibrate (sit upright and still for 5 s), g guided calibration (sit upright, slouch as "
        "usual, stand up: 30 s); both are saved for the sensor and their seconds count as sitting (and "
        "standing), s snooze the next break prompt, d mark the "
        "suggested exercise done, q quit. Break prompts and slouch nudges also go out as desktop "
        "notifications (the terminal bell when there is no notification service). Without a stored "
        "calibration for the sensor (see 'sensorback calibrate') a provisional one is estimated from the "
        "first 30 s; its forward direction is learned from your walking, sit-downs and stand-ups (no "
        "slouch is called until then) and your usual slouch from your sitting. The sensor's own offset and "
        "gain are learned from your still moments every 10 min and kept for the sensor. Ctrl-C, q or a kill "
        "(SIGTERM) stops the sensor, writes everything and exits with 0; a closed terminal (SIGHUP) does the "
        "same without a summary and exits with 129."
    ),
)
def monitor_command(
    device: Annotated[Optional[str], _DEVICE_OPTION] = None,
    profile: Annotated[Optional[str], typer.Option("--profile", metavar="P", show_default=False,
                                                   help="Device profile (microbit, polar-h10, thingy52, "
                                                   "metawear, witmotion, sensorback-diy). Default: detected.")] = None,
    record: Annotated[Optional[Path], typer.Option("--record", metavar="FILE.sbr", show_default=False,
                                                   help="Also write the samples to a native recording (a new "
                                                   "file, never the session's database: an existing one is "
                                                   "never written over).", readable=False)] = None,
    demo: Annotated[bool, _DEMO_OPTION] = False,
    speed: Annotated[str, typer.Option("--speed", metavar="N",
                                       help=f"With --demo: play the simulated wearer at N times real time, "
                                       f"{SPEED_FLOOR} (stored so that it ends when it ends on screen, on today's date: from "
                                       "00:00 when today is younger than the scenario).")] = "1",
    scenario: Annotated[str, typer.Option("--scenario", metavar="NAME",
                                          help="With --demo: the simulated wearer: demo (15 min "
                                          "showing every state), desk-day or standing-desk-day (8 h; "
                                          "simulating one takes a few seconds).")] = DEMO_SCENARIO,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="With --demo: the simulated wearer's seed.")] = 0,
    plain: Annotated[bool, typer.Option("--plain", help="No dashboard: print one line per event "
                                        "(prompts, nudges, state and connection changes), in the order "
                                        "of their sample times.")] = False,
    db: Annotated[Optional[str], DEMO_DB_OPTION] = None,
    set_flags: Annotated[Optional[list[str]], SET_OPTION] = None,
):
    """Watch posture live: a terminal dashboard with the sitting clock, prompts and nudges."""
    pace = _speed(speed)
    stopped_by = None  # the signal that stopped the session
    settings = coach_settings(set_flags)
    if record is not None:
        _args.check_output("--record", record, suffixes=(".sbr",), keep=True, example="today.sbr")
    target, given = _args.check_db(db)
    apart = demo and db is None  # a demo never goes into the user's own data
    url = db
    if apart:
        from ..store import demo_db_path

        url = str(demo_db_path())
        target, given = _args.db_target(url)[0], None  # sensorback's own file, as the default database
    if record is not None:
        _args.check_apart_from_db("--record", record, target.sqlite_path, "the session")
    for option, used in (("--scenario", scenario != DEMO_SCENARIO), ("--seed", seed != 0)):
        if used and not demo:
            raise SensorbackError(f"{option}: only with --demo")
    from ..sources import open_source

    source = open_source(demo=demo, device=device, profile=profile, speed=pace, scenario=scenario, seed=seed)

    from ..calibrations import CalibrationStore, check_folder
    from ..live import LiveSession
    from ..store import open_store
    from ..ui.notify import Notifier

    calibrations = CalibrationStore()
    # A calibrations file that cannot be read is said now, as by 'calibrate': the session reads it
    # when the sensor connects, and it ended the monitor there, a few seconds in. So is a folder
    # named for it that does not exist (what the session learns could never be saved there).
    calibrations.devices()
    check_folder(calibrations.path)
    # An existing database (or a server) is opened first, so that a locked, read-only or foreign one is
    # refused before the session starts; a new file only once there is something to store (a sensor
    # that never connects leaves none behind).
    later = _args.creates_db(target, given)
    store = None if later else open_store(url)
    session = None
    try:
        session = LiveSession(
            source, settings=settings, store=store, calibrations=calibrations, record=record,
            source_name="demo" if demo else "live", open_store=(lambda: open_store(url)) if later else None,
            recorder_kwargs={"max_epochs": 5000, "max_seconds": max(LIVE_WRITE_S, pace)})
        try:
            if not plain and not (sys.stdout.isatty() and sys.stdin.isatty()):
                # A dashboard needs a terminal to draw on and keys to quit with; in a pipe, a log
                # or CI it would draw escape codes and wait forever for 'q'.
                print("note: not a terminal, so printing one line per event (as --plain)",
                      file=sys.stderr, flush=True)
                plain = True
            if plain:
                import asyncio

                from ..ui.plain import run_plain

                stopped_by = asyncio.run(run_plain(session, lambda: Notifier(
                    on_note=lambda text: print(f"note: {text}", file=sys.stderr, flush=True))))
            else:
                try:
                    from ..ui.dashboard import MonitorApp
                except ImportError as e:
                    raise SensorbackError(f"the dashboard needs the textual package ({e}); install it, "
                                          "or use --plain") from None

                dashboard = MonitorApp(session)
                dashboard.run()
                if dashboard.error is not None:  # the dashboard closed on it: said here, once
                    raise dashboard.error
                if not session.finished:  # the app ended before the session could finish
                    session.finish()
                stopped_by = dashboard.stopped_by
        except Exception as e:
            failure = None if demo else _ble_failure(e, "monitor")
            if failure is None:
                raise
            raise failure from None
    finally:
        store = session.store if session is not None else store
        if store is not None:
            store.close()
    if stopped_by is not None and stopped_by == getattr(signal, "SIGHUP", None):
        # The terminal is gone, and with it whoever would read the summary: the session is
        # written and ended; the command ends as any does on a hang-up ('terminated (SIGHUP)', 129).
        raise Terminated(stopped_by)
    typer.echo(session.summary(target.name), err=True)
    if apart and store is not None:  # a demo that stored nothing in a new file left none to see
        typer.echo(f"note: the demo is stored apart from your own data; see it with: "
                   f"sensorback report --db {shlex.quote(store.name)}", err=True)
    from ..ui.plain import READER_GONE

    if stopped_by == READER_GONE:  # `monitor --plain | head`: stored and said, then ended as a pipe ends
        from ._runtime import ReaderGone

        raise ReaderGone()


# ----------------------------------------------------------------------------- calibrate


@app.command(
    "calibrate",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback calibrate --device 'Polar H10 A1B2C3D4'\n"
        "  sensorback calibrate --demo --out mine.json\n\n"
        "Guided, about 30 s: sit upright and still, then slouch the way you usually do, then stand up "
        "and stand still (leave that out with --no-stand). This teaches sensorback which way is upright "
        "and which way is forward for the way the clip is mounted, and how far you usually slouch: "
        "slouching then counts from halfway there (at least 3 and at most 20 degrees from upright). A step "
        "that cannot be used (no samples, moving, a slouch as far as lying, a stand step held as far as lying "
        "from upright or with no stand-up felt after the slouch step began) ends it with a one-line error naming the step, and "
        "nothing is stored; a slouch step without a lean leaves forward to be learned. The "
        "result is stored for the sensor (by address and name) in calibrations.json next to the config "
        "file, readable by you only; 'sensorback monitor' uses it from then on, and 'sensorback analyze' "
        "or 'replay' use it with --calibration DEVICE (or --calibration FILE for a file written with --out)."
    ),
)
def calibrate_command(
    device: Annotated[Optional[str], _DEVICE_OPTION] = None,
    profile: Annotated[Optional[str], typer.Option("--profile", metavar="P", show_default=False,
                                                   help="Device profile. Default: detected.")] = None,
    demo: Annotated[bool, _DEMO_OPTION] = False,
    stand: Annotated[bool, typer.Option("--stand/--no-stand",
                                        help="End with a stand-still step (after standing up).")] = True,
    out: Annotated[Optional[Path], typer.Option("--out", metavar="FILE.json", show_default=False,
                                                help="Also write the calibration to this file (for "
                                                "'analyze --calibration FILE'); an existing FILE only if it "
                                                "is a calibration written so.", readable=False)] = None,
    speed: Annotated[str, typer.Option("--speed", metavar="N",
                                       help=f"With --demo: N times real time, {SPEED_FLOOR}.")] = "1",
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="With --demo: the simulated wearer's seed "
                                      "(the same person with the same clip mounting as 'monitor --demo --seed "
                                      "N').")] = 0,
):
    """Teach sensorback your upright posture, forward direction and usual slouch for this sensor."""
    pace = _speed(speed)
    if out is not None:
        _args.check_output("--out", out, replaces="calibration", example="calibration.json")
    if not demo and seed != 0:
        raise SensorbackError("--seed: only with --demo")
    from ..sources import open_source
    from ..sources.demo import CALIBRATION

    # The demo wearer goes through the guided steps (the simulator's calibration scenario, the only
    # one that follows them); its seed is the same person with the same clip mounting in every
    # scenario, so the calibration fits 'monitor --demo --seed N' whatever its --scenario.
    source = open_source(demo=demo, device=device, profile=profile, speed=pace,
                         scenario=CALIBRATION if demo else None, seed=seed)
    from ..calibrations import CalibrationStore, check_folder, save_calibration
    from ..session.guided import guided

    calibrations = CalibrationStore()
    calibrations.devices()  # a file it could not be saved into is said now, not after the 30 s of steps
    check_folder(calibrations.path)
    try:
        import asyncio

        done = asyncio.run(guided(source, typer.echo, calibrations=calibrations, stand=stand))
    except Exception as e:
        failure = None if demo else _ble_failure(e, "calibrate")
        if failure is None:
            raise
        raise failure from None
    path = done.save(calibrations)
    for n in done.notes:
        typer.echo(f"  {n}")
    typer.echo(f"calibration saved for {done.keys[0]} in {path}")
    if out is not None:
        try:
            save_calibration(out, done.calibration, device=done.device, how="sensorback calibrate")
        except OSError as e:
            raise SensorbackError(f"--out: cannot write {out}: {e.strerror or e}") from None
        typer.echo(f"and written to {out}")
    return done.calibration
