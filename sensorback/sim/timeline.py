"""The plan of a simulated recording: what the wearer does when, and the ground truth it implies.

Scenario code calls verbs (walk, sit_down, slouch, take_off, ...) in order; each verb advances the
clock and records (a) posture keyframes for the trunk, (b) events with their own dynamics
(stepping bouts, whole-body shifts, impacts, the sensor off the body), (c) motion levels, and
(d) label rows. Because labels are written by the same verb that shapes the motion, they are the
model's truth and never depend on any classifier.

Internal times are integer milliseconds so label boundaries survive a CSV round trip exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from .geometry import UP, min_jerk_inverse, small_rotation
from .labels import overlay_no_data
from .person import Person

SLOUCH_DEG = 20.0  # slouching = trunk flexed more than this beyond the wearer's upright sitting


def _ms(seconds: float) -> int:
    return max(1, int(round(seconds * 1000.0)))


@dataclass
class Bout:
    """A stretch of stepping (walk, stairs, a short shuffle at the desk)."""

    t0: float
    t1: float
    kind: str
    cadence_spm: float
    vertical_g: float
    ap_g: float
    ml_g: float


@dataclass
class Shift:
    """A whole-body displacement with a min-jerk profile (rising from or lowering onto a chair)."""

    t0: float
    t1: float
    dx_m: float  # forward
    dz_m: float  # up


@dataclass
class Impact:
    """A short damped vertical vibration, e.g. landing on the seat."""

    t: float
    amp_g: float
    freq_hz: float
    decay_s: float


@dataclass
class Level:
    """Motion intensities that hold over [t0, t1): postural sway and micro-movement (deg),
    work-related chest acceleration such as typing (g), and a breathing-depth factor."""

    t0: float
    t1: float
    sway_deg: float
    micro_deg: float
    work_g: float
    breath: float


@dataclass
class OffBody:
    """The sensor is not on the trunk: being unclipped, lying on the desk, or being clipped on.

    desk is the sensor -> world rotation while it rests on the desk (a random face down)."""

    t0: float
    t1: float
    kind: str  # "take_off", "desk", "put_on"
    desk: Rotation
    reach_m: tuple[float, float, float]


@dataclass
class Timeline:
    person: Person
    rng: np.random.Generator
    t_ms: int = 0
    mode: str = "stand"  # stand, sit, lie, off
    posture: tuple[float, float, float] = (0.0, 0.0, 0.0)  # flexion, lateral, axial (deg)
    upright_deg: float = 0.0  # flexion of the current sitting session's upright posture
    usual_slouch_deg: float | None = None  # the wearer's usual slouch (None: the person's trait)
    shallow_sits: bool = False  # sit down and stand up leaning only 12-25 deg forward
    calibration_windows: dict = field(default_factory=dict)  # step -> [t0, t1] of a guided calibration
    keys: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    bouts: list = field(default_factory=list)
    shifts: list = field(default_factory=list)
    impacts: list = field(default_factory=list)
    levels: list = field(default_factory=list)
    offbody: list = field(default_factory=list)
    reattach: list = field(default_factory=list)  # (t_s, Rotation applied to the mount)
    gaps: list = field(default_factory=list)  # (t0_ms, t1_ms)
    stuck: list = field(default_factory=list)  # (t0_ms, t1_ms): the sensor reads exactly (0, 0, 0)
    slouches: list = field(default_factory=list)
    sessions: list = field(default_factory=list)
    _worn_mode: str = "stand"
    _desk: Rotation | None = None
    _lie_side: str = "supine"

    def __post_init__(self) -> None:
        self.posture = self._stand_posture()
        self._key(0, self.posture)

    # ----------------------------------------------------------------- clock and bookkeeping
    @property
    def now(self) -> float:
        return self.t_ms / 1000.0

    def _stand_posture(self) -> tuple[float, float, float]:
        p = self.person
        return (p.stand_flexion_deg + self.rng.normal(0.0, 0.6), p.stand_lateral_deg, 0.0)

    def _need(self, *modes: str) -> None:
        if self.mode not in modes:
            raise RuntimeError(f"cannot do that while {self.mode}; needs {'/'.join(modes)}")

    def _key(self, t_ms: int, posture) -> None:
        if self.keys and self.keys[-1][0] >= t_ms:
            if self.keys[-1][0] == t_ms:
                self.keys[-1] = (t_ms, *map(float, posture))
                return
            raise RuntimeError("keyframes must advance in time")
        self.keys.append((t_ms, *map(float, posture)))

    def _move(self, dt_ms: int, posture) -> None:
        """Min-jerk move from the current posture to a new one over dt_ms."""
        self._key(self.t_ms, self.posture)
        self.t_ms += max(1, dt_ms)
        self.posture = tuple(float(v) for v in posture)
        self._key(self.t_ms, self.posture)

    def _hold(self, dt_ms: int) -> None:
        self._key(self.t_ms, self.posture)
        self.t_ms += max(0, dt_ms)
        self._key(self.t_ms, self.posture)

    def _row(self, t0_ms: int, t1_ms: int, label: str, code: str) -> None:
        if t1_ms > t0_ms:
            self.rows.append([t0_ms, t1_ms, label, code])

    def _level(self, t1_ms: int, sway: float, micro: float, work_g: float, breath: float = 1.0) -> None:
        self.levels.append(Level(self.now, t1_ms / 1000.0, sway, micro, work_g, breath))

    # ----------------------------------------------------------------------------- upright
    def stand(self, dur_s: float, code: str = "stand", work: bool = False, shuffles: bool = False,
              bobs: bool = False, talk: bool = False) -> None:
        """Stand still-ish: postural sway, weight shifts every 8-40 s, optional short shuffles and
        bobs (Timeline.bob: half of the weight shifts become one). talk: standing while talking and
        gesturing, the trunk busier all along (0.02-0.07 g of 1-6 Hz motion: the real chest
        recordings' 'talking while standing' epochs have a median SD of 0.03 g, a quarter of them
        0.07 g or more)."""
        self._need("stand")
        rng, p = self.rng, self.person
        t_end = self.t_ms + _ms(dur_s)
        if talk:
            self._level(t_end, p.sway_deg * 1.3, 1.0, float(rng.uniform(0.01, 0.04)))
        else:
            self._level(t_end, p.sway_deg * (1.15 if work else 1.0), 0.35 if work else 0.25,
                        0.008 if work else 0.003)
        base = self.posture
        row_start = self.t_ms
        shifted = False
        while True:
            wait = _ms(rng.uniform(8.0, 40.0))
            if self.t_ms + wait + 4000 >= t_end:
                break
            self._hold(wait)
            if shuffles and rng.random() < 0.3:
                steps = int(rng.integers(2, 5))
                cadence = p.cadence_spm * rng.uniform(0.7, 0.9)
                dur = _ms(steps * 60.0 / cadence + 0.6)
                if self.t_ms + dur + 2000 >= t_end:
                    break
                self._row(row_start, self.t_ms, "standing", code)
                self.bouts.append(Bout(self.now, (self.t_ms + dur) / 1000.0, "shuffle", cadence,
                                       0.35 * p.walk_vertical_g, 0.35 * p.walk_ap_g, 0.35 * p.walk_ml_g))
                self._row(self.t_ms, self.t_ms + dur, "moving", "shuffle")
                self._hold(dur)
                row_start = self.t_ms
            elif bobs and rng.random() < 0.5:
                self.bob()
            else:
                lat = base[1] if shifted else base[1] + rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 3.0)
                shifted = not shifted
                self._move(_ms(rng.uniform(0.8, 2.0)),
                           (base[0] + rng.normal(0.0, 0.6), lat, base[2] + rng.normal(0.0, 4.0)))
        self._hold(t_end - self.t_ms)
        self._row(row_start, t_end, "standing", code)

    def bob(self) -> None:
        """A quick dip while standing (a knee bob while talking, a stamp, being bumped): the trunk
        drops 3-8 cm while swaying up to as far forward or back, at a peak acceleration of 0.3-0.6 g
        (a drop of d in T peaks at 5.77 d / T^2: 0.2-0.45 s), and comes back up over 0.4-0.9 s, its
        direction unchanged. For a quarter of a second the acceleration's direction tilts as far
        as a transition's lean, and the drop is as fast as a sit-down's, but no longer: a trunk
        transition measure that looks only at the peak hears a sit-down (Casale subject11 at
        1762 s: |a| 0.58-1.79 g; benchmarks/README.md, "standing-chats")."""
        self._need("stand")
        rng = self.rng
        t0 = self.now
        dz = float(rng.uniform(0.03, 0.08))
        dx = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.0) * dz)
        down_s = float(np.clip(np.sqrt(5.77 * dz / (rng.uniform(0.3, 0.6) * 9.81)), 0.2, 0.45))
        up_s = float(rng.uniform(0.4, 0.9))
        self.shifts.append(Shift(t0, t0 + down_s, dx, -dz))
        self.shifts.append(Shift(t0 + down_s, t0 + down_s + up_s, -dx, dz))
        self._hold(_ms(down_s + up_s))

    def walk(self, dur_s: float, kind: str = "walk", code: str | None = None) -> None:
        """Walk (or climb stairs): trunk leans forward a few degrees, steps at the cadence."""
        self._need("stand")
        rng, p = self.rng, self.person
        dur = _ms(max(dur_s, 3.0))
        t0, t_end = self.t_ms, self.t_ms + dur
        factor = {"walk": (1.0, 1.0, 0.0), "stairs_up": (0.85, 1.3, 5.0), "stairs_down": (0.95, 1.2, 2.0)}[kind]
        cadence = p.cadence_spm * rng.uniform(0.95, 1.05) * factor[0]
        amp = factor[1] * rng.uniform(0.9, 1.1)
        self.bouts.append(Bout(t0 / 1000.0, t_end / 1000.0, kind, cadence,
                               amp * p.walk_vertical_g, amp * p.walk_ap_g, amp * p.walk_ml_g))
        self._level(t_end, 0.6, 0.4, 0.015, 1.1)
        stand = self.posture
        lean = stand[0] + p.walk_lean_deg + factor[2]
        ramp = _ms(min(1.0, dur_s / 4.0))
        self._move(ramp, (lean, stand[1], stand[2]))
        while t_end - self.t_ms > ramp + 25000:
            self._move(_ms(rng.uniform(10.0, 25.0)),
                       (lean + rng.normal(0.0, 1.0), stand[1] + rng.normal(0.0, 1.0), stand[2]))
        self._hold(t_end - ramp - self.t_ms)
        self._move(t_end - self.t_ms, self._stand_posture())
        self._row(t0, t_end, "moving", code or kind)

    # --------------------------------------------------------------------------- transitions
    def _transition_time(self) -> float:
        return float(np.clip(self.person.sit_to_stand_s * self.rng.uniform(0.85, 1.2), 1.5, 3.0))

    def _transition_lean(self) -> float:
        """Peak forward lean of a sit-down or stand-up beyond standing: 30-45 deg, or 12-25 deg for a
        wearer who sits down and gets up with a straight back (shallow_sits)."""
        return float(self.rng.uniform(12.0, 25.0) if self.shallow_sits else self.rng.uniform(30.0, 45.0))

    def usual_slouch(self) -> float:
        return self.person.usual_slouch_deg if self.usual_slouch_deg is None else float(self.usual_slouch_deg)

    def _vertical_pulse(self, t0_ms: int, dur_total: float, dz: float, rising: bool) -> tuple[float, float]:
        """Pick the rise/descent window from a peak vertical speed of 0.35-0.65 m/s, as measured on
        real sit-to-stand and stand-to-sit transitions (HAPT waist recordings); a min-jerk move of
        height D in time T peaks at 1.875 D/T, which puts the acceleration peak near 0.1 g."""
        v_peak = self.rng.uniform(0.35, 0.65)
        t_move = float(np.clip(1.875 * abs(dz) / v_peak, 0.6, 0.85 * dur_total))
        start = t0_ms / 1000.0 + (0.95 * dur_total - t_move if rising else 0.08 * dur_total)
        return start, start + t_move

    def sit_down(self, code: str = "stand_to_sit") -> None:
        """Stand-to-sit: trunk flexes forward 30-45 deg, the body drops onto the seat."""
        self._need("stand")
        rng, p = self.rng, self.person
        T = self._transition_time()
        t0 = self.t_ms
        self.upright_deg = p.sit_upright_flexion_deg + float(np.clip(rng.normal(0.0, 1.0), -2.0, 2.0))
        target = (self.upright_deg, p.stand_lateral_deg * 0.5 + rng.normal(0.0, 1.0), rng.normal(0.0, 8.0))
        peak = p.stand_flexion_deg + self._transition_lean()
        self._move(_ms(0.55 * T), (peak, 0.5 * (self.posture[1] + target[1]), self.posture[2]))
        self._move(t0 + _ms(T) - self.t_ms, target)
        dz = -rng.uniform(0.3, 0.45)
        a, b = self._vertical_pulse(t0, T, dz, rising=False)
        self.shifts.append(Shift(a, b, 0.0, dz))
        self.shifts.append(Shift(t0 / 1000.0 + 0.1 * T, t0 / 1000.0 + T, -rng.uniform(0.1, 0.2), 0.0))
        self.impacts.append(Impact(b, rng.uniform(0.1, 0.3), rng.uniform(6.0, 12.0), rng.uniform(0.05, 0.12)))
        self.levels.append(Level(t0 / 1000.0, self.now, 0.3, 0.5, 0.02, 1.0))
        self._row(t0, self.t_ms, "transition", code)
        self.sessions.append({"t_start": self.now, "upright_flexion_deg": round(self.upright_deg, 3)})
        self.mode = "sit"

    def stand_up(self, code: str = "sit_to_stand") -> None:
        """Sit-to-stand: flex forward 30-45 deg to bring the weight over the feet, then rise."""
        self._need("sit")
        rng, p = self.rng, self.person
        T = self._transition_time()
        t0 = self.t_ms
        peak = p.stand_flexion_deg + self._transition_lean()
        self._move(_ms(0.45 * T), (peak, self.posture[1], self.posture[2]))
        self._move(t0 + _ms(T) - self.t_ms, self._stand_posture())
        dz = rng.uniform(0.3, 0.45)
        a, b = self._vertical_pulse(t0, T, dz, rising=True)
        self.shifts.append(Shift(a, b, 0.0, dz))
        self.shifts.append(Shift(t0 / 1000.0, t0 / 1000.0 + 0.8 * T, rng.uniform(0.1, 0.2), 0.0))
        self.levels.append(Level(t0 / 1000.0, self.now, 0.3, 0.5, 0.02, 1.0))
        self._row(t0, self.t_ms, "transition", code)
        self.mode = "stand"

    # ------------------------------------------------------------------------------ sitting
    def _sit_level(self, t_end: int, scale: float = 1.0) -> None:
        self._level(t_end, 0.25 * scale, 0.2 * scale, self.rng.uniform(0.004, 0.008) * scale)

    def sit(self, dur_s: float, code: str = "sit_upright", reaches: bool = True) -> None:
        """Upright desk sitting: typing, small posture adjustments, occasional reaches (kept
        under 15 deg of extra flexion so they never look like a slouch in the ground truth)."""
        self._need("sit")
        rng = self.rng
        t_end = self.t_ms + _ms(dur_s)
        t0 = self.t_ms
        self._sit_level(t_end)
        u, lat0 = self.upright_deg, self.person.stand_lateral_deg * 0.5
        while True:
            wait = _ms(rng.uniform(30.0, 180.0))
            if self.t_ms + wait + 6000 >= t_end:
                break
            self._hold(wait)
            if reaches and rng.random() < 0.5:
                back = self.posture
                up, hold, down = (_ms(rng.uniform(0.5, 1.0)), _ms(rng.uniform(0.3, 2.0)), _ms(rng.uniform(0.6, 1.2)))
                flex = min(back[0] + rng.uniform(3.0, 12.0), u + 14.0)
                side = rng.choice([-1.0, 1.0])
                self._move(up, (flex, back[1] + side * rng.uniform(0.0, 8.0), back[2] + side * rng.uniform(5.0, 25.0)))
                self._hold(hold)
                self._move(down, back)
            else:
                self._move(_ms(rng.uniform(1.0, 3.0)),
                           (u + rng.uniform(-1.5, 1.5), lat0 + float(np.clip(rng.normal(0, 1.5), -3, 3)),
                            rng.normal(0.0, 8.0)))
        self._hold(t_end - self.t_ms)
        self._row(t0, t_end, "sitting", code)

    def reseat(self, code: str = "reseat") -> None:
        """Shift in the chair: lean forward 10-25 deg, push up on the armrests or thighs to lift
        the hips 4-12 cm (0.3-0.6 m/s at the peak, like a rise), hold 0.3-1.5 s while sliding
        forward or back, lower down again (0.15-0.5 m/s) and sit back within a few degrees of
        the posture before. The wearer never leaves the chair: sitting throughout. A trunk
        transition measure hears such a move as a stand-up or a sit-down of its own (the real
        chest recordings have them: benchmarks/README.md, "reseats")."""
        self._need("sit")
        rng = self.rng
        t0 = self.t_ms
        back = self.posture
        self._move(_ms(rng.uniform(0.5, 1.0)), (back[0] + rng.uniform(10.0, 25.0), back[1], back[2]))
        dz = float(rng.uniform(0.04, 0.12))
        up_s = float(np.clip(1.875 * dz / rng.uniform(0.3, 0.6), 0.25, 1.0))
        down_s = float(np.clip(1.875 * dz / rng.uniform(0.15, 0.5), 0.3, 1.5))
        a = self.now
        self.shifts.append(Shift(a, a + up_s, float(rng.uniform(-0.08, 0.08)), dz))
        self._hold(_ms(up_s + rng.uniform(0.3, 1.5)))
        b = self.now
        self.shifts.append(Shift(b, b + down_s, 0.0, -dz))
        self._hold(_ms(down_s))
        self.impacts.append(Impact(self.now, rng.uniform(0.03, 0.1), rng.uniform(6.0, 12.0), rng.uniform(0.05, 0.1)))
        target = (self.upright_deg + float(np.clip(rng.normal(0.0, 1.0), -2.0, 2.0)),
                  back[1] + float(np.clip(rng.normal(0.0, 1.0), -2.0, 2.0)), rng.normal(0.0, 8.0))
        self._move(_ms(rng.uniform(0.6, 1.2)), target)
        self.levels.append(Level(t0 / 1000.0, self.now, 0.3, 0.5, 0.02, 1.0))
        self._row(t0, self.t_ms, "sitting", code)

    def lean(self, dur_s: float, depth_deg: float) -> None:
        """A mild forward lean (5-12 deg) toward the screen: still 'sitting' in the ground truth.

        Capped at 14 deg beyond the standing upright, well clear of the 20 deg slouch line."""
        self._need("sit")
        rng = self.rng
        t0, t_end = self.t_ms, self.t_ms + _ms(dur_s)
        self._sit_level(t_end, 0.9)
        u = self.upright_deg
        depth_deg = min(depth_deg, self.person.stand_flexion_deg + 14.0 - u)
        self._move(_ms(rng.uniform(2.0, 5.0)), (u + depth_deg, self.posture[1], self.posture[2]))
        back = _ms(rng.uniform(2.0, 5.0))
        while t_end - back - self.t_ms > 40000:
            self._move(_ms(rng.uniform(20.0, 40.0)), (u + depth_deg + rng.uniform(-1.0, 1.0), self.posture[1], self.posture[2]))
        self._hold(t_end - back - self.t_ms)
        self._move(back, (u + rng.uniform(-1.0, 1.0), self.posture[1], self.posture[2]))
        self._row(t0, t_end, "sitting", f"lean_{round(depth_deg)}deg")

    def lean_away(self, dur_s: float, flex_deg: float, lat_deg: float, code: str) -> None:
        """Lean back (flex_deg < 0) or sideways (lat_deg, + to the right) from the session's upright
        sitting and hold it, with small wander, then come back: 'sitting' in the ground truth,
        however far it goes (only a forward lean is a slouch)."""
        self._need("sit")
        rng = self.rng
        t0, t_end = self.t_ms, self.t_ms + _ms(dur_s)
        self._sit_level(t_end, 0.9)
        u, start = self.upright_deg, self.posture
        target = (u + flex_deg, start[1] + lat_deg, start[2])
        self._move(_ms(rng.uniform(2.0, 5.0)), target)
        back = _ms(rng.uniform(2.0, 5.0))
        while t_end - back - self.t_ms > 40000:
            self._move(_ms(rng.uniform(20.0, 40.0)), (target[0] + rng.uniform(-1.5, 1.5),
                                                      target[1] + rng.uniform(-1.5, 1.5), target[2]))
        self._hold(t_end - back - self.t_ms)
        self._move(back, (u + rng.uniform(-1.0, 1.0), start[1], start[2]))
        self._row(t0, t_end, "sitting", code)

    def slouch(self, hold_s: float, depth_deg: float, onset_s: float, recover_s: float,
               line_deg: float | None = None) -> None:
        """Slouch: flexion drifts to 25-45 deg beyond the wearer's upright (the standing posture,
        as in sensorback's definition) over onset_s, is held (deepening slightly, often with a
        sideways lean onto an elbow), then recovers to the session's sitting posture.
        The label switches exactly where the posture crosses upright + 20 deg; someone who sits
        reclined therefore travels further before it counts.

        With line_deg, depth and line are measured from the session's upright *sitting* instead,
        and the label switches where the posture crosses that line (the personal slouch line:
        halfway to the wearer's usual slouch)."""
        self._need("sit")
        rng = self.rng
        u = self.upright_deg
        ref = self.person.stand_flexion_deg if line_deg is None else u
        line = SLOUCH_DEG if line_deg is None else float(line_deg)
        t0 = self.t_ms
        t_end = t0 + _ms(onset_s) + _ms(hold_s) + _ms(recover_s)
        self._level(t_end, 0.2, 0.15, rng.uniform(0.002, 0.006))
        start = self.posture
        deep = ref + depth_deg
        self._move(_ms(onset_s), (deep, start[1] + rng.normal(0.0, 2.0), start[2]))
        s_on = min_jerk_inverse((ref + line - start[0]) / (deep - start[0]))
        cross_in = t0 + int(round(s_on * (self.t_ms - t0)))
        hold_end = t_end - _ms(recover_s)
        # Leaning onto an elbow comes with a deep slump; a mild slouch wanders sideways less.
        side = 6.0 if line_deg is None else min(6.0, 0.25 * (deep - start[0]))
        while hold_end - self.t_ms > 30000:
            self._move(_ms(rng.uniform(20.0, 120.0)) if hold_end - self.t_ms > 130000 else hold_end - self.t_ms - 5000,
                       (deep + rng.uniform(-1.0, 3.0), start[1] + rng.uniform(-side, side), start[2] + rng.normal(0, 5.0)))
        self._hold(hold_end - self.t_ms)
        top = self.posture[0]
        end = (u + rng.uniform(-1.0, 1.0), start[1], start[2])
        self._move(t_end - self.t_ms, end)
        s_off = min_jerk_inverse((top - (ref + line)) / (top - end[0]))
        cross_out = hold_end + int(round(s_off * (t_end - hold_end)))
        tag = f"slouch_{round(depth_deg)}deg"
        self._row(t0, cross_in, "sitting", "slouch_onset")
        self._row(cross_in, cross_out, "slouching", tag)
        self._row(cross_out, t_end, "sitting", "slouch_recover")
        self.slouches.append({"t_start": cross_in / 1000.0, "t_end": cross_out / 1000.0,
                              "depth_deg": round(float(depth_deg), 3), "upright_flexion_deg": round(ref, 3),
                              "sitting_flexion_deg": round(u, 3)})

    # ------------------------------------------------------------------------------- lying
    def lie_down(self, side: str = "supine", propped: bool = False, gentle: bool = False) -> None:
        """Sit-to-lie onto a couch: the trunk turns 80-95 deg away from upright (propped on an
        elbow or a cushion: only 50-65 deg; gently: slowly, without a jolt)."""
        self._need("sit")
        rng = self.rng
        t0 = self.t_ms
        tilt = rng.uniform(50.0, 65.0) if propped else rng.uniform(80.0, 95.0)
        target = {"supine": (-tilt, rng.normal(0, 5), 0.0), "prone": (tilt, rng.normal(0, 5), 0.0),
                  "left": (rng.uniform(-10, 10), -tilt, 0.0), "right": (rng.uniform(-10, 10), tilt, 0.0)}[side]
        self._move(_ms(rng.uniform(6.0, 8.0) if gentle else rng.uniform(2.5, 4.0)), target)
        self.shifts.append(Shift(t0 / 1000.0, self.now, 0.0, -rng.uniform(0.05, 0.1) if gentle else -rng.uniform(0.1, 0.25)))
        self.levels.append(Level(t0 / 1000.0, self.now, *((0.05, 0.1, 0.002) if gentle else (0.3, 0.5, 0.02)), 1.0))
        self._row(t0, self.t_ms, "transition", "sit_to_lie")
        self.mode = "lie"
        self._lie_side = side

    def lie(self, dur_s: float) -> None:
        self._need("lie")
        t0, t_end = self.t_ms, self.t_ms + _ms(dur_s)
        self._level(t_end, 0.05, 0.08, 0.001, 1.3)
        base = self.posture
        while t_end - self.t_ms > 40000:
            self._hold(_ms(self.rng.uniform(15.0, 30.0)))
            self._move(_ms(self.rng.uniform(1.0, 2.0)), tuple(b + self.rng.normal(0, 2.0) for b in base))
        self._hold(t_end - self.t_ms)
        self._row(t0, t_end, "lying", f"lie_{self._lie_side}")

    def sit_up(self) -> None:
        self._need("lie")
        t0 = self.t_ms
        self._move(_ms(self.rng.uniform(2.5, 4.0)), (self.upright_deg, self.person.stand_lateral_deg * 0.5, 0.0))
        self.shifts.append(Shift(t0 / 1000.0, self.now, 0.0, self.rng.uniform(0.1, 0.25)))
        self.levels.append(Level(t0 / 1000.0, self.now, 0.3, 0.5, 0.02, 1.0))
        self._row(t0, self.t_ms, "transition", "lie_to_sit")
        self.mode = "sit"

    # ---------------------------------------------------------------------- sensor off body
    def _desk_rotation(self) -> Rotation:
        """Sensor -> world rotation of a clip dropped on a desk: mostly flat on its back or
        face, sometimes on an edge, random heading, desk tilted by up to 1.5 deg."""
        rng = self.rng
        axis = rng.choice(3, p=[0.1, 0.1, 0.8])
        down = np.zeros(3)
        down[axis] = rng.choice([-1.0, 1.0])
        lay, _ = Rotation.align_vectors(UP[None, :], down[None, :])
        yaw = Rotation.from_rotvec(UP * rng.uniform(-np.pi, np.pi))
        return small_rotation(rng, 0.0, 1.5) * yaw * lay

    def take_off(self) -> None:
        """Unclip the sensor and put it on the desk (4-9 s of handling)."""
        self._need("stand", "sit")
        rng = self.rng
        t0 = self.t_ms
        self._desk = self._desk_rotation()
        self._hold(_ms(rng.uniform(4.0, 9.0)))
        reach = (rng.uniform(0.2, 0.4), rng.uniform(-0.2, 0.2), -rng.uniform(0.3, 0.5))
        self.offbody.append(OffBody(t0 / 1000.0, self.now, "take_off", self._desk, reach))
        self.levels.append(Level(t0 / 1000.0, self.now, 0.3, 0.3, 0.0, 1.0))
        self._row(t0, self.t_ms, "transition", "take_off")
        self._worn_mode, self.mode = self.mode, "off"

    def desk(self, dur_s: float, code: str = "on_desk") -> None:
        """The sensor lies still on the desk: only sensor noise."""
        self._need("off")
        t0 = self.t_ms
        self._hold(_ms(dur_s))
        self.offbody.append(OffBody(t0 / 1000.0, self.now, "desk", self._desk, (0.0, 0.0, 0.0)))
        self.levels.append(Level(t0 / 1000.0, self.now, 0.0, 0.0, 0.0, 1.0))
        self._row(t0, self.t_ms, "not_worn", code)

    def put_on(self, mode: str = "stand") -> None:
        """Clip the sensor back on; it never sits exactly as before (2-8 deg different)."""
        self._need("off")
        rng = self.rng
        t0 = self.t_ms
        if mode != self._worn_mode:
            self.posture = self._stand_posture() if mode == "stand" else (self.upright_deg, 0.0, 0.0)
            self._key(t0, self.posture)
        self._hold(_ms(rng.uniform(4.0, 10.0)))
        reach = (rng.uniform(0.2, 0.4), rng.uniform(-0.2, 0.2), -rng.uniform(0.3, 0.5))
        self.offbody.append(OffBody(t0 / 1000.0, self.now, "put_on", self._desk, reach))
        self.reattach.append((t0 / 1000.0, small_rotation(rng, 2.0, 8.0)))
        self.levels.append(Level(t0 / 1000.0, self.now, 0.3, 0.3, 0.0, 1.0))
        self._row(t0, self.t_ms, "transition", "put_on")
        self.mode = mode

    # ------------------------------------------------------ what a transition detector misses
    def start_seated(self) -> None:
        """Begin the recording already seated (upright), as when monitoring starts at the desk."""
        if self.t_ms or self.mode != "stand":
            raise RuntimeError("start_seated must come first")
        p = self.person
        self.upright_deg = p.sit_upright_flexion_deg
        self.posture = (self.upright_deg, p.stand_lateral_deg * 0.5, 0.0)
        self.keys = [(0, *self.posture)]
        self.sessions.append({"t_start": 0.0, "upright_flexion_deg": round(self.upright_deg, 3)})
        self.mode = "sit"

    def slow_sit_down(self, code: str = "stand_to_sit_slow") -> None:
        """A slow, careful sit-down (5-8 s, the trunk leaning only 15-30 deg, the hips lowered at
        0.08-0.15 m/s): nothing in it looks like the quick drop of an ordinary one."""
        self._need("stand")
        rng, p = self.rng, self.person
        T = rng.uniform(5.0, 8.0)
        t0 = self.t_ms
        self.upright_deg = p.sit_upright_flexion_deg + float(np.clip(rng.normal(0.0, 1.0), -2.0, 2.0))
        target = (self.upright_deg, p.stand_lateral_deg * 0.5 + rng.normal(0.0, 1.0), rng.normal(0.0, 8.0))
        self._move(_ms(0.5 * T), (p.stand_flexion_deg + rng.uniform(15.0, 30.0), self.posture[1], self.posture[2]))
        self._move(t0 + _ms(T) - self.t_ms, target)
        dz = -rng.uniform(0.3, 0.45)
        t_move = min(1.875 * abs(dz) / rng.uniform(0.08, 0.15), 0.9 * T)
        a = t0 / 1000.0 + 0.05 * T
        self.shifts.append(Shift(a, a + t_move, 0.0, dz))
        self.levels.append(Level(t0 / 1000.0, self.now, 0.3, 0.3, 0.01, 1.0))
        self._row(t0, self.t_ms, "transition", code)
        self.sessions.append({"t_start": self.now, "upright_flexion_deg": round(self.upright_deg, 3)})
        self.mode = "sit"

    def slow_stand_up(self, code: str = "sit_to_stand_slow") -> None:
        """A slow rise (5-8 s, hips raised at 0.08-0.15 m/s, little lean)."""
        self._need("sit")
        rng, p = self.rng, self.person
        T = rng.uniform(5.0, 8.0)
        t0 = self.t_ms
        self._move(_ms(0.45 * T), (p.stand_flexion_deg + rng.uniform(15.0, 30.0), self.posture[1], self.posture[2]))
        self._move(t0 + _ms(T) - self.t_ms, self._stand_posture())
        dz = rng.uniform(0.3, 0.45)
        t_move = min(1.875 * dz / rng.uniform(0.08, 0.15), 0.9 * T)
        b = t0 / 1000.0 + 0.95 * T
        self.shifts.append(Shift(b - t_move, b, 0.0, dz))
        self.levels.append(Level(t0 / 1000.0, self.now, 0.3, 0.3, 0.01, 1.0))
        self._row(t0, self.t_ms, "transition", code)
        self.mode = "stand"

    def hidden(self, verb, gap_before_s: float = 3.0) -> None:
        """Do a transition (sit_down or stand_up) inside a radio gap of 15-45 s that begins a few
        seconds before it: no sample of it arrives."""
        t0 = self.now - gap_before_s
        verb()
        self.gap(t0, self.now - t0 + self.rng.uniform(10.0, 40.0))

    def lie_still(self, dur_s: float) -> None:
        """Lie without moving at all: no shifts, breathing that barely tilts the chest."""
        self._need("lie")
        t0, t_end = self.t_ms, self.t_ms + _ms(dur_s)
        self._level(t_end, 0.0, 0.0, 0.0, 0.25)
        self._hold(t_end - self.t_ms)
        self._row(t0, t_end, "lying", f"lie_{self._lie_side}_still")

    def pedal(self, dur_s: float) -> None:
        """A seated exercise bike: legs turning at 55-85 rpm, the trunk leaning 10-20 deg forward
        onto the handlebar and nearly still; each pedal stroke rocks the pelvis a little."""
        self._need("sit")
        rng = self.rng
        t0, t_end = self.t_ms, self.t_ms + _ms(dur_s)
        self._move(_ms(2.0), (self.upright_deg + rng.uniform(10.0, 20.0), self.posture[1], self.posture[2]))
        rpm = rng.uniform(55.0, 85.0)
        amp = rng.uniform(0.015, 0.04)
        self.bouts.append(Bout(self.now, t_end / 1000.0, "pedal", 2.0 * rpm, amp, 0.5 * amp, amp))
        self._level(t_end, 0.1, 0.15, 0.004, 1.4)
        self._hold(t_end - self.t_ms)
        self._row(t0, t_end, "sitting", "exercise_bike")

    def stick(self, t0_s: float, dur_s: float) -> None:
        """The sensor's readings freeze at exactly (0, 0, 0) (a stuck IMU); the wearer carries on."""
        self.stuck.append((int(round(t0_s * 1000)), int(round(t0_s * 1000)) + _ms(dur_s)))

    # ------------------------------------------------------------------------------ finish
    def gap(self, t0_s: float, dur_s: float) -> None:
        """A BLE outage: no samples arrive; the wearer carries on doing whatever they did."""
        self.gaps.append((int(round(t0_s * 1000)), int(round(t0_s * 1000)) + _ms(dur_s)))

    def fill_to(self, end_s: float) -> None:
        """Carry on with the current activity until end_s (for durations longer than the plan)."""
        rest = end_s - self.now
        if rest <= 0:
            return
        if self.mode == "stand":
            self.stand(rest, "stand")
        elif self.mode == "sit":
            self.sit(rest)
        elif self.mode == "lie":
            self.lie(rest)
        else:
            self.desk(rest)

    def label_rows(self, end_s: float) -> list[tuple[int, int, str, str]]:
        """Rows clipped to [0, end), BLE gaps and a stuck sensor overlaid as no_data, equal
        neighbours merged."""
        end = int(round(end_s * 1000))
        rows = [[a, min(b, end), lab, code] for a, b, lab, code in self.rows if a < end]
        spans = sorted([(a, b, "ble_gap") for a, b in self.gaps] + [(a, b, "stuck_sensor") for a, b in self.stuck])
        return overlay_no_data(rows, [(g0, min(g1, end), why) for g0, g1, why in spans])
