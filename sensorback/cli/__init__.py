"""The ``sensorback`` command line (see ``sensorback --help``)."""

from ..signals import exit_stopped

try:
    from .app import app, main
except KeyboardInterrupt as e:  # Ctrl-C while the command line loads (its first tenths of a second)
    exit_stopped(e)

__all__ = ["app", "main"]
