"""From calibrated epoch statistics to states: a small causal state machine.

Each epoch's provisional state depends only on that epoch and what came before it (zero
look-ahead), so a live monitor can show it as soon as the epoch ends. Sitting versus standing is
where a single trunk sensor struggles: both are still and upright-ish. Every epoch's evidence
(walking, a seen sit-down or stand-up, lying a while, slow transitions, stray steps, and the
transition-independent posture cue of posture_cue.py) goes to a two-state smoother
(smoother.py) that decides with a bounded lag (docs/core.md, "How sitting is told from
standing"). Evidence that arrives late (a sit-down's confirmation, a sensor proven off the body,
the smoother's decision) then revises the epochs it concerns before they are handed out: see
settle.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .epoch_stats import EpochStats
from .epochs import EpochTable
from .heard import _heard_once, distrust, on_every_epoch, silence_opposite
from .options import CoreOptions
from .reference import Calibration, angles, recorrect, redirect, unit  # noqa: F401  (Calibration: its old home)
from .settle import TO_MOVING, TO_NOT_WORN, TO_SITTING, Revision, Settler
from .posture_cue import ANCHOR_EPOCHS, SIT_DEG, Anchors, PostureCue, inclination_evidence
from .runs import (_int_type, _last_true, forward_fill, hold_through, hysteresis, next_true, rolling_count, run_length,
                   run_length_over, since_last, sliding_reduce)
from .smoother import Events, PostureSmoother, nats
from .stretches import epoch_cuts, pieces
from .rise_traces import RiseTraces
from .sway_breaks import SwayAcrossBreaks
from .vectors import angle_deg, take_rows
from .states import LYING, MOVING, NO_DATA, NOT_WORN, SITTING, SLOUCHING, STANDING

# Walking: clear periodicity at a plausible cadence with real movement. Once walking, short
# pauses and turns (weaker rhythm or plain movement) still count as moving.
WALK_PERIODICITY = 0.5
WALK_CADENCE = (75.0, 170.0)
WALK_MIN_SD_G = 0.08
# Stepping shows as moving once it recurs within one movement: a second stepping epoch within
# WALK_WITHIN_EPOCHS of the first, the body moving (keep_moving) all the while. One stepping epoch
# alone is a shuffle or a turn on the spot (people standing and talking shift their feet), not a
# walk. The epochs from the first stepping epoch on are then moving too; they are held back until
# the walk is known (at most WALK_WITHIN_EPOCHS; settle.TO_MOVING). Being on the feet needs
# stepping that lasts (a reach or a burst of typing can look like one or two steps):
# ON_FEET_AFTER_EPOCHS stepping epochs within the last ON_FEET_WINDOW, the last one of them
# stepping. (A walk's rhythm in a 2 s window is missed now and then, at a turn or an uneven
# stride: three in a row found 82 % of the real walks of 8 s or more on the chest and 87 % on the
# waist; three of four 84 % and 91 %, and 2 of 11,706 seated seconds against 1.) At epochs
# shorter than a second the same stepping must also last as many seconds (as_long): the 2 s
# windows a step is judged on then overlap, and one burst of a seated wearer's fidgeting read as
# stepping in three of four half-second epochs (Casale subject15 at 0.5 s: its whole 16-minute
# seat called standing; see on_feet_counts).
WALK_WITHIN_EPOCHS = 10
ON_FEET_AFTER_EPOCHS = 3
ON_FEET_WINDOW = 4
KEEP_MOVING_PERIODICITY = 0.3
KEEP_MOVING_SD_G = 0.15
# Vigorous movement without steps (exercise, carrying) counts as moving after this many epochs.
VIGOROUS_SD_G = 0.3
VIGOROUS_EPOCHS = 3
# A sit-down counts only if the wearer then stays calm (SD below CALM_SD_G) for this many epochs.
CALM_SD_G = 0.04
CONFIRM_EPOCHS = 2
# A stand-up is judged where the trunk has come to rest, UP_SETTLE_S after its window's quiet
# end: a shift in the chair is heard as a stand-up at the pause with the hips lifted and the
# trunk leaning forward (often right through the wearer's standing direction); lowering the hips
# and sitting back takes up to about 3 s more. Judged at the quiet end, the trunk's direction is
# the lean on the way, not the seat it returns to (posture_cue._own_seat, SIT_DEG below).
UP_SETTLE_S = 3.0
# Lying on one's side propped on a cushion or an elbow tilts the trunk only 50-65 deg, but almost
# purely sideways; a seated trunk never leans that far to one side.
SIDE_LYING_DEG = 45.0
SIDE_SHARE = 0.7  # |lateral| at least this share of the inclination: sideways more than forward
# Lying down turns the trunk 50-95 deg from upright, in seconds. A still trunk that has drifted
# less than this from the last calm posture that was not lying, with nothing but still epochs
# between (a seated wearer reclining or leaning on an armrest past the lines above), has not
# lain down. Calm (SD below CALM_SD_G): the epochs of a lie-down itself are no anchor.
LYING_DRIFT_DEG = 10.0
# Not worn: epoch-to-epoch wobble of the mean no bigger than sensor noise explains (no breathing).
NOT_WORN_WINDOW = 20
NOT_WORN_NOISE_RATIO = 6.0
NOT_WORN_MAX_SD_G = 0.03
# Fast path: right after the sensor is handled (taken off), total stillness on a short window
# (no breathing at all) for a little while is enough.
HANDLING_SD_G = 0.15
QUICK_WINDOW = 8
QUICK_AFTER_HANDLING = QUICK_WINDOW + 4
QUICK_CALM_EPOCHS = 20
# The not-worn test is calibrated at this sampling rate (the real recordings' 50 Hz). Above it,
# the extra samples are not trusted to average the noise of an epoch mean down any further (a
# real sensor's noise is not white at long time scales; a lone outlier mean would end not_worn).
# Below it, an epoch mean is too noisy to show breathing quickly, so both paths wait longer:
# QUICK_CALM_EPOCHS * (REF/rate) ** QUICK_SLOW_POWER and not_worn_min_s * REF/rate. That power and
# that scaling are the shortest waits that never called a real person not worn in the HAPT and
# Casale recordings thinned to 25 and 10 Hz (every n-th sample, or the mean of n: without or with
# a sensor's own anti-alias filter); thinned to 17 and 12.5 Hz they do not either.
NOT_WORN_REF_HZ = 50.0
QUICK_SLOW_POWER = 1.25
NOT_WORN_MIN_HZ = 10.0  # the lowest rate the waits were measured at
NOT_WORN_LYING_S = 1800.0
# Lying this long means the wearer will sit up next.
LYING_THEN_SIT_EPOCHS = 10
# Missing data this long may hide a posture change (cheaper to switch across it).
GAP_RESET_EPOCHS = 60
# Missing data this long (epochs without enough samples in a row, or a splice) may hold a
# transition: the epochs still open before it are decided as they stood, by the evidence before it
# (smoother.py, `cut`), not by what comes after.
BREAK_S = 5.0

# The posture smoother (smoother.py): switching posture without seeing it costs SWITCH_NATS
# (about one switch per 18 min of still time a priori, e^-7 per second); walking, lying a while
# and a seen transition are SURE_NATS of evidence, enough to overturn any doubt. An epoch the
# evidence has not settled is decided at most SMOOTHER_LAG_S after it (the best path then).
SWITCH_NATS = 7.0
UNKNOWN_SWITCH_NATS = 5.0
# Bouts have a length: within FRESH_S of something sure (walking, a seen transition, lying a
# while) a posture change nobody saw costs FRESH_SWITCH_NATS.
FRESH_SWITCH_NATS = 12.0
FRESH_S = 180.0
# The posture cue is judged every CUE_EVERY_S (a posture changes over seconds; judging every
# epoch would cost more than the rest of the decisions together).
CUE_EVERY_S = 4.0
SURE_NATS = 30.0  # more than twice the largest switching cost: it always commits
SOFT_NATS = 4.0
SOFT_HOLD_S = 60.0
# A second of stepping too short to count as walking (a shuffle, a turn on the spot): people
# seldom step while seated (0-14 such seconds per 1000 sitting on the chest recordings, 6-190
# per 1000 standing).
STEP_NATS = 1.0
# Before anything sure was seen, each calm second counts this much toward sitting (desk workers
# sit most of their still time; the calm 48 of 60 s rule this replaces said the same).
CALM_NATS_PER_S = 0.1
SMOOTHER_LAG_S = 150.0
# A posture change nobody saw is believed only if the body moved around it: an epoch with an SD
# of MOVED_SD_G or more (twice the calm bound; rising or sitting down moves the whole body) or
# without data within MOVED_WITHIN_S before the change is accepted. A lean in the chair, or a
# reclined sitter leaning forward to upright, moves the trunk alone.
MOVED_SD_G = 0.08
MOVED_WITHIN_S = 180.0


def as_long(count: float, epoch_s: float) -> int:
    """A count of epochs measured at 1 s epochs, at this epoch length: as many epochs at 1 s and
    longer, as many seconds at shorter ones (rules measured on 1 s epochs, where half-second
    ones would halve their time)."""
    return int(round(count * max(1.0, 1.0 / epoch_s)))


def not_worn_epochs(epoch_s: float) -> tuple[int, int, int]:
    """(window, quick window, handling reach) of the not-worn test in epochs (as_long: counted in
    half-second epochs, breathing had half the time to show, and 356 of HAPT's 2,783 lying
    epochs were called not_worn)."""
    return as_long(NOT_WORN_WINDOW, epoch_s), as_long(QUICK_WINDOW, epoch_s), as_long(QUICK_AFTER_HANDLING, epoch_s)


def not_worn_waits(options: CoreOptions, rate_hz: float) -> tuple[int, int]:
    """(fast path, slow path) epochs of stillness before not_worn, at this sampling rate.

    Rounded to whole epochs, so a rate a hair off 50 Hz (as estimated from timestamps) waits as
    long as 50 Hz; below NOT_WORN_MIN_HZ the waits stay at their value there (bounded hold).
    Below 1 s epochs the fast path waits as many seconds (see not_worn_epochs)."""
    stretch = NOT_WORN_REF_HZ / min(max(rate_hz, NOT_WORN_MIN_HZ), NOT_WORN_REF_HZ)
    quick = as_long(QUICK_CALM_EPOCHS * stretch ** QUICK_SLOW_POWER, options.epoch_s)
    slow = int(round(round(options.not_worn_min_s / options.epoch_s) * stretch))
    return quick, slow


def walking_seed(calibration: Calibration) -> np.ndarray | None:
    """The walking upright the posture cue uses before it has seen the wearer walk: the
    calibration's upright when it was found from walking; else the standing direction a guided
    calibration showed (the wearer's own standing: the posture the cue's standing end stands for,
    which real wearers hold 2-16 deg from their walking upright); else none (a calibrated upright
    is a seated one)."""
    ref = calibration.reference
    if ref.up_from_walking:
        return np.asarray(ref.up, float)
    if calibration.stand is not None:
        return np.asarray(calibration.stand, float)
    return None


def own_postures(calibration: Calibration) -> Anchors:
    """The wearer's own sitting and standing postures as a calibration showed them (its seated
    upright and its stand step), for the posture cue to know from the start what a seen
    transition would otherwise have to show first (posture_cue.py, the wearer's own postures);
    nothing when it lacks either. They hold until a seen transition, a walk or the sensor taken
    off tells anew."""
    ref = calibration.reference
    if calibration.stand is None or not ref.up_seated:
        return Anchors()
    return Anchors(stand=unit(np.asarray(calibration.stand, float)), sit=unit(np.asarray(ref.up, float)))


def _next_walk(on_feet: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The first epoch on the feet after each position in `at` (len(on_feet) where none)."""
    starts = np.flatnonzero(on_feet)
    j = np.searchsorted(starts, at, side="right")
    return np.where(j < starts.size, starts[np.minimum(j, max(starts.size - 1, 0))], on_feet.shape[0]) if starts.size else np.full(at.shape, on_feet.shape[0])


def _merge_events(events: tuple[np.ndarray, ...], at: np.ndarray, before: np.ndarray, *, sit: bool, seat: bool,
                  rise: bool) -> tuple[np.ndarray, ...]:
    """The parallel event arrays (at, before, sit, seat, rise, sure) with sure events added, at
    epochs `at` telling of the epochs before `before`, all with the flags given; all in the order
    they became known (by at; ties keep the earlier ones first)."""
    ev_at = np.concatenate([events[0], at])
    order = np.argsort(ev_at, kind="stable")
    flags = (np.concatenate([old, np.full(at.size, f)])[order] for old, f in zip(events[2:], (sit, seat, rise, True)))
    return (ev_at[order], np.concatenate([events[1], before])[order], *flags)


def _lying_like(incl: np.ndarray, lat: np.ndarray, lying_deg: float) -> np.ndarray:
    """A trunk lying: further than lying_deg from upright, or on its side (over SIDE_LYING_DEG
    sideways, more than it is over forward or back: nobody sits leaning that far sideways)."""
    with np.errstate(invalid="ignore"):
        side = np.abs(lat)
        return (incl >= lying_deg) | ((side >= SIDE_LYING_DEG) & (side >= incl * SIDE_SHARE))


def is_walking(periodicity: np.ndarray, cadence: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return (periodicity >= WALK_PERIODICITY) & (cadence >= WALK_CADENCE[0]) & (cadence <= WALK_CADENCE[1]) & (sd >= WALK_MIN_SD_G)


def on_feet_counts(epoch_s: float) -> tuple[int, int]:
    """(stepping epochs needed, among the last how many) for stepping that lasts: three of four,
    and as many seconds (as_long; see ON_FEET_WINDOW)."""
    return as_long(ON_FEET_AFTER_EPOCHS, epoch_s), as_long(ON_FEET_WINDOW, epoch_s)


def on_feet_of(walking: np.ndarray, history: np.ndarray, epoch_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Stepping that lasts (see ON_FEET_WINDOW), and the new history; history: the stepping
    flags of the on_feet_counts(epoch_s)[1] - 1 epochs before these."""
    after, window = on_feet_counts(epoch_s)
    count, history = rolling_count(walking, history, window)
    return walking & (count >= after), history


@dataclass
class _Carry:
    next_k: int | None = None
    first_k: int | None = None  # the stream's first epoch
    moving: bool = False
    hist_step: np.ndarray | None = None  # see on_feet_of
    on_feet: bool = False
    since_step: int = 10**9  # epochs since the last stepping one
    moving_run: int = 0      # epochs the body has kept moving
    since_up: int = 10**9
    since_down: int = 10**9
    since_sure_up: int = 10**9    # epochs since the last stand-up seen (see _heard_once)
    since_sure_down: int = 10**9
    since_soft_up: int = 10**9
    since_walk_off: int = 10**9   # epochs since the last stand-up straight into walking (see _process)
    since_soft_down: int = 10**9
    active_run: int = 0
    lying_run: int = 0
    since_sure: int = 10**9
    shift_left: int = 0         # epochs of this chunk still hearing a shift in the chair (see cue.shifts)
    soft_pending: list = field(default_factory=list)  # (epoch it ends, offset) of slow transitions
    since_mark: int = 10**9
    mark_kind: int = 2          # the stream starts as after a reset: nothing sure known
    seat_watch: tuple | None = None  # the posture after a walk still being seen, see _seat_watches
    last_level: int = 0         # the posture cue at the last head of the previous chunk ...
    last_pending: int = 0
    head_lead: int = 10**6      # ... and epochs from it to this chunk's first epoch
    incl_tail: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # see _spread
    since_reset: int = 0
    since_firm: int = 10**9  # epochs since sure evidence as rises across breaks judge it (see _process)
    since_lying: int = 10**9
    since_lying_slow: int = 10**9
    since_lying_walk_off: int = 10**9
    since_stepping: int = 10**9
    since_moved: int = 10**9
    since_rose: int = 10**9
    since_risen: int = 10**9  # epochs since a trace that could have been a rise became known
    rose_hist: np.ndarray | None = None  # the last rose_lag - DELAY values of since_risen (see rose_ok)
    since_gap: int = 10**9
    since_brk: int = 10**9
    hist_sat: np.ndarray = field(default_factory=lambda: np.zeros(CONFIRM_EPOCHS, bool))
    hist_calm_recent: np.ndarray = field(default_factory=lambda: np.zeros(CONFIRM_EPOCHS, bool))
    hist_calm_window: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # see _movement_start
    hist_up: np.ndarray | None = None  # stand-ups heard in the last up_settle epochs, see _settled_ups
    not_worn_run: int = 0
    gap_run: int = 0
    data_level: int = 0  # the posture cue's level at the last epoch with data (it holds through a gap)
    data_hold: bool = False  # whether a change was under way at the last epoch with data (it holds too)
    hist_wobble: np.ndarray | None = None  # see _wobble
    since_handling: int = 10**9
    quiet_run: int = 0
    quiet_start_handling: int = 10**9
    off: bool = False
    upright_g: np.ndarray | None = None  # the last settled posture that was not lying, see _drifted


class Decider:
    """Turns consecutive chunks of EpochStats into EpochTables, remembering what it must."""

    def __init__(self, options: CoreOptions, calibration: Calibration, rate_hz: float):
        self.options = options
        self._settler = self._cue = None
        self.calibration = calibration
        self.rate_hz = rate_hz
        self.min_samples = options.min_samples(rate_hz)
        self.quick_calm_epochs, self.slow_off_epochs = not_worn_waits(options, rate_hz)
        self.wobble_window, self.quick_window, self.quick_reach = not_worn_epochs(options.epoch_s)
        self.lying_off_epochs = max(self.slow_off_epochs, int(round(NOT_WORN_LYING_S / options.epoch_s)))
        self.noise_samples = max(1, int(round(NOT_WORN_REF_HZ * options.epoch_s)))  # see NOT_WORN_REF_HZ
        # Settling (core/settle.py): the most epochs ever held back for a later revision (a
        # motionless run is handed out, revised, when it reaches quick_calm_epochs).
        self.window_epochs = options.transition_epochs
        self.up_settle = max(1, int(round(UP_SETTLE_S / options.epoch_s)))
        # how many epochs before the epoch it becomes known a transition's window may start
        self.reach = self.window_epochs - 1 + max(CONFIRM_EPOCHS, self.up_settle)
        lag = max(1, int(round(SMOOTHER_LAG_S / options.epoch_s)))
        self.max_hold_epochs = max(self.quick_calm_epochs - 1, CONFIRM_EPOCHS, lag)
        self.sure = nats(SURE_NATS)
        self.transition = nats(SURE_NATS)
        self.soft = nats(SOFT_NATS)
        self.soft_hold = max(1, int(round(SOFT_HOLD_S / options.epoch_s)))
        self.step = nats(STEP_NATS)
        self.calm = nats(CALM_NATS_PER_S * options.epoch_s)
        self._switch, self._unknown_switch = nats(SWITCH_NATS), nats(UNKNOWN_SWITCH_NATS)
        self._fresh_switch = nats(FRESH_SWITCH_NATS)
        self.fresh_epochs = max(1, int(round(FRESH_S / options.epoch_s)))
        self.break_epochs = max(1, int(round(BREAK_S / options.epoch_s)))
        self.cue_every = max(1, int(round(CUE_EVERY_S / options.epoch_s)))
        self.moved_within = int(round(MOVED_WITHIN_S / options.epoch_s))
        self.lag_epochs = lag
        # Windows the wearer was told to be in a posture (the calibration windows given for this
        # recording: sitting upright, slouching the usual way; a live session's guided steps, see
        # tell_seated): (first epoch, last epoch, seated), in the order told.
        self.told = [(*self._epochs_in(*w), seated)
                     for w, seated in ((options.reference_window, True), (options.forward_window, True),
                                       (options.stand_window, False)) if w is not None]
        self._undecided_from: int | None = None  # the first epoch not decided yet (None: none decided)
        self._fresh()

    def tell_seated(self, t0_s: float, t1_s: float) -> int:
        """The wearer sat from t0_s to t1_s (sample time; a calibration's upright or slouch step):
        the still epochs wholly inside it that are not lying are sure sitting (+SURE_NATS, as
        something sure). Returns how many epochs of the window are still to be decided.

        Told before its epochs are decided, a window gives exactly what the same window as
        CoreOptions.reference_window / forward_window gives, whatever the chunking. Told later, it
        applies to the epochs of it not decided yet only: those already decided (handed out, or
        held back) get no evidence from it (the smoother may still revise held ones, as after any
        later evidence). Where windows overlap, the one told last counts."""
        return self._tell(t0_s, t1_s, True)

    def tell_standing(self, t0_s: float, t1_s: float) -> int:
        """The wearer stood from t0_s to t1_s (a guided calibration's stand step): as tell_seated,
        the still epochs wholly inside it are sure standing (-SURE_NATS)."""
        return self._tell(t0_s, t1_s, False)

    def _epochs_in(self, t0_s: float, t1_s: float) -> tuple[int, int]:
        """The first and last epoch wholly inside a window (the last is before the first when none is)."""
        eps = self.options.epoch_s
        return int(np.ceil(t0_s / eps - 1e-9)), int(np.floor(t1_s / eps + 1e-9)) - 1

    def _tell(self, t0_s: float, t1_s: float, seated: bool) -> int:
        t0_s, t1_s = float(t0_s), float(t1_s)
        if not (np.isfinite(t0_s) and np.isfinite(t1_s) and t0_s <= t1_s):
            raise ValueError(f"a told window runs from one time to a later one, got {t0_s!r} to {t1_s!r}")
        lo, hi = self._epochs_in(t0_s, t1_s)
        start = lo if self._undecided_from is None else max(lo, self._undecided_from)
        if hi < start:
            return 0  # nothing of it left to decide (or it holds no whole epoch)
        self.told.append((lo, hi, seated))
        return hi - start + 1

    def _told(self, first: int, n: int, can: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """(told sitting, told standing) for epochs first .. first+n-1, only where `can` (has data,
        not lying, not moving); the window told last counts; and the epochs (absolute) that end a
        told standing window in this chunk. Windows wholly decided are dropped."""
        told = np.zeros(n, np.int8)  # +1 seated, -1 standing
        stood = []
        for lo, hi, seated in self.told:
            a, b = max(lo - first, 0), min(hi - first + 1, n)
            if a < b:
                told[a:b] = 1 if seated else -1
            if not seated and first <= hi < first + n and lo <= hi:
                stood.append(hi)
        self.told = [w for w in self.told if w[1] >= first + n]
        return (told > 0) & can, (told < 0) & can, stood

    def _fresh(self) -> None:
        """What the decisions remember, as at the start of a recording."""
        self._settler = Settler(self.slouch)
        self._smoother = PostureSmoother(self._switch, self.lag_epochs, self.reach)
        self._cue = PostureCue(self.options.epoch_s, self.reach + 1, self.lag_epochs,
                               walking_seed(self.calibration), self.cue_every, own_postures(self.calibration))
        self._sway_breaks = SwayAcrossBreaks(self.options.epoch_s)
        self._c = _Carry()
        # a rise's trace lies before the change it explains began: as long before its acceptance
        # as the cue makes a change hold, less two heads for the posture to settle (see rose_ok)
        self.rose_lag = min(self.moved_within, max(0, self._cue.held_epochs - 2 * self.cue_every))
        self._rise_traces = RiseTraces(self.options.epoch_s, self.rose_lag)
        self._c.rose_hist = np.full(self.rose_lag - self._rise_traces.delay, 10**9, np.int64)
        self._c.hist_step = np.zeros(on_feet_counts(self.options.epoch_s)[1] - 1, bool)
        self._c.hist_wobble = np.full((self.wobble_window - 1, 7), np.nan, np.float32)

    @property
    def calibration(self) -> Calibration:
        return self._calibration

    @calibration.setter
    def calibration(self, calibration: Calibration) -> None:
        """A new calibration applies from the next epoch decided (and to the revisions of held ones)."""
        self._calibration = calibration
        self.slouch = calibration.slouch_rule(self.options.slouch_threshold_deg)
        if self._settler is not None:
            self._settler.slouch = self.slouch
            self._cue.seed_up = walking_seed(calibration)

    def change_sensor(self, calibration: Calibration) -> None:
        """Another calibration whose sensor correction differs (a live session that learned the
        sensor's offset and gain; its reference re-expressed with Calibration.with_sensor), from
        the next epoch decided. What the decisions remember of earlier epochs' directions and
        means is re-expressed under the new correction (reference.recorrect / redirect), so that
        a still posture does not seem to move when the correction changes: an epoch-to-epoch
        jump of a few mg would break a not-worn run, a posture anchor would sit a degree or two
        off. Nothing else is reset."""
        old, new = self.calibration.sensor, calibration.sensor
        if old != new:
            c = self._c
            means = c.hist_wobble[:, :3].astype(float)
            fixed = recorrect(means, old, new)
            c.hist_wobble[:, :3] = fixed
            c.hist_wobble[:, 3:6] = -fixed
            c.hist_wobble[:, 6] *= float(np.max(np.asarray(new.gain) / np.asarray(old.gain)))
            if c.upright_g is not None:
                c.upright_g = redirect(c.upright_g, old, new)
            if c.seat_watch is not None:
                begin, seen, total = c.seat_watch
                size = float(np.sqrt(total @ total))
                if size > 0:
                    total = redirect(total / size, old, new) * size
                c.seat_watch = (begin, seen, total)
            self._cue.remap(lambda d: redirect(d, old, new))
            self._sway_breaks.remap(lambda d: redirect(d, old, new))
            self._rise_traces.remap(lambda d: redirect(d, old, new))
        self.calibration = calibration

    def process(self, stats: EpochStats) -> EpochTable:
        if len(stats) == 0:
            return EpochTable.empty()
        last_k = None if self._c.next_k is None else self._c.next_k - 1
        cuts = epoch_cuts(stats.k, self.options.epoch_s, last_k)
        if not cuts:
            return self._process(stats)
        out = []
        for a, b, new_stretch in pieces(len(stats), cuts):
            if new_stretch:
                out.append(self._restart())
            out.append(self._process(stats.take(slice(a, b))))
        return EpochTable.concat(out)

    def _restart(self) -> EpochTable:
        """After a long gap (core/stretches.py) decisions start afresh, as for a new recording: the
        held epochs are handed out as they stand and nothing is remembered. The gap is not filled."""
        out = self.release()
        self._fresh()
        return out

    def _process(self, stats: EpochStats) -> EpochTable:
        c = self._c
        first = int(stats.k[0]) if c.next_k is None else c.next_k
        if c.first_k is None:
            c.first_k = first
        if int(stats.k[0]) < first:
            raise ValueError(f"epoch {int(stats.k[0])} arrived after epoch {first - 1} was decided")
        k = np.arange(first, int(stats.k[-1]) + 1, dtype=np.int64)
        n, cad, per, stood_up, sat_down, landed, mean, var, slow_up, slow_down, spliced, walked_off = on_every_epoch(
            stats, first, k.shape[0], self.options.lying_deg)
        mean, var = self.calibration.sensor.apply_mean_var(mean, var)

        o = self.options
        has_data = n >= self.min_samples
        sd = np.sqrt(var[:, 0] + var[:, 1] + var[:, 2])
        g = unit(mean)
        # (forward and sideways mean nothing until forward is known: NaN)
        incl, flex, lat = angles(g, self.calibration.reference, lean=self.calibration.reference.forward_known)

        walking = has_data & is_walking(per, cad, sd)
        keep_moving = has_data & (((per >= KEEP_MOVING_PERIODICITY) & (cad >= WALK_CADENCE[0]) & (cad <= WALK_CADENCE[1]))
                                  | (sd >= KEEP_MOVING_SD_G))
        # since the last stepping epoch (0 on one), and how long the body has kept moving
        since_step = run_length(~walking, c.since_step)
        moving_run = run_length(keep_moving | walking, c.moving_run)
        back = np.concatenate(([c.since_step], since_step[:-1])) + 1  # to the stepping epoch before
        recurs = walking & (back <= WALK_WITHIN_EPOCHS) & (moving_run > back)
        in_motion = hysteresis(recurs, keep_moving, c.moving)
        active_run = run_length(has_data & (sd >= VIGOROUS_SD_G), c.active_run)
        moving = in_motion | (active_run >= VIGOROUS_EPOCHS)

        # (axis-wise maxima and sums over 3 columns are written out: numpy's per-row reductions
        # over length-3 axes are several times slower)
        noise = np.sqrt(np.maximum(np.maximum(var[:, 0], var[:, 1]), var[:, 2]) / np.clip(n, 1, self.noise_samples))
        wob_mean = mean
        if not has_data.all():  # (a few samples at a dropout's edge are no data either: NaN)
            wob_mean, noise = np.where(has_data[:, None], mean, np.nan), np.where(has_data, noise, np.nan)
        (wobble, noise_w), (quick_wob, quick_noise) = self._wobble(wob_mean, noise)
        still_sensor = has_data & (sd <= NOT_WORN_MAX_SD_G)
        calm = still_sensor & (wobble <= NOT_WORN_NOISE_RATIO * np.maximum(noise_w, 2e-4))
        # A dropout says nothing about whether the sensor is worn. Its epochs, and the still ones
        # whose window still reaches back into it (a window with missing data is NaN), are not
        # judged: they neither break nor extend the stillness runs, and not_worn holds across them.
        judged = has_data & ~(still_sensor & np.isnan(wobble))
        judged_quick = has_data & ~(still_sensor & np.isnan(quick_wob))
        not_worn_run = run_length_over(calm, judged, c.not_worn_run)
        motionless = still_sensor & (quick_wob <= NOT_WORN_NOISE_RATIO * np.maximum(quick_noise, 2e-4))
        handled = has_data & (sd >= HANDLING_SD_G)
        since_handling = run_length(~handled, c.since_handling)
        quiet_run = run_length_over(motionless, judged_quick, c.quiet_run)
        # epochs since handling, as it was when the current quiet stretch began
        prev_since = np.concatenate(([c.since_handling], since_handling[:-1]))
        began = motionless & (quiet_run == 1)
        start_handling = forward_fill(np.where(began, prev_since + 1, 0), c.quiet_start_handling)
        quick_off = motionless & (quiet_run >= self.quick_calm_epochs) & (start_handling <= self.quick_reach + 1)
        # A wearer lying down can be stiller than a sensor's noise for minutes (breathing barely
        # tilts a chest lying on its back): while the trunk is lying, the slow path waits
        # NOT_WORN_LYING_S (a sensor taken off is nearly always handled first: the fast path).
        lie_like = _lying_like(incl, lat, o.lying_deg)
        slow_off = calm & (not_worn_run >= np.where(lie_like, self.lying_off_epochs, self.slow_off_epochs))
        not_worn = hysteresis(quick_off | slow_off, motionless | ~judged_quick, c.off)

        still = has_data & ~moving & ~not_worn
        lying = still & lie_like & ~self._drifted(g, still, still & (sd <= CALM_SD_G) & ~lie_like)
        gap_run = run_length(~has_data, c.gap_run)

        span = self.window_epochs
        early = max(0, c.first_k + span - 1 - first)  # this chunk's epochs whose window starts before the data
        gap = ~has_data | spliced
        since_gap = distrust((stood_up, sat_down, landed, slow_up, slow_down, walked_off), gap, span, early, c.since_gap)
        c.since_gap = int(since_gap[-1])
        # A break that may hold a transition (BREAK_S of missing data, or a splice): a dropout of a
        # second or two holds no sit-down or stand-up, so it is no trace of one either. Where one
        # becomes known (`cut`), the smoother decides the epochs still open before it.
        brk = (gap_run >= self.break_epochs) | spliced
        cut = (gap_run == self.break_epochs) | spliced
        since_brk = run_length(~brk, c.since_brk)
        c.since_brk = int(since_brk[-1])
        # Sitting straight down from walking: a landing (see heard.on_every_epoch) with stepping
        # within the window before it.
        land = np.flatnonzero(landed)
        stepped, c.since_stepping = since_last(in_motion, c.since_stepping, land)
        if land.size:
            sat_down[land[stepped < span]] = True
        # Standing straight up into walking: a walk-off (heard.on_every_epoch) with the wearer
        # stepping by the end of its window (the window ends here).
        walked_off &= in_motion
        stood_up, sat_down, slow_up, slow_down, c.since_up, c.since_down = silence_opposite(
            stood_up, sat_down, slow_up, slow_down, span, c.since_up, c.since_down)
        # Rising out of real lying swings the trunk up ~90 deg, which reads as a rise whether the
        # wearer sits up or stands up; people sit up first (see below): no stand-up.
        lying_run = run_length(lying, c.lying_run)
        long_lying = lying_run >= LYING_THEN_SIT_EPOCHS
        ups = np.flatnonzero(stood_up)
        lay, c.since_lying = since_last(long_lying, c.since_lying, ups)
        if ups.size:
            stood_up[ups[lay < span]] = False
        slow = np.flatnonzero(slow_up)
        lay, c.since_lying_slow = since_last(long_lying, c.since_lying_slow, slow)
        if slow.size:
            slow_up[slow[lay < span]] = False
        offs = np.flatnonzero(walked_off)
        lay, c.since_lying_walk_off = since_last(long_lying, c.since_lying_walk_off, offs)
        if offs.size:
            walked_off[offs[lay < span]] = False
        calm = has_data & (sd < CALM_SD_G)
        sat_confirmed, sit_pending = self._confirmed(sat_down, calm)
        stood_up, slow_up, rising = self._settled_ups(stood_up, slow_up)
        # Sitting or standing: every epoch's evidence, decoded by the smoother (smoother.py).
        # Walking proves the wearer is on their feet; a seen transition says which posture
        # follows it (and which one came before its window); lying a while means sitting up
        # next (nobody gets up from lying without sitting up first; a stand-up or walking then
        # corrects it); still and upright, the posture cue (posture_cue.py) tips the balance.
        upright_still = still & ~lying
        # transitions that end lying are lying down or sitting up, not sit/stand ones
        ups = np.flatnonzero(stood_up & ~lying)
        downs = np.flatnonzero(sat_confirmed & ~lying)
        soft_ups = np.flatnonzero(slow_up & ~lying)
        soft_downs = np.flatnonzero((slow_down | (sat_down & ~sat_confirmed)) & ~lying)
        on_feet, c.hist_step = on_feet_of(walking, c.hist_step, o.epoch_s)
        # A stand-up hidden in a break in the data, told by the sway that rose across it and
        # stayed up (sway_breaks.py): (chunk epoch it became known, first epoch of the break)
        rises = np.array(self._sway_breaks.step(first, g, upright_still, gap), np.int64).reshape(-1, 2).T
        rise_at, rise_from = rises[0] - first, rises[1]
        # The wearer's own postures (posture_cue.py): both sides of every sure transition, and
        # the standing right after a walk.
        walked = np.concatenate(([c.on_feet], on_feet[:-1])) & ~on_feet
        c.on_feet = bool(on_feet[-1])
        watches = self._seat_watches(first, walked, on_feet, upright_still, ups, downs, g)
        # (a walk's end shows the standing posture only if ANCHOR_EPOCHS still upright ones follow
        # before the next walk: the others change nothing, skip them)
        ends = np.flatnonzero(walked)
        if ends.size:
            n_up = np.concatenate(([0], np.cumsum(upright_still)))
            nxt = _next_walk(on_feet, ends)
            enough = (n_up[nxt] - n_up[ends] >= ANCHOR_EPOCHS) | (nxt >= k.shape[0])
            walked[ends[~enough]] = False
        # The posture cue judges on a grid of head epochs, one every CUE_EVERY_S (whose index is
        # a multiple: the same grid in any chunking); the walking upright is needed there, at
        # the transitions and at the ends of walks.
        cue = self._cue
        B = self.cue_every
        n_k = k.shape[0]
        heads = np.arange((-first) % B, n_k, B)
        judged = np.zeros(n_k, bool)
        judged[heads] = upright_still[heads]
        need = np.flatnonzero(judged)
        mask = judged.copy()
        for at in (ups, downs, soft_ups, soft_downs, rise_at):
            mask[at] = True
        mask |= walked
        for _, _, take in watches:
            mask[take[-1:]] = True
        at = np.flatnonzero(mask)
        walk_up = np.full((n_k, 3), np.nan)
        up_at = cue.walking_upright(g, on_feet, at)
        walk_up[at] = up_at
        from_walking = np.full(n_k, np.nan, np.float32)
        if need.size:
            from_walking[need] = angle_deg(take_rows(g, need), take_rows(up_at, np.searchsorted(at, need)))
        # A stand-up that ends with the trunk where only a seated trunk stays (SIT_DEG or more
        # from the walking upright: a standing trunk settles within a few degrees of it once the
        # rise is over) is a shift in the chair, or a rise to sit back down: only likely.
        # A slow one ending there is only likely and most likely a shift as well: no stand-up.
        if soft_ups.size:
            with np.errstate(invalid="ignore"):
                soft_ups = soft_ups[~(angle_deg(g[soft_ups], walk_up[soft_ups]) >= SIT_DEG)]
        if ups.size:
            with np.errstate(invalid="ignore"):  # (NaN: the walking upright not known yet)
                bent = angle_deg(g[ups], walk_up[ups]) >= SIT_DEG
            # Where the trunk came to rest has no data (a dropout just then), so a shift in the
            # chair cannot be told from a stand-up: only likely as well.
            bent |= np.isnan(g[ups, 0])
            if bent.any():
                soft_ups = np.union1d(soft_ups, ups[bent])
                ups = ups[~bent]
        seats, seat_from = self._seats(watches, walk_up)
        # Lying, the sensor off the body: what came before says nothing of what comes after
        # (lying a while: sitting, see below; a sensor clipped on again sits differently).
        reset = lying | not_worn
        # Until something sure has been seen since then (walking, a transition, lying a while),
        # the posture is only a guess: changing it costs less (UNKNOWN_SWITCH_NATS), and the
        # base rate of desk work (still a while: sitting) counts.
        told_sit, told_stand, stood_told = self._told(first, n_k, has_data & ~lying & ~moving)
        # (stand-ups apart: a shift in the chair heard as one is known only after orientation below)
        sure_not_up = on_feet | long_lying | told_sit | told_stand
        sure_not_up[downs] = sure_not_up[seats] = True
        sure_ups = np.zeros(n_k, bool)
        sure_ups[ups] = True
        sure_ups[:c.shift_left] = False  # hearings of a shift in the chair heard before this chunk
        # A rise across a break is believed only while nothing sure is known (a recording that
        # starts seated, separate activity files joined with gaps between): otherwise the wearer's own
        # postures and the transitions already speak, and a fidgety seat after a radio gap should
        # not end a seated bout. Judged against the sure evidence as heard here (a stand-up heard
        # counts even if found below to be a shift in the chair, which is known only later in some
        # chunkings) and against the rises kept before it, carried on its own: any chunking keeps
        # the same rises.
        firm = sure_not_up.copy()
        firm[ups] = True
        if rise_at.size:
            after_reset = run_length(~reset, c.since_reset)
            keep = np.zeros(rise_at.size, bool)
            for j, r in enumerate(rise_at):  # a few a day at most
                if run_length(~firm, c.since_firm)[r] > after_reset[r]:
                    keep[j] = firm[r] = True
            rise_at, rise_from = rise_at[keep], rise_from[keep]
            sure_ups[rise_at] = True
        c.since_firm = int(run_length(~firm, c.since_firm)[-1])
        # One movement is whole in several windows in a row: each transition is heard once, by
        # the first of them, as evidence and as an event (every hearing used to add its nats
        # again: four hearings of one slow movement tipped a standing wearer).
        ups, soft_ups, c.since_sure_up, c.since_soft_up = _heard_once(ups, soft_ups, n_k, c.since_sure_up,
                                                                      c.since_soft_up, span)
        # (a seat is a sit-down too)
        heard_down, soft_downs, c.since_sure_down, c.since_soft_down = _heard_once(
            np.union1d(downs, seats), soft_downs, n_k, c.since_sure_down, c.since_soft_down, span)
        downs = downs[np.isin(downs, heard_down)]
        seat_heard = np.isin(seats, heard_down)
        seats, seat_from = seats[seat_heard], seat_from[seat_heard]
        ev_at = np.concatenate([ups, downs, soft_ups, soft_downs, seats, rise_at]) + first
        ev_before = np.concatenate([ups - self.up_settle - span + 1, downs - CONFIRM_EPOCHS - span + 1,
                                    soft_ups - self.up_settle - span + 1, soft_downs - span + 1, seat_from - first,
                                    rise_from - first]) + first
        ev_sit = np.concatenate([np.zeros(ups.size, bool), np.ones(downs.size, bool),  # sitting after
                                 np.zeros(soft_ups.size, bool), np.ones(soft_downs.size, bool),
                                 np.ones(seats.size, bool), np.zeros(rise_at.size, bool)])
        is_seat = np.concatenate([np.zeros(ups.size + downs.size + soft_ups.size + soft_downs.size, bool),
                                  np.ones(seats.size, bool), np.zeros(rise_at.size, bool)])
        is_sure = np.concatenate([np.ones(ups.size + downs.size, bool), np.zeros(soft_ups.size + soft_downs.size, bool),
                                  np.ones(seats.size + rise_at.size, bool)])
        is_rise = np.concatenate([np.zeros(ev_at.size - rise_at.size, bool), np.ones(rise_at.size, bool)])
        # (a stand-up straight into walking shows the seat before it, but the trunk never comes to
        # rest after it: it teaches the wearer's postures nothing, the walk's end will)
        cue_events = sorted([(int(a), int(b), bool(si), bool(su)) for a, b, si, su in zip(ev_at, ev_before, ev_sit, is_sure)]
                            + [(int(t) + first, int(t) + first, None, True) for t in np.flatnonzero(walked)],
                            key=lambda e: e[0])
        # the calibration's own postures hold again once its stand step is over (its stand-up showed
        # the slouch before it as the sitting posture)
        own = own_postures(self.calibration)
        # where a transition nobody saw could have left its mark: the trunk's lean out and back
        # (PostureCue.excursions), or no data
        trace = brk | cue.excursions(g)
        others = cue.orientation(first, g, upright_still, from_walking, cue_events, not_worn, walk_up, on_feet,
                                 [(t, own) for t in stood_told] if own.stand is not None else [], trace,
                                 gap)
        other_of = {(e[0], e[1], e[2]): o for e, o in zip(cue_events, others) if e[2] is not None}
        c.shift_left = max(0, c.shift_left - n_k)
        if cue.shifts:
            # Stand-ups that ended in the wearer's own seat (PostureCue.orientation): shifts in the
            # chair, only as likely as a slow rise (and each hearing of the movement with them)
            shifted = np.array(cue.shifts, np.int64) - first
            ups = np.setdiff1d(ups, shifted)
            rise_at = np.setdiff1d(rise_at, shifted)
            is_rise &= ~np.isin(ev_at - first, shifted)  # (a shift's flags are the cue's own)
            soft_ups = np.union1d(soft_ups, shifted)
            for p0 in shifted:
                sure_ups[p0:p0 + span] = False
            c.shift_left = max(0, int(shifted[-1]) + span - n_k)
            is_sure &= ~(np.isin(ev_at - first, shifted) & ~ev_sit)
        sure = sure_not_up | sure_ups
        since_sure = run_length(~sure, c.since_sure)
        since_reset = run_length(~reset, c.since_reset)
        c.since_sure, c.since_reset = int(since_sure[-1]), int(since_reset[-1])
        known = since_sure <= since_reset
        # Seats the wearer's own postures show (posture_cue._own_seat): sit-downs, seen as surely
        # as the seats above. Then all the events in the order they became known.
        own_at, own_from = np.array(cue.seats, np.int64).reshape(-1, 2).T
        x_seats = own_at - first
        ev_at, ev_before, ev_sit, is_seat, is_rise, is_sure = _merge_events(
            (ev_at, ev_before, ev_sit, is_seat, is_rise, is_sure), own_at, own_from, sit=True, seat=True, rise=False)
        # Stand-ups straight into walking (a walk-off, heard.on_every_epoch): the walk already says
        # standing; the walk-off says when the wearer rose, so the epochs before its window were
        # seated (held ones too, which the walk would otherwise claim). It shows the seat only:
        # the trunk never comes to rest after it, so it teaches the wearer's postures nothing.
        walk_offs, _, c.since_walk_off, _ = _heard_once(np.flatnonzero(walked_off), np.zeros(0, np.int64), n_k,
                                                        c.since_walk_off, 10**9, span)
        if walk_offs.size:
            ev_at, ev_before, ev_sit, is_seat, is_rise, is_sure = _merge_events(
                (ev_at, ev_before, ev_sit, is_seat, is_rise, is_sure), walk_offs + first, walk_offs - span + 1 + first,
                sit=False, seat=False, rise=False)
        # (a slow transition claims the epochs before it only while nothing sure is known: once
        # something is, it is a passing tip of the balance, see below)
        heard = is_sure | ~known[ev_at - first]
        ev_at, ev_before, ev_sit = ev_at[heard], ev_before[heard], ev_sit[heard]
        is_seat, is_sure, is_rise = is_seat[heard], is_sure[heard], is_rise[heard]
        # A transition's window starts at rest, in the posture before it: only the epochs from
        # where the movement began are claimed for the posture after it (see _movement_start;
        # docs/core.md, "Transitions").
        moved_from = np.where(~is_seat, self._movement_start(first, calm, ev_at, ev_before), ev_before)
        ev_other = [other_of.get((int(a), int(b), bool(si))) for a, b, si in zip(ev_at, ev_before, ev_sit)]
        # A rise across a break tells the posture of the epochs from the break on as well (the
        # minute it took to tell: standing) and claims them, guesses or not; before it, sitting.
        for j in np.flatnonzero(is_rise):
            b0, a0 = int(ev_before[j]), int(ev_at[j])
            ev_other[j] = (b0, np.ones(a0 - b0, bool), np.ones(a0 - b0, bool))
            moved_from[j] = a0
        # the posture cue: how much more sitting-like than after the last sure evidence
        marked = sure | reset
        since_mark = run_length(~marked, c.since_mark)
        # (3: walking, 1: other sure evidence, 2: a reset, 0: none; in int8 from the masks' bytes)
        kind = forward_fill(np.where(sure, on_feet.view(np.int8) * np.int8(2) + np.int8(1),
                                     reset.view(np.int8) * np.int8(2)), c.mark_kind)
        # the last sure evidence was walking and data went missing since: the walk's end is unseen
        walk_gap = (kind == 3) & (since_brk < since_mark)
        c.since_mark, c.mark_kind = int(since_mark[-1]), int(kind[-1])
        # A posture change is accepted only if the body moved around it (MOVED_SD_G within
        # MOVED_WITHIN_S, or data missing): a stand-up or a sit-down moves the whole body, a lean
        # in the chair toward upright only the trunk.
        moved = run_length(~(brk | (sd >= MOVED_SD_G)), c.since_moved)
        c.since_moved = int(moved[-1])
        # ... and one toward standing only where a transition could have left its trace (`trace`):
        # a seated lean toward upright leaves none
        rose = run_length(~trace, c.since_rose)
        c.since_rose = int(rose[-1])
        # ... and before the new posture began: a change is accepted once it has held PERSIST_S
        # (PostureCue.held_epochs), so its trace lies that long before (less two cue heads for the
        # posture to settle). A break in the data that comes after a seated lean began to look
        # standing-like hid no rise into it. And only a trace across which the trunk's posture
        # changed (rise_traces.py: a reach for the desk leans out and back to the same seat),
        # known `delay` epochs after it: the window is looked at as much later.
        # (at epochs of half a minute or more the window has no room for the delay: every trace)
        risen = trace if self._rise_traces.delay == 0 else self._rise_traces.step(first, g, upright_still & has_data,
                                                                                 trace)
        since_risen = run_length(~risen, c.since_risen)
        c.since_risen = int(since_risen[-1])
        lag = self.rose_lag - self._rise_traces.delay
        rose_then = np.concatenate([c.rose_hist, since_risen])
        c.rose_hist = rose_then[rose_then.shape[0] - lag:]
        rose_ok = rose_then[:rose.shape[0]] <= self.moved_within - self.rose_lag
        # A gap since the last sure evidence may hold a sit-down however long before the posture
        # shows it plainly (a radio gap over it, then minutes of sitting whose level is short of
        # the switch, then a slouch): a change toward sitting may be accepted at any time after
        # it. (Toward standing the trace must be near: a gap long before proved no rise, the
        # lean in the chair above.)
        moved_ok = (moved <= self.moved_within) | (since_brk < since_mark)
        level_h = cue.levels(first, heads, take_rows(g, heads), upright_still[heads], from_walking[heads],
                             since_mark[heads] < B, kind[heads] == 2, calm[heads],
                             moved_ok[heads], rose_ok[heads],
                             walk_gap[heads], walk_up[heads])
        level_change = cue.level_change
        if heads.size and not has_data[heads].all():
            # a head in a dropout judges nothing: the level (and a change under way) stands as
            # the head before it left it
            seen = has_data[heads]
            level_h = hold_through(level_h, seen, c.last_level)
            level_change = hold_through(level_change, seen, c.last_pending)
        # each head's level holds for the epochs up to the next head (0 where not still and
        # upright, and after sure evidence until the next head judges again)
        h0 = int(heads[0]) if heads.size else n_k
        offset = np.empty(n_k, np.int64)
        offset[:h0] = c.last_level
        offset[h0:] = np.repeat(level_h, B)[:n_k - h0]
        # a change under way: the level it would bring, relative to the accepted one (0: none)
        pending = np.empty(n_k, np.int64)
        pending[:h0] = c.last_pending
        pending[h0:] = np.repeat(level_change, B)[:n_k - h0]
        since_head = np.empty(n_k, np.int64)
        since_head[:h0] = np.arange(h0) + c.head_lead
        since_head[h0:] = np.tile(np.arange(B), -(-(n_k - h0) // B))[:n_k - h0]  # (0, 1, .., B - 1, 0, ..)
        if heads.size:
            c.last_level, c.last_pending = int(level_h[-1]), int(level_change[-1])
        c.head_lead = int(since_head[-1]) + 1
        quiet = ~upright_still | (since_mark < since_head)
        offset[quiet] = 0
        pending[quiet] = 0
        x = np.zeros(n_k, np.int64)
        at = heads[cue.absolute]
        x += self._spread(at, inclination_evidence(from_walking[at], o.epoch_s * B), n_k, B)
        x[upright_still & calm & ~known] += self.calm
        # a step or two (shuffling, turning on the spot): on the feet, likely (once something
        # sure is known, for SOFT_HOLD_S like a slow transition: as lasting evidence it would keep
        # every later epoch of a long seated bout undecided, and a walk within the smoother's lag
        # would then settle them all standing)
        steps = np.flatnonzero(walking & ~on_feet)
        x[steps[~known[steps]]] -= self.step
        x[long_lying] = self.sure
        x[told_sit] = self.sure
        x[told_stand] = -self.sure
        x[on_feet] = -self.sure
        x[ups] -= self.transition
        x[rise_at] -= self.transition
        x[downs] += self.transition
        x[seats] += self.transition
        x[x_seats] += self.transition
        # A slow transition is only likely: once something sure is known it tips the balance for
        # SOFT_HOLD_S and stays only if the posture cue then agrees; before, it is evidence like
        # any other (there is no posture to overturn).
        offset += self._transient(first, k.shape[0], soft_ups[known[soft_ups]], soft_downs[known[soft_downs]],
                                  steps[known[steps]])
        x[soft_ups[~known[soft_ups]]] -= self.soft
        x[soft_downs[~known[soft_downs]]] += self.soft
        switch = np.where(known, np.where(since_sure < self.fresh_epochs, self._fresh_switch, self._switch),
                          self._unknown_switch)
        # A long gap hides whatever happened in it: switching across it costs less (the posture
        # cue then compares the posture after it with the one before, see posture_cue.levels).
        switch[gap_run >= GAP_RESET_EPOCHS] = self._unknown_switch
        # Guesses made before anything sure was seen settle nothing before them: the first sure
        # evidence (or the lag) does, with the wearer's own postures telling apart what it claims.
        # (a held epoch is released when the level it shows would decide it as surely the same way,
        # judged only on a calm trunk: one on its way into a posture shows a level still moving)
        # A change toward standing is held only while its acceptance could still revise the
        # epoch: that needs a trace of rising within MOVED_WITHIN_S before it (rose_ok; one not
        # yet judged by rise_traces, or one it kept), so an epoch with none that long before it
        # is decided by the evidence as it stands. (Held on, such epochs took the posture of the
        # next commit: a walk minutes into a seat that sat as upright as the wearer's standing
        # made the last lag's worth of the seat standing.) A trace up to MOVED_WITHIN_S - rose_lag
        # after the epoch could still carry an acceptance back to it: those epochs lie before the
        # rise, and are given up on purpose.
        # The epochs a stand-up heard is settling (`rising`, see _settled_ups) are held until it
        # is reported: a stand-up makes them standing, a shift in the chair leaves them seated.
        may_rise = (rose <= self._rise_traces.delay) | (since_risen <= self.moved_within - self._rise_traces.delay)
        hold = ((pending != 0) & known & ((pending > 0) | may_rise)) | rising
        cut_hold = hold
        if not has_data.all():
            hold = hold_through(hold, has_data, c.data_hold)
        c.data_hold = bool(hold[-1])
        events = Events(ev_at, moved_from, ~ev_sit, ev_other, is_sure)
        # At a break (`cut`), what follows it (a posture it hid the change to) says nothing of the
        # epochs before it, which are decided as they stood when the data stopped: the level holds
        # through the missing epochs.
        if not has_data.all():
            offset = hold_through(offset, has_data, c.data_level)
        c.data_level = int(offset[-1])
        decoded = self._smoother.step(first, x, reset, events, switch, offset, known, hold,
                                      np.where(calm & ~rising, pending, 0), cut, cut_hold)
        sitting = decoded.provisional
        state = np.full(k.shape[0], STANDING, np.int8)
        state[sitting] = SITTING
        state[sitting & self.slouch.slouched(flex, lat)] = SLOUCHING
        state[lying] = LYING
        state[moving] = MOVING
        state[not_worn] = NOT_WORN
        state[~has_data] = NO_DATA

        hold_from, revisions = self._settling(k, state, not_worn, motionless, quiet_run, start_handling,
                                              sat_confirmed, sit_pending, since_step, moving_run,
                                              in_motion, recurs, back)

        c.next_k = self._undecided_from = int(k[-1]) + 1
        c.moving = bool(in_motion[-1])
        c.since_step, c.moving_run = min(int(since_step[-1]), 10**9), int(moving_run[-1])
        c.lying_run = int(lying_run[-1])
        c.since_handling, c.quiet_run, c.off = int(since_handling[-1]), int(quiet_run[-1]), bool(not_worn[-1])
        c.quiet_start_handling = int(start_handling[-1])
        c.active_run, c.not_worn_run, c.gap_run = int(active_run[-1]), int(not_worn_run[-1]), int(gap_run[-1])

        nan = ~has_data
        incl[nan] = flex[nan] = lat[nan] = np.nan
        sd = sd.astype(np.float32)
        sd[nan] = np.nan
        t0 = k * o.epoch_s
        table = EpochTable(t0.astype(np.float64, copy=False), (k + 1) * o.epoch_s, state, incl, flex, lat, sd, cad.copy())
        hold_from = np.minimum(hold_from, decoded.open_from)
        return self._settler.push(table, first, hold_from, revisions, decoded.decided_from, decoded.decided)

    def _spread(self, at: np.ndarray, lumps: np.ndarray, n: int, every: int) -> np.ndarray:
        """Per epoch: each head's evidence (it stands for the `every` epochs from it) shared out
        over those epochs in integer parts that sum to it exactly, the part past this chunk
        carried to the next. All of it on the head made the decoder's score a sawtooth that
        dipped at every head: where the evidence was balanced, every fourth epoch came out the
        other posture."""
        c = self._c
        out = np.zeros(n + every, np.int64)
        out[:c.incl_tail.shape[0]] += c.incl_tail
        if at.size:
            q, r = np.divmod(lumps, every)
            for j in range(every):
                out[at + j] += q + (j < r)  # heads are distinct: no repeated index
        c.incl_tail = out[n:n + every - 1].copy()
        return out[:n]

    def _drifted(self, g: np.ndarray, still: np.ndarray, settled: np.ndarray) -> np.ndarray:
        """Epochs whose trunk lies within LYING_DRIFT_DEG of the last settled upright posture,
        with only still epochs since (it is that posture, drifted past a lying line)."""
        c = self._c
        dtype = _int_type(g.shape[0])
        anchor = _last_true(settled, dtype)
        broken = _last_true(~still, dtype)
        at = np.maximum(anchor, 0)
        ref = [g[:, a].take(at) for a in range(3)]  # column by column: gathering rows of three is slow
        carried = (anchor < 0) & (broken < 0) & (c.upright_g is not None)
        if c.upright_g is not None:
            for a in range(3):
                ref[a][carried] = c.upright_g[a]
        valid = (anchor > broken) | carried
        cos = g[:, 0] * ref[0] + g[:, 1] * ref[1] + g[:, 2] * ref[2]
        with np.errstate(invalid="ignore"):
            drifted = valid & (cos >= np.cos(np.radians(LYING_DRIFT_DEG)))
        c.upright_g = np.array([r[-1] for r in ref]) if valid[-1] else None
        return drifted

    def _seat_watches(self, first: int, walked: np.ndarray, on_feet: np.ndarray, upright_still: np.ndarray,
                      ups: np.ndarray, downs: np.ndarray, g: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """The first ANCHOR_EPOCHS still, upright epochs after each walk that are all in by the end
        of this chunk (a walk, or a seen transition, before they are ends the watch), as (first
        epoch, their directions summed, their chunk positions in this chunk); one still open at
        the chunk's end is carried as (first epoch, epochs seen, directions summed). See _seats."""
        c = self._c
        n = on_feet.shape[0]
        stop = on_feet.copy()
        stop[ups] = stop[downs] = True
        nxt_stop = next_true(stop)
        still_at = np.flatnonzero(upright_still)
        s0 = np.flatnonzero(walked)
        from_ = s0 + 1  # (after the walk's last epoch)
        carry = [c.seat_watch] if c.seat_watch is not None else []
        if carry:
            s0, from_ = np.concatenate(([0], s0)), np.concatenate(([0], from_))
        c.seat_watch = None
        # each watch's end and the still epochs from its start to its end, all found at once
        stop_at = nxt_stop[s0]
        lo_at = np.searchsorted(still_at, from_)
        hi_at = np.searchsorted(still_at, stop_at)
        done = []
        for i, (end, lo, hi) in enumerate(zip(stop_at.tolist(), lo_at.tolist(), hi_at.tolist())):
            if hi <= lo and end < n:  # no still epoch before the watch ends: nothing to add or carry
                continue
            carried = carry[0] if carry and i == 0 else None
            begin, seen, total = carried if carried is not None else (None, 0, np.zeros(3))
            take = still_at[lo:hi][:ANCHOR_EPOCHS - seen]
            if take.size:
                begin = int(take[0]) + first if begin is None else begin
                total = total + g[take].sum(axis=0)
            if seen + take.size == ANCHOR_EPOCHS:
                done.append((begin, total, take))
            elif end >= n:
                c.seat_watch = (begin, seen + take.size, total)
        return done

    def _seats(self, watches: list, walk_up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Seats reached unseen: (chunk positions where it is known, first epoch of the seat).

        After a walk the wearer stands, and a standing trunk settles within a few degrees of the
        walking upright (so a stand-up ending SIT_DEG or more from it is not believed). When the
        mean direction of the first ANCHOR_EPOCHS still, upright epochs after a walk (the posture
        a walk's end is taken to show, posture_cue.py) lies SIT_DEG or more from the walking
        upright, no standing came between: the walk's end and the sit-down went unseen
        (a radio gap, someone walking back to the desk out of range). That is a sit-down, seen
        as surely as a transition, from the first of them. Otherwise the first posture after a
        walk would be taken for the wearer's standing, and the whole bout after it with it."""
        at, frm = [], []
        for begin, total, take in watches:
            with np.errstate(invalid="ignore"):  # (NaN: the walking upright not known yet)
                if angle_deg(unit(total), walk_up[take[-1]]) >= SIT_DEG:
                    at.append(int(take[-1]))
                    frm.append(begin)
        return np.asarray(at, np.int64), np.asarray(frm, np.int64)

    def _movement_start(self, first: int, calm: np.ndarray, at: np.ndarray, before: np.ndarray) -> np.ndarray:
        """Where each transition's movement began: the first epoch from its window's start
        (`before`) to `at` that is not calm (CALM_SD_G; `before` if none is known calm). A
        window starts and ends at rest and is longer than the movement (a sit-down takes
        1.5-3 s, the window 6 s), so its calm first epochs are still in the posture before it.
        Carries the calm flags of the last window (and confirmation or settling) epochs between
        chunks."""
        c = self._c
        span = self.reach + 1
        hist = c.hist_calm_window
        allc = np.concatenate([np.zeros(span - hist.shape[0], bool), hist, calm])
        c.hist_calm_window = allc[allc.shape[0] - span:]
        out = before.copy()
        for i in range(at.shape[0]):
            lo, hi = int(before[i]) - first + span, int(at[i]) - first + span + 1
            j = np.flatnonzero(~allc[max(lo, 0):hi])
            if j.size and lo >= 0:
                out[i] = before[i] + int(j[0])
        return out

    def _transient(self, first: int, n: int, ups: np.ndarray, downs: np.ndarray, stepped: np.ndarray) -> np.ndarray:
        """SOFT_NATS toward sitting after each slow sit-down, toward standing after each slow
        stand-up, STEP_NATS toward standing after each step, for SOFT_HOLD_S each (carried over
        chunks), as an offset."""
        c = self._c
        steps = np.zeros(n + 1, np.int64)
        for t, v in c.soft_pending:  # still running from earlier chunks
            steps[0] += v
            steps[min(max(t - first, 0), n)] -= v
        hold = self.soft_hold
        kinds = ((ups, -self.soft), (downs, self.soft), (stepped, -self.step))
        for at, v in kinds:
            if at.size:
                np.add.at(steps, at, v)
                np.add.at(steps, np.minimum(at + hold, n), -v)
        ends = [(int(t) + first + hold, v) for at, v in kinds for t in at[at + hold > n]]
        c.soft_pending = [(t, v) for t, v in c.soft_pending if t > first + n] + ends
        return np.cumsum(steps[:n])

    def release(self) -> EpochTable:
        """Every epoch decided but still held back (end of the stream or of this calibration)."""
        return self._settler.release()

    def decide_all(self, stats: EpochStats) -> EpochTable:
        """process() and release() in one: a whole recording's statistics in, all its epochs out."""
        return EpochTable.concat([self.process(stats), self.release()])

    @property
    def pending(self) -> EpochTable:
        """Epochs decided but held back: their states are provisional (a live display shows them)."""
        return self._settler.held

    def _settling(self, k, state, not_worn, motionless, quiet_run, start_handling, sat_confirmed, sit_pending,
                  since_step, moving_run, in_motion, recurs, back) -> tuple[np.ndarray, list[Revision]]:
        """What the Settler needs (see settle.py): per epoch, the first epoch a later revision may
        still reach, and the revisions known at these epochs.

        - A sensor gone motionless soon after it was handled may prove to be off the wearer (the
          fast not-worn path): its motionless run is held until that is decided (at most
          quick_calm_epochs) and, once proven, is not_worn from its start. A worn sensor
          rarely passes the motionless test at all (breathing), so this hold is rare.
        - A sit-down waits CONFIRM_EPOCHS calm epochs for its confirmation; once confirmed, the
          epochs from its landing on are sitting.
        - Stepping waits (at most WALK_WITHIN_EPOCHS) for a second stepping epoch within the same
          movement (a walk, not a shuffle); once it comes, the epochs from the first on are
          moving too.
        """
        hold_from = k + 1
        # (both kinds are rare: index them rather than compute on every epoch)
        at = np.flatnonzero(motionless & (start_handling <= self.quick_reach + 1) & ~not_worn)
        hold_from[at] = k[at] - quiet_run[at] + 1
        at = np.flatnonzero(sit_pending >= 0)
        hold_from[at] = np.minimum(hold_from[at], k[at] - sit_pending[at])
        at = np.flatnonzero((since_step < WALK_WITHIN_EPOCHS) & (moving_run > since_step) & ~in_motion)
        hold_from[at] = np.minimum(hold_from[at], k[at] - since_step[at])
        onset = not_worn & motionless
        onset[1:] &= ~not_worn[:-1]
        onset[0] &= not self._c.off
        revisions = [Revision(int(k[j]), int(k[j] - quiet_run[j] + 1), TO_NOT_WORN) for j in np.flatnonzero(onset)]
        sat = np.flatnonzero(sat_confirmed & ((state == SITTING) | (state == SLOUCHING)))
        revisions += [Revision(int(k[j]), int(k[j]) - CONFIRM_EPOCHS, TO_SITTING) for j in sat]
        entered = in_motion.copy()
        entered[1:] &= ~in_motion[:-1]
        entered[0] &= not self._c.moving
        walked = np.flatnonzero(entered & recurs)
        revisions += [Revision(int(k[j]), int(k[j] - back[j]), TO_MOVING) for j in walked]
        revisions.sort(key=lambda r: r.at)
        return hold_from, revisions

    def _settled_ups(self, sure: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stand-ups (sure, slow) reported up_settle epochs after their window's end, where the
        trunk has come to rest (UP_SETTLE_S), and the epochs a sure one heard is still settling
        (from its window's end until it is reported: they may not commit, and its report settles
        them). Carries the last up_settle flags of each between chunks."""
        c = self._c
        d = self.up_settle
        if c.hist_up is None:
            c.hist_up = np.zeros((2, d), bool)
        both = np.concatenate([c.hist_up, np.stack([sure, slow])], axis=1)
        n = sure.shape[0]
        c.hist_up = both[:, n:]
        heard = np.concatenate(([0], np.cumsum(both[0])))
        rising = heard[d + 1:] > heard[1:n + 1]  # a sure one heard at one of the epochs e - d + 1 .. e
        return both[0, :n], both[1, :n], rising

    def _confirmed(self, events: np.ndarray, calm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(confirmed, pending): events[i] that are followed by CONFIRM_EPOCHS calm epochs,
        reported at the last of them; and per epoch, how many epochs back the earliest event
        still waiting for its confirmation lies (-1: none)."""
        c = self._c
        d = CONFIRM_EPOCHS
        n = events.shape[0]
        ev = np.concatenate([c.hist_sat, events])
        cm = np.concatenate([c.hist_calm_recent, calm])
        c.hist_sat, c.hist_calm_recent = ev[-d:], cm[-d:]
        ok = ev[:-d].copy() if d else ev.copy()
        for j in range(1, d + 1):
            ok &= cm[j : cm.shape[0] - d + j]
        confirmed = ok[-n:] if n <= ok.shape[0] else np.concatenate([np.zeros(n - ok.shape[0], bool), ok])
        # event e epochs back, calm on every epoch since: still waiting (e < d)
        pending = np.full(n, -1, np.int64)
        calm_since = np.ones(n, bool)
        for e in range(d):
            if e:
                calm_since &= cm[d - e + 1: d - e + 1 + n]
            waiting = ev[d - e: d - e + n] & calm_since
            pending[waiting] = e
        return confirmed, pending

    def _wobble(self, mean: np.ndarray, noise: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Largest per-axis range of epoch means, and largest noise, over the last
        NOT_WORN_WINDOW and the last QUICK_WINDOW epochs (one (wobble, noise) pair each; in epochs
        as not_worn_epochs counts them).

        The carry holds the window - 1 epochs before these. NaN (no data) anywhere in a
        window makes its result NaN, which fails every test. One sliding maximum over
        [mean, -mean, noise] in float32 gives all of it (float32 resolves a thousandth of the
        smallest range tested).
        """
        c = self._c
        w = self.wobble_window
        cols = np.empty((w - 1 + mean.shape[0], 7), np.float32, order="F")  # columns contiguous
        cols[: w - 1] = c.hist_wobble
        new = cols[w - 1:]
        for a in range(3):
            new[:, a] = mean[:, a]
            np.negative(mean[:, a], out=new[:, 3 + a])
        new[:, 6] = noise
        c.hist_wobble = cols[-(w - 1):].copy()
        out = []
        for top in sliding_reduce(cols, np.maximum, (w, self.quick_window)):
            wob = top[:, 0] + top[:, 3]  # max - min per axis, the largest of the three
            np.maximum(wob, top[:, 1] + top[:, 4], out=wob)
            np.maximum(wob, top[:, 2] + top[:, 5], out=wob)
            out.append((wob, top[:, 6]))
        return out
