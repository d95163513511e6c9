"""What bleak, D-Bus or the OS raise when this machine has no usable Bluetooth, in one line.

Shared by the BLE source (which stops instead of retrying forever) and ``sensorback scan``.
"""

from __future__ import annotations

from ..errors import SensorbackError

NO_BLUETOOTH_HINT = ("is there a Bluetooth adapter, is it switched on (bluetoothctl power on), and is "
                     "BlueZ running (systemctl status bluetooth)?")


def bluetooth_error(exc: BaseException) -> SensorbackError:
    """A one-line SensorbackError for what bleak/D-Bus/the OS raised while using Bluetooth."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    dbus_type = getattr(exc, "type", None) or getattr(exc, "dbus_error", None)
    if isinstance(dbus_type, str) and dbus_type not in text:
        text = f"{dbus_type}: {text}"
    if "ServiceUnknown" in text and "org.bluez" in text:
        text = "BlueZ (org.bluez) is not running on the system D-Bus"
    elif isinstance(exc, FileNotFoundError) or "org.freedesktop.DBus" in text or "No such file" in text:
        text = "cannot reach BlueZ over the system D-Bus"
    elif isinstance(exc, PermissionError) or "AccessDenied" in text or "NotPermitted" in text:
        text = f"permission denied ({text})"
    return SensorbackError(f"Bluetooth is not available: {text}; {NO_BLUETOOTH_HINT}")
