"""DemoSource: the simulated wearer played back as if a sensor were connected.

    source = DemoSource("desk-day", speed=60)
    async for item in source:           # SampleBlock or SourceStatus
        ...
    await source.stop()                 # from anywhere: ends with a "stopped" status

It implements the live Source interface (sources/base.py) without any hardware: it simulates the
scenario (``sensorback.sim.simulate``), then hands the samples over in blocks of about half a
second of sample time (larger when sped up, so a block is never less than ~20 ms of wall time),
each at the wall moment its last sample would have been recorded at ``speed`` times real time.
Sample times are the recording's own (0 at the first sample); ``start_time`` is the moment the
source started, so stored sessions land at today's date.

Statuses: "connecting", then "connected" (with a fake battery level and signal strength), a
"battery"/"signal" note every few minutes of sample time, and "stopped" at the end (the end of
the scenario, or stop()).

``scenario="calibration"`` is not a simulator scenario: a wearer who sits upright and still for
``CAL_UPRIGHT_S`` seconds, then leans forward by ``CAL_LEAN_DEG`` degrees, with the clip mounted
as on the simulated wearer of ``mount_from`` with the same seed (so a demo calibration fits the
demo monitor), for testing and demonstrating ``sensorback calibrate --demo``.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import AsyncIterator, Optional

import numpy as np

from ..errors import SensorbackError
from ..samples import SampleBlock
from .base import SourceItem, SourceStatus

#: Sample seconds per block at live pace.
BLOCK_S = 0.5
#: A block lasts at least this much wall time (at high speeds blocks hold more samples).
MIN_BLOCK_WALL_S = 0.02
#: Sample seconds between fake battery/signal notes.
STATUS_EVERY_S = 300.0
DEMO_ADDRESS = "demo"
#: The scripted calibration wearer: upright and still, then leaning forward, with the clip mounted
#: at a random rotation.
CAL_UPRIGHT_S = 9.0
CAL_LEAN_S = 7.0
CAL_LEAN_DEG = 30.0
CALIBRATION = "calibration"


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3-D rotation matrix (QR of a Gaussian matrix, sign-fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def calibration_recording(seed: int = 0, rate_hz: float = 50.0, upright_s: float = CAL_UPRIGHT_S,
                          lean_s: float = CAL_LEAN_S, lean_deg: float = CAL_LEAN_DEG,
                          mount: Optional[np.ndarray] = None) -> SampleBlock:
    """Samples of a wearer sitting upright, then leaning forward, the clip mounted at ``mount``
    (trunk -> sensor axes; default a random rotation from the seed).
    block.meta["true_up"] / ["true_forward"] are the truth in the sensor's axes."""
    rng = np.random.default_rng(seed)
    rot = random_rotation(rng)
    mount = rot if mount is None else np.asarray(mount, float)
    n = int(round((upright_s + lean_s) * rate_hz))
    t = np.arange(n) / rate_hz
    # Trunk frame: x forward, z up. Lean: a smooth 1.5 s ramp after upright_s.
    ramp = np.clip((t - upright_s) / 1.5, 0.0, 1.0)
    ang = np.radians(lean_deg) * (0.5 - 0.5 * np.cos(np.pi * ramp))
    breathing = 0.01 * np.sin(2 * np.pi * 0.25 * t)
    g_trunk = np.stack([np.sin(ang + breathing), np.zeros(n), np.cos(ang + breathing)], axis=1)
    acc = g_trunk @ mount.T + rng.normal(0.0, 0.004, size=(n, 3))
    up = mount @ np.array([0.0, 0.0, 1.0])
    fwd = mount @ np.array([1.0, 0.0, 0.0])
    return SampleBlock(t=t, acc=acc.astype(np.float32), device="demo", rate_hz=rate_hz,
                       meta={"true_up": up.tolist(), "true_forward": fwd.tolist(), "scenario": CALIBRATION})


class DemoSource:
    """A live Source playing a simulated wearer at ``speed`` times real time (see module doc)."""

    def __init__(self, scenario: str = "demo", speed: float = 1.0, seed: int = 0, *, rate_hz: float = 50.0,
                 block_s: float = BLOCK_S, duration_s: Optional[float] = None, battery_pct: int = 87,
                 rssi_dbm: int = -58, name: Optional[str] = None, mount_from: Optional[str] = "desk-day"):
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not (math.isfinite(speed) and speed > 0):
            raise SensorbackError(f"--speed: must be a positive number (times real time), got {speed!r}")
        if scenario != CALIBRATION:
            from ..sim import SCENARIOS

            if scenario not in SCENARIOS:
                raise SensorbackError(f"demo scenario: unknown '{scenario}' (choose from "
                                      f"{', '.join([*SCENARIOS, CALIBRATION])})")
        self.scenario = scenario
        self.speed = float(speed)
        self.seed = int(seed)
        self.rate_hz = float(rate_hz)
        self.block_s = max(float(block_s), self.speed * MIN_BLOCK_WALL_S)
        self.duration_s = duration_s
        self.battery_pct = int(battery_pct)
        self.rssi_dbm = int(rssi_dbm)
        self.name = name or f"demo-{scenario}"
        self.address = DEMO_ADDRESS
        self.mount_from = mount_from
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
    def _simulate(self, start_time: float) -> SampleBlock:
        if self.scenario == CALIBRATION:
            mount = None
            if self.mount_from:  # the same clip mounting as the simulated wearer of that scenario
                from ..sim import simulate

                sim_block, _ = simulate(self.mount_from, seed=self.seed, rate_hz=self.rate_hz, duration_s=1.0)
                mount = np.asarray(sim_block.meta["sim"]["mount_rotation"], float)
            block = calibration_recording(self.seed, self.rate_hz, mount=mount)
            block.start_time = start_time
            return block
        from ..sim import simulate

        extra = {} if self.duration_s is None else {"duration_s": float(self.duration_s)}
        block, _labels = simulate(self.scenario, seed=self.seed, rate_hz=self.rate_hz, start_time=start_time,
                                  **extra)
        return block

    def _status(self, kind: str, t: Optional[float], detail: str, **values) -> SourceStatus:
        base = {"device": self.name, "address": self.address}
        base.update(values)
        return SourceStatus(kind=kind, detail=detail, t=t, values=base)

    async def _sleep_until(self, due: float) -> None:
        left = due - time.monotonic()
        if left > 0 and not self._stop_requested:
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=left)
            except asyncio.TimeoutError:
                pass

    async def _run(self) -> AsyncIterator[SourceItem]:
        self._stop = asyncio.Event()
        if self._stop_requested:
            self._stop.set()
        yield self._status("connecting", None, f"{self.name}: simulating the '{self.scenario}' wearer")
        start_time = time.time()
        block = await asyncio.to_thread(self._simulate, start_time)
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
        edges = np.searchsorted(t, t0 + self.block_s * np.arange(1, int((t[-1] - t0) / self.block_s) + 2))
        start = 0
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
            yield piece
            if last >= next_note:
                next_note += STATUS_EVERY_S
                battery = max(5.0, battery - 0.5)  # a slow, believable drain
                yield self._status("battery", last, f"battery {battery:.0f} %", battery_pct=int(battery))
                rssi = self.rssi_dbm + int(round(4 * math.sin(last / 900.0)))
                yield self._status("signal", last, f"signal {rssi} dBm", rssi_dbm=rssi)
        yield self._status("stopped", float(block.t[start - 1]) if start else None, f"{self.name} stopped")


__all__ = ["CALIBRATION", "DemoSource", "calibration_recording", "random_rotation"]
