"""Sources of samples: BLE sensors, the simulated wearer, recording files.

Every source is an async iterator of SourceItem: SampleBlocks (timestamped on the session's own
sample-time axis, seconds from the session start) interleaved with SourceStatus notes
(connected, disconnected, reconnecting, battery, signal). The pipeline downstream (core ->
coach -> store/UI) never looks at wall-clock time; only a source knows how its samples relate
to the real world, and it says so through the blocks' timestamps and `gap_until` notes.

``open_source(...)`` is the one place a command chooses its source; each kind is imported only
when it is chosen (bleak and the simulator are heavy).
"""

from __future__ import annotations

import os
from typing import Optional

from ..errors import SensorbackError
from .base import Source, SourceItem, SourceStatus


def open_source(*, file: Optional[str | os.PathLike] = None, demo: bool = False, device: Optional[str] = None,
                profile: Optional[str] = None, speed: Optional[float] = None, scenario: Optional[str] = None,
                seed: int = 0, rate_hz: Optional[float] = None):
    """The source a command asked for:

    - ``file``: a recording (sources.files.FileSource), handed over at ``speed`` times real time
      (None: as fast as possible); ``rate_hz`` for CSV without a time column;
    - ``demo``: the simulated wearer of ``scenario`` and ``seed`` (sources.demo.DemoSource) at
      ``speed`` times real time (default 1); a ``device`` or ``profile`` with it is refused;
    - otherwise a Bluetooth sensor (sources.ble.BleSource): ``device`` (address or name; None: the
      first supported one found), ``profile`` (None: detected). A sensor sends at its own pace.

    Each source has ``key``: the name a stored calibration is found under before the sensor
    says its own ("demo", the --device given, None for a file). One-line SensorbackErrors for
    what cannot be opened.
    """
    if file is not None:
        from .files import FileSource

        return FileSource(file, speed=speed, rate_hz=rate_hz)
    if demo:
        for option, value in (("--device", device), ("--profile", profile)):
            if value is not None:
                raise SensorbackError(f"{option}: cannot be combined with --demo (the demo plays a simulated sensor)")
        from .demo import DemoSource

        extra = {} if scenario is None else {"scenario": scenario}
        return DemoSource(speed=1.0 if speed is None else speed, seed=seed, **extra)
    if speed not in (None, 1.0):
        raise SensorbackError("--speed: only with --demo (a sensor sends at its own pace)")
    return _ble_source(device, profile)


def _ble_source(device: Optional[str], profile):
    """The BLE source for --device/--profile, imported only now; a one-line error when BLE
    support is missing (then try --demo)."""
    if profile is not None:  # a mistyped --profile is the user's, whether or not BLE works here
        from ..devices import get_profile

        profile = get_profile(profile, "--profile")
    try:
        from .ble import BleSource
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


__all__ = ["Source", "SourceItem", "SourceStatus", "open_source"]
