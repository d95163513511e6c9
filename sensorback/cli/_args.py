"""Checking command-line values and naming output files; every failure is a one-line SensorbackError."""

from __future__ import annotations

import math
import re
from pathlib import Path

from .. import limits
from ..errors import InputError, OSProblem, SensorbackError, or_list
from ..extensions import EXTENSIONS

#: Longest first, so 'day.csv.gz' loses '.csv.gz', not '.gz'.
RECORDING_SUFFIXES = tuple(sorted(EXTENSIONS, key=len, reverse=True))


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def parse_window(option: str, text: str | None) -> tuple[float, float] | None:
    """'A:B' in seconds -> (A, B) with A < B; None stays None."""
    if text is None:
        return None
    parts = text.split(":")
    if len(parts) != 2:
        raise SensorbackError(f"{option}: expected START:END in seconds, e.g. 30:90, got '{text}'")
    a, b = (_number(p.strip()) for p in parts)
    if a is None or b is None:
        raise SensorbackError(f"{option}: START and END must be numbers of seconds, e.g. 30:90, got '{text}'")
    if not a < b:
        raise SensorbackError(f"{option}: START must be before END, got '{text}'")
    return (a, b)


def told_windows(reference: str | None, forward: str | None, stand: str | None) -> dict:
    """--reference-window, --forward-window and --stand-window parsed, as the CoreOptions fields
    they fill (reference_window, forward_window, stand_window: (A, B) or None); the stand window
    apart from the seated ones (check_stand_apart)."""
    windows = {field: parse_window(_window_option(field), text)
               for field, text in (("reference_window", reference), ("forward_window", forward),
                                   ("stand_window", stand))}
    check_stand_apart(windows["stand_window"], {_window_option(f): windows[f] for f in ("reference_window", "forward_window")})
    return windows


def _window_option(field: str) -> str:
    """The option of a CoreOptions window field: reference_window -> --reference-window."""
    return "--" + field.replace("_", "-")


def check_windows_inside(windows: dict, t, rate_hz: float, path) -> None:
    """Every window of told_windows within the recording (check_window_inside)."""
    for field, window in windows.items():
        check_window_inside(_window_option(field), window, t, rate_hz, path)


def check_stand_apart(stand: tuple[float, float] | None, seated: dict[str, tuple[float, float] | None]) -> None:
    """--stand-window must not overlap a window the wearer sat in (option -> window): the same
    seconds cannot be told both standing and sitting (the core would take whichever came last,
    and the standing posture would be the seated one)."""
    if stand is None:
        return
    for option, w in seated.items():
        if w is not None and stand[0] < w[1] and w[0] < stand[1]:
            raise SensorbackError(f"--stand-window {stand[0]:g}:{stand[1]:g} overlaps {option} {w[0]:g}:{w[1]:g}: "
                                  "the wearer cannot stand and sit at the same time")


def check_window_inside(option: str, window: tuple[float, float] | None, t, rate_hz: float,
                        path) -> None:
    """The window must lie within the recording, give or take a second (or one sample period if longer)
    at either end, so that '0:60' fits a recording whose first sample is at 0.004 s."""
    if window is not None:
        a, b = window
        _check_inside(option, f"{a:g}:{b:g}", a, b, t, rate_hz, path)


def check_times_inside(option: str, times, t, rate_hz: float, path) -> None:
    """Each of ``times`` (seconds on the recording's axis, e.g. --snooze's) must lie within the
    recording, with the same slack as a window (check_window_inside)."""
    for x in times:
        _check_inside(option, f"{x:g}", x, x, t, rate_hz, path)


def _check_inside(option: str, shown: str, a: float, b: float, t, rate_hz: float, path) -> None:
    if len(t) == 0:
        raise SensorbackError(f"{option}: {path} holds no samples, so no time fits in it")
    slack = max(1.0, 1.0 / rate_hz if rate_hz and rate_hz > 0 else 0.0)
    first, last = float(t[0]), float(t[-1])
    if a < first - slack or b > last + slack:
        raise SensorbackError(
            f"{option}: {shown} is outside {path}, which runs from {first:.1f} s to {last:.1f} s"
        )


def check_positive(option: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise SensorbackError(f"{option}: must be a positive number, got {value:g}")


def check_rate(option: str, value: float | None) -> None:
    """A sample rate a wearable can have (sensorback.limits)."""
    if value is not None:
        limits.check_rate(value, option)


def check_epoch_seconds(option: str, value: float | None) -> None:
    if value is not None:
        limits.check_epoch_s(value, option)


_DURATION = re.compile(r"^\s*((?i:inf(?:inity)?)|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(s|sec|m|min|h|hr|d)?\s*$")
_UNIT_S = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0, "d": 86400.0}


def parse_duration(option: str, text: str | None) -> float | None:
    """'600', '90s', '10min', '10m', '8h' -> seconds, more than 0 ('nan' is not a duration).

    The upper limit is the caller's, who says what it is: 'inf', and a number too large for a
    float ('1e400', '1e305d'), come back as inf, which any limit refuses (sim.check_duration:
    '--duration: must be from 1 s to 7 days, got '1e400''), not as 'must be longer than 0 s'."""
    if text is None:
        return None
    m = _DURATION.match(text)
    if not m:
        raise SensorbackError(f"{option}: expected a duration such as 600, 90s, 10min or 8h, got '{text}'")
    seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    if not seconds > 0:
        raise SensorbackError(f"{option}: must be longer than 0 s, got '{text}'")
    return seconds


def check_input_file(path: Path) -> None:
    if str(path) == "-":  # the readers need a name: it tells the format
        raise InputError(path, "standard input is not read; give the recording's file name")
    if not path.exists():
        raise InputError(path, "no such file")
    if not path.is_file():
        raise InputError(path, "not a file")


def check_output(option: str, path: Path, *, suffixes: tuple[str, ...] = (), keep: bool = False,
                 replaces: str | None = None, folder: bool = False, example: str | None = None,
                 written: bool = True) -> None:
    """A file (or, with folder, a folder) the user names for sensorback to write, checked before any
    work starts: its folder must exist (sensorback never creates the user's folders, so that a typo
    does not scatter files), it must not be a folder itself (a file, with folder), its name must end
    in one of `suffixes` (when given), with `keep` it must not exist yet (a recording is never
    written over), and with `replaces` (a kind in outputs.KINDS: 'epochs', 'events', 'report',
    'calibration') an existing file must be one of that kind sensorback wrote (an earlier run's
    output, replaced; never a recording, a database or a file of the user's own); with folder and
    replaces='cohort', an existing folder must be empty, an earlier cohort output, or hold none of the
    files cohort writes. With `written` (all but a database, which the store opens and judges
    itself: a report reads one where it cannot write) the folder must take new files: a file is
    written beside it first, then renamed into place. Only sensorback's own default locations
    (its data and config folders) are created."""
    if str(path) == "-":
        raise SensorbackError(f"{option}: '-' (standard output) is not supported here; give a file name")
    if folder:
        if path.exists() and not path.is_dir():
            raise SensorbackError(f"{option}: {path} is a file; give a folder")
    elif path.is_dir():
        example = example or (f"out{suffixes[0]}" if suffixes else "out.csv")
        raise SensorbackError(f"{option}: {path} is a folder; give a file name, e.g. {path / example}")
    if suffixes and not path.name.lower().endswith(suffixes):
        raise SensorbackError(f"{option}: {path} must end in {or_list(suffixes)}")
    parent = path.parent
    if not parent.is_dir():
        raise SensorbackError(f"{option}: there is no folder {parent} (create it first)")
    if written:
        _check_writable_folder(option, path if folder and path.is_dir() else parent, path)
    if keep and path.exists():
        raise SensorbackError(f"{option}: {path} already exists; choose another name, or delete it first "
                              "(sensorback does not write over a recording)")
    if replaces is not None:
        from ._own_outputs import refuse_unless_own, refuse_unless_own_folder

        (refuse_unless_own_folder if folder else refuse_unless_own)(option, path, replaces)


def _check_writable_folder(option: str, where: Path, path: Path) -> None:
    """`where` takes new files, or an OSProblem before any work (not a failure on a temp file's name
    after it). A special file that exists (/dev/stdout, a FIFO) is written as it is: no check."""
    import os

    if path.exists() and not path.is_file() and not path.is_dir():
        return
    if os.access(where, os.W_OK | os.X_OK, effective_ids=os.access in os.supports_effective_ids):
        return
    try:
        read_only = bool(os.statvfs(where).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    why = "it is on a read-only file system" if read_only else "no permission to create files there"
    shown = where if str(where) != "." else Path.cwd()
    raise OSProblem(f"{option}: cannot write in folder {shown} ({why})")


def db_target(db: str | None):
    """(target, given): the database a command would use (sensorback.store.db.DbTarget), and how the
    user named it: '--db', '$SENSORBACK_DB', or None for the default database."""
    import os

    from ..store import ENV_VAR, resolve_db_url
    from ..store.db import describe

    target = describe(resolve_db_url(db))
    if db not in (None, ""):
        given = "--db"
    elif os.environ.get(ENV_VAR):
        given = f"${ENV_VAR}"
    else:
        given = None
    return target, given


def check_db(db: str | None, *, must_exist: bool = False):
    """A database the user names (--db or $SENSORBACK_DB), checked like any output (check_output):
    an SQLite file in an existing folder, not a folder; with must_exist (a report, which never
    creates one), a file named with --db must be there (a typo), while $SENSORBACK_DB, like the
    default database, is where the user's data will go and may not exist yet. The default database is created with its folder when
    first written. An in-memory SQLite URL is refused: what is stored there is lost at the end.
    Returns db_target(db)."""
    target, given = db_target(db)
    path = target.sqlite_path
    if path is None and given is not None and target.url.get_backend_name() == "sqlite":
        # sqlite:// or :memory: in a URL: everything stored would be gone when the command ends
        import os

        from ..store import ENV_VAR

        value = (db if given == "--db" else os.environ.get(ENV_VAR, "")).strip()
        raise SensorbackError(f"{given}: {value} is an {target.name}, which keeps "
                              "nothing once the command ends; give a file path (e.g. sensorback.db) or a "
                              "server's URL")
    if path is None or given is None:
        return target, given
    shown = Path(db.strip()).expanduser() if given == "--db" and "://" not in db else path  # as typed
    check_output(given, shown, example="sensorback.db", written=False)
    if must_exist and given == "--db" and not target.read_only_uri and not path.exists():
        raise SensorbackError(f"{given}: there is no database {shown} (check the name; 'sensorback monitor' "
                              "or 'replay' create one when they store something)")
    return target, given


def creates_db(target, given) -> bool:
    """Whether storing into ``target`` (check_db's answer) would create its SQLite file. A command
    opens a new one only once it has something to store, so that a run failing before that (a
    recording that does not load) leaves no empty database behind; a named file's folder is checked
    now, as any output's, so that one it cannot write in is still refused before any work."""
    path = target.sqlite_path
    if path is None or target.read_only_uri or path.exists():
        return False
    if given is not None and path.parent.is_dir():
        _check_writable_folder(given, path.parent, path)
    return True


def check_apart_from_db(option: str, path: Path, database: Path | None, who: str) -> None:
    """An output file must not be the SQLite file `who` stores into. check_output cannot tell a
    database that does not exist yet, and the output, renamed into place at the end, would replace
    it and the session just stored."""
    if database is not None and path.resolve() == database.resolve():
        raise SensorbackError(f"{option}: {path} is the database {who} stores into; choose another name")


def recording_stem(path: Path) -> str:
    """'day.csv.gz' -> 'day', 'day.sbr' -> 'day', 'notes.txt' -> 'notes'."""
    name = path.name
    for suffix in RECORDING_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return path.stem or name


def epochs_paths(out: Path | None, inputs: list[Path]) -> list[Path | None]:
    """Where --epochs writes for each input.

    One input: exactly OUT. Several: OUT with the input's name before the extension,
    'epochs.csv' + 'mon.sbr', 'tue.sbr' -> 'epochs.mon.csv', 'epochs.tue.csv'.
    """
    if out is None:
        return [None] * len(inputs)
    if len(inputs) == 1:
        _refuse_overwriting_inputs([out], inputs)
        return [out]
    name = out.name
    ext = next((s for s in (".csv.gz", ".csv") if name.lower().endswith(s) and len(name) > len(s)), None)
    base, ext = (name[: -len(ext)], name[-len(ext):]) if ext else (name, ".csv")
    paths, seen = [], {}
    for p in inputs:  # each a different file (check_each_once)
        stem = recording_stem(p)
        if stem in seen:
            raise SensorbackError(
                f"--epochs: {seen[stem]} and {p} would both write {base}.{stem}{ext}; "
                "rename one or analyze them separately"
            )
        seen[stem] = p
        paths.append(out.with_name(f"{base}.{stem}{ext}"))
    _refuse_overwriting_inputs(paths, inputs)
    return paths


def check_each_once(files: list[Path]) -> None:
    """Each recording named once: the same file twice (day.csv day.csv, ./day.csv, a link to it) is a
    slip, most likely for another file, and would be analysed, printed and counted twice (two JSON
    entries, or two epochs tables of one name); refused before any work, with --epochs or without."""
    seen: dict[object, Path] = {}
    for p in files:
        try:
            st = p.stat()
            key: object = (st.st_dev, st.st_ino)  # however it is spelled
        except OSError:  # missing: check_input_file says so
            key = p.resolve()
        if key in seen:
            first = seen[key]
            twice = f"{p} is" if str(p) == str(first) else f"{first} and {p} are the same file,"
            raise SensorbackError(f"{twice} given twice; give each recording once")
        seen[key] = p


def _refuse_overwriting_inputs(outputs: list[Path], inputs: list[Path]) -> None:
    existing = {p.resolve(): p for p in inputs if p.exists()}
    for out in outputs:
        if out.exists() and out.resolve() in existing:
            raise SensorbackError(f"--epochs: {out} is one of the input recordings; choose another name")


def parse_times_real_time(text: str, example: str = "60", or_max: bool = False) -> float:
    """'--speed' as a factor of real time, at least limits.MIN_SPEED: '50', '50x', '0.5' -> 50.0,
    50.0, 0.5. The one check of every command's --speed (replay, monitor, calibrate)."""
    s = text.strip().lower().removesuffix("x").strip()
    try:
        value = float(s)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        also = " or 'max'" if or_max else ""
        raise SensorbackError(
            f"--speed: expected a positive number (times real time, e.g. {example}){also}, got '{text}'")
    problem = limits.speed_problem(value)
    if problem:
        raise SensorbackError(f"--speed: {problem}, got '{text}'")
    return value


def stored_calibration(spec: str | None, windows: dict):
    """The calibration --calibration names (None without it); a one-line error when windows
    (told_windows) are given too (a calibration already says where upright, forward and standing
    are)."""
    if spec is None:
        return None
    if any(w is not None for w in windows.values()):
        raise SensorbackError("--calibration: give it or --reference-window/--forward-window/--stand-window, not both")
    from ..calibrations import load_calibration

    return load_calibration(spec)


def forward_advice(calibration) -> list[str]:
    """What to do when the recording did not show which way is forward (for a file)."""
    if calibration is None or calibration.reference.forward_known:
        return []
    return ["to judge slouching here, give --forward-window C:D (where the wearer slouched) or "
            "--calibration FILE|DEVICE (see 'sensorback calibrate')"]


def warn_if_calibration_misfits(path, epochs, stored) -> None:
    """A `warning:` when the --calibration given (stored: (calibration, how), or None) does not fit
    how the sensor was worn in this recording."""
    if stored is None:
        return
    from ..core.personal import FitCheck

    check = FitCheck(stored[1])
    check.add(epochs)
    check.finish()
    warn_calibration_misfit(path, check.note)


def warn_calibration_misfit(path, note: str | None) -> None:
    """FitCheck's note (None: nothing to say) about the --calibration given, as a `warning:`."""
    if note:
        import warnings

        warnings.warn(f"{path}: {note}, or leave out --calibration", UserWarning, stacklevel=3)


def given(**options) -> dict:
    """The options the user gave (not None), so that the callee's own defaults apply to the rest."""
    return {name: value for name, value in options.items() if value is not None}
