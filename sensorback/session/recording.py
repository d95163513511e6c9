"""The samples of a live session written to a native recording as they arrive (monitor --record)."""

from __future__ import annotations

import os
from pathlib import Path

from ..samples import SampleBlock


class Recording:
    """Opened (private to the user) at the first block, which says the device, rate and start."""

    def __init__(self, path: str | os.PathLike, source_name: str):
        self.path = Path(path)
        self.source_name = source_name
        self._writer = None

    def append(self, block: SampleBlock) -> None:
        if self._writer is None:
            from ..formats import NativeWriter

            self._writer = NativeWriter(self.path, device=block.device, rate_hz=block.rate_hz,
                                        start_time=block.start_time, meta={"source": self.source_name})
        self._writer.append(block)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


__all__ = ["Recording"]
