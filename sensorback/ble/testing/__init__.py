"""Virtual BLE for tests and demos: bumble's virtual controllers behind bleak (needs the `test` extra).

    from sensorback.ble.testing import VirtualRadio, VirtualScannerBackend, VirtualClientBackend
    from sensorback.ble.testing.microbit import MicrobitAccelerometer

See docs/ble-testing.md for the recipe and its limits.
"""

from .bleak_backend import VirtualClientBackend, VirtualDeviceDetails, VirtualScannerBackend, advertisement_data
from .virtual import (
    CONNECTION_TIMEOUT,
    REMOTE_USER_TERMINATED,
    StrictCharacteristic,
    VirtualCentral,
    VirtualPeripheral,
    VirtualRadio,
)

__all__ = [
    "CONNECTION_TIMEOUT",
    "REMOTE_USER_TERMINATED",
    "StrictCharacteristic",
    "VirtualCentral",
    "VirtualClientBackend",
    "VirtualDeviceDetails",
    "VirtualPeripheral",
    "VirtualRadio",
    "VirtualScannerBackend",
    "advertisement_data",
]
