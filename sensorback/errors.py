"""Errors a user can cause. The CLI prints these as one line and exits non-zero (exit_code)."""

from contextlib import contextmanager


def one_line(text) -> str:
    """A message as the one line the CLI prints it on."""
    return " ".join(str(text).split())


def or_list(items) -> str:
    """Alternatives as a message lists them: 'a', 'a or b', 'a, b or c'."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def utf8_text(text) -> str:
    """A file's name, or a message naming one, as text a UTF-8 table or database can hold. A name
    whose bytes are not UTF-8 (a Latin-1 name from an old archive) reaches Python with those bytes
    as lone surrogates, which CSV, Parquet and SQLite refuse; they are written as Python shows them
    (b'caf\\xe9.csv' -> 'caf\\\\xe9.csv'), so the name stays recognisable and nothing fails."""
    s = str(text)
    try:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def file_error(label, err) -> str:
    """The one-line error of a recording that could not be analysed, naming it: what `analyze`
    prints and puts in its JSON for it, and `cohort` in its files.csv."""
    text = one_line(err)
    return text if str(label) in text else f"{label}: {text}"


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
    so that the command line can say which file could not be written. (One on the hidden temp
    file an output is written to first is named for the output by private.Replacing itself.)"""
    try:
        yield
    except OSError as e:
        if e.filename is None and e.errno is not None:
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        raise


@contextmanager
def opening(path):
    """Opening a file to read it: a missing file, a folder or any other OSError becomes a one-line
    InputError naming `path` (one wording for every reader)."""
    try:
        yield
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a recording file") from None
    except OSError as e:
        raise InputError(path, f"cannot open: {e.strerror or e}") from None
