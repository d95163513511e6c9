"""simulate(): plan a day, move the wearer, pass the motion through a cheap sensor.

The pipeline is physical: trunk orientation and body acceleration give the specific force in the
trunk frame; a fixed, random mounting rotation of the clip turns it into sensor axes; the sensor
adds its calibration errors, noise, quantisation and timing faults. Each stage draws from its own
child of numpy.random.default_rng(seed), so the plan (and the labels) do not depend on the rate.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import InputError
from ..samples import SampleBlock
from .geometry import UP, random_rotation, trunk_rotation, world_to_trunk
from .handling import render_offbody
from .imu import Imu
from .labels import Labels
from .person import Person
from .scenarios import REGISTRY
from .timeline import SLOUCH_DEG, Timeline
from .wearer import body_motion

MIN_RATE_HZ, MAX_RATE_HZ = 10.0, 200.0
MIN_DURATION_S, MAX_DURATION_S = 1.0, 7 * 86400.0
DAY_START = 1709539200.0  # Monday 2024-03-04 08:00 UTC; days start 0-30 min later per seed
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
    if opts["start_time"] is not None:
        try:
            opts["start_time"] = float(opts["start_time"])
        except (TypeError, ValueError):
            raise InputError("start_time", f"must be Unix seconds, got {opts['start_time']!r}") from None
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
    start_time (Unix time of t = 0), usual_slouch_deg (the wearer's usual slouch, where the
    scenario uses it). Identical arguments give identical output.
    The true parameters (mounting, calibration errors, cadence, postures, episodes) are in
    block.meta["sim"].
    """
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
    labels = Labels(
        np.array([r[0] for r in rows], float) / 1000.0,
        np.array([r[1] for r in rows], float) / 1000.0,
        np.array([r[2] for r in rows], dtype=str),
        np.array([r[3] for r in rows], dtype=str),
    )

    imu = Imu.ideal(rate) if opts["ideal_sensor"] else Imu.draw(rng_imu, rate)
    tau = imu.sample_times(duration, rate)
    fs = rate * (1.0 + imu.drift_ppm * 1e-6)
    motion = body_motion(tl, tau, fs, rng_motion)

    # Trunk frame -> sensor frame through the clip's mounting; re-clipping after lunch moves it.
    mount0 = Rotation.identity() if opts["mount"] == "identity" else random_rotation(rng_mount)
    mounts = [(0.0, mount0)]
    for t_r, tweak in tl.reattach:
        mounts.append((t_r, tweak * mounts[-1][1]))
    mount_starts = np.array([m[0] for m in mounts])
    motion.acc[:, 2] += 1.0  # specific force = dynamic acceleration + reaction to gravity
    f_body = world_to_trunk(motion.theta, motion.phi, motion.psi, motion.acc)
    f_sensor = f_body  # rotated in place, range by range
    bounds = np.append(np.searchsorted(tau, mount_starts, side="left"), tau.size)
    for k, (_, m) in enumerate(mounts):
        f_sensor[bounds[k]:bounds[k + 1]] = f_body[bounds[k]:bounds[k + 1]] @ m.as_matrix().T

    def worn_orientation(i: int) -> Rotation:
        k = int(np.searchsorted(mount_starts, tau[i], side="right") - 1)
        r = trunk_rotation(motion.theta[i], motion.phi[i], motion.psi[i])[0]
        return r * mounts[max(k, 0)][1].inv()

    render_offbody(tl, tau, fs, rng_motion, f_sensor, worn_orientation)
    del motion

    acc = imu.measure(f_sensor, rng_imu)
    del f_sensor
    for s0, s1 in tl.stuck:  # a stuck IMU reads exactly zero, whatever its errors
        acc[np.searchsorted(tau, s0 / 1000.0):np.searchsorted(tau, s1 / 1000.0)] = 0.0
    t = np.maximum(imu.timestamps(tau, rate, rng_imu), 0.0)
    keep = imu.delivered(tau.size, rng_imu) & (t < duration)
    packets_kept = int(keep.sum())
    gaps = sorted((a / 1000.0, min(b / 1000.0, duration)) for a, b in tl.gaps if a / 1000.0 < duration)
    for g0, g1 in gaps:
        i0, i1 = np.searchsorted(t, [g0, g1], side="left")
        keep[i0:i1] = False

    start_time = opts["start_time"]
    if start_time is None:
        start_time = DAY_START + day_offset

    up_stand = trunk_rotation(person.stand_flexion_deg, person.stand_lateral_deg, 0.0)[0]
    up_sit = trunk_rotation(person.sit_upright_flexion_deg, 0.5 * person.stand_lateral_deg, 0.0)[0]
    meta = {
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
            "scheduled": int(tau.size),
            "delivered": int(keep.sum()),
            "lost_in_packets": int(tau.size - packets_kept),
        },
        "gaps": [[round(a, 3), round(b, 3)] for a, b in gaps],
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
    block = SampleBlock(t[keep], acc[keep], device="simulator", rate_hz=rate, start_time=start_time,
                        meta={"sim": meta})
    return block, labels
