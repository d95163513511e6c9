"""The one path samples take: core -> recorder -> coach -> recorder -> listeners.

    runner = Runner(options, Coach(settings), recorder, max_delay_s=1800.0,
                    on_epochs=show, on_events=say)
    runner.start(calibration, rate_hz)       # a core with this calibration
    runner.feed(block)                       # every block, in order
    runner.finish()                          # the end of the data; or runner.close(): stop here
    runner.end_session()                     # the stored session is complete

Live monitoring (sensorback.live) and replay (sensorback.replay) both drive a Runner; they differ
only in their policies: where the blocks come from and when, which calibration, what a stop means.

Each batch of epochs the core settles goes, in this order, to the recorder, to ``on_epochs``
(called after every block, with an empty table when nothing settled: a screen may show the
epochs the core still holds back, ``processor.pending``), to the coach, and the coach's events
to the recorder and to ``on_events``; then ``on_settled(t_end)`` says that everything up to
``t_end`` has been handed on (what a listener shows by sample time can go out up to there). Everything is sample time: the runner never reads a clock
except to measure where the wall time goes (``timings``: core, coach, store, and emit: the
on_events listeners).

**Two ends.** ``finish()`` is the end of the data: the last, incomplete epoch too, and the coach
settles what it can no longer decide (a prompt without an outcome becomes ``unknown``).
``close()`` stops here: the complete epochs and those the core held back, nothing more; the coach
is not finished (Ctrl-C in a replay, a new calibration, a stop). Either way nothing decided is
lost.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional

from ..coach import Coach, CoachEvent
from ..core import Calibration, CoreOptions, EpochTable, StreamProcessor
from ..samples import SampleBlock

STAGES = ("core", "coach", "store", "emit")


class Runner:
    """See the module docstring.

    max_delay_s: how much sample time the core may queue before it works through it.
    prompt: decide the complete epochs as soon as a sample of a new epoch arrives, however short
        max_delay_s is (live: the dashboard shows a state within one epoch).
    recorder: a sensorback.store Recorder whose session is begun (or None; it may be set later).
    on_settled: called with ``t_end`` after each batch and its coach events were handed on: no
        later epoch or coach event is dated before it (coach events of a snooze: at it).
    on_store_error: called with a recorder's failed write (a StoreError; the recorder keeps the
        rows for its next try) instead of raising it, so the session goes on (live); without it
        the failure stops the run (replay).
    """

    def __init__(self, options: CoreOptions, coach: Coach, recorder=None, *, max_delay_s: float,
                 prompt: bool = False, on_epochs: Optional[Callable[[EpochTable, Optional[float]], Any]] = None,
                 on_events: Optional[Callable[[list[CoachEvent]], Any]] = None,
                 on_settled: Optional[Callable[[float], Any]] = None,
                 on_store_error: Optional[Callable[[Exception], Any]] = None,
                 timings: Optional[dict[str, float]] = None):
        self.options = options
        self.coach = coach
        self.recorder = recorder
        self.max_delay_s = float(max_delay_s)
        self.prompt = prompt
        self.on_epochs = on_epochs
        self.on_events = on_events
        self.on_settled = on_settled
        self.on_store_error = on_store_error
        self.timings = timings if timings is not None else dict.fromkeys(STAGES, 0.0)
        for stage in STAGES:
            self.timings.setdefault(stage, 0.0)
        self.processor: Optional[StreamProcessor] = None
        self.events: list[CoachEvent] = []   # every coach event, in order
        self.samples = 0                     # samples fed
        self.epochs = 0                      # settled epochs handed on
        self.t_end: Optional[float] = None   # end of the last settled epoch
        self.finished = False
        self._on_stats = None
        self._last_k: Optional[int] = None
        self._last_t: Optional[float] = None  # the last sample fed
        self._told: list[tuple[float, float, bool]] = []  # (t0, t1, seated), see tell_seated

    # -- the core -----------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self.processor is not None

    def start(self, calibration: Calibration, rate_hz: float) -> None:
        """A core with this calibration; the coach and the recorder carry on (see restart)."""
        self.processor = StreamProcessor(self.options, calibration, rate_hz, self.max_delay_s)
        self.processor.on_stats = self._on_stats
        for t0, t1, seated in self._told:
            self._tell(t0, t1, seated)

    @property
    def on_stats(self):
        """Called with every EpochStats the core measures (live learns forward from them)."""
        return self._on_stats

    @on_stats.setter
    def on_stats(self, fn) -> None:
        self._on_stats = fn
        if self.processor is not None:
            self.processor.on_stats = fn

    def tell_seated(self, t0: float, t1: float) -> None:
        """The wearer sat from t0 to t1 (sample time; a guided calibration's upright or slouch
        step): the core in use is told (StreamProcessor.tell_seated) and so is every core started
        later (the window is a fact about sample time, whichever core decides its epochs). Told
        before its samples are fed, it is what --reference-window is to a batch analysis."""
        self._told.append((float(t0), float(t1), True))
        self._tell(float(t0), float(t1), True)

    def tell_standing(self, t0: float, t1: float) -> None:
        """The wearer stood from t0 to t1 (a guided calibration's stand step): as tell_seated."""
        self._told.append((float(t0), float(t1), False))
        self._tell(float(t0), float(t1), False)

    def _tell(self, t0: float, t1: float, seated: bool) -> None:
        if self.processor is not None:
            (self.processor.tell_seated if seated else self.processor.tell_standing)(t0, t1)

    def feed(self, block: SampleBlock) -> None:
        """One block of samples (not empty) through the core, and what it settles onwards."""
        t = time.perf_counter()
        epochs = self.processor.feed(block)
        last = self._last_t = float(block.t[-1])
        if self.prompt:
            k = math.floor(last / self.options.epoch_s)
            if not len(epochs) and self._last_k is not None and k > self._last_k:
                # A sample of a new epoch has arrived: the epochs before it are complete, so decide
                # them now rather than when max_delay_s of samples has queued up.
                epochs = self.processor.flush()
            self._last_k = k
        self.timings["core"] += time.perf_counter() - t
        self.samples += len(block)
        self.step(epochs, last)

    def flush(self, arrival: Optional[float] = None) -> None:
        """Decide what is queued now (a source said no samples will come for a while)."""
        if self.processor is not None:
            self._core(self.processor.flush, arrival)

    def change_reference(self, calibration: Calibration, arrival: Optional[float] = None) -> None:
        """Another wearer reference for the same sensor calibration: the core carries on."""
        if self.processor is not None:
            self._core(lambda: self.processor.change_reference(calibration), arrival)

    def change_sensor(self, calibration: Calibration, arrival: Optional[float] = None) -> None:
        """Another sensor correction (offset/gain), its reference re-expressed: the core carries on."""
        if self.processor is not None:
            self._core(lambda: self.processor.change_sensor(calibration), arrival)

    def restart(self, arrival: Optional[float] = None, next_t: Optional[float] = None) -> None:
        """Close the core (complete epochs and those held back go on); start() makes a new one.
        The coach and the recorder carry on. next_t: the first sample the new core gets; when it
        lies in a later epoch than the last sample this core got, that epoch is complete and is
        decided here too (no sample of it would ever show this core so: it would be lost)."""
        if self.processor is not None:
            eps = self.options.epoch_s
            whole = (next_t is not None and self._last_t is not None
                     and math.floor(next_t / eps) > math.floor(self._last_t / eps))
            self._core(self.processor.finish if whole else self.processor.close, arrival)
            self.processor = None

    def _core(self, work: Callable[[], EpochTable], arrival: Optional[float]) -> None:
        t = time.perf_counter()
        epochs = work()
        self.timings["core"] += time.perf_counter() - t
        self.step(epochs, arrival)

    # -- settled epochs onwards --------------------------------------------------------------
    def step(self, epochs: EpochTable, arrival: Optional[float] = None, finishing: bool = False) -> None:
        """Settled epochs to the recorder, on_epochs and the coach; its events to the recorder
        and on_events. finishing: the end of the data (the coach settles what is left)."""
        timings = self.timings
        if len(epochs):
            self.epochs += len(epochs)
            self.t_end = float(epochs.t_end[-1])
            if self.recorder is not None:
                t = time.perf_counter()
                self._record(self.recorder.add_epochs, epochs)
                timings["store"] += time.perf_counter() - t
        if self.on_epochs is not None:
            self.on_epochs(epochs, arrival)
        if not len(epochs) and not finishing:
            return
        t = time.perf_counter()
        events = self.coach.update(epochs) if len(epochs) else []
        if finishing:
            events += self.coach.finish()
        timings["coach"] += time.perf_counter() - t
        self.deliver(events)
        if self.on_settled is not None and self.t_end is not None:
            self.on_settled(self.t_end)

    def deliver(self, events: list[CoachEvent]) -> None:
        """Coach events to the recorder and on_events (also those of a snooze)."""
        if not events:
            return
        self.events.extend(events)
        if self.recorder is not None:
            t = time.perf_counter()
            self._record(self.recorder.add_events, events)
            self.timings["store"] += time.perf_counter() - t
        if self.on_events is not None:
            t = time.perf_counter()
            self.on_events(events)
            self.timings["emit"] += time.perf_counter() - t

    def _record(self, add: Callable[[Any], Any], rows: Any) -> None:
        """Rows to the recorder; a failed write to on_store_error, when there is one."""
        try:
            add(rows)
        except Exception as e:
            from ..store import StoreError

            if self.on_store_error is None or not isinstance(e, StoreError):
                raise
            self.on_store_error(e)

    # -- the two ends ------------------------------------------------------------------------
    def finish(self, arrival: Optional[float] = None) -> None:
        """The end of the data: every epoch, the last incomplete one too; the coach finishes."""
        if self.finished:
            return
        self.finished = True
        epochs = EpochTable.empty()
        if self.processor is not None:
            t = time.perf_counter()
            epochs = self.processor.finish()
            self.timings["core"] += time.perf_counter() - t
        self.step(epochs, arrival, finishing=True)

    def close(self, arrival: Optional[float] = None) -> None:
        """Stop here: the complete epochs and every one the core held back; the coach is not
        finished (the data did not end)."""
        if self.processor is not None:
            self._core(self.processor.close, arrival)

    def end_session(self, end: Optional[float] = None) -> tuple[Optional[int], int]:
        """End the recorder's session, writing what it holds: (session id or None, epochs it
        wrote in this session). end: when it ended (Unix seconds; default: its last epoch's end)."""
        rec = self.recorder
        if rec is None:
            return None, 0
        t = time.perf_counter()
        written = rec.written_epochs + rec.pending  # end_session() forgets its counters: count first
        sid = rec.end_session(end)
        self.timings["store"] += time.perf_counter() - t
        return sid, (written if sid is not None else 0)

    def salvage(self, exc: BaseException, who: str = "session") -> None:
        """After a failure: write what the recorder holds, once, unless that cannot help (the
        store itself failed). A failure to write is added to exc as a note."""
        if self.recorder is None:
            return
        from ..store import StoreError

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
            exc.add_note(f"{who}: could not write what was processed: {e}")


__all__ = ["Runner", "STAGES"]
