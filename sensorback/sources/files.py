"""A recording file as a source: its samples in blocks, handed over at a pace or as fast as possible.

    source = FileSource("day.sbr", speed=60)      # speed None: as fast as possible
    block = source.load()                         # the whole recording, when it is needed whole
    for block in source.blocks(): ...             # blocks of a few seconds, as fast as they are read
    async for item in source: ...                 # the live Source interface: paced blocks and statuses

The blocks are ``block_seconds(speed)`` seconds of samples on a grid that starts at the first
sample of each stretch (a gap longer than limits.MAX_GAP_S starts a new one: core/stretches.py).
Without ``load()`` the file is read chunk by chunk (``formats.iter_blocks``: bounded memory for
native, .cwa and .gt3x files) and cut into exactly the blocks the whole file would be cut into.

**Pace.** A block is handed over when its last sample would have been recorded at ``speed``
times real time, counted from the first sample; time in gaps longer than limits.MAX_GAP_S is not
waited for (the recording stopped there). Sample time is all the pipeline sees, so the pace only
decides *when* a block arrives, never what comes of it.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from typing import Any, AsyncIterator, Callable, Iterable, Iterator, Optional

import numpy as np

from .. import limits
from ..errors import SensorbackError
from ..samples import SampleBlock
from .base import SourceItem, SourceStatus

#: Sample seconds per block when a recording is replayed as fast as possible.
FAST_BLOCK_S = 10.0
#: When paced, a block is at most this much wall time long (and 1 to 10 s of samples).
PACED_BLOCK_WALL_S = 0.02
#: The longest single sleep while pacing (a stop request is noticed at least this often).
SLEEP_SLICE_S = 0.05
#: Samples read from the file at a time when it is not loaded whole.
CHUNK_SAMPLES = 1 << 20


def check_pace(pace: Any) -> Optional[float]:
    """None (as fast as possible) or a speed factor of at least limits.MIN_SPEED."""
    if pace is None:
        return None
    problem = limits.speed_problem(pace)
    if problem:
        raise SensorbackError(f"speed: {problem}, got {pace!r}")
    return float(pace)


def block_seconds(speed: Optional[float]) -> float:
    """Sample seconds per block: 10 s as fast as possible; when paced, 1 to 10 s, so that one
    block lasts at most about PACED_BLOCK_WALL_S of wall time."""
    if speed is None:
        return FAST_BLOCK_S
    return float(min(FAST_BLOCK_S, max(1.0, speed * PACED_BLOCK_WALL_S)))


def long_gaps(t: np.ndarray, prev_t: float) -> float:
    """Seconds in gaps longer than limits.MAX_GAP_S within t and since prev_t (core/stretches.py)."""
    from ..core.stretches import sample_cuts

    cuts = sample_cuts(t, prev_t)
    return float(sum(float(t[c]) - (float(t[c - 1]) if c else prev_t) for c in cuts))


def split_blocks(block: SampleBlock, block_s: float) -> Iterator[SampleBlock]:
    """Consecutive blocks of ``block_s`` seconds of samples (views, no copies); empty ones skipped.
    The time grid starts again after each long gap (core/stretches.py), so a gap of months costs
    nothing."""
    if not block_s > 0:
        raise ValueError("block_s must be positive")
    cutter = _Cutter(block_s)
    yield from cutter.cut(block, last=True)


def split_stream(chunks: Iterable[SampleBlock], block_s: float) -> Iterator[SampleBlock]:
    """split_blocks over a recording that comes in consecutive chunks: the same blocks as
    split_blocks(the chunks joined), holding back only the samples of one unfinished block."""
    if not block_s > 0:
        raise ValueError("block_s must be positive")
    cutter = _Cutter(block_s)
    held: Optional[SampleBlock] = None
    for chunk in chunks:
        if held is not None:
            yield from cutter.cut(held, last=False)
        held = chunk
    if held is not None:
        yield from cutter.cut(held, last=True)


class _Cutter:
    """Cuts consecutive pieces of a recording on one grid: block k of a stretch holds the samples
    in [t0 + (k - 1) * block_s, t0 + k * block_s), t0 being the stretch's first sample; a block is
    handed on once a sample at or past its end has been seen (or the stretch or the data ends)."""

    def __init__(self, block_s: float):
        self.block_s = block_s
        self.t0: Optional[float] = None          # first sample of the current stretch
        self.k = 1                               # the first edge t0 + k * block_s not yet passed
        self.prev_t: Optional[float] = None      # the last sample seen
        self.rest: Optional[SampleBlock] = None  # samples of the unfinished block

    def cut(self, piece: SampleBlock, last: bool) -> Iterator[SampleBlock]:
        from ..core.stretches import pieces, sample_cuts

        parts = pieces(len(piece), sample_cuts(piece.t, self.prev_t)) if len(piece) else []
        if len(piece):
            self.prev_t = float(piece.t[-1])
        for a, b, new in parts:
            if new or self.t0 is None:
                yield from self._release()
                self.t0, self.k = float(piece.t[a]), 1
            t = piece.t[a:b]
            count = int(math.floor((float(t[-1]) - self.t0) / self.block_s)) + 1
            edges = self.t0 + self.block_s * np.arange(self.k, count + 1)
            start, passed = a, 0
            for stop in (a + np.searchsorted(t, edges, side="left")).tolist():
                if stop >= b:  # nothing at or past this edge yet: the block may go on
                    break
                self._hold(piece, start, stop)
                yield from self._release()
                start, passed = stop, passed + 1
            self.k += passed
            self._hold(piece, start, b)
        if last:
            yield from self._release()

    def _hold(self, piece: SampleBlock, start: int, stop: int) -> None:
        if stop > start:
            part = piece.slice(start, stop)
            self.rest = part if self.rest is None else SampleBlock.concat([self.rest, part])

    def _release(self) -> Iterator[SampleBlock]:
        if self.rest is not None:
            rest, self.rest = self.rest, None
            yield rest


class Pacer:
    """Hands blocks over on time: at ``speed`` times real time by sample time, counted from the
    first block (speed None: at once). Time in gaps longer than limits.MAX_GAP_S is not waited
    for (the recording stopped there); ``gap_s`` adds it up, ``waited_s`` the wall time waited."""

    def __init__(self, speed: Optional[float], stopped: Callable[[], bool] = lambda: False):
        self.speed = speed
        self.stopped = stopped
        self.t0: Optional[float] = None      # sample time due at wall0, moved on by skipped gaps
        self.wall0 = 0.0
        self.last_t: Optional[float] = None  # the last sample scheduled
        self.gap_s = 0.0
        self.waited_s = 0.0

    def schedule(self, block: SampleBlock) -> Optional[float]:
        """The next block (not empty): the time.monotonic() at which it is due, when its last
        sample would have been recorded (None when not paced)."""
        t = block.t
        if self.last_t is None:
            self.t0, self.wall0 = float(t[0]), time.monotonic()
        else:
            gap = long_gaps(t, self.last_t)
            self.gap_s += gap
            self.t0 += gap
        self.last_t = float(t[-1])
        return None if self.speed is None else self.wall0 + (self.last_t - self.t0) / self.speed

    def wait(self, due: Optional[float]) -> bool:
        """Sleep until due (in slices, watching stopped()); False when a stop was asked for first."""
        if due is None:
            return True
        began = time.perf_counter()
        try:
            while not self.stopped():
                left = due - time.monotonic()
                if left <= 0:
                    return True
                time.sleep(min(left, SLEEP_SLICE_S))
            return False
        finally:
            self.waited_s += time.perf_counter() - began

    def arrive(self, block: SampleBlock) -> bool:
        """schedule(block) and wait until it is due; False when a stop was asked for first."""
        return self.wait(self.schedule(block))


class FileSource:
    """A recording file as a Source (see the module docstring). ``speed`` None: as fast as possible."""

    def __init__(self, path: str | os.PathLike, *, speed: Optional[float] = None, rate_hz: Optional[float] = None,
                 block_s: Optional[float] = None, chunk_samples: int = CHUNK_SAMPLES):
        from .. import formats

        self.path = path
        self.speed = check_pace(speed)
        self.rate_hz = rate_hz
        self.block_s = float(block_s) if block_s is not None else block_seconds(self.speed)
        self.chunk_samples = int(chunk_samples)
        self.key: Optional[str] = None  # a file has no stored calibration of its own
        self.kind = formats.kind_of(path)  # an unknown file type is an error now, before any work
        self.whole: Optional[SampleBlock] = None
        self._stop_requested = False
        self._stop: Optional[asyncio.Event] = None

    def load(self, progress=None) -> SampleBlock:
        """The whole recording in memory (read once; the blocks are then cut from it).
        progress: as formats.load's (bytes read so far, total=bytes to read)."""
        if self.whole is None:
            from .. import formats

            self.whole = formats.load(self.path, rate_hz=self.rate_hz, progress=progress)
        return self.whole

    def blocks(self) -> Iterator[SampleBlock]:
        """Every block, as fast as they can be read."""
        if self.whole is not None:
            return split_blocks(self.whole, self.block_s)
        from .. import formats

        return split_stream(formats.iter_blocks(self.path, self.chunk_samples, rate_hz=self.rate_hz), self.block_s)

    # The live Source interface -----------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[SourceItem]:
        return self._run()

    async def stop(self) -> None:
        self._stop_requested = True
        if self._stop is not None:
            self._stop.set()

    async def _run(self) -> AsyncIterator[SourceItem]:
        self._stop = asyncio.Event()
        name = os.path.basename(os.fspath(self.path))
        pacer = Pacer(self.speed)
        sent: Optional[float] = None  # the last sample handed over
        for block in self.blocks():
            if self._stop_requested:
                break
            if not len(block):
                continue
            if pacer.last_t is None:
                pace = "as fast as possible" if self.speed is None else f"{self.speed:g}x real time"
                yield SourceStatus("connected", f"{name} opened ({block.rate_hz:g} Hz, {pace})", float(block.t[0]),
                                   values={"device": block.device, "rate_hz": block.rate_hz})
            due = pacer.schedule(block)
            left = 0.0 if due is None else due - time.monotonic()
            if left > 0:
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=left)
                except asyncio.TimeoutError:
                    pass
                if self._stop_requested:
                    break
            else:
                await asyncio.sleep(0)  # let the loop breathe between blocks
            sent = float(block.t[-1])
            yield block
        yield SourceStatus("stopped", f"{name} {'stopped' if self._stop_requested else 'ended'}", sent)


__all__ = ["FAST_BLOCK_S", "FileSource", "Pacer", "block_seconds", "check_pace", "long_gaps", "split_blocks",
           "split_stream"]
