"""The ``sensorback`` command line (see ``sensorback --help``)."""

from .app import app, main

__all__ = ["app", "main"]
