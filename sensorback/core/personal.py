"""Personal calibration, in one place: the wearer's upright, forward direction and usual slouch.

Three ways to get it, all here:

- **marked windows** (`from_windows`: `sensorback calibrate` guides the wearer through sitting
  upright, slouching the way they usually do and, optionally, standing; `--reference-window` /
  `--forward-window` mark the same in a file, see `estimate`): the upright is the mean direction
  of the upright window, forward the direction of the lean in the slouch window, and the
  wearer's usual slouch is how far that lean goes (core/slouch.py turns it into a personal line);
- **the data alone** (`estimate`): upright from walking (the one activity where the trunk is
  reliably upright), forward from the evidence core/forward.py weighs (sit/stand transitions and
  walking), and the usual slouch from the wearer's own sitting when it is clearly bimodal
  (`learn_slouch`); until forward is known with confidence nothing is called slouching;
- **learning as it goes** (`learn`, `learn_slouch`, `learn_sensor`): a live session without a
  stored calibration starts from an estimate on its first seconds and refines forward and the
  slouch line from what it has seen, with the same estimators; any session refits the sensor's
  offset and gain (calibration.fit_sphere) on the still epochs seen so far (`StillMeans`).

Pure numpy, like the rest of the core; storing calibrations is sensorback.calibrations' job.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NoReturn

import numpy as np

from ..errors import SensorbackError
from ..timefmt import count, duration, pct
from .calibration import IDENTITY, MIN_STILL_EPOCHS, SensorCalibration, fit_sphere
from .calibration import still_for_fit
from .calibration import distinct_orientations, magnitude_error
from .epoch_stats import EpochStats
from .epochs import EpochTable
from .forward import KNOWN_PROBABILITY, ForwardEstimate, combine, gait_votes, transition_votes
from .options import CoreOptions
from .reference import CALIBRATED_UP, WALKING_UP, WINDOW_UP, Calibration, Reference, unit
from .slouch import DEFAULT_SLOUCH_DEG, MIN_SLOUCH_SHARE, SlouchRule, half_depth, seated_modes, seated_peak
from .states import MOVING, SITTING, SLOUCHING
from .vectors import angle_deg

MIN_WALKING_EPOCHS = 10
# What a calibration step (a guided step, or a window marking one) must show to be used, checked
# in one place (held_direction, slouch_lean, check_stand) for from_windows and estimate alike.
# A slouch window must lean at least this far from upright to show a direction: mild slouchers
# lean 6-12 degrees, and still seconds average the direction to a fraction of a degree.
MIN_SLOUCH_LEAN_DEG = 4.0
# A step is "still" when its epochs move less than this (g, SD of the vector; median over them).
STILL_SD_G = 0.08
# A slouch leans no further than options.lying_deg (past it a still trunk is lying, for the
# decisions too), and a stand step is short of it from the seated upright too: not lying, nor a
# sensor put down. A stand may lie well beyond posture_cue.LEANING_DEG (30 deg: held that far
# over, a chest is sitting): a sensor on the waist turns with the pelvis, which tilts back some
# 40 deg when one sits (HAPT exp01: standing 40 deg from its sitting). No new numbers: each bound
# is one the decisions apply. Which way a slouch step leans is not checked against the forward
# direction the rest of the recording shows: on the labelled posture recordings that estimate
# pointed 81 deg (SmartPosture) and 126 deg (Got-Your-Back, lumbar) away from the wearers' real
# slouches, so it would refuse the wearer's own slouch on the word of a weaker source.
# A learned forward direction replaces the one in use when they differ by more than this.
LEARN_CHANGE_DEG = 10.0
# A learned slouch line replaces the one in use when it moves by more than this.
LEARN_LINE_CHANGE_DEG = 1.0
# Flexion this far past the default line is clearly past it (twice the spread of a held posture).
CLEARLY_PAST_DEG = 4.0
LEARNED = "learned"  # slouch_source of a usual slouch learned from the wearer's sitting
AWAITS = "slouch detection awaits a calibration ('sensorback calibrate') or the first walk, sit-down or stand-up"


def window_epochs(t_mid: np.ndarray, window: tuple[float, float], epoch_s: float) -> np.ndarray:
    """The epochs whose middle lies in the window; a window too short to hold an epoch's middle
    (10:10.5 with 1 s epochs) takes the epochs it overlaps."""
    a, b = window
    inside = (t_mid >= a) & (t_mid < b)
    if not inside.any() and a < b:
        inside = (t_mid + epoch_s / 2 > a) & (t_mid - epoch_s / 2 < b)
    return inside


NO_SAMPLES = "no usable samples (a radio gap, or the sensor off)"  # (why held_direction found none)


def held_direction(g: np.ndarray, sd: np.ndarray, sel: np.ndarray) -> tuple[np.ndarray | None, str]:
    """The median direction of gravity over the selected epochs, a posture held still, or (None,
    why not): no usable samples (a gap, the sensor off), or the wearer moving (STILL_SD_G)."""
    sel = sel & np.isfinite(g[:, 0])
    if not sel.any():
        return None, NO_SAMPLES
    moved = float(np.median(sd[sel]))
    if moved > STILL_SD_G:
        return None, f"the trunk was moving ({moved:.2f} g; holding still is under {STILL_SD_G:g} g)"
    return unit(np.median(g[sel], axis=0)), ""


def estimate_up(g: np.ndarray, walking: np.ndarray, still_upright_candidates: np.ndarray,
                epoch_s: float) -> tuple[np.ndarray, str]:
    """Upright from walking bouts; without walking, the most common still posture (less reliable)."""
    if walking.sum() >= MIN_WALKING_EPOCHS:
        return unit(np.median(g[walking], axis=0)), f"{WALKING_UP} ({walking.sum() * epoch_s:.0f} s)"
    pool = g[still_upright_candidates]
    if pool.shape[0] == 0:
        pool = g[np.isfinite(g[:, 0])]
    if pool.shape[0] == 0:
        return np.array([0.0, 0.0, 1.0]), "default (no usable data)"
    return unit(np.median(pool, axis=0)), "the typical still posture (no walking found)"


def lean_from_window(lean: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(forward direction, how far the lean goes from upright in degrees), or None when the lean
    is under MIN_SLOUCH_LEAN_DEG."""
    d = lean - (lean @ up) * up
    tilt = float(angle_deg(lean, up))
    if tilt < MIN_SLOUCH_LEAN_DEG or np.linalg.norm(d) < 1e-9:
        return None
    return unit(d), tilt


def slouch_lean(lean: np.ndarray, up: np.ndarray, options: CoreOptions
                ) -> tuple[tuple[np.ndarray, float] | None, str, bool]:
    """A slouch step's lean, checked (see the bounds above): (found, why, refused). found:
    (forward, depth in degrees) when it calibrates a slouch; otherwise why not, and whether that
    makes the step nonsense (refused) or only silent (a lean under MIN_SLOUCH_LEAN_DEG: the
    default applies)."""
    found = lean_from_window(lean, up)
    if found is None:
        return None, (f"the trunk hardly leaned ({float(angle_deg(lean, up)):.0f} deg from upright, under "
                      f"{MIN_SLOUCH_LEAN_DEG:g})"), False
    if found[1] >= options.lying_deg:
        return None, (f"the trunk leaned {found[1]:.0f} deg from upright, as far as lying down "
                      f"({options.lying_deg:g} or more)"), True
    return found, "", False


def check_stand(stand: np.ndarray, up: np.ndarray, options: CoreOptions) -> str:
    """Why a stand step's direction is nonsense (held as far as lying from the seated upright: lying,
    or the sensor put down), or ''."""
    tilt = float(angle_deg(stand, up))
    if tilt >= options.lying_deg:
        return (f"the trunk was held {tilt:.0f} deg from upright, as far as lying down ({options.lying_deg:g} "
                "or more), not standing")
    return ""


def rose_since(stats: EpochStats, options: CoreOptions, sd: np.ndarray, since: float, until: float
               ) -> tuple[bool, bool]:
    """(Did the wearer get onto their feet after `since` and stay there until `until` (sample
    time)?, did data go missing in between, where a rise may have gone unheard?) (sd: each row's
    SD of acceleration, as _moments gives it.)

    A stand step is standing only if the wearer rose from the seated step before it: nobody gets
    from a chair onto their feet without lifting the body, which the transition measure hears (a
    stand-up, sure or slow, in a window wholly after `since`; 30 of 31 labelled sit-to-stand on
    the HAPT recordings), or walks there (stepping that lasts, as the decisions are sure of
    walking: decide.on_feet_of; one stepping second is a shuffle). Transitions are trusted as the
    decisions trust them (heard.distrust, heard.silence_opposite: not torn by missing data, no
    sit-down read in a window that starts inside a stand-up; a landing straight from walking is a
    sit-down), and the last sign of a rise must come after any sit-down."""
    from .decide import is_walking, on_feet_counts, on_feet_of
    from .heard import distrust, on_every_epoch, silence_opposite
    from .runs import since_last

    first = int(stats.k[0])
    count = int(stats.k[-1]) - first + 1
    n, _, _, up, down, landed, _, _, slow_up, slow_down, spliced, _ = on_every_epoch(stats, first, count,
                                                                                  options.lying_deg)
    span = options.transition_epochs
    typical = float(np.median(stats.n[stats.n > 0])) if np.any(stats.n > 0) else 1.0
    # (CoreOptions.min_samples, from the typical count of samples: the rate is not known here)
    has_data = n >= max(1, int(np.ceil(options.min_coverage * typical)))
    gap = ~has_data | spliced
    distrust((up, down, landed, slow_up, slow_down), gap, span, span - 1, 10**9)
    walking = np.zeros(count, bool)
    walking[stats.k - first] = is_walking(stats.periodicity, stats.cadence_spm, sd)
    land = np.flatnonzero(landed)
    down[land[since_last(walking, 10**9, land)[0] < span]] = True  # sat straight down from walking
    up, down, slow_up, _, _, _ = silence_opposite(up, down, slow_up, slow_down, span, 10**9, 10**9)
    k = np.arange(first, first + count)
    ends_in = (k + 1) * options.epoch_s <= until
    window_in = ends_in & ((k - span + 1) * options.epoch_s >= since)  # the whole window after `since`
    after = ends_in & (k * options.epoch_s >= since)
    history = np.zeros(on_feet_counts(options.epoch_s)[1] - 1, bool)
    on_feet = after & on_feet_of(walking & after, history, options.epoch_s)[0]
    feet = np.flatnonzero((window_in & (up | slow_up)) | on_feet)
    sat = np.flatnonzero(window_in & down)
    return feet.size > 0 and (sat.size == 0 or feet[-1] > sat[-1]), bool((after & gap).any())


def _not_risen(stats: EpochStats, options: CoreOptions, sd: np.ndarray, stand: tuple[float, float],
               seated: dict[str, tuple[float, float] | None]) -> tuple[str, float, bool] | None:
    """Why a stand window is no standing: (the name of the seated window that began last before it,
    when that began, whether data went missing since) when the wearer was not seen to rise from it
    by the stand window's end (rose_since); None when they were, or no seated window came before."""
    before = [(w[0], name) for name, w in seated.items() if w is not None and w[0] < stand[0]]
    if not before:
        return None
    since, name = max(before)
    rose, missing = rose_since(stats, options, sd, since, stand[1])
    return None if rose else (name, since, missing)


def _moments(stats: EpochStats, options: CoreOptions, sensor: SensorCalibration):
    mean, var = sensor.apply_mean_var(stats.mean, stats.var)
    g = unit(mean)
    sd = np.sqrt(var[:, 0] + var[:, 1] + var[:, 2])
    mid = (stats.k + 0.5) * options.epoch_s
    return g, sd, mid


def forward_evidence(stats: EpochStats, options: CoreOptions, sensor: SensorCalibration, up: np.ndarray,
                     moments=None) -> ForwardEstimate:
    """Forward from the sit/stand transitions and the walking in these epoch statistics
    (moments: their _moments, when the caller has them already)."""
    from .decide import is_walking
    from .heard import transition_events

    g, sd, _ = moments if moments is not None else _moments(stats, options, sensor)
    walking = is_walking(stats.periodicity, stats.cadence_spm, sd)
    span = options.transition_epochs
    votes = [transition_votes(g, up, stats.k, transition_events(stats), span),
             gait_votes(stats.gait_lead, sensor.gain, up, walking)]
    return combine(up, votes)


def stuck_note(stats: EpochStats, options: CoreOptions) -> str | None:
    """A warning when epochs read exactly (0, 0, 0) throughout (a stuck sensor), else None.

    Such epochs carry no samples and NaN moments (epoch_stats.measure_epochs), so every estimate
    here, and the sensor's sphere fit, leaves them out by themselves."""
    count = int(np.count_nonzero(stats.n == 0))
    if not count:
        return None
    share = count / max(len(stats), 1)
    return (f"sensor fault: {duration(count * options.epoch_s)} ({pct(share)} of the epochs with samples) read "
            "exactly (0, 0, 0), which no working accelerometer does: counted as no data, left out of "
            "the calibration")


def estimate(stats: EpochStats, options: CoreOptions, sensor: SensorCalibration,
             source: str = "recording") -> tuple[Calibration, list[str]]:
    """The wearer's calibration from a recording's epoch statistics (or from the windows that
    options mark in it). The usual slouch is learned from sitting separately (`learn_slouch`)."""
    from .decide import is_walking

    notes = [f"sensor calibration: {sensor.note}"]
    stuck = stuck_note(stats, options)
    if stuck:
        notes.append(stuck)
    moments = _moments(stats, options, sensor)
    g, sd, mid = moments
    walking = is_walking(stats.periodicity, stats.cadence_spm, sd)
    quiet = sd < 0.05

    def refused(option: str, window: tuple[float, float], why: str) -> SensorbackError:
        return SensorbackError(f"{option} {window[0]:g}:{window[1]:g}: {why}, in that window of the {source}")

    def told(option: str, window: tuple[float, float]) -> np.ndarray:
        """The direction of gravity held still in a window the options mark (the checks of a
        guided step; a one-line error when it has none)."""
        found, why = held_direction(g, sd, window_epochs(mid, window, options.epoch_s))
        if found is None:
            raise refused(option, window, why)
        return found

    if options.reference_window is not None:
        up = told("--reference-window", options.reference_window)
        up_source = f"{WINDOW_UP} {options.reference_window[0]:g}:{options.reference_window[1]:g} s"
    else:
        up, up_source = estimate_up(g, walking, quiet, options.epoch_s)
        if walking.sum() < MIN_WALKING_EPOCHS:  # (from walking, the still candidates are not used)
            upright_ish = quiet & (g @ up > np.cos(np.radians(45)))
            up, up_source = estimate_up(g, walking, upright_ish, options.epoch_s)
    usual, slouch_source = None, "default"
    if options.forward_window is not None:
        a, b = options.forward_window
        lean = told("--forward-window", options.forward_window)
        found, why, _ = slouch_lean(lean, up, options)
        if found is None:  # a window given to show the slouch that shows none is refused too
            raise refused("--forward-window", options.forward_window, why)
        fwd, usual = found
        fwd_source, probability = f"window {a:g}:{b:g} s", 1.0
        slouch_source = f"the slouch in window {a:g}:{b:g} s ({usual:.0f} deg)"
        fwd, refined = refine_forward(fwd, usual, forward_evidence(stats, options, sensor, up, moments))
        if refined:
            fwd_source += f", its azimuth refined by {refined}"
    else:
        est = forward_evidence(stats, options, sensor, up, moments)
        probability = est.probability
        fwd = est.direction if est.direction is not None else _any_perpendicular(up)
        fwd_source = est.describe()
    notes.append(f"upright reference: {up_source}; forward: {fwd_source}")
    if probability < KNOWN_PROBABILITY:
        notes.append(AWAITS)
    stand = None
    if options.stand_window is not None:
        a, b = options.stand_window
        stand = told("--stand-window", options.stand_window)
        why = check_stand(stand, up, options)
        if why:
            raise refused("--stand-window", options.stand_window, why)
        seated = _not_risen(stats, options, sd, options.stand_window, {"--reference-window": options.reference_window,
                                                                       "--forward-window": options.forward_window})
        if seated is not None:
            name, since, missing = seated
            raise refused("--stand-window", options.stand_window,
                          f"no stand-up or walk after {name} began ({since:g} s), "
                          + ("so the wearer was still seated, or rose where data is missing" if missing
                             else "so the wearer was still seated"))
        notes.append(standing_note(f"window {a:g}:{b:g} s", stand, up))
        stand = tuple(map(float, stand))
    ref = Reference(tuple(map(float, up)), tuple(map(float, fwd)), up_source, fwd_source, float(probability))
    return Calibration(sensor, ref, usual_slouch_deg=usual, slouch_source=slouch_source, stand=stand), notes


# The azimuth of a mild slouch window is uncertain (a 7 degree lean with 2 degrees of sideways
# drift points 16 degrees off): other evidence in the same recording refines it when it agrees
# within this angle. The window always decides the sign.
REFINE_WITHIN_DEG = 45.0


def refine_forward(fwd: np.ndarray, lean_deg: float, est: ForwardEstimate) -> tuple[np.ndarray, str]:
    """The calibrated forward direction, its azimuth averaged with the evidence of walking and
    transitions (when there is any and it points within REFINE_WITHIN_DEG), each weighted by how
    far it leans: the window by its own lean, the evidence as a lean of 30 degrees once forward
    is known from it (a sit-down leans 30-45), in proportion to its probability beyond a coin toss
    below that. Returns (direction, what refined it or '')."""
    if est.direction is None or float(fwd @ est.direction) < np.cos(np.radians(REFINE_WITHIN_DEG)):
        return fwd, ""
    weight = np.sin(np.radians(30.0)) * min(1.0, max(0.0, 2.0 * est.probability - 1.0))
    if weight <= 0.0:
        return fwd, ""
    mixed = unit(np.sin(np.radians(lean_deg)) * fwd + weight * est.direction)
    return mixed, est.describe()


def _any_perpendicular(up: np.ndarray) -> np.ndarray:
    helper = np.eye(3)[int(np.argmin(np.abs(up)))]
    return unit(helper - (helper @ up) * up)


def from_windows(stats: EpochStats, options: CoreOptions, upright: tuple[float, float],
                 slouch: tuple[float, float] | None = None, stand: tuple[float, float] | None = None, *,
                 previous: Calibration | None = None, sensor: SensorCalibration | None = None
                 ) -> tuple[Calibration, list[str]]:
    """A calibration from the windows a wearer was guided through (sample-time seconds).

    upright: sitting upright and still -> the upright reference. slouch: slouching the way they
    usually do -> forward and the usual slouch depth; without it (or when it hardly leans), the
    previous calibration's forward (made perpendicular to the new upright) and usual slouch, or
    forward unknown (learned later). stand: standing still -> the standing direction.
    The sensor's offset/gain: `sensor`, else the previous calibration's, else none. A step that
    cannot be used (no samples, moving, a lean that is no slouch, a stand that is no standing: the
    checks above) is a one-line SensorbackError naming it, and nothing is made.
    """
    sensor = sensor if sensor is not None else (previous.sensor if previous is not None else IDENTITY)
    moments = _moments(stats, options, sensor)
    g, sd, mid = moments

    def window(w, step):
        sel = (mid >= w[0]) & (mid < w[1])
        found, why = held_direction(g, sd, sel)
        if found is None:
            refuse(step, why)
        return found, int(np.count_nonzero(sel & np.isfinite(g[:, 0])))

    up, n = window(upright, "upright")
    notes = [f"upright: {n} s of sitting upright"]
    fwd, usual, probability, fwd_source, slouch_source = None, None, 0.5, "", "default"
    if slouch is not None:
        lean, _ = window(slouch, "slouch")
        found, why, refused = slouch_lean(lean, up, options)
        if refused:
            refuse("slouch", why)
        if found is not None:
            fwd, usual = found
            probability, fwd_source = 1.0, "calibrated slouch"
            fwd, refined = refine_forward(fwd, usual, forward_evidence(stats, options, sensor, up, moments))
            if refined:
                fwd_source += f", its azimuth refined by {refined}"
            slouch_source = f"calibrated slouch ({usual:.0f} deg)"
            notes.append(f"slouch: {usual:.0f} degrees forward of upright; slouching counts from "
                         f"{half_depth(usual):.0f} degrees")
        else:
            notes.append(f"slouch step: {why}, so it shows no forward direction or usual slouch")
    if fwd is None and previous is not None:
        f = np.asarray(previous.reference.forward, float)
        f = f - (f @ up) * up
        if np.linalg.norm(f) >= 0.3 and previous.reference.forward_known:
            fwd, probability = unit(f), previous.reference.forward_probability
            fwd_source = f"kept from before ({previous.reference.forward_source})"
            # A usual slouch measured from a calibrated upright still holds from the new one; one
            # learned from a mode of the old reference does not.
            if previous.upright_flex == 0.0 and previous.upright_lat == 0.0:
                usual, slouch_source = previous.usual_slouch_deg, previous.slouch_source
    if fwd is None:
        fwd, probability = _any_perpendicular(up), 0.5
        fwd_source = "unknown until you slouch in a calibration, walk, sit down or stand up"
    if slouch is None or usual is None:
        notes.append(f"forward: {fwd_source}")
        if usual is None and probability >= 1.0:
            notes.append(f"slouching counts from {DEFAULT_SLOUCH_DEG:g} degrees (the default)")
    stand_dir = None
    if stand is not None:
        stand_dir, n = window(stand, "stand")
        why = check_stand(stand_dir, up, options)
        if why:
            refuse("stand", why)
        seated = _not_risen(stats, options, sd, stand, {"upright": upright, "slouch": slouch})
        if seated is not None:
            name, _, missing = seated
            why = "(still seated, or did the sensor's data drop out as you rose?)" if missing else "(still seated?)"
            refuse("stand", f"no stand-up was felt after the {name} step began {why}")
        notes.append(standing_note(f"{n} s", stand_dir, up))
    cal = Calibration(sensor, _ref(up, fwd, probability, fwd_source), usual, 0.0, 0.0, slouch_source,
                      None if stand_dir is None else tuple(map(float, stand_dir)))
    return cal, notes


#: What the wearer is asked to do again when a guided step cannot be used.
STEP_AGAIN = {"upright": "sit upright and still, and try again",
              "slouch": "slouch forward the way you usually do, hold it still, and try again",
              "stand": "stand up straight and stand still, and try again"}


def refuse(step: str, why: str) -> NoReturn:
    """A guided step that cannot be used, as the one-line error the wearer sees."""
    again = "check the sensor and try again" if why == NO_SAMPLES else STEP_AGAIN[step]
    raise SensorbackError(f"calibrate: {step} step: {why}; {again}")


def standing_note(what: str, stand: np.ndarray, up: np.ndarray) -> str:
    """The calibration note on a stand step (or window): how far standing lies from the upright."""
    tilt = round(float(angle_deg(stand, up)))
    return f"standing: {what}, {count(tilt, 'degree')} from the upright reference"


def _ref(up, fwd, probability: float, fwd_source: str) -> Reference:
    return Reference(tuple(map(float, up)), tuple(map(float, fwd)), CALIBRATED_UP, fwd_source, float(probability))


def learn(stats: EpochStats, options: CoreOptions, calibration: Calibration) -> Calibration | None:
    """The calibration with the forward direction the evidence in `stats` shows, when it is
    known and differs from the one in use (by LEARN_CHANGE_DEG, or the one in use is not known);
    None otherwise. Forward known once is kept when later evidence is less sure."""
    if len(stats) == 0:
        return None
    up = np.asarray(calibration.reference.up, float)
    est = forward_evidence(stats, options, calibration.sensor, up)
    if not est.known:
        return None
    old = np.asarray(calibration.reference.forward, float)
    turn = float(angle_deg(old, est.direction))
    if calibration.reference.forward_known and turn <= LEARN_CHANGE_DEG:
        return None
    ref = replace(calibration.reference, forward=tuple(map(float, est.direction)), forward_source=est.describe(),
                  forward_probability=est.probability)
    return replace(calibration, reference=ref)


def learn_slouch(epochs: EpochTable, calibration: Calibration) -> tuple[Calibration, str] | None:
    """The calibration with the personal slouch line learned from the seated epochs; None when
    there is nothing to learn (forward unknown, too few seated epochs, nothing clear) or the line
    would move by LEARN_LINE_CHANGE_DEG or less. Returns (calibration, what was learned).

    - With a usual slouch from a calibration, only the upright moves: to the seated posture held
      most, when that lies within half the usual slouch of the calibrated upright. People's
      upright varies by a degree or two from one sitting to the next, a third of a mild
      sloucher's line; the posture held most is their upright on the whole, one calibration
      only one sample of it.
    - Otherwise the usual slouch itself, when the wearer's sitting is clearly bimodal
      (slouch.seated_modes) and the default line would cut through the slouched mode (a deep
      slouch is caught by the default line as it is, so a wearer with a mode past it keeps it).
    """
    if not calibration.reference.forward_known:
        return None
    seated = (epochs.state == SITTING) | (epochs.state == SLOUCHING)
    flex, lat = epochs.flexion_deg[seated], epochs.lateral_deg[seated]
    old = calibration.slouch_rule()
    if calibration.usual_slouch_deg is not None and not calibration.slouch_source.startswith(LEARNED):
        peak = seated_peak(flex, lat)
        if peak is None or np.hypot(*peak) > 0.5 * calibration.usual_slouch_deg:
            return None
        cal = replace(calibration, upright_flex=peak[0], upright_lat=peak[1])
        what = f"upright as you sit most, {peak[0]:+.0f} deg from the calibrated one"
    else:
        # A wearer who spends a share of their sitting clearly past the default line has a slouch
        # the default catches (checked here first: it spares the mixture fit on most days).
        if np.count_nonzero(flex >= DEFAULT_SLOUCH_DEG + CLEARLY_PAST_DEG) >= MIN_SLOUCH_SHARE * max(flex.shape[0], 1):
            return None
        modes = seated_modes(flex, lat)
        # A slouch the default line catches whole (a mode past it) needs no personal line, and with
        # such a mode, shallower leans are not this wearer's slouch.
        if modes is None or modes.deep_flex is not None or modes.slouch_flex - 2.0 * modes.slouch_sd >= DEFAULT_SLOUCH_DEG:
            return None
        cal = replace(calibration, usual_slouch_deg=modes.depth_deg, upright_flex=modes.upright_flex,
                      upright_lat=modes.upright_lat, slouch_source=f"{LEARNED}: {modes.describe()}")
        what = modes.describe()
    new = cal.slouch_rule()
    if (old.line_deg is not None and abs(new.line_deg - old.line_deg) <= LEARN_LINE_CHANGE_DEG
            and abs(new.origin_lat - old.origin_lat) <= LEARN_LINE_CHANGE_DEG):
        return None
    return cal, what


# The still epochs a stream keeps for the sensor fit (StillMeans): at most this many, 28 bytes
# each (the raw mean and the SD): 0.9 MB however long the stream. An 8-hour desk day has
# 18,000-24,000 still epochs, all kept (the fit is then the one a whole recording gets); past the
# cap every other one is dropped and from then on every other one kept, and so on, so that a
# week stays evenly represented.
STILL_KEEP = 1 << 15
# A fitted sensor correction replaces the one in use only when it gets |a| of the still postures
# seen so far (one per 0.05 g cell, as the fit weighs them) right by this much more (g, RMS).
# |a| is what a wrong offset or gain spoils: a sit-down's vertical velocity is |a| integrated
# over seconds, and 30 mg over a 30-45 degree lean gives several tenths of m/s. 5 mg is 0.5 % of
# gain at 1 g, and above the 1-2 mg by which fits of overlapping stretches of the same day
# differ: a smaller gain would switch back and forth between fits that trade an offset against
# a gain along an axis gravity hardly left (measured: benchmarks/live_sensor.py).
SENSOR_CHANGE_G = 0.005


class StillMeans:
    """The raw means and SDs of a stream's still epochs (SD below the sphere fit's bound), for
    calibration.fit_sphere, in bounded memory (``cap`` rows, allocated once): every one until
    the cap, then every 2nd, 4th, ... (``stride``) still epoch, exactly those that thinning so
    from the start would have kept (the ones whose count is a multiple of ``stride``)."""

    def __init__(self, cap: int = STILL_KEEP):
        self.cap = max(2, int(cap))
        self._means = np.empty((self.cap, 3))
        self._sds = np.empty(self.cap, np.float32)
        self._n = 0
        self.stride = 1
        self.seen = 0  # still epochs seen

    def __len__(self) -> int:
        return self._n

    @property
    def means(self) -> np.ndarray:
        return self._means[:self._n]

    @property
    def sds(self) -> np.ndarray:
        return self._sds[:self._n]

    @property
    def nbytes(self) -> int:
        """The memory it holds, whatever it has seen."""
        return int(self._means.nbytes + self._sds.nbytes)

    def add(self, stats: EpochStats, min_samples: int) -> None:
        """The still epochs of stats (calibration.still_for_fit: min_samples, CoreOptions.min_samples)."""
        if not len(stats):
            return
        sd = stats.sd
        at = np.flatnonzero(still_for_fit(sd, stats.n, min_samples))
        if not at.size:
            return
        count = self.seen + np.arange(at.size)  # which still epoch of the stream each one is
        self.seen += int(at.size)
        keep = count % self.stride == 0
        while self._n + int(np.count_nonzero(keep)) > self.cap:
            half = (self._n + 1) // 2
            self._means[:half] = self._means[:self._n:2]
            self._sds[:half] = self._sds[:self._n:2]
            self._n, self.stride = half, self.stride * 2
            keep &= count % self.stride == 0
        rows = at[keep]
        end = self._n + rows.size
        self._means[self._n:end] = stats.mean[rows]
        self._sds[self._n:end] = sd[rows]
        self._n = end


def learn_sensor(still: StillMeans, calibration: Calibration) -> tuple[Calibration, str] | None:
    """The calibration with the sensor offset and gain fitted to the still epochs seen so far
    (calibration.fit_sphere, as a whole recording is fitted; its reference re-expressed under the
    new correction, Calibration.with_sensor), or None: the fit was skipped, or it does not get |a|
    of the still postures seen right by SENSOR_CHANGE_G more than the correction in use (RMS).
    Returns (calibration, what was learned).

    The means are the raw ones the core measures (EpochStats), whatever correction is in use, so
    the fit is the sensor's whole correction, not a residual on top of the one in use."""
    if len(still) < MIN_STILL_EPOCHS:
        return None
    fit = fit_sphere(still.means, still.sds)
    if fit.note.startswith("skipped"):
        return None
    # the distinct orientations the fit judged by (one per 0.05 g cell, of every 4th still epoch)
    seen = distinct_orientations(still.means[::4])
    err_cur = magnitude_error(seen, calibration.sensor)
    err_new = magnitude_error(seen, fit)
    if not err_cur - err_new > SENSOR_CHANGE_G:
        return None
    off = "/".join(f"{1000 * v:+.0f}" for v in fit.offset)
    gain = "/".join(f"{v:.3f}" for v in fit.gain)
    what = (f"offset {off} mg, gain {gain} from {seen.shape[0]} still postures; |a| error "
            f"{1000 * err_cur:.1f} -> {1000 * err_new:.1f} mg")
    return calibration.with_sensor(fit), what


def relabel(epochs: EpochTable, rule: SlouchRule) -> None:
    """Seated epochs sitting or slouching by `rule`, in place: exactly what deciding with that
    rule from the start gives (the decisions judge slouching per epoch from flexion and lateral
    lean alone, and nothing else depends on it)."""
    at = np.flatnonzero((epochs.state == SITTING) | (epochs.state == SLOUCHING))
    if at.size:
        epochs.state[at] = np.where(rule.slouched(epochs.flexion_deg[at], epochs.lateral_deg[at]), SLOUCHING, SITTING)


# Walking holds the trunk within about 15 degrees of upright: a calibrated upright this far from
# where walking puts it belongs to another mounting of the clip (turned, moved, upside down).
# Judged once, on the first MISFIT_JUDGE_EPOCHS epochs called moving (a minute of walking), or at
# the end on at least MISFIT_MIN_EPOCHS.
MISFIT_DEG = 45.0
MISFIT_MIN_EPOCHS = 20
MISFIT_JUDGE_EPOCHS = 60


class FitCheck:
    """Does the calibration in use fit how the sensor is worn? Epochs in (a stream's, in order, or
    a whole recording's), one verdict out: ``note``, what to say if it does not (see MISFIT_DEG)."""

    def __init__(self, how: str):
        self.how = how
        self._incl: list[np.ndarray] = []
        self._n = 0
        self.judged = False
        self.note: str | None = None  # the verdict, once judged: None while it fits

    def add(self, epochs: EpochTable) -> str | None:
        """The note, once, when the first MISFIT_JUDGE_EPOCHS moving epochs show a misfit."""
        if self.judged or not len(epochs):
            return None
        incl = epochs.inclination_deg[epochs.state == MOVING]
        incl = incl[np.isfinite(incl)][:MISFIT_JUDGE_EPOCHS - self._n]
        self._incl.append(incl)
        self._n += incl.size
        return self._judge() if self._n >= MISFIT_JUDGE_EPOCHS else None

    def finish(self) -> str | None:
        """At the end of the data: the verdict on what walking there was, if enough."""
        if self.judged or self._n < MISFIT_MIN_EPOCHS:
            return None
        return self._judge()

    def _judge(self) -> str | None:
        self.judged = True
        tilt = float(np.median(np.concatenate(self._incl)))
        if tilt >= MISFIT_DEG:
            self.note = (f"walking reads {tilt:.0f} degrees from the upright of {self.how}: the sensor is not worn "
                         "as it was when calibrated, so postures and slouching are wrong; calibrate again "
                         "('sensorback calibrate')")
        return self.note
