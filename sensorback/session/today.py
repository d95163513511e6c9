"""Today's totals so far (the local day), from the store: what a dashboard adds this session to."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Today:
    """Seconds per state, coach events by tally ("prompts", "nudges", ...) and exercises done."""

    seconds: Counter = field(default_factory=Counter)
    counts: Counter = field(default_factory=Counter)
    exercises: int = 0


def today_so_far(store, now: datetime | None = None) -> Today:
    """What the store holds for the local day up to now. Raises the store's SensorbackError."""
    from ..coach.rules import TALLIES
    from ..core.states import STATES

    now = now or datetime.now().astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    out = Today()
    series = store.epochs(midnight, now)
    for code, d in zip(series.state.tolist(), series.duration_s.tolist()):
        out.seconds[STATES[code]] += d
    for e in store.events(midnight, now):
        tally = TALLIES.get(getattr(e, "kind", None))
        if tally is not None:
            out.counts[tally] += 1
    out.exercises = len(store.exercises(midnight, now))
    return out


__all__ = ["Today", "today_so_far"]
