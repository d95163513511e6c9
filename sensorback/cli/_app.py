"""The root ``sensorback`` command: its help, --version, and the typer app every command module
registers on (file_cmds, coach_cmds, report_cmds, replay_cmd, live_cmds, ble_cmds; app.py imports
them all)."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from ._runtime import SensorbackGroup, SensorbackTyper


app = SensorbackTyper(
    cls=SensorbackGroup,
    name="sensorback",
    help=(
        "Posture and sitting time from a clip-on chest accelerometer.\n\n"
        "Clip a BLE motion sensor to your chest and run 'sensorback monitor': every second is labelled "
        "moving, standing, sitting, slouching, lying, not_worn or no_data; after 30 minutes of sitting "
        "you are prompted to take a break (with a back exercise to try), long slouches get a gentle "
        "nudge, and everything goes into a local database for 'sensorback report'. Recordings can be "
        "analysed or replayed through the same pipeline."
    ),
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback monitor --demo --scenario demo --speed 30   (no sensor needed)\n"
        "  sensorback calibrate && sensorback monitor\n"
        "  sensorback report --week --html week.html\n"
        "  sensorback analyze recordings/demo.sbr\n"
        "  sensorback analyze day.csv.gz --epochs day.epochs.csv\n"
        "  sensorback analyze mon.sbr tue.sbr --json > week.json\n"
        "  sensorback simulate --scenario desk-day --out day.sbr\n"
        "  sensorback convert day.sbr day.csv.gz\n\n"
        "Recordings are native .sbr files, CSV (.csv, .csv.gz) with columns t,ax,ay,az "
        "(seconds, g), Axivity .cwa or ActiGraph .gt3x files. Run 'sensorback COMMAND --help' for a "
        "command's options."
    ),
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sensorback {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    pass
