"""A live session: source -> core -> coach -> store, with one fan-out of events for any UI.

    session = LiveSession(DemoSource("desk-day", speed=60), settings=settings, store=store,
                          device_key="demo", record="today.sbr")
    session.subscribe(print_event)          # called with every LiveEvent, in order
    await session.run()                     # until the source ends; session.stop() ends it
    session.snooze(); session.mark_done(); session.calibrate_upright(); session.calibrate_guided()  # UI keys

Both the Textual dashboard (sensorback/ui) and ``sensorback monitor --plain`` drive this object;
neither touches the core, the coach or the store directly. The session is the live policy over
the one runner replay uses too (sensorback.session.Runner: core -> store -> coach -> store ->
listeners): blocks as the source sends them, each epoch decided as soon as it is complete, the
calibration found and learned on the way, the meters and events a screen shows.

**Time.** Everything inside is sample time (the blocks' ``t``): the StreamProcessor runs with a
one-epoch delay, so an epoch's state is known when the first sample of the next epoch arrives
(the dashboard shows it then); the core hands an epoch to the coach and the store once it is
settled, which is at once except while a later epoch may still revise it (while a sensor just
handled lies still: up to 19 s at 50 Hz and above, 149 s at 10 Hz; two epochs after a sit-down;
up to about 17 s after a stand-up; at most 150 s while the posture smoother is undecided: core/settle.py
and docs/core.md, "Settling"); the coach sees only settled epochs; snoozes and exercise marks are stamped at
the end of the last epoch it saw. Wall clock appears only where rows are stored
(``start_time + t``).

**Order.** Events go out as they happen, which is not always the order of their sample times:
a state change is said when its epoch settles, the coach's events of the same batch after it,
a connection change or a new calibration when it happens, ahead of the epochs still held back.
A ``settled`` event says that nothing dated before its ``t`` will follow (at the first sample,
and after each settled batch and its coach events), so a listener that prints by sample time
(``monitor --plain``, sensorback.ui.plain) holds lines until then: that adds no lag to the
core's own.

**Calibration.** The core needs the wearer's upright and forward directions and, for the
personal slouch line, their usual slouch (sensorback.core.personal). In order:
1. the one stored for this device (``sensorback calibrate``; see sensorback.calibrations);
2. otherwise a *provisional* one estimated by the core from the first ``provisional_s`` seconds
   of samples (which are held back until then), announced as such; with the sensor offset and
   gain an earlier session learned for this device, when there is one;
3. at any time ``calibrate_upright()`` takes the next few seconds as the upright reference
   (keeping a known forward direction), and ``calibrate_guided()`` runs the steps of
   ``sensorback calibrate`` (sit upright, slouch as usual, stand up; session.guided); either saves
   the calibration for the device and restarts the core with it from the capture's first sample.
   The capture's samples are held back from the core until it is done (the state shown waits for
   it), so that the new core is told the steps' windows before it decides their epochs: sitting
   in the upright and slouch steps, standing in the stand step, sure evidence as
   ``--reference-window`` is for a file (Runner.tell_seated, core StreamProcessor.tell_seated).
   A capture that gives no calibration (the wearer moved, the stream ended) tells nothing: its
   samples go on as if there had been none.
Whatever the calibration in use does not know is learned as the session goes, with the same
estimators a whole recording is analysed with: every ``LEARN_EVERY_S`` seconds of samples the
forward direction from the walking, sit-downs and stand-ups seen so far (until it is known no
slouch is called), every ``LEARN_SLOUCH_EVERY_S`` the usual slouch from the seated epochs (when
the sitting is clearly bimodal), and every ``LEARN_SENSOR_EVERY_S`` the sensor's offset and gain
from the still epochs so far, whatever the calibration (core.learn_sensor: the sphere fit a
whole recording gets, on the raw epoch means the core has measured anyway, kept in bounded
memory; switched to when it gets |a| of the still postures seen right by 5 mg more; the
reference is re-expressed under it). Each change is announced and switches the running core
(no epoch dropped, the posture it knows kept). A learned sensor correction is also saved for
the device (CalibrationStore.save_sensor: into its stored calibration, or on its own), so that
the next session starts with it and ``replay --calibration DEVICE`` uses it. A run is one
stored session whatever happens to its calibration: the session row keeps the calibration it
started with, and each later one is stored as a ``calibration`` event (its note and
``Calibration.to_dict()`` as JSON); the coach and its sitting clock carry on.

**Stopping.** ``await session.stop()`` asks the source to stop (which stops the device's stream);
when the source has ended, the epochs complete so far are processed, the database session is
written and ended, the recording file is closed. A source that ends by itself (the demo's
scenario, a file) is the end of the data, as at the end of a replay: the last, incomplete epoch
is decided too and the coach settles what it can no longer decide (a prompt without an outcome
becomes ``unknown``), so a live session and a replay of the same blocks store the same rows.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Optional

import numpy as np

from .coach import Coach, CoachEvent, CoachSettings, CoachStatus
from .coach import exercises as _exercises
from .coach.rules import SHOWN_TALLIES, TALLIES, kind as event_kind
from .coach.text import event_text
from .calibrations import CalibrationStore, calibration_from_dict  # noqa: F401  (re-exported)
from .core import Calibration, CoreOptions, EpochTable, block_stats, calibrate, from_windows, learn
from .core import learn_sensor, learn_slouch
from .core.calibration import IDENTITY
from .core.epoch_stats import EpochStats
from .core.personal import FitCheck, StillMeans
from .core.states import SITTING, SLOUCHING, STATES
from .errors import SensorbackError, one_line
from .localday import day_bounds, today
from .samples import SampleBlock
from .session import Runner
from .session.guided import GUIDED_STEPS, GuidedStep, guided_calibration  # noqa: F401  (re-exported)
from .session.guided import step_ends, step_say, step_windows
from .session.recording import Recording
from .sources.base import SourceStatus
from .timefmt import clock, count

#: Seconds of samples the core estimates a provisional calibration from, when none is stored.
PROVISIONAL_S = 30.0
#: With a provisional calibration, how often (seconds of samples) the session looks for sit/stand
#: transitions to learn the forward direction from, and how much of the past (epoch statistics,
#: as the core measured them) it keeps for that.
LEARN_EVERY_S = 30.0
LEARN_KEEP_S = 3 * 3600.0
#: How often (seconds of samples) the session looks at the seated epochs so far for the wearer's
#: usual slouch (core.learn_slouch), and how many of the latest seated epochs it keeps for that.
LEARN_SLOUCH_EVERY_S = 300.0
LEARN_SLOUCH_KEEP = 8 * 3600
#: How often (seconds of samples) the sensor's offset and gain are fitted again to the still epochs
#: seen so far (core.learn_sensor). A fit needs 30 still epochs in several orientations, which a
#: desk day gives within 20-60 min, and costs a few ms; a switch moves every angle a little, so
#: not more often than a posture changes. 10 min: a wrong offset is corrected within the first
#: hour, and a simulated desk day sees 1-2 switches (benchmarks/live_sensor.py).
LEARN_SENSOR_EVERY_S = 600.0
#: After a failed write (another program holds the database locked), wall seconds before the
#: next batch tries again: each try waits the store's busy timeout, which the monitor must not
#: do for every epoch.
STORE_RETRY_S = 10.0
#: Seconds of sitting upright that the calibrate key takes as the reference.
UPRIGHT_CAPTURE_S = 5.0
#: The last lines of the event log (log_line) kept in Meters.recent, for a UI that shows only a few.
RECENT_LINES = 8



# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class LiveEvent:
    """One thing a UI may show.

    kind: "coach" (data: CoachEvent), "state" (the state changed; data: state name), "status"
    (data: SourceStatus), "calibration" (a calibration is now in use; data: Calibration),
    "exercise" (marked done; data: exercise key), "note" (anything else worth a line),
    "epochs" (data: EpochTable just decided; for meters and benchmarks, not for printing),
    "settled" (no text: no event dated before ``t`` will follow, see ``LiveSession``).
    t: sample time it refers to (None when not tied to samples). text: one line for a person.
    arrival: for "epochs", the sample time of the newest sample handed over when they were decided.
    """

    kind: str
    text: str
    t: Optional[float] = None
    data: Any = None
    arrival: Optional[float] = None


#: Connection changes worth a line in a UI's event log.
LOGGED_STATUS = ("connected", "disconnected", "reconnecting", "stopped")


def log_line(ev: LiveEvent) -> Optional[str]:
    """The line a UI's event log shows for ``ev`` ('00:31:02  break prompt: ...'), or None for
    events that only update meters (states, epochs, battery, ...)."""
    if ev.kind in ("coach", "exercise", "calibration", "note") or (ev.kind == "status"
                                                                   and ev.data.kind in LOGGED_STATUS):
        return f"{clock(ev.t)}  {ev.text}"
    return None


def _saved_when(stamp) -> str:
    """When a calibration was saved, as the user reads times ('2026-12-06 07:12', local time), from
    the ISO time calibrations.json keeps ('2026-12-06T07:12:12+00:00'); '?' without one."""
    from datetime import datetime

    from .report.when import format_local

    try:
        return format_local(datetime.fromisoformat(stamp))
    except (TypeError, ValueError):
        return "?" if stamp is None else str(stamp)


# ----------------------------------------------------------------------------- the session


@dataclass
class Meters:
    """What a dashboard shows between events (updated as blocks and epochs arrive)."""

    connection: str = "starting"
    connection_detail: str = ""
    battery_pct: Optional[int] = None
    rssi_dbm: Optional[int] = None
    state: Optional[str] = None
    flexion_deg: Optional[float] = None
    inclination_deg: Optional[float] = None
    t: Optional[float] = None              # end of the newest decided epoch
    arrived_t: Optional[float] = None      # newest sample handed over
    samples: int = 0
    epochs: int = 0
    decode_errors: int = 0
    today_s: Counter = field(default_factory=Counter)   # seconds per state today (stored + live)
    counts: Counter = field(default_factory=Counter)    # coach events today by tally ("prompts", ...)
    exercises: int = 0
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT_LINES))
    calibration_note: str = ""
    capture_left_s: Optional[float] = None   # seconds left of a calibration capture in progress
    capture_step: str = ""                   # what the wearer is asked to do in it now

    @property
    def prompts(self) -> int:
        return self.counts["prompts"]

    @property
    def nudges(self) -> int:
        return self.counts["nudges"]

    def totals_line(self) -> str:
        """'prompts 2, nudges 1, exercises 0': what interrupted you today, and exercises done."""
        return ", ".join([f"{tally} {self.counts[tally]}" for tally in SHOWN_TALLIES] + [f"exercises {self.exercises}"])


@dataclass
class _Capture:
    """A calibration capture in progress (the upright key's one step, or the guided steps): the
    blocks held back for it, its first sample's time and the step under way."""

    steps: tuple
    guided: bool
    blocks: list = field(default_factory=list)
    t0: float | None = None
    step: int = -1


class LiveSession:
    """See the module docstring. Not thread-safe: run it and call its methods on one event loop.

    device_key: the name stored calibrations are looked up under before the sensor says its own
    (default: the source's ``key``, e.g. the --device asked for, "demo"). sensor_learning=False:
    keep the sensor correction the session starts with (``still`` is then None; a benchmark's
    baseline). open_store: when store is None, opens it at the first thing to store (the monitor
    opens a new database file so: a sensor that never connects leaves no empty one behind)."""

    def __init__(self, source, *, options: CoreOptions = CoreOptions(), settings: Optional[CoachSettings] = None,
                 store=None, recorder_kwargs: Optional[dict] = None, device_key: Optional[str] = None,
                 calibration: Optional[Calibration] = None, calibrations: Optional[CalibrationStore] = None,
                 record: Optional[str | os.PathLike] = None, provisional_s: float = PROVISIONAL_S,
                 source_name: str = "live", sensor_learning: bool = True,
                 open_store: Optional[Callable[[], Any]] = None):
        self.source = source
        self.options = options
        self.settings = settings or CoachSettings()
        self.runner = Runner(options, Coach(self.settings), max_delay_s=options.epoch_s, prompt=True,
                             on_epochs=self._on_epochs, on_events=self._on_events, on_settled=self._on_settled,
                             on_store_error=self._on_store_error)
        self.runner.on_stats = self._on_stats
        self.store = store
        self._open_store = open_store if store is None else None
        self.recorder_kwargs = recorder_kwargs or {}
        self.device_key = device_key if device_key is not None else getattr(source, "key", None)
        self.calibration = calibration
        self.calibrations = calibrations
        self.recording = Recording(record, source_name) if record is not None else None
        self.provisional_s = float(provisional_s)
        self.source_name = source_name
        self.meters = Meters()
        self.provisional = False
        self.session_ids: list[int] = []
        self._listeners: list[Callable[[LiveEvent], Any]] = []
        self._held: list[SampleBlock] = []       # samples waiting for a calibration
        # a calibration estimated at the stop, said with the first epoch it classifies: (cal, note, since)
        self._unsaid: Optional[tuple[Calibration, str, float]] = None
        self._capture: Optional[_Capture] = None  # calibration capture in progress
        self._learning: Optional[list[EpochStats]] = None    # the core's statistics to learn forward from
        self._learn_at = math.inf                # sample time of the next look
        self._seated: Optional[list[EpochTable]] = None       # seated epochs to learn the usual slouch from
        self._fit: Optional[FitCheck] = None  # with a stored calibration: does it fit how the clip is worn?
        self._slouch_at = math.inf
        # the still epochs' raw means to fit the sensor's offset and gain to (None: not learned)
        self.still: Optional[StillMeans] = StillMeans() if sensor_learning else None
        self._sensor_at = math.inf
        self.sensor_switches = 0
        self._device_name: Optional[str] = None
        self._address: Optional[str] = None
        self._start_time: Optional[float] = None
        self._connected_at: Optional[float] = None  # wall clock of the first connection (a session without samples starts there)
        self._rate_hz: Optional[float] = None
        self._last_prompt: Optional[CoachEvent] = None
        self._today_rows = None  # (day, its stored rows or None): read before the source starts (_read_today)
        self._day: Optional[tuple[date, float, float]] = None  # the day 'Today' counts: (local day, [start, end) Unix)
        self._first_sample: Optional[float] = None  # Unix time of the session's first sample
        self._warned_day: Optional[date] = None  # the day the pain check-ins' doctor warning was said for
        self._unreadable = False  # the device's stored calibration could not be read (said once)
        self._told_how_to = False  # the first prompt's exercise: where its steps are, stop at sharp pain
        self._stop_requested = False
        self._finished = False
        self._stopped_event: Optional[LiveEvent] = None  # the source's 'stopped', said last
        self._settled_state: Optional[str] = None
        self._store_failing = False  # a write failed and nothing has been written since
        self.stored_epochs = 0

    @property
    def coach(self) -> Coach:
        return self.runner.coach

    @property
    def events(self) -> list[CoachEvent]:
        """Every coach event of this session, in order."""
        return self.runner.events

    @property
    def finished(self) -> bool:
        """finish() has run: everything is processed, stored and closed."""
        return self._finished

    # -- listeners and controls -------------------------------------------------------------
    def subscribe(self, listener: Callable[[LiveEvent], Any]) -> None:
        self._listeners.append(listener)

    def _emit(self, ev: LiveEvent) -> None:
        line = log_line(ev)
        if line is not None:
            self.meters.recent.append(line)
        for listener in list(self._listeners):
            listener(ev)

    async def stop(self) -> None:
        """Ask the source to stop; run() returns once it has ended and everything is written."""
        self._stop_requested = True
        await self.source.stop()

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def now(self) -> Optional[float]:
        """Sample time of the end of the last epoch the coach has seen."""
        return self.coach.status().t

    def status(self) -> CoachStatus:
        return self.coach.status()

    @property
    def slouch_line_deg(self) -> float:
        """Forward flexion from which sitting counts as slouching now (the default line while no
        calibration is in use or forward is not yet known, for display)."""
        from .core.slouch import DEFAULT_SLOUCH_DEG

        line = None if self.calibration is None else self.calibration.slouch_rule(self.options.slouch_threshold_deg).line_deg
        return DEFAULT_SLOUCH_DEG if line is None else float(line)

    def suggested_exercise(self):
        """The exercise to do now: the last prompt's suggestion, else the library's next one."""
        key = self._last_prompt.exercise if self._last_prompt is not None else None
        ex = _exercises.find(key) if key else None
        return ex if ex is not None else _exercises.suggest(None)

    def snooze(self, minutes: Optional[float] = None) -> list[CoachEvent]:
        """Snooze break prompts from now (the end of the last epoch seen)."""
        t = self.now
        if t is None:
            self._emit(LiveEvent("note", "nothing to snooze yet: no epochs so far"))
            return []
        events = self.coach.snooze(t, minutes)
        self.runner.deliver(events)
        return events

    def mark_done(self) -> Optional[str]:
        """Store the suggested exercise as done now; returns its key."""
        ex = self.suggested_exercise()
        t = self.now
        from_prompt = self._last_prompt is not None
        if self._storing() is not None:
            at = self._unix(t) if t is not None else time.time()
            rec = self.runner.recorder
            sid = rec.session_id if rec is not None else None
            self.store.add_exercise(at, ex.key, "prompt" if from_prompt else "manual", session_id=sid)
        if self._on_today(self._unix(t) if t is not None else time.time()):
            self.meters.exercises += 1
        self._emit(LiveEvent("exercise", f"done: {ex.name.lower()} ({ex.dose})", t, ex.key))
        self._last_prompt = None
        return ex.key

    def calibrate_upright(self, seconds: float = UPRIGHT_CAPTURE_S) -> None:
        """Take the next ``seconds`` of samples as the upright reference (sit upright and still)."""
        self._begin_capture(_Capture((GuidedStep("upright", float(seconds), 0.0, "sit upright and still"),),
                                     guided=False))
        self._emit(LiveEvent("note", f"calibrating: sit upright and still for {seconds:g} s", self.meters.arrived_t))

    def calibrate_guided(self, stand: bool = True) -> None:
        """The guided calibration of ``sensorback calibrate`` within the session, from the next
        sample: sit upright, slouch as usual, stand up (stand=False: without the last step); each
        step is said as a note when it begins."""
        steps = tuple(st for st in GUIDED_STEPS if stand or st.name != "stand")
        self._begin_capture(_Capture(steps, guided=True))
        total = float(step_ends(steps)[-1])
        self._emit(LiveEvent("note", f"calibrating: {len(steps)} steps, {total:g} s; do each as it is said",
                             self.meters.arrived_t))

    def _begin_capture(self, capture: _Capture) -> None:
        if self._capture is not None:
            self._abandon_capture("started again")
        self._capture = capture
        self.meters.capture_left_s = float(step_ends(capture.steps)[-1])
        self.meters.capture_step = capture.steps[0].say

    def summary(self, store_name: str) -> str:
        """The line said when the session is over: what was stored where, and what was missing."""
        ids = ", ".join(map(str, self.session_ids)) or "none"
        if self._connected_at is None and self._start_time is None:
            return "stopped before the sensor connected: nothing recorded"
        if self.session_ids and not self.runner.epochs:
            parts = [f"stopped before the first epoch: nothing classified (session {ids} in {store_name}, without epochs)"]
        else:
            parts = [f"stopped: {count(self.stored_epochs, 'epoch')} stored (session {ids}) in {store_name}"]
        if self.recording is not None and self.meters.samples:
            parts.append(f"recording in {self.recording.path}")
        cal = self.calibration
        if cal is not None and not cal.reference.forward_known and self.runner.epochs:
            parts.append("no slouch was judged: forward was not known yet (run 'sensorback calibrate', or walk, "
                         "sit down or stand up with the sensor on)")
        return "; ".join(parts)

    # -- the loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Consume the source until it ends; then process, store and close what is left."""
        self._read_today()
        ended = False
        try:
            async for item in self.source:
                if isinstance(item, SampleBlock):
                    self.feed(item)
                elif isinstance(item, SourceStatus):
                    self.on_status(item)
            ended = not self._stop_requested  # the source ran out: the end of the data
        finally:
            self.finish(end_of_data=ended)

    def on_status(self, st: SourceStatus) -> None:
        m = self.meters
        v = st.values or {}
        if st.kind in ("connected", "connecting", "disconnected", "reconnecting", "scanning", "stopped"):
            m.connection = st.kind
            m.connection_detail = st.detail
        if "battery_pct" in v:
            m.battery_pct = v["battery_pct"]
        if "rssi_dbm" in v:
            m.rssi_dbm = v["rssi_dbm"]
        if st.kind == "decode_errors":
            m.decode_errors = int(v.get("errors", m.decode_errors))
        if st.kind == "connected":
            if self._connected_at is None:
                self._connected_at = time.time()
            self._device_name = v.get("device") or self._device_name
            self._address = v.get("address") or self._address
        if st.kind in ("disconnected", "reconnecting") and st.gap_until is not None:
            self.runner.flush(m.arrived_t)
        text = st.detail or st.kind
        ev = LiveEvent("status", text if st.kind in ("battery", "signal") or st.detail else st.kind, st.t, st)
        if st.kind == "stopped":
            self._stopped_event = ev  # said by finish(), after the epochs the end of the data decides
        else:
            self._emit(ev)

    def feed(self, block: SampleBlock) -> None:
        """One block of samples from the source."""
        if len(block) == 0:
            return
        m = self.meters
        if self._start_time is None:
            self._start_time = block.start_time
            self._rate_hz = block.rate_hz
            self._first_sample = self._unix(float(block.t[0]))
            self._device_name = self._device_name or block.device
            self._sensor_at = float(block.t[0]) + LEARN_SENSOR_EVERY_S
            # no epoch can start before the one of the first sample
            eps = self.options.epoch_s
            self._on_settled(math.floor(float(block.t[0]) / eps) * eps)
        m.samples += len(block)
        m.arrived_t = float(block.t[-1])
        self._follow_day(self._unix(m.arrived_t))
        if self.recording is not None:
            self.recording.append(block)
        if self._capture is not None:
            self._capture_step(block)  # held back until the capture is done
            return
        if self.calibration is None:
            self._held.append(block)
            self._try_calibration()
            return
        self._process(block)
        if self._learning is not None and m.arrived_t >= self._learn_at:
            self._learn()
        if self._seated is not None and m.arrived_t >= self._slouch_at:
            self._learn_slouch()
        if self.still is not None and m.arrived_t >= self._sensor_at:
            self._learn_sensor()

    def _process(self, block: SampleBlock) -> None:
        if not self.runner.started:
            self._start_pipeline()
        self.runner.feed(block)

    def _on_epochs(self, epochs: EpochTable, arrival: Optional[float]) -> None:
        """Settled epochs (already stored) to the day's totals, the state log and the slouch
        learning; then the dashboard's meters from the newest decided epoch (which may still be
        held back). The coach gets them next."""
        m = self.meters
        if self._unsaid is not None and len(epochs):
            cal, note, since = self._unsaid
            self._unsaid = None
            self._announce(cal, note, since, store=False)  # as said first: stored with the session itself
        if self._fit is not None:
            misfit = self._fit.add(epochs)
            if misfit:
                self._emit(LiveEvent("note", f"warning: {misfit}, or press c while sitting upright",
                                     float(epochs.t_end[-1])))
        if len(epochs):
            prev = self._settled_state
            states = epochs.state.tolist()
            names = [STATES[s] for s in states]
            durations = (epochs.t_end - epochs.t_start).tolist()
            for i, (name, d) in enumerate(zip(names, durations)):
                if self._on_today(self._unix(float(epochs.t_start[i]))):  # an epoch is its start's day's
                    m.today_s[name] += d
                if name != prev:
                    prev = name
                    self._emit(LiveEvent("state", f"state: {name}", float(epochs.t_start[i]), name))
            self._settled_state = prev
            m.epochs += len(epochs)
            if self._seated is not None:
                seated = np.flatnonzero((epochs.state == SITTING) | (epochs.state == SLOUCHING))
                if seated.size:
                    self._seated.append(epochs.take(seated))
        self._show_newest(epochs)
        if len(epochs):
            self._store_recovered()
            self._emit(LiveEvent("epochs", "", float(epochs.t_end[-1]), epochs, arrival))

    def _on_store_error(self, e: Exception) -> None:
        """A write failed (another program holds the database, say): the recorder keeps what it
        could not write and tries again with a later batch; the session goes on. Said once."""
        if not self._store_failing:
            from .store.recorder import given_up

            self._store_failing = True
            retry = getattr(self.runner.recorder, "retry_s", None)
            again = f" in {retry:g} s" if retry else ""
            told = given_up(e, f"kept in memory; monitoring goes on and tries again{again}")
            self._emit(LiveEvent("note", one_line(told), self.meters.arrived_t))

    def _store_recovered(self) -> None:
        rec = self.runner.recorder
        if self._store_failing and rec is not None and rec.pending == 0 and rec.pending_events == 0:
            self._store_failing = False
            self._emit(LiveEvent("note", "database written again: nothing was lost", self.meters.arrived_t))

    def _show_newest(self, settled: EpochTable) -> None:
        """The state shown is the newest one decided. The core holds a few epochs back while a
        later one may still change them (a sensor just put down is proven off the body only
        ~20 s later; core/settle.py); the store and the coach get them once settled."""
        processor = self.runner.processor
        held = processor.pending if processor is not None else EpochTable.empty()
        newest = held if len(held) else settled
        if not len(newest):
            return
        m = self.meters
        m.state = STATES[int(newest.state[-1])]
        m.t = float(newest.t_end[-1])
        fl = float(newest.flexion_deg[-1])
        inc = float(newest.inclination_deg[-1])
        m.flexion_deg = fl if math.isfinite(fl) else None
        m.inclination_deg = inc if math.isfinite(inc) else None

    def _on_settled(self, t: float) -> None:
        self._emit(LiveEvent("settled", "", float(t)))

    def _on_events(self, events: list[CoachEvent]) -> None:
        """Coach events (already stored): counted, the last prompt kept for its exercise, shown.
        The session's first prompt is followed by a note on where the exercise's steps are and the
        rule to stop at sharp pain (once: later prompts would only nag with it)."""
        for e in events:
            if e.kind in TALLIES and self._on_today(self._unix(e.t)):
                self.meters.counts[TALLIES[e.kind]] += 1
            declared = event_kind(e.kind)
            suggests = declared is not None and declared.suggests_exercise
            if suggests:
                self._last_prompt = e
            self._emit(LiveEvent("coach", event_text(e), e.t, e))
            exercise = _exercises.by_key(e.exercise) if suggests and not self._told_how_to else None
            if exercise is not None:
                self._told_how_to = True
                self._emit(LiveEvent("note", _exercises.how_to(exercise), e.t))

    # -- calibration ------------------------------------------------------------------------
    def _keys(self) -> list[str]:
        return [k for k in (self.device_key, self._address, self._device_name) if k]

    def _try_calibration(self) -> None:
        if (self.calibration is None and self.calibrations is not None and not self.provisional
                and not self._unreadable):
            try:
                found = self.calibrations.load(*self._keys())
            except SensorbackError as e:  # a broken entry: said once, and monitoring goes on provisionally
                self._emit(LiveEvent("note", f"warning: {e}", self.meters.arrived_t))
                self._unreadable, found = True, None
            if found is not None:
                cal, entry = found
                when = _saved_when(entry.get("saved_at"))
                note = f"calibration of {entry.get('device') or self._keys()[0]} from {when}"
                self._use_calibration(cal, note)
                self._fit = FitCheck(f"the {note}")
                return
        held = self._held
        if held and float(held[-1].t[-1]) - float(held[0].t[0]) >= self.provisional_s:
            self._provisional()

    def _provisional(self, stopping: bool = False) -> None:
        """The calibration estimated from the samples held so far. stopping: at the end of a session
        that ended before provisional_s of samples; said only once it classifies an epoch (one ended
        in its first seconds may classify none: no calibration was in use, and the summary says so)."""
        block = SampleBlock.concat(self._held)
        learned = self._stored_sensor()
        cal, notes = calibrate(block, self.options, sensor=None if learned is None else learned[0])
        self.provisional = True
        if cal.reference.forward_known:
            what = f"forward from {cal.reference.forward_source}"
        else:
            what = ("no slouch is called until the forward direction is known: it is learned from your "
                    "walking, sit-downs and stand-ups")
        sensor = "" if learned is None else f" with the sensor offset and gain learned {learned[1]}"
        note = (f"provisional calibration estimated from the first {block.duration_s:.0f} s{sensor} (no stored one "
                f"for this device); {what}. For the best accuracy run 'sensorback calibrate' (or press c while "
                "sitting upright)")
        if stopping:
            self._unsaid = (cal, note, float(self._held[0].t[0]))
        self._use_calibration(cal, note, say=not stopping)

    def _stored_sensor(self):
        """(sensor calibration, 'on <date>') an earlier session learned for this device, or None."""
        if self.calibrations is None or self._unreadable:  # an entry that could not be read is said once
            return None
        try:
            found = self.calibrations.load_sensor(*self._keys())
        except SensorbackError as e:
            self._emit(LiveEvent("note", f"warning: {e}", self.meters.arrived_t))
            return None
        return None if found is None else (found[0], f"on {_saved_when(found[1].get('sensor_saved_at'))}")

    def _use_calibration(self, cal: Calibration, note: str, say: bool = True) -> None:
        self.calibration = cal
        self._fit = None  # a stored calibration is checked from here on (_try_calibration)
        if say:  # in use from the first sample held for it (the first of all), else from now (a restart)
            self._announce(cal, note, float(self._held[0].t[0]) if self._held else self.meters.arrived_t)
        self._begin_learning(cal)
        held, self._held = self._held, []
        for b in held:
            self._process(b)

    def _begin_learning(self, cal: Calibration) -> None:
        """Learn what this calibration does not know (see the module docstring)."""
        now = self.meters.arrived_t or 0.0
        if cal.reference.forward_known:
            self._stop_learning()
        elif self._learning is None:
            self._learning, self._learn_at = [], now + LEARN_EVERY_S
        if self.options.slouch_threshold_deg is None:
            if self._seated is None:
                self._seated, self._slouch_at = [], now + LEARN_SLOUCH_EVERY_S
        else:
            self._seated, self._slouch_at = None, math.inf

    def _learn(self) -> None:
        """Weigh the forward evidence seen so far (core.learn); once forward is known (or known
        differently), switch the running core to it."""
        self._learn_at += LEARN_EVERY_S
        stats = EpochStats.concat(self._learning)
        if len(stats):
            stats = stats.take(stats.k >= int(stats.k[-1]) - int(LEARN_KEEP_S / self.options.epoch_s))
        self._learning = [stats]
        cal = learn(stats, self.options, self.calibration)
        if cal is None:
            return
        was_known = self.calibration.reference.forward_known
        if self._seated is not None:
            self._seated = []  # flexion measured along the old forward means nothing now
        self._change_reference(cal, f"forward direction {'re' if was_known else ''}learned from "
                               f"{cal.reference.forward_source}: slouches count from now")

    def _learn_slouch(self) -> None:
        """Look for the wearer's usual slouch in the seated epochs so far (core.learn_slouch)."""
        self._slouch_at += LEARN_SLOUCH_EVERY_S
        if not self._seated:
            return
        seated = EpochTable.concat(self._seated)
        if len(seated) > LEARN_SLOUCH_KEEP:
            seated = seated.rows(len(seated) - LEARN_SLOUCH_KEEP, len(seated))
        self._seated = [seated]
        found = learn_slouch(seated, self.calibration)
        if found is None:
            return
        cal, what = found
        self._change_reference(cal, f"slouch line learned: {what}, so slouching counts from "
                               f"{cal.slouch_rule().line_deg:.0f} degrees")

    def _on_stats(self, stats: EpochStats) -> None:
        """The core's epoch statistics, as measured (before they are decided): kept for learning
        forward, and the still epochs' raw means for the sensor fit."""
        if self._learning is not None:
            self._learning.append(stats)
        if self.still is not None:
            self.still.add(stats, self.options.min_samples(self._rate_hz or 50.0))  # (the rate is known by then)

    def _stop_learning(self) -> None:
        self._learning, self._learn_at = None, math.inf

    def _learn_sensor(self) -> None:
        """Fit the sensor's offset and gain to the still epochs so far (core.learn_sensor); when
        the fit matters, switch the running core to it and save it for the device."""
        self._sensor_at += LEARN_SENSOR_EVERY_S
        if self.calibration is None:
            return
        found = learn_sensor(self.still, self.calibration)
        if found is None:
            return
        cal, what = found
        self.sensor_switches += 1
        self.runner.change_sensor(cal, self.meters.arrived_t)
        self.calibration = cal
        self._announce(cal, f"sensor offset and gain learned: {what}{self._save_sensor(cal)}")

    def _save_sensor(self, cal: Calibration) -> str:
        """Keep the learned sensor correction for the device; what to add to the note."""
        if self.calibrations is None or not self._keys():
            return ""
        try:
            self.calibrations.save_sensor(self._keys(), cal.sensor, device=self._device_name or "",
                                          how="monitor: learned from the still postures")
        except (OSError, SensorbackError) as e:
            return f"; not saved ({e})"
        return f"; saved for {self._keys()[0]}"

    def _change_reference(self, cal: Calibration, note: str) -> None:
        """Same sensor calibration, another wearer reference: the core carries on (no epoch is
        dropped, the posture it knows is kept), and so does the stored session."""
        self.runner.change_reference(cal, self.meters.arrived_t)
        self.calibration = cal
        self._fit = None  # the wearer's own upright now, whatever was stored
        self._announce(cal, note)
        self._begin_learning(cal)

    def _announce(self, cal: Calibration, note: str, since: Optional[float] = None, store: bool = True) -> None:
        """A calibration now in use (from ``since``, default the newest sample): shown, said as a
        ``calibration`` event, and stored as one in the session (store)."""
        self.meters.calibration_note = note
        self._emit(LiveEvent("calibration", note, self.meters.arrived_t if since is None else since, cal))
        if store and self.runner.recorder is not None:
            self.runner.recorder.add_events([{"t": self.meters.arrived_t, "kind": "calibration",
                                              "detail": {"note": note, "calibration": cal.to_dict()}}])

    def _capture_step(self, block: SampleBlock) -> None:
        """One block of a calibration capture: held back from the core (so that the core can be
        told the steps' windows before it decides their epochs); the steps said as they begin;
        at the end, the calibration."""
        cap = self._capture
        if cap.t0 is None:
            cap.t0 = float(block.t[0])
        cap.blocks.append(block)
        got = float(block.t[-1]) - cap.t0
        ends = step_ends(cap.steps)
        self.meters.capture_left_s = max(0.0, float(ends[-1]) - got)
        now = int(np.searchsorted(ends, got, side="right"))
        while cap.step < min(now, len(cap.steps) - 1):
            cap.step += 1
            self.meters.capture_step = cap.steps[cap.step].say
            if cap.guided:
                self._emit(LiveEvent("note", f"calibrating {step_say(cap.steps, cap.step)}", float(block.t[-1])))
        if got < float(ends[-1]):
            return
        self._capture = None
        self.meters.capture_left_s, self.meters.capture_step = None, ""
        data = SampleBlock.concat(cap.blocks)
        if cap.guided:
            windows = step_windows(cap.steps, cap.t0)
        else:
            # Whole epochs inside the capture only (the first and last may be partial).
            eps = self.options.epoch_s
            windows = {"upright": (math.ceil(cap.t0 / eps) * eps, math.floor(float(data.t[-1]) / eps) * eps)}
        try:
            a, b = windows["upright"]
            if b - a < self.options.epoch_s:
                raise SensorbackError("calibrate: too few samples arrived; try again")
            sensor = self.calibration.sensor if self.calibration is not None else None
            if sensor is None and (learned := self._stored_sensor()) is not None:
                sensor = learned[0]
            stats, _ = block_stats(data, self.options, sensor if sensor is not None else IDENTITY)
            cal, notes = from_windows(stats, self.options, windows["upright"], windows.get("slouch"),
                                      windows.get("stand"), previous=self.calibration, sensor=sensor)
        except SensorbackError as e:
            self._emit(LiveEvent("note", str(e), float(data.t[-1])))
            self._release(cap.blocks)
            return
        how = "monitor: guided calibration" if cap.guided else "monitor: upright key"
        saved = ""
        if self.calibrations is not None and self._keys():
            try:
                self.calibrations.save(self._keys(), cal, device=self._device_name or "", how=how)
                saved = f"; saved for {self._keys()[0]}"
            except (OSError, SensorbackError) as e:
                saved = f"; not saved ({e})"
        self.provisional = False
        if cap.guided:
            note = f"calibrated (guided): {'; '.join(notes)}{saved}"
        else:
            note = f"calibrated: upright taken from {b - a:.0f} s of sitting; {'; '.join(notes[1:])}{saved}"
        self._restart(cal, note, [(windows[st.name], st.seated) for st in cap.steps], cap.blocks)

    def _abandon_capture(self, why: str) -> None:
        """A capture not finished (the stream ended, or another began): its samples go on as if
        there had been none, the core told nothing."""
        cap, self._capture = self._capture, None
        self.meters.capture_left_s, self.meters.capture_step = None, ""
        self._emit(LiveEvent("note", f"calibrating: {why} before the calibration was done", self.meters.arrived_t))
        self._release(cap.blocks)

    def _release(self, blocks: list[SampleBlock]) -> None:
        """Blocks held back by a capture that gave no calibration, on their way as usual."""
        self._held.extend(blocks)
        if self.calibration is None:
            self._try_calibration()
            return
        held, self._held = self._held, []
        for b in held:
            self._process(b)

    def _restart(self, cal: Calibration, note: str, told: list, blocks: list[SampleBlock]) -> None:
        """A new calibration from a capture: finish the epochs complete before it, then a new core
        with the new calibration, told the windows of the capture's steps (seated or standing:
        Runner.tell_seated) before it decides the capture's samples. The coach and the stored
        session carry on."""
        self.runner.restart(self.meters.arrived_t, next_t=float(blocks[0].t[0]))
        for (a, b), seated in told:
            (self.runner.tell_seated if seated else self.runner.tell_standing)(a, b)
        self._held.extend(blocks)
        self._use_calibration(cal, note)

    # -- the core and the store ---------------------------------------------------------------
    def _start_pipeline(self) -> None:
        self.runner.start(self.calibration, self._rate_hz or 50.0)
        self._begin_recording()

    def _storing(self):
        """The store, opened now if it was left to open at the first thing to store; None: none."""
        if self.store is None and self._open_store is not None:
            self.store = self._open_store()
            self._open_store = None
        return self.store

    def _begin_recording(self) -> None:
        if self.runner.recorder is None and self._storing() is not None:
            from dataclasses import asdict

            rec = self.store.recorder(**{"retry_s": STORE_RETRY_S, **self.recorder_kwargs})
            start = self._start_time if self._start_time is not None else self._connected_at
            rec.begin_session(device=self._device_name or "unknown", source=self.source_name,
                              start=start, rate_hz=self._rate_hz or 50.0,
                              epoch_s=self.options.epoch_s, calibration=self.calibration,
                              options=asdict(self.options))
            self.runner.recorder = rec

    def _end_recorder(self) -> None:
        """End the stored session in progress, if any, and count it. Without an epoch it ends when
        it was stopped (its last sample, or now without any), not where its first epoch would have."""
        end = None
        if self.runner.epochs == 0:
            end = self._unix(self.meters.arrived_t) if self._start_time is not None else time.time()
        try:
            sid, written = self.runner.end_session(end)
        except Exception as e:
            from .store import StoreError
            from .store.recorder import given_up

            rec = self.runner.recorder
            if rec is None or not isinstance(e, StoreError):
                raise
            events = f", nor {count(rec.pending_events, 'coach event')}" if rec.pending_events else ""
            raise given_up(e, f"the monitor stopped: {count(rec.pending, 'epoch')} not stored{events} "
                              f"({rec.written_epochs:,} were)") from None
        self.runner.recorder = None
        if sid is not None:
            self.stored_epochs += written
            self.session_ids.append(sid)

    def _unix(self, t: float) -> float:
        base = self._start_time if self._start_time is not None else (time.time() - (self.meters.arrived_t or 0.0))
        return base + float(t)

    def _read_today(self) -> None:
        """Today's stored rows (the computer's local day), read before the source starts (it takes
        a while on a big database, which a sped-up demo's pace must not wait for); counted at the
        first sample when it falls on the same day (_follow_day)."""
        now = datetime.now(timezone.utc)
        self._today_rows = (today(now), self._read_day(now))

    def _read_day(self, now: datetime):
        """The store's rows of now's local day up to now (session.today.today_rows), or None
        without a store or when it cannot be read (said). A day whose pain check-ins call for a
        doctor is said once: break prompts still name an exercise."""
        if self.store is None:
            return None
        from .session.today import today_rows

        try:
            rows = today_rows(self.store, now)
        except SensorbackError as e:
            self._emit(LiveEvent("note", f"today's totals: {e}", self.meters.arrived_t))
            return None
        warning = rows.exercise_warning
        if warning is not None and rows.day != self._warned_day:
            self._warned_day = rows.day
            self._emit(LiveEvent("note", f"{warning} 'sensorback report' shows them. {_exercises.SHARP_PAIN}",
                                 self.meters.arrived_t))
        return rows

    def _on_today(self, at: float) -> bool:
        """The Unix time ``at`` falls on the day 'Today' counts (any, before the first sample)."""
        day = self._day
        return day is None or day[1] <= at < day[2]

    def _follow_day(self, latest: float) -> None:
        """'Today' is the local day of the latest sample (sample time, as everywhere in the
        pipeline; the report's local days, localday). At the first sample, and whenever a sample
        falls on another day (a session across midnight, a sped-up demo), the totals start again
        from the store's rows of that day: those before this session's first sample (this session
        is the newest, so what is stored from then on is not counted again, as in the report), to
        which the session's own epochs, events and exercises of that day are then added."""
        if self._day is not None and self._on_today(latest):
            return
        instant = datetime.fromtimestamp(latest, timezone.utc)
        day = today(instant)
        start, end = day_bounds(day)
        m = self.meters
        if self._day is not None:  # yesterday's totals are not today's
            m.today_s.clear()
            m.counts.clear()
            m.exercises = 0
        self._day = (day, start.timestamp(), end.timestamp())
        read_for, rows = self._today_rows or (None, None)
        self._today_rows = None
        if read_for != day:  # read before the start for another day, or a new day
            rows = self._read_day(instant)
        if rows is None:
            return
        stored = rows.totals(until=datetime.fromtimestamp(self._first_sample, timezone.utc))
        m.today_s.update(stored.seconds)
        m.counts.update(stored.counts)
        m.exercises += stored.exercises

    def finish(self, end_of_data: bool = False) -> None:
        """Process what is complete, write and end the stored session, close the recording.
        end_of_data: the source ran out (not stopped): the last, incomplete epoch is decided too
        and the coach settles what is left, as at the end of a replay."""
        if self._finished:
            return
        self._finished = True
        errors: list[BaseException] = []
        try:
            if self._capture is not None:
                self._abandon_capture("the stream ended")
            if self.calibration is None and self._held:
                try:
                    self._provisional(stopping=True)
                except SensorbackError as e:
                    self._emit(LiveEvent("note", f"not analysed: {e}"))
            if end_of_data:
                if self.runner.started:
                    self.runner.finish(self.meters.arrived_t)
            else:
                self.runner.close(self.meters.arrived_t)
        except BaseException as e:  # noqa: BLE001 - still write what we have
            errors.append(e)
        if self._connected_at is not None or self._start_time is not None:
            try:  # a session stopped before its first epoch is stored too, from its start to its stop
                self._begin_recording()
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
        try:
            self._end_recorder()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        if self.recording is not None:
            try:
                self.recording.close()
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
        if self._stopped_event is not None:
            self._emit(self._stopped_event)
        if errors:
            raise errors[0]


__all__ = ["CalibrationStore", "GUIDED_STEPS", "GuidedStep", "LiveEvent", "LiveSession", "Meters", "PROVISIONAL_S",
           "UPRIGHT_CAPTURE_S", "calibration_from_dict", "guided_calibration"]
