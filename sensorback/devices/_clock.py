"""Sample times for devices: host-clock reconstruction and device-to-host clock mapping.

HostSampleClock — for sensors that send no timestamps (micro:bit, Thingy:52, MetaWear streaming,
WitMotion). BLE delivers notifications late and in bursts (several at once after a busy
connection event), loses some, and the sensor's crystal is not exactly the nominal rate. The
clock keeps a running sample time that advances by 1/rate per sample and looks at the arrival
time (received_at) only to keep itself honest:

1. First notification: its last sample is stamped at received_at, earlier ones 1/rate apart
   before it.
2. Then each sample is stamped 1/rate after the previous one (bursts change nothing).
3. Ahead: a sample cannot have been taken after it arrived. If a notification's last sample
   would land after received_at, the notification is moved earlier so that it ends at
   received_at, but never at or before an already issued stamp: if the samples do not fit at
   nominal spacing they share the interval (last issued, received_at] evenly ("clamp" /
   "squeeze"). This tracks the smallest delivery latency seen, and absorbs a sensor that runs
   faster than nominal.
4. Behind: if the last sample would land more than max_lag_s before received_at (lost
   notifications, a sensor slower than nominal, a long stall), the clock is pulled forward just
   enough that it ends max_lag_s before received_at ("pull"). Pulling only to the edge of the
   window, not all the way to the arrival time, leaves room for the rest of a burst that
   arrives together after a stall.
5. Gap: if it would land more than gap_s (5 s) before received_at, the sensor was silent (paused,
   reconnected): the clock restarts as in rule 1 ("resync").

Stamps are strictly increasing whatever the arrival times do. The cost of tolerating bursts:
after lost samples the timeline can be up to max_lag_s (0.5 s) early, until a gap restarts it.
Devices that timestamp their samples (Polar H10, sensorback-diy) do not have this limit.

DeviceClockMap — for sensors that stamp samples themselves (Polar H10, sensorback-diy): maps
the device clock onto the host clock as host = device + offset, with offset the smallest
(received_at - device time of the frame's last sample) seen so far, so that the mapping follows
the fastest delivery. Mapped times never go backwards; when the device clock itself goes back
(a Polar H10 that shut down resets its clock), the offset is estimated afresh.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DeviceClockMap", "HostSampleClock"]

EPS = 1e-6   # s: "after the arrival time" means later than this (float rounding is not lateness)


class HostSampleClock:
    def __init__(self, rate_hz: float, max_lag_s: float = 0.5, min_step_frac: float = 0.01,
                 gap_s: float = 5.0):
        if not rate_hz > 0:
            raise ValueError("rate_hz must be positive")
        self.dt = 1.0 / float(rate_hz)
        self.max_lag_s = float(max_lag_s)
        self.gap_s = max(float(gap_s), self.max_lag_s)
        self.min_step = self.dt * float(min_step_frac)
        self.last: float | None = None   # stamp of the last sample issued
        self.resyncs = 0
        self.pulls = 0
        self.clamps = 0

    def reset(self) -> None:
        self.last = None

    def peek(self, n: int, received_at: float) -> tuple[np.ndarray, str]:
        """The stamps stamp() would give, and which rule placed them; does not change state."""
        dt = self.dt
        k = np.arange(n, dtype=np.float64)
        if n == 0:
            return np.empty(0), "none"
        if self.last is None:
            return received_at - (n - 1 - k) * dt, "first"
        first = self.last + dt
        end = first + (n - 1) * dt
        lag = received_at - end
        if lag > self.gap_s:
            return received_at - (n - 1 - k) * dt, "resync"
        if lag > self.max_lag_s:
            return first + (lag - self.max_lag_s) + k * dt, "pull"
        if end <= received_at + EPS:
            return first + k * dt, "nominal"
        # Ahead of the arrival time: end at received_at, but stay after the last stamp.
        start = received_at - (n - 1) * dt
        if start >= self.last + self.min_step:
            return start + k * dt, "clamp"
        room = received_at - self.last
        step = room / n if room > 0 else 0.0
        step = max(step, self.min_step)
        return self.last + (k + 1) * step, "squeeze"

    def stamp(self, n: int, received_at: float) -> tuple[np.ndarray, str]:
        t, rule = self.peek(n, received_at)
        if n:
            self.last = float(t[-1])
            if rule == "resync":
                self.resyncs += 1
            elif rule == "pull":
                self.pulls += 1
            elif rule in ("clamp", "squeeze"):
                self.clamps += 1
        return t, rule


class DeviceClockMap:
    def __init__(self):
        self.offset: float | None = None
        self.last: float | None = None          # last host time issued
        self.last_device: float | None = None   # last device time seen
        self.reanchors = 0

    def reset(self) -> None:
        self.offset = None
        self.last = None
        self.last_device = None

    def map(self, device_t: np.ndarray, received_at: float) -> np.ndarray:
        """Host-clock times for the device times of one frame (received at received_at)."""
        device_t = np.asarray(device_t, dtype=np.float64)
        if device_t.size == 0:
            return device_t.copy()
        candidate = received_at - float(device_t[-1])
        if self.last_device is not None and device_t[0] < self.last_device:
            # The device clock went back (reset, or set by another app): start the offset again.
            self.offset = None
            self.reanchors += 1
        if self.offset is None or candidate < self.offset:
            self.offset = candidate
        self.last_device = float(device_t[-1])
        host = device_t + self.offset
        if self.last is not None and host[0] <= self.last:
            # The offset estimate dropped (a faster delivery was seen): never go backwards.
            host = np.maximum(host, self.last + 1e-6 * (np.arange(host.size) + 1))
        self.last = float(host[-1])
        return host
