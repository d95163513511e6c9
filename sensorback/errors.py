"""Errors a user can cause. The CLI prints these as one line and exits non-zero (exit_code)."""

from contextlib import contextmanager


class SensorbackError(Exception):
    """Base for every error that is the user's input, not a bug in sensorback."""

    exit_code = 2


class InputError(SensorbackError):
    """Bad input data: names the file and, where known, the line or field.

    str(err) is the whole one-line message, e.g. ``day.csv:17: non-numeric value 'abc' in column ay``.
    """

    def __init__(self, path, message: str, line: int | None = None):
        self.path = str(path) if path is not None else None
        self.line = line
        self.detail = message
        where = self.path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class OSProblem(SensorbackError):
    """The computer, not the input: a full disk, say. Exit code 1, like an OSError on a named file."""

    exit_code = 1


@contextmanager
def naming(path):
    """OSErrors raised inside without a file name (a full disk on write() or close()) get `path`,
    so that the command line can say which file could not be written."""
    try:
        yield
    except OSError as e:
        if e.filename is None and e.errno is not None:
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        raise
