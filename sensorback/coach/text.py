"""What a person is shown for a coach event: its line (replay, the monitor's log) and the title of
its desktop notification. Each rule words its own events (breaks.py, slouch.py); this is where
everything else asks. Durations and times are written by ``sensorback.timefmt``.
"""

from __future__ import annotations

from typing import Optional

from ..timefmt import clock
from .events import CoachEvent
from .rules import kind


def event_text(e: CoachEvent) -> str:
    """What a person is told, without the time: 'break prompt: you have been sitting 30 min — try: ...'."""
    k = kind(e.kind)
    if k is not None:
        return k.text(e)
    return f"{e.kind.replace('_', ' ')}: {e.detail}"


def event_line(e: CoachEvent) -> str:
    """'00:31:02  break prompt: you have been sitting 30 min — try: torso twists (...)'."""
    return f"{clock(e.t)}  {event_text(e)}"


def notification_title(e: CoachEvent) -> Optional[str]:
    """The title of the desktop notification an event goes out as, None for events that do not."""
    k = kind(e.kind)
    return k.notify if k is not None else None
