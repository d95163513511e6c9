"""DemoSource: the simulated wearer played back as if a sensor were connected.

    source = DemoSource("desk-day", speed=60)
    async for item in source:           # SampleBlock or SourceStatus
        ...
    await source.stop()                 # from anywhere: ends with a "stopped" status

It implements the live Source interface (sources/base.py) without any hardware: it simulates the
scenario (``sensorback.sim.simulate``), then hands the samples over in blocks of about half a
second of sample time (larger when sped up, so a block is never less than ~20 ms of wall time),
each at the wall moment its last sample would have been recorded at ``speed`` times real time.
Sample times are the recording's own (0 at the first sample); ``start_time`` (when t = 0 is, on
the wall clock: what stored rows are dated by) is ``played_start``: a sped-up demo is dated on the
local day playback began, so that its end falls at the moment it is shown, played to the end
(nothing stored is in the future; a demo stopped early is all in the past), except where that
would reach into the day before or after: then it starts at that day's midnight, or ends at the
next one. At real time, the moment playback began.

Statuses: "connecting", then "connected" (with a fake battery level and signal strength), a
"battery"/"signal" note every few minutes of sample time, and "stopped" at the end (the end of
the scenario, or stop()).

``scenario="calibration"`` plays the simulator's calibration scenario from the moment the wearer
is seated: they sit upright, slouch the way they usually do and stand up, in step with the
guided calibration's steps. The same seed is the same person wearing the same clip the same way
in every scenario, so a demo calibration fits the demo monitor of the same seed
(``sensorback calibrate --demo --seed N``), and is stored under that seed's own address
(``demo_address``), never found for another seed.
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import datetime, timezone, tzinfo
from typing import AsyncIterator, Callable, Optional

import numpy as np

from .. import limits
from ..errors import SensorbackError
from ..localday import day_bounds, to_local
from ..samples import SampleBlock
from .base import SourceItem, SourceStatus

#: Sample seconds per block at live pace.
BLOCK_S = 0.5
#: A block lasts at least this much wall time (at high speeds blocks hold more samples).
MIN_BLOCK_WALL_S = 0.02
#: Sample seconds between fake battery/signal notes.
STATUS_EVERY_S = 300.0
DEMO_ADDRESS = "demo"
CALIBRATION = "calibration"


def played_start(wall_start: float, t_first: float, t_end: float, speed: float,
                 tz: Optional[tzinfo] = None) -> float:
    """The Unix time of t == 0 for samples from ``t_first`` to ``t_end`` (sample time) whose
    playback at ``speed`` times real time began at ``wall_start`` (the first sample shown then).

    Sped up, the data's end is dated at the wall moment it is shown (wall_start + its duration /
    speed): sample time runs ``speed`` times faster than the wall clock, so every earlier sample is
    dated before the moment it is shown, and a demo stopped early stores nothing in the future.
    The dates are made up, so they are kept on one local day (``tz``, default the computer's), the
    day playback began, which 'report' shows as today: a demo begun at 00:05 whose span would start
    the evening before starts at that day's midnight instead (what is past 00:05 is then ahead of
    the clock until it is shown), and one whose end would be shown after midnight ends at midnight;
    a span longer than the day starts at its midnight. At real time and slower, the first sample is
    dated when it is shown, as a sensor's would be (dating the end then would put an early stop's
    samples in the future), across midnight too."""
    duration = float(t_end) - float(t_first)
    start = float(wall_start) + min(0.0, duration / float(speed) - duration)  # of t_first
    if speed > 1:
        day = to_local(datetime.fromtimestamp(float(wall_start), timezone.utc), tz).date()
        midnight, next_midnight = (b.timestamp() for b in day_bounds(day, tz))
        start = max(midnight, min(start, next_midnight - duration))
    return start - float(t_first)


def demo_address(seed: int) -> str:
    """The simulated sensor's address, under which its calibrations are stored: "demo" for seed 0,
    "demo-seed3" for seed 3. Each seed is another person wearing the clip another way (and another
    sensor's offset and gain), so one seed's calibration must not be found for another's."""
    return DEMO_ADDRESS if seed == 0 else f"{DEMO_ADDRESS}-seed{seed}"


def calibration_recording(seed: int = 0, rate_hz: float = 50.0, usual_slouch_deg: Optional[float] = None,
                          ideal: bool = False) -> SampleBlock:
    """The simulated wearer of ``seed`` going through the guided calibration, from the moment they
    are seated (t = 0 there): upright, slouch as usual, stand up and stand still
    (sensorback.sim scenario "calibration"). usual_slouch_deg: how far they slouch (default: the
    person's own); ideal: no sensor errors.
    block.meta["true_up"] / ["true_forward"]: upright sitting and forward in the sensor's axes;
    ["windows"]: the guided steps' windows on this block's time axis."""
    from ..sim import simulate
    from ..sim.scenarios import GUIDED_SETTLE_S

    extra = {} if usual_slouch_deg is None else {"usual_slouch_deg": float(usual_slouch_deg)}
    block, _ = simulate(CALIBRATION, seed=seed, rate_hz=rate_hz, ideal_sensor=ideal, **extra)
    sim = block.meta["sim"]
    windows = sim["calibration_windows"]
    i0 = int(np.searchsorted(block.t, windows["upright"][0] - GUIDED_SETTLE_S["upright"]))
    mount = np.asarray(sim["mount_rotation"], float)
    up = np.asarray(sim["gravity_sensor"]["sitting_upright"], float)
    fwd = -(mount @ np.array([1.0, 0.0, 0.0]))
    fwd = fwd - (fwd @ up) * up
    t0 = float(block.t[i0])
    out = SampleBlock(block.t[i0:] - t0, block.acc[i0:], device="demo", rate_hz=rate_hz,
                      meta={"true_up": up.tolist(), "true_forward": (fwd / np.linalg.norm(fwd)).tolist(),
                            "scenario": CALIBRATION, "usual_slouch_deg": sim["usual_slouch_deg"],
                            "windows": {k: [a - t0, b - t0] for k, (a, b) in windows.items()}})
    return out


class DemoSource:
    """A live Source playing a simulated wearer at ``speed`` times real time (see module doc).
    ``wall_clock`` (Unix time now) and ``tz`` (None: the computer's zone) are what its data is dated
    by (played_start), given so that a test can begin a demo at 00:05 on a chosen day."""

    def __init__(self, scenario: str = "demo", speed: float = 1.0, seed: int = 0, *, rate_hz: float = 50.0,
                 block_s: float = BLOCK_S, duration_s: Optional[float] = None, battery_pct: int = 87,
                 rssi_dbm: int = -58, name: Optional[str] = None, mount_from: Optional[str] = "desk-day",
                 wall_clock: Callable[[], float] = time.time, tz: Optional[tzinfo] = None):
        problem = limits.speed_problem(speed)
        if problem:
            raise SensorbackError(f"--speed: {problem}, got {speed!r}")
        from ..sim import SCENARIOS, check_seed

        if scenario not in SCENARIOS:
            raise SensorbackError(f"--scenario: unknown scenario '{scenario}'; choose one of: {', '.join(SCENARIOS)}")
        self.scenario = scenario
        self.speed = float(speed)
        self.seed = check_seed(seed, "--seed")
        self.rate_hz = float(rate_hz)
        self.block_s = max(float(block_s), self.speed * MIN_BLOCK_WALL_S)
        self.duration_s = duration_s
        self.battery_pct = int(battery_pct)
        self.rssi_dbm = int(rssi_dbm)
        self.address = demo_address(self.seed)
        self.name = name or self.address.replace(DEMO_ADDRESS, f"demo-{scenario}", 1)  # demo-desk-day-seed3
        self.key = self.address  # stored calibrations of the demo wearer go under this name
        self.mount_from = mount_from  # kept for callers; the seed alone decides the mounting
        self.wall_clock = wall_clock  # Unix time now: what played_start dates the playback by
        self.tz = tz  # the local day's zone for played_start (None: the computer's)
        self._stop: Optional[asyncio.Event] = None  # created in the running loop
        self._stop_requested = False
        self._started = False
        self.samples_sent = 0

    # The Source interface ------------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[SourceItem]:
        if self._started:
            raise RuntimeError("a DemoSource can be iterated only once")
        self._started = True
        return self._run()

    async def stop(self) -> None:
        """Ask the playback to end: a final "stopped" status follows at once."""
        self._stop_requested = True
        if self._stop is not None:
            self._stop.set()

    # ---------------------------------------------------------------------------------------
    def _simulate(self) -> SampleBlock:
        """The scenario's samples (their start_time is set by _run, when playback begins)."""
        if self.scenario == CALIBRATION:
            return calibration_recording(self.seed, self.rate_hz)
        from ..sim import simulate

        extra = {} if self.duration_s is None else {"duration_s": float(self.duration_s)}
        block, _labels = simulate(self.scenario, seed=self.seed, rate_hz=self.rate_hz, **extra)
        return block

    def _status(self, kind: str, t: Optional[float], detail: str, **values) -> SourceStatus:
        base = {"device": self.name, "address": self.address}
        base.update(values)
        return SourceStatus(kind=kind, detail=detail, t=t, values=base)

    async def _sleep_until(self, due: float) -> None:
        """Wait until ``due`` (time.monotonic()) or a stop. Behind the pace (a loaded machine, the
        dashboard drawing), the loop still gets a turn, as FileSource gives it: without one, a stop
        asked meanwhile (q, SIGTERM, a closed terminal: handled on the loop) waited until the whole
        demo had played."""
        left = due - time.monotonic()
        if left > 0 and not self._stop_requested:
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=left)
            except asyncio.TimeoutError:
                pass
        else:
            await asyncio.sleep(0)

    async def _run(self) -> AsyncIterator[SourceItem]:
        self._stop = asyncio.Event()
        if self._stop_requested:
            self._stop.set()
        yield self._status("connecting", None, f"{self.name}: simulating the '{self.scenario}' wearer")
        block = await asyncio.to_thread(self._simulate)
        n = len(block)
        if n == 0 or self._stop_requested:
            yield self._status("stopped", None, f"{self.name} stopped")
            return
        t = block.t
        t0 = float(t[0])
        yield self._status("connected", t0,
                           f"{self.name} connected (simulated wearer, {self.rate_hz:g} Hz, "
                           f"{self.speed:g}x real time), battery {self.battery_pct} %, signal {self.rssi_dbm} dBm",
                           battery_pct=self.battery_pct, rssi_dbm=self.rssi_dbm, rate_hz=self.rate_hz)
        wall0 = time.monotonic()
        block.start_time = played_start(self.wall_clock(), t0, float(t[-1]) + 1.0 / self.rate_hz, self.speed,
                                        self.tz)
        edges = np.searchsorted(t, t0 + self.block_s * np.arange(1, int((t[-1] - t0) / self.block_s) + 2))
        start = 0
        sent_t: Optional[float] = None  # the last sample sent: where a stop finds the playback
        next_note = t0 + STATUS_EVERY_S
        battery = float(self.battery_pct)
        for stop in edges.tolist():
            if self._stop_requested:
                break
            stop = min(stop, n)
            if stop <= start:
                continue
            piece = block.slice(start, stop)
            start = stop
            last = float(piece.t[-1])
            await self._sleep_until(wall0 + (last - t0) / self.speed)
            if self._stop_requested:
                break
            self.samples_sent += len(piece)
            sent_t = last
            yield piece
            if last >= next_note:
                next_note += STATUS_EVERY_S
                battery = max(5.0, battery - 0.5)  # a slow, believable drain
                yield self._status("battery", last, f"battery {battery:.0f} %", battery_pct=int(battery))
                rssi = self.rssi_dbm + int(round(4 * math.sin(last / 900.0)))
                yield self._status("signal", last, f"signal {rssi} dBm", rssi_dbm=rssi)
        yield self._status("stopped", sent_t, f"{self.name} stopped")


__all__ = ["CALIBRATION", "DemoSource", "calibration_recording", "played_start"]
