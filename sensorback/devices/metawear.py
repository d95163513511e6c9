"""MbientLab MetaWear / MetaMotion (Bosch BMI160: MetaMotionR/RL/C, MetaWear RG/RPro; BMI270:
MetaMotionS) streaming the accelerometer over the MetaWear command protocol.

Sources (checked):
* mbientlab/MetaWear-SDK-Cpp: service 326A9000-85CB-9195-D9DD-464CFBBAE75A, commands written to
  326A9001-..., everything the board sends notified on 326A9006-...; accelerometer module 0x03
  (src/metawear/sensor/cpp/accelerometer_bosch_register.h: POWER_MODE 1, DATA_INTERRUPT_ENABLE 2,
  DATA_CONFIG 3, DATA_INTERRUPT 4, PACKED_ACC_DATA 0x1C).
* test/test_accelerometer_bmi160.py: config [03 03 odr range] (ODR 25 Hz 0x26, 50 Hz 0x27,
  100 Hz 0x28, 200 Hz 0x29; range 8 g 0x08, 16 g 0x0c, default 2 g 0x03), enable sampling
  [03 02 01 00], disable [03 02 00 01], subscribe data [03 04 01] / packed [03 1c 01], and the
  decoded notifications used in our tests.
* test/test_accelerometer_bmi270.py: BMI270 config (ODR 25 Hz 0xA6 ... 200 Hz 0xA9; range byte
  0..3 for 2/4/8/16 g) and packed data on register 0x05.
* test/test_accelerometer.py: range 16 g -> 0x0c; generic start/stop of sampling.
* Bosch BMI160 datasheet, ACC_RANGE: 0b0011 2 g, 0b0101 4 g, 0b1000 8 g, 0b1100 16 g.
* counts per g: 16384 / 8192 / 4096 / 2048 at +-2/4/8/16 g (checked against the SDK's expected
  values for the published frames).
* POWER_MODE register 1 starts (0x01) and stops (0x00) the accelerometer.

Vendor-published frames in the tests: ``03 04 16 c4 94 a2 2a d0`` at +-4 g -> (-1.872, -2.919,
-1.495) g and the packed ``03 1c 62 b7 ...`` (BMI160) / ``03 05 62 b7 ...`` (BMI270) at +-8 g ->
three samples, from test_accelerometer_bmi160.py / test_accelerometer_bmi270.py.

Time rule: streamed accelerometer data carries no timestamps (the SDK stamps on arrival). t is
reconstructed on the host clock by HostSampleClock: a packed notification holds 3 consecutive
samples (oldest first), a plain one 1; 1/rate per sample, never after arrival, pulled forward
when more than max_lag_s behind, restarted after a silent gap.
"""

from __future__ import annotations

import numpy as np

from ..timefmt import count
from ._base import DeviceProfile, GattOp, HostClockDecoder, SettingsError

NAME = "metawear"
SERVICE = "326a9000-85cb-9195-d9dd-464cfbbae75a"
COMMAND = "326a9001-85cb-9195-d9dd-464cfbbae75a"
NOTIFY = "326a9006-85cb-9195-d9dd-464cfbbae75a"

MODULE_ACC = 0x03
REG_POWER, REG_INT_ENABLE, REG_CONFIG, REG_DATA = 0x01, 0x02, 0x03, 0x04
REG_PACKED = {"bmi160": 0x1C, "bmi270": 0x05}
COUNTS_PER_G = {2.0: 16384.0, 4.0: 8192.0, 8.0: 4096.0, 16.0: 2048.0}
ODR = {"bmi160": {12.5: 0x25, 25.0: 0x26, 50.0: 0x27, 100.0: 0x28, 200.0: 0x29},
       "bmi270": {12.5: 0xA5, 25.0: 0xA6, 50.0: 0xA7, 100.0: 0xA8, 200.0: 0xA9}}
RANGE_BYTE = {"bmi160": {2.0: 0x03, 4.0: 0x05, 8.0: 0x08, 16.0: 0x0C},
              "bmi270": {2.0: 0x00, 4.0: 0x01, 8.0: 0x02, 16.0: 0x03}}
READ_BIT = 0x80


def _chip(s: dict) -> str:
    chip = str(s.get("chip", "bmi160")).lower()
    if chip not in REG_PACKED:
        raise SettingsError(NAME, f"chip {chip!r} is not one of {', '.join(REG_PACKED)}")
    return chip


class MetaWearDecoder(HostClockDecoder):
    profile_name = NAME

    def __init__(self, rate_hz: float, range_g: float, chip: str = "bmi160", packed: bool = True,
                 max_lag_s: float = 0.5):
        super().__init__(rate_hz, max_lag_s)
        self.range_g = float(range_g)
        self.counts_per_g = COUNTS_PER_G[self.range_g]
        self.chip = chip

    def _decode(self, data: bytes, received_at: float):
        if len(data) < 2:
            raise self.error(f"notification is {len(data)} bytes, needs at least 2 (module, register)")
        module, register = data[0], data[1]
        if module != MODULE_ACC:
            raise self.error(f"notification from module 0x{module:02X}, not the accelerometer (0x03)")
        if register == REG_DATA:
            expect, n = 8, 1
        elif register in REG_PACKED.values():
            expect, n = 20, 3
        else:
            kind = "a read response" if register & READ_BIT else "not acceleration data"
            raise self.error(f"accelerometer register 0x{register:02X} is {kind} "
                             "(data: 0x04, packed: 0x1C or 0x05)")
        if len(data) != expect:
            raise self.error(f"register 0x{register:02X} notification is {len(data)} bytes, "
                             f"expected {expect} ({count(n, 'x/y/z int16 sample')})")
        counts = np.frombuffer(data, dtype="<i2", offset=2).reshape(n, 3)
        acc = counts.astype(np.float32) / np.float32(self.counts_per_g)
        t, rule = self._stamp(n, received_at)
        return self._block(t, acc, received_at, time_rule=rule, register=register)


def config_command(chip: str, rate_hz: float, range_g: float) -> bytes:
    odr = ODR[chip].get(float(rate_hz))
    if odr is None:
        raise SettingsError(NAME, f"rate {rate_hz:g} Hz has no {chip} ODR code; choose one of "
                                  f"{'/'.join(f'{r:g}' for r in ODR[chip])} Hz")
    return bytes([MODULE_ACC, REG_CONFIG, odr, RANGE_BYTE[chip][float(range_g)]])


def _start(s: dict) -> tuple:
    chip = _chip(s)
    data_reg = REG_PACKED[chip] if s["packed"] else REG_DATA
    return (
        GattOp("write", COMMAND, config_command(chip, s["rate_hz"], s["range_g"]),
               note=f"{chip} config: {s['rate_hz']:g} Hz, +-{s['range_g']:g} g"),
        GattOp("subscribe", NOTIFY),
        GattOp("write", COMMAND, bytes([MODULE_ACC, data_reg, 0x01]),
               note="route accelerometer data to notifications" + (" (packed, 3 per)" if s["packed"] else "")),
        GattOp("write", COMMAND, bytes([MODULE_ACC, REG_INT_ENABLE, 0x01, 0x00]), note="enable sampling"),
        GattOp("write", COMMAND, bytes([MODULE_ACC, REG_POWER, 0x01]), note="start the accelerometer"),
    )


def _stop(s: dict) -> tuple:
    chip = _chip(s)
    data_reg = REG_PACKED[chip] if s["packed"] else REG_DATA
    return (
        GattOp("write", COMMAND, bytes([MODULE_ACC, REG_POWER, 0x00]), note="stop the accelerometer"),
        GattOp("write", COMMAND, bytes([MODULE_ACC, REG_INT_ENABLE, 0x00, 0x01]), note="disable sampling"),
        GattOp("write", COMMAND, bytes([MODULE_ACC, data_reg, 0x00]), note="unroute data"),
        GattOp("unsubscribe", NOTIFY),
    )


def _decoder(rate_hz, range_g, chip, packed, max_lag_s):
    return MetaWearDecoder(rate_hz, range_g, chip=_chip({"chip": chip}), packed=bool(packed),
                           max_lag_s=max_lag_s)


PROFILE = DeviceProfile(
    name=NAME,
    label="MbientLab MetaWear / MetaMotion (BMI160 or BMI270 accelerometer)",
    service_uuids=(SERVICE,),
    advertised_uuids=(SERVICE,),
    name_patterns=(r"^MetaWear", r"^MetaMotion", r"^MMS\b", r"^MMRL?\b", r"^MMC\b"),
    characteristics={"service": SERVICE, "command": COMMAND, "data": NOTIFY},
    data_char=NOTIFY,
    default_rate_hz=50.0,
    default_range_g=4.0,
    rates_hz=(12.5, 25.0, 50.0, 100.0, 200.0),
    ranges_g=(2.0, 4.0, 8.0, 16.0),
    device_timestamps=False,
    time_rule="host clock: running 1/rate sample clock, 3 samples per packed notification "
              "(HostSampleClock)",
    notes="firmware_notes/metawear.md",
    extra_settings={"chip": "bmi160", "packed": True, "max_lag_s": 0.5},
    _decoder=_decoder,
    _start=_start,
    _stop=_stop,
)
