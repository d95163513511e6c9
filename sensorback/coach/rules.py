"""The coach's rules, in the order they see each epoch (their events come in that order), and
what everything else learns from their declarations: the kinds of event, how each is presented,
counted, drawn and notified.

A new rule: a module with a Rule subclass (see rule.py), added to RULES. Its settings, event
kinds, wording, notifications and report counts then reach the config file, ``sensorback config``,
replay, the monitor and the reports without another edit.
"""

from __future__ import annotations

from typing import Optional

from .breaks import BreakRule
from .events import EventKind
from .rule import Rule
from .slouch import SlouchRule

RULES: tuple[type[Rule], ...] = (BreakRule, SlouchRule)

_BY_NAME: dict[str, EventKind] = {k.name: k for rule in RULES for k in rule.kinds}
#: Every kind of event the coach gives.
KINDS: tuple[str, ...] = tuple(_BY_NAME)
#: The kinds a person watching a replay is shown (the rest go only to files and the database).
PRINTED: tuple[str, ...] = tuple(k.name for k in _BY_NAME.values() if k.printed)
#: What events are counted as (reports): kind -> tally; and the tallies the monitor's totals show
#: (those of the kinds that go out as notifications: what interrupted you).
TALLIES: dict[str, str] = {k.name: k.tally for k in _BY_NAME.values() if k.tally}
SHOWN_TALLIES: tuple[str, ...] = tuple(dict.fromkeys(k.tally for k in _BY_NAME.values() if k.tally and k.notify))
#: How report timelines draw each kind: kind -> "prompt" or "nudge".
MARKS: dict[str, str] = {k.name: k.mark for k in _BY_NAME.values() if k.mark}


def kind(name: str) -> Optional[EventKind]:
    """The declaration of an event kind, None for a kind no rule gives (e.g. another program's)."""
    return _BY_NAME.get(name)


__all__ = ["KINDS", "MARKS", "PRINTED", "RULES", "SHOWN_TALLIES", "TALLIES", "kind"]
