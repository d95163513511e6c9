"""Bluetooth LE for sensorback.

`sensorback.ble.testing` holds the test tooling: a virtual BLE radio (bumble) and bleak backends
running on it, so that BLE code is tested through bleak's real BleakScanner/BleakClient without any
Bluetooth hardware. It needs the `test` extra (bumble); see docs/ble-testing.md.
"""
