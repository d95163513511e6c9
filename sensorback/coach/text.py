"""What the coach says, in one place: the detail stored with each event, the short line a person
is shown for it (replay, the monitor's log), and the title of its desktop notification.

Durations and times are written by ``sensorback.timefmt``.
"""

from __future__ import annotations

from typing import Optional

from ..timefmt import clock, duration
from . import exercises
from .events import BREAK_PROMPT, BREAK_VERIFIED, PROMPT_OUTCOME, SLOUCH_NUDGE, SNOOZED, CoachEvent

# ------------------------------------------------------------------ the details stored with events


def prompt_detail(sitting_s: float, again: bool, break_s: float, exercise: exercises.Exercise) -> str:
    still = "still " if again else ""
    return (f"You have {still}been sitting for {duration(sitting_s)}. Stand up and move for at least "
            f"{duration(break_s)}; try {exercise.name.lower()} ({exercise.dose}).")


def break_detail(up_since: float, sitting_s: float) -> str:
    return f"Break: up and about since t={up_since:.0f} s, after {duration(sitting_s)} of sitting."


def outcome_detail(prompt_t: float, outcome: str, why: str) -> str:
    return f"Break prompt at t={prompt_t:.0f} s: {outcome} ({why})."


def heeded_why(after_s: float) -> str:
    return f"break began {duration(after_s)} after it"


def ignored_why(heed_s: float) -> str:
    return f"no break began within {duration(heed_s)}"


IGNORED_LATE_WHY = "no break began in time"
UNKNOWN_WHY = "the recording ended before it could be decided"
SNOOZED_WHY = "snoozed"


def snooze_detail(left_s: float) -> str:
    return f"Break prompts snoozed: next one after {duration(left_s)} more sitting."


def nudge_detail(slouch_s: float) -> str:
    return (f"Slouched for {duration(slouch_s)}: sit back in the chair, let the shoulders drop and lift the "
            "chest a little.")


# ------------------------------------------------------------------ what a person is shown

_TITLES = {BREAK_PROMPT: "Time for a break", SLOUCH_NUDGE: "Mind your back"}


def event_text(e: CoachEvent) -> str:
    """What a person is told, without the time: 'break prompt: you have been sitting 30 min — try: ...'."""
    if e.kind == BREAK_PROMPT:
        ex = exercises.by_key(e.exercise)
        tip = f" — try: {ex.name.lower()} ({ex.dose})" if ex is not None else ""
        return f"break prompt: you have been sitting {duration(e.sitting_s or 0.0)}{tip}"
    if e.kind == SLOUCH_NUDGE:
        return (f"slouch nudge: slouched for {duration(e.slouch_s or 0.0)} — sit back, let the "
                "shoulders drop and lift the chest a little")
    if e.kind == PROMPT_OUTCOME:
        return f"break prompt of {clock(e.ref_t) if e.ref_t is not None else '?'}: {e.outcome}"
    if e.kind == SNOOZED:
        return (f"snoozed: next break prompt after {duration(e.minutes * 60)} more sitting"
                if e.minutes else "snoozed")
    if e.kind == BREAK_VERIFIED:
        return f"break: up since {clock(e.ref_t) if e.ref_t is not None else '?'}"
    return f"{e.kind.replace('_', ' ')}: {e.detail}"


def event_line(e: CoachEvent) -> str:
    """'00:31:02  break prompt: you have been sitting 30 min — try: torso twists (...)'."""
    return f"{clock(e.t)}  {event_text(e)}"


def notification_title(e: CoachEvent) -> Optional[str]:
    """The title of the desktop notification an event goes out as, None for events that do not."""
    return _TITLES.get(e.kind)
