"""The sitting clock and break prompts: a rule of the coach (see rule.py and engine.py's docstring).

- The clock counts sitting seconds since the last verified break (shuffles and uncertain time
  excluded). A verified break (``break_min_s`` on one's feet) resets it, clears any snooze and
  starts a new sitting stretch.
- A break prompt at the end of the epoch in which the clock reaches ``sit_limit_min``, then after
  every further ``reprompt_min``, while the stretch lasts; each suggests an exercise.
- Every prompt gets one outcome: heeded, snoozed, ignored, or unknown at the end of the data.
- ``snooze(t, minutes, out)`` moves the next prompt to that much more sitting (never before
  ``sit_limit_min``).
"""

from __future__ import annotations

import math
from typing import Any

from ..core.states import LYING, MOVING, SITTING, SLOUCHING, STANDING
from ..timefmt import clock, duration
from . import exercises
from .events import CoachEvent, EventKind
from .rule import DAY_MIN, DAY_S, EPS, Rule, flag, number

BREAK_PROMPT = "break_prompt"
PROMPT_OUTCOME = "prompt_outcome"
BREAK_VERIFIED = "break_verified"
SNOOZED = "snoozed"

HEEDED, SNOOZED_OUTCOME, IGNORED, UNKNOWN = "heeded", "snoozed", "ignored", "unknown"
OUTCOMES: tuple[str, ...] = (HEEDED, SNOOZED_OUTCOME, IGNORED, UNKNOWN)


# ------------------------------------------------------------------------------ the words

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


def prompt_line(e: CoachEvent) -> str:
    ex = exercises.by_key(e.exercise)
    tip = f" — try: {ex.name.lower()} ({ex.dose})" if ex is not None else ""
    return f"break prompt: you have been sitting {duration(e.sitting_s or 0.0)}{tip}"


def outcome_line(e: CoachEvent) -> str:
    return f"break prompt of {clock(e.ref_t) if e.ref_t is not None else '?'}: {e.outcome}"


def snooze_line(e: CoachEvent) -> str:
    return f"snoozed: next break prompt after {duration(e.minutes * 60)} more sitting" if e.minutes else "snoozed"


def break_line(e: CoachEvent) -> str:
    return f"break: up since {clock(e.ref_t) if e.ref_t is not None else '?'}"


# ------------------------------------------------------------------------------ the rule

class BreakRule(Rule):
    """The sitting clock, verified breaks, break prompts and their outcomes, snoozes."""

    settings = {
        "sit_limit_min": number(30.0, "min", "sitting time before the first break prompt", 0, DAY_MIN, True),
        "reprompt_min": number(10.0, "min", "more sitting before the prompt is repeated, while ignored",
                               0, DAY_MIN, True),
        "break_min_s": number(60.0, "s", "standing or moving needed for a break to count", 0, DAY_S, True),
        "heed_window_min": number(5.0, "min", "a break starting this soon after a prompt means it was heeded",
                                  0, DAY_MIN),
        "snooze_min": number(15.0, "min", "default snooze: more sitting before the next prompt", 0, DAY_MIN, True),
    }
    switch = ("break_prompts", flag(True, "give break prompts"))
    kinds = (
        EventKind(BREAK_PROMPT, prompt_line, notify="Time for a break", tally="prompts", mark="prompt",
                  suggests_exercise=True),
        EventKind(PROMPT_OUTCOME, outcome_line),
        EventKind(BREAK_VERIFIED, break_line, printed=False),
        EventKind(SNOOZED, snooze_line, tally="snoozes"),
    )

    def __init__(self, settings) -> None:
        super().__init__(settings)
        s = settings
        self._limit = s.sit_limit_min * 60.0
        self._reprompt = s.reprompt_min * 60.0
        self._break_s = s.break_min_s
        self._heed_s = s.heed_window_min * 60.0
        self._sit_s = 0.0
        self._uncertain_s = 0.0
        self._lying_s = 0.0
        self._up_s = 0.0
        self._up_start: float | None = None  # start of the current up run (None: not in one)
        self._on_break = False  # the current up run has been verified as a break
        self._next_due = self._limit
        self._snoozed = False
        self._prompts = 0
        self._pending: list[CoachEvent] = []
        self._last_exercise: str | None = None

    def step(self, a: float, b: float, s: int, out: list[CoachEvent]) -> None:
        d = b - a
        if s == SITTING or s == SLOUCHING:
            if self._up_start is not None:  # a shuffle (or the first sitting after a break)
                self._up_start = None
                self._up_s = 0.0
                self._on_break = False
            self._sit_s += d
        elif s == STANDING or s == MOVING:
            if self._up_start is None:
                self._up_start = a
            self._up_s += d
            if not self._on_break and self._up_s >= self._break_s - EPS:
                self._verify_break(b, out)
        elif s == LYING:
            self._lying_s += d
        else:  # not_worn, no_data, hole
            self._uncertain_s += d

        if self._pending:
            self._expire_prompts(b, out)
        if (s == SITTING or s == SLOUCHING) and self.settings.break_prompts and self._sit_s >= self._next_due - EPS:
            self._prompt(b, out)

    def finish(self, t: float, out: list[CoachEvent]) -> None:
        for p in self._pending:
            out.append(self._outcome(t, p, UNKNOWN, UNKNOWN_WHY))
        self._pending.clear()

    def status(self, t: float | None) -> dict[str, Any]:
        return dict(
            sitting_s=self._sit_s,
            uncertain_s=self._uncertain_s,
            lying_s=self._lying_s,
            up_s=self._up_s if self._up_start is not None else 0.0,
            on_break=self._on_break,
            next_prompt_in_s=max(0.0, self._next_due - self._sit_s) if self.settings.break_prompts else None,
            snoozed=self._snoozed,
            prompts=self._prompts,
        )

    # -- snoozes (the coach queues them and calls this at an epoch boundary) --
    @property
    def default_snooze_min(self) -> float:
        return self.settings.snooze_min

    def snooze(self, t: float, minutes: float, out: list[CoachEvent]) -> None:
        self._next_due = max(self._limit, self._sit_s + minutes * 60.0)
        self._snoozed = True
        # What the snooze did, not what was asked: before sit_limit_min it can only be later than asked
        # (status().next_prompt_in_s tells the same).
        left = self._next_due - self._sit_s
        out.append(CoachEvent(t, SNOOZED, snooze_detail(left), sitting_s=self._sit_s, minutes=left / 60.0))
        for p in self._pending:
            out.append(self._outcome(t, p, SNOOZED_OUTCOME, SNOOZED_WHY))
        self._pending.clear()

    # -- the rest --
    def _verify_break(self, b: float, out: list[CoachEvent]) -> None:
        start = self._up_start
        self._on_break = True
        if self._sit_s > 0 or self._pending:
            out.append(CoachEvent(b, BREAK_VERIFIED, break_detail(start, self._sit_s),
                                  sitting_s=self._sit_s, ref_t=start))
        for p in self._pending:
            if start <= p.t + self._heed_s + EPS:
                out.append(self._outcome(b, p, HEEDED, heeded_why(start - p.t)))
            else:  # pragma: no cover - such prompts are settled as ignored when their window passes
                out.append(self._outcome(b, p, IGNORED, IGNORED_LATE_WHY))
        self._pending.clear()
        self._sit_s = 0.0
        self._uncertain_s = 0.0
        self._lying_s = 0.0
        self._next_due = self._limit
        self._snoozed = False
        self._prompts = 0

    def _expire_prompts(self, b: float, out: list[CoachEvent]) -> None:
        keep = []
        for p in self._pending:
            deadline = p.t + self._heed_s
            run_in_time = self._up_start is not None and self._up_start <= deadline + EPS
            if b > deadline + EPS and not run_in_time:
                out.append(self._outcome(b, p, IGNORED, ignored_why(self._heed_s)))
            else:
                keep.append(p)
        self._pending = keep

    def _prompt(self, b: float, out: list[CoachEvent]) -> None:
        ex = exercises.suggest(self._last_exercise)
        self._last_exercise = ex.key
        self._prompts += 1
        event = CoachEvent(b, BREAK_PROMPT, prompt_detail(self._sit_s, self._prompts > 1, self._break_s, ex),
                           sitting_s=self._sit_s, exercise=ex.key)
        out.append(event)
        self._pending.append(event)
        # next prompt: the first due time past the clock (one prompt per epoch, even for long epochs)
        steps = math.floor((self._sit_s - self._next_due) / self._reprompt + EPS) + 1
        self._next_due += max(1, steps) * self._reprompt

    def _outcome(self, t: float, prompt: CoachEvent, outcome: str, why: str) -> CoachEvent:
        return CoachEvent(t, PROMPT_OUTCOME, outcome_detail(prompt.t, outcome, why),
                          outcome=outcome, ref_t=prompt.t, exercise=prompt.exercise)
