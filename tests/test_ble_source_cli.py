"""'sensorback scan': listing through bleak's real BleakScanner on the virtual radio, and one-line
errors when Bluetooth cannot be used (this machine and CI have no adapter and no BlueZ)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from typer.testing import CliRunner

from sensorback.ble.testing import VirtualPeripheral, VirtualRadio, VirtualScannerBackend
from sensorback.ble.testing.microbit import MicrobitAccelerometer
from sensorback.ble.testing.polar import PolarH10
from sensorback.cli import app
from sensorback.cli import ble_cmds
from sensorback.sources.ble import scan_sensors
from cli_checks import one_line_error
from conftest import DEADLINE_S

runner = CliRunner()
#: 'sensorback scan' listens for --timeout seconds, and these tests want every peripheral on the air
#: heard: a few seconds, 150 of the virtual peripherals' 20 ms advertising intervals.
SCAN_WINDOW_S = 3


def virtual_scan(*peripherals, heard: set):
    """The command's scan, on a virtual radio with `peripherals`; the addresses its BleakScanner
    reported (supported sensor or not) are added to `heard`."""

    async def scan(timeout_s):
        async with VirtualRadio() as radio:
            for p in peripherals:
                await radio.add_peripheral(p)
            return await scan_sensors(timeout_s, {"backend": VirtualScannerBackend, "radio": radio,
                                                  "detection_callback": lambda d, _adv: heard.add(d.address)})

    return scan


def test_scan_lists_supported_sensors_strongest_first(monkeypatch):
    other = VirtualPeripheral("Kitchen scale", "F0:00:00:00:0D:01", service_uuids=["181D"], rssi=-30)
    heard: set = set()
    monkeypatch.setattr(ble_cmds, "_scan", virtual_scan(
        MicrobitAccelerometer(np.zeros((1, 3)), name="BBC micro:bit [gipov]", rssi=-71),
        PolarH10(np.zeros((1, 3)), name="Polar H10 0A1B2C3D", rssi=-55),
        other, heard=heard))
    result = runner.invoke(app, ["scan", "--timeout", str(SCAN_WINDOW_S)])
    assert result.exit_code == 0, result.output
    assert heard == {"F0:0B:17:00:00:01", "F0:9A:10:00:00:01", "F0:00:00:00:0D:01"}
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PROFILE", "NAME", "ADDRESS", "SIGNAL"]
    assert lines[1].split() == ["polar-h10", "Polar", "H10", "0A1B2C3D", "F0:9A:10:00:00:01", "-55", "dBm"]
    assert lines[2].split() == ["microbit", "BBC", "micro:bit", "[gipov]", "F0:0B:17:00:00:01", "-71", "dBm"]
    assert len(lines) == 3  # the scale, heard, is not a supported sensor


def test_scan_finds_nothing(monkeypatch):
    heard: set = set()
    monkeypatch.setattr(ble_cmds, "_scan", virtual_scan(VirtualPeripheral("Kitchen scale", "F0:00:00:00:0D:01"),
                                                        heard=heard))
    result = runner.invoke(app, ["scan", "--timeout", str(SCAN_WINDOW_S)])
    assert result.exit_code == 0
    assert heard == {"F0:00:00:00:0D:01"}  # something was on the air: none of it a supported sensor
    assert result.stdout.startswith(f"no supported sensors found in {SCAN_WINDOW_S} s. Hints:")
    assert len(result.stdout.strip().splitlines()) == 1


def _raiser(exc):
    async def scan(timeout_s):
        raise exc

    return scan


def _errors():
    from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakError
    from dbus_fast.errors import DBusError

    return [
        (BleakBluetoothNotAvailableError("No Bluetooth adapters found.", None), "No Bluetooth adapters found"),
        (BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"]), "NotReady"),
        (BleakError("Bluetooth adapter is powered off"), "powered off"),
        (DBusError("org.freedesktop.DBus.Error.ServiceUnknown", "The name org.bluez was not provided"),
         "BlueZ (org.bluez) is not running"),
        (FileNotFoundError(2, "No such file or directory"), "cannot reach BlueZ"),
        (PermissionError(13, "Permission denied"), "permission denied"),
    ]


@pytest.mark.parametrize("index", range(6))
def test_bluetooth_errors_are_one_line(monkeypatch, index):
    exc, fragment = _errors()[index]
    monkeypatch.setattr(ble_cmds, "_scan", _raiser(exc))
    one_line_error(runner.invoke(app, ["scan"]), "Bluetooth is not available", fragment, "bluetoothctl", code=1)


@pytest.mark.skipif(os.path.exists("/run/dbus/system_bus_socket") or os.path.exists("/var/run/dbus/system_bus_socket"),
                    reason="this machine has a system D-Bus (maybe Bluetooth): a real scan would run")
def test_scan_on_a_machine_without_bluetooth():
    one_line_error(runner.invoke(app, ["scan", "--timeout", "0.5"]), "Bluetooth is not available", code=1)


def test_scan_timeout_is_checked():
    one_line_error(runner.invoke(app, ["scan", "--timeout", "0"]), "--timeout: must be more than 0 and at most 600 seconds, got 0")
    one_line_error(runner.invoke(app, ["scan", "--timeout", "nan"]), "--timeout")


def test_no_bluetooth_at_all_is_one_fatal_error_not_endless_retries():
    """A machine without Bluetooth (no D-Bus socket) must not retry forever like a lost sensor."""
    import asyncio

    from sensorback.sources.ble import BleSource, BleSourceError, BluetoothUnavailable

    class NoDBusScanner:
        def __init__(self, *a, **k):
            raise FileNotFoundError(2, "No such file or directory")

    async def run():
        src = BleSource(scanner_kwargs={"backend": NoDBusScanner}, backoff_s=(0.01, 0.02))
        kinds = []
        try:
            async for item in src:
                kinds.append(getattr(item, "kind", "samples"))
        except BleSourceError as e:
            assert isinstance(e, BluetoothUnavailable) and e.exit_code == 1
            return kinds, str(e)
        return kinds, None

    kinds, message = asyncio.run(asyncio.wait_for(run(), DEADLINE_S))
    assert message is not None, kinds
    # what is wrong, in one line; the command adds its own '--demo' (tests/test_live.py)
    assert "Bluetooth is not available" in message and "\n" not in message
    assert "reconnecting" not in kinds


def test_bluetooth_errors_are_told_apart_by_type():
    """Typed errors first (bleak's reason, the D-Bus error name, the OS error), messages last."""
    from bleak.exc import (BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakDBusError,
                           BleakError)
    from dbus_fast.errors import DBusError

    from sensorback.sources.ble_errors import LINK, NO_BLUETOOTH, bluetooth_error, trouble

    off = BleakBluetoothNotAvailableError("No powered Bluetooth adapters found.",
                                          BleakBluetoothNotAvailableReason.POWERED_OFF)
    cases = [
        (off, NO_BLUETOOTH),
        (BleakBluetoothNotAvailableError("x", BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM), NO_BLUETOOTH),
        (DBusError("org.freedesktop.DBus.Error.ServiceUnknown", "The name org.bluez was not provided"), NO_BLUETOOTH),
        (BleakDBusError("org.freedesktop.DBus.Error.AccessDenied", ["no"]), NO_BLUETOOTH),
        (FileNotFoundError(2, "No such file or directory"), NO_BLUETOOTH),
        (BleakDBusError("org.freedesktop.DBus.Error.NoReply", ["Did not receive a reply"]), LINK),
        (BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"]), LINK),
        (BleakError("Device with address AA:BB was not found."), LINK),
        (TimeoutError(), LINK),
        (ValueError("a bug"), None),
        (KeyError("x"), None),
    ]
    for exc, kind in cases:
        assert trouble(exc) == kind, exc
    message = str(bluetooth_error(off))
    assert message == ("Bluetooth is not available: No powered Bluetooth adapters found.; switch the adapter on "
                       "(bluetoothctl power on)")
