"""A live session: source -> core -> coach -> store, with one fan-out of events for any UI.

    session = LiveSession(DemoSource("desk-day", speed=60), settings=settings, store=store,
                          device_key="demo", record="today.sbr")
    session.subscribe(print_event)          # called with every LiveEvent, in order
    await session.run()                     # until the source ends; session.stop() ends it
    session.snooze(); session.mark_done(); session.calibrate_upright()   # from the UI's keys

Both the Textual dashboard (sensorback/ui) and ``sensorback monitor --plain`` drive this object;
neither touches the core, the coach or the store directly.

**Time.** Everything inside is sample time (the blocks' ``t``): the StreamProcessor runs with a
one-epoch delay, so an epoch's state is known when the first sample of the next epoch arrives
(the dashboard shows it then); the core hands an epoch to the coach and the store once it is
settled, which is at once except while a later epoch may still revise it (while a sensor just
handled lies still: up to 19 s at 50 Hz and above, 149 s at 10 Hz; two epochs after a sit-down:
core/settle.py); the coach sees only settled epochs; snoozes and exercise marks are stamped at
the end of the last epoch it saw. Wall clock appears only where rows are stored
(``start_time + t``).

**Calibration.** The core needs the wearer's upright and forward directions and, for the
personal slouch line, their usual slouch (sensorback.core.personal). In order:
1. the one stored for this device (``sensorback calibrate``; see sensorback.calibrations);
2. otherwise a *provisional* one estimated by the core from the first ``provisional_s`` seconds
   of samples (which are held back until then), announced as such;
3. at any time ``calibrate_upright()`` takes the next few seconds as the upright reference
   (keeping a known forward direction), saves it for the device and restarts the core with it.
Whatever the calibration in use does not know is learned as the session goes, with the same
estimators a whole recording is analysed with: every ``LEARN_EVERY_S`` seconds of samples the
forward direction from the walking, sit-downs and stand-ups seen so far (until it is known no
slouch is called), every ``LEARN_SLOUCH_EVERY_S`` the usual slouch from the seated epochs (when
the sitting is clearly bimodal). Each change is announced and switches the running core (no
epoch dropped, the posture it knows kept). A run is one stored session whatever happens to its
calibration: the session row keeps the calibration it started with, and each later one is stored
as a ``calibration`` event (its note and ``Calibration.to_dict()`` as JSON); the coach and its
sitting clock carry on.

**Stopping.** ``await session.stop()`` asks the source to stop (which stops the device's stream);
when the source has ended, the epochs complete so far are processed, the database session is
written and ended, the recording file is closed.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from .coach import Coach, CoachEvent, CoachSettings, CoachStatus
from .coach import exercises as _exercises
from .coach.rules import SHOWN_TALLIES, TALLIES, kind as event_kind
from .coach.text import event_text
from .calibrations import CalibrationStore, calibration_from_dict  # noqa: F401  (re-exported)
from .core import Calibration, CoreOptions, EpochTable, StreamProcessor, block_stats, calibrate, from_windows, learn
from .core import learn_slouch
from .core.calibration import IDENTITY
from .core.epoch_stats import EpochStats
from .core.states import SITTING, SLOUCHING, STATES
from .errors import SensorbackError
from .samples import SampleBlock
from .sources.base import SourceStatus
from .timefmt import clock

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
    "epochs" (data: EpochTable just decided; for meters and benchmarks, not for printing).
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
    capture_left_s: Optional[float] = None

    @property
    def prompts(self) -> int:
        return self.counts["prompts"]

    @property
    def nudges(self) -> int:
        return self.counts["nudges"]

    def totals_line(self) -> str:
        """'prompts 2, nudges 1, exercises 0': what interrupted you today, and exercises done."""
        return ", ".join([f"{tally} {self.counts[tally]}" for tally in SHOWN_TALLIES] + [f"exercises {self.exercises}"])


class LiveSession:
    """See the module docstring. Not thread-safe: run it and call its methods on one event loop."""

    def __init__(self, source, *, options: CoreOptions = CoreOptions(), settings: Optional[CoachSettings] = None,
                 store=None, recorder_kwargs: Optional[dict] = None, device_key: Optional[str] = None,
                 calibration: Optional[Calibration] = None, calibrations: Optional[CalibrationStore] = None,
                 record: Optional[str | os.PathLike] = None, provisional_s: float = PROVISIONAL_S,
                 source_name: str = "live"):
        self.source = source
        self.options = options
        self.settings = settings or CoachSettings()
        self.coach = Coach(self.settings)
        self.store = store
        self.recorder_kwargs = recorder_kwargs or {}
        self.device_key = device_key
        self.calibration = calibration
        self.calibrations = calibrations
        self.record_path = Path(record) if record is not None else None
        self.provisional_s = float(provisional_s)
        self.source_name = source_name
        self.meters = Meters()
        self.provisional = False
        self.session_ids: list[int] = []
        self.events: list[CoachEvent] = []
        self._listeners: list[Callable[[LiveEvent], Any]] = []
        self._processor: Optional[StreamProcessor] = None
        self._last_k: Optional[int] = None
        self._recorder = None
        self._writer = None
        self._held: list[SampleBlock] = []       # samples waiting for a calibration
        self._capture: Optional[dict] = None     # upright capture in progress
        self._learning: Optional[list[EpochStats]] = None    # the core's statistics to learn forward from
        self._learn_at = math.inf                # sample time of the next look
        self._seated: Optional[list[EpochTable]] = None       # seated epochs to learn the usual slouch from
        self._slouch_at = math.inf
        self._recent_blocks: deque[SampleBlock] = deque()
        self._device_name: Optional[str] = None
        self._address: Optional[str] = None
        self._start_time: Optional[float] = None
        self._rate_hz: Optional[float] = None
        self._last_prompt: Optional[CoachEvent] = None
        self._stop_requested = False
        self._finished = False
        self._settled_state: Optional[str] = None
        self.stored_epochs = 0

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
        self._coach_events(events)
        return events

    def mark_done(self) -> Optional[str]:
        """Store the suggested exercise as done now; returns its key."""
        ex = self.suggested_exercise()
        t = self.now
        from_prompt = self._last_prompt is not None
        if self.store is not None:
            at = self._unix(t) if t is not None else time.time()
            sid = self._recorder.session_id if self._recorder is not None else None
            self.store.add_exercise(at, ex.key, "prompt" if from_prompt else "manual", session_id=sid)
        self.meters.exercises += 1
        self._emit(LiveEvent("exercise", f"done: {ex.name.lower()} ({ex.dose})", t, ex.key))
        self._last_prompt = None
        return ex.key

    def calibrate_upright(self, seconds: float = UPRIGHT_CAPTURE_S) -> None:
        """Take the next ``seconds`` of samples as the upright reference (sit upright and still)."""
        self._capture = {"seconds": float(seconds), "blocks": [], "t0": None}
        self.meters.capture_left_s = float(seconds)
        self._emit(LiveEvent("note", f"calibrating: sit upright and still for {seconds:g} s", self.meters.arrived_t))

    # -- the loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Consume the source until it ends; then process, store and close what is left."""
        self._load_today()
        try:
            async for item in self.source:
                if isinstance(item, SampleBlock):
                    self.feed(item)
                elif isinstance(item, SourceStatus):
                    self.on_status(item)
        finally:
            self.finish()

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
            self._device_name = v.get("device") or self._device_name
            self._address = v.get("address") or self._address
        if st.kind in ("disconnected", "reconnecting") and st.gap_until is not None and self._processor is not None:
            self._step(self._processor.flush(), m.arrived_t)
        text = st.detail or st.kind
        self._emit(LiveEvent("status", text if st.kind in ("battery", "signal") or st.detail else st.kind, st.t, st))

    def feed(self, block: SampleBlock) -> None:
        """One block of samples from the source."""
        if len(block) == 0:
            return
        m = self.meters
        if self._start_time is None:
            self._start_time = block.start_time
            self._rate_hz = block.rate_hz
            self._device_name = self._device_name or block.device
        m.samples += len(block)
        m.arrived_t = float(block.t[-1])
        if self.record_path is not None:
            self._write_record(block)
        if self._capture is not None:
            self._capture_step(block)
        if self.calibration is None:
            self._held.append(block)
            self._try_calibration()
            return
        self._process(block)
        if self._learning is not None and m.arrived_t >= self._learn_at:
            self._learn()
        if self._seated is not None and m.arrived_t >= self._slouch_at:
            self._learn_slouch()

    def _process(self, block: SampleBlock) -> None:
        if self._processor is None:
            self._start_pipeline()
        epochs = self._processor.feed(block)
        last = float(block.t[-1])
        if not len(epochs):
            # A sample of a new epoch has arrived: the epochs before it are complete, so decide them
            # now rather than when a whole epoch of samples has queued up (latency <= 1 epoch).
            k = math.floor(last / self.options.epoch_s)
            if self._last_k is not None and k > self._last_k:
                epochs = self._processor.flush()
            self._last_k = k
        else:
            self._last_k = math.floor(last / self.options.epoch_s)
        self._step(epochs, last)

    def _step(self, epochs: EpochTable, arrival: Optional[float]) -> None:
        """Settled epochs to the store, the day's totals, the state log and the coach; then the
        dashboard's meters from the newest decided epoch (which may still be held back)."""
        m = self.meters
        if len(epochs):
            if self._recorder is not None:
                self._recorder.add_epochs(epochs)
            prev = self._settled_state
            states = epochs.state.tolist()
            names = [STATES[s] for s in states]
            durations = (epochs.t_end - epochs.t_start).tolist()
            for i, (name, d) in enumerate(zip(names, durations)):
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
            self._emit(LiveEvent("epochs", "", float(epochs.t_end[-1]), epochs, arrival))
            self._coach_events(self.coach.update(epochs))

    def _show_newest(self, settled: EpochTable) -> None:
        """The state shown is the newest one decided. The core holds a few epochs back while a
        later one may still change them (a sensor just put down is proven off the body only
        ~20 s later; core/settle.py); the store and the coach get them once settled."""
        held = self._processor.pending if self._processor is not None else EpochTable.empty()
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

    def _coach_events(self, events: list[CoachEvent]) -> None:
        if not events:
            return
        self.events.extend(events)
        if self._recorder is not None:
            self._recorder.add_events(events)
        for e in events:
            if e.kind in TALLIES:
                self.meters.counts[TALLIES[e.kind]] += 1
            declared = event_kind(e.kind)
            if declared is not None and declared.suggests_exercise:
                self._last_prompt = e
            self._emit(LiveEvent("coach", event_text(e), e.t, e))

    # -- calibration ------------------------------------------------------------------------
    def _keys(self) -> list[str]:
        return [k for k in (self.device_key, self._address, self._device_name) if k]

    def _try_calibration(self) -> None:
        if self.calibration is None and self.calibrations is not None and not self.provisional:
            found = self.calibrations.load(*self._keys())
            if found is not None:
                cal, entry = found
                when = entry.get("saved_at", "?")
                self._use_calibration(cal, f"calibration of {entry.get('device') or self._keys()[0]} from {when}")
                return
        held = self._held
        if held and float(held[-1].t[-1]) - float(held[0].t[0]) >= self.provisional_s:
            self._provisional()

    def _provisional(self) -> None:
        block = SampleBlock.concat(self._held)
        cal, notes = calibrate(block, self.options)
        self.provisional = True
        if cal.reference.forward_known:
            what = f"forward from {cal.reference.forward_source}"
        else:
            what = ("no slouch is called until the forward direction is known: it is learned from your "
                    "walking, sit-downs and stand-ups")
        self._use_calibration(cal, f"provisional calibration estimated from the first {block.duration_s:.0f} s "
                              f"(no stored one for this device); {what}. For the best accuracy run "
                              "'sensorback calibrate' (or press c while sitting upright)")

    def _use_calibration(self, cal: Calibration, note: str) -> None:
        self.calibration = cal
        self.meters.calibration_note = note
        self._emit(LiveEvent("calibration", note, self.meters.arrived_t, cal))
        self._record_calibration(cal, note)
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
            if self._processor is not None:
                self._processor.on_stats = self._collect_stats
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

    def _collect_stats(self, stats: EpochStats) -> None:
        if self._learning is not None:
            self._learning.append(stats)

    def _stop_learning(self) -> None:
        self._learning, self._learn_at = None, math.inf
        if self._processor is not None:
            self._processor.on_stats = None

    def _change_reference(self, cal: Calibration, note: str) -> None:
        """Same sensor calibration, another wearer reference: the core carries on (no epoch is
        dropped, the posture it knows is kept), and so does the stored session."""
        if self._processor is not None:
            self._step(self._processor.change_reference(cal), self.meters.arrived_t)
        self.calibration = cal
        self.meters.calibration_note = note
        self._emit(LiveEvent("calibration", note, self.meters.arrived_t, cal))
        self._record_calibration(cal, note)
        self._begin_learning(cal)

    def _record_calibration(self, cal: Calibration, note: str) -> None:
        """A calibration that replaces another in the stored session: a ``calibration`` event."""
        if self._recorder is not None:
            self._recorder.add_events([{"t": self.meters.arrived_t, "kind": "calibration",
                                        "detail": {"note": note, "calibration": cal.to_dict()}}])

    def _capture_step(self, block: SampleBlock) -> None:
        cap = self._capture
        if cap["t0"] is None:
            cap["t0"] = float(block.t[0])
        cap["blocks"].append(block)
        got = float(block.t[-1]) - cap["t0"]
        self.meters.capture_left_s = max(0.0, cap["seconds"] - got)
        if got < cap["seconds"]:
            return
        self._capture = None
        self.meters.capture_left_s = None
        data = SampleBlock.concat(cap["blocks"])
        eps = self.options.epoch_s
        # Whole epochs inside the capture only (the first and last may be partial).
        a = math.ceil(cap["t0"] / eps) * eps
        b = math.floor(float(data.t[-1]) / eps) * eps
        try:
            if b - a < eps:
                raise SensorbackError("calibrate: too few samples arrived; try again")
            sensor = self.calibration.sensor if self.calibration is not None else None
            stats, _ = block_stats(data, self.options, sensor if sensor is not None else IDENTITY)
            cal, notes = from_windows(stats, self.options, (a, b), previous=self.calibration, sensor=sensor)
        except SensorbackError as e:
            self._emit(LiveEvent("note", str(e), float(data.t[-1])))
            return
        saved = ""
        if self.calibrations is not None and self._keys():
            try:
                self.calibrations.save(self._keys(), cal, device=self._device_name or "", how="monitor: upright key")
                saved = f"; saved for {self._keys()[0]}"
            except (OSError, SensorbackError) as e:
                saved = f"; not saved ({e})"
        self.provisional = False
        self._restart(cal, f"calibrated: upright taken from {b - a:.0f} s of sitting; {'; '.join(notes[1:])}{saved}")

    def _restart(self, cal: Calibration, note: str) -> None:
        """A new calibration mid-stream: finish the epochs complete so far, then a new core with
        the new calibration. The coach and the stored session carry on."""
        if self._processor is not None:
            self._step(self._processor.close(), self.meters.arrived_t)
            self._processor = None
        self._use_calibration(cal, note)

    # -- the core, the store, the recording ---------------------------------------------------
    def _start_pipeline(self) -> None:
        self._processor = StreamProcessor(self.options, self.calibration, self._rate_hz or 50.0,
                                          self.options.epoch_s)
        if self._learning is not None:
            self._processor.on_stats = self._collect_stats
        self._begin_recording()

    def _begin_recording(self) -> None:
        if self.store is not None and self._recorder is None:
            from dataclasses import asdict

            self._recorder = self.store.recorder(**self.recorder_kwargs)
            self._recorder.begin_session(device=self._device_name or "unknown", source=self.source_name,
                                         start=self._start_time, rate_hz=self._rate_hz or 50.0,
                                         epoch_s=self.options.epoch_s, calibration=self.calibration,
                                         options=asdict(self.options))

    def _end_recorder(self) -> None:
        """End the stored session in progress, if any, and count it."""
        rec, self._recorder = self._recorder, None
        if rec is None:
            return
        written = rec.written_epochs + rec.pending
        sid = rec.end_session()
        if sid is not None:
            self.stored_epochs += written
            self.session_ids.append(sid)

    def _write_record(self, block: SampleBlock) -> None:
        if self._writer is None:
            from .formats import NativeWriter

            self._writer = NativeWriter(self.record_path, device=block.device, rate_hz=block.rate_hz,
                                        start_time=block.start_time, meta={"source": self.source_name})
        self._writer.append(block)

    def _unix(self, t: float) -> float:
        base = self._start_time if self._start_time is not None else (time.time() - (self.meters.arrived_t or 0.0))
        return base + float(t)

    def _load_today(self) -> None:
        """Today's stored totals (local day), so the dashboard's totals include earlier sessions."""
        if self.store is None:
            return
        now = datetime.now().astimezone()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            series = self.store.epochs(midnight, now)
            for code, d in zip(series.state.tolist(), series.duration_s.tolist()):
                self.meters.today_s[STATES[code]] += d
            for e in self.store.events(midnight, now):
                tally = TALLIES.get(getattr(e, "kind", None))
                if tally is not None:
                    self.meters.counts[tally] += 1
            self.meters.exercises += len(self.store.exercises(midnight, now))
        except SensorbackError as e:
            self._emit(LiveEvent("note", f"today's totals: {e}"))

    def finish(self) -> None:
        """Process what is complete, write and end the stored session, close the recording."""
        if self._finished:
            return
        self._finished = True
        errors: list[BaseException] = []
        try:
            if self.calibration is None and self._held:
                try:
                    self._provisional()
                except SensorbackError as e:
                    self._emit(LiveEvent("note", f"not analysed: {e}"))
            if self._processor is not None:
                self._step(self._processor.close(), self.meters.arrived_t)
        except BaseException as e:  # noqa: BLE001 - still write what we have
            errors.append(e)
        try:
            self._end_recorder()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        if self._writer is not None:
            try:
                self._writer.close()
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
        if errors:
            raise errors[0]


# ----------------------------------------------------------------------------- guided calibration


@dataclass(frozen=True)
class GuidedStep:
    """One step of ``sensorback calibrate``: what the wearer is told, for how long (seconds of
    samples), and how much of its start is the wearer moving into it (not used)."""

    name: str
    seconds: float
    settle_s: float
    say: str


#: The guided calibration: the steps in order (the stand step is optional). The windows the core
#: gets are each step's seconds after its settling.
GUIDED_STEPS = (
    GuidedStep("upright", 10.0, 2.0, "sit upright and still, looking ahead"),
    GuidedStep("slouch", 10.0, 3.0, "now slouch the way you usually do, and hold it"),
    GuidedStep("stand", 10.0, 4.0, "now stand up and stand still"),
)


async def guided_calibration(source, say, *, stand: bool = True, options: Optional[CoreOptions] = None,
                             previous: Optional[Calibration] = None, steps=GUIDED_STEPS):
    """Guide the wearer through the steps, collect their samples from a live source and compute
    the calibration (sensorback.core.personal.from_windows).

    say(text) tells the wearer what to do. stand=False leaves out the stand step. Returns
    (calibration, notes, device name, address). The source is stopped at the end.
    """
    options = options or CoreOptions()
    steps = [st for st in steps if stand or st.name != "stand"]
    ends = np.cumsum([st.seconds for st in steps])
    blocks: list[SampleBlock] = []
    name = address = None
    t0 = None
    step = -1
    try:
        async for item in source:
            if isinstance(item, SourceStatus):
                if item.kind == "connected":
                    name = item.values.get("device") or name
                    address = item.values.get("address") or address
                    say(f"connected: {item.detail}" if item.detail else "connected")
                elif item.kind in ("disconnected", "reconnecting"):
                    raise SensorbackError(f"calibrate: the sensor disconnected ({item.detail or item.kind}); "
                                          "try again")
                continue
            if len(item) == 0:
                continue
            blocks.append(item)
            if t0 is None:
                t0 = float(item.t[0])
            now = int(np.searchsorted(ends, float(item.t[-1]) - t0, side="right"))
            while step < min(now, len(steps) - 1):
                step += 1
                say(f"{step + 1}/{len(steps)}  {steps[step].say} ({steps[step].seconds:g} s)")
            if now >= len(steps):
                break
    finally:
        await source.stop()
    if t0 is None or float(blocks[-1].t[-1]) - t0 < ends[-1]:
        raise SensorbackError("calibrate: the sensor stopped sending before the calibration was done; try again")
    data = SampleBlock.concat(blocks)
    starts = ends - np.array([st.seconds for st in steps])
    windows = {st.name: (t0 + a + st.settle_s, t0 + b) for st, a, b in zip(steps, starts, ends)}
    sensor = previous.sensor if previous is not None else IDENTITY
    stats, _ = block_stats(data, options, sensor)
    cal, notes = from_windows(stats, options, windows["upright"], windows.get("slouch"), windows.get("stand"),
                              previous=previous, sensor=sensor)
    return cal, notes, name, address


# ----------------------------------------------------------------------------- sources


def open_ble_source(device: Optional[str], profile: Optional[str]):
    """The BLE source for --device/--profile, imported only now; a one-line error when BLE
    support is missing (then try --demo)."""
    try:
        from .sources.ble import BleSource  # written alongside; may be absent
    except ImportError as e:
        raise SensorbackError(f"BLE sensors are not available here ({e}); try 'sensorback monitor --demo'") from None
    kwargs = {}
    if device is not None:
        kwargs["device"] = device
    if profile is not None:
        kwargs["profile"] = profile
    try:
        return BleSource(**kwargs)
    except SensorbackError:
        raise
    except TypeError as e:
        raise SensorbackError(f"BLE source: {e}; try 'sensorback monitor --demo'") from None


__all__ = ["CalibrationStore", "GUIDED_STEPS", "GuidedStep", "LiveEvent", "LiveSession", "Meters", "PROVISIONAL_S",
           "UPRIGHT_CAPTURE_S", "calibration_from_dict", "guided_calibration", "open_ble_source"]
