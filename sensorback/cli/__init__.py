"""The ``sensorback`` command line (see ``sensorback --help``).

``main`` is the console script's entry point (and ``python -m sensorback``): it loads the command
line, then runs it. ``app`` (the typer app) is loaded when it is first asked for, so that importing
this package loads nothing else and a Ctrl-C while a library or a REPL imports the command line is
a KeyboardInterrupt as in any import, not the command's exit."""

import sys
import types

from ..signals import exit_stopped


def main() -> None:
    """Load the command line and run it (app.main). A Ctrl-C while it loads (its first tenths of a
    second), before the command can handle one, ends the process as one within it would:
    'interrupted', exit 130 (signals.exit_stopped)."""
    try:
        from .app import main as run
    except KeyboardInterrupt as e:
        exit_stopped(e)
    run()


class _CommandLine(types.ModuleType):
    @property
    def app(self):
        from .app import app

        return app

    @app.setter
    def app(self, module):
        """The import system sets the submodule sensorback.cli.app here once it is loaded; the
        package's ``app`` stays the typer app, as when it was imported with the package."""

    def __dir__(self):
        """The module's names and ``app``, which lives on this class (it loads when asked for)."""
        return sorted({*super().__dir__(), "app"})


sys.modules[__name__].__class__ = _CommandLine

__all__ = ["app", "main"]
