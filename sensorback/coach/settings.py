"""CoachSettings: every threshold the coach uses, in one flat dataclass.

Each field carries its unit, a one-line help text and its allowed range in ``metadata``, so the
config file, the ``sensorback config`` command and the docs all describe the same thing. Values are
checked when the dataclass is built; a bad value is a one-line :class:`SensorbackError` naming the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping

from ..errors import SensorbackError


def _num(default: float, unit: str, help: str, lo: float, hi: float, lo_open: bool = False) -> Any:
    return field(default=default, metadata={"unit": unit, "help": help, "lo": lo, "hi": hi, "lo_open": lo_open})


def _flag(default: bool, help: str) -> Any:
    return field(default=default, metadata={"unit": "", "help": help})


DAY_MIN = 24 * 60.0
DAY_S = 24 * 3600.0


@dataclass(frozen=True)
class CoachSettings:
    """Thresholds of the sitting clock, break prompts and slouch nudges (see docs/coach.md)."""

    sit_limit_min: float = _num(30.0, "min", "sitting time before the first break prompt", 0, DAY_MIN, True)
    reprompt_min: float = _num(10.0, "min", "more sitting before the prompt is repeated, while ignored",
                               0, DAY_MIN, True)
    break_min_s: float = _num(60.0, "s", "standing or moving needed for a break to count", 0, DAY_S, True)
    heed_window_min: float = _num(5.0, "min", "a break starting this soon after a prompt means it was heeded",
                                  0, DAY_MIN)
    snooze_min: float = _num(15.0, "min", "default snooze: more sitting before the next prompt",
                             0, DAY_MIN, True)
    slouch_delay_s: float = _num(60.0, "s", "slouching needed in one episode before a nudge", 0, DAY_S)
    slouch_clear_s: float = _num(15.0, "s", "time out of the slouch that ends an episode", 0, DAY_S)
    slouch_cooldown_min: float = _num(10.0, "min", "minimum time between two slouch nudges", 0, DAY_MIN)
    slouch_budget_min: float = _num(5.0, "min", "slouching allowed per rolling window before any nudge",
                                    0, DAY_MIN)
    slouch_window_min: float = _num(60.0, "min", "length of the rolling window of the slouch budget",
                                    0, DAY_MIN, True)
    break_prompts: bool = _flag(True, "give break prompts")
    slouch_nudges: bool = _flag(True, "give slouch nudges")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            check_value(f.name, value)
            if f.metadata["unit"]:
                object.__setattr__(self, f.name, float(value))
        if self.slouch_budget_min > self.slouch_window_min:
            raise SensorbackError(
                f"slouch_budget_min: must not exceed slouch_window_min ({self.slouch_window_min:g} min), "
                f"got {self.slouch_budget_min:g}"
            )

    def with_values(self, values: Mapping[str, Any]) -> "CoachSettings":
        """A copy with some values replaced (typed values or text as on the command line)."""
        parsed = {key: parse_value(key, v) if isinstance(v, str) else v for key, v in values.items()}
        for key in parsed:
            field_of(key)
        return replace(self, **parsed)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


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
            raise SensorbackError(f"{key}: must be true or false, got {shown}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SensorbackError(f"{key}: must be a number of {_unit_word(meta['unit'])}, got {shown}")
    v = float(value)
    if not math.isfinite(v) or v < meta["lo"] or (meta["lo_open"] and v == meta["lo"]) or v > meta["hi"]:
        lo = f"above {meta['lo']:g}" if meta["lo_open"] else f"at least {meta['lo']:g}"
        raise SensorbackError(
            f"{key}: must be {lo} and at most {meta['hi']:g} {_unit_word(meta['unit'])}, got {shown}"
        )


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
