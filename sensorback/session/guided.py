"""``sensorback calibrate``: the guided calibration, read from a live source.

    cal, notes, name, address = await guided_calibration(source, print)
    done = await guided(source, print, calibrations=CalibrationStore())   # + done.save(...)

The wearer is told what to do, step by step (sit upright, slouch as usual, stand up); the steps'
windows of samples go to the core (sensorback.core.personal.from_windows), which works out the
upright and forward directions and the usual slouch whatever way the clip is mounted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..core import Calibration, CoreOptions, block_stats, from_windows
from ..core.calibration import IDENTITY, SensorCalibration
from ..errors import SensorbackError
from ..samples import SampleBlock
from ..sources.base import SourceStatus


@dataclass(frozen=True)
class GuidedStep:
    """One step of ``sensorback calibrate``: what the wearer is told, for how long (seconds of
    samples), and how much of its start is the wearer moving into it (not used). seated: the
    wearer sits in it (else stands), which a live session tells its core (Runner.tell_seated)."""

    name: str
    seconds: float
    settle_s: float
    say: str
    seated: bool = True


#: The guided calibration: the steps in order (the stand step is optional). The windows the core
#: gets are each step's seconds after its settling.
GUIDED_STEPS = (
    GuidedStep("upright", 10.0, 2.0, "sit upright and still, looking ahead"),
    GuidedStep("slouch", 10.0, 3.0, "now slouch the way you usually do, and hold it"),
    GuidedStep("stand", 10.0, 4.0, "now stand up and stand still", seated=False),
)


def step_ends(steps) -> np.ndarray:
    """Seconds from the first sample to the end of each step."""
    return np.cumsum([st.seconds for st in steps])


def step_windows(steps, t0: float) -> dict[str, tuple[float, float]]:
    """Each step's window of samples (sample time) when the first sample came at t0: its seconds
    after its settling."""
    ends = step_ends(steps)
    starts = ends - np.array([st.seconds for st in steps])
    return {st.name: (t0 + float(a) + st.settle_s, t0 + float(b)) for st, a, b in zip(steps, starts, ends)}


def step_say(steps, i: int) -> str:
    """What the wearer is told at the start of step i: '2/3  now slouch ... (10 s)'."""
    return f"{i + 1}/{len(steps)}  {steps[i].say} ({steps[i].seconds:g} s)"


async def guided_calibration(source, say, *, stand: bool = True, options: Optional[CoreOptions] = None,
                             previous: Optional[Calibration] = None, steps=GUIDED_STEPS,
                             sensor: Optional[SensorCalibration] = None):
    """Guide the wearer through the steps, collect their samples from a live source and compute
    the calibration (sensorback.core.personal.from_windows).

    say(text) tells the wearer what to do. stand=False leaves out the stand step. sensor: the
    sensor's offset and gain (default: the previous calibration's, else none; half a minute is
    too little to fit them: a live session learns them). Returns (calibration, notes, device
    name, address). The source is stopped at the end.
    """
    options = options or CoreOptions()
    steps = [st for st in steps if stand or st.name != "stand"]
    ends = step_ends(steps)
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
                say(step_say(steps, step))
            if now >= len(steps):
                break
    finally:
        await source.stop()
    if t0 is None or float(blocks[-1].t[-1]) - t0 < ends[-1]:
        raise SensorbackError("calibrate: the sensor stopped sending before the calibration was done; try again")
    data = SampleBlock.concat(blocks)
    windows = step_windows(steps, t0)
    if sensor is None:
        sensor = previous.sensor if previous is not None else IDENTITY
    stats, _ = block_stats(data, options, sensor)
    cal, notes = from_windows(stats, options, windows["upright"], windows.get("slouch"), windows.get("stand"),
                              previous=previous, sensor=sensor)
    return cal, notes, name, address


@dataclass(frozen=True)
class Guided:
    """A guided calibration done: the calibration, the notes on how it was found, and the names
    of the sensor it is for (asked for as ``key``; its ``name`` and ``address`` as it said them)."""

    calibration: Calibration
    notes: list[str]
    key: Optional[str]
    name: Optional[str]
    address: Optional[str]

    @property
    def keys(self) -> list[str]:
        """The names it is stored under; the first is the one to tell the user."""
        return [k for k in (self.key, self.address, self.name) if k]

    @property
    def device(self) -> str:
        return self.name or self.key or ""

    def save(self, calibrations) -> Path:
        """Into a CalibrationStore, under every key; returns the calibrations file."""
        return calibrations.save(self.keys, self.calibration, device=self.device, how="sensorback calibrate")


async def guided(source, say: Callable[[str], object], *, calibrations, stand: bool = True) -> Guided:
    """The guided calibration from ``source`` for the sensor it opens (``source.key``); that
    sensor's stored calibration, if any, lends its sensor offset and gain, or else the ones a
    live session learned for it (CalibrationStore.save_sensor)."""
    key = getattr(source, "key", None)
    previous = sensor = None
    try:
        found = calibrations.load(key) if key else None
        previous = found[0] if found else None
        learned = calibrations.load_sensor(key) if key and previous is None else None
        sensor = learned[0] if learned else None
    except SensorbackError:
        previous = sensor = None
    cal, notes, name, address = await guided_calibration(source, say, stand=stand, previous=previous, sensor=sensor)
    return Guided(cal, notes, key, name, address)


__all__ = ["GUIDED_STEPS", "Guided", "GuidedStep", "guided", "guided_calibration", "step_ends", "step_say",
           "step_windows"]
