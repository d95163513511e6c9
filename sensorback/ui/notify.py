"""Desktop notifications for break prompts and slouch nudges, never fatal.

Uses the optional ``desktop-notifier`` package. When it is not installed, or there is no
notification service (no D-Bus session bus on a server or in a container), or sending fails or
hangs, it falls back to the terminal bell for good and says so once, through ``on_note``: at once
when that is known from the start, else at the failed send. ``SENSORBACK_NOTIFY=0`` turns desktop
notifications off (bell only, nothing said: the user chose it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Callable, Optional

SEND_TIMEOUT_S = 3.0
ENV_VAR = "SENSORBACK_NOTIFY"


class _Failures(logging.Handler):
    """desktop-notifier logs a failed send (with a traceback) instead of raising: count such
    records and keep them off the terminal."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.count += 1
            exc = record.exc_info[1] if record.exc_info else None
            self.last = type(exc).__name__ if exc is not None else record.getMessage()


def no_session_bus() -> bool:
    """On Linux, desktop notifications go over the D-Bus session bus: is there none?"""
    if not sys.platform.startswith("linux"):
        return False
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    return not Path(f"/run/user/{os.getuid()}/bus").exists()


def _default_bell() -> None:
    stream = sys.stderr
    try:
        if stream.isatty():
            stream.write("\a")
            stream.flush()
    except (OSError, ValueError):
        pass


class Notifier:
    """``await notifier.notify(title, message)``: a desktop notification, or the bell.

    bell: what ringing the bell means here (the TUI passes App.bell; plain mode writes BEL to
    stderr when it is a terminal). on_note: told once, in one line, why the bell is used instead.
    """

    def __init__(self, bell: Optional[Callable[[], None]] = None, on_note: Optional[Callable[[str], None]] = None,
                 enabled: Optional[bool] = None):
        self.bell = bell or _default_bell
        self.on_note = on_note
        if enabled is None:
            enabled = os.environ.get(ENV_VAR, "1").strip().lower() not in ("0", "no", "off", "false")
        self._desktop = None
        self.mode = "bell"
        self.sent = 0
        self.rung = 0
        self.reason = "desktop notifications are off" if not enabled else ""
        self._failures = _Failures()
        self._told = False
        if enabled and no_session_bus():
            self.reason = "no D-Bus session bus"
        elif enabled:
            try:
                from desktop_notifier import DesktopNotifier  # optional dependency
            except ImportError:
                self.reason = "desktop-notifier is not installed: pip install 'sensorback[notify]'"
            else:
                try:
                    self._desktop = DesktopNotifier(app_name="sensorback")
                    self.mode = "desktop"
                    logger = logging.getLogger("desktop_notifier")
                    logger.addHandler(self._failures)
                    logger.propagate = False
                except Exception as e:  # noqa: BLE001 - any failure means: use the bell
                    self.reason = f"no notification service ({type(e).__name__})"
        if enabled and self.mode == "bell":
            self._tell()

    def _tell(self) -> None:
        """Say, once, why prompts and nudges ring the bell instead."""
        if self._told or self.on_note is None:
            return
        self._told = True
        self.on_note(f"desktop notifications unavailable ({self.reason}); prompts and nudges ring the terminal "
                     "bell instead")

    def _fall_back(self, why: str) -> None:
        self._desktop = None
        self.mode = "bell"
        self.reason = why
        self._tell()

    async def notify(self, title: str, message: str) -> str:
        """Send one notification; returns "desktop" or "bell" (what was used)."""
        if self._desktop is not None:
            try:
                before = self._failures.count
                await asyncio.wait_for(self._desktop.send(title=title, message=message), SEND_TIMEOUT_S)
                if self._failures.count == before:
                    self.sent += 1
                    return "desktop"
                self._fall_back(f"sending failed: {self._failures.last}")
            except asyncio.TimeoutError:
                self._fall_back("the notification service did not answer")
            except Exception as e:  # noqa: BLE001 - no D-Bus, no service, platform quirks
                self._fall_back(f"{type(e).__name__}: {' '.join(str(e).split())[:80]}" if str(e) else type(e).__name__)
        try:
            self.bell()
        except Exception:  # noqa: BLE001 - a bell must never crash the monitor
            pass
        self.rung += 1
        return "bell"


__all__ = ["Notifier"]
