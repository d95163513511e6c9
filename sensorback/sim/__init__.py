"""A seeded, physics-based simulator of a desk worker wearing a clip-on accelerometer.

It exists so the signal core can be developed and benchmarked against recordings whose truth
is known exactly (posture angles, mounting, sensor errors), in every situation we care about.

    block, labels = simulate("desk-day", seed=3, rate_hz=50)
    write_labels(labels, sidecar_path("day.csv"))   # -> day.labels.csv

    rec = simulate_stream("desk-day", seed=3, duration_s=7 * 86400)  # a week, made piece by piece
    for block in rec.blocks(): ...                   # exactly simulate()'s samples, in order
"""

from .labels import LABELS, Labels, read_labels, sidecar_path, write_labels
from .scenarios import SCENARIOS
from .simulate import SimulatedRecording, check_duration, check_rate, check_seed, duration_range, simulate, simulate_stream

__all__ = ["simulate", "simulate_stream", "SimulatedRecording", "check_seed", "check_rate", "check_duration", "duration_range", "SCENARIOS", "Labels", "LABELS", "write_labels", "read_labels", "sidecar_path"]
