"""The Coach: a sitting clock, break prompts and slouch nudges over the core's epoch stream.

Pure logic: no I/O, no threads, no wall clock. Time is only ever the ``t_start``/``t_end`` of the
epochs it is fed (seconds on the recording's time axis), so replaying a recording gives exactly the
events a live session would have given, and feeding the epochs in chunks of any size gives the same
events as feeding them all at once.

How each epoch's state counts
-----------------------------
- sitting, slouching: **sitting**. The sitting clock grows by the epoch's length.
- standing, moving: **up**. Consecutive up time forms a *run*; a run becomes a verified **break**
  the moment it reaches ``break_min_s`` of up time. A run that ends in sitting before that is a
  *shuffle*: it does not reset the clock, and its time is not added to it (the clock pauses).
- not_worn, no_data, and holes between epochs: **uncertain**. Neither sitting nor a break: the
  clock pauses, an up run is neither extended nor ended, a slouch episode is neither extended nor
  ended. The time is reported as ``uncertain_s`` in the status.
- lying: treated like uncertain (**neither**), reported as ``lying_s``. Lying is not sitting, but
  it is no more a break than sitting is: a break is meant to get the body upright and moving, and
  on a chest sensor at a desk job "lying" is mostly a deep recline or a nap, both still sedentary.

Sitting clock and break prompts
-------------------------------
- The clock counts sitting seconds since the last verified break (shuffles and uncertain time
  excluded). A verified break resets it to 0, clears any snooze and starts a new sitting stretch.
- A break prompt is given at the end of the epoch in which the clock reaches ``sit_limit_min``,
  then again each time it has grown by another ``reprompt_min``, for as long as the stretch lasts.
  Prompts therefore only ever happen while sitting.
- ``snooze(t, minutes)``: the next prompt comes when the clock reaches (clock at t + minutes), but
  never before ``sit_limit_min``; re-prompts then continue every ``reprompt_min``. Prompts still
  awaiting an outcome become ``snoozed``.
- Every prompt gets one outcome event: ``heeded`` if a verified break *begins* within
  ``heed_window_min`` of it (decided when the break is verified, which can be up to
  ``break_min_s`` later), ``snoozed`` if snoozed first, ``ignored`` once the window has passed with
  no break begun in it (or the run begun in it turned out to be a shuffle). ``finish()`` settles
  prompts the recording ended too early to decide as ``unknown``.
- Each prompt suggests an exercise from ``exercises.PROMPT_POOL`` (desk-friendly first), rotating
  through the pool and never repeating the previous suggestion.

Slouch nudges
-------------
- A slouch *episode* starts with a slouching epoch. Slouched seconds in the episode add up; other
  sitting, standing or moving epochs count as time out of the slouch, and only once that reaches
  ``slouch_clear_s`` in a row does the episode end (hysteresis: a brief sit-up does not restart the
  count, and a new episode needs a real return to upright first). Uncertain/lying time pauses it.
- A nudge is given at the end of a slouching epoch when all of these hold:
  the episode has ``slouch_delay_s`` or more of slouching; at least ``slouch_budget_min`` of
  slouching fall within the rolling ``slouch_window_min`` ending now (the budget: a little
  slouching per hour is allowed, so a short lean never nags); at least ``slouch_cooldown_min``
  have passed since the last nudge.
- So no nudge is ever given while moving or standing (only in a slouching epoch); a long episode
  can get a second nudge after the cooldown.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque

import numpy as np

from ..core.epochs import EpochTable
from ..core.states import LYING, MOVING, NO_DATA, SITTING, SLOUCHING, STANDING, STATES
from ..errors import SensorbackError
from . import exercises, text
from .events import (
    BREAK_PROMPT, BREAK_VERIFIED, HEEDED, IGNORED, PROMPT_OUTCOME, SLOUCH_NUDGE, SNOOZED,
    SNOOZED_OUTCOME, UNKNOWN, CoachEvent, CoachStatus,
)
from .settings import CoachSettings

EPS = 1e-6  # seconds; epoch times are compared with this slack
_GAP = -1  # pseudo-state for a hole between two epochs (uncertain)


class Coach:
    """Feed it epochs with update(), read events back; see the module docstring for the rules.

    >>> coach = Coach(CoachSettings(sit_limit_min=45))
    >>> for chunk in chunks:                # any chunking, same events
    ...     events = coach.update(chunk)
    >>> events += coach.finish()
    """

    def __init__(self, settings: CoachSettings | None = None, history: int = 20):
        self.settings = s = settings if settings is not None else CoachSettings()
        self._limit = s.sit_limit_min * 60.0
        self._reprompt = s.reprompt_min * 60.0
        self._break_s = s.break_min_s
        self._heed_s = s.heed_window_min * 60.0
        self._delay_s = s.slouch_delay_s
        self._clear_s = s.slouch_clear_s
        self._cooldown_s = s.slouch_cooldown_min * 60.0
        self._budget_s = s.slouch_budget_min * 60.0
        self._window_s = s.slouch_window_min * 60.0

        self._now: float | None = None  # end of the last epoch processed
        self._state: int | None = None
        self._finished = False
        # sitting clock
        self._sit_s = 0.0
        self._uncertain_s = 0.0
        self._lying_s = 0.0
        self._up_s = 0.0
        self._up_start: float | None = None  # start of the current up run (None: not in one)
        self._on_break = False  # the current up run has been verified as a break
        self._next_due = self._limit
        self._snoozed = False
        self._prompts = 0
        # prompts
        self._pending: list[CoachEvent] = []
        self._last_exercise: str | None = None
        self._snoozes: list[tuple[float, float]] = []  # queued (t, minutes), sorted by t
        # slouching
        self._in_episode = False
        self._episode_s = 0.0
        self._clear_run_s = 0.0
        self._last_nudge: float | None = None
        self._spans: deque[list[float]] = deque()  # slouching time as merged [start, end] spans
        self._recent: deque[CoachEvent] = deque(maxlen=history)

    # ------------------------------------------------------------------------------ public API
    def update(self, epochs: EpochTable) -> list[CoachEvent]:
        """Process the next epochs (in time order, continuing where the last call stopped).

        Holes between epochs count as uncertain time. Epochs that start before the previous one
        ended are a one-line SensorbackError.
        """
        if self._finished:
            raise RuntimeError("Coach.update() called after finish()")
        out: list[CoachEvent] = []
        n = len(epochs)
        if n == 0:
            return out
        state = np.asarray(epochs.state)
        if state.min() < 0 or state.max() >= len(STATES):
            raise SensorbackError(f"coach: invalid state code {int(state[(state < 0) | (state >= len(STATES))][0])}")
        t0 = np.asarray(epochs.t_start, dtype=np.float64).tolist()
        t1 = np.asarray(epochs.t_end, dtype=np.float64).tolist()
        for a, b, s in zip(t0, t1, state.tolist()):
            if not (math.isfinite(a) and math.isfinite(b) and b > a):
                raise SensorbackError(f"coach: an epoch must end after it starts, got {a!r} .. {b!r} s")
            now = self._now
            if now is not None:
                if a < now - EPS:
                    raise SensorbackError(
                        f"coach: epochs out of order: one starts at {a:g} s, before the previous one "
                        f"ended at {now:g} s"
                    )
                if a > now + EPS:
                    self._apply_snoozes(now, out)
                    self._step(now, a, _GAP, out)
            self._apply_snoozes(a, out)
            self._step(a, b, s, out)
        self._apply_snoozes(self._now, out)
        self._recent.extend(out)
        return out

    def snooze(self, t: float, minutes: float | None = None) -> list[CoachEvent]:
        """Postpone the next break prompt by ``minutes`` (default ``snooze_min``) of sitting, from t.

        A snooze at or before the end of the data seen so far takes effect now and its events are
        returned. A snooze at a later t is queued and takes effect when the stream reaches t (at
        the first epoch boundary at or after t); its events then come from update()/finish().
        Either way the events are a ``snoozed`` event and a ``snoozed`` outcome for each prompt
        still waiting for one.
        """
        if self._finished:
            raise RuntimeError("Coach.snooze() called after finish()")
        m = self.settings.snooze_min if minutes is None else minutes
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not (0 < m <= 24 * 60):
            raise SensorbackError(f"snooze: minutes must be above 0 and at most 1440, got {m!r}")
        t = float(t)
        if not math.isfinite(t):
            raise SensorbackError(f"snooze: time must be a finite number of seconds, got {t!r}")
        if self._now is not None and t <= self._now + EPS:
            out: list[CoachEvent] = []
            self._do_snooze(self._now, float(m), out)
            self._recent.extend(out)
            return out
        i = bisect_right([q[0] for q in self._snoozes], t)
        self._snoozes.insert(i, (t, float(m)))
        return []

    def finish(self) -> list[CoachEvent]:
        """End of the stream: apply due snoozes, settle undecidable prompts as ``unknown``.

        Snoozes queued for after the end of the data are dropped. Calling it again returns [].
        """
        if self._finished:
            return []
        out: list[CoachEvent] = []
        if self._now is not None:
            self._apply_snoozes(self._now, out)
            for p in self._pending:
                out.append(self._outcome(self._now, p, UNKNOWN, text.UNKNOWN_WHY))
        self._pending.clear()
        self._snoozes.clear()
        self._finished = True
        self._recent.extend(out)
        return out

    def status(self) -> CoachStatus:
        """Where things stand after the last epoch fed (see CoachStatus)."""
        t = self._now
        used = self._rolling_slouch(t) if t is not None else 0.0
        return CoachStatus(
            t=t,
            state=STATES[self._state] if self._state is not None and self._state >= 0 else None,
            sitting_s=self._sit_s,
            uncertain_s=self._uncertain_s,
            lying_s=self._lying_s,
            up_s=self._up_s if self._up_start is not None else 0.0,
            on_break=self._on_break,
            next_prompt_in_s=max(0.0, self._next_due - self._sit_s) if self.settings.break_prompts else None,
            snoozed=self._snoozed,
            prompts=self._prompts,
            slouch_s=self._episode_s if self._in_episode else 0.0,
            slouch_budget_used_s=used,
            last_events=tuple(self._recent),
        )

    # ------------------------------------------------------------------------------ one epoch
    def _step(self, a: float, b: float, s: int, out: list[CoachEvent]) -> None:
        d = b - a
        self._now = b
        self._state = s if s != _GAP else NO_DATA
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
        self._slouch(a, b, s, out)

    def _verify_break(self, b: float, out: list[CoachEvent]) -> None:
        start = self._up_start
        self._on_break = True
        if self._sit_s > 0 or self._pending:
            out.append(CoachEvent(b, BREAK_VERIFIED, text.break_detail(start, self._sit_s),
                                  sitting_s=self._sit_s, ref_t=start))
        for p in self._pending:
            if start <= p.t + self._heed_s + EPS:
                out.append(self._outcome(b, p, HEEDED, text.heeded_why(start - p.t)))
            else:  # pragma: no cover - such prompts are settled as ignored when their window passes
                out.append(self._outcome(b, p, IGNORED, text.IGNORED_LATE_WHY))
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
                out.append(self._outcome(b, p, IGNORED, text.ignored_why(self._heed_s)))
            else:
                keep.append(p)
        self._pending = keep

    def _prompt(self, b: float, out: list[CoachEvent]) -> None:
        ex = exercises.suggest(self._last_exercise)
        self._last_exercise = ex.key
        self._prompts += 1
        event = CoachEvent(b, BREAK_PROMPT, text.prompt_detail(self._sit_s, self._prompts > 1, self._break_s, ex),
                           sitting_s=self._sit_s, exercise=ex.key)
        out.append(event)
        self._pending.append(event)
        # next prompt: the first due time past the clock (one prompt per epoch, even for long epochs)
        steps = math.floor((self._sit_s - self._next_due) / self._reprompt + EPS) + 1
        self._next_due += max(1, steps) * self._reprompt

    def _outcome(self, t: float, prompt: CoachEvent, outcome: str, why: str) -> CoachEvent:
        return CoachEvent(t, PROMPT_OUTCOME, text.outcome_detail(prompt.t, outcome, why),
                          outcome=outcome, ref_t=prompt.t, exercise=prompt.exercise)

    def _apply_snoozes(self, boundary: float | None, out: list[CoachEvent]) -> None:
        while self._snoozes and boundary is not None and self._snoozes[0][0] <= boundary + EPS:
            _, minutes = self._snoozes.pop(0)
            self._do_snooze(boundary, minutes, out)

    def _do_snooze(self, t: float, minutes: float, out: list[CoachEvent]) -> None:
        self._next_due = max(self._limit, self._sit_s + minutes * 60.0)
        self._snoozed = True
        # What the snooze did, not what was asked: before sit_limit_min it can only be later than asked
        # (status().next_prompt_in_s tells the same).
        left = self._next_due - self._sit_s
        out.append(CoachEvent(t, SNOOZED, text.snooze_detail(left), sitting_s=self._sit_s, minutes=left / 60.0))
        for p in self._pending:
            out.append(self._outcome(t, p, SNOOZED_OUTCOME, text.SNOOZED_WHY))
        self._pending.clear()

    # ------------------------------------------------------------------------------ slouching
    def _slouch(self, a: float, b: float, s: int, out: list[CoachEvent]) -> None:
        if s == SLOUCHING:
            if not self._in_episode:
                self._in_episode = True
                self._episode_s = 0.0
            self._episode_s += b - a
            self._clear_run_s = 0.0
            if self._spans and abs(self._spans[-1][1] - a) <= EPS:
                self._spans[-1][1] = b
            else:
                while self._spans and self._spans[0][1] <= b - self._window_s:
                    self._spans.popleft()
                self._spans.append([a, b])
            if (
                self.settings.slouch_nudges
                and self._episode_s >= self._delay_s - EPS
                and (self._last_nudge is None or b - self._last_nudge >= self._cooldown_s - EPS)
                and self._rolling_slouch(b) >= self._budget_s - EPS
            ):
                self._last_nudge = b
                out.append(CoachEvent(b, SLOUCH_NUDGE, text.nudge_detail(self._episode_s), slouch_s=self._episode_s))
        elif s in (SITTING, STANDING, MOVING):
            if self._in_episode:
                self._clear_run_s += b - a
                if self._clear_run_s >= self._clear_s - EPS:
                    self._in_episode = False
                    self._episode_s = 0.0
                    self._clear_run_s = 0.0
        # lying / not worn / no data / holes: the episode is paused

    def _rolling_slouch(self, t: float) -> float:
        """Slouched seconds within [t - window, t]; forgets spans that ended before the window."""
        lo = t - self._window_s
        spans = self._spans
        while spans and spans[0][1] <= lo:
            spans.popleft()
        return sum(min(e, t) - max(s, lo) for s, e in spans if e > lo and s < t)


def run_coach(epochs: EpochTable, settings: CoachSettings | None = None,
              snoozes: list[tuple[float, float | None]] = ()) -> list[CoachEvent]:
    """All the events of one recording: a fresh Coach, the snoozes (t, minutes) queued, all epochs
    fed at once, then finish()."""
    coach = Coach(settings)
    for t, minutes in snoozes:
        coach.snooze(t, minutes)
    return coach.update(epochs) + coach.finish()
