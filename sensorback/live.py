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

**Calibration.** The core needs the wearer's upright and forward directions. In order:
1. the one stored for this device (``sensorback calibrate``; a JSON file, see CalibrationStore);
2. otherwise a *provisional* one estimated by the core from the first ``provisional_s`` seconds
   of samples (which are held back until then), announced as such. Its forward direction is a
   guess until the wearer sits down or stands up: every ``LEARN_EVERY_S`` seconds of samples the
   session looks for sit/stand transitions in what it has seen (as the core does for a whole
   recording) and, once it finds them, switches the running core to the forward direction they
   show (no epoch dropped; the stored session goes on);
3. at any time ``calibrate_upright()`` takes the next few seconds as the upright reference
   (keeping the known forward direction), saves it for the device and restarts the core with it.
   A run is one stored session whatever happens to its calibration: the session row keeps the
   calibration it started with, and each later one is stored as a ``calibration`` event (its
   note and ``Calibration.to_dict()`` as JSON); the coach and its sitting clock carry on.

**Stopping.** ``await session.stop()`` asks the source to stop (which stops the device's stream);
when the source has ended, the epochs complete so far are processed, the database session is
written and ended, the recording file is closed.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from .coach import Coach, CoachEvent, CoachSettings, CoachStatus
from .coach import exercises as _exercises
from .coach.rules import SHOWN_TALLIES, TALLIES, kind as event_kind
from .coach.text import event_text
from .core import Calibration, CoreOptions, EpochTable, StreamProcessor, block_stats, learn_forward
from .core.calibration import IDENTITY, SensorCalibration
from .core.epoch_stats import EpochStats
from .core.reference import Reference, estimate_forward, forward_from_window, unit, window_direction
from .core.states import STATES
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
#: A learned forward direction replaces the provisional one when they differ by more than this.
LEARN_CHANGE_DEG = 10.0
#: Seconds of sitting upright that the calibrate key takes as the reference.
UPRIGHT_CAPTURE_S = 5.0
#: An upright window is "still" when its epochs move less than this (g, SD of the vector).
STILL_SD_G = 0.08
#: The last lines of the event log (log_line) kept in Meters.recent, for a UI that shows only a few.
RECENT_LINES = 8

CALIBRATIONS_ENV = "SENSORBACK_CALIBRATIONS"
CALIBRATIONS_FILE = "calibrations.json"


# ----------------------------------------------------------------------------- calibrations


def calibration_to_dict(cal: Calibration) -> dict:
    return cal.to_dict()


def calibration_from_dict(d: dict) -> Calibration:
    """The inverse of Calibration.to_dict(); a one-line SensorbackError when it does not fit."""
    try:
        s, r = d["sensor"], d["reference"]
        sensor = SensorCalibration(tuple(float(x) for x in s["offset"]), tuple(float(x) for x in s["gain"]),
                                   str(s.get("note", "stored")))
        up = np.asarray(r["up"], float)
        fwd = np.asarray(r["forward"], float)
        # Stored unit vectors are kept bit for bit (the same epochs as when they were made).
        up = up if abs(float(np.linalg.norm(up)) - 1.0) < 1e-9 else unit(up)
        fwd = fwd if abs(float(np.linalg.norm(fwd)) - 1.0) < 1e-9 else unit(fwd)
        if up.shape != (3,) or fwd.shape != (3,) or not (np.all(np.isfinite(up)) and np.all(np.isfinite(fwd))):
            raise ValueError("up/forward must be 3 finite numbers")
        ref = Reference(tuple(map(float, up)), tuple(map(float, fwd)), str(r.get("up_source", "stored")),
                        str(r.get("forward_source", "stored")))
    except (KeyError, TypeError, ValueError) as e:
        raise SensorbackError(f"stored calibration is not usable ({e}); run 'sensorback calibrate' again") from None
    return Calibration(sensor, ref)


class CalibrationStore:
    """Calibrations per device in one small JSON file.

    Where: ``$SENSORBACK_CALIBRATIONS`` if set, else ``calibrations.json`` next to the coach's config
    file (``~/.config/sensorback/`` on Linux; ``$SENSORBACK_CONFIG``'s folder when that is set).
    A calibration is stored under every key that names the device (its address and its name), so
    ``--device AA:BB:..`` and ``--device "Polar H10 1234"`` both find it. The file is a JSON object
    ``{"devices": {key: {"calibration": ..., "device": ..., "saved_at": ..., "how": ...}}}`` written
    atomically. (A JSON file rather than a database table: a calibration belongs to this computer
    and sensor, and the store's schema is not this module's to migrate.)
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else self.default_path()

    @staticmethod
    def default_path() -> Path:
        env = os.environ.get(CALIBRATIONS_ENV)
        if env:
            return Path(env).expanduser()
        from .coach.config import config_path

        return config_path().parent / CALIBRATIONS_FILE

    def _read(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"devices": {}}
        except OSError as e:
            raise SensorbackError(f"cannot read the calibrations file {self.path}: {e.strerror or e}") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("devices", {}), dict):
                raise ValueError("not a JSON object with 'devices'")
        except ValueError as e:
            raise SensorbackError(f"the calibrations file {self.path} is broken ({e}); delete it and calibrate again"
                                  ) from None
        data.setdefault("devices", {})
        return data

    def load(self, *keys: Optional[str]) -> Optional[tuple[Calibration, dict]]:
        """The calibration stored under the first of ``keys`` that has one, with its entry."""
        devices = self._read()["devices"]
        for key in keys:
            if key and key in devices:
                entry = devices[key]
                return calibration_from_dict(entry.get("calibration", {})), entry
        return None

    def save(self, keys, calibration: Calibration, *, device: str = "", how: str = "") -> Path:
        keys = [k for k in dict.fromkeys(keys) if k]
        if not keys:
            raise ValueError("save: no device key")
        data = self._read()
        entry = {"calibration": calibration_to_dict(calibration), "device": device,
                 "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "how": how}
        for k in keys:
            data["devices"][k] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".calibrations-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
                f.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return self.path


def _window_dirs(block: SampleBlock, options: CoreOptions, sensor: SensorCalibration):
    stats, _ = block_stats(block, options, sensor)
    mean, var = sensor.apply_mean_var(stats.mean, stats.var)
    g = unit(mean)
    sd = np.sqrt(var.sum(axis=1))
    mid = (stats.k + 0.5) * options.epoch_s
    return g, sd, mid


def reference_from_windows(block: SampleBlock, options: CoreOptions, upright: tuple[float, float],
                           lean: Optional[tuple[float, float]] = None, *,
                           previous: Optional[Calibration] = None) -> tuple[Calibration, list[str]]:
    """A calibration from marked windows of ``block`` (sample-time seconds).

    upright: where the wearer sat upright and still -> the upright direction (epoch means, the
    core's ``window_direction``). lean: where they leaned forward -> the forward direction
    (``forward_from_window``); without it, the previous calibration's forward direction (made
    perpendicular to the new upright) or, failing that, the core's guess from the tilts in block.
    The sensor's offset/gain come from ``previous`` (identity without one). Problems the user
    can fix (moving, not leaning) are one-line SensorbackErrors.
    """
    sensor = previous.sensor if previous is not None else IDENTITY
    g, sd, mid = _window_dirs(block, options, sensor)
    sel = (mid >= upright[0]) & (mid < upright[1]) & np.isfinite(g[:, 0])
    if not sel.any():
        raise SensorbackError("calibrate: no samples arrived while you sat upright; check the sensor and try again")
    if float(np.median(sd[sel])) > STILL_SD_G:
        raise SensorbackError("calibrate: you were moving while sitting upright; sit still and try again")
    up = window_direction(g, mid, upright)
    notes = [f"upright: {int(sel.sum())} s of sitting upright"]
    if lean is not None:
        lean_dir = window_direction(g, mid, lean)
        if lean_dir is None:
            raise SensorbackError("calibrate: no samples arrived while you leaned forward; try again")
        fwd = forward_from_window(lean_dir, up)
        if fwd is None:
            raise SensorbackError("calibrate: you did not lean forward far enough (less than 8 degrees); "
                                  "lean further from the hips and try again")
        tilt = math.degrees(math.acos(max(-1.0, min(1.0, float(lean_dir @ up)))))
        fwd_source = "calibrated lean"
        notes.append(f"forward: leaning {tilt:.0f} degrees")
    else:
        fwd = None
        if previous is not None:
            f = np.asarray(previous.reference.forward, float)
            f = f - (f @ up) * up
            if np.linalg.norm(f) >= 0.3:
                fwd = unit(f)
                fwd_source = f"kept from before ({previous.reference.forward_source})"
        if fwd is None:
            pool = np.isfinite(g[:, 0]) & (sd < 0.05)
            fwd, fwd_source = estimate_forward(g, up, pool)
        notes.append(f"forward: {fwd_source}")
    ref = Reference(tuple(map(float, up)), tuple(map(float, fwd)), "calibrated upright", fwd_source)
    return Calibration(sensor, ref), notes


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
        from .replay import calibrate as estimate

        block = SampleBlock.concat(self._held)
        cal, notes = estimate(block, self.options)
        self.provisional = True
        self._learning = []
        self._learn_at = float(block.t[-1]) + LEARN_EVERY_S
        self._use_calibration(cal, f"provisional calibration estimated from the first {block.duration_s:.0f} s "
                              "(no stored one for this device), so forward may be mistaken for backward "
                              "and slouches missed until you have sat down or stood up once (it is learned "
                              "from that): for the best accuracy press c while sitting upright, or run "
                              "'sensorback calibrate'")

    def _use_calibration(self, cal: Calibration, note: str) -> None:
        self.calibration = cal
        self.meters.calibration_note = note
        self._emit(LiveEvent("calibration", note, self.meters.arrived_t, cal))
        self._record_calibration(cal, note)
        held, self._held = self._held, []
        for b in held:
            self._process(b)

    def _learn(self) -> None:
        """Look for sit/stand transitions in the epochs so far; once there are some, use the
        forward direction they show (if it differs from the one in use)."""
        self._learn_at += LEARN_EVERY_S
        stats = EpochStats.concat(self._learning)
        if len(stats):
            stats = stats.take(stats.k >= int(stats.k[-1]) - int(LEARN_KEEP_S / self.options.epoch_s))
        self._learning = [stats]
        found = learn_forward(stats, self.options, self.calibration)
        if found is None:
            return
        self._stop_learning()
        cal, count = found
        old = np.asarray(self.calibration.reference.forward, float)
        turn = math.degrees(math.acos(max(-1.0, min(1.0, float(old @ np.asarray(cal.reference.forward))))))
        leaning = f"{count * self.options.epoch_s:g} s of leaning in sit/stand transitions"
        if turn <= LEARN_CHANGE_DEG:
            self._emit(LiveEvent("note", f"forward direction confirmed by {leaning}", self.meters.arrived_t))
            return
        self._change_reference(cal, f"forward direction learned from {leaning} (the guess was {turn:.0f} degrees "
                               "off): slouches count from now; the upright is still estimated, so press c while "
                               "sitting upright, or run 'sensorback calibrate', for the best accuracy")

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
            cal, notes = reference_from_windows(data, self.options, (a, b), previous=self.calibration)
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
        self._stop_learning()
        self._restart(cal, f"calibrated: upright taken from {b - a:.0f} s of sitting, {notes[-1]}{saved}")

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


__all__ = ["CalibrationStore", "LiveEvent", "LiveSession", "Meters", "PROVISIONAL_S", "UPRIGHT_CAPTURE_S",
           "calibration_from_dict", "open_ble_source", "reference_from_windows"]
