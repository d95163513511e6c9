"""Which sit-downs and stand-ups the transition measure heard, and which of them to trust.

core/transition.py measures each window (vertical velocity, quiet ends, tilt); here those
measures become flags per epoch: a stand-up or a sit-down, sure or slow, a landing straight from
walking, a walk-off straight into walking (on_every_epoch), cleared where the window cannot hold a
whole transition (distrust) or reads the opposite of one just heard (silence_opposite), and each
movement counted once however many windows hold it (_heard_once). The decisions (decide.py) and
the calibration's check of a stand step (personal.rose_since) use the same rules, so they hear
the same transitions (the stand step is held still: a walk-off, which ends walking, is not one).
"""

from __future__ import annotations

import numpy as np

from . import transition
from .epoch_stats import EpochStats
from .runs import run_length

# A trunk transition must start and end quiet and tilt the trunk on the way (transition.QUIET_G,
# transition.MIN_TILT_DEG), reach this vertical speed (m/s) and be this lopsided (main
# direction / other direction) to count.
TRANSITION_SPEED = 0.35
TRANSITION_LOPSIDED = 1.35
# A slower transition of the same shape (a careful sit-down, a slow rise: real ones peak at
# 0.2-0.35 m/s too) is only likely, not sure: SOFT_NATS of evidence.
SOFT_TRANSITION_SPEED = 0.2
# Straight from walking no window starts at rest, so a sit-down is judged by its landing alone
# (velocity integrated back from the quiet end, transition.LAND_SPEED, as lopsided): it must also
# lean the trunk this far, beyond stopping, turning or glancing down (real walk-to-stand stops: < 30).
LANDING_MIN_TILT_DEG = 30.0
# Straight into walking no window ends at rest, so a stand-up is judged by its walk-off alone
# (velocity integrated forward from the quiet start, transition.LAND_SPEED, as lopsided), with
# the same lean: rising from a chair brings the trunk forward over the feet (30-50 deg in healthy
# adults, Millington et al. 1992) where starting to walk from standing barely leans it.
WALK_OFF_MIN_TILT_DEG = LANDING_MIN_TILT_DEG


def _since_before(flags: np.ndarray, carry: int) -> tuple[np.ndarray, int]:
    """Per epoch, the epochs since the last flag before it (carry: that count at the last epoch
    of the previous chunk), and the carry for the next chunk. Chunks are never empty."""
    since = run_length(~flags, carry)
    return np.concatenate(([carry], since[:-1])), int(since[-1])


def _since_flag(at: np.ndarray, flags: np.ndarray, carry: int) -> np.ndarray:
    """For chunk positions `at`, the epochs since the last of the flagged positions `flags`
    (ascending) before each: _since_before's answer there, from the flags' positions alone."""
    j = flags.searchsorted(at, side="left") - 1
    if flags.size == 0:
        return carry + at
    return np.where(j >= 0, at - 1 - flags[np.maximum(j, 0)], carry + at)


def _heard_once(sure: np.ndarray, soft: np.ndarray, n: int, carry_sure: int, carry_soft: int,
                span: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """One direction's transitions, each heard once: (sure positions, slow positions, carries).

    A movement is whole in every window that holds it, so it is seen again by the next ones:
    a flag within `span` epochs after an earlier flag of its kind is that movement again; a slow
    one at or within `span` epochs after a sure one is the sure one seen weaker. Positions
    (ascending) among n epochs; the carries are the epochs since the last flag of each kind.
    (Worked out on the flags' positions: a few a day, where per-epoch arrays cost a pass each.)"""
    sure = np.unique(np.asarray(sure, np.intp))
    soft = np.unique(np.asarray(soft, np.intp))
    heard_sure = sure[_since_flag(sure, sure, carry_sure) + 1 >= span]
    heard_soft = soft[(_since_flag(soft, soft, carry_soft) + 1 >= span) & ~np.isin(soft, sure)
                      & (_since_flag(soft, sure, carry_sure) + 1 >= span)]
    carry_sure = n - 1 - int(sure[-1]) if sure.size else carry_sure + n
    carry_soft = n - 1 - int(soft[-1]) if soft.size else carry_soft + n
    return heard_sure, heard_soft, carry_sure, carry_soft


def distrust(flags: tuple[np.ndarray, ...], gap: np.ndarray, span: int, early: int, since_gap: int) -> np.ndarray:
    """Clear, in place, the transition flags (per consecutive epoch) of windows that cannot hold a
    whole transition, and return the epochs since the last gap (since_gap: that count before the
    first epoch). A window that starts before the recording does (the first `early` epochs) cannot:
    what looks like a quiet start is the first moment of data, often the sensor being put on. Nor
    can one that reaches back into missing data (`gap`: a radio gap, a stuck sensor reading
    (0, 0, 0), whose end reads as a leap of |a| from 0 to 1 g, a splice: core/splices.py), or into
    the first epoch after it (which may hold the gap's or the fault's last moments)."""
    since = run_length(~gap, since_gap)
    torn = np.flatnonzero(since <= span)
    for f in flags:
        f[:early] = False
        f[torn] = False
    return since


def silence_opposite(up: np.ndarray, down: np.ndarray, slow_up: np.ndarray, slow_down: np.ndarray, span: int,
                     since_up: int, since_down: int) -> tuple:
    """Windows that overlap one transition but start inside it can read the opposite way: an event
    of one kind silences the other kind for a window's length. Returns (up, down, slow up, slow down,
    and the carries: epochs since the last up and down, as since_up/since_down were before)."""
    prev_up, since_up = _since_before(up, since_up)
    prev_down, since_down = _since_before(down, since_down)
    up, down = up & (prev_down + 1 >= span), down & (prev_up + 1 >= span)
    slow_up = slow_up & (prev_down + 1 >= span) & ~down
    slow_down = slow_down & (prev_up + 1 >= span) & ~up
    return up, down, slow_up, slow_down, since_up, since_down


def transition_kinds(v_up, v_down, quiet, tilt, speed: float = TRANSITION_SPEED) -> tuple[np.ndarray, np.ndarray]:
    """(stood up, sat down) per epoch: a whole transition in the window ending there."""
    whole = (quiet <= transition.QUIET_G) & (tilt >= transition.MIN_TILT_DEG)  # False where NaN
    up = whole & (v_up >= speed) & (v_up >= TRANSITION_LOPSIDED * v_down)
    down = whole & (v_down >= speed) & (v_down >= TRANSITION_LOPSIDED * v_up)
    return up, down


def transition_events(stats) -> np.ndarray:
    """Epochs whose window holds a whole sit-down or stand-up (either direction)."""
    up, down = transition_kinds(stats.v_up, stats.v_down, stats.quiet_g, stats.tilt_deg)
    return up | down


def on_every_epoch(stats: EpochStats, first: int, count: int, lying_deg: float) -> tuple[np.ndarray, ...]:
    """(n, cadence, periodicity, stood up, sat down, landed, mean, var, slow up, slow down, spliced,
    walked off: a stand-up straight into walking, judged by its walk-off) on consecutive epochs
    first .. first+count-1; epochs without samples get no samples, no stepping, no transition
    and NaN moments. Without such gaps (the usual case) nothing moves."""
    # Transition measures exist (are not NaN) for a few percent of epochs only, and NaN fails
    # every test below: judge just those.
    m = len(stats)
    up, down, landed, walked_off = np.zeros(m, bool), np.zeros(m, bool), np.zeros(m, bool), np.zeros(m, bool)
    slow_up, slow_down = np.zeros(m, bool), np.zeros(m, bool)
    i = np.flatnonzero(~np.isnan(stats.v_up))
    if i.size:
        up[i], down[i] = transition_kinds(stats.v_up[i], stats.v_down[i], stats.quiet_g[i], stats.tilt_deg[i])
        slow_up[i], slow_down[i] = transition_kinds(stats.v_up[i], stats.v_down[i], stats.quiet_g[i],
                                                    stats.tilt_deg[i], SOFT_TRANSITION_SPEED)
    # A sit-down straight from walking, judged by its landing alone: lopsided, fast enough, with
    # a big lean onto a quiet end. Whether the wearer was stepping just before is checked by the
    # caller.
    i = np.flatnonzero(stats.land_down >= transition.LAND_SPEED)
    if i.size:
        tilt = stats.tilt_deg[i]
        landed[i] = ((stats.quiet_end_g[i] <= transition.QUIET_G) & (tilt >= LANDING_MIN_TILT_DEG)
                     & (tilt < lying_deg) & (stats.land_down[i] >= TRANSITION_LOPSIDED * stats.land_up[i]))
    # A stand-up straight into walking, judged by its walk-off alone: lopsided, fast enough, with
    # a big lean out of a quiet start (however big: a rise from a reclined seat can lean 60 deg
    # and more; rising out of lying is told apart by the caller, as for any stand-up). Whether
    # the wearer is stepping by the window's end is checked by the caller.
    i = np.flatnonzero(stats.rise_up >= transition.LAND_SPEED)
    if i.size:
        tilt = stats.tilt_deg[i]
        walked_off[i] = (tilt >= WALK_OFF_MIN_TILT_DEG) & (stats.rise_up[i] >= TRANSITION_LOPSIDED * stats.rise_down[i])
    cols = (stats.n, stats.cadence_spm, stats.periodicity, up, down, landed, stats.mean, stats.var,
            slow_up & ~up, slow_down & ~down, stats.spliced, walked_off)
    if len(stats) == count:
        return cols
    pos = stats.k - first
    # The epochs with samples come in runs between the gaps, usually a few: copied run by run
    # (slices) rather than scattered epoch by epoch.
    cut = np.flatnonzero(pos[1:] != pos[:-1] + 1) + 1
    runs = None
    if m and cut.size < 100:
        bounds = [0, *cut.tolist(), m]
        runs = [(int(pos[i]), i, j) for i, j in zip(bounds[:-1], bounds[1:])]
    out = []
    for a in cols:
        fill = np.nan if a.dtype.kind == "f" and a.ndim == 2 else 0
        if runs is not None:  # (each epoch written once: the runs, and the gaps between them)
            full = np.empty((count,) + a.shape[1:], a.dtype, order="F")  # columns contiguous
            at = 0
            for p, i, j in runs:
                full[at:p] = fill
                full[p:p + j - i] = a[i:j]
                at = p + j - i
            full[at:] = fill
            out.append(full)
            continue
        full = np.full((count,) + a.shape[1:], fill, a.dtype, order="F")  # columns contiguous
        if a.ndim == 2:
            for c in range(a.shape[1]):  # column by column: scattering rows of three is slow
                full[pos, c] = a[:, c]
        else:
            full[pos] = a
        out.append(full)
    return tuple(out)
