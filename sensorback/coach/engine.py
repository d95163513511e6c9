"""The Coach: a sitting clock, break prompts and slouch nudges over the core's epoch stream.

The Coach drives its rules (coach/rules.py: the sitting clock and break prompts in breaks.py, slouch
nudges in slouch.py; the interface in rule.py); the rules of today are written out below.

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
- Each prompt suggests an exercise from ``exercises.PROMPT_POOL`` (only exercises done on your feet,
  the ones by the desk first), rotating
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
from typing import Optional, Sequence

import numpy as np

from ..core.epochs import EpochTable
from ..core.states import NO_DATA, STATES
from ..errors import SensorbackError
from .events import CoachEvent, CoachStatus
from .rule import EPS, GAP, Rule
from .rules import RULES
from .settings import CoachSettings


class Coach:
    """Feed it epochs with update(), read events back; see the module docstring for the rules.

    >>> coach = Coach(CoachSettings(sit_limit_min=45))
    >>> for chunk in chunks:                # any chunking, same events
    ...     events = coach.update(chunk)
    >>> events += coach.finish()

    The rules themselves (coach/rules.py) each see every epoch in turn; the coach checks the
    stream, turns holes between epochs into uncertain time, applies queued snoozes at epoch
    boundaries and keeps the status.
    """

    def __init__(self, settings: CoachSettings | None = None, history: int = 20,
                 rules: Optional[Sequence[type[Rule]]] = None):
        self.settings = settings if settings is not None else CoachSettings()
        self.rules = [rule(self.settings) for rule in (RULES if rules is None else rules)]
        self._snoozer = next((r for r in self.rules if hasattr(r, "snooze")), None)
        self._now: float | None = None  # end of the last epoch processed
        self._state: int | None = None
        self._finished = False
        self._snoozes: list[tuple[float, float]] = []  # queued (t, minutes), sorted by t
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
                    self._step(now, a, GAP, out)
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
        if self._snoozer is None:
            raise SensorbackError("snooze: none of the coach's rules gives prompts to snooze")
        m = self._snoozer.default_snooze_min if minutes is None else minutes
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not (0 < m <= 24 * 60):
            raise SensorbackError(f"snooze: minutes must be above 0 and at most 1440, got {m!r}")
        t = float(t)
        if not math.isfinite(t):
            raise SensorbackError(f"snooze: time must be a finite number of seconds, got {t!r}")
        if self._now is not None and t <= self._now + EPS:
            out: list[CoachEvent] = []
            self._snoozer.snooze(self._now, float(m), out)
            self._recent.extend(out)
            return out
        i = bisect_right([q[0] for q in self._snoozes], t)
        self._snoozes.insert(i, (t, float(m)))
        return []

    def finish(self) -> list[CoachEvent]:
        """End of the stream: apply due snoozes, let each rule settle what it can no longer decide
        (prompts without an outcome become ``unknown``).

        Snoozes queued for after the end of the data are dropped. Calling it again returns [].
        """
        if self._finished:
            return []
        out: list[CoachEvent] = []
        if self._now is not None:
            self._apply_snoozes(self._now, out)
            for rule in self.rules:
                rule.finish(self._now, out)
        self._snoozes.clear()
        self._finished = True
        self._recent.extend(out)
        return out

    def status(self) -> CoachStatus:
        """Where things stand after the last epoch fed (see CoachStatus)."""
        t = self._now
        values: dict = {}
        for rule in self.rules:
            values.update(rule.status(t))
        known = {k: values.pop(k) for k in list(values) if k in _STATUS_FIELDS}
        return CoachStatus(
            t=t,
            state=STATES[self._state] if self._state is not None and self._state >= 0 else None,
            last_events=tuple(self._recent),
            extra=values,
            **known,
        )

    # ------------------------------------------------------------------------------ one epoch
    def _step(self, a: float, b: float, s: int, out: list[CoachEvent]) -> None:
        self._now = b
        self._state = s if s != GAP else NO_DATA
        for rule in self.rules:
            rule.step(a, b, s, out)

    def _apply_snoozes(self, boundary: float | None, out: list[CoachEvent]) -> None:
        while self._snoozes and boundary is not None and self._snoozes[0][0] <= boundary + EPS:
            _, minutes = self._snoozes.pop(0)
            self._snoozer.snooze(boundary, minutes, out)


_STATUS_FIELDS = frozenset(CoachStatus.__dataclass_fields__) - {"t", "state", "last_events", "extra"}


def run_coach(epochs: EpochTable, settings: CoachSettings | None = None,
              snoozes: list[tuple[float, float | None]] = ()) -> list[CoachEvent]:
    """All the events of one recording: a fresh Coach, the snoozes (t, minutes) queued, all epochs
    fed at once, then finish()."""
    coach = Coach(settings)
    for t, minutes in snoozes:
        coach.snooze(t, minutes)
    return coach.update(epochs) + coach.finish()
