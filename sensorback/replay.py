"""Replay: samples -> core -> coach -> store, block by block, on the recording's own time.

    from sensorback.core import calibrate
    from sensorback.replay import replay

    calibration, notes = calibrate(block, options)        # exactly like analyze() would
    with store.recorder() as rec:
        rec.begin_session(..., calibration=calibration, options=asdict(options))
        result = replay(block, options, settings, rec, pace=50, on_event=print,
                        calibration=calibration)

The same loop serves a file (a SampleBlock, cut here into blocks of a few seconds) and a live
stream (any iterable of SampleBlocks, e.g. from a sensor, with a calibration given). Every block
goes through one ``StreamProcessor``; the epochs it completes go to the ``Coach`` and the
``Recorder``; the coach's events go to the recorder and to ``on_event`` as soon as they are known.

**Time.** Inside the pipeline there is only sample time: the core and the coach never look at a
clock. ``pace`` only decides *when* a block is handed over (a block "arrives" when its last sample
would have been recorded, at ``pace`` times real time), so the epochs, events and stored rows are
identical at every speed; only the moment ``on_event`` is called changes. ``pace=None`` runs as
fast as possible, with the processor allowed to queue up to half an hour of samples
(``FAST_MAX_DELAY_S``) before it works through them.

**Stopping.** Ctrl-C (SIGINT, when replay runs in the main thread with Python's default handler)
or a ``stop()`` callable returning True ends the replay at the next block boundary: the samples
fed so far are worked through (``StreamProcessor.close``: complete epochs only, including those
the core held back for settling), their epochs and events are stored and passed to
``on_event``, and the result says ``interrupted``. The session is then *not* ended
(``Recorder.end_session`` is not called) and the coach is not finished: the recording did not
end, the replay did. Re-importing the same file replaces such a session; a live
monitor that stops on purpose can call ``recorder.end_session()`` itself. A second Ctrl-C while
that final flush runs raises KeyboardInterrupt at once.

**Failures.** If anything raises (a bug, a callback, a database error), what was already
processed (including epochs the core held back for settling) is written before the exception
propagates: ``recorder.flush()`` is tried once unless the exception came from the store itself
(retrying a locked database would only wait again).
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Optional

import numpy as np

from .coach import Coach, CoachEvent, CoachSettings, CoachStatus
from .coach.rules import PRINTED
from .coach.text import event_line, event_text  # noqa: F401  (part of this module's API: docs/replay.md)
from .core import Calibration, CoreOptions, EpochTable, StreamProcessor, calibrate
from .core.stretches import pieces, sample_cuts
from .errors import SensorbackError
from .samples import SampleBlock
from .timefmt import clock  # noqa: F401  (part of this module's API)

#: Sample seconds per block when a SampleBlock is replayed as fast as possible.
FAST_BLOCK_S = 10.0
#: How much sample time the processor may queue before working through it, when not paced.
FAST_MAX_DELAY_S = 1800.0
#: When paced, a block is at most this much wall time long (and 1 to 10 s of samples).
PACED_BLOCK_WALL_S = 0.02
#: When paced, the processor may lag this much wall time behind the samples handed over.
PACED_LAG_WALL_S = 0.1
#: The longest single sleep while pacing (a stop request is noticed at least this often).
SLEEP_SLICE_S = 0.05

STAGES = ("core", "coach", "store", "emit", "pace")
#: The event kinds a person watching the replay is shown (as the rules declare them: break_verified
#: goes only to the files).
PRINTED_KINDS = PRINTED


@dataclass
class ReplayResult:
    """What a replay did.

    samples: samples handed to the core. epochs: epochs the core produced (all of them were
    passed to the recorder, if any). stored_epochs: epochs the recorder wrote in this replay
    (0 when the session was skipped as already imported). events: every coach event, in order.
    t_start: the first sample's time; t_end: the end of the last epoch processed (both on the
    recording's axis, None when there were no samples). gap_s: time in gaps longer than
    limits.MAX_GAP_S, not replayed. interrupted: stopped by Ctrl-C or
    stop() before the end of the data. session_id: the stored session (None if nothing was
    written). timings: wall seconds per stage (core, coach, store, emit = on_event callbacks,
    pace = sleeping); wall_s: the whole call. calibration/notes: the calibration used and, when
    it was estimated here, the notes saying how.
    """

    samples: int = 0
    epochs: int = 0
    stored_epochs: int = 0
    events: list[CoachEvent] = field(default_factory=list)
    t_start: Optional[float] = None
    t_end: Optional[float] = None
    gap_s: float = 0.0
    interrupted: bool = False
    session_id: Optional[int] = None
    calibration: Optional[Calibration] = None
    notes: list[str] = field(default_factory=list)
    status: Optional[CoachStatus] = None
    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    wall_s: float = 0.0

    @property
    def duration_s(self) -> float:
        """Recording time covered: first sample to the end of the last epoch, without gaps longer
        than limits.MAX_GAP_S (gap_s), which are not replayed (the core starts afresh after them
        and a paced replay does not wait through them)."""
        if self.t_start is None or self.t_end is None:
            return 0.0
        return max(0.0, self.t_end - self.t_start - self.gap_s)

    def counts(self) -> Counter:
        """Events by kind, plus outcome counts (of prompts: the events that carry one) under
        'outcome:<name>'."""
        c = Counter(e.kind for e in self.events)
        c.update(f"outcome:{e.outcome}" for e in self.events if e.outcome)
        return c


# ----------------------------------------------------------------------------- blocks and pace


def check_pace(pace: Any) -> Optional[float]:
    """None (as fast as possible) or a positive, finite speed factor."""
    if pace is None:
        return None
    if isinstance(pace, bool) or not isinstance(pace, (int, float)) or not (math.isfinite(pace) and pace > 0):
        raise SensorbackError(f"speed: must be a positive number (times real time), got {pace!r}")
    return float(pace)


def block_seconds(speed: Optional[float]) -> float:
    """Sample seconds per block: 10 s as fast as possible; when paced, 1 to 10 s, so that one
    block lasts at most about PACED_BLOCK_WALL_S of wall time."""
    if speed is None:
        return FAST_BLOCK_S
    return float(min(FAST_BLOCK_S, max(1.0, speed * PACED_BLOCK_WALL_S)))


def max_delay_seconds(speed: Optional[float]) -> float:
    """How much sample time the StreamProcessor may queue: half an hour when not paced; when
    paced, what PACED_LAG_WALL_S of wall time holds (so events are not printed late)."""
    if speed is None:
        return FAST_MAX_DELAY_S
    return float(min(FAST_MAX_DELAY_S, speed * PACED_LAG_WALL_S))


def split_blocks(block: SampleBlock, block_s: float) -> Iterator[SampleBlock]:
    """Consecutive blocks of ``block_s`` seconds of samples (views, no copies); empty ones skipped.
    The time grid starts again after each long gap (core/stretches.py), so a gap of months costs
    nothing."""
    if not block_s > 0:
        raise ValueError("block_s must be positive")
    n = len(block)
    for a, b, _ in pieces(n, sample_cuts(block.t)):
        t = block.t[a:b]
        t0 = float(t[0])
        count = int(math.floor((float(t[-1]) - t0) / block_s)) + 1
        edges = a + np.searchsorted(t, t0 + block_s * np.arange(1, count + 1), side="left")
        start = a
        for stop in edges.tolist() + [b]:
            if stop > start:
                yield block.slice(start, stop)
                start = stop


class _Pacer:
    """Sleeps until a sample time is due at `speed` times real time, counted from the first one."""

    def __init__(self, speed: float, stopped: Callable[[], bool]):
        self.speed = speed
        self.stopped = stopped
        self.t0: Optional[float] = None
        self.wall0 = 0.0

    def start(self, t: float) -> None:
        if self.t0 is None:
            self.t0, self.wall0 = t, time.monotonic()

    def skip(self, seconds: float) -> None:
        """Sample time not to wait for: a gap longer than limits.MAX_GAP_S is not replayed."""
        if self.t0 is not None:
            self.t0 += seconds

    def wait_for(self, t: float) -> None:
        due = self.wall0 + (t - self.t0) / self.speed
        while not self.stopped():
            left = due - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, SLEEP_SLICE_S))


class _SigintStops:
    """While active (main thread, Python's default SIGINT handler in place), the first Ctrl-C only
    sets a flag; the default handler comes back at once, so a second Ctrl-C interrupts."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.requested = False
        self._old = None

    def __enter__(self) -> "_SigintStops":
        if (self.enabled and threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._old)

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None


def _long_gaps(t: np.ndarray, prev_t: float) -> float:
    """Seconds in gaps longer than limits.MAX_GAP_S within t and since prev_t (core/stretches.py)."""
    cuts = sample_cuts(t, prev_t)
    return float(sum(float(t[c]) - (float(t[c - 1]) if c else prev_t) for c in cuts))


# ----------------------------------------------------------------------------- the replay


def replay(block_or_blocks: SampleBlock | Iterable[SampleBlock], options: CoreOptions,
           settings: Optional[CoachSettings], recorder, pace: Optional[float] = None,
           on_event: Optional[Callable[[CoachEvent], Any]] = None, *,
           calibration: Optional[Calibration] = None, coach: Optional[Coach] = None,
           snoozes: Iterable[tuple[float, Optional[float]]] = (), block_s: Optional[float] = None,
           max_delay_s: Optional[float] = None, stop: Optional[Callable[[], bool]] = None,
           catch_sigint: bool = True) -> ReplayResult:
    """Run samples through the core, the coach and the store; see the module docstring.

    block_or_blocks: a whole recording (cut into blocks of ``block_s`` seconds; its calibration
        is estimated from it, like analyze(), unless given) or an iterable of consecutive blocks
        (then ``calibration`` is required).
    settings: the coach's settings (ignored when ``coach`` is given: a Coach of the caller's,
        e.g. one a UI snoozes).
    recorder: a sensorback.store Recorder whose session has been begun, or None (nothing stored).
        At the end of the data the session is ended; when stopped early it is only flushed.
    pace: None for as fast as possible, or N for N times real time (sample time).
    on_event: called with each CoachEvent as soon as it is known (after it was handed to the
        recorder).
    snoozes: (t, minutes) snoozes queued on the coach before the start (minutes None: the
        default snooze).
    stop: checked between blocks; True stops the replay as Ctrl-C does.
    """
    speed = check_pace(pace)
    run = _Run(options, recorder, on_event, stop)
    wall0 = time.perf_counter()
    try:
        if isinstance(block_or_blocks, SampleBlock):
            if calibration is None:
                t = time.perf_counter()
                calibration, run.result.notes = calibrate(block_or_blocks, options)
                run.timings["core"] += time.perf_counter() - t
            blocks: Iterable[SampleBlock] = split_blocks(block_or_blocks, block_s or block_seconds(speed))
        else:
            if calibration is None:
                raise ValueError("replay: a calibration is needed to replay an iterable of blocks")
            blocks = block_or_blocks
        run.result.calibration = calibration
        run.coach = coach if coach is not None else Coach(settings)
        for t, minutes in snoozes:
            run.coach.snooze(t, minutes)
        delay = max_delay_s if max_delay_s is not None else max_delay_seconds(speed)
        with _SigintStops(catch_sigint) as sigint:
            run.sigint = sigint
            run.go(blocks, calibration, speed, delay)
    finally:
        run.result.wall_s = time.perf_counter() - wall0
    return run.result


class _Run:
    def __init__(self, options: CoreOptions, recorder, on_event, stop):
        self.options = options
        self.recorder = recorder
        self.on_event = on_event
        self.stop = stop
        self.coach: Optional[Coach] = None
        self.processor: Optional[StreamProcessor] = None
        self.sigint: Optional[_SigintStops] = None
        self.result = ReplayResult()
        self.timings = self.result.timings
        self.stored_before = 0

    def stopped(self) -> bool:
        return (self.sigint is not None and self.sigint.requested) or (self.stop is not None and bool(self.stop()))

    def go(self, blocks: Iterable[SampleBlock], calibration: Calibration, speed: Optional[float],
           delay: float) -> None:
        res = self.result
        pacer = _Pacer(speed, self.stopped) if speed is not None else None
        last_t = 0.0
        try:
            for block in blocks:
                if len(block) == 0:
                    continue
                if self.stopped():
                    break
                if self.processor is None:
                    self.processor = StreamProcessor(self.options, calibration, block.rate_hz, delay)
                    res.t_start = float(block.t[0])
                    if pacer is not None:
                        pacer.start(res.t_start)
                else:
                    gap = _long_gaps(block.t, last_t)
                    res.gap_s += gap
                    if pacer is not None:
                        pacer.skip(gap)
                last_t = float(block.t[-1])
                if pacer is not None:
                    t = time.perf_counter()
                    pacer.wait_for(float(block.t[-1]))
                    self.timings["pace"] += time.perf_counter() - t
                    if self.stopped():  # the block had not "arrived" yet
                        break
                t = time.perf_counter()
                epochs = self.processor.feed(block)
                self.timings["core"] += time.perf_counter() - t
                res.samples += len(block)
                self.step(epochs)
            else:
                self.end()
                return
            self.interrupt()
        except BaseException as exc:
            self.salvage(exc)
            raise

    def step(self, epochs: EpochTable, finishing: bool = False) -> None:
        """Epochs to the recorder, then to the coach; the events to the recorder and on_event."""
        res, timings = self.result, self.timings
        if len(epochs):
            res.epochs += len(epochs)
            res.t_end = float(epochs.t_end[-1])
            if self.recorder is not None:
                t = time.perf_counter()
                self.recorder.add_epochs(epochs)
                timings["store"] += time.perf_counter() - t
        t = time.perf_counter()
        events = self.coach.update(epochs) if len(epochs) else []
        if finishing:
            events += self.coach.finish()
        timings["coach"] += time.perf_counter() - t
        if not events:
            return
        res.events.extend(events)
        if self.recorder is not None:
            t = time.perf_counter()
            self.recorder.add_events(events)
            timings["store"] += time.perf_counter() - t
        if self.on_event is not None:
            t = time.perf_counter()
            for e in events:
                self.on_event(e)
            timings["emit"] += time.perf_counter() - t

    def end(self) -> None:
        res = self.result
        if self.processor is not None:
            t = time.perf_counter()
            epochs = self.processor.finish()
            self.timings["core"] += time.perf_counter() - t
            self.step(epochs, finishing=True)
        elif self.coach is not None:
            self.step(EpochTable.empty(), finishing=True)
        res.status = self.coach.status()
        if self.recorder is not None:
            t = time.perf_counter()
            # end_session() forgets its counters, so count first: it writes everything pending.
            written = self.recorder.written_epochs + self.recorder.pending
            res.session_id = self.recorder.end_session()
            res.stored_epochs = written if res.session_id is not None else 0
            self.timings["store"] += time.perf_counter() - t

    def interrupt(self) -> None:
        res = self.result
        res.interrupted = True
        if self.processor is not None:
            t = time.perf_counter()
            epochs = self.processor.close()  # held-back epochs too: nothing decided is lost
            self.timings["core"] += time.perf_counter() - t
            self.step(epochs)
        res.status = self.coach.status()
        if self.recorder is not None:
            t = time.perf_counter()
            self.recorder.flush()
            res.stored_epochs = self.recorder.written_epochs
            res.session_id = self.recorder.session_id
            self.timings["store"] += time.perf_counter() - t

    def salvage(self, exc: BaseException) -> None:
        """After a failure: write what the recorder holds, once, unless that cannot help."""
        if self.recorder is None:
            return
        if isinstance(exc, KeyboardInterrupt) and self.sigint is not None and self.sigint.requested:
            return  # a second Ctrl-C: the user does not want to wait for more writes
        from .store import StoreError

        if isinstance(exc, StoreError):
            return
        try:
            # decided epochs the core still held back (settling) were processed too; nothing is
            # run again after a failure, they are stored as they stand
            held = self.processor.pending if self.processor is not None else EpochTable.empty()
            if len(held):
                self.recorder.add_epochs(held)
            self.recorder.flush()
        except Exception as e:  # noqa: BLE001 - the original exception is the one to report
            exc.add_note(f"replay: could not write what was processed: {e}")
        self.result.stored_epochs = self.recorder.written_epochs
        self.result.session_id = self.recorder.session_id


__all__ = ["FAST_BLOCK_S", "FAST_MAX_DELAY_S", "PRINTED_KINDS", "ReplayResult", "block_seconds", "calibrate",
           "check_pace", "clock", "event_line", "event_text", "max_delay_seconds", "replay", "split_blocks"]
