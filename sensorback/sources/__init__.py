"""Sources of samples for a live session: BLE sensors, the simulated wearer, recording files.

Every source is an async iterator of SourceItem: SampleBlocks (timestamped on the session's own
sample-time axis, seconds from the session start) interleaved with SourceStatus notes
(connected, disconnected, reconnecting, battery, signal). The pipeline downstream (core ->
coach -> store/UI) never looks at wall-clock time; only a source knows how its samples relate
to the real world, and it says so through the blocks' timestamps and `gap_until` notes.
"""

from .base import Source, SourceItem, SourceStatus

__all__ = ["Source", "SourceItem", "SourceStatus"]
