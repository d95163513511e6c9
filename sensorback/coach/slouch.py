"""Slouch nudges: a rule of the coach (see rule.py and engine.py's docstring).

- A slouch *episode* starts with a slouching epoch; its slouched seconds add up. Other sitting,
  standing or moving count as time out of the slouch; only ``slouch_clear_s`` of it in a row ends
  the episode. Uncertain and lying time pause it.
- A nudge at the end of a slouching epoch when the episode has ``slouch_delay_s`` of slouching, the
  rolling ``slouch_window_min`` holds at least ``slouch_budget_min`` of slouching, and the last
  nudge is ``slouch_cooldown_min`` ago.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..core.states import MOVING, SITTING, SLOUCHING, STANDING
from ..errors import SensorbackError
from ..timefmt import duration
from .events import CoachEvent, EventKind
from .rule import DAY_MIN, DAY_S, EPS, Rule, flag, number

SLOUCH_NUDGE = "slouch_nudge"


def nudge_detail(slouch_s: float) -> str:
    return (f"Slouched for {duration(slouch_s)}: sit back in the chair, let the shoulders drop and lift the "
            "chest a little.")


def nudge_line(e: CoachEvent) -> str:
    return (f"slouch nudge: slouched for {duration(e.slouch_s or 0.0)} — sit back, let the "
            "shoulders drop and lift the chest a little")


class SlouchRule(Rule):
    """Slouch episodes with hysteresis, a rolling budget and a cooldown between nudges."""

    settings = {
        "slouch_delay_s": number(60.0, "s", "slouching needed in one episode before a nudge", 0, DAY_S),
        "slouch_clear_s": number(15.0, "s", "time out of the slouch that ends an episode", 0, DAY_S),
        "slouch_cooldown_min": number(10.0, "min", "minimum time between two slouch nudges", 0, DAY_MIN),
        "slouch_budget_min": number(5.0, "min", "slouching within the last slouch_window_min before a nudge can come",
                                    0, DAY_MIN),
        "slouch_window_min": number(60.0, "min", "how far back slouching counts toward slouch_budget_min; "
                                    "at least that long", 0, DAY_MIN, True),
    }
    switch = ("slouch_nudges", flag(True, "give slouch nudges"))
    kinds = (EventKind(SLOUCH_NUDGE, nudge_line, notify="Mind your back", tally="nudges", mark="nudge"),)

    @classmethod
    def check(cls, settings) -> None:
        # Either key may be the one just changed: the message names both values and why they clash.
        if settings.slouch_budget_min > settings.slouch_window_min:
            raise SensorbackError(
                f"slouch_budget_min ({settings.slouch_budget_min:g} min) must not exceed slouch_window_min "
                f"({settings.slouch_window_min:g} min): a nudge waits for that much slouching within the "
                "window, so none could ever come"
            )

    def __init__(self, settings) -> None:
        super().__init__(settings)
        s = settings
        self._delay_s = s.slouch_delay_s
        self._clear_s = s.slouch_clear_s
        self._cooldown_s = s.slouch_cooldown_min * 60.0
        self._budget_s = s.slouch_budget_min * 60.0
        self._window_s = s.slouch_window_min * 60.0
        self._in_episode = False
        self._episode_s = 0.0
        self._clear_run_s = 0.0
        self._last_nudge: float | None = None
        self._spans: deque[list[float]] = deque()  # slouching time as merged [start, end] spans

    def step(self, a: float, b: float, s: int, out: list[CoachEvent]) -> None:
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
                out.append(CoachEvent(b, SLOUCH_NUDGE, nudge_detail(self._episode_s), slouch_s=self._episode_s))
        elif s in (SITTING, STANDING, MOVING):
            if self._in_episode:
                self._clear_run_s += b - a
                if self._clear_run_s >= self._clear_s - EPS:
                    self._in_episode = False
                    self._episode_s = 0.0
                    self._clear_run_s = 0.0
        # lying / not worn / no data / holes: the episode is paused

    def status(self, t: float | None) -> dict[str, Any]:
        return dict(slouch_s=self._episode_s if self._in_episode else 0.0,
                    slouch_budget_used_s=self._rolling_slouch(t) if t is not None else 0.0)

    def _rolling_slouch(self, t: float) -> float:
        """Slouched seconds within [t - window, t]; forgets spans that ended before the window."""
        lo = t - self._window_s
        spans = self._spans
        while spans and spans[0][1] <= lo:
            spans.popleft()
        return sum(min(e, t) - max(s, lo) for s, e in spans if e > lo and s < t)
