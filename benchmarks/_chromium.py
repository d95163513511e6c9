"""Headless Chromium over its DevTools pipe (standard library only): a page laid out at an exact CSS
width, measured, and shot as one full-page PNG.

    with Browser() as b:                                   # Browser.find() is None without Chromium
        shot = b.open(Path("day.html").resolve().as_uri(), width=400)
        Path("day-400px.png").write_bytes(shot.png)
        shot.metrics["scroll_width"], shot.metrics["charts"]

Why not ``chromium --headless --screenshot=... --window-size=400,2000``: headless Chromium lays a
page out at least 500 px wide and then crops the screenshot to 400, so a phone's width cannot be
checked that way. Here the device is emulated (Emulation.setDeviceMetricsOverride, as DevTools'
device mode does; ``mobile`` below 600 px, so the page's viewport meta tag applies) and the page's
layout is read from the page itself.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Optional

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-pipe")

#: What a report page looks like to its reader: the page's own width against the viewport, and
#: each chart that is shown (its box, and the size its 11-unit text is drawn at).
MEASURE_JS = """(() => {
  const root = document.documentElement;
  const charts = [...document.querySelectorAll("svg.chart")]
    .map(s => [s, s.getBoundingClientRect()])
    .filter(([s, r]) => r.width > 0 && r.height > 0)
    .map(([s, r]) => ({kind: (s.getAttribute("class") || "").replace("chart", "").trim(),
                       left: r.left, right: r.right, width: r.width, height: r.height,
                       text_px: 11 * r.width / s.viewBox.baseVal.width}));
  return {viewport: root.clientWidth, scroll_width: root.scrollWidth, height: root.scrollHeight, charts};
})()"""


class ChromiumError(RuntimeError):
    pass


@dataclass
class Shot:
    png: bytes
    metrics: dict


class Browser:
    """One headless Chromium; ``open()`` a page per call. Close it (or use ``with``)."""

    def __init__(self, executable: Optional[str] = None, timeout_s: float = 120.0):
        exe = executable or self.find()
        if exe is None:
            raise ChromiumError("no Chromium found (apt-get install chromium, or set $CHROMIUM)")
        self.timeout_s = timeout_s
        self._dir = tempfile.mkdtemp(prefix="sensorback-chromium-")
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()

        def child_fds() -> None:  # Chromium reads commands on fd 3 and answers on fd 4
            a, b = os.dup(cmd_r), os.dup(out_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={self._dir}"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=False,
                                     preexec_fn=child_fds)
        os.close(cmd_r)
        os.close(out_w)
        self._buf = b""
        self._id = 0
        self._events: list[dict] = []

    @staticmethod
    def find() -> Optional[str]:
        """$CHROMIUM, else the first Chromium or Chrome on PATH."""
        env = os.environ.get("CHROMIUM")
        if env:
            return shutil.which(env) or (env if os.path.exists(env) else None)
        return next((p for p in map(shutil.which, NAMES) if p), None)

    # -- the protocol ------------------------------------------------------------------------
    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChromiumError(f"Chromium did not answer within {self.timeout_s:g} s")
            ready, _, _ = select.select([self._out_r], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self._out_r, 1 << 20)
                if not chunk:
                    raise ChromiumError(f"Chromium exited (code {self.proc.poll()})")
                self._buf += chunk
        message, _, self._buf = self._buf.partition(b"\0")
        return json.loads(message)

    def send(self, method: str, params: Optional[dict] = None, session: Optional[str] = None) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout_s
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_event(self, method: str, session: str) -> dict:
        deadline = time.monotonic() + self.timeout_s
        while True:
            for i, ev in enumerate(self._events):
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return self._events.pop(i)
            self._events.append(self._read(deadline))

    # -- pages -------------------------------------------------------------------------------
    def open(self, url: str, width: int, height: int = 900) -> Shot:
        """Load ``url`` on a device ``width`` CSS px wide; measure it and shoot the whole page."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}, sid)
            self.send("Page.enable", {}, sid)
            self.send("Page.navigate", {"url": url}, sid)
            self.wait_event("Page.loadEventFired", sid)
            got = self.send("Runtime.evaluate", {"expression": MEASURE_JS, "returnByValue": True}, sid)
            metrics = got["result"]["value"]
            clip = {"x": 0, "y": 0, "width": width, "height": max(height, metrics["height"]), "scale": 1}
            data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                        "clip": clip}, sid)["data"]
            return Shot(base64.b64decode(data), metrics)
        finally:
            self.send("Target.closeTarget", {"targetId": target})

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close")
                except (ChromiumError, OSError):
                    pass
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            for fd in (self._cmd_w, self._out_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
