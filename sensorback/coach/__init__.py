"""The coach: turns the core's epoch stream into a sitting clock, break prompts and slouch nudges.

Pure logic driven by the recording's own time (no I/O, no wall clock, no asyncio):

    from sensorback.coach import Coach, CoachSettings
    coach = Coach(CoachSettings(sit_limit_min=45))
    events = coach.update(analysis.epochs) + coach.finish()

The rules are documented in ``engine.py`` and, in plain words, in docs/coach.md. Settings come from
``config.load_settings()`` (defaults < config file < overrides); the exercise library is in
``exercises``.
"""

from .config import config_path, load_settings
from .engine import Coach, run_coach
from .events import KINDS, OUTCOMES, CoachEvent, CoachStatus
from .exercises import EXERCISES, Exercise
from .settings import CoachSettings

__all__ = ["Coach", "CoachEvent", "CoachSettings", "CoachStatus", "EXERCISES", "Exercise", "KINDS",
           "OUTCOMES", "config_path", "load_settings", "run_coach"]
