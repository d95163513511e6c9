"""The signal core: pure numpy/scipy, no I/O. Samples in, per-epoch states out."""

from .decide import Calibration
from .epochs import EpochTable
from .options import CoreOptions
from .pipeline import Analysis, analyze, block_stats, estimate_calibration, iter_analyze, learn_forward
from .states import STATES
from .stream import StreamProcessor

__all__ = ["Analysis", "Calibration", "CoreOptions", "EpochTable", "STATES", "StreamProcessor",
           "analyze", "block_stats", "estimate_calibration", "iter_analyze", "learn_forward"]
