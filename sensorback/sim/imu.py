"""A cheap BLE accelerometer: calibration errors, noise, quantisation, clock and packet losses.

A classifier that only works on an ideal signal is useless on a real clip, so the simulator
applies the errors such sensors actually have and reports their true values in the metadata.

Measurement model: a = C @ f + offset + noise, quantised to the ADC step and clipped to the range,
with f the specific force in sensor axes and C = diag(gain) @ (I + cross_axis).
Timing model: the sensor's crystal runs drift_ppm fast or slow, so samples are really taken every
1 / (rate * (1 + drift)) s of true time; the host stamps them with a few ms of jitter; packets of
several samples are lost in bursts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chunked import rows_matmul


@dataclass
class Imu:
    offset_g: np.ndarray       # (3,) zero-g offset per axis
    gain: np.ndarray           # (3,) sensitivity per axis (1 = perfect)
    cross_axis: np.ndarray     # (3, 3) misalignment, zero diagonal
    noise_g: np.ndarray        # (3,) white noise RMS per axis
    bits: int                  # ADC resolution
    range_g: float             # full scale +-range_g
    drift_ppm: float           # sample clock error
    jitter_s: float            # RMS timestamp jitter
    packet_samples: int        # samples per BLE notification
    drop_fraction: float       # target fraction of samples lost in dropped packets

    @property
    def matrix(self) -> np.ndarray:
        """C in a = C @ f + offset: gain times (identity + cross-axis)."""
        return np.diag(self.gain) @ (np.eye(3) + self.cross_axis)

    @property
    def lsb_g(self) -> float:
        return 2.0 * self.range_g / 2**self.bits if self.bits else 0.0

    @classmethod
    def draw(cls, rng: np.random.Generator, rate_hz: float) -> "Imu":
        sign = lambda k: rng.choice([-1.0, 1.0], size=k)  # noqa: E731
        cross = rng.normal(0.0, 0.008, size=(3, 3))
        np.fill_diagonal(cross, 0.0)
        bits = int(rng.choice([12, 14, 16]))
        return cls(
            offset_g=sign(3) * rng.uniform(0.03, 0.08, size=3),
            gain=1.0 + sign(3) * rng.uniform(0.02, 0.05, size=3),
            cross_axis=cross,
            noise_g=rng.uniform(0.005, 0.01) * rng.uniform(0.85, 1.15, size=3),
            bits=bits,
            range_g=float(rng.choice([2.0, 4.0, 8.0], p=[0.2, 0.5, 0.3])),
            drift_ppm=float(rng.choice([-1.0, 1.0]) * rng.uniform(20.0, 80.0)),
            jitter_s=float(rng.uniform(0.001, 0.004)),
            packet_samples=max(1, int(round(rate_hz * rng.uniform(0.04, 0.1)))),
            drop_fraction=float(rng.uniform(0.005, 0.02)),
        )

    @classmethod
    def ideal(cls, rate_hz: float) -> "Imu":
        """A perfect sensor (for checking the wearer model on its own)."""
        z = np.zeros(3)
        return cls(z, np.ones(3), np.zeros((3, 3)), z.copy(), 0, 16.0, 0.0, 0.0, 1, 0.0)

    # ---------------------------------------------------------------------------- timing
    def true_rate(self, rate_hz: float) -> float:
        """How often the sensor really samples: its nominal rate with the clock's error."""
        return rate_hz * (1.0 + self.drift_ppm * 1e-6)

    def sample_count(self, duration_s: float, rate_hz: float) -> int:
        """How many samples it takes from 0 up to (not including) duration_s; sample i is taken
        at i / true_rate (chunked.TauAxis)."""
        return int(np.ceil(duration_s * self.true_rate(rate_hz) - 1e-9))

    def timestamps(self, tau: np.ndarray, rate_hz: float, rng: np.random.Generator) -> np.ndarray:
        """Host timestamps: true time plus jitter, bounded so time still strictly increases."""
        if self.jitter_s == 0.0:
            return tau.copy()
        bound = 0.45 / rate_hz
        return tau + np.clip(rng.normal(0.0, self.jitter_s, size=tau.size), -bound, bound)

    def lost_packets(self, n: int, rng: np.random.Generator, piece: int = 1 << 20) -> np.ndarray | None:
        """Whole packets go missing, in bursts of 1-4 packets: the lost packets of n samples as
        (start, end) packet numbers, merged and in order (None: nothing is lost or drawn)."""
        if self.drop_fraction <= 0.0 or n == 0:
            return None
        n_pk = -(-n // self.packet_samples)
        mean_burst = 1.0 / 0.6
        starts = [np.flatnonzero(rng.random(min(piece, n_pk - i)) < self.drop_fraction / mean_burst) + i
                  for i in range(0, n_pk, piece)]
        starts = np.concatenate(starts)
        lengths = np.minimum(rng.geometric(0.6, size=starts.size), 4)
        ends = np.minimum(starts + lengths, n_pk)
        if starts.size == 0:
            return np.zeros((0, 2), dtype=np.int64)
        reach = np.maximum.accumulate(ends)  # bursts that touch or overlap make one stretch
        first = np.concatenate(([True], starts[1:] > reach[:-1]))
        last = np.concatenate((first[1:], [True]))
        return np.column_stack((starts[first], reach[last])).astype(np.int64)

    def delivered_in(self, i0: int, i1: int, lost: np.ndarray | None) -> np.ndarray:
        """Which of samples [i0, i1) arrive, given lost_packets()."""
        keep = np.ones(i1 - i0, dtype=bool)
        if lost is None or lost.size == 0:
            return keep
        pk = np.arange(i0, i1) // self.packet_samples
        j = np.searchsorted(lost[:, 0], pk, side="right") - 1
        keep[(j >= 0) & (pk < lost[np.maximum(j, 0), 1])] = False
        return keep

    # ----------------------------------------------------------------------- measurement
    def measure(self, f_sensor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Raw reading in g (float32) for specific force f_sensor (n, 3) in sensor axes; rows in
        consecutive pieces read as the whole (with rng where the previous piece left it)."""
        a = rows_matmul(f_sensor, self.matrix.T)
        a += self.offset_g
        if np.any(self.noise_g > 0):
            a += rng.standard_normal(a.shape) * self.noise_g
        if self.bits:
            lsb = self.lsb_g
            np.round(a / lsb, out=a)
            a *= lsb
            np.clip(a, -self.range_g, self.range_g - lsb, out=a)
        return a.astype(np.float32)

    def undo(self, acc: np.ndarray) -> np.ndarray:
        """Specific force in sensor axes from readings (inverse of the calibration errors)."""
        return (np.asarray(acc, np.float64) - self.offset_g) @ np.linalg.inv(self.matrix).T

    def to_meta(self) -> dict:
        return {
            "offset_g": [float(v) for v in self.offset_g],
            "gain": [float(v) for v in self.gain],
            "cross_axis": [[float(v) for v in row] for row in self.cross_axis],
            "matrix": [[float(v) for v in row] for row in self.matrix],
            "noise_g": [round(float(v), 6) for v in self.noise_g],
            "bits": self.bits,
            "range_g": self.range_g,
            "lsb_g": self.lsb_g,
            "clock_drift_ppm": round(self.drift_ppm, 3),
            "jitter_ms": round(self.jitter_s * 1000.0, 3),
            "packet_samples": self.packet_samples,
            "drop_fraction_target": round(self.drop_fraction, 5),
        }
