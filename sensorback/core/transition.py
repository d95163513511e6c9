"""Vertical trunk velocity across a posture transition, from the acceleration magnitude.

Sitting down lowers the chest or hip by roughly 0.2-0.5 m and standing up raises it, whatever
the trunk angles before and after. The magnitude |a| does not depend on how the clip is mounted
or how the trunk rotates, so integrating (|a| - baseline) over a window that starts and ends at
rest gives the vertical velocity. Baselines are taken from the quiet first and last half
second (this absorbs offset and gain errors); velocity is forced to zero at both ends. A
window whose direction changes once the velocity is also held at zero outside the movement
itself tells no direction (_active_velocity).
"""

from __future__ import annotations

import numpy as np

TARGET_GRID_HZ = 25.0
QUIET_S = 0.5
# A turn of this many degrees within a quiet end counts like 1 g of |a| spread (i.e. fails).
TURN_DEG_PER_G = 150.0
# A window holds a whole transition only if both ends are this quiet (SD of |a|, g) ...
QUIET_G = 0.02
# ... and the trunk tilts at least this far (degrees) on the way: shuffles and weight shifts don't.
MIN_TILT_DEG = 12.0
# Landing measures (for a sit-down straight from walking, with no quiet start): they look back
# this far from the quiet end (a sit-down takes 1.5-3 s), and only a landing at least this fast
# (m/s) can be a sit-down, so only those get a tilt.
LAND_S = 3.0
LAND_SPEED = 0.35
# Walk-off measures (a stand-up straight into walking, with no quiet end): the mirror of the
# landing, integrated forward from the quiet start over the first LAND_S; only a rise at least
# LAND_SPEED fast gets a tilt, measured over those seconds (the rise's own lean, not the walk's).
G = 9.81
# The movement's span (the position-free check, _active_velocity) holds all of its departure from
# rest (|a| beyond three times the quiet ends' noise) but this share at each end.
MOVEMENT_TAIL = 0.02


def vertical_velocity(win: np.ndarray, grid_hz: float) -> tuple[np.ndarray, ...]:
    """Peak upward and downward trunk velocity (m/s, both >= 0), end quietness (g) and the
    largest tilt away from the starting posture held for half a second (degrees); then the landing measures: peak
    downward and upward velocity (m/s) over the last LAND_S, integrated back from the end alone,
    and the quietness of the end alone (g); then the walk-off measures: peak upward and downward
    velocity (m/s) over the first LAND_S, integrated forward from the start alone.

    Windows have shape (3, w, m) (one plane per axis). Standing up shows a clear upward peak
    (0.4-0.7 m/s) and only a small downward one; sitting down the reverse. quietness is the
    larger SD of |a| over the first and last QUIET_S: a window whose ends are not quiet does not
    hold a whole transition, and its velocities mean nothing. So only windows with quiet ends
    get a tilt, and only those that also tilt at least MIN_TILT_DEG get velocities; the rest are
    NaN (this skips most of the work and changes no decision). Windows with a quiet end but no
    quiet start get the landing measures instead (they see a sit-down straight from walking,
    when no window starts at rest), and a tilt if they land at LAND_SPEED or faster. Windows
    with a quiet start but no quiet end get the walk-off measures (a stand-up straight into
    walking, when no window ends at rest), and the tilt of their first LAND_S if they rise at
    LAND_SPEED or faster.
    """
    _, w, m = win.shape
    quiet = np.zeros(w, np.float32)
    quiet_end = np.zeros(w, np.float32)
    v_up, v_down, tilt, land_down, land_up, rise_up, rise_down = (np.full(w, np.nan, np.float32) for _ in range(7))
    if w == 0:
        return v_up, v_down, quiet, tilt, land_down, land_up, quiet_end, rise_up, rise_down
    q = max(2, int(round(QUIET_S * grid_hz)))
    pre = win[:, :, :q].astype(np.float64)
    post = win[:, :, -q:].astype(np.float64)
    # Quiet ends: steady |a| and a trunk that is not turning (|a| can be steady half-way through
    # a slow lean, so a window starting or ending mid-transition must not count as whole).
    turn_post = _turn_deg(post)
    turn_pre = _turn_deg(pre)
    turn = np.maximum(turn_pre, turn_post)
    post_sd = _magnitude(post).std(axis=1)
    pre_sd = _magnitude(pre).std(axis=1)
    quiet[:] = np.maximum(np.maximum(pre_sd, post_sd), turn * (1.0 / TURN_DEG_PER_G))
    quiet_end[:] = np.maximum(post_sd, turn_post * (1.0 / TURN_DEG_PER_G))
    quiet_start = np.maximum(pre_sd, turn_pre * (1.0 / TURN_DEG_PER_G))
    ended = np.flatnonzero(quiet_end <= QUIET_G)
    calm = ended[quiet[ended] <= QUIET_G]
    landing = ended[quiet[ended] > QUIET_G]
    n_land = min(m, max(q, int(round(LAND_S * grid_hz))))
    if landing.size:
        land_up[landing], land_down[landing] = _from_rest(win, landing, n_land, q, grid_hz, at_end=True)
        landing = landing[land_down[landing] >= LAND_SPEED]
    if landing.size:
        tilt[landing] = _largest_tilt(win, landing, pre[:, landing].sum(axis=2), q)
    rising = np.flatnonzero((quiet_start <= QUIET_G) & (quiet_end > QUIET_G))
    if rising.size:
        rise_up[rising], rise_down[rising] = _from_rest(win, rising, n_land, q, grid_hz, at_end=False)
        fast = rising[rise_up[rising] >= LAND_SPEED]
        if fast.size:
            tilt[fast] = _largest_tilt(win, fast, pre[:, fast].sum(axis=2), q, n_land)
    if calm.size == 0:
        return v_up, v_down, quiet, tilt, land_down, land_up, quiet_end, rise_up, rise_down
    tilt[calm] = _largest_tilt(win, calm, pre[:, calm].sum(axis=2), q)
    whole = calm[tilt[calm] >= MIN_TILT_DEG]
    if whole.size == 0:
        return v_up, v_down, quiet, tilt, land_down, land_up, quiet_end, rise_up, rise_down
    mag = _magnitude(win[:, whole])
    pre_mean, post_mean = mag[:, :q].mean(axis=1), mag[:, -q:].mean(axis=1)
    ramp = np.clip((np.arange(m) - q + 0.5) / (m - 2 * q), 0.0, 1.0)
    # |a| less its resting level, ramped from the start's to the end's
    off_rest = mag - (pre_mean[:, None] + (post_mean - pre_mean)[:, None] * ramp)
    vel = np.cumsum(off_rest, axis=1) * (G * (1.0 / grid_hz))
    vel -= vel[:, -1:] * (np.arange(1, m + 1) / m)
    up, down = vel.max(axis=1), -vel.min(axis=1)
    # (a window that reads the other way once the body's rest around the movement is respected
    # heard where the movement sat in it, not which way it went: it tells no direction)
    noise = np.maximum(pre_sd, post_sd)[whole]
    own_up, own_down = _active_velocity(mag, off_rest, pre_mean, post_mean, noise, q, grid_hz)
    told = (up > down) == (own_up > own_down)
    v_up[whole] = np.where(told, up, np.nan)
    v_down[whole] = np.where(told, down, np.nan)
    return v_up, v_down, quiet, tilt, land_down, land_up, quiet_end, rise_up, rise_down


def _active_velocity(mag: np.ndarray, off_rest: np.ndarray, pre: np.ndarray, post: np.ndarray,
                     noise: np.ndarray, q: int, grid_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Peak upward and downward velocity (m/s, both >= 0) of windows of |a| (one per row) that
    start and end at rest: the integral of |a| less its resting level, over the movement only.
    pre / post: the mean |a| of each window's first and last q samples; off_rest: |a| less the
    level ramped from the one to the other over the window between them (as vertical_velocity
    integrates it); noise: the larger SD of |a| over those first and last q samples (the quiet
    ends' noise, as vertical_velocity measured it).

    The body is at rest, so its velocity is zero, before the movement starts and after it ends,
    not only at the window's two ends. |a| never integrates to exactly zero across a real
    movement (the chest swinging round the hips lowers it; the resting level changes with the
    trunk's angle), and pulled back to zero over the whole window, the residual shifts the
    velocity by an amount that depends on where the movement sits in the window: successive
    windows over one sit-down read up, then down. Here the resting level steps from the start's
    to the end's, and the residual is spread, over the movement's own span: from the first to
    the last sample of its departure from rest (|a| beyond three times the quiet ends' noise),
    leaving out MOVEMENT_TAIL of that departure at each end, widened by QUIET_S each side; the
    same movement then reads the same way in every window that holds it. (A level for "moving",
    fixed or a share of the largest departure, cut a slow movement whose one lobe passed it in
    half, or left out both lobes of one that lands hard: by its share of the departure, a lobe
    counts however its peak compares.) (Used to check the direction only: as the measure itself
    it lowered many true peaks, docs/core.md "Transitions".)"""
    m = mag.shape[1]
    i = np.arange(m)
    seen = np.cumsum(np.maximum(np.abs(off_rest) - 3.0 * noise[:, None], 0.0), axis=1)
    total = seen[:, -1:]
    moved = total[:, 0] > 0
    a0 = np.where(moved, np.argmax(seen > MOVEMENT_TAIL * total, axis=1), q)
    a1 = np.where(moved, np.argmax(seen >= (1.0 - MOVEMENT_TAIL) * total, axis=1), m - q - 1)
    a0 = np.maximum(a0 - q, 0)[:, None]
    a1 = np.minimum(a1 + q, m - 1)[:, None]
    span = (a1 - a0 + 1).astype(np.float64)
    inside = (i >= a0) & (i <= a1)
    level = pre[:, None] + (post - pre)[:, None] * np.clip((i - a0 + 0.5) / span, 0.0, 1.0)
    vel = np.cumsum(np.where(inside, mag - level, 0.0), axis=1) * (G * (1.0 / grid_hz))
    vel -= vel[:, -1:] * np.clip((i - a0 + 1) / span, 0.0, 1.0)
    return vel.max(axis=1), -vel.min(axis=1)


def _from_rest(win: np.ndarray, i: np.ndarray, n: int, q: int, grid_hz: float,
               at_end: bool) -> tuple[np.ndarray, np.ndarray]:
    """Peak upward and downward vertical velocity (m/s, both >= 0) of windows i, integrated from
    rest: back from the quiet end over their last n samples (at_end: the landing measures), or
    forward from the quiet start over their first n (the walk-off measures). At rest the velocity
    is zero, so it is the integral of (|a| - that end's baseline, the mean |a| of its q samples)
    from there, with its sign flipped when integrating back."""
    mag = _magnitude(win[:, i, -n:] if at_end else win[:, i, :n])
    if at_end:
        mag = mag[:, ::-1]
    vel = np.cumsum(mag - mag[:, :q].mean(axis=1)[:, None], axis=1) * ((-G if at_end else G) / grid_hz)
    return vel.max(axis=1), -vel.min(axis=1)


def _magnitude(win: np.ndarray) -> np.ndarray:
    """|a| of planes (3, ...), in float64: float32 planes are squared straight into float64, the
    same numbers as squaring a float64 copy (the cast is exact) without making one."""
    s = np.square(win[0], dtype=np.float64)
    t = np.square(win[1], dtype=np.float64)
    s += t
    s += np.square(win[2], out=t, dtype=np.float64)
    return np.sqrt(s, out=s)


def _turn_deg(seg: np.ndarray) -> np.ndarray:
    """Angle between the mean direction of the first and of the second half of each segment."""
    h = seg.shape[2] // 2
    a, b = seg[:, :, :h].sum(axis=2), seg[:, :, h:].sum(axis=2)
    cos = (a * b).sum(axis=0) / np.maximum(np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0)), 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _largest_tilt(win: np.ndarray, i: np.ndarray, start: np.ndarray, q: int, m: int | None = None) -> np.ndarray:
    """Largest angle between the acceleration direction (averaged over blocks of about a quarter
    second) and the starting direction `start` (3, len(i)) that two neighbouring blocks both hold,
    in windows i over their first m samples (default all).
    Getting up or sitting down tilts the trunk (and pelvis) forward by 20-45 degrees for a second
    or more; shuffling the feet or shifting weight does not, and a quick dip or bump swings the
    acceleration's direction as far for one block only. (A window of one block: that block.)"""
    m = win.shape[2] if m is None else m
    k = max(1, q // 2)
    mk = m // k * k
    # block sums in float64, as k strided adds (a reduction over a short last axis runs numpy's
    # inner loop k elements at a time), from the float32 windows gathered once
    sub = win[:, i, :mk]
    blocks = sub[:, :, 0::k].astype(np.float64)
    for j in range(1, k):
        blocks += sub[:, :, j::k]
    start = start / np.sqrt((start * start).sum(axis=0))
    dot = blocks[0] * start[0][:, None] + blocks[1] * start[1][:, None] + blocks[2] * start[2][:, None]
    cos = dot / np.maximum(_magnitude(blocks), 1e-9)
    # the smaller tilt of each two neighbouring blocks
    held = np.maximum(cos[:, :-1], cos[:, 1:]) if cos.shape[1] > 1 else cos
    return np.degrees(np.arccos(np.clip(held.min(axis=1), -1.0, 1.0))).astype(np.float32)
