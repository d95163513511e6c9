"""Device profiles: how each supported BLE motion sensor is found, started, stopped and decoded.

    from sensorback.devices import get_profile
    profile = get_profile("polar-h10")            # microbit, polar-h10, thingy52, metawear,
                                                  # witmotion, sensorback-diy
    ops = profile.start_writes(rate_hz=50, range_g=4)   # GattOp steps, in order
    dec = profile.new_decoder(rate_hz=50, range_g=4)
    block = dec.decode(payload, received_at)       # SampleBlock: .t (s), .acc (n x 3, g)
    ...
    profile.stop_writes()                          # perform on every exit path

A profile carries: name, label, service_uuids / advertised_uuids / name_patterns (and
matches(local_name, uuids)) to recognise it, characteristics (role -> UUID) and data_char,
start_writes()/stop_writes() as data (GattOp), on_response() to check what the device answers
to "read"/"await" steps (returns decoder settings such as the rate a micro:bit really uses, or
the PMD factor), default_rate_hz / default_range_g / rates_hz / ranges_g, min_mtu,
device_timestamps and time_rule (how decode() assigns t), and notes (the firmware note).

Decoders are pure and stateful (one per connection). Malformed payloads raise DecodeError
("<profile>: <problem>") without changing the decoder's state; the BLE session counts them and
carries on. Blocks say in meta["clock"] whether t is on the device clock ("device": Polar, DIY —
map it to the session with DeviceClockMap or your own) or reconstructed on the clock of
received_at ("host": everything else, see HostSampleClock).
"""

from __future__ import annotations

from . import diy, metawear, microbit, polar_h10, thingy52, witmotion
from ._base import (
    DecodeError,
    Decoder,
    DeviceProfile,
    DeviceResponseError,
    GattOp,
    SettingsError,
    full_uuid,
)
from ._clock import DeviceClockMap, HostSampleClock

__all__ = [
    "PROFILES",
    "DecodeError",
    "Decoder",
    "DeviceClockMap",
    "DeviceProfile",
    "DeviceResponseError",
    "GattOp",
    "HostSampleClock",
    "SettingsError",
    "find_profile",
    "full_uuid",
    "get_profile",
    "profile_names",
]

PROFILES: dict[str, DeviceProfile] = {
    p.name: p for p in (microbit.PROFILE, polar_h10.PROFILE, thingy52.PROFILE, metawear.PROFILE,
                        witmotion.PROFILE, diy.PROFILE)
}


def profile_names() -> tuple[str, ...]:
    return tuple(PROFILES)


def get_profile(name: str, option: str = "profile") -> DeviceProfile:
    """The profile called `name` (case-insensitive; '_' and ' ' count as '-'); otherwise a
    SettingsError naming the known profiles, under ``option`` (``--profile`` on the command line)."""
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    aliases = {"polar": "polar-h10", "h10": "polar-h10", "thingy": "thingy52", "thingy-52": "thingy52",
               "micro:bit": "microbit", "micro-bit": "microbit", "metamotion": "metawear",
               "wt901": "witmotion", "diy": "sensorback-diy"}
    key = aliases.get(key, key)
    try:
        return PROFILES[key]
    except KeyError:
        raise SettingsError(option, f"unknown device profile {name!r}; choose one of: "
                                    f"{', '.join(PROFILES)}") from None


def find_profile(local_name: str | None = None, service_uuids=()) -> DeviceProfile | None:
    """The first profile whose advertisement pattern matches, or None."""
    for p in PROFILES.values():
        if p.matches(local_name, service_uuids):
            return p
    return None
