"""The signal core: pure numpy/scipy, no I/O. Samples in, per-epoch states out."""

from .epochs import EpochTable
from .options import CoreOptions
from .personal import from_windows, learn, learn_sensor, learn_slouch
from .pipeline import Analysis, analyze, block_stats, calibrate, estimate_calibration, iter_analyze
from .reference import Calibration
from .states import STATES
from .stream import StreamProcessor

__all__ = ["Analysis", "Calibration", "CoreOptions", "EpochTable", "STATES", "StreamProcessor",
           "analyze", "block_stats", "calibrate", "estimate_calibration", "from_windows", "iter_analyze", "learn",
           "learn_sensor", "learn_slouch"]
