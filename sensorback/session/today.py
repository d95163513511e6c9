"""Today's totals so far (the local day), from the store: what a dashboard adds this session to."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from typing import Any, Optional

from ..coach.rules import TALLIES
from ..core.states import STATES
from ..localday import local_midnight, today
from ..report import redflags
from ..report.compute import DOCTOR_BEFORE_EXERCISE, keep_events, resolve_overlaps


@dataclass
class Today:
    """Seconds per state, coach events by tally ("prompts", "nudges", ...) and exercises done."""

    seconds: Counter = field(default_factory=Counter)
    counts: Counter = field(default_factory=Counter)
    exercises: int = 0


@dataclass
class TodayRows:
    """The stored rows of the local day up to ``now`` (read once: the slow part), to be counted
    once the start of the session going on is known (``totals``)."""

    epochs: Any   # store.EpochSeries
    events: list
    exercises: list  # store.ExerciseInfo rows, each with its time (at)
    flags: list = field(default_factory=list)  # warning signs of today's pain check-ins (redflags.checkins_flags)
    day: Optional[date] = None  # the local day they are of

    @property
    def exercise_warning(self) -> Optional[str]:
        """What the report says today instead of suggesting exercise, when the pain check-ins call
        for a doctor; None when they do not."""
        return None if redflags.suggests_exercise(self.flags) else DOCTOR_BEFORE_EXERCISE

    def totals(self, until: datetime | None = None) -> Today:
        """Counted as the report counts them: where stored sessions overlap, the newest one's time
        (report.compute.resolve_overlaps). ``until``: the first sample of the session going on,
        the newest of all, so that nothing stored from then on counts again (a sped-up demo is
        dated into the past, over the demos played before it; an exercise the session logged is
        stored at the time it was done, from its first sample on, and the session counts it itself)."""
        epochs, events, exercises = self.epochs, self.events, self.exercises
        if until is not None:
            epochs = epochs.take(epochs.t_start < until.timestamp() - epochs.origin)
            events = [e for e in events if e.at < until]
            exercises = [x for x in exercises if x.at < until]
        kept = resolve_overlaps(epochs)
        out = Today(exercises=len(exercises))
        for code, d in zip(kept.epochs.state.tolist(), kept.epochs.duration_s.tolist()):
            out.seconds[STATES[code]] += d
        for e in keep_events(events, kept):
            tally = TALLIES.get(getattr(e, "kind", None))
            if tally is not None:
                out.counts[tally] += 1
        return out


def today_rows(store, now: datetime | None = None, tz: tzinfo | None = None) -> TodayRows:
    """What the store holds for the local day up to ``now`` (an aware instant; default the clock).
    ``tz``: the zone whose day counts (None: the computer's). The day starts at localday's midnight,
    not at ``now`` with the hour set to 0: on a clock-change day now's UTC offset is not midnight's.
    The pain check-ins are judged as the report of today judges them (the same local days of history).
    Raises the store's SensorbackError."""
    now = now if now is not None else datetime.now(timezone.utc)
    day = today(now, tz)
    midnight = local_midnight(day, tz)
    flags = redflags.checkins_flags(store.pain_checkins(redflags.history_start(day, tz), now), midnight, now)
    return TodayRows(store.epochs(midnight, now), store.events(midnight, now), store.exercises(midnight, now),
                     flags, day)


def today_so_far(store, now: datetime | None = None, until: datetime | None = None,
                 tz: tzinfo | None = None) -> Today:
    """Today's totals from the store (see today_rows, TodayRows.totals). Raises the store's
    SensorbackError."""
    return today_rows(store, now, tz).totals(until)


__all__ = ["Today", "TodayRows", "today_rows", "today_so_far"]
