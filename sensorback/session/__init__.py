"""The session: one runner takes samples through the core, the coach and the store to whoever
listens (``runner.Runner``). Live monitoring (sensorback.live) and replay (sensorback.replay) are
two policies on top of it; the guided calibration (``guided``) reads a live source too."""

from .runner import Runner

__all__ = ["Runner"]
