"""``sensorback scan``: list the supported BLE sensors nearby.

Importing this module registers the command on the main typer ``app`` (app.py does that with one
import line). Bluetooth problems (no adapter, adapter off, no BlueZ/D-Bus, permissions) become one
line: ``error: Bluetooth is not available: ...``.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..errors import SensorbackError
from ._app import app

#: Extra keyword arguments for BleakScanner (tests point it at a virtual radio).
SCANNER_KWARGS: dict = {}

async def _scan(timeout_s: float):
    from ..sources.ble import scan_sensors

    return await scan_sensors(timeout_s, SCANNER_KWARGS)


def run_scan(timeout_s: float):
    """The sensors found, or a one-line SensorbackError when Bluetooth cannot be used."""
    import asyncio

    from ..sources.ble_errors import bluetooth_error, error_types

    try:
        return asyncio.run(_scan(timeout_s))
    except SensorbackError:
        raise
    except error_types() as exc:
        raise bluetooth_error(exc) from None


@app.command(
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback scan\n"
        "  sensorback scan --timeout 15\n\n"
        "Lists sensors whose advertisement a device profile recognises (Polar H10, BBC micro:bit, "
        "Nordic Thingy:52, MetaWear, WitMotion, sensorback-diy), strongest signal first. Put the "
        "sensor on (an H10 wakes when its strap electrodes touch moist skin) and keep it near."
    )
)
def scan(
    timeout: Annotated[
        Optional[float],
        typer.Option("--timeout", metavar="S", help="Seconds to listen for advertisements. Default: 5."),
    ] = None,
) -> None:
    """List nearby supported BLE sensors: profile, name, address, signal strength."""
    timeout_s = 5.0 if timeout is None else timeout
    if not (0 < timeout_s <= 600):
        raise SensorbackError(f"--timeout: must be more than 0 and at most 600 seconds, got {timeout_s:g}")
    found = run_scan(timeout_s)
    if not found:
        typer.echo(f"no supported sensors found in {timeout_s:g} s. Hints: wake the sensor (wear the H10 "
                   "strap with moist electrodes, press a micro:bit's reset), make sure no phone app is "
                   "connected to it (a connected sensor stops advertising), move closer, or scan longer "
                   "with --timeout 15.")
        return
    rows = [(f.profile, f.name or "(no name)", f.address, "?" if f.rssi is None else f"{f.rssi} dBm") for f in found]
    head = ("PROFILE", "NAME", "ADDRESS", "SIGNAL")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
