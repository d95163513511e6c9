"""The coach: turns the core's epoch stream into a sitting clock, break prompts and slouch nudges.

Pure logic driven by the recording's own time (no I/O, no wall clock, no asyncio):

    from sensorback.coach import Coach, CoachSettings
    coach = Coach(CoachSettings(sit_limit_min=45))
    events = coach.update(analysis.epochs) + coach.finish()

The Coach drives rules (``rules.py``; the interface is ``rule.py``): the sitting clock and break
prompts (``breaks.py``) and slouch nudges (``slouch.py``); the rules are documented in
``engine.py`` and, in plain words, in docs/coach.md. Settings come from ``config.load_settings()``
(defaults < config file < overrides); the exercise library is in ``exercises``.
"""

from .breaks import OUTCOMES
from .config import config_path, load_settings
from .engine import Coach, run_coach
from .events import CoachEvent, CoachStatus, EventKind
from .exercises import EXERCISES, Exercise
from .rules import KINDS, RULES
from .settings import CoachSettings

__all__ = ["Coach", "CoachEvent", "CoachSettings", "CoachStatus", "EXERCISES", "EventKind", "Exercise", "KINDS",
           "OUTCOMES", "RULES", "config_path", "load_settings", "run_coach"]
