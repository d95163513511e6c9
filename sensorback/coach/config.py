"""The coach's config file: flat ``key = value`` TOML in the user's config directory.

Where: ``$SENSORBACK_CONFIG`` if set, else ``config.toml`` in ``platformdirs.user_config_dir("sensorback")``
(``~/.config/sensorback/config.toml`` on Linux). A missing file means "all defaults".

Reading uses the standard library's ``tomllib``. Writing does not need a TOML library: the file only
ever holds top-level numbers and booleans, so ``set_value`` edits the one ``key = value`` line in place
(or appends it) and leaves every other line, comments included, as it was. That is why there is no
``tomli-w`` dependency.

Every problem (unreadable or broken file, unknown key, bad value) is a one-line SensorbackError that
names the file and the key.
"""

from __future__ import annotations

import os
import re
import textwrap
import tomllib
from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError, SensorbackError
from ..private import check_named_folder, own_folder, write_whole
from .settings import KEYS, CoachSettings, check_value, describe, field_of, parse_value

ENV_VAR = "SENSORBACK_CONFIG"
FILE_NAME = "config.toml"
HEADER = "# sensorback coach settings; edit here or with 'sensorback config set KEY VALUE'.\n"


def config_path() -> Path:
    """The config file in use (it need not exist)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return default_config_path()


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("sensorback", appauthor=False)) / FILE_NAME


def _resolve(path) -> Path:
    return Path(path) if path is not None else config_path()


def _read_text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SensorbackError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SensorbackError(f"{path}: the config file is not UTF-8 text") from None


def _parse(path: Path, text: str, repairing: str | None = None) -> dict[str, Any]:
    """The settings in the file's text, checked; errors name the file, the line and the key.

    ``repairing``: the key 'config set' is about to replace, whose value in the file is not checked
    (a bad one is what the user is repairing), nor are the rules between keys (set_value checks
    them once the new value is in)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SensorbackError(f"{path}: not a valid TOML file: {exc}") from None
    bad: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
            raise InputError(path, f"[{key}]: sections are not used; write plain 'key = value' lines",
                             _section_line(text, key))
        _known_key(path, text, key)
        try:
            check_value(key, value)
        except SensorbackError as exc:
            bad[key] = str(exc)
    reported = [key for key in bad if key != repairing]
    if reported:
        key = reported[0]
        # 'config set' repairs a bad value only when it is the only one in the file
        hint = f"; 'sensorback config set {key} VALUE' replaces it" if len(bad) == 1 else ""
        raise InputError(path, bad[key] + hint, _line_of(text, key))
    if repairing is None:
        try:
            CoachSettings(**data)
        except SensorbackError as exc:
            raise SensorbackError(f"{path}: {exc}") from None
    return data


def _known_key(path: Path, text: str, key: str):
    """field_of(key) for a key written in the file: an unknown one names the file and its line."""
    try:
        return field_of(key)
    except SensorbackError as exc:
        raise InputError(path, str(exc), _line_of(text, key)) from None


def _line_of(text: str, key: str) -> int | None:
    """The line (from 1) where the file sets ``key``, None if it cannot be told."""
    pattern = _key_line(key)
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def _section_line(text: str, key: str) -> int | None:
    """The first line (from 1) of a table ``key`` in the file: '[key]', '[key.more]', '[[key]]', a
    dotted 'key.more = ...' or an inline 'key = {...}'; None if it cannot be told."""
    name = rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')"""
    pattern = re.compile(rf"^\s*(?:\[\[?\s*{name}\s*[.\]]|{name}\s*[.=])")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def read_config(path=None) -> dict[str, Any]:
    """The settings written in the file (only those), checked; {} when there is no file."""
    path = _resolve(path)
    text = _read_text(path)
    return {} if text is None else _parse(path, text)


def load_settings(path=None, overrides: Mapping[str, Any] | None = None) -> CoachSettings:
    """Defaults, then the config file, then overrides (e.g. from command-line flags; text is parsed
    the same way as ``config set``)."""
    settings = CoachSettings(**read_config(path))
    if overrides:
        settings = settings.with_values(overrides)
    return settings


def format_value(value: Any) -> str:
    """A value as TOML: true/false, 30, 1.5."""
    if isinstance(value, bool):
        return "true" if value else "false"
    v = float(value)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _key_line(key: str) -> re.Pattern:
    return re.compile(rf"""^(\s*)(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=[^#\n]*(#.*)?$""")


def set_value(key: str, text: str, path=None) -> tuple[Path, Any]:
    """Write one setting; text 'default' removes it from the file. Returns (file, new value).

    A bad value of this same key in the file is what the user is repairing, so it does not stop
    them; any other problem in the file does (a broken config file is never overwritten: fix or
    delete it first).
    """
    field_of(key)
    path = _resolve(path)
    reset = text.strip().lower() == "default"
    value = None if reset else parse_value(key, text)
    old_text = _read_text(path)
    values = {} if old_text is None else _parse(path, old_text, repairing=key)
    before = dict(values)
    if reset:
        values.pop(key, None)
    else:
        values[key] = value
    try:
        CoachSettings(**values)
    except SensorbackError as exc:
        try:
            CoachSettings(**before)
        except SensorbackError:  # the file's values clash already (and still do): the file is told
            raise SensorbackError(f"{path}: {exc}") from None
        # the new value clashes with another setting (from the file or its default): nothing written
        new = getattr(CoachSettings(), key) if reset else value
        raise SensorbackError(f"{key} = {format_value(new)}{' (default)' if reset else ''} not set: {exc}") from None

    lines = (old_text if old_text is not None else HEADER).splitlines(keepends=True)
    pattern = _key_line(key)
    new_lines, found = [], False
    for line in lines:
        m = pattern.match(line.rstrip("\r\n"))
        if m is None:
            new_lines.append(line)
            continue
        found = True
        if not reset:
            comment = f"  {m.group(2)}" if m.group(2) else ""
            new_lines.append(f"{m.group(1)}{key} = {format_value(value)}{comment}\n")
    if not found and not reset:
        if new_lines and not new_lines[-1].endswith("\n"):
            new_lines[-1] += "\n"
        new_lines.append(f"{key} = {format_value(value)}\n")
    new_text = "".join(new_lines)
    if _parse(path, new_text) != values:  # pragma: no cover - the line edit must round-trip
        raise SensorbackError(f"{path}: could not update '{key}' safely; edit the file by hand")
    _write_atomic(path, new_text)
    return path, (getattr(CoachSettings(), key) if reset else value)


def _write_atomic(path: Path, text: str) -> None:
    own = path == default_config_path()
    if not own:
        check_named_folder(path, ENV_VAR)
    try:
        if own:
            own_folder(path.parent)
        write_whole(path, text.encode("utf-8"))  # 0600, atomic (sensorback.private)
    except OSError as exc:
        raise SensorbackError(f"{path}: cannot write the config file: {exc.strerror or exc}") from None


def show_lines(path=None, overrides: Mapping[str, Any] | None = None) -> list[str]:
    """Every setting as a TOML line with a comment: what it means and where the value comes from.

    The output is itself a valid config file.
    """
    path = _resolve(path)
    in_file = read_config(path)
    settings = load_settings(path, overrides)
    over = set(overrides or ())
    rows = []
    for key in KEYS:
        origin = "flag" if key in over else "config file" if key in in_file else "default"
        rows.append((f"{key} = {format_value(getattr(settings, key))}", f"# {describe(key)}; {origin}"))
    width = max(len(a) for a, _ in rows)
    where = f"# {path}" + ("" if path.exists() else " (not created yet: all defaults)")
    return [where] + [f"{a:<{width}}  {b}" for a, b in rows]


def settings_help(width: int = 76) -> str:
    """Every setting with its default and what it means, for 'sensorback config set --help': two
    lines a key (the meaning wrapped to ``width``), from the same definitions as show_lines, so the
    help can never list a key that does not exist or miss one. No blank lines: it is printed as one
    block kept as written."""
    defaults = CoachSettings()
    lines = []
    for key in KEYS:
        lines.append(f"  {key} (default {format_value(getattr(defaults, key))})")
        # keep '>= 0' and '<= 1440' on one line: a no-break space while wrapping
        meaning = re.sub(r"([<>]=?) ", "\\1\u00a0", describe(key))
        lines += [line.replace("\u00a0", " ") for line in
                  textwrap.wrap(meaning, width, initial_indent="      ", subsequent_indent="      ")]
    return "\n".join(lines)
