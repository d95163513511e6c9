"""Warning signs in pain check-ins: which answers call for professional help, and how soon.

Pure functions, no I/O, no clock. sensorback does not diagnose anything: these rules only decide
when to tell the user, calmly and plainly, that their answers are a reason to get their back
looked at by a professional, and how urgently. The wording is sensorback's own.

The rules, most urgent first (``FLAG_ORDER``):

====================  ==========  ===========================================================
flag                  level       when
====================  ==========  ===========================================================
``bladder``           urgent      loss of bladder or bowel control reported with back pain
``fever``             soon        fever or chills reported with back pain
``weight_loss``       soon        weight lost without trying, reported with back pain
``leg``               soon        pain shooting down a leg (``radiating``) and/or numbness
``high_pain``         advice      a score of ``HIGH_PAIN`` (6/10) or more
``persistent``        advice      check-ins at ``HIGH_PAIN`` or more for ``PERSIST_DAYS`` (4 weeks)
                                  or longer: see :func:`persistent_high_pain`
====================  ==========  ===========================================================

Levels: ``urgent`` = get medical care now; ``soon`` = see a doctor soon; ``advice`` = worth
a professional's opinion. Every list this module returns is sorted urgent first.

Stored check-ins are judged here too (:func:`history_start`, :func:`checkins_flags`), so that the
report, the monitor's start and ``log pain`` look at the same local days with the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Iterable, Optional, Sequence

from ..coach.exercises import SHARP_PAIN  # noqa: F401 - its one wording; the report's texts take it from here
from ..localday import day_bounds

HIGH_PAIN = 6                      # out of 10: "a steady 6 or 7 out of 10" calls for a check-up
PERSIST_DAYS = 28                  # 4 weeks
HISTORY_DAYS = 42                  # 6 weeks of check-ins are looked at
LEVELS: tuple[str, ...] = ("urgent", "soon", "advice")
FLAG_ORDER: tuple[str, ...] = ("bladder", "fever", "weight_loss", "leg", "high_pain", "persistent")
#: The yes/no questions of a check-in (store columns and ``log pain`` options), in the order shown.
ANSWERS: tuple[str, ...] = ("radiating", "numbness", "fever", "bladder", "weight_loss")

NOT_A_DIAGNOSIS = "sensorback cannot tell what causes your pain; a doctor or physiotherapist can."


@dataclass(frozen=True)
class Flag:
    key: str        # one of FLAG_ORDER
    level: str      # one of LEVELS
    message: str    # one or two short sentences for the user

    @property
    def urgent(self) -> bool:
        return self.level == "urgent"

    def to_dict(self) -> dict:
        return {"key": self.key, "level": self.level, "message": self.message}


def _flag(key: str, **fmt) -> Flag:
    level, text = _TEXT[key]
    return Flag(key, level, text.format(**fmt))


_TEXT = {
    "bladder": ("urgent",
                "URGENT: losing control of your bladder or bowels together with back pain needs medical "
                "care now. Contact a doctor or an emergency service straight away; do not wait for it to pass."),
    "fever": ("soon",
              "Fever or chills together with back pain should be checked by a doctor soon."),
    "weight_loss": ("soon",
                    "Losing weight without trying, while your back hurts, is a reason to see a doctor soon."),
    "leg": ("soon",
            "{what} is a reason to have your back examined by a doctor or physiotherapist soon."),
    "high_pain": ("advice",
                  "{score}/10 is a lot of pain. If it stays this high, or stops you doing everyday "
                  "things, ask a doctor or physiotherapist for advice."),
    "persistent": ("advice",
                   "Your check-ins have shown pain of {high}/10 or more for about {weeks} weeks. Pain that "
                   "lasts this long deserves a professional's view: please see a doctor or physiotherapist."),
}


def checkin_flags(score: int, *, radiating: Optional[bool] = None, numbness: Optional[bool] = None,
                  fever: Optional[bool] = None, bladder: Optional[bool] = None,
                  weight_loss: Optional[bool] = None) -> list[Flag]:
    """The warning signs in one check-in's answers, urgent first (None = not asked = no)."""
    flags = []
    if bladder:
        flags.append(_flag("bladder"))
    if fever:
        flags.append(_flag("fever"))
    if weight_loss:
        flags.append(_flag("weight_loss"))
    if radiating or numbness:
        if radiating and numbness:
            what = "Pain shooting down a leg, together with numbness,"
        elif radiating:
            what = "Pain shooting down a leg"
        else:
            what = "Numbness or pins and needles with back pain"
        flags.append(_flag("leg", what=what))
    if score >= HIGH_PAIN:
        flags.append(_flag("high_pain", score=score))
    return flags


def persistent_high_pain(checkins: Iterable[tuple[datetime, int]], *, high: int = HIGH_PAIN,
                         days: int = PERSIST_DAYS) -> Optional[Flag]:
    """A reminder to see a professional when pain has stayed high for weeks, else None.

    ``checkins`` are (when, score) pairs in any order. The rule: take the latest check-in and walk
    back through the check-ins while each one scores ``high`` or more. If that unbroken run of
    high scores reaches back at least ``days`` before the latest check-in, pain has persisted:
    the flag says for how many weeks (whole weeks, rounded down). One lower score ends the run,
    so a single good day resets it; sparse check-ins (say one a fortnight) still count, since
    nothing in between said otherwise.
    """
    ordered = sorted(checkins, key=lambda c: c[0])
    if not ordered or ordered[-1][1] < high:
        return None
    latest = ordered[-1][0]
    first = latest
    for when, score in reversed(ordered):
        if score < high:
            break
        first = when
    span = latest - first
    if span < timedelta(days=days):
        return None
    return _flag("persistent", high=high, weeks=span.days // 7)


def sort_flags(flags: Iterable[Flag]) -> list[Flag]:
    """Most urgent first, then in FLAG_ORDER; one flag per key (the first one seen is kept)."""
    seen: dict[str, Flag] = {}
    for f in flags:
        seen.setdefault(f.key, f)
    return sorted(seen.values(), key=lambda f: (LEVELS.index(f.level), FLAG_ORDER.index(f.key)))


def assess(score: int, history: Sequence[tuple[datetime, int]] = (), **answers: Optional[bool]) -> list[Flag]:
    """Everything to say about a new check-in: its own warning signs plus the persistence rule
    over ``history`` (which should include the new check-in itself), urgent first."""
    flags = checkin_flags(score, **answers)
    persistent = persistent_high_pain(history)
    if persistent is not None:
        flags.append(persistent)
    return sort_flags(flags)


def answers(checkin) -> dict[str, Optional[bool]]:
    """A stored check-in's answers (a store.PainCheckinInfo or anything with the ANSWERS attributes)."""
    return {k: getattr(checkin, k) for k in ANSWERS}


def answered_yes(checkin) -> list[str]:
    """The questions a check-in answered yes to, in ANSWERS order, in words ('weight loss'): what the
    report and `log pain` list beside it. checkin: a stored check-in (store.PainCheckinInfo or
    anything with the ANSWERS attributes) or a dict of the answers."""
    said = checkin if isinstance(checkin, dict) else answers(checkin)
    return [k.replace("_", " ") for k in ANSWERS if said.get(k)]


def history_start(last_day: date, tz: Optional[tzinfo] = None) -> datetime:
    """The first instant of the check-ins judged as of ``last_day``: the HISTORY_DAYS local
    calendar days ending on it (localday's bounds: a clock change in between moves no day's start),
    not a fixed span of hours before an instant."""
    return day_bounds(last_day - timedelta(days=HISTORY_DAYS - 1), tz)[0]


def checkins_flags(history: Iterable, start: datetime, end: datetime) -> list[Flag]:
    """The warning signs of stored check-ins, urgent first: those of each check-in in [start, end)
    (the report's days, or today so far) and the persistence rule over all of ``history`` (the
    check-ins from ``history_start`` of end's local day on, up to ``end``), as of its latest one."""
    ordered = sorted(history, key=lambda c: (c.at, c.id))
    flags = []
    for c in ordered:
        if start <= c.at < end:
            flags += checkin_flags(c.score, **answers(c))
    persistent = persistent_high_pain([(c.at, c.score) for c in ordered])
    if persistent is not None:
        flags.append(persistent)
    return sort_flags(flags)


def suggests_exercise(flags: Sequence[Flag]) -> bool:
    """Whether it makes sense to suggest gentle exercises alongside these flags: not when the
    answers call for a doctor (urgent or soon)."""
    return all(f.level == "advice" for f in flags)
