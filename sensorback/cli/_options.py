"""Options that several commands take, declared once so their names and help agree."""

from __future__ import annotations

import typer

from ..limits import MIN_SPEED

#: The recordings analyze, replay and convert read, as their help names them (every file name
#: sensorback.extensions lists; .txt/.tsv and .cwa.gz are CSV and .cwa files by other names).
READ_FORMATS = "(.sbr, .csv, .csv.gz, .cwa, .gt3x)"

#: What the help of every --speed (replay, monitor, calibrate) says of its floor, limits.MIN_SPEED.
SPEED_FLOOR = (f"N at least {MIN_SPEED:g} (a tenth of real time: each 1 s epoch then stays {1 / MIN_SPEED:g} s on "
               "screen; slower would show nothing more, only take longer)")

DB_OPTION = typer.Option(
    "--db", metavar="URL", show_default=False,
    help="The database: a path to an SQLite file or an SQLAlchemy URL. Default: $SENSORBACK_DB, else "
    "sensorback.db in your user data folder.")
#: --db of 'monitor', whose --demo keeps the simulated wearer out of the user's own data.
DEMO_DB_OPTION = typer.Option(
    "--db", metavar="URL", show_default=False,
    help=DB_OPTION.help + " With --demo: demo.db in that folder, apart from your own data.")
REFERENCE_WINDOW_OPTION = typer.Option(
    "--reference-window", metavar="A:B", show_default=False,
    help="Seconds A to B where the wearer sat upright and still, to calibrate 'upright' (those seconds also "
    "count as seated; a window without samples, or with the wearer moving, is refused). Default: estimated from "
    "the data.")
FORWARD_WINDOW_OPTION = typer.Option(
    "--forward-window", metavar="C:D", show_default=False,
    help="Seconds C to D where the wearer slouched the way they usually do (seated): gives the forward "
    "direction and a personal slouch line halfway there (refused when it leans under 4 degrees or as far as "
    "lying). Default: forward learned "
    "from walking and sit/stand transitions, the slouch line from the wearer's own sitting.")
STAND_WINDOW_OPTION = typer.Option(
    "--stand-window", metavar="E:F", show_default=False,
    help="Seconds E to F where the wearer stood still (those seconds count as standing). With "
    "--reference-window it shows this wearer's own sitting and standing postures from the start, so a "
    "stand-up or sit-down nobody saw is found sooner. It may not overlap --reference-window or --forward-window, "
    "and is refused when the trunk is held as far as lying (60 degrees or more) from upright there, or when "
    "no stand-up or walk comes after the seated window before it began (the wearer was still seated). "
    "Default: none.")
CALIBRATION_OPTION = typer.Option(
    "--calibration", metavar="FILE|DEVICE", show_default=False,
    help="Use a stored calibration: a file written by 'sensorback calibrate --out', or the name or "
    "address of a sensor calibrated with 'sensorback calibrate'. Default: estimated from the recording.")
CSV_RATE_OPTION = typer.Option(
    "--rate", metavar="HZ", show_default=False, help="Sample rate, only for CSV files without a time column (refused for files with their own "
    "timestamps: .sbr, .cwa, .gt3x, CSV with a time column).")
