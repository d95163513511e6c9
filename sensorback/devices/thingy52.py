"""Nordic Thingy:52 (stock firmware v2.x) through the Thingy Motion Service raw-data characteristic.

Sources (checked):
* NordicSemiconductor/Nordic-Thingy52-FW, include/ble_services/ble_tms.h: motion service 0x0400
  on base EF68xxxx-9B35-4933-9B10-52FFA9740042; ble_tms_raw_t = accel, gyro, compass, each three
  int16 (18 bytes); ble_tms_config_t = pedo_interval_ms u16, temp_interval_ms u16,
  compass_interval_ms u16, motion_freq_hz u16, wake_on_motion u8 (9 bytes, packed, LE).
* same repo, source/modules/m_motion.c: raw values are 16Q16 shifted right by the integer bits,
  accelerometer 6 integer bits -> Q6.10, i.e. g = value / 1024; a config write whose length is not
  sizeof(ble_tms_config_t) fails an APP_ERROR_CHECK_BOOL (the Thingy resets), so the config is
  always written whole; enabling/disabling raw notifications starts/stops the raw data feature.
* include/modules/m_motion.h: MOTION_DEFAULT_CONFIG = 1000 ms, 500 ms, 500 ms, 10 Hz, wake on 1.
* Thingy firmware documentation (ble_tms.h reference): motion processing frequency 5..200 Hz.
* Characteristic UUIDs from ble_tms.c: config 0x0401, raw data 0x0406.

No vendor-published raw-data notification with decoded values was found. The tests use the
three accelerometer words a user posted from a Thingy lying on a table in Nordic DevZone thread
47415 ("FAFF F4FF F603"), padded with zero gyro/compass words — a real capture, but not a
vendor test vector — and frames built from the layout.

Time rule: no timestamps. t is reconstructed on the host clock by HostSampleClock at
motion_freq_hz (see _clock.py): 1/rate per sample, never later than arrival, pulled forward
when more than max_lag_s behind, restarted after a silent gap.
"""

from __future__ import annotations

import struct

import numpy as np

from ._base import DeviceProfile, GattOp, HostClockDecoder

NAME = "thingy52"


def _uuid(short: int) -> str:
    return f"ef68{short:04x}-9b35-4933-9b10-52ffa9740042"


SERVICE = _uuid(0x0400)
CONFIG = _uuid(0x0401)
RAW = _uuid(0x0406)
CONFIG_SERVICE = _uuid(0x0100)   # Thingy configuration service, in its advertisements
RAW_LEN = 18
Q10 = 1024.0
DEFAULT_CONFIG = {"pedo_interval_ms": 1000, "temp_interval_ms": 500, "compass_interval_ms": 500,
                  "wake_on_motion": 1}


def config_bytes(motion_freq_hz: int, pedo_interval_ms: int = 1000, temp_interval_ms: int = 500,
                 compass_interval_ms: int = 500, wake_on_motion: int = 1) -> bytes:
    """The whole 9-byte ble_tms_config_t (a shorter write resets the Thingy)."""
    return struct.pack("<HHHHB", pedo_interval_ms, temp_interval_ms, compass_interval_ms,
                       int(motion_freq_hz), wake_on_motion)


class ThingyDecoder(HostClockDecoder):
    profile_name = NAME

    def __init__(self, rate_hz: float, range_g=None, max_lag_s: float = 0.5):
        super().__init__(rate_hz, max_lag_s)

    def _decode(self, data: bytes, received_at: float):
        if len(data) != RAW_LEN:
            raise self.error(f"raw motion data is {len(data)} bytes, expected {RAW_LEN} "
                             "(accel, gyro, compass as 3 x int16 each)")
        ax, ay, az = struct.unpack_from("<3h", data, 0)
        acc = np.array([[ax, ay, az]], dtype=np.float32) / np.float32(Q10)
        t, rule = self._stamp(1, received_at)
        return self._block(t, acc, received_at, time_rule=rule)


def _start(s: dict) -> tuple:
    hz = round(s["rate_hz"])   # motion_freq_hz is a whole number of Hz
    return (
        GattOp("write", CONFIG, config_bytes(hz),
               note=f"motion config, whole 9 bytes (firmware defaults, motion frequency {hz} Hz)"),
        GattOp("subscribe", RAW, note="enabling raw notifications starts the raw data feature"),
    )


def _stop(s: dict) -> tuple:
    return (GattOp("unsubscribe", RAW, note="disabling raw notifications stops the raw data feature"),)


PROFILE = DeviceProfile(
    name=NAME,
    label="Nordic Thingy:52 (motion service, raw data)",
    service_uuids=(SERVICE,),
    advertised_uuids=(CONFIG_SERVICE,),
    name_patterns=(r"^Thingy",),
    characteristics={"service": SERVICE, "config": CONFIG, "data": RAW},
    data_char=RAW,
    default_rate_hz=50.0,
    default_range_g=None,
    rates_hz=(),
    rate_limits=(5.0, 200.0),
    ranges_g=(),
    device_timestamps=False,
    time_rule="host clock: running 1/rate sample clock at motion_freq_hz (HostSampleClock)",
    notes="firmware_notes/thingy52.md",
    extra_settings={"max_lag_s": 0.5},
    _decoder=lambda rate_hz, range_g, max_lag_s: ThingyDecoder(float(round(rate_hz)), range_g, max_lag_s),
    _start=_start,
    _stop=_stop,
)
