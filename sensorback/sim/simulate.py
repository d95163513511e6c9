"""simulate(): plan a day, move the wearer, pass the motion through a cheap sensor.

The pipeline is physical: trunk orientation and body acceleration give the specific force in the
trunk frame; a fixed, random mounting rotation of the clip turns it into sensor axes; the sensor
adds its calibration errors, noise, quantisation and timing faults. Each stage draws from its own
child of numpy.random.default_rng(seed), so the plan (and the labels) do not depend on the rate.

The samples are made in pieces of 2**18 (87 min at 50 Hz; SimulatedRecording.blocks), so the
memory a week takes is the plan's (its keyframes and labels), not its samples'; every piece is
exactly that stretch of the recording made in one go (sim/chunked.py says how), so a seed,
scenario, duration and rate give the same bytes either way.
"""

from __future__ import annotations

import copy
import math
from datetime import date, datetime, time
from typing import Callable, Iterator

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import InputError
from ..samples import SampleBlock
from .chunked import TauAxis, piece_bounds, rows_matmul
from .geometry import UP, random_rotation, trunk_rotation, world_to_trunk
from .handling import plan_offbody, render_offbody
from .imu import Imu
from .labels import Labels
from .person import Person
from .scenarios import REGISTRY
from .timeline import SLOUCH_DEG, Timeline
from .wearer import BodyMotionStream

MIN_RATE_HZ, MAX_RATE_HZ = 10.0, 200.0
MIN_DURATION_S, MAX_DURATION_S = 1.0, 7 * 86400.0
DAY_START = 1709539200.0  # Monday 2024-03-04 08:00 UTC; days start 0-30 min later per seed
#: When a day given as start_time (a date) starts, local time; then the seed's 0-30 min, as DAY_START.
DAY_START_TIME = time(8, 0)
_OVERRIDES = {"duration_s", "ideal_sensor", "mount", "gaps", "start_time", "usual_slouch_deg"}
_META_VERSION = 1


def check_seed(seed, name: str = "seed") -> int:
    """The seed as an int; a one-line error naming it as the caller does (``--seed`` on the command line)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(name, f"must be a whole number, 0 or more, got {seed!r}")
    return int(seed)


def check_rate(rate_hz, name: str = "rate_hz") -> float:
    """The sample rate as a float, within what the simulator makes (MIN_RATE_HZ to MAX_RATE_HZ)."""
    rate = _number(rate_hz, name, "Hz", repr(rate_hz))
    if not (math.isfinite(rate) and MIN_RATE_HZ <= rate <= MAX_RATE_HZ):
        raise InputError(name, f"the simulator samples at {MIN_RATE_HZ:g} to {MAX_RATE_HZ:g} Hz, got {rate:g}")
    return rate


def _number(value, name: str, unit: str, shown: str) -> float:
    """``value`` as a float, or a one-line error naming ``name`` (the range is the caller's)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(name, f"must be a number of {unit}, got {shown}") from None


def duration_range() -> str:
    """'1 s to 7 days': the durations the simulator accepts, as its error and --help say them."""
    return f"{MIN_DURATION_S:g} s to {MAX_DURATION_S / 86400:g} days"


def check_duration(duration_s, name: str = "duration_s", shown: str | None = None) -> float:
    """The duration in seconds, from MIN_DURATION_S to MAX_DURATION_S; ``shown``: the value as the user wrote it."""
    shown = repr(duration_s) if shown is None else shown
    dur = _number(duration_s, name, "seconds", shown)
    if not (math.isfinite(dur) and MIN_DURATION_S <= dur <= MAX_DURATION_S):
        raise InputError(name, f"must be from {duration_range()}, got {shown}")
    return dur


def _check(scenario: str, seed, rate_hz, overrides: dict) -> dict:
    if scenario not in REGISTRY:
        raise InputError("scenario", f"unknown scenario {scenario!r}; choose one of {', '.join(REGISTRY)}")
    check_seed(seed)
    check_rate(rate_hz)
    unknown = set(overrides) - _OVERRIDES
    if unknown:
        raise TypeError(f"simulate() got unknown override(s) {sorted(unknown)}; known: {sorted(_OVERRIDES)}")
    opts = {"duration_s": REGISTRY[scenario].duration_s, "ideal_sensor": False, "mount": "random",
            "gaps": True, "start_time": None, "usual_slouch_deg": None}
    opts.update(overrides)
    dur = check_duration(opts["duration_s"])
    opts["duration_s"] = round(dur, 3)
    start = opts["start_time"]
    if isinstance(start, datetime):
        opts["start_time"] = start.timestamp()  # naive: local time
    elif start is not None and not isinstance(start, date):  # a date: its start is drawn with the wearer
        try:
            opts["start_time"] = float(start)
        except (TypeError, ValueError):
            raise InputError("start_time", f"must be Unix seconds, a datetime or a date, got {start!r}") from None
    u = opts["usual_slouch_deg"]
    if u is not None and (isinstance(u, bool) or not isinstance(u, (int, float)) or not 0.0 < u < 60.0):
        raise InputError("usual_slouch_deg", f"must be a number of degrees between 0 and 60, got {u!r}")
    if opts["mount"] not in ("random", "identity"):
        raise InputError("mount", f"must be 'random' or 'identity', got {opts['mount']!r}")
    return opts


def _mat(r: Rotation) -> list:
    return [[float(v) for v in row] for row in r.as_matrix()]


def simulate(scenario: str, seed: int = 0, rate_hz: float = 50.0, **overrides) -> tuple[SampleBlock, Labels]:
    """Simulate a recording of a named scenario; returns the samples and their ground-truth labels.

    Overrides: duration_s (cut or extend the scenario), ideal_sensor=True (no sensor or timing
    errors), mount="identity" (clip axes = trunk axes), gaps=False (no long BLE outages),
    start_time (when t = 0 is: Unix seconds or a datetime, naive meaning local time; or a date: that
    day at DAY_START_TIME local time plus the seed's 0-30 min, as the default day, Monday 2024-03-04,
    starts at 08:00 UTC plus them), usual_slouch_deg (the wearer's usual slouch, where the
    scenario uses it). Identical arguments give identical output (a date: in the same time zone).
    The true parameters (mounting, calibration errors, cadence, postures, episodes) are in
    block.meta["sim"]. For days too long to hold in memory twice, see simulate_stream.
    """
    rec = simulate_stream(scenario, seed, rate_hz, **overrides)
    return rec.whole(), rec.labels


def simulate_stream(scenario: str, seed: int = 0, rate_hz: float = 50.0, *,
                    progress: Callable[[float], None] | None = None, **overrides) -> "SimulatedRecording":
    """simulate() planned but not yet made: the labels, metadata and sample count are known, and
    recording.blocks() makes the samples piece by piece (exactly simulate()'s samples, in order).

    ``progress(fraction)`` is called from time to time with how much of the work (this planning
    and then the blocks) is done, from 0 to 1.
    """
    return SimulatedRecording(scenario, seed, rate_hz, overrides, progress)


#: Samples made at once: about 87 minutes at 50 Hz, some 60 MB of working arrays.
PIECE_SAMPLES = 1 << 18


class SimulatedRecording:
    """One simulated recording (see simulate_stream): everything but the samples, which blocks()
    makes once, in pieces, with working memory that does not grow with the duration."""

    device = "simulator"
    #: Rough cost of the stages per sample, for progress (one draw of a band-limited noise = 1).
    _COST_NOISE_PASS, _COST_SKIP, _COST_TIMES, _COST_MAKE = 1.0, 1.5, 1.0, 24.0

    def __init__(self, scenario: str, seed, rate_hz, overrides: dict,
                 progress: Callable[[float], None] | None = None):
        opts = _check(scenario, seed, rate_hz, overrides)
        rate, duration = float(rate_hz), opts["duration_s"]
        rng_person, rng_plan, rng_motion, rng_imu, rng_mount = np.random.default_rng(int(seed)).spawn(5)

        person = Person.draw(rng_person)
        day_offset = float(np.round(rng_person.uniform(0.0, 1800.0), 3))
        tl = Timeline(person, rng_plan, usual_slouch_deg=opts["usual_slouch_deg"])
        sc = REGISTRY[scenario]
        sc.build(tl, max(duration, sc.duration_s))
        tl.fill_to(duration)
        if not opts["gaps"]:
            tl.gaps.clear()
        rows = tl.label_rows(duration)
        self.labels = Labels(
            np.array([r[0] for r in rows], float) / 1000.0,
            np.array([r[1] for r in rows], float) / 1000.0,
            np.array([r[2] for r in rows], dtype=str),
            np.array([r[3] for r in rows], dtype=str),
        )

        imu = Imu.ideal(rate) if opts["ideal_sensor"] else Imu.draw(rng_imu, rate)
        n = imu.sample_count(duration, rate)
        axis = TauAxis(n, imu.true_rate(rate))
        fs = rate * (1.0 + imu.drift_ppm * 1e-6)
        self._work = n * (16 * self._COST_NOISE_PASS + self._COST_SKIP + self._COST_TIMES + self._COST_MAKE)
        self._done, self._progress = 0.0, progress
        self.tl, self.imu, self.axis, self.rate, self.duration = tl, imu, axis, rate, duration
        self.motion = BodyMotionStream(tl, axis, fs, rng_motion, lambda k: self._tick(k * self._COST_NOISE_PASS))

        # Trunk frame -> sensor frame through the clip's mounting; re-clipping after lunch moves it.
        mount0 = Rotation.identity() if opts["mount"] == "identity" else random_rotation(rng_mount)
        mounts = [(0.0, mount0)]
        for t_r, tweak in tl.reattach:
            mounts.append((t_r, tweak * mounts[-1][1]))
        self.mounts = mounts
        self.mount_starts = np.array([m[0] for m in mounts])
        self.mount_bounds = [axis.left(t0) for t0, _ in mounts] + [n]
        self.handlings = plan_offbody(tl, axis, fs, rng_motion)
        self.stuck = [(axis.left(s0 / 1000.0), axis.left(s1 / 1000.0)) for s0, s1 in tl.stuck]

        # The sensor's own draws come in this order: noise on every reading, timestamp jitter,
        # lost packets. Keep where the first two start, and move past them to the third.
        self._noise_rng = copy.deepcopy(rng_imu)
        if np.any(imu.noise_g > 0):
            for i in range(0, n, PIECE_SAMPLES):
                rng_imu.standard_normal((min(PIECE_SAMPLES, n - i), 3))
                self._tick(min(PIECE_SAMPLES, n - i) * self._COST_SKIP * 0.75)
        self._jitter_rng = copy.deepcopy(rng_imu)
        if imu.jitter_s != 0.0:
            for i in range(0, n, PIECE_SAMPLES):
                rng_imu.normal(0.0, imu.jitter_s, size=min(PIECE_SAMPLES, n - i))
                self._tick(min(PIECE_SAMPLES, n - i) * self._COST_SKIP * 0.25)
        self.lost = imu.lost_packets(n, rng_imu)
        self.gaps = sorted((a / 1000.0, min(b / 1000.0, duration)) for a, b in tl.gaps if a / 1000.0 < duration)

        # Count what arrives (the header needs it before the first sample is written).
        packets_kept = delivered = 0
        jitter = copy.deepcopy(self._jitter_rng)
        last, first_kept, last_kept = -np.inf, None, None
        for i0 in range(0, n, PIECE_SAMPLES):
            i1 = min(n, i0 + PIECE_SAMPLES)
            t, in_packets, keep = self._arrivals(i0, i1, axis.span(i0, i1), jitter)
            if t.size and not (t[0] >= last and np.all(t[1:] >= t[:-1])):
                raise RuntimeError("simulated timestamps went back in time")  # gaps assume sorted t
            last = t[-1]
            packets_kept += int(in_packets.sum())
            delivered += int(keep.sum())
            if keep.any():
                kept = t[keep]
                first_kept = kept[0] if first_kept is None else first_kept
                last_kept = kept[-1]
            self._tick((i1 - i0) * self._COST_TIMES)
        #: Samples that arrive, and the time from the first to the last (SampleBlock.duration_s).
        self.n_samples = delivered
        self.duration_s = float(last_kept - first_kept) if delivered else 0.0

        start_time = opts["start_time"]
        if start_time is None:
            start_time = DAY_START + day_offset
        elif isinstance(start_time, date):
            start_time = datetime.combine(start_time, DAY_START_TIME).timestamp() + day_offset  # local time
        self.start_time = start_time

        up_stand = trunk_rotation(person.stand_flexion_deg, person.stand_lateral_deg, 0.0)[0]
        up_sit = trunk_rotation(person.sit_upright_flexion_deg, 0.5 * person.stand_lateral_deg, 0.0)[0]
        self.meta = {
            "version": _META_VERSION,
            "scenario": scenario,
            "seed": int(seed),
            "rate_hz": rate,
            "duration_s": duration,
            "options": {k: opts[k] for k in ("ideal_sensor", "mount", "gaps")},
            "frames": "trunk: x anterior, y left, z up; flexion positive forward, lateral positive to "
                      "the right; sensor = mount_rotation @ trunk; reading = imu.matrix @ sensor + imu.offset_g",
            "slouch_threshold_deg": SLOUCH_DEG,
            "person": person.to_meta(),
            "mount_rotation": _mat(mount0),
            "mounts": [{"t_start": round(t0, 3), "matrix": _mat(m)} for t0, m in mounts if t0 < duration],
            "gravity_sensor": {
                "standing": [float(v) for v in mount0.apply(up_stand.apply(UP, inverse=True))],
                "sitting_upright": [float(v) for v in mount0.apply(up_sit.apply(UP, inverse=True))],
            },
            "imu": imu.to_meta(),
            "samples": {
                "scheduled": int(n),
                "delivered": int(delivered),
                "lost_in_packets": int(n - packets_kept),
            },
            "gaps": [[round(a, 3), round(b, 3)] for a, b in self.gaps],
            "stuck": [[round(a / 1000.0, 3), round(min(b / 1000.0, duration), 3)] for a, b in tl.stuck if a / 1000.0 < duration],
            "walks": [{"t_start": round(b.t0, 3), "t_end": round(min(b.t1, duration), 3), "kind": b.kind,
                       "cadence_spm": round(b.cadence_spm, 3)} for b in tl.bouts if b.t0 < duration and b.kind != "pedal"],
            "sit_sessions": [s for s in tl.sessions if s["t_start"] < duration],
            "slouches": [s for s in tl.slouches if s["t_start"] < duration],
            "usual_slouch_deg": round(tl.usual_slouch(), 3),
            "calibration_windows": tl.calibration_windows,
            "desk": [{"t_start": round(o.t0, 3), "t_end": round(min(o.t1, duration), 3),
                      "gravity_sensor": [float(v) for v in o.desk.apply(UP, inverse=True)]}
                     for o in tl.offbody if o.kind == "desk" and o.t0 < duration],
        }
        self._made = False

    def _tick(self, work: float) -> None:
        self._done += work
        if self._progress is not None and self._work > 0:
            self._progress(min(1.0, self._done / self._work))

    def _arrivals(self, i0: int, i1: int, tau: np.ndarray, jitter: np.random.Generator):
        """Timestamps of samples [i0, i1), which of them arrive in packets, and which arrive at all."""
        t = np.maximum(self.imu.timestamps(tau, self.rate, jitter), 0.0)
        in_packets = self.imu.delivered_in(i0, i1, self.lost) & (t < self.duration)
        keep = in_packets.copy()
        for g0, g1 in self.gaps:  # as searchsorted on the whole (sorted) t would cut them
            keep[(t >= g0) & (t < g1)] = False
        return t, in_packets, keep

    def blocks(self, piece_samples: int = PIECE_SAMPLES) -> Iterator[SampleBlock]:
        """The recording's samples as consecutive blocks of about piece_samples scheduled samples
        (fewer arrive); they can be made only once."""
        if self._made:
            raise RuntimeError("a simulated recording's samples can be made only once")
        self._made = True
        keep_whole = [h.samples_needed() for h in self.handlings if h.ob.kind != "desk"]
        meta = {"sim": self.meta}
        for i0, i1 in piece_bounds(self.axis.n, piece_samples, keep_whole):
            t, acc = self._piece(i0, i1)
            self._tick((i1 - i0) * self._COST_MAKE)
            yield SampleBlock(t, acc, device=self.device, rate_hz=self.rate, start_time=self.start_time, meta=meta)

    def whole(self, piece_samples: int = PIECE_SAMPLES) -> SampleBlock:
        """All samples in one block (what simulate() returns)."""
        t = np.empty(self.n_samples, dtype=np.float64)
        acc = np.empty((self.n_samples, 3), dtype=np.float32)
        k = 0
        for b in self.blocks(piece_samples):
            t[k:k + len(b)] = b.t
            acc[k:k + len(b)] = b.acc
            k += len(b)
        return SampleBlock(t, acc, device=self.device, rate_hz=self.rate, start_time=self.start_time,
                           meta={"sim": self.meta})

    def _piece(self, i0: int, i1: int) -> tuple[np.ndarray, np.ndarray]:
        """Delivered timestamps and readings of scheduled samples [i0, i1)."""
        axis, mounts = self.axis, self.mounts
        tau = axis.span(i0, i1)
        motion = self.motion.piece(i0, i1, tau)
        motion.acc[:, 2] += 1.0  # specific force = dynamic acceleration + reaction to gravity
        f_body = world_to_trunk(motion.theta, motion.phi, motion.psi, motion.acc)
        f_sensor = f_body  # rotated in place, range by range
        bounds = self.mount_bounds
        for k, (_, m) in enumerate(mounts):
            a, b = max(bounds[k], i0), min(bounds[k + 1], i1)
            if a < b:
                f_sensor[a - i0:b - i0] = rows_matmul(f_body[a - i0:b - i0], m.as_matrix().T,
                                                      alone=bounds[k + 1] - bounds[k] == 1)

        def worn_orientation(i: int) -> Rotation:
            k = int(np.searchsorted(self.mount_starts, axis.at(i), side="right") - 1)
            j = i - i0
            r = trunk_rotation(motion.theta[j], motion.phi[j], motion.psi[j])[0]
            return r * mounts[max(k, 0)][1].inv()

        render_offbody(self.handlings, i0, tau, f_sensor, worn_orientation)
        acc = self.imu.measure(f_sensor, self._noise_rng)
        del f_sensor, f_body
        for a, b in self.stuck:  # a stuck IMU reads exactly zero, whatever its errors
            a, b = max(a, i0), min(b, i1)
            if a < b:
                acc[a - i0:b - i0] = 0.0
        t, _, keep = self._arrivals(i0, i1, tau, self._jitter_rng)
        return t[keep], acc[keep]
