"""What every device profile is made of: errors, GATT steps as data, the profile record, decoders.

A profile says how to talk to one kind of sensor over BLE, without doing any BLE itself:

* which advertisements it is (service UUIDs, local-name patterns),
* which characteristics it uses,
* the ordered GATT steps that start and stop streaming (``GattOp`` values, so a BLE source
  can perform them with any BLE library),
* how to check the device's answers to those steps (``on_response``),
* and a pure, stateful decoder that turns one notification payload into a ``SampleBlock``.

Decoders never see a socket or a clock other than the ``received_at`` they are given, so they
are tested byte for byte (tests/test_devices*.py).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SensorbackError
from ..samples import SampleBlock
from ._clock import HostSampleClock

__all__ = [
    "DecodeError",
    "Decoder",
    "DeviceProfile",
    "DeviceResponseError",
    "GattOp",
    "HostClockDecoder",
    "SettingsError",
    "as_payload",
    "empty_block",
    "full_uuid",
]


class DecodeError(SensorbackError):
    """A notification payload that cannot be decoded: too short, wrong type byte, truncated, ...

    str(err) is "<profile>: <problem>", e.g. ``polar-h10: frame is 7 bytes, the header needs 10``.
    A BLE session counts these and carries on with the next notification.
    """

    def __init__(self, profile: str, problem: str):
        self.profile = profile
        self.problem = problem
        super().__init__(f"{profile}: {problem}")


class SettingsError(SensorbackError, ValueError):
    """Settings a profile cannot honour (unsupported rate or range, unknown setting name)."""

    def __init__(self, profile: str, problem: str):
        self.profile = profile
        self.problem = problem
        super().__init__(f"{profile}: {problem}")


class DeviceResponseError(SensorbackError):
    """The device answered a start/stop step with an error (or an answer we cannot read)."""

    def __init__(self, profile: str, problem: str):
        self.profile = profile
        self.problem = problem
        super().__init__(f"{profile}: {problem}")


def full_uuid(uuid: str) -> str:
    """Lower-case 128-bit form; a 16-bit '180d' / '0x180D' becomes the Bluetooth base UUID form."""
    u = uuid.strip().lower()
    u = u.removeprefix("0x")
    if re.fullmatch(r"[0-9a-f]{4}", u):
        return f"0000{u}-0000-1000-8000-00805f9b34fb"
    if re.fullmatch(r"[0-9a-f]{8}", u):
        return f"{u}-0000-1000-8000-00805f9b34fb"
    if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", u):
        raise ValueError(f"not a UUID: {uuid!r}")
    return u


# The GATT steps a BLE source performs, in order. Plain data: the source maps each kind onto its
# BLE library (bleak, ...). Kinds:
#   "mtu"         ask for an ATT MTU of at least `mtu` bytes (skip if the stack negotiates itself,
#                 but check the result: some devices refuse to stream below it)
#   "subscribe"   enable notifications (or indications when `indicate`) on `char`
#   "unsubscribe" disable them
#   "write"       write `data` to `char` (with response unless `response` is False)
#   "read"        read `char` and hand the value to profile.on_response(op, value)
#   "await"       wait up to `timeout_s` for a notification/indication on `char` whose bytes start
#                 with `data`, and hand it to profile.on_response(op, value)
# on_response returns a dict of decoder settings learned from the device (e.g. the period a
# micro:bit really uses), to pass on to new_decoder(); it raises DeviceResponseError on refusal.
GATT_KINDS = ("mtu", "subscribe", "unsubscribe", "write", "read", "await")


@dataclass(frozen=True)
class GattOp:
    kind: str
    char: str | None = None
    data: bytes = b""
    response: bool = True
    indicate: bool = False
    mtu: int = 0
    timeout_s: float = 0.0
    check: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in GATT_KINDS:
            raise ValueError(f"unknown GATT step kind {self.kind!r}")
        if self.kind != "mtu" and self.char is None:
            raise ValueError(f"GATT step {self.kind!r} needs a characteristic")
        object.__setattr__(self, "data", bytes(self.data))

    def __str__(self) -> str:
        what = {"mtu": f"request MTU >= {self.mtu}"}.get(self.kind, f"{self.kind} {self.char}")
        if self.data:
            what += " " + self.data.hex(" ").upper()
        return what + (f"  ({self.note})" if self.note else "")


def as_payload(profile: str, payload: Any) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, (bytearray, memoryview)):
        return bytes(payload)
    raise DecodeError(profile, f"payload must be bytes, got {type(payload).__name__}")


def check_received_at(received_at: Any) -> float:
    r = float(received_at)
    if not math.isfinite(r):
        raise ValueError(f"received_at must be a finite number of seconds, got {received_at!r}")
    return r


def empty_block(device: str, rate_hz: float, meta: dict) -> SampleBlock:
    return SampleBlock(t=np.empty(0), acc=np.empty((0, 3), dtype=np.float32), device=device,
                       rate_hz=rate_hz, meta=meta)


class Decoder:
    """Base of the stateful per-connection decoders. Subclasses implement _decode.

    decode(payload, received_at) -> SampleBlock (possibly empty) with .t (s) and .acc (g);
    block.meta["clock"] is "device" (t is the device's own clock, in seconds) or "host"
    (t reconstructed on the clock of received_at). Malformed payloads raise DecodeError and
    leave the decoder's state as it was. ``stats`` counts frames, samples, errors and the
    profile's own events (lost frames, resyncs, ...).
    """

    profile_name = "?"
    clock = "host"

    def __init__(self, rate_hz: float):
        self.rate_hz = float(rate_hz)
        self.stats: dict[str, int] = {"frames": 0, "samples": 0, "errors": 0}

    def decode(self, payload, received_at: float) -> SampleBlock:
        r = check_received_at(received_at)
        data = b""
        try:
            data = as_payload(self.profile_name, payload)
            if not data:
                raise DecodeError(self.profile_name, "empty notification (0 bytes)")
            block = self._decode(data, r)
        except DecodeError:
            self.stats["errors"] += 1
            raise
        except (IndexError, KeyError, ValueError, OverflowError, struct.error) as exc:  # pragma: no cover
            # A decoder bug must still surface as a named, countable decode error.
            self.stats["errors"] += 1
            raise DecodeError(self.profile_name, f"cannot decode {len(data)} bytes: {exc}") from exc
        self.stats["frames"] += 1
        self.stats["samples"] += len(block)
        return block

    def _decode(self, data: bytes, received_at: float) -> SampleBlock:  # pragma: no cover
        raise NotImplementedError

    def _block(self, t: np.ndarray, acc: np.ndarray, received_at: float, **meta) -> SampleBlock:
        meta = {"clock": self.clock, "received_at": received_at, **meta}
        return SampleBlock(t=t, acc=acc, device=self.profile_name, rate_hz=self.rate_hz, meta=meta)

    def error(self, problem: str) -> DecodeError:
        return DecodeError(self.profile_name, problem)


class HostClockDecoder(Decoder):
    """A decoder for a sensor without timestamps: t comes from a HostSampleClock (see _clock.py)."""

    clock = "host"

    def __init__(self, rate_hz: float, max_lag_s: float = 0.5):
        super().__init__(rate_hz)
        self.sample_clock = HostSampleClock(rate_hz, max_lag_s=max_lag_s)
        self.stats.update(resyncs=0, pulls=0, clamps=0)

    def _stamp(self, n: int, received_at: float) -> tuple[np.ndarray, str]:
        t, rule = self.sample_clock.stamp(n, received_at)
        c = self.sample_clock
        self.stats.update(resyncs=c.resyncs, pulls=c.pulls, clamps=c.clamps)
        return t, rule


@dataclass(frozen=True)
class DeviceProfile:
    """Everything sensorback knows about one kind of sensor. See sensorback/devices/__init__.py."""

    name: str
    label: str
    service_uuids: tuple[str, ...]          # primary services; advertised ones help recognise it
    advertised_uuids: tuple[str, ...]       # UUIDs seen in its advertisements (may be empty)
    name_patterns: tuple[str, ...]          # regexes matched against the advertised local name
    characteristics: Mapping[str, str]      # role ("data", "control", ...) -> characteristic UUID
    data_char: str                          # the characteristic whose notifications carry samples
    default_rate_hz: float
    default_range_g: float | None
    rates_hz: tuple[float, ...]             # accepted rate settings (empty: any in rate_limits)
    ranges_g: tuple[float, ...]             # accepted range settings (empty: not configurable)
    device_timestamps: bool                 # True: decoded t is on the device clock
    time_rule: str                          # how decode() assigns t, in words
    notes: str                              # firmware note for this sensor (path in the repo)
    min_mtu: int = 23
    rate_limits: tuple[float, float] = (0.0, 0.0)
    extra_settings: Mapping[str, Any] = field(default_factory=dict)  # other settings and defaults
    _decoder: Callable[..., Decoder] | None = None
    _start: Callable[[dict], tuple] | None = None
    _stop: Callable[[dict], tuple] | None = None
    _on_response: Callable[[GattOp, bytes, dict], dict] | None = None

    # -- settings ---------------------------------------------------------------------------
    def settings(self, **settings) -> dict:
        """Validated settings with defaults filled in: rate_hz, range_g and the profile's extras."""
        known = {"rate_hz", "range_g", *self.extra_settings}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise SettingsError(self.name, f"unknown setting(s) {', '.join(unknown)}; "
                                           f"known: {', '.join(sorted(known))}")
        out = {"rate_hz": self.default_rate_hz, "range_g": self.default_range_g}
        out.update(self.extra_settings)
        out.update({k: v for k, v in settings.items() if v is not None})
        try:
            rate = float(out["rate_hz"])
        except (TypeError, ValueError):
            raise SettingsError(self.name, f"rate_hz must be a number, got {out['rate_hz']!r}") from None
        if self.rates_hz:
            if not any(math.isclose(rate, r) for r in self.rates_hz):
                raise SettingsError(self.name, f"rate {rate:g} Hz is not supported; "
                                               f"choose one of {_fmt(self.rates_hz)} Hz")
        else:
            lo, hi = self.rate_limits
            if not (math.isfinite(rate) and lo <= rate <= hi):
                raise SettingsError(self.name, f"rate {rate:g} Hz is out of range {lo:g}..{hi:g} Hz")
        out["rate_hz"] = rate
        rng = out["range_g"]
        if self.ranges_g:
            try:
                rng = float(rng)
            except (TypeError, ValueError):
                raise SettingsError(self.name, f"range_g must be a number, got {rng!r}") from None
            if not any(math.isclose(rng, r) for r in self.ranges_g):
                raise SettingsError(self.name, f"range +-{rng:g} g is not supported; "
                                               f"choose one of {_fmt(self.ranges_g)} g")
            out["range_g"] = rng
        elif rng is not None and (self.default_range_g is None
                                  or not math.isclose(float(rng), self.default_range_g)):
            fixed = "fixed by its firmware" if self.default_range_g is None else f"+-{self.default_range_g:g} g"
            raise SettingsError(self.name, f"the range cannot be set on this device ({fixed})")
        return out

    # -- the public operations --------------------------------------------------------------
    def new_decoder(self, **settings) -> Decoder:
        """A fresh decoder for one connection (settings: rate_hz, range_g, profile extras)."""
        assert self._decoder is not None
        return self._decoder(**self.settings(**settings))

    def start_writes(self, **settings) -> tuple[GattOp, ...]:
        """The ordered GATT steps that make the device stream with these settings."""
        assert self._start is not None
        return tuple(self._start(self.settings(**settings)))

    def stop_writes(self, **settings) -> tuple[GattOp, ...]:
        """The ordered GATT steps that stop streaming. Perform them on every exit path."""
        assert self._stop is not None
        return tuple(self._stop(self.settings(**settings)))

    def on_response(self, op: GattOp, value, **settings) -> dict:
        """Check the value a "read"/"await" step produced; returns decoder settings it implies."""
        data = as_payload(self.name, value)
        if self._on_response is None:
            return {}
        return self._on_response(op, data, self.settings(**settings))

    def matches(self, local_name: str | None = None, service_uuids=()) -> bool:
        """Does an advertisement (local name and/or advertised service UUIDs) look like this device?"""
        uuids = set()
        for u in service_uuids or ():
            try:
                uuids.add(full_uuid(str(u)))
            except ValueError:
                continue
        if uuids & {full_uuid(u) for u in (*self.advertised_uuids, *self.service_uuids)}:
            return True
        if local_name:
            return any(re.search(p, local_name) for p in self.name_patterns)
        return False

    @property
    def uuids(self) -> dict:
        return dict(self.characteristics)

    def describe(self) -> str:
        rates = _fmt(self.rates_hz) if self.rates_hz else f"{self.rate_limits[0]:g}..{self.rate_limits[1]:g}"
        ranges = _fmt(self.ranges_g) if self.ranges_g else "fixed"
        return (f"{self.name}: {self.label}; rates {rates} Hz (default {self.default_rate_hz:g}); "
                f"range {ranges} g; {'device' if self.device_timestamps else 'host'} timestamps")


def _fmt(values) -> str:
    return "/".join(f"{v:g}" for v in values)
