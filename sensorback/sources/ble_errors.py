"""What bleak, D-Bus or the OS raise while using Bluetooth: the one place that tells the kinds
apart and words them in one line.

``trouble(exc)`` sorts an exception into

- ``NO_BLUETOOTH``: this machine cannot do Bluetooth now (no adapter, adapter off, no BlueZ or no
  system D-Bus, permission denied). Retrying will not help; say so and suggest ``--demo``.
- ``LINK``: the sensor or the link (out of range, disconnected, a time-out, a GATT error). The
  sensor may come back: a live source retries.
- ``None``: not a Bluetooth error at all (a bug keeps its traceback).

It looks at types first: bleak >= 2 raises ``BleakBluetoothNotAvailableError`` with a typed
``reason`` when the adapter is missing, off or denied, ``BleakDBusError`` carries the D-Bus error
name, dbus_fast's ``DBusError`` its ``type``, and the OS its ``OSError`` subclass. Messages are
matched only as a last resort, for errors raised without a type that says it (older bleak
versions, other backends). Used by the BLE source, ``sensorback scan`` and ``sensorback monitor``.
"""

from __future__ import annotations

from typing import Optional

from ..errors import OSProblem, SensorbackError, one_line

NO_BLUETOOTH = "no-bluetooth"
LINK = "link"

NO_BLUETOOTH_HINT = ("is there a Bluetooth adapter, is it switched on (bluetoothctl power on), and is "
                     "BlueZ running (systemctl status bluetooth)?")

_DBUS_SERVICE_UNKNOWN = "org.freedesktop.DBus.Error.ServiceUnknown"
#: Last resort: words in messages of errors whose type does not say that Bluetooth is missing.
_NO_BLUETOOTH_WORDS = ("BluetoothNotAvailable", "No Bluetooth adapters", "org.freedesktop.DBus.Error")


def _bleak_exc():
    try:
        from bleak import exc
    except ImportError:  # pragma: no cover - bleak is a dependency
        return None
    return exc


def _dbus_errors():
    try:
        from dbus_fast import errors
    except ImportError:  # not on Linux
        return None
    return errors


def error_types() -> tuple[type[BaseException], ...]:
    """The exception types Bluetooth work can raise (for an ``except`` around a scan)."""
    types: list[type[BaseException]] = [OSError, EOFError, TimeoutError]
    bleak_exc = _bleak_exc()
    if bleak_exc is not None:
        types.append(bleak_exc.BleakError)  # BleakBluetoothNotAvailableError, BleakDBusError are BleakErrors
    dbus = _dbus_errors()
    if dbus is not None:
        types += [dbus.DBusError, dbus.AuthError]
    return tuple(types)


def dbus_name(exc: BaseException) -> Optional[str]:
    """The D-Bus error name of bleak's BleakDBusError or dbus_fast's DBusError, else None."""
    bleak_exc, dbus = _bleak_exc(), _dbus_errors()
    if bleak_exc is not None and isinstance(exc, bleak_exc.BleakDBusError):
        return exc.dbus_error
    if dbus is not None and isinstance(exc, dbus.DBusError):
        return getattr(exc.type, "value", exc.type)  # an ErrorType or a str
    return None


#: D-Bus errors that say the bus or BlueZ cannot be used (others, such as a method call that got
#: no reply in time, are the link's).
_DBUS_TRANSIENT = ("org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Timeout",
                   "org.freedesktop.DBus.Error.TimedOut")


def trouble(exc: BaseException) -> Optional[str]:
    """NO_BLUETOOTH, LINK or None (see the module docstring)."""
    bleak_exc, dbus = _bleak_exc(), _dbus_errors()
    if bleak_exc is not None and isinstance(exc, bleak_exc.BleakBluetoothNotAvailableError):
        return NO_BLUETOOTH
    if dbus is not None and isinstance(exc, dbus.AuthError):
        return NO_BLUETOOTH
    if isinstance(exc, (FileNotFoundError, PermissionError)):  # no system D-Bus socket, or not allowed
        return NO_BLUETOOTH
    name = dbus_name(exc)
    if name is not None:  # the bus answered: no such service (BlueZ not running), access denied, ...
        cannot = name.startswith("org.freedesktop.DBus.Error.") and name not in _DBUS_TRANSIENT
        return NO_BLUETOOTH if cannot else LINK
    module = type(exc).__module__ or ""
    if not (module.startswith(("bleak", "dbus_fast", "bumble"))
            or isinstance(exc, (TimeoutError, OSError, EOFError, ConnectionError))):
        return None
    text = f"{type(exc).__name__} {exc}"  # last resort: errors whose type does not say it
    if any(word in text for word in _NO_BLUETOOTH_WORDS) or ("ServiceUnknown" in text and "org.bluez" in text):
        return NO_BLUETOOTH
    return LINK


def describe(exc: BaseException) -> str:
    """The exception in one line, with what it means where its type says so."""
    bleak_exc, dbus = _bleak_exc(), _dbus_errors()
    if bleak_exc is not None and isinstance(exc, bleak_exc.BleakBluetoothNotAvailableError) and exc.args:
        return one_line(exc.args[0])  # its str() is the tuple (message, reason)
    text = one_line(exc) or type(exc).__name__
    name = dbus_name(exc)
    if name is not None and name not in text:
        text = f"{name}: {text}"
    if (name == _DBUS_SERVICE_UNKNOWN or "ServiceUnknown" in text) and "org.bluez" in text:
        return "BlueZ (org.bluez) is not running on the system D-Bus"
    if isinstance(exc, FileNotFoundError) or "org.freedesktop.DBus" in text or "No such file" in text:
        return "cannot reach BlueZ over the system D-Bus"
    if (isinstance(exc, PermissionError) or (dbus is not None and isinstance(exc, dbus.AuthError))
            or "AccessDenied" in text or "NotPermitted" in text):
        return f"permission denied ({text})"
    return text


#: What to do, by bleak's reason why Bluetooth is not available (NO_BLUETOOTH_HINT otherwise).
_HINTS = {
    "NO_BLUETOOTH": "is there a Bluetooth adapter (built in, or a USB dongle)?",
    "NO_BLE_CENTRAL_ROLE": "this adapter cannot connect to Bluetooth LE sensors; use one that can (Bluetooth 4.0 "
                           "or newer)",
    "POWERED_OFF": "switch the adapter on (bluetoothctl power on)",
    "DENIED_BY_USER": "allow this program to use Bluetooth in the system's privacy settings",
    "DENIED_BY_SYSTEM": "the system does not let this user use Bluetooth (on Linux: BlueZ's D-Bus policy, the "
                        "'bluetooth' group)",
    "DENIED_BY_UNKNOWN": "allow this program to use Bluetooth",
}


def hint(exc: BaseException) -> str:
    """What to try, from bleak's typed reason when there is one."""
    bleak_exc = _bleak_exc()
    typed = bleak_exc is not None and isinstance(exc, bleak_exc.BleakBluetoothNotAvailableError)
    reason = exc.reason if typed and len(exc.args) > 1 else None
    return _HINTS.get(getattr(reason, "name", None), NO_BLUETOOTH_HINT)


def bluetooth_error(exc: BaseException) -> SensorbackError:
    """A one-line error for what bleak/D-Bus/the OS raised while using Bluetooth: the machine's
    Bluetooth, not the command line, so exit 1, like a full disk (README)."""
    return OSProblem(f"Bluetooth is not available: {describe(exc)}; {hint(exc)}")


def link_error(exc: BaseException) -> str:
    """A link problem for a status line: 'BleakError: Device disconnected'."""
    text = one_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def user_error(exc: BaseException, without_sensor: str) -> Optional[SensorbackError]:
    """A Bluetooth failure that ended a command, as one line (None when ``exc`` is not one):
    what was wrong, and what to do without a sensor."""
    kind = trouble(exc)
    if kind is None:
        return None
    if kind == NO_BLUETOOTH:
        return OSProblem(f"{bluetooth_error(exc)} {without_sensor}")
    return OSProblem(f"Bluetooth: {describe(exc)}; {without_sensor}")
