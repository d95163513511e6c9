"""What a coach rule is: the small interface every rule implements, and how it declares its settings.

A rule watches the epoch stream for one thing (prolonged sitting, slouching, ...) and says so
with events. It declares, in one place:

- ``settings``: its numbers, each with unit, help and range (``number(...)``), and ``switch``: the
  setting that turns it on or off (``flag(...)``). They become fields of CoachSettings, the config
  file's keys and the lines of ``sensorback config show``;
- ``kinds``: the kinds of event it gives (EventKind: the line a person is shown, whether replay
  prints it, its notification, what it counts as in reports, how report timelines draw it);
- ``step(a, b, state, out)``: one epoch [a, b) in ``state`` (a code of core.states, or GAP for a
  hole between epochs), appending its events to ``out``; ``finish(t, out)`` at the end of the
  stream; ``status()``: what a dashboard shows.

Rules are pure: no I/O, no clock; time is only the epochs' own. Register a new rule in
``coach/rules.py`` (docs/architecture.md); nothing else needs to change.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, ClassVar

from .events import CoachEvent, EventKind

EPS = 1e-6   # seconds; epoch times are compared with this slack
GAP = -1     # the state of a hole between two epochs: neither sitting nor up (uncertain)

DAY_MIN = 24 * 60.0
DAY_S = 24 * 3600.0


def number(default: float, unit: str, help: str, lo: float, hi: float, lo_open: bool = False) -> Any:
    """A numeric setting: unit ("min" or "s"), one line of help, allowed range [lo, hi] (lo
    excluded when lo_open)."""
    return field(default=default, metadata={"unit": unit, "help": help, "lo": lo, "hi": hi, "lo_open": lo_open})


def flag(default: bool, help: str) -> Any:
    """An on/off setting."""
    return field(default=default, metadata={"unit": "", "help": help})


class Rule:
    """One thing the coach watches for. Subclasses declare the class attributes and implement
    ``step``; one instance per Coach, built with the coach's settings."""

    #: the rule's numbers: setting name -> number(...)
    settings: ClassVar[dict[str, Any]] = {}
    #: the setting that turns the rule on or off: (name, flag(...))
    switch: ClassVar[tuple[str, Any] | None] = None
    #: the kinds of event it gives
    kinds: ClassVar[tuple[EventKind, ...]] = ()

    def __init__(self, settings) -> None:
        self.settings = settings

    @classmethod
    def check(cls, settings) -> None:
        """Raise a one-line SensorbackError when the rule's settings do not fit together."""

    def step(self, a: float, b: float, state: int, out: list[CoachEvent]) -> None:
        raise NotImplementedError

    def finish(self, t: float, out: list[CoachEvent]) -> None:
        """The end of the stream at t: settle what can no longer be decided."""

    def status(self, t: float | None) -> dict[str, Any]:
        """What a dashboard shows as of t (the end of the last epoch): CoachStatus fields, or
        anything else (it goes to CoachStatus.extra)."""
        return {}
