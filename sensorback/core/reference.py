"""What the core knows about this sensor on this wearer, and the trunk angles it gives.

The clip can be mounted any way round, so "upright" and "forward" are learned (core/personal.py
estimates them; core/forward.py weighs the evidence for forward). Forward is the way the
gravity vector moves in the sensor's axes when the trunk flexes forward. A personal slouch line
(core/slouch.py) comes from the wearer's own slouch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..limits import MAX_GAIN, MAX_OFFSET_G, MIN_GAIN
from .calibration import SensorCalibration
from .forward import KNOWN_PROBABILITY
from .slouch import DEFAULT_SLOUCH_DEG, SlouchRule, half_depth
from .vectors import unit


# How an upright found from walking is described (up_source begins with it).
WALKING_UP = "walking"
# ... one the wearer sat in when told to (a guided calibration; a file's --reference-window A:B):
CALIBRATED_UP = "calibrated upright"
WINDOW_UP = "window"


@dataclass(frozen=True)
class Reference:
    """up/forward: unit vectors in the calibrated sensor frame (forward is perpendicular to up).

    forward_probability: how sure it is that forward is not backwards (1 for a calibration the
    wearer made); below forward.KNOWN_PROBABILITY forward counts as unknown."""

    up: tuple[float, float, float]
    forward: tuple[float, float, float]
    up_source: str
    forward_source: str
    forward_probability: float = 1.0

    @property
    def forward_known(self) -> bool:
        return self.forward_probability >= KNOWN_PROBABILITY

    @property
    def up_from_walking(self) -> bool:
        """The upright is the trunk's mean direction while walking (personal.estimate_up), not a
        seated or typical posture: the posture cue may take it as its walking upright."""
        return self.up_source.startswith(WALKING_UP)

    @property
    def up_seated(self) -> bool:
        """The upright is where the wearer sat when told to sit upright (a calibration's upright
        step, a file's reference window): their own upright sitting posture."""
        return self.up_source == CALIBRATED_UP or self.up_source.startswith(WINDOW_UP + " ")

    def to_dict(self) -> dict:
        return {"up": list(self.up), "forward": list(self.forward), "up_source": self.up_source,
                "forward_source": self.forward_source, "forward_probability": self.forward_probability}


@dataclass(frozen=True)
class Calibration:
    """Everything the decisions need to know about this sensor on this wearer.

    usual_slouch_deg: how far forward of their upright the wearer usually slouches (from a
    calibration or from their own bimodal sitting; None: not known, the default line applies),
    measured from upright_flex / upright_lat (the wearer's upright sitting, in the reference's
    angles: 0 / 0 when the reference is a calibrated upright). stand: the gravity direction of
    the wearer standing (the calibration's optional stand step), None when not shown.
    """

    sensor: SensorCalibration
    reference: Reference
    usual_slouch_deg: float | None = None
    upright_flex: float = 0.0
    upright_lat: float = 0.0
    slouch_source: str = "default"
    stand: tuple[float, float, float] | None = None

    def slouch_rule(self, threshold_deg: float | None = None) -> SlouchRule:
        """The rule that calls a seated epoch slouched: none while forward is unknown; a given
        threshold (the user's --slouch-threshold, from upright); the personal line; the default."""
        if not self.reference.forward_known:
            return SlouchRule(None)
        if threshold_deg is not None:
            return SlouchRule(float(threshold_deg))
        if self.usual_slouch_deg is not None:
            return SlouchRule(half_depth(self.usual_slouch_deg), self.upright_flex, self.upright_lat)
        return SlouchRule(DEFAULT_SLOUCH_DEG)

    def with_sensor(self, sensor: SensorCalibration) -> "Calibration":
        """The same wearer reference under another sensor correction (a live session that has
        learned the sensor's offset and gain, sensorback.live): up and stand are directions of
        gravity as ``self.sensor`` corrected it, each the posture whose raw reading ``sensor``
        reads as 1 g in that direction (redirect); forward, a direction of change, goes through
        the correction's linear part and stays perpendicular to up. The slouch angles are
        measured from these directions and are kept."""
        if sensor == self.sensor:
            return self
        old = self.sensor
        up = redirect(np.asarray(self.reference.up, float), old, sensor)
        fwd = np.asarray(self.reference.forward, float) * (np.asarray(sensor.gain) / np.asarray(old.gain))
        fwd = unit(fwd - (fwd @ up) * up)
        ref = replace(self.reference, up=tuple(map(float, up)), forward=tuple(map(float, fwd)))
        stand = None if self.stand is None else tuple(map(float, redirect(np.asarray(self.stand, float), old, sensor)))
        return replace(self, sensor=sensor, reference=ref, stand=stand)

    def to_dict(self) -> dict:
        return {"sensor": self.sensor.to_dict(), "reference": self.reference.to_dict(),
                "slouch": {"usual_deg": self.usual_slouch_deg, "upright_flex": self.upright_flex,
                           "upright_lat": self.upright_lat, "source": self.slouch_source},
                "stand": None if self.stand is None else list(self.stand)}

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        """The inverse of to_dict (also reads calibrations stored before the personal slouch line
        existed). Raises a ValueError naming the field (e.g. "the field 'sensor' is missing") when
        it does not fit."""
        sensor = sensor_from_dict(_field(d, "sensor"))
        r = _field(d, "reference")
        up = _unit3(_field(r, "up", "reference"), "reference.up")
        fwd = _unit3(_field(r, "forward", "reference"), "reference.forward")
        p = float(r.get("forward_probability", 1.0))
        if not 0.0 <= p <= 1.0:
            raise ValueError("forward_probability must be between 0 and 1")
        ref = Reference(up, fwd, str(r.get("up_source", "stored")), str(r.get("forward_source", "stored")), p)
        sl = d.get("slouch") or {}
        if not isinstance(sl, dict):
            raise ValueError("the field 'slouch' must be a JSON object")
        usual = sl.get("usual_deg")
        usual = None if usual is None else float(usual)
        if usual is not None and not (0.0 < usual < 90.0):
            raise ValueError("the usual slouch must be between 0 and 90 degrees")
        stand = d.get("stand")
        return cls(sensor, ref, usual, float(sl.get("upright_flex", 0.0)), float(sl.get("upright_lat", 0.0)),
                   str(sl.get("source", "stored" if usual is not None else "default")),
                   None if stand is None else _unit3(stand, "stand"))


def sensor_from_dict(s) -> SensorCalibration:
    """SensorCalibration.to_dict's inverse (a ValueError naming the field when it does not fit): the
    one place a stored sensor correction is read (a calibration file, calibrations.json's entries
    and learned sensors). Gains within limits.MIN_GAIN to MAX_GAIN, offsets within MAX_OFFSET_G."""
    offset = _three(_field(s, "offset", "sensor"), "sensor.offset", -MAX_OFFSET_G, MAX_OFFSET_G, " g",
                    "a sensor's offset is tens of mg")
    gain = _three(_field(s, "gain", "sensor"), "sensor.gain", MIN_GAIN, MAX_GAIN, "",
                  "a sensor's gain is a few percent off 1")
    return SensorCalibration(offset, gain, str(s.get("note", "stored")))


def recorrect(values: np.ndarray, old: SensorCalibration, new: SensorCalibration) -> np.ndarray:
    """Readings corrected by ``old`` (g, one per row or a single one) as ``new`` corrects the same
    raw readings: raw = value / old.gain + old.offset, then (raw - new.offset) * new.gain.
    Exact for epoch means (each correction is affine per axis); NaN stays NaN."""
    v = np.asarray(values, float)
    return (v / np.asarray(old.gain) + (np.asarray(old.offset) - np.asarray(new.offset))) * np.asarray(new.gain)


def redirect(dirs: np.ndarray, old: SensorCalibration, new: SensorCalibration) -> np.ndarray:
    """Unit directions of gravity corrected by ``old``, re-expressed under ``new``: each stands for
    the raw readings that ``old`` reads in that direction (a ray, whatever their magnitude), and
    the posture is the one of them that ``new`` reads as 1 g. Exact when ``new`` is the sensor's
    true correction, however wrong ``old`` was (a direction found on an uncorrected sensor).
    Rows of unit vectors or a single one; NaN stays NaN."""
    d = np.asarray(dirs, float)
    a = d * (np.asarray(new.gain) / np.asarray(old.gain))        # the ray's direction under new
    b = (np.asarray(old.offset) - np.asarray(new.offset)) * np.asarray(new.gain)  # its start under new
    # |s a + b| = 1 for the s > 0 on the ray: s^2 |a|^2 + 2 s (a . b) + |b|^2 - 1 = 0
    aa = np.sum(a * a, axis=-1)
    ab = np.sum(a * b, axis=-1)
    s = (-ab + np.sqrt(np.maximum(ab * ab - aa * (float(b @ b) - 1.0), 0.0))) / aa
    return unit(s[..., None] * a + b) if d.ndim > 1 else unit(s * a + b)


def _field(d, key: str, inside: str = ""):
    """d[key] of a stored calibration (``inside``: the field d is); a ValueError naming the field
    when it is missing."""
    if not isinstance(d, dict):
        raise ValueError(f"the field '{inside}' must be a JSON object" if inside else "not a JSON object")
    if key not in d:
        raise ValueError(f"the field '{inside + '.' if inside else ''}{key}' is missing")
    return d[key]


def _three(v, name: str, lo: float = -math.inf, hi: float = math.inf, unit: str = "",
           why: str = "") -> tuple[float, float, float]:
    """3 finite numbers, each from lo to hi; the error names the range (in ``unit``), the values
    given and ``why`` when there is a range."""
    try:
        a = tuple(float(x) for x in v)
    except (TypeError, ValueError):
        a = ()
    if len(a) != 3 or not all(math.isfinite(x) and lo <= x <= hi for x in a):
        text = f"the field '{name}' must be 3 finite numbers"
        if math.isfinite(lo) or math.isfinite(hi):
            got = f", got [{', '.join(f'{x:g}' for x in a)}]" if len(a) == 3 else ""
            text += f" from {lo:g} to {hi:g}{unit}{got}: {why}"
        raise ValueError(text)
    return a


def _unit3(v, name: str) -> tuple[float, float, float]:
    try:
        a = np.asarray(v, float)
    except (TypeError, ValueError):
        a = np.zeros(0)
    if a.shape != (3,) or not np.all(np.isfinite(a)) or not np.linalg.norm(a) > 0:
        raise ValueError(f"the field '{name}' must be 3 finite numbers, not all zero")
    # Stored unit vectors are kept bit for bit (the same epochs as when they were made).
    a = a if abs(float(np.linalg.norm(a)) - 1.0) < 1e-9 else unit(a)
    return tuple(map(float, a))


def angles(g: np.ndarray, ref: Reference, lean: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inclination from upright, forward flexion (+ forward) and lateral lean, degrees (lean
    False: the inclination only, flexion and lateral lean NaN, as where forward is not known)."""
    up = np.asarray(ref.up)
    fwd = np.asarray(ref.forward)
    side = np.cross(up, fwd)
    # The projections in float64, the angles in float32 (what they are stored as; the
    # trigonometry runs several times faster). Inclination as an arctangent of the sideways and
    # upward parts: as exact near upright as anywhere else, unlike arccos. The projections are
    # written out column by column, not as g @ v: a matrix-vector product on column-contiguous
    # rows (vectors.unit) rounds a row's last bit differently depending on where the array
    # starts, and near upright that bit is the angle (streaming must equal batch bit for bit).
    g0, g1, g2 = g[:, 0], g[:, 1], g[:, 2]
    cu, cf, cs = ((g0 * v[0] + g1 * v[1] + g2 * v[2]).astype(np.float32) for v in (up, fwd, side))
    deg = np.float32(180.0 / np.pi)
    incl = np.arctan2(np.sqrt(cf * cf + cs * cs), cu)
    incl *= deg
    if not lean:  # (the arctangents are most of the cost)
        return incl, np.full(incl.shape, np.nan, np.float32), np.full(incl.shape, np.nan, np.float32)
    flex = np.arctan2(cf, cu)
    lat = np.arctan2(cs, cu)
    for a in (flex, lat):
        a *= deg
    return incl, flex, lat
