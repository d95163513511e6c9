"""The ``sensorback`` command line: the root app (_app.py) with every command module registered.

The commands only parse, check and wire: the work is done by the parts they call (formats, core,
coach, store, report, live, replay). Each command module imports what its commands need when they
run, so that ``sensorback --help`` and quick commands do not pay for the simulator, SQLAlchemy,
Textual or bleak.
"""

from __future__ import annotations

import typer

from .. import signals
from . import ble_cmds, coach_cmds, cohort_cmd, file_cmds, live_cmds, replay_cmd, report_cmds  # noqa: F401  (they register)
from ._app import app


def main() -> None:
    """Console-script entry point. The process ends with the command: a Ctrl-C that comes before the
    command handles one, or after it has ended, ends it as one within it would (signals.py)."""
    signals.process_ends_with_the_command()
    try:
        typer.main.get_command(app).main(prog_name="sensorback")
    except KeyboardInterrupt as e:
        signals.exit_stopped(e)


__all__ = ["app", "main"]


if __name__ == "__main__":  # pragma: no cover
    main()
