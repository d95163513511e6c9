"""Replay: samples -> core -> coach -> store, block by block, on the recording's own time.

    from sensorback.core import calibrate
    from sensorback.replay import replay

    calibration, notes = calibrate(block, options)        # exactly like analyze() would
    with store.recorder() as rec:
        rec.begin_session(..., calibration=calibration, options=asdict(options))
        result = replay(block, options, settings, rec, pace=50, on_event=print,
                        calibration=calibration)

The same loop serves a file (a SampleBlock, cut here into blocks of a few seconds) and a live
stream (any iterable of SampleBlocks, e.g. from a sensor, with a calibration given). It is the
replay's policy over the session runner (sensorback.session.Runner, which the live monitor drives
too): every block goes through one ``StreamProcessor``; the epochs it completes go to the
``Recorder`` and the ``Coach``; the coach's events go to the recorder and to ``on_event`` as soon
as they are known. What is replay's own: the pace, Ctrl-C, and what each end means for the
stored session. ``FileReplay`` below is all of ``sensorback replay FILE``.

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
monitor that stops on purpose can call ``recorder.end_session()`` itself. A second Ctrl-C before
that final flush is done stops the replay at once, without it: the result says ``cut_short``, and
its ``stored_epochs`` and ``session_id`` are what the store holds (less than was processed); one
that comes once the flush has committed changes nothing (not ``cut_short``: all of it is stored).

**Failures.** If anything raises (a bug, a callback, a database error), what was already
processed (including epochs the core held back for settling) is written before the exception
propagates: ``recorder.flush()`` is tried once unless the exception came from the store itself
(retrying a locked database would only wait again).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from .coach import Coach, CoachEvent, CoachSettings, CoachStatus
from .coach.rules import PRINTED
from .coach.text import event_line, event_text  # noqa: F401  (part of this module's API: docs/replay.md)
from .core import Calibration, CoreOptions, EpochTable, calibrate
from .core.personal import FitCheck
from .samples import SampleBlock
from .session import Runner
from .sources.files import (FAST_BLOCK_S, PACED_BLOCK_WALL_S, SLEEP_SLICE_S, FileSource, Pacer,  # noqa: F401
                            block_seconds, check_pace, split_blocks)
from .timefmt import clock, count  # noqa: F401  (clock: part of this module's API)

#: How much sample time the processor may queue before working through it, when not paced.
FAST_MAX_DELAY_S = 1800.0
#: When paced, the processor may lag this much wall time behind the samples handed over.
PACED_LAG_WALL_S = 0.1
#: Paced replays of a file write to the database at least every this many wall seconds (and every
#: 5 s of samples at live pace), so a killed replay loses little; as fast as possible, in big batches.
PACED_WRITE_WALL_S = 1.0
FAST_BATCH_EPOCHS = 5000

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
    limits.MAX_GAP_S, not replayed. interrupted: stopped by Ctrl-C (or SIGTERM/SIGHUP
    where they raise signals.Terminated) or stop() before the end of the data; stopped_by: that
    signal's number (None for stop()). cut_short: interrupted again before the first stop's last
    write (what was processed last is not stored). session_id: the stored session (None if nothing was
    written). timings: wall seconds per stage (core, coach, store, emit = on_event callbacks,
    pace = sleeping); wall_s: the whole call. calibration/notes: the calibration used and, when
    it was estimated here, the notes saying how. misfit: with a stored calibration, what to say
    when it does not fit how the sensor was worn (core.personal.FitCheck), else None.
    """

    samples: int = 0
    epochs: int = 0
    stored_epochs: int = 0
    events: list[CoachEvent] = field(default_factory=list)
    t_start: Optional[float] = None
    t_end: Optional[float] = None
    gap_s: float = 0.0
    interrupted: bool = False
    stopped_by: Optional[int] = None
    cut_short: bool = False
    session_id: Optional[int] = None
    calibration: Optional[Calibration] = None
    notes: list[str] = field(default_factory=list)
    misfit: Optional[str] = None
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


def max_delay_seconds(speed: Optional[float]) -> float:
    """How much sample time the StreamProcessor may queue: half an hour when not paced; when
    paced, what PACED_LAG_WALL_S of wall time holds (so events are not printed late)."""
    if speed is None:
        return FAST_MAX_DELAY_S
    return float(min(FAST_MAX_DELAY_S, speed * PACED_LAG_WALL_S))


class _SigintStops:
    """While active (main thread), the first Ctrl-C (with Python's default SIGINT handler in place)
    or SIGTERM/SIGHUP (while they raise Terminated, as the command line has them) only sets a flag
    and remembers which signal it was (``signum``); the handlers before come back at once, so a
    second one interrupts."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.requested = False
        self.signum: Optional[int] = None
        self._old: dict = {}

    def __enter__(self) -> "_SigintStops":
        from .signals import stops_by_raising, swap_in

        if self.enabled:
            swap_in(lambda sig, current: self._handler if stops_by_raising(current) else None, self._old)
        return self

    def _handler(self, signum, frame) -> None:
        self.requested, self.signum = True, signum
        self._put_back()

    def _put_back(self) -> None:
        from .signals import put_back

        old, self._old = self._old, {}
        put_back(old)

    def __exit__(self, *exc) -> None:
        self._put_back()


# ----------------------------------------------------------------------------- the replay


def replay(block_or_blocks: SampleBlock | Iterable[SampleBlock], options: CoreOptions,
           settings: Optional[CoachSettings], recorder, pace: Optional[float] = None,
           on_event: Optional[Callable[[CoachEvent], Any]] = None, *,
           calibration: Optional[Calibration] = None, coach: Optional[Coach] = None,
           snoozes: Iterable[tuple[float, Optional[float]]] = (), block_s: Optional[float] = None,
           max_delay_s: Optional[float] = None, stop: Optional[Callable[[], bool]] = None,
           catch_sigint: bool = True, on_epochs: Optional[Callable[[EpochTable], Any]] = None,
           result: Optional[ReplayResult] = None) -> ReplayResult:
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
    on_epochs: called with each batch of epochs as soon as they are settled (after the recorder
        got them, before the coach).
    result: a ReplayResult to fill in and return (default: a new one); a caller that must say what
        was stored even when a further Ctrl-C cuts short the rest of this call (FileReplay) holds it
        already: it is complete once the replay has stopped.
    """
    speed = check_pace(pace)
    result = ReplayResult() if result is None else result
    wall0 = time.perf_counter()
    try:
        if isinstance(block_or_blocks, SampleBlock):
            if calibration is None:
                t = time.perf_counter()
                calibration, result.notes = calibrate(block_or_blocks, options)
                result.timings["core"] += time.perf_counter() - t
            blocks: Iterable[SampleBlock] = split_blocks(block_or_blocks, block_s or block_seconds(speed))
        else:
            if calibration is None:
                raise ValueError("replay: a calibration is needed to replay an iterable of blocks")
            blocks = block_or_blocks
        result.calibration = calibration
        coach = coach if coach is not None else Coach(settings)
        for t, minutes in snoozes:
            coach.snooze(t, minutes)
        delay = max_delay_s if max_delay_s is not None else max_delay_seconds(speed)
        runner = Runner(options, coach, recorder, max_delay_s=delay, timings=result.timings,
                        on_epochs=None if on_epochs is None else _settled(on_epochs),
                        on_events=None if on_event is None else _each(on_event))
        result.events = runner.events
        with _SigintStops(catch_sigint) as sigint:
            _Replay(runner, result, sigint, stop).go(blocks, calibration, speed)
    finally:
        result.wall_s = time.perf_counter() - wall0
    return result


def _settled(on_epochs: Callable[[EpochTable], Any]) -> Callable[[EpochTable, Optional[float]], None]:
    def settled(epochs: EpochTable, arrival: Optional[float]) -> None:
        if len(epochs):
            on_epochs(epochs)
    return settled


def _each(on_event: Callable[[CoachEvent], Any]) -> Callable[[list[CoachEvent]], None]:
    def each(events: list[CoachEvent]) -> None:
        for e in events:
            on_event(e)
    return each


class _Replay:
    """The replay's policy over the runner: pace, Ctrl-C and stop(), and what each end means for
    the stored session (ended at the end of the data; only flushed when stopped)."""

    def __init__(self, runner: Runner, result: ReplayResult, sigint: _SigintStops, stop):
        self.runner = runner
        self.result = result
        self.sigint = sigint
        self.stop = stop
        self.handed = False  # the first stop's work has handed everything processed to the recorder

    def stopped(self) -> bool:
        return self.sigint.requested or (self.stop is not None and bool(self.stop()))

    def go(self, blocks: Iterable[SampleBlock], calibration: Calibration, speed: Optional[float]) -> None:
        res, runner = self.result, self.runner
        pacer = Pacer(speed, self.stopped)
        try:
            for block in blocks:
                if len(block) == 0:
                    continue
                if self.stopped():
                    break
                if not runner.started:
                    runner.start(calibration, block.rate_hz)
                    res.t_start = float(block.t[0])
                if not pacer.arrive(block) or self.stopped():  # the block had not "arrived" yet
                    break
                runner.feed(block)
            else:
                self.end()
                return
            self.interrupt()
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt) and self.sigint.requested:
                self.cut_short()  # a second stop: the user does not want to wait for more writes
                return
            self.salvage(exc)
            raise
        finally:
            res.samples, res.epochs, res.t_end = runner.samples, runner.epochs, runner.t_end
            res.gap_s = pacer.gap_s
            res.timings["pace"] += pacer.waited_s
            rec = runner.recorder
            if res.interrupted and rec is not None:  # what the store holds, wherever a stop came
                res.stored_epochs, res.session_id = rec.written_epochs, rec.session_id

    def end(self) -> None:
        res, runner = self.result, self.runner
        runner.finish()
        res.status = runner.coach.status()
        if runner.recorder is not None:
            res.session_id, res.stored_epochs = runner.end_session()

    def interrupt(self) -> None:
        res, runner = self.result, self.runner
        res.interrupted = True
        res.stopped_by = self.sigint.signum
        runner.close()  # held-back epochs too: nothing decided is lost
        self.handed = True
        res.status = runner.coach.status()
        rec = runner.recorder
        if rec is not None:  # (what it then holds goes to the result in go(), whatever comes now)
            t = time.perf_counter()
            rec.flush()
            res.timings["store"] += time.perf_counter() - t

    def cut_short(self) -> None:
        """Stopped again while the first stop's work ran: at once, without its last write. The
        result says so (it was a bare KeyboardInterrupt, and the epochs and events processed since
        the last batch were lost without a word), unless that write was done after all: the second
        stop came after its commit (the recorder then holds nothing unwritten), and everything
        processed is stored. What the store holds goes to the result in go()."""
        res, rec = self.result, self.runner.recorder
        res.interrupted = True
        res.cut_short = not (self.handed and rec is not None and rec.pending == 0 and rec.pending_events == 0)
        res.stopped_by = self.sigint.signum

    def salvage(self, exc: BaseException) -> None:
        """After a failure: write what the recorder holds, once, unless that cannot help."""
        rec = self.runner.recorder
        if rec is None:
            return
        from .store import StoreError

        if isinstance(exc, StoreError):
            return
        self.runner.salvage(exc, "replay")
        self.result.stored_epochs = rec.written_epochs
        self.result.session_id = rec.session_id


# ----------------------------------------------------------------------------- a file into a store


def recorder_batching(speed: Optional[float]) -> dict:
    """The Recorder's batching for a replay of a file at this pace (store.recorder(**...))."""
    if speed is None:
        return {"max_epochs": FAST_BATCH_EPOCHS, "max_seconds": None}
    from .store.recorder import LEASE_S

    # A very slow pace hands over a block (and writes) rarely: the claim on the session must
    # outlast three such waits.
    return {"max_epochs": FAST_BATCH_EPOCHS, "max_seconds": max(5.0, speed * PACED_WRITE_WALL_S),
            "lease_s": max(LEASE_S, 3 * block_seconds(speed) / speed)}


START_EXAMPLE = "--start 'YYYY-MM-DD HH:MM'"


def recording_start(block: SampleBlock, path: Path, given: Optional[datetime] = None,
                    now: Optional[datetime] = None, epoch_s: float = 1.0) -> tuple[datetime, bool]:
    """Where a replay puts the recording on the calendar: (the instant of t == 0, estimated).

    A recording with its own start time (.sbr, .cwa, .gt3x, a CSV with clock times) keeps it, and
    ``given`` (--start, an aware datetime) is then refused. One without a start time (a CSV with
    ``t`` in seconds, an .sbr converted from one) starts at ``given``, which must not make it end in
    the future; without ``given`` it is placed to end at ``now`` (never in the future) and marked
    estimated. Its end is that of its last epoch (which ends less than ``epoch_s`` after the last
    sample). Raises SensorbackError naming --start.
    """
    from .errors import SensorbackError
    from .report.when import format_local

    now = now if now is not None else datetime.now(timezone.utc)
    if block.start_time is not None:
        if given is not None:
            own = format_local(datetime.fromtimestamp(block.start_time, timezone.utc), fmt="%Y-%m-%d %H:%M:%S")
            raise SensorbackError(f"--start: {path.name} has its own start time ({own}); --start is only for "
                                  "recordings without one")
        return datetime.fromtimestamp(block.start_time, timezone.utc), False
    last = recording_end(block, epoch_s)
    if given is None:
        return now - timedelta(seconds=last), True
    end = given + timedelta(seconds=last)
    if end > now + timedelta(minutes=1):
        raise SensorbackError(f"--start: {path.name} would then end at {format_local(end)}, in the future "
                              f"(it lasts {clock(last)}); give an earlier start")
    return given, False


def recording_end(block: SampleBlock, epoch_s: float = 1.0) -> float:
    """Seconds from t == 0 to the end of the recording's last epoch, at the latest."""
    return float(block.t[-1]) + float(epoch_s) if len(block) else 0.0


class FileReplay:
    """``sensorback replay FILE``: a recording file into a store, step by step, so that the command
    line around it only wires and prints.

        job = FileReplay(FileSource(path, speed=pace), store, options, settings)
        block = job.load()            # the whole recording (its calibration needs all of it)
        job.calibrate()               # estimated like analyze(), or the stored one given
        begun = job.begin()           # the session claimed (or skipped: already imported)
        result = job.run(on_event=print)
        job.close()
        print("\\n".join(job.summary_lines()))

    store may be None until ``begin(store)`` (loading and calibrating do not touch it). stored:
    (calibration, how) of --calibration, or None. placement: where the recording goes on the
    calendar, as ``recording_start`` gave it (the command works it out from --start before the
    database opens, to refuse a bad one early); None: ``begin`` works it out (the recording's own
    start, else ending at that moment). timings of the steps go to the result (open_db is the
    caller's). Re-importing, Ctrl-C and failures: docs/replay.md.
    """

    def __init__(self, source: FileSource, store, options: CoreOptions, settings: Optional[CoachSettings], *,
                 stored: Optional[tuple[Calibration, str]] = None, snoozes=(), replace: bool = False,
                 db: Optional[str] = None, started: Optional[float] = None,
                 placement: Optional[tuple[datetime, bool]] = None):
        self.source = source
        self.path = Path(source.path)
        self.store = store
        self.options = options
        self.settings = settings
        self.stored = stored
        self.snoozes = list(snoozes)
        self.replace = replace
        self.db = db
        self.placement = placement  # (the instant of t == 0, estimated): recording_start's answer
        self.start_notes: list[str] = []  # said before the replay: where a recording without a start went
        self.started = time.perf_counter() if started is None else started
        self.timings: dict[str, float] = {}
        self.block: Optional[SampleBlock] = None
        self.calibration: Optional[Calibration] = None
        self.notes: list[str] = []
        self.recorder = None
        self.begun = None
        self.started_at = None
        self.result: Optional[ReplayResult] = None
        self.events_path: Optional[Path] = None
        self._store_failed = False

    @property
    def speed(self) -> Optional[float]:
        return self.source.speed

    def load(self, progress=None) -> SampleBlock:
        """The whole recording; progress: as formats.load's (bytes read so far, total=bytes to read)."""
        t = time.perf_counter()
        self.block = self.source.load(progress)
        self.timings["load"] = time.perf_counter() - t
        return self.block

    def calibrate(self) -> Calibration:
        """The calibration analyze() would estimate from the whole recording, or the stored one
        (the notes say which, and how it was found)."""
        t = time.perf_counter()
        if self.stored is None:
            self.calibration, notes = calibrate(self.block, self.options)
        else:
            self.calibration, notes = self.stored[0], [f"calibration: {self.stored[1]}"]
        self.notes = notes
        self.timings["calibrate"] = time.perf_counter() - t
        return self.calibration

    def identity(self) -> dict:
        """What makes this replay the same import as an earlier one (with the file's content)."""
        identity = dataclasses.asdict(self.options)
        if self.source.rate_hz is not None:
            identity["rate_hz"] = self.source.rate_hz
        if self.stored is not None:  # another calibration is another analysis of the same file
            identity["calibration"] = self.calibration.to_dict()
        return identity

    def begin(self, store=None):
        """Claim the session in the store (store.recorder's begin_session); returns its BeginResult.
        store: the one to claim it in, when the job was made without it (the command opens a new
        database only once the recording has loaded, so that a file that fails leaves none behind)."""
        from .store import StoreError, file_digest

        if store is not None:
            self.store = store
        block = self.block
        start, estimated = (self.placement if self.placement is not None
                            else recording_start(block, self.path, epoch_s=self.options.epoch_s))
        try:
            self.recorder = self.store.recorder(**recorder_batching(self.speed))
            self.begun = self.recorder.begin_session(
                device=block.device, source=str(self.path.resolve()), start=start, start_estimated=estimated,
                rate_hz=block.rate_hz, epoch_s=self.options.epoch_s, calibration=self.calibration,
                options=self.identity(), content_hash=file_digest(self.path),
                on_existing="replace" if self.replace else "auto")
            # when the recording started, as stored (the earlier import's, when this one is skipped)
            self.started_at = self.begun.existing.started_at if self.begun.skipped else self.recorder.start
            if block.start_time is None and not self.begun.skipped:
                self.start_notes = self._placement_notes(estimated)
        except StoreError:
            self._store_failed = True
            raise
        return self.begun

    def _placement_notes(self, estimated: bool) -> list[str]:
        """For a recording without its own start time: that its start was guessed, and any stored
        session its placement overlaps (a report keeps only the newest where sessions overlap)."""
        from .report.when import format_local

        name, block, at = self.path.name, self.block, self.started_at
        a = at + timedelta(seconds=self.t0)
        b = at + timedelta(seconds=recording_end(block, self.options.epoch_s))
        notes = []
        if estimated:
            notes.append(f"note: {name} has no start time; stored as ending now ({format_local(a)} to "
                         f"{format_local(b)}); give its real start with {START_EXAMPLE} --replace")
        own = {self.recorder.session_id}
        if self.begun is not None and self.begun.action == "replace" and self.begun.existing is not None:
            own.add(self.begun.existing.id)  # (the session this replay replaces, kept until it ends)
        for s in self.store.sessions(a, b):
            if s.id in own:
                continue
            until = format_local(s.ended_at) if s.ended_at is not None else "unfinished"
            notes.append(f"note: {name} ({format_local(a)} to {format_local(b)}) overlaps session {s.id} "
                         f"({Path(s.source).name}, {format_local(s.started_at)} to {until}); where they overlap, "
                         f"reports show only this replay; set its real start with {START_EXAMPLE} --replace")
        return notes

    @property
    def total_s(self) -> Optional[float]:
        """Recording seconds to replay (for a progress bar), None when not known."""
        return self.block.duration_s or None if self.block is not None else None

    @property
    def t0(self) -> float:
        return float(self.block.t[0]) if self.block is not None and len(self.block) else 0.0

    def run(self, on_event: Optional[Callable[[CoachEvent], Any]] = None,
            on_block: Optional[Callable[[float], Any]] = None) -> ReplayResult:
        """Replay the blocks (paced as the source says) into the begun session. on_block(seconds
        replayed so far) after each block. A failing store stops it with the store's message and
        what was stored before."""
        from .store import StoreError

        blocks: Iterable[SampleBlock] = self.source.blocks()
        if on_block is not None:
            blocks = _watched(blocks, on_block, self.t0)
        check = None if self.stored is None else FitCheck(self.stored[1])
        # the job holds the result from the start: once the replay has stopped it says what was
        # stored, even when a further Ctrl-C cuts short what follows (the command then says it)
        self.result = ReplayResult()
        try:
            result = replay(blocks, self.options, self.settings, self.recorder, pace=self.speed, on_event=on_event,
                            calibration=self.calibration, snoozes=self.snoozes,
                            on_epochs=None if check is None else check.add, result=self.result)
        except StoreError as e:
            self._store_failed = True
            raise self._store_failure(e) from None
        if check is not None:
            if not result.interrupted:
                check.finish()
            result.misfit = check.note
        result.notes = self.notes
        result.timings.update(self.timings)
        result.wall_s = time.perf_counter() - self.started  # the whole command, database opening included
        return result

    def _store_failure(self, e):
        """The store's one-line error, told for a replay that stops here (nothing is kept for a retry)."""
        from .store.recorder import given_up

        if self._replacing_complete():
            return given_up(e, f"the replay stopped; session {self.begun.existing.id} is kept as it was (a "
                               "replacement takes its place only once it finishes)")
        written = self.recorder.written_epochs if self.recorder is not None else 0
        return given_up(e, f"the replay stopped ({count(written, 'epoch')} stored before that)")

    def _replacing_complete(self) -> bool:
        """This replay replaces a complete import, which stays until the replay ends (store.recorder)."""
        begun = self.begun
        return begun is not None and begun.action == "replace" and begun.existing is not None and begun.existing.complete

    def close(self) -> None:
        """Let go of the session: an unfinished one (Ctrl-C, a failure) is replaced by the next
        replay of the file. Not after the store itself failed (it would only fail again)."""
        from .store import StoreError

        if self.recorder is not None and not self._store_failed:
            try:
                self.recorder.close()
            except StoreError:
                pass

    # -- what the command says ---------------------------------------------------------------
    def summary_lines(self, events_path: Optional[Path] = None) -> list[str]:
        """The summary printed after a replay that reached the end (see docs/replay.md)."""
        from .timefmt import duration

        result, begun, store_name = self.result, self.begun, self.store.name
        c = result.counts()
        wall = result.wall_s
        if self.speed is not None:
            how = f"paced at {self.speed:g}x real time"
        elif wall > 0 and result.duration_s > 0:
            how = f"as fast as possible: {result.duration_s / wall:,.0f}x real time"
        else:
            how = "as fast as possible"
        lines = [f"replayed {duration(result.duration_s)} of {self.path.name} in {wall:.2f} s ({how})"]
        if begun.action == "busy":
            lines.append(f"  epochs:  {result.epochs:,} processed, none stored: another sensorback is importing "
                         f"this recording into {store_name} right now (session {begun.existing.id})")
        elif begun.skipped:
            lines.append(f"  epochs:  {result.epochs:,} processed, none stored: {store_name} already holds this "
                         f"recording as session {begun.existing.id} (use --replace to store it again)")
        else:
            redo = f", replacing session {begun.existing.id}" if begun.action == "replace" else ""
            lines.append(f"  epochs:  {result.stored_epochs:,} stored in session {result.session_id} of "
                         f"{store_name}{redo}")
        outcomes = [f"{c[f'outcome:{o}']} {o}" for o in ("heeded", "ignored", "snoozed", "unknown")
                    if c[f"outcome:{o}"]]
        prompts = count(c["break_prompt"], "break prompt") + (f" ({', '.join(outcomes)})" if outcomes else "")
        # break_verified counts the coach's sitting-clock resets, not the report's breaks (every run of
        # 60 s or more on your feet): a break before any sitting or right after another one resets
        # nothing, and the coach bridges drop-outs inside a break. So it gets its own name here.
        lines.append(f"  coach:   {prompts}; {count(c['break_verified'], 'sitting clock reset')}; "
                     f"{count(c['slouch_nudge'], 'slouch nudge')}"
                     + (f"; {count(c['snoozed'], 'snooze')}" if c["snoozed"] else ""))
        where = [] if begun.skipped else ["stored"]
        if events_path is not None:
            where.append(f"written to {events_path}")
        if where:
            lines.append(f"  events:  {count(len(result.events), 'event')} {' and '.join(where)}")
        report = self._report_line()
        if report is not None:
            lines.append(report)
        lines += [f"  {n}" for n in self.notes]
        return lines

    def _report_line(self) -> Optional[str]:
        """'  report:  sensorback report --day 2024-03-04': the local day(s) the epochs went to, as
        the command that shows them (a plain 'sensorback report' shows today)."""
        result, started_at, db = self.result, self.started_at, self.db
        if started_at is None or result.t_start is None or result.t_end is None:
            return None
        import shlex
        from datetime import timedelta

        from .report.when import local_days

        days = local_days(started_at + timedelta(seconds=result.t_start),
                          started_at + timedelta(seconds=result.t_end))
        where = f" --db {shlex.quote(db)}" if db not in (None, "") else ""
        if len(days) == 1:
            return f"  report:  sensorback report --day {days[0].isoformat()}{where}"
        span = f"{days[0].isoformat()} to {days[-1].isoformat()}"
        if len(days) <= 7:
            return f"  report:  {span}: sensorback report --week --day {days[-1].isoformat()}{where}"
        return f"  report:  {span} ({len(days)} days): sensorback report --day DATE{where}, or --week --day DATE"

    def interrupted_line(self, events_path: Optional[Path] = None, said: str = "interrupted") -> str:
        """The one line said when Ctrl-C (or a kill) stopped the replay (see docs/replay.md); it
        starts with ``said``, the command line's words for the signal ('terminated (SIGTERM)')."""
        result, begun, name = self.result, self.begun, self.store.name
        where = "" if events_path is None else f"; events so far in {events_path}"
        again = ""
        if begun.action == "busy":
            stored = (f"nothing stored (another sensorback is importing this recording into {name} as "
                      f"session {begun.existing.id})")
        elif begun.skipped:
            stored = f"nothing stored ({name} already holds this recording as session {begun.existing.id})"
        elif self._replacing_complete():
            stored = (f"nothing stored; session {begun.existing.id} of {name} is kept as it was (a replacement "
                      "takes its place only once it finishes)")
        elif result.cut_short:  # stopped again before the last write: only the batches written before it
            again = ", and again before its last epochs and events were stored"
            stored = (f"{count(result.stored_epochs, 'epoch')} stored in session {result.session_id} of {name}, left "
                      "unfinished (replaying the file again replaces it)" if result.stored_epochs and
                      result.session_id is not None else f"no epoch stored in {name}")
        elif result.session_id is None:
            stored = f"nothing stored in {name} yet"
        else:
            stored = (f"{count(result.stored_epochs, 'epoch')} and {count(len(result.events), 'event')} "
                      f"stored in session {result.session_id} of {name}, left unfinished (replaying the "
                      "file again replaces it)")
        at = clock(result.t_end if result.t_end is not None else self.t0)
        return f"{said} at {at} of the recording{again}: {stored}{where}"


def _watched(blocks: Iterable[SampleBlock], on_block: Callable[[float], Any], t0: float):
    for block in blocks:
        yield block
        on_block(float(block.t[-1]) - t0)


__all__ = ["FAST_BLOCK_S", "FAST_MAX_DELAY_S", "FileReplay", "PRINTED_KINDS", "ReplayResult", "block_seconds",
           "recording_end", "recording_start",
           "calibrate", "check_pace", "clock", "event_line", "event_text", "max_delay_seconds", "recorder_batching",
           "replay", "split_blocks"]
