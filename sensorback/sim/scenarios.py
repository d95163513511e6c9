"""Day plans: which activities a simulated wearer goes through, in which order, for how long.

Durations are drawn from ranges typical of office work so that each seed gives a different but
plausible day. A plan is generated for at least its natural length and then cut to the requested
duration, so a short version is the start of the same day, and a longer one just carries on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .timeline import Timeline

MIN = 60.0
HOUR = 3600.0


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    duration_s: float
    build: Callable[[Timeline, float], None]


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


# ---------------------------------------------------------------------------- building blocks
def desk_session(tl: Timeline, until_s: float, code: str = "sit_upright") -> None:
    """Seated work until until_s: upright stretches, slouch episodes (25-45 deg, 1-20 min,
    gradual onset) and mild leans (5-12 deg, still sitting). Always starts and ends upright,
    so every slouch has an upright reference just before it."""
    rng, p = tl.rng, tl.person
    episode_last = True
    while (left := until_s - tl.now) > 0.5:
        if episode_last or left < 150.0:
            tl.sit(left if left < 150.0 else min(left, rng.uniform(90.0, 720.0)), code)
            episode_last = False
            continue
        r = rng.random()
        if r < p.slouchiness:
            onset, recover = rng.uniform(5.0, 30.0), rng.uniform(3.0, 10.0)
            hold = min(_log_uniform(rng, 60.0, 1200.0), left - onset - recover - 60.0)
            if hold < 45.0:
                tl.sit(left, code)
                break
            tl.slouch(hold, rng.uniform(28.0, 45.0), onset, recover)
        elif r < p.slouchiness + 0.2:
            tl.lean(min(rng.uniform(30.0, 240.0), left - 60.0), rng.uniform(5.0, 12.0))
        else:
            tl.sit(min(left, rng.uniform(60.0, 600.0)), code)
            continue
        episode_last = True


def arrive(tl: Timeline) -> None:
    """Walk in from the station or car park, maybe up a flight of stairs."""
    rng = tl.rng
    tl.walk(rng.uniform(300.0, 720.0))
    if rng.random() < 0.6:
        tl.walk(rng.uniform(20.0, 45.0), kind="stairs_up")
        tl.walk(rng.uniform(15.0, 60.0))


def leave(tl: Timeline, end_s: float) -> None:
    """Pack up and walk home (down the stairs if we came up them), past the end of the day."""
    rng = tl.rng
    tl.stand(rng.uniform(30.0, 120.0), "stand_desk", work=True)
    tl.walk(rng.uniform(20.0, 60.0))
    if any(b.kind == "stairs_up" for b in tl.bouts):
        tl.walk(rng.uniform(15.0, 40.0), kind="stairs_down")
    tl.walk(max(end_s - tl.now + 60.0, 300.0), code="walk_home")


def short_break(tl: Timeline) -> None:
    """From standing at the desk: coffee, toilet, a chat or a stretch, back to the desk standing."""
    rng = tl.rng
    kind = rng.choice(["coffee", "toilet", "chat", "stretch"], p=[0.35, 0.25, 0.15, 0.25])
    if kind == "coffee":
        tl.walk(rng.uniform(40.0, 180.0))
        tl.stand(rng.uniform(90.0, 300.0), "stand_coffee", shuffles=True)
        tl.walk(rng.uniform(40.0, 180.0))
    elif kind == "toilet":
        tl.walk(rng.uniform(30.0, 90.0))
        tl.stand(rng.uniform(10.0, 30.0))
        tl.sit_down()
        tl.sit(rng.uniform(60.0, 240.0), "sit_toilet", reaches=False)
        tl.stand_up()
        tl.stand(rng.uniform(20.0, 60.0), "stand_sink")
        tl.walk(rng.uniform(30.0, 90.0))
    elif kind == "chat":
        tl.walk(rng.uniform(10.0, 40.0))
        tl.stand(rng.uniform(60.0, 480.0), "stand_chat", shuffles=True)
        tl.walk(rng.uniform(10.0, 40.0))
    else:
        tl.stand(rng.uniform(20.0, 90.0), "stand_stretch")


def meeting(tl: Timeline) -> None:
    """Walk to a meeting room; a stand-up meeting (10-25 min) or a seated one (25-60 min)."""
    rng = tl.rng
    tl.walk(rng.uniform(60.0, 180.0))
    if rng.random() < 0.4:
        tl.stand(rng.uniform(600.0, 1500.0), "stand_meeting", shuffles=True)
    else:
        tl.stand(rng.uniform(10.0, 40.0), "stand")
        tl.sit_down()
        desk_session(tl, tl.now + rng.uniform(1500.0, 3600.0), code="sit_meeting")
        tl.stand_up()
        tl.stand(rng.uniform(10.0, 60.0), "stand")
    tl.walk(rng.uniform(60.0, 180.0))


def lunch(tl: Timeline) -> None:
    """Sensor left on the desk for 20-40 min, then clipped on again for a walk outside."""
    rng = tl.rng
    tl.stand(rng.uniform(20.0, 60.0), "stand_desk", work=True)
    tl.take_off()
    tl.desk(rng.uniform(20.0, 40.0) * MIN)
    tl.put_on("stand")
    tl.stand(rng.uniform(20.0, 60.0), "stand_desk")
    tl.walk(rng.uniform(8.0, 20.0) * MIN, code="walk_outside")


def place_gaps(tl: Timeline, end_s: float, count: int, lo_s: float = 10.0, hi_s: float = 300.0,
               after_s: float = 0.0) -> None:
    """Put BLE outages inside long-enough seated stretches (the phone left in a bag, out of range)."""
    rng = tl.rng
    for _ in range(count):
        dur = _log_uniform(rng, lo_s, hi_s)
        taken = [(a / 1000.0, b / 1000.0) for a, b in tl.gaps]
        cands = [(a / 1000.0, b / 1000.0) for a, b, lab, code in tl.rows
                 if lab == "sitting" and code.startswith("sit_") and a / 1000.0 >= after_s
                 and b / 1000.0 <= end_s and (b - a) / 1000.0 >= dur + 40.0
                 and not any(x < b / 1000.0 and y > a / 1000.0 for x, y in taken)]
        if not cands:
            continue
        a, b = cands[int(rng.integers(len(cands)))]
        tl.gap(rng.uniform(a + 20.0, b - 20.0 - dur), dur)


class _Lengths:
    """Desk-session lengths cycling through long (45-90 min), short (20-28) and medium (30-45),
    in a per-seed order, so every day has sitting bouts both above and below 30 minutes."""

    RANGES = {"long": (45.0, 90.0), "short": (20.0, 28.0), "medium": (30.0, 45.0)}

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.order = list(rng.permutation(list(self.RANGES)))
        self.i = 0

    def next_s(self) -> float:
        lo, hi = self.RANGES[self.order[self.i % 3]]
        self.i += 1
        return self.rng.uniform(lo, hi) * MIN


# ------------------------------------------------------------------------------- scenarios
def build_desk_day(tl: Timeline, end_s: float) -> None:
    rng = tl.rng
    arrive(tl)
    tl.stand(rng.uniform(40.0, 150.0), "stand_desk", work=True)
    tl.sit_down()
    lengths = _Lengths(rng)
    lunch_at = rng.uniform(3.6, 4.4) * HOUR
    meetings = [rng.uniform(1.5, 3.0) * HOUR] + ([rng.uniform(5.0, 6.5) * HOUR] if rng.random() < 0.6 else [])
    leave_at = end_s - rng.uniform(420.0, 600.0)
    lunch_done = False
    while True:
        stop = min(tl.now + lengths.next_s(), leave_at)
        if not lunch_done:
            stop = min(stop, lunch_at)
        desk_session(tl, max(stop, tl.now + rng.uniform(300.0, 600.0)))
        tl.stand_up()
        if tl.now >= leave_at - 120.0:
            break
        if not lunch_done and tl.now >= lunch_at - 120.0:
            lunch(tl)
            lunch_done = True
        elif meetings and tl.now >= meetings[0]:
            meetings.pop(0)
            meeting(tl)
        else:
            short_break(tl)
        tl.stand(rng.uniform(5.0, 30.0), "stand_desk")
        tl.sit_down()
    leave(tl, end_s)
    place_gaps(tl, end_s, 1, after_s=min(HOUR, end_s / 2))


def build_standing_desk_day(tl: Timeline, end_s: float) -> None:
    rng = tl.rng
    arrive(tl)
    tl.stand(rng.uniform(60.0, 180.0), "stand_desk", work=True)
    lunch_at = rng.uniform(3.6, 4.4) * HOUR
    leave_at = end_s - rng.uniform(420.0, 600.0)
    lunch_done = False
    sit_next = True
    while True:
        if sit_next:
            tl.sit_down()
            desk_session(tl, min(tl.now + rng.uniform(20.0, 60.0) * MIN, max(leave_at, tl.now + 300.0)))
            tl.stand_up()
        else:
            tl.stand(min(rng.uniform(15.0, 45.0) * MIN, max(leave_at - tl.now, 300.0)),
                     "stand_desk", work=True, shuffles=True)
        sit_next = not sit_next
        if tl.now >= leave_at - 120.0:
            break
        if not lunch_done and tl.now >= lunch_at - 120.0:
            lunch(tl)
            lunch_done = True
            tl.stand(rng.uniform(10.0, 60.0), "stand_desk", work=True)
        elif rng.random() < 0.45:
            short_break(tl)
            tl.stand(rng.uniform(10.0, 60.0), "stand_desk", work=True)
    leave(tl, end_s)
    place_gaps(tl, end_s, 1, lo_s=10.0, hi_s=40.0, after_s=min(HOUR, end_s / 3))
    place_gaps(tl, end_s, 1, lo_s=60.0, hi_s=300.0, after_s=min(HOUR, end_s / 3))


def build_demo(tl: Timeline, end_s: float) -> None:
    """Fifteen minutes that show every state, in an order a person could really do
    them, and earn one slouch nudge with the coach's default settings (it nudges only once five
    minutes of slouching fall within an hour): the slouch creeps in over most of a minute and
    stays for five.

    The sensor rests on the desk for three minutes: shorter than about two minutes, a sensor at
    rest cannot be told from a wearer holding very still, so the core waits that long.
    """
    rng = tl.rng
    tl.walk(35.0)
    tl.stand(15.0, "stand_desk", work=True)
    tl.sit_down()
    tl.sit(25.0)
    tl.slouch(320.0, rng.uniform(30.0, 38.0), 45.0, 5.0)
    t_gap = tl.now + 10.0
    tl.sit(30.0)
    tl.gap(t_gap, 12.0)
    tl.lean(20.0, rng.uniform(6.0, 10.0))
    tl.sit(10.0)
    tl.stand_up()
    tl.walk(35.0)
    tl.stand(30.0, "stand_desk")
    tl.take_off()
    tl.desk(180.0)
    tl.put_on("stand")
    tl.stand(8.0)
    tl.walk(20.0)
    tl.sit_down()
    tl.sit(10.0, "sit_couch", reaches=False)
    tl.lie_down(str(rng.choice(["supine", "left", "right", "prone"], p=[0.5, 0.2, 0.2, 0.1])))
    tl.lie(40.0)
    tl.sit_up()
    tl.sit(10.0, "sit_couch", reaches=False)
    tl.stand_up()
    tl.stand(10.0)
    tl.walk(20.0)
    tl.fill_to(end_s)


# -------------------------------------------- sitting and standing without a visible transition
def _hide(tl: Timeline, verb_slow, verb, k: int) -> None:
    """Every other hidden transition slow, the rest inside a radio gap."""
    if k % 2:
        verb_slow()
    else:
        tl.hidden(verb)


def build_hidden_sit_downs(tl: Timeline, end_s: float) -> None:
    """Desk sessions of 20-90 min whose sit-downs nobody sees (slow, or inside a radio gap);
    the stand-ups are ordinary, the breaks are walks, chats and coffee. The wearer sits 8-20 deg
    reclined from their standing posture, as most people in the real chest recordings do (for
    one who sits as upright as they stand, see sits-as-stands)."""
    rng = tl.rng
    tl.person.sit_upright_rel_deg = -float(rng.uniform(8.0, 20.0))
    arrive(tl)
    lengths = _Lengths(rng)
    k = 0
    while tl.now < end_s - 20 * MIN:
        tl.stand(rng.uniform(10.0, 60.0), "stand_desk", work=True)
        _hide(tl, tl.slow_sit_down, tl.sit_down, k)
        k += 1
        desk_session(tl, min(tl.now + lengths.next_s(), end_s - 8 * MIN))
        tl.stand_up()
        short_break(tl)
        if rng.random() < 0.5:
            tl.walk(rng.uniform(30.0, 120.0))
    leave(tl, end_s)


def build_seat_after_walk(tl: Timeline, end_s: float) -> None:
    """Desk sessions of 20-90 min that each begin straight from a walk: the walk's last seconds,
    2-6 s of standing and the sit-down all fall in one radio gap (back at the desk out of radio
    range, seated when the data resumes), so the first posture after the walk is the seat. The
    stand-ups are ordinary. The wearer sits 8-20 deg reclined from their standing posture. Real
    signals show the same (benchmarks/spliced.py, after_a_walk)."""
    rng = tl.rng
    tl.person.sit_upright_rel_deg = -float(rng.uniform(8.0, 20.0))
    arrive(tl)
    lengths = _Lengths(rng)
    while tl.now < end_s - 20 * MIN:
        t0 = tl.now - rng.uniform(3.0, 10.0)  # the walk's end is already out of range
        tl.stand(rng.uniform(2.0, 6.0), "stand_desk")
        tl.sit_down()
        tl.gap(t0, tl.now - t0 + rng.uniform(10.0, 40.0))
        desk_session(tl, min(tl.now + lengths.next_s(), end_s - 8 * MIN))
        tl.stand_up()
        short_break(tl)
        tl.walk(rng.uniform(30.0, 120.0))
    leave(tl, end_s)


def build_hidden_stand_ups(tl: Timeline, end_s: float) -> None:
    """Sitting 15-40 min, then standing for 4-8 min after a stand-up nobody sees (slow, or inside
    a radio gap), then an ordinary sit-down: standing straight after sitting, as at a sit-stand
    desk or a counter. The wearer sits 8-20 deg reclined from their standing posture."""
    rng = tl.rng
    tl.person.sit_upright_rel_deg = -float(rng.uniform(8.0, 20.0))
    tl.start_seated()
    k = 0
    while tl.now < end_s - 10 * MIN:
        desk_session(tl, min(tl.now + rng.uniform(15.0, 40.0) * MIN, end_s - 9 * MIN))
        _hide(tl, tl.slow_stand_up, tl.stand_up, k)
        k += 1
        tl.stand(rng.uniform(4.0, 8.0) * MIN, "stand_desk", work=True, shuffles=rng.random() < 0.5)
        tl.sit_down()
    tl.fill_to(end_s)


def build_activity_files(tl: Timeline, end_s: float) -> None:
    """A lab protocol kept as one file per activity and joined into one recording: desk sitting,
    quiet standing or standing while talking (the trunk busy all along), 3-6 min each, and a 1-3 min
    walk, starting seated. The stand-ups and sit-downs between the files were never recorded: each lies in a
    radio gap here, and the '+closed' variant closes those up, one file straight after the other
    on a continuous clock (the held-out chest recordings' 'standing straight after sitting';
    benchmarks/spliced.py joined builds the same from real signals). The wearer sits 8-20 deg
    reclined from their standing posture."""
    rng = tl.rng
    tl.person.sit_upright_rel_deg = -float(rng.uniform(8.0, 20.0))
    tl.start_seated()
    k = 0
    while tl.now < end_s - 8 * MIN:
        tl.sit(rng.uniform(3.0, 6.0) * MIN)
        tl.hidden(tl.stand_up)
        talk = k % 2 == 0
        tl.stand(rng.uniform(3.0, 6.0) * MIN, "stand_talk" if talk else "stand", talk=talk)
        t0 = tl.now
        tl.walk(rng.uniform(60.0, 180.0))
        tl.gap(t0 - 2.0, 4.0)  # (the walk is a file of its own: its start unseen, its end in the gap below)
        tl.hidden(tl.sit_down)
        k += 1
    tl.fill_to(end_s)


def _seen_desk_sessions(tl: Timeline, end_s: float, seated, after, end_margin_s: float) -> None:
    """A day of desk sessions of 20-90 min, each sit-down and stand-up ordinary and seen, of a
    wearer who sits 8-20 deg reclined from their standing posture: seated(until) fills each
    session, after() what follows each stand-up."""
    rng = tl.rng
    tl.person.sit_upright_rel_deg = -float(rng.uniform(8.0, 20.0))
    arrive(tl)
    lengths = _Lengths(rng)
    while tl.now < end_s - 20 * MIN:
        tl.stand(rng.uniform(10.0, 60.0), "stand_desk", work=True)
        tl.sit_down()
        seated(min(tl.now + lengths.next_s(), end_s - end_margin_s))
        tl.stand_up()
        after()
    leave(tl, end_s)


def build_reseats(tl: Timeline, end_s: float) -> None:
    """Desk sessions whose sitter shifts in the chair (Timeline.reseat: the hips lifted and
    lowered again) every 5-30 min; the breaks are walks, chats and coffee."""
    rng = tl.rng

    def seated(until: float) -> None:
        while True:
            desk_session(tl, min(until, tl.now + rng.uniform(5.0, 30.0) * MIN))
            if tl.now >= until - MIN:
                break
            tl.reseat()

    def after() -> None:
        short_break(tl)
        if rng.random() < 0.5:
            tl.walk(rng.uniform(30.0, 120.0))

    _seen_desk_sessions(tl, end_s, seated, after, 8 * MIN)


def build_standing_chats(tl: Timeline, end_s: float) -> None:
    """Desk sessions, between them standing chats of 3-10 min in which the wearer bobs
    (Timeline.bob: a quick dip of the knees) about once a minute, then a walk or a short break."""
    rng = tl.rng

    def after() -> None:
        tl.stand(rng.uniform(3.0, 10.0) * MIN, "stand_chat", work=True, bobs=True)
        if rng.random() < 0.5:
            tl.walk(rng.uniform(30.0, 120.0))
        else:
            short_break(tl)

    _seen_desk_sessions(tl, end_s, lambda until: desk_session(tl, until), after, 12 * MIN)


def build_calibrated_hidden(tl: Timeline, end_s: float) -> None:
    """A guided calibration with its stand step (its windows in the metadata), then desk sessions
    of 15-40 min and 4-8 min standing at the desk whose every sit-down and stand-up goes unseen
    (slow, or inside a radio gap), and no walks: only the calibration shows this wearer's sitting
    and standing postures. The wearer sits 8-20 deg reclined from their standing posture."""
    rng = tl.rng
    tl.person.sit_upright_rel_deg = -float(rng.uniform(8.0, 20.0))
    tl.stand(0.5)
    guided_calibration(tl)
    k = 0
    while tl.now < end_s - 10 * MIN:
        tl.stand(rng.uniform(20.0, 60.0), "stand_desk", work=True)
        _hide(tl, tl.slow_sit_down, tl.sit_down, k)
        desk_session(tl, min(tl.now + rng.uniform(15.0, 40.0) * MIN, end_s - 9 * MIN))
        _hide(tl, tl.slow_stand_up, tl.stand_up, k + 1)
        k += 1
        tl.stand(rng.uniform(4.0, 8.0) * MIN, "stand_desk", work=True, shuffles=rng.random() < 0.5)
    tl.fill_to(end_s)


def build_seated_start(tl: Timeline, end_s: float) -> None:
    """The recording begins while the wearer already sits at the desk (15-40 min), then an
    ordinary desk day."""
    rng = tl.rng
    tl.start_seated()
    desk_session(tl, rng.uniform(15.0, 40.0) * MIN)
    tl.stand_up()
    short_break(tl)
    tl.stand(rng.uniform(5.0, 30.0), "stand_desk")
    tl.sit_down()
    desk_session(tl, tl.now + rng.uniform(30.0, 60.0) * MIN)
    tl.stand_up()
    leave(tl, end_s)


def build_sits_as_stands(tl: Timeline, end_s: float) -> None:
    """A wearer who sits exactly as upright as they stand (within a degree), on a day where half
    the sit-downs and stand-ups go unseen."""
    rng, p = tl.rng, tl.person
    p.sit_upright_rel_deg = float(rng.uniform(-1.0, 1.0))
    p.slouchiness = 0.0
    arrive(tl)
    k = 0
    while tl.now < end_s - 20 * MIN:
        tl.stand(rng.uniform(30.0, 240.0), "stand_desk", work=True, shuffles=True)
        if k % 2:
            tl.sit_down()
        else:
            tl.hidden(tl.sit_down)
        desk_session(tl, min(tl.now + rng.uniform(20.0, 60.0) * MIN, end_s - 8 * MIN))
        if k % 2:
            tl.hidden(tl.stand_up)
        else:
            tl.stand_up()
        k += 1
        tl.stand(rng.uniform(60.0, 300.0), "stand_desk", work=True, shuffles=True)
        tl.walk(rng.uniform(30.0, 120.0))
    leave(tl, end_s)


def build_couch(tl: Timeline, end_s: float) -> None:
    """Lying down on a couch: on the right side (propped on a cushion, the trunk only 50-65 deg
    over), on the left, and lying down gently on the back and on the right side without moving
    at all, with sitting in between."""
    rng = tl.rng
    tl.walk(rng.uniform(60.0, 180.0))
    tl.stand(rng.uniform(10.0, 30.0))
    tl.sit_down()
    for side, still in (("right", False), ("left", False), ("supine", True), ("right", True)):
        tl.sit(rng.uniform(30.0, 90.0), "sit_couch", reaches=False)
        tl.lie_down(side, propped=side == "right" and not still, gentle=still)
        if still:
            tl.lie_still(rng.uniform(8.0, 12.0) * MIN)
        else:
            tl.lie(rng.uniform(4.0, 6.0) * MIN)
        tl.sit_up()
    tl.sit(rng.uniform(30.0, 60.0), "sit_couch", reaches=False)
    tl.stand_up()
    tl.walk(max(end_s - tl.now, 120.0))


def build_stuck_sensor(tl: Timeline, end_s: float) -> None:
    """A desk day whose sensor freezes at exactly (0, 0, 0) for 10-20 min while the wearer sits."""
    build_desk_day(tl, end_s)
    spans: list[list[float]] = []  # stretches of seated rows
    for a, b, lab, _code in tl.rows:
        if lab in ("sitting", "slouching"):
            if spans and abs(spans[-1][1] - a / 1000.0) < 1e-6:
                spans[-1][1] = b / 1000.0
            else:
                spans.append([a / 1000.0, b / 1000.0])
    a, b = max(spans, key=lambda ab: ab[1] - ab[0])
    tl.stick(a + 60.0, min(tl.rng.uniform(10.0, 20.0) * MIN, b - a - 120.0))


def build_exercise_bike(tl: Timeline, end_s: float) -> None:
    """Twenty minutes on a seated exercise bike between desk sessions."""
    rng = tl.rng
    tl.walk(rng.uniform(60.0, 180.0))
    tl.stand(rng.uniform(10.0, 30.0))
    tl.sit_down()
    desk_session(tl, tl.now + rng.uniform(10.0, 20.0) * MIN)
    tl.stand_up()
    tl.walk(rng.uniform(60.0, 120.0))
    tl.stand(rng.uniform(10.0, 30.0))
    tl.sit_down()
    tl.pedal(rng.uniform(15.0, 25.0) * MIN)
    tl.stand_up()
    tl.walk(rng.uniform(60.0, 120.0))
    tl.stand(rng.uniform(10.0, 30.0))
    tl.sit_down()
    desk_session(tl, max(end_s, tl.now + 5 * MIN))


REGISTRY: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("desk-day", "8 h office day: walk in, seated desk sessions of 20-90 min with slouch "
                 "episodes, coffee/toilet breaks, meetings, lunch with the sensor on the desk, a walk, "
                 "one BLE gap", 8 * HOUR, build_desk_day),
        Scenario("standing-desk-day", "8 h at a sit-stand desk: alternating 20-60 min sitting and "
                 "15-45 min standing, walks, lunch with the sensor off, two BLE gaps",
                 8 * HOUR, build_standing_desk_day),
        Scenario("demo", "15 min showing every state once: walk, stand, sit, a five-minute slouch (one "
                 "nudge), lean, BLE gap, sensor on the desk, lying on a couch", 900.0, build_demo),
        # sitting and standing that no transition shows (core/smoother.py, core/posture_cue.py)
        Scenario("hidden-sit-downs", "4 h of desk sessions (20-90 min) whose sit-downs are slow or inside a "
                 "radio gap; ordinary stand-ups and breaks", 4 * HOUR, build_hidden_sit_downs),
        Scenario("seat-after-walk", "4 h of desk sessions (20-90 min) each begun straight from a walk whose "
                 "end and sit-down fall in one radio gap", 4 * HOUR, build_seat_after_walk),
        Scenario("reseats", "4 h of desk sessions (20-90 min) with ordinary transitions, the sitter shifting in "
                 "the chair (hips lifted and lowered) every 5-30 min", 4 * HOUR, build_reseats),
        Scenario("standing-chats", "4 h of desk sessions (20-90 min) with ordinary transitions, between them "
                 "3-10 min standing chats with a quick knee bob every half minute or so", 4 * HOUR,
                 build_standing_chats),
        Scenario("hidden-stand-ups", "2 h starting seated: sitting 15-40 min, then 4-8 min standing after a "
                 "stand-up that is slow or inside a radio gap", 2 * HOUR, build_hidden_stand_ups),
        Scenario("seated-start", "2 h whose recording begins while the wearer already sits", 2 * HOUR,
                 build_seated_start),
        Scenario("activity-files", "1 h of activity files joined into one: sitting, quiet standing or "
                 "standing while talking, 3-6 min each, and a walk, every stand-up and sit-down left out (in a radio "
                 "gap; '+closed': on one unbroken clock)", HOUR, build_activity_files),
        Scenario("calibrated-hidden", "2 h after a guided calibration with its stand step: sitting 15-40 min "
                 "and standing 4-8 min, every sit-down and stand-up unseen, no walks", 2 * HOUR,
                 build_calibrated_hidden),
        Scenario("sits-as-stands", "3 h of a wearer who sits as upright as they stand, half the transitions "
                 "unseen", 3 * HOUR, build_sits_as_stands),
        Scenario("couch", "lying on the right side, the left, and on the back without moving, sitting "
                 "between", 45 * MIN, build_couch),
        Scenario("stuck-sensor", "an 8 h desk day whose sensor reads exactly (0, 0, 0) for 10-20 min",
                 8 * HOUR, build_stuck_sensor),
        Scenario("exercise-bike", "desk sitting, 15-25 min on a seated exercise bike, desk sitting", HOUR,
                 build_exercise_bike),
    )
}


# ------------------------------------------------------------ personal slouches (issue 9)
# The guided calibration's steps (sensorback.live.GUIDED_STEPS): sit upright, slouch the way you
# usually do, stand up and stand still, 10 s each; the windows used start after each step's
# settling time (2, 3 and 4 s). Kept equal to them by tests/test_sim.py.
GUIDED_S = 10.0
GUIDED_SETTLE_S = {"upright": 2.0, "slouch": 3.0, "stand": 4.0}
CALIBRATION_LEAD_S = 4.0


def guided_calibration(tl: Timeline) -> None:
    """From standing: sit down, then the guided steps; records the windows in tl.calibration_windows.
    The wearer slouches to their usual depth (from the session's upright sitting)."""
    rng = tl.rng
    tl.sit_down()
    t0 = tl.now
    tl.sit(GUIDED_S, "calibrate_upright", reaches=False)
    tl.slouch(GUIDED_S - 2.5, tl.usual_slouch(), 2.0, 0.5, line_deg=0.5 * tl.usual_slouch())
    tl.stand_up()
    t2 = tl.now
    tl.stand(max(GUIDED_S - (t2 - t0 - 2 * GUIDED_S), 6.0) + rng.uniform(0.0, 1.0), "calibrate_stand")
    for i, step in enumerate(("upright", "slouch", "stand")):
        a = t0 + i * GUIDED_S + GUIDED_SETTLE_S[step]
        tl.calibration_windows[step] = [round(a, 3), round(t0 + (i + 1) * GUIDED_S, 3)]


def build_calibration(tl: Timeline, end_s: float) -> None:
    """What `sensorback calibrate --demo` plays: the wearer sits down and follows the guided steps
    (their usual slouch: Person.usual_slouch_deg, the same person for the same seed in any
    scenario). The demo source starts playing CALIBRATION_LEAD_S in, once the wearer is seated."""
    tl.stand(0.5)
    guided_calibration(tl)
    tl.fill_to(end_s)


def mixed_desk_session(tl: Timeline, until_s: float) -> None:
    """Seated work in which forward slouches (to the wearer's usual depth, two in five creeping in
    over minutes), backward leans (recline, 8-25 deg) and sideways leans (8-20 deg, either side)
    are equally frequent and equally long; only the forward ones are slouches. Slouch labels switch at the personal
    line, halfway to the usual slouch from the session's upright sitting."""
    rng = tl.rng
    usual = tl.usual_slouch()
    episode_last = True
    while (left := until_s - tl.now) > 0.5:
        if episode_last or left < 200.0:
            tl.sit(left if left < 200.0 else min(left, rng.uniform(60.0, 400.0)))
            episode_last = False
            continue
        hold = min(_log_uniform(rng, 60.0, 900.0), left - 120.0)
        if hold < 45.0:
            tl.sit(left)
            break
        r = rng.random()
        depth = usual * rng.uniform(0.85, 1.15)
        if r < 0.2:
            tl.slouch(hold, depth, rng.uniform(5.0, 30.0), rng.uniform(3.0, 10.0), line_deg=0.5 * usual)
        elif r < 1.0 / 3.0:  # deepening slowly over minutes
            onset = min(rng.uniform(120.0, 360.0), left - hold - 60.0)
            tl.slouch(max(hold - onset, 30.0), depth, max(onset, 30.0), rng.uniform(3.0, 10.0), line_deg=0.5 * usual)
        elif r < 2.0 / 3.0:
            back = rng.uniform(8.0, 25.0)
            tl.lean_away(hold, -back, rng.normal(0.0, 2.0), f"lean_back_{round(back)}deg")
        else:
            side = float(rng.choice([-1.0, 1.0])) * rng.uniform(8.0, 20.0)
            tl.lean_away(hold, rng.normal(0.0, 1.5), side, f"lean_{'right' if side > 0 else 'left'}_{round(abs(side))}deg")
        episode_last = True


def build_slouch_day(tl: Timeline, end_s: float) -> None:
    """Three hours at a desk for a wearer with a personal slouch: a guided calibration at the
    start (its windows in the metadata), a walk in, desk sessions of mixed leans and short
    breaks; this wearer sits down and gets up with a straight back (shallow leans)."""
    rng = tl.rng
    tl.shallow_sits = True
    tl.stand(0.5)
    guided_calibration(tl)
    tl.walk(rng.uniform(120.0, 300.0))
    tl.stand(rng.uniform(20.0, 60.0), "stand_desk", work=True)
    tl.sit_down()
    leave_at = end_s - rng.uniform(300.0, 420.0)
    while True:
        mixed_desk_session(tl, min(tl.now + rng.uniform(25.0, 50.0) * MIN, max(leave_at, tl.now + 300.0)))
        tl.stand_up()
        if tl.now >= leave_at - 120.0:
            break
        short_break(tl)
        tl.stand(rng.uniform(5.0, 30.0), "stand_desk")
        tl.sit_down()
    tl.stand(rng.uniform(30.0, 90.0), "stand_desk", work=True)
    tl.walk(max(end_s - tl.now + 60.0, 120.0), code="walk_home")


def build_mild_slouch_day(tl: Timeline, end_s: float) -> None:
    if tl.usual_slouch_deg is None:
        tl.usual_slouch_deg = float(tl.rng.uniform(6.0, 12.0))
    build_slouch_day(tl, end_s)


def build_deep_slouch_day(tl: Timeline, end_s: float) -> None:
    if tl.usual_slouch_deg is None:
        tl.usual_slouch_deg = float(tl.rng.uniform(25.0, 40.0))
    build_slouch_day(tl, end_s)


for _s in (
    Scenario("calibration", "36 s: sit down, then the guided calibration (sit upright, slouch as usual, stand up "
             "and stand still), as 'sensorback calibrate --demo' plays it", 36.0, build_calibration),
    Scenario("slouch-mild", "3 h at a desk, a wearer whose usual slouch is only 6-12 deg: a guided calibration "
             "first, slouches (some creeping in over minutes) no more frequent than backward and sideways "
             "leans, shallow-leaning sit-downs", 3 * HOUR, build_mild_slouch_day),
    Scenario("slouch-deep", "the same day for a wearer whose usual slouch is 25-40 deg", 3 * HOUR,
             build_deep_slouch_day),
):
    REGISTRY[_s.name] = _s

SCENARIOS: dict[str, str] = {name: s.description for name, s in REGISTRY.items()}
