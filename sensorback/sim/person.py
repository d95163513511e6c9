"""One simulated wearer: the individual traits that make one person's signal differ from another's.

Classifiers must cope with people who sit reclined or upright, walk fast or slow and breathe at
their own pace, so each seed draws its own person within published adult ranges.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class Person:
    """Traits of one wearer (angles in degrees, accelerations in g, lengths in m)."""

    placement: str                 # "chest" or "upper_back"
    stand_flexion_deg: float       # upright standing trunk flexion (individual offset, +-5)
    stand_lateral_deg: float       # habitual lateral lean when standing
    sit_upright_rel_deg: float     # upright desk sitting relative to standing (-15 reclined .. +5)
    walk_lean_deg: float           # extra forward lean while walking (1..4)
    cadence_spm: float             # preferred walking cadence, steps per minute (95..125)
    walk_vertical_g: float         # vertical acceleration amplitude at the step frequency
    walk_ap_g: float               # anteroposterior amplitude at the step frequency
    walk_ml_g: float               # mediolateral amplitude at half the step frequency
    breath_hz: float               # resting breathing rate (0.2..0.33 Hz)
    breath_deg: float              # chest-rise angle oscillation (0.5..1.5 deg)
    sway_deg: float                # standing postural sway amplitude (0.5..1 deg)
    lever_m: float                 # hip joint to sensor distance (rotation about the hips moves it)
    sit_to_stand_s: float          # typical duration of a sit-to-stand (1.5..3 s)
    slouchiness: float             # 0..1, how much of the desk time goes to slouching
    usual_slouch_deg: float = 30.0  # how far forward of upright sitting this wearer usually slouches

    @property
    def sit_upright_flexion_deg(self) -> float:
        return self.stand_flexion_deg + self.sit_upright_rel_deg

    @classmethod
    def draw(cls, rng: np.random.Generator) -> "Person":
        cadence = rng.uniform(95.0, 125.0)
        # Faster walkers bounce more: tie the vertical amplitude loosely to cadence.
        vertical = 0.15 + 0.15 * (cadence - 95.0) / 30.0 + rng.uniform(0.0, 0.1)
        placement = "chest" if rng.random() < 0.6 else "upper_back"
        # Traits added later come from a child stream, so every earlier draw (and the plan and
        # start time that follow from this generator) stays as it was.
        later = rng.spawn(1)[0]
        return cls(
            placement=placement,
            stand_flexion_deg=float(np.clip(rng.normal(0.0, 2.5), -5.0, 5.0)),
            stand_lateral_deg=float(np.clip(rng.normal(0.0, 1.2), -3.0, 3.0)),
            sit_upright_rel_deg=float(rng.uniform(-15.0, 5.0)),
            walk_lean_deg=float(rng.uniform(1.0, 4.0)),
            cadence_spm=float(cadence),
            walk_vertical_g=float(vertical),
            walk_ap_g=float(rng.uniform(0.07, 0.13)),
            walk_ml_g=float(rng.uniform(0.05, 0.10)),
            breath_hz=float(rng.uniform(0.2, 0.33)),
            breath_deg=float(rng.uniform(0.5, 1.5) * (1.0 if placement == "chest" else 0.7)),
            sway_deg=float(rng.uniform(0.5, 1.0)),
            lever_m=float(rng.uniform(0.35, 0.5)),
            sit_to_stand_s=float(rng.uniform(1.7, 2.6)),
            slouchiness=float(rng.uniform(0.25, 0.7)),
            usual_slouch_deg=float(later.uniform(25.0, 40.0)),
        )

    def to_meta(self) -> dict:
        d = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        d["sit_upright_flexion_deg"] = round(self.sit_upright_flexion_deg, 4)
        return d
