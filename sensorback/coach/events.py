"""What the coach says (CoachEvent) and what a dashboard shows (CoachStatus)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

BREAK_PROMPT = "break_prompt"
PROMPT_OUTCOME = "prompt_outcome"
BREAK_VERIFIED = "break_verified"
SLOUCH_NUDGE = "slouch_nudge"
SNOOZED = "snoozed"
KINDS: tuple[str, ...] = (BREAK_PROMPT, PROMPT_OUTCOME, BREAK_VERIFIED, SLOUCH_NUDGE, SNOOZED)

HEEDED, SNOOZED_OUTCOME, IGNORED, UNKNOWN = "heeded", "snoozed", "ignored", "unknown"
OUTCOMES: tuple[str, ...] = (HEEDED, SNOOZED_OUTCOME, IGNORED, UNKNOWN)


@dataclass(frozen=True)
class CoachEvent:
    """One thing the coach noticed or said.

    t is in seconds on the recording's time axis: the end of the epoch (or the stream position) at
    which the coach could know it. detail is one line of plain text for a person. The optional
    fields depend on kind:

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
    """

    t: float | None
    state: str | None
    sitting_s: float
    uncertain_s: float
    lying_s: float
    up_s: float
    on_break: bool
    next_prompt_in_s: float | None
    snoozed: bool
    prompts: int
    slouch_s: float
    slouch_budget_used_s: float
    last_events: tuple[CoachEvent, ...]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["last_events"] = [e.to_dict() for e in self.last_events]
        return d

