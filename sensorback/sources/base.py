"""The one interface every live source implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import AsyncIterator, Protocol, Union

from ..samples import SampleBlock


@dataclass(frozen=True)
class SourceStatus:
    """Something the user should see that is not samples.

    kind: "scanning", "connecting", "connected", "disconnected", "reconnecting", "battery",
          "signal", "decode_errors", "stopped".
    t:    session sample time (s) the status refers to, or None when not tied to samples.
    gap_until: for "disconnected"/"reconnecting": sample time up to which it is now certain no
          samples will arrive (lets the pipeline close epochs as no_data without waiting for the
          next sample; the core's StreamProcessor.flush() is enough for that).
    detail: one human line ("Polar H10 A1B2 connected, 50 Hz, battery 80 %").
    values: machine-readable extras (battery_pct, rssi_dbm, device, address, errors, ...).
    """

    kind: str
    detail: str = ""
    t: float | None = None
    gap_until: float | None = None
    values: dict = field(default_factory=dict)


SourceItem = Union[SampleBlock, SourceStatus]


class Source(Protocol):
    """An async iterator of SourceItem. `stop()` asks it to finish: it must stop the device's
    stream (e.g. send the sensor's stop command), yield a final "stopped" status and end."""

    def __aiter__(self) -> AsyncIterator[SourceItem]: ...

    async def stop(self) -> None: ...
