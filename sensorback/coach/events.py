"""What the coach says (CoachEvent), how each kind of event is presented (EventKind), and what a
dashboard shows (CoachStatus). The kinds themselves are declared by the rules (coach/rules.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class CoachEvent:
    """One thing the coach noticed or said.

    t is in seconds on the recording's time axis: the end of the epoch (or the stream position) at
    which the coach could know it. detail is one line of plain text for a person. The optional
    fields depend on kind:

    The kinds are declared by the rules (coach/rules.py); those of today's rules:

    - break_prompt: sitting_s (the sitting clock), exercise (key of the suggested exercise)
    - prompt_outcome: outcome (heeded, snoozed, ignored, unknown), ref_t (t of the prompt it settles)
    - break_verified: sitting_s (sitting time of the stretch it ends), ref_t (when the break began)
    - slouch_nudge: slouch_s (slouched seconds in this episode)
    - snoozed: minutes (of sitting until the next prompt: the snooze asked for, or more when that
      would have come before sit_limit_min), sitting_s
    """

    t: float
    kind: str
    detail: str
    sitting_s: float | None = None
    slouch_s: float | None = None
    exercise: str | None = None
    outcome: str | None = None
    ref_t: float | None = None
    minutes: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EventKind:
    """A kind of event a rule gives, and how the rest of sensorback presents it.

    text: the line a person is shown for an event of this kind (replay, the monitor's log).
    printed: replay prints it (False: only the events file and the database get it).
    notify: the title of the desktop notification it goes out as (None: none).
    tally: what these events are counted as, a plural noun ("prompts"): reports count every
        tally; the monitor's totals show the tallies of the kinds that notify.
    mark: how report timelines draw it: "prompt" (a triangle above the band), "nudge" (a dot
        below it) or None.
    suggests_exercise: its ``exercise`` is a suggestion (what the monitor's d key marks done).
    """

    name: str
    text: Callable[["CoachEvent"], str]
    printed: bool = True
    notify: Optional[str] = None
    tally: Optional[str] = None
    mark: Optional[str] = None
    suggests_exercise: bool = False


@dataclass(frozen=True)
class CoachStatus:
    """A snapshot for a dashboard, as of ``t`` (the end of the last epoch seen; None before any).

    sitting_s: the sitting clock (sitting + slouching since the last verified break).
    uncertain_s: not worn / no data / missing epochs since the last verified break; this time is in
        neither the sitting clock nor any break, so a UI can say "plus N min we could not see".
    lying_s: lying since the last verified break (also neither sitting nor a break).
    up_s: standing/moving in the current run that is not (yet) a break; 0 while sitting.
    on_break: True once the current run of standing/moving has been verified as a break.
    next_prompt_in_s: more sitting (clock seconds, not wall time) until the next break prompt;
        None when prompts are off.
    snoozed: a snooze is in force for this sitting stretch.
    prompts: break prompts given in this sitting stretch.
    slouch_s: slouched seconds in the current slouch episode (0 when not in one).
    slouch_budget_used_s: slouched seconds within the rolling budget window ending at t.
    last_events: the most recent events, oldest first.
    extra: what other rules report (their Rule.status() beyond the fields above).
    """

    t: float | None
    state: str | None
    sitting_s: float = 0.0
    uncertain_s: float = 0.0
    lying_s: float = 0.0
    up_s: float = 0.0
    on_break: bool = False
    next_prompt_in_s: float | None = None
    snoozed: bool = False
    prompts: int = 0
    slouch_s: float = 0.0
    slouch_budget_used_s: float = 0.0
    last_events: tuple[CoachEvent, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["last_events"] = [e.to_dict() for e in self.last_events]
        return d

