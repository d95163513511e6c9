"""CoachSettings: every threshold the coach uses, in one flat dataclass, made from the settings
each rule declares (coach/rules.py, rule.py).

Each field carries its unit, a one-line help text and its allowed range in ``metadata``, so the
config file, the ``sensorback config`` command and the docs all describe the same thing. Values are
checked when the dataclass is built; a bad value is a one-line :class:`SensorbackError` naming the key.
"""

from __future__ import annotations

import math
from dataclasses import fields, make_dataclass, replace
from typing import Any, Mapping

from ..errors import SensorbackError
from .rules import RULES


class _Settings:
    """What CoachSettings does besides holding values (it is built below from the rules)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            check_value(f.name, value)
            if f.metadata["unit"]:
                object.__setattr__(self, f.name, float(value))
        for rule in RULES:
            rule.check(self)

    def with_values(self, values: Mapping[str, Any]) -> "CoachSettings":
        """A copy with some values replaced (typed values or text as on the command line)."""
        parsed = {key: parse_value(key, v) if isinstance(v, str) else v for key, v in values.items()}
        for key in parsed:
            field_of(key)
        return replace(self, **parsed)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _declared() -> list[tuple[str, type, Any]]:
    """The rules' settings as dataclass fields: every rule's numbers, then every rule's switch."""
    numbers = [(name, float, f) for rule in RULES for name, f in rule.settings.items()]
    switches = [(rule.switch[0], bool, rule.switch[1]) for rule in RULES if rule.switch is not None]
    return numbers + switches


CoachSettings = make_dataclass("CoachSettings", _declared(), bases=(_Settings,), frozen=True)
CoachSettings.__module__ = __name__
CoachSettings.__doc__ = """Every threshold of the coach's rules, in one flat frozen dataclass (see docs/coach.md).

Built from what the rules declare (coach/rules.py): their numbers, then their on/off switches.
Values are checked when it is built; a bad value is a one-line SensorbackError naming the key.
"""


KEYS: tuple[str, ...] = tuple(f.name for f in fields(CoachSettings))


def field_of(key: str):
    """The dataclass field of a setting; unknown keys are a one-line error with close matches."""
    for f in fields(CoachSettings):
        if f.name == key:
            return f
    import difflib

    close = difflib.get_close_matches(key, KEYS, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}?" if close else f"known settings: {', '.join(KEYS)}"
    raise SensorbackError(f"unknown setting '{key}'; {hint}")


def describe(key: str) -> str:
    """'sitting time before the first break prompt (min, > 0)' for help texts."""
    meta = field_of(key).metadata
    if not meta["unit"]:
        return f"{meta['help']} (true or false)"
    lo = f"> {meta['lo']:g}" if meta["lo_open"] else f">= {meta['lo']:g}"
    return f"{meta['help']} ({meta['unit']}, {lo}, <= {meta['hi']:g})"


def check_value(key: str, value: Any, shown: str | None = None) -> None:
    """Raise a one-line SensorbackError if value is not allowed for key (shown: how to quote it)."""
    shown = repr(value) if shown is None else shown
    f = field_of(key)
    meta = f.metadata
    if not meta["unit"]:
        if not isinstance(value, bool):
            raise SensorbackError(_quoted(key, value, "true or false") or f"{key}: must be true or false, got {shown}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        number = f"a number of {_unit_word(meta['unit'])}"
        raise SensorbackError(_quoted(key, value, number) or f"{key}: must be {number}, got {shown}")
    v = float(value)
    if not math.isfinite(v) or v < meta["lo"] or (meta["lo_open"] and v == meta["lo"]) or v > meta["hi"]:
        lo = f"above {meta['lo']:g}" if meta["lo_open"] else f"at least {meta['lo']:g}"
        raise SensorbackError(
            f"{key}: must be {lo} and at most {meta['hi']:g} {_unit_word(meta['unit'])}, got {shown}"
        )


def _quoted(key: str, value: Any, what: str) -> str:
    """The error for a string that would be right without its quotes (a config file's
    sit_limit_min = "45", which TOML reads as text); '' for any other value. what: 'true or false'
    or 'a number of minutes', what the setting takes."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if what == "true or false":
        right = text in ("true", "false")
    else:
        try:
            right = math.isfinite(float(text))
        except ValueError:
            right = False
    return f"{key}: {value!r} is a quoted string, not {what}; write it without quotes: {key} = {text}" if right else ""


def parse_value(key: str, text: str) -> Any:
    """Text from the command line ('45', '1.5', 'true', 'off') -> the setting's type, checked."""
    meta = field_of(key).metadata
    s = text.strip()
    if not meta["unit"]:
        low = s.lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise SensorbackError(f"{key}: must be true or false, got '{text}'")
    try:
        v = float(s)
    except ValueError:
        raise SensorbackError(f"{key}: must be a number of {_unit_word(meta['unit'])}, got '{text}'") from None
    check_value(key, v, shown=f"'{text}'")
    return v


def _unit_word(unit: str) -> str:
    return {"min": "minutes", "s": "seconds"}.get(unit, unit)
