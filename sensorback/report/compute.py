"""The numbers of a daily or weekly report, computed from store rows. Pure: no I/O, no clock.

``build_report(rows, now=..., tz=...)`` turns the :class:`~sensorback.report.load.Rows` of a period
into a :class:`Report`; ``Report.to_dict()`` is what ``--json`` prints and what the text and HTML
renderers show.

How the numbers are counted (also in docs/report.md):

* Days are local calendar days; a week is the 7 days ending on the chosen day. An epoch belongs to
  the day its start falls in.
* **Overlapping sessions.** The same time can be in the store twice (a recording imported again
  with other options, or a live session and its replay). Where sessions overlap, the newest session
  (highest id) wins; the older one's epochs and coach events there are left out, and their time is
  reported as ``overlap_dropped_s``.
* Time per state is the sum of the epochs' durations. **Worn** = every state but ``not_worn`` and
  ``no_data`` (lying counts as worn). **Not recorded** = the part of the day that has passed (the
  whole day, or up to now for today) with no epoch at all. **Unseen** = not worn + no data + not
  recorded: time that is neither seated time nor a break, because we cannot tell.
* A state's name means that state alone (``states_s``: disjoint, they add up to the recorded time).
  **Seated** = sitting + slouching (``sensorback.summary.seated_seconds``); **slouch share** =
  slouching / seated time.
* **Bouts, breaks, flexed time** follow the per-recording summary (``sensorback.summary``), run
  over the day's epochs as the store returns them (a hole between epochs counts as ``no_data``
  there): a break is an unbroken
  run of standing/moving of at least 60 s; a seated bout is seated time until such a break (short
  get-ups count toward it; unseen and lying time, gaps between recordings included, neither ends it nor
  counts in its length: a bout only ends with a break we saw); a long bout lasts 30 min or more. Flexed time sums epochs with ``flexion_deg`` strictly above 20, 30 or 60
  degrees while standing, moving, sitting or slouching. Breaks per hour = breaks / worn hours.
* **Coach events** are counted as their rules declare (coach/rules.py: ``break_prompt`` as prompts,
  ``slouch_nudge`` as nudges, ``snoozed`` as snoozes; other writers' ``prompt`` events count as
  prompts). Each prompt's outcome is counted on the prompt's day, from the ``prompt_outcome``
  event that settles it (``prompt_outcomes``: the next one of its session, even past midnight or
  the report's last day), or for ``prompt`` events their own ``outcome``: ``heeded`` (also
  ``done``), ``snoozed``, ``ignored`` (also ``dismissed``), anything else, or none yet, unknown.
  So a day's outcomes always add up to its prompts.
* **Exercise sessions**: exercises logged less than 60 min after the previous one belong to the
  same session, which belongs to the day it starts on. The goal is 3 sessions in the 7 days ending
  on the report's last day.
* **Pain trend**: check-ins of the 6 weeks ending on the last day, by week (count, mean, highest);
  warning signs by ``redflags``.
* Week totals are the sums of the days (longest bout: the longest of the days; shares and rates
  recomputed from the summed times), so a bout crossing midnight counts on each side.
* **Shown minutes**: ``Numbers.rounded`` holds the times in whole minutes for the text and HTML,
  rounded once for all the days and states together (``whole_minutes``) so that every time shown
  beside its parts is their sum as shown, both ways; the JSON keeps exact seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Optional, Sequence

import numpy as np

from ..coach.breaks import BREAK_PROMPT, OUTCOMES, PROMPT_OUTCOME
from ..coach.rules import MARKS, TALLIES
from ..core.epochs import TOUCH_S, runs
from ..core.states import STATES
from ..store import EpochSeries, EventInfo, ExerciseInfo, PainCheckinInfo, SessionInfo
from ..summary import (FLEXION_THRESHOLDS_DEG, NOT_WORN_STATES, SEATED, SEATED_WORD, json_number, seated_seconds,
                       summarize)
from ..timefmt import count, minutes, pct
from . import redflags
from .load import GOAL_WINDOW_DAYS, Rows
from .rounding import controlled_round
from .when import day_bounds, to_local, tz_label

EPS = TOUCH_S                    # seconds: epochs closer than this touch
BREAK_MIN_S = 60.0
LONG_BOUT_MIN = 30.0
LONG_BOUTS_LABEL = f"bouts of {LONG_BOUT_MIN:g} min or more"  # the text and HTML reports' words for them
EXERCISE_GOAL = 3                # sessions a week
EXERCISE_SESSION_GAP_S = 3600.0  # exercises closer than this are one session
PAIN_WEEKS = 6

#: Events other programs write (a "prompt" with its own outcome), counted and drawn like the coach's.
LEGACY_PROMPT = "prompt"
#: What each kind of event counts as: the coach's rules declare theirs.
COUNTED_AS = {**TALLIES, LEGACY_PROMPT: "prompts"}
#: How timelines draw each kind ("prompt": a triangle, "nudge": a dot), and what they call it.
MARKED_AS = {**MARKS, LEGACY_PROMPT: "prompt"}
MARK_LABELS = {LEGACY_PROMPT: "break prompt"}
OUTCOME_WORDS = {"heeded": "heeded", "done": "heeded", "snoozed": "snoozed", "ignored": "ignored",
                 "dismissed": "ignored"}


# ------------------------------------------------------------------------------------- results

@dataclass
class Numbers:
    """The posture numbers of one day, or of a whole report (sums of its days)."""

    span_s: float = 0.0              # time of the period that has passed (up to now)
    recorded_s: float = 0.0          # sum of epoch durations
    state_s: dict[str, float] = field(default_factory=lambda: {name: 0.0 for name in STATES})
    not_recorded_s: float = 0.0
    bouts: int = 0
    longest_bout_s: float = 0.0
    long_bouts: int = 0
    breaks: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED_AS.values(), 0))  # by tally
    outcomes: dict[str, int] = field(default_factory=lambda: {k: 0 for k in OUTCOMES})
    flexed_s: dict[int, float] = field(default_factory=lambda: {t: 0.0 for t in FLEXION_THRESHOLDS_DEG})
    overlap_dropped_s: float = 0.0
    #: The same numbers with every time in whole minutes, as the text and HTML show them: shown
    #: parts add up to shown totals (``whole_minutes``); set by ``build_report``. Shares and rates
    #: are shown from the exact times.
    rounded: Optional["Numbers"] = field(default=None, repr=False, compare=False)

    @property
    def prompts(self) -> int:
        return self.counts.get("prompts", 0)

    @property
    def nudges(self) -> int:
        return self.counts.get("nudges", 0)

    @property
    def snoozes(self) -> int:
        return self.counts.get("snoozes", 0)

    @property
    def worn_s(self) -> float:
        return self.recorded_s - self.state_s["not_worn"] - self.state_s["no_data"]

    @property
    def seated_s(self) -> float:
        """Seated time: sitting + slouching (state_s["sitting"] alone is sitting upright)."""
        return seated_seconds(self.state_s)

    @property
    def slouch_share(self) -> Optional[float]:
        """Slouching / seated time."""
        return self.state_s["slouching"] / self.seated_s if self.seated_s > 0 else None

    @property
    def seated_share_of_worn(self) -> Optional[float]:
        return self.seated_s / self.worn_s if self.worn_s > 0 else None

    @property
    def unseen_s(self) -> float:
        """Neither seated time nor a break: not worn, no data, not recorded."""
        return self.state_s["not_worn"] + self.state_s["no_data"] + self.not_recorded_s

    @property
    def breaks_per_worn_hour(self) -> Optional[float]:
        return self.breaks / (self.worn_s / 3600.0) if self.worn_s > 0 else None

    @property
    def heeded_share(self) -> Optional[float]:
        return self.outcomes["heeded"] / self.prompts if self.prompts else None

    def add(self, other: "Numbers") -> None:
        for name in ("span_s", "recorded_s", "not_recorded_s", "bouts", "long_bouts", "breaks", "overlap_dropped_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.longest_bout_s = max(self.longest_bout_s, other.longest_bout_s)
        for d, o in ((self.state_s, other.state_s), (self.counts, other.counts), (self.outcomes, other.outcomes),
                     (self.flexed_s, other.flexed_s)):
            for k, v in o.items():
                d[k] = d.get(k, 0) + v

    def to_dict(self) -> dict:
        return {
            "span_s": json_number(self.span_s),
            "recorded_s": json_number(self.recorded_s),
            "worn_s": json_number(self.worn_s),
            "states_s": {k: json_number(v) for k, v in self.state_s.items()},
            "not_worn_s": json_number(self.state_s["not_worn"]),
            "no_data_s": json_number(self.state_s["no_data"]),
            "not_recorded_s": json_number(self.not_recorded_s),
            "unseen_s": json_number(self.unseen_s),
            SEATED_WORD: {
                "seated_s": json_number(self.seated_s),
                "share_of_worn": json_number(self.seated_share_of_worn),
                "bouts": self.bouts,
                "longest_bout_s": json_number(self.longest_bout_s),
                "long_bouts": self.long_bouts,
                "long_bout_min": LONG_BOUT_MIN,
                "breaks": self.breaks,
                "breaks_per_worn_hour": json_number(self.breaks_per_worn_hour),
                "slouching_s": json_number(self.state_s["slouching"]),
                "slouch_share": json_number(self.slouch_share),
            },
            "coach": {
                "prompts": self.prompts,
                "outcomes": dict(self.outcomes),
                "heeded_share": json_number(self.heeded_share),
                "slouch_nudges": self.nudges,
                "snoozes": self.snoozes,
                **{tally: n for tally, n in self.counts.items() if tally not in ("prompts", "nudges", "snoozes")},
            },
            "flexed_s": {f"over_{t}_deg": json_number(v) for t, v in self.flexed_s.items()},
            "overlap_dropped_s": json_number(self.overlap_dropped_s),
        }


@dataclass
class Day:
    day: date
    start: datetime                  # UTC
    end: datetime
    numbers: Numbers
    sessions: tuple[int, ...] = ()
    # for drawing: runs of one state as (start, end, state code) in Unix seconds
    segments: list[tuple[float, float, int]] = field(default_factory=list)
    # coach marks as (Unix seconds, kind, detail)
    marks: list[tuple[float, str, str]] = field(default_factory=list)
    exercise_sessions: int = 0
    pain_scores: tuple[int, ...] = ()

    @property
    def has_data(self) -> bool:
        return self.numbers.recorded_s > 0

    def to_dict(self) -> dict:
        return {"date": self.day.isoformat(), "start": _iso(self.start), "end": _iso(self.end),
                "sessions": list(self.sessions), "exercise_sessions": self.exercise_sessions,
                "pain_scores": list(self.pain_scores), **self.numbers.to_dict()}


@dataclass(frozen=True)
class ExerciseSession:
    start: datetime
    end: datetime
    names: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"start": _iso(self.start), "end": _iso(self.end), "exercises": list(self.names)}


@dataclass
class ExerciseGoal:
    first_day: date
    last_day: date
    sessions: list[ExerciseSession]
    goal: int = EXERCISE_GOAL

    @property
    def count(self) -> int:
        return len(self.sessions)

    @property
    def met(self) -> bool:
        return self.count >= self.goal

    def to_dict(self) -> dict:
        return {"from": self.first_day.isoformat(), "to": self.last_day.isoformat(), "goal": self.goal,
                "sessions": self.count, "met": self.met, "session_list": [s.to_dict() for s in self.sessions]}


@dataclass(frozen=True)
class PainWeek:
    first_day: date
    last_day: date
    scores: tuple[int, ...]

    @property
    def mean(self) -> Optional[float]:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def highest(self) -> Optional[int]:
        return max(self.scores) if self.scores else None

    def to_dict(self) -> dict:
        return {"from": self.first_day.isoformat(), "to": self.last_day.isoformat(), "checkins": len(self.scores),
                "mean": json_number(self.mean), "highest": self.highest}


@dataclass
class Pain:
    weeks: list[PainWeek]                 # oldest first, the last one ends on the report's last day
    checkins: list[PainCheckinInfo]       # those within the report's days
    history: list[PainCheckinInfo]        # all of the 6 weeks

    @property
    def latest(self) -> Optional[PainCheckinInfo]:
        return self.history[-1] if self.history else None

    def to_dict(self) -> dict:
        return {
            "weeks": [w.to_dict() for w in self.weeks],
            "checkins": [_checkin_dict(c) for c in self.checkins],
            "history_checkins": len(self.history),
            "latest": _checkin_dict(self.latest) if self.latest else None,
        }


@dataclass
class Report:
    kind: str                            # "day" or "week"
    first_day: date
    last_day: date
    start: datetime
    end: datetime
    now: datetime
    timezone: str
    database: str
    days: list[Day]
    totals: Numbers
    exercise: ExerciseGoal
    pain: Pain
    flags: list[redflags.Flag]
    messages: list[str]
    db_empty: bool = False
    # Without sensor data in the period: the local days of the nearest data before and after it.
    nearest_before: Optional[date] = None
    nearest_after: Optional[date] = None
    # Options the report was asked with that a suggested command must repeat, e.g. "--db ~/back.db".
    options: str = ""
    # Sessions of the period without a single epoch (a monitor stopped before its first one).
    unclassified: tuple[SessionInfo, ...] = ()

    @property
    def has_data(self) -> bool:
        return self.totals.recorded_s > 0

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "start": _iso(self.start),
            "end": _iso(self.end),
            "generated": _iso(self.now),
            "timezone": self.timezone,
            "database": self.database,
            "has_data": self.has_data,
            "database_empty": self.db_empty,
            "nearest_days_with_data": {"before": _iso_day(self.nearest_before), "after": _iso_day(self.nearest_after)},
            "messages": list(self.messages),
            "sessions_without_epochs": [{"id": x.id, "start": _iso(x.started_at),
                                         "end": None if x.ended_at is None else _iso(x.ended_at)}
                                        for x in self.unclassified],
            "totals": self.totals.to_dict(),
            "days": [d.to_dict() for d in self.days],
            "exercise": self.exercise.to_dict(),
            "pain": self.pain.to_dict(),
            "red_flags": [f.to_dict() for f in self.flags],
            "rules": {
                "break_min_s": BREAK_MIN_S,
                "long_bout_min": LONG_BOUT_MIN,
                "flexion_thresholds_deg": list(FLEXION_THRESHOLDS_DEG),
                "exercise_goal_per_week": EXERCISE_GOAL,
                "exercise_session_gap_min": EXERCISE_SESSION_GAP_S / 60,
                "pain_weeks": PAIN_WEEKS,
                "high_pain": redflags.HIGH_PAIN,
                "persistent_pain_days": redflags.PERSIST_DAYS,
            },
        }


# ----------------------------------------------------------------------------- overlapping sessions

@dataclass
class Kept:
    """Epochs after overlaps were resolved, and what the newer sessions cover for each session."""

    epochs: EpochSeries
    dropped_time: np.ndarray           # start times of dropped epochs (seconds since epochs.origin)
    dropped_s: np.ndarray              # their durations
    covered_by_newer: dict[int, tuple[np.ndarray, np.ndarray]]


def _merge(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of intervals as sorted, disjoint (start, end) arrays (touching ones are joined)."""
    if len(starts) == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    new = np.concatenate([[True], s[1:] > reach[:-1] + EPS])
    group = np.cumsum(new) - 1
    out_s = s[new]
    out_e = np.zeros(len(out_s))
    np.maximum.at(out_e, group, e)
    return out_s, np.maximum(out_e, out_s)


def _inside(t0: np.ndarray, t1: np.ndarray, cov: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Which [t0, t1) intervals overlap the disjoint sorted intervals cov (by more than EPS)."""
    cs, ce = cov
    if len(cs) == 0:
        return np.zeros(len(t0), dtype=bool)
    j = np.searchsorted(ce, t0 + EPS, side="right")
    jj = np.minimum(j, len(cs) - 1)
    return (j < len(cs)) & (cs[jj] < t1 - EPS)


def resolve_overlaps(epochs: EpochSeries) -> Kept:
    """Where sessions overlap in time, keep the newest (highest id) session's epochs."""
    empty = np.zeros(0)
    ids = np.unique(epochs.session_id)
    if len(ids) <= 1:
        return Kept(epochs, empty, empty, {int(i): (empty, empty) for i in ids})
    t0 = epochs.t_start
    t1 = epochs.t_end
    keep = np.zeros(len(epochs), dtype=bool)
    cov = (empty, empty)
    covered: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for sid in ids[::-1]:
        idx = np.flatnonzero(epochs.session_id == sid)
        covered[int(sid)] = cov
        hit = _inside(t0[idx], t1[idx], cov)
        mine = idx[~hit]
        keep[mine] = True
        cov = _merge(np.concatenate([cov[0], t0[mine]]), np.concatenate([cov[1], t1[mine]]))
    dropped = ~keep
    kept = epochs.take(keep)
    order = np.argsort(kept.t_start, kind="stable")
    return Kept(kept.take(order), epochs.t_start[dropped], epochs.duration_s[dropped], covered)


def keep_events(events: Sequence[EventInfo], kept: Kept) -> list[EventInfo]:
    """Leave out coach events of an older session at times a newer session covers."""
    out = []
    for e in events:
        cov = kept.covered_by_newer.get(e.session_id) if e.session_id is not None else None
        if cov is not None and len(cov[0]):
            x = e.at.timestamp() - kept.epochs.origin
            j = np.searchsorted(cov[1], x - EPS, side="left")
            if j < len(cov[0]) and cov[0][j] <= x + EPS:
                continue
        out.append(e)
    return out


# ------------------------------------------------------------------------------------- one day

def segments(epochs: EpochSeries) -> list[tuple[float, float, int]]:
    """Runs of touching epochs in one state, as (start, end, state) in Unix seconds."""
    a, b = runs(epochs.t_start, epochs.t_end, epochs.state)
    return list(zip((epochs.origin + epochs.t_start[a]).tolist(), (epochs.origin + epochs.t_end[b]).tolist(),
                    epochs.state[a].astype(int).tolist()))


def prompt_outcomes(events: Sequence[EventInfo]) -> dict[int, str]:
    """The outcome of each coach break prompt, by its event id (heeded, snoozed, ignored, unknown).

    A ``prompt_outcome`` event does not name its prompt's row, but the coach settles a session's
    prompts in the order it gave them, each exactly once: so the outcomes of a session, in time
    order, pair with its prompts in time order. ``events`` should reach past the report's days on
    both sides (load.OUTCOME_MARGIN): a prompt at 23:58 is settled after midnight."""
    waiting: dict[int, list[EventInfo]] = {}
    out: dict[int, str] = {}
    for e in sorted(events, key=lambda e: (e.at, e.id)):
        if e.session_id is None:
            continue
        if e.kind == BREAK_PROMPT:
            waiting.setdefault(e.session_id, []).append(e)
        elif e.kind == PROMPT_OUTCOME and waiting.get(e.session_id):
            out[waiting[e.session_id].pop(0).id] = OUTCOME_WORDS.get(e.outcome or "", "unknown")
    return out


def day_numbers(epochs: EpochSeries, events: Sequence[EventInfo], start: datetime, end: datetime,
                now: datetime, dropped_s: float = 0.0, outcomes: Optional[dict[int, str]] = None) -> Numbers:
    """The numbers of one day from its (overlap-free) epochs and coach events. outcomes: each
    prompt's outcome (``prompt_outcomes`` of events reaching past the day; default: of ``events``)."""
    if outcomes is None:
        outcomes = prompt_outcomes(events)
    n = Numbers()
    span_end = min(end, max(now, start))
    n.span_s = max(0.0, (span_end - start).total_seconds())
    dur = np.asarray(epochs.duration_s, dtype=np.float64)
    state = np.asarray(epochs.state).astype(np.int64)
    n.state_s = {name: float(dur[state == code].sum()) for code, name in enumerate(STATES)}
    n.recorded_s = float(dur.sum())
    n.not_recorded_s = max(0.0, n.span_s - n.recorded_s)
    n.overlap_dropped_s = float(dropped_s)
    if len(epochs):
        s = summarize(epochs, sit_break_min_s=BREAK_MIN_S, long_bout_min=LONG_BOUT_MIN)
        n.bouts, n.longest_bout_s, n.long_bouts, n.breaks = s.n_bouts, s.longest_bout_s, s.long_bouts, s.breaks
        n.flexed_s = dict(s.flexed_s)
    for e in events:
        tally = COUNTED_AS.get(e.kind)
        if tally is not None:
            n.counts[tally] = n.counts.get(tally, 0) + 1
        if tally == "prompts":  # its outcome counts with it, on its day
            outcome = e.outcome if e.kind == LEGACY_PROMPT else outcomes.get(e.id)
            n.outcomes[OUTCOME_WORDS.get(outcome or "", "unknown")] += 1
    return n


# ------------------------------------------------------------------------------ shown minutes

#: The columns of the time table the report rounds: the states, then the time not recorded.
_NOT_RECORDED = len(STATES)
#: The sums of those columns the report shows beside their parts (each column is shown alone too).
_TIME_GROUPS = [list(SEATED),                                                          # seated
                [c for c in range(len(STATES)) if c not in NOT_WORN_STATES],            # worn
                [*NOT_WORN_STATES, _NOT_RECORDED]]                                      # unseen


def whole_minutes(rows: Sequence[Numbers]) -> tuple[list[Numbers], Numbers]:
    """The rows (a report's days) and their sum with every time in whole minutes, such that
    whatever the report shows as a sum of parts adds up both ways: seated = sitting upright +
    slouching, worn = its states, unseen = not worn + no data + not recorded, each day's worn,
    seated and unseen time and time bent forward = the week's. Each shown figure is its exact value
    rounded down or up (``rounding.controlled_round``)."""
    rows = list(rows) or [Numbers()]
    times = np.array([[n.state_s[name] for name in STATES] + [n.not_recorded_s] for n in rows])
    # time bent forward, in bands between the thresholds: past each threshold is a sum of bands
    thresholds = sorted(FLEXION_THRESHOLDS_DEG)
    past = np.array([[n.flexed_s.get(t, 0.0) for t in thresholds] + [0.0] for n in rows])
    bands = past[:, :-1] - past[:, 1:]
    t_min = controlled_round(times, _TIME_GROUPS)
    f_min = controlled_round(bands, [list(range(i, len(thresholds))) for i in range(1, len(thresholds))])

    def numbers(like: Numbers, t: np.ndarray, f: np.ndarray) -> Numbers:
        state_s = {name: float(t[code]) for code, name in enumerate(STATES)}
        flexed = np.cumsum(f[::-1])[::-1]
        return replace(like, span_s=float(t.sum()), recorded_s=float(t[:_NOT_RECORDED].sum()), state_s=state_s,
                       not_recorded_s=float(t[_NOT_RECORDED]),
                       flexed_s={th: float(v) for th, v in zip(thresholds, flexed)},
                       longest_bout_s=60.0 * round(like.longest_bout_s / 60.0),
                       overlap_dropped_s=60.0 * round(like.overlap_dropped_s / 60.0), rounded=None)

    total = Numbers()
    for n in rows:
        total.add(n)
    return ([numbers(n, t, f) for n, t, f in zip(rows, t_min, f_min)],
            numbers(total, t_min.sum(axis=0), f_min.sum(axis=0)))


# ---------------------------------------------------------------------------- exercise and pain

def exercise_sessions(exercises: Sequence[ExerciseInfo], gap_s: float = EXERCISE_SESSION_GAP_S
                      ) -> list[ExerciseSession]:
    """Group exercises into sessions: one starting less than ``gap_s`` after the previous exercise
    joins its session."""
    out: list[ExerciseSession] = []
    cur: Optional[list] = None
    for e in sorted(exercises, key=lambda x: (x.at, x.id)):
        if cur is not None and (e.at - cur[1]).total_seconds() < gap_s:
            cur[1] = e.at
            cur[2].append(e.name)
        else:
            if cur is not None:
                out.append(ExerciseSession(cur[0], cur[1], tuple(cur[2])))
            cur = [e.at, e.at, [e.name]]
    if cur is not None:
        out.append(ExerciseSession(cur[0], cur[1], tuple(cur[2])))
    return out


def pain_weeks(checkins: Sequence[PainCheckinInfo], last_day: date, tz: Optional[tzinfo] = None,
               weeks: int = PAIN_WEEKS) -> list[PainWeek]:
    out = []
    for k in range(weeks - 1, -1, -1):
        lo_day = last_day - timedelta(days=7 * k + 6)
        hi_day = last_day - timedelta(days=7 * k)
        lo, hi = day_bounds(lo_day, tz)[0], day_bounds(hi_day, tz)[1]
        out.append(PainWeek(lo_day, hi_day, tuple(c.score for c in checkins if lo <= c.at < hi)))
    return out


# ---------------------------------------------------------------------------------- the report

def build_report(rows: Rows, *, now: datetime, tz: Optional[tzinfo] = None, kind: Optional[str] = None,
                 timezone_label: str = "", options: str = "") -> Report:
    """All numbers of the report over rows.first_day .. rows.last_day (see the module docstring).
    options: what the command suggested in the messages must repeat to show the same data
    (e.g. "--db ~/back.db")."""
    now = now.astimezone(timezone.utc)
    kind = kind or ("day" if rows.first_day == rows.last_day else "week")
    kept = resolve_overlaps(rows.epochs)
    events = keep_events(rows.events, kept)
    outcomes = prompt_outcomes(events)
    ep = kept.epochs
    ex_sessions_all = exercise_sessions(rows.exercises)

    days: list[Day] = []
    totals = Numbers()
    d = rows.first_day
    while d <= rows.last_day:
        start, end = day_bounds(d, tz)
        a, b = start.timestamp() - ep.origin, end.timestamp() - ep.origin
        day_ep = ep.take((ep.t_start >= a) & (ep.t_start < b))
        day_ev = [e for e in events if start <= e.at < end]
        dropped = float(kept.dropped_s[(kept.dropped_time >= a) & (kept.dropped_time < b)].sum())
        numbers = day_numbers(day_ep, day_ev, start, end, now, dropped, outcomes)
        marks = [(e.at.timestamp(), e.kind, e.detail or "") for e in day_ev if e.kind in MARKED_AS]
        day = Day(d, start, end, numbers,
                  sessions=tuple(sorted({int(x) for x in np.unique(day_ep.session_id)})),
                  segments=segments(day_ep), marks=marks,
                  exercise_sessions=sum(1 for s in ex_sessions_all if start <= s.start < end),
                  pain_scores=tuple(c.score for c in rows.pain if start <= c.at < end))
        days.append(day)
        totals.add(numbers)
        d += timedelta(days=1)
    shown, totals.rounded = whole_minutes([day.numbers for day in days])
    for day, rounded in zip(days, shown):
        day.numbers.rounded = rounded

    goal_first = rows.last_day - timedelta(days=GOAL_WINDOW_DAYS - 1)
    goal_start = day_bounds(goal_first, tz)[0]
    goal = ExerciseGoal(goal_first, rows.last_day, [s for s in ex_sessions_all if goal_start <= s.start < rows.end])

    history = sorted(rows.pain, key=lambda c: (c.at, c.id))
    period_checkins = [c for c in history if rows.start <= c.at < rows.end]
    pain = Pain(pain_weeks(history, rows.last_day, tz), period_checkins, history)
    flags = redflags.checkins_flags(history, rows.start, rows.end)

    timezone_label = timezone_label or tz_label(rows.start, tz, rows.end)
    report = Report(kind, rows.first_day, rows.last_day, rows.start, rows.end, now, timezone_label, rows.database,
                    days, totals, goal, pain, flags, [], rows.db_empty,
                    *(to_local(t, tz).date() if t is not None else None
                      for t in (rows.nearest_before, rows.nearest_after)), options)
    report.unclassified = tuple(rows.without_epochs)
    report.messages = messages(report, tz)
    return report


#: Every report's title begins so, in text and HTML (``report --html`` knows an earlier page by it).
REPORT_TITLE = "Back report for"


def report_title(report: "Report", tz: Optional[tzinfo] = None) -> str:
    """'Back report for Monday 4 March 2024', 'Back report for the week 27 Mar to 2 Apr 2024'."""
    return f"{REPORT_TITLE} {period_name(report, tz)}"


def period_name(report: "Report", tz: Optional[tzinfo] = None) -> str:
    if report.kind == "day":
        return report.first_day.strftime("%A %d %B %Y").replace(" 0", " ")
    a = report.first_day.strftime("%d %b").lstrip("0")
    b = report.last_day.strftime("%d %b %Y").lstrip("0")
    return f"the week {a} to {b}"


def messages(report: Report, tz: Optional[tzinfo] = None) -> list[str]:
    """Plain notes for the reader: no data, how much time we could not see, overlaps."""
    out = []
    t = report.totals
    m = t.rounded  # the minutes the text and HTML show
    what = period_name(report, tz)
    if report.db_empty:
        out.append("Nothing is recorded in the database yet. Import a recording or "
                   "wear the sensor, and the report will fill in; you can log exercises and pain already.")
    elif not report.has_data:
        if t.span_s <= 0:
            out.append(f"No sensor data for {what}: it has not started yet." + nearest_data(report))
        else:
            nearest = nearest_data(report)
            out.append(f"No sensor data for {what}: nothing was recorded then." + (
                nearest or " Nothing has been classified on any other day either: wear the sensor, or import a "
                "recording, and the report will fill in."))
    elif t.span_s > 0:
        out.append(f"{minutes(m.unseen_s)} of {minutes(m.span_s)} ({pct(t.unseen_s / t.span_s)}) could not be seen: "
                   f"{minutes(m.not_recorded_s)} not recorded, {minutes(m.state_s['not_worn'])} not worn, "
                   f"{minutes(m.state_s['no_data'])} without usable data. That time counts as neither seated "
                   "time nor a break.")
    if t.overlap_dropped_s > 0:
        out.append(f"{minutes(m.overlap_dropped_s)} recorded twice (overlapping sessions): the newest session "
                   "was used.")
    when = "%H:%M:%S" if report.kind == "day" else "%a %d %b %H:%M:%S"  # a week's: which day too
    for x in report.unclassified:
        a = to_local(x.started_at, tz).strftime(when)
        if x.ended_at is None:  # still starting, or killed before it could end the session
            out.append(f"Session {x.id} (from {a}) has no epochs and has not ended: it is just starting, or "
                       "was killed before its first epoch.")
        else:
            b = to_local(x.ended_at, tz).strftime("%H:%M:%S")
            out.append(f"Session {x.id} ({a}-{b}) was stopped before its first epoch: nothing was classified.")
    return out


def nearest_data(report: Report) -> str:
    """' The nearest day with sensor data is Monday 4 March 2024: sensorback report --day 2024-03-04.'
    (both sides when there is data before and after the report's days; '' when there is none)."""
    sides = [(d, w) for d, w in ((report.nearest_before, "before"), (report.nearest_after, "after")) if d is not None]
    if not sides:
        return ""
    closest = min(sides, key=lambda s: abs((s[0] - (report.first_day if s[1] == "before" else report.last_day)).days))[0]
    names = " and ".join(f"{_day_name(d)}" + (f" ({w})" if len(sides) > 1 else "") for d, w in sides)
    which = "days" if len(sides) > 1 else "day"
    week = " --week" if report.kind == "week" else ""
    more = f" {report.options}" if report.options else ""
    return (f" The nearest {which} with sensor data: {names}; see it with "
            f"'sensorback report{week} --day {closest.isoformat()}{more}'.")


def _day_name(d: date) -> str:
    return d.strftime("%A %d %B %Y").replace(" 0", " ")


#: Said instead of suggesting exercise when the pain check-ins call for a doctor (the report, and
#: the monitor at its start, whose break prompts still name one).
DOCTOR_BEFORE_EXERCISE = "Your pain check-ins show a warning sign: talk to a doctor before taking on more exercise."


def exercise_advice(report: Report) -> str:
    """What to say about exercise, always with the sharp-pain rule; no suggestion to do more when
    the check-ins call for a doctor."""
    g = report.exercise
    if not redflags.suggests_exercise(report.flags):
        return f"{DOCTOR_BEFORE_EXERCISE} {redflags.SHARP_PAIN}"
    if g.met:
        return f"Goal reached: well done. Keep it gentle and regular. {redflags.SHARP_PAIN}"
    left = g.goal - g.count
    return (f"{count(left, 'more session')} would reach the goal; 'sensorback exercises' lists "
            f"gentle ones to start with. {redflags.SHARP_PAIN}")


# ------------------------------------------------------------------------------------- helpers

def _iso_day(d: Optional[date]) -> Optional[str]:
    return d.isoformat() if d is not None else None


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _checkin_dict(c: PainCheckinInfo) -> dict:
    answers = redflags.answers(c)
    flags = redflags.checkin_flags(c.score, **answers)
    return {"at": _iso(c.at), "score": c.score, "answers": answers,
            "note": c.note, "flags": [f.key for f in flags]}


__all__ = ["Day", "ExerciseGoal", "ExerciseSession", "Kept", "Numbers", "Pain", "PainWeek", "Report", "build_report",
           "day_numbers", "exercise_sessions", "keep_events", "pain_weeks", "prompt_outcomes", "resolve_overlaps",
           "segments", "to_local"]
