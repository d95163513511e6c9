"""Errors a user can cause. The CLI prints these as one line and exits non-zero."""


class SensorbackError(Exception):
    """Base for every error that is the user's input, not a bug in sensorback."""


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
