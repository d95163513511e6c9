"""Turn an EpochTable into the numbers a desk worker cares about.

Pure functions, no I/O: ``summarize(table)`` returns a :class:`Summary`, ``Summary.to_dict()`` gives
plain JSON-ready data and ``format_summary(summary)`` a short human-readable text.

Words: a state's name (``sitting``, ``slouching``, ...) only ever means that one state; the states
are disjoint. Every figure that counts sitting and slouching together is called *seated* (seated
time, seated bouts, the ``seated`` part of ``to_dict()``). ``SEATED`` and ``seated_seconds`` below are
the one home of that definition; the report uses them too.

How time is counted (the same rules are spelled out in ``to_dict()["seated"]["rules"]``):

* Every epoch counts for ``t_end - t_start`` seconds; the total is the sum over epochs.
* Worn time is every state except ``not_worn`` and ``no_data`` (lying counts as worn).
* Seated time is ``sitting`` + ``slouching``.
* A seated bout starts at a seated epoch and goes on until the wearer is upright (``standing`` or
  ``moving``, in any mix) for an unbroken run of at least ``sit_break_min_s``; such a run is a *break*.
  Shorter upright runs inside a bout do not end it and count toward its duration.
  ``lying``, ``not_worn`` and ``no_data`` inside a bout do not end it either, and are not breaks,
  but their time is left out of the bout's duration (we cannot say the wearer was seated).
  They also split upright runs: two 40 s stands around a data gap are two short runs, not a break.
  A hole between two epochs (a gap of more than 10 min in a recording, or the time between two
  recordings in a report) counts like ``no_data`` for bouts and breaks, and as no state's time.
  A bout's duration therefore runs from its first to its last seated epoch, minus that paused time.
* A long bout lasts at least ``long_bout_min`` minutes.
* Inclination percentiles use one value per worn epoch with a finite inclination (NumPy's default
  linear interpolation); seated-flexion percentiles use seated epochs with a finite flexion.
* Flexed time sums the epochs whose ``flexion_deg`` is strictly above 20, 30 or 60 degrees while
  upright or seated (lying is left out: a lying trunk is not a flexed back); ``flexed_seconds`` gives
  the same for any set of states (e.g. upright and seated apart) and thresholds.
* A rise (sit-to-stand) is a seated epoch directly followed by an upright one, whatever happens after.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .core.epochs import TOUCH_S, EpochTable, runs
from .core.states import LYING, MOVING, NO_DATA, NOT_WORN, SITTING, SLOUCHING, STANDING, STATES
from .timefmt import pct, precise_duration as format_duration  # the one home of durations and shares

SEATED = (SITTING, SLOUCHING)
#: The names of the seated states: seated time is the sum of theirs.
SEATED_STATES = tuple(STATES[code] for code in SEATED)
#: What the figures that count the seated states together are called: the ``seated`` part of
#: ``Summary.to_dict()`` (and of the report's JSON), and the columns of flat tables (``seated_name``).
SEATED_WORD = "seated"
UPRIGHT = (STANDING, MOVING)
PAUSED = (LYING, NOT_WORN, NO_DATA)
NOT_WORN_STATES = (NOT_WORN, NO_DATA)
FLEXION_THRESHOLDS_DEG = (20, 30, 60)
PERCENTILES = (10, 50, 90)


def seated_seconds(state_s: dict[str, float]) -> float:
    """Seated time from seconds per state name: sitting + slouching."""
    return float(sum(state_s[name] for name in SEATED_STATES))


def seated_name(figure: str) -> str:
    """A seated figure's name standing alone, as a table's column: its key inside
    ``to_dict()["seated"]`` with the word in front ('bouts' -> 'seated_bouts', 'longest_bout_s' ->
    'seated_longest_bout_s'; 'seated_s' stays). Figures of a table's own are named the same way."""
    return figure if figure.startswith(SEATED_WORD + "_") else f"{SEATED_WORD}_{figure}"


@dataclass(frozen=True)
class Bout:
    """One seated bout; times on the recording's own axis, durations in seconds."""

    start_s: float  # t_start of the first seated epoch
    end_s: float  # t_end of the last seated epoch
    seated_s: float  # sitting + slouching inside the bout
    slouching_s: float
    short_upright_s: float  # standing/moving runs shorter than a break, inside the bout
    paused_s: float  # lying / not_worn / no_data inside the bout

    @property
    def duration_s(self) -> float:
        return self.seated_s + self.short_upright_s

    def to_dict(self) -> dict:
        return {
            "start_s": _num(self.start_s),
            "end_s": _num(self.end_s),
            "duration_s": _num(self.duration_s),
            "seated_s": _num(self.seated_s),
            "slouching_s": _num(self.slouching_s),
            "short_upright_s": _num(self.short_upright_s),
            "paused_s": _num(self.paused_s),
        }


@dataclass(frozen=True)
class Percentiles:
    p10: float | None
    p50: float | None
    p90: float | None
    epochs: int  # how many epochs the percentiles are taken over

    def to_dict(self) -> dict:
        return {"p10": _num(self.p10), "p50": _num(self.p50), "p90": _num(self.p90), "epochs": self.epochs}


@dataclass(frozen=True)
class Summary:
    epochs: int
    t_start: float | None  # first epoch's start, None for an empty table
    t_end: float | None  # last epoch's end
    total_s: float  # sum of epoch durations
    worn_s: float  # total minus not_worn and no_data
    state_s: dict[str, float]  # seconds per state name, every state present
    seated_s: float  # sitting + slouching
    slouch_share: float | None  # slouching / seated time; None without seated time
    bouts: tuple[Bout, ...]
    breaks: int  # upright runs lasting at least sit_break_min_s
    long_bouts: int  # bouts lasting at least long_bout_min minutes
    inclination: Percentiles  # inclination_deg over worn epochs
    seated_flexion: Percentiles  # flexion_deg over seated epochs
    flexed_s: dict[int, float]  # threshold (deg) -> seconds with flexion above it (upright or seated)
    sit_break_min_s: float = 60.0
    long_bout_min: float = 30.0
    rises: int = 0  # seated epochs directly followed by an upright one (sit-to-stand)

    @property
    def n_bouts(self) -> int:
        return len(self.bouts)

    @property
    def longest_bout_s(self) -> float:
        return max((b.duration_s for b in self.bouts), default=0.0)

    def share(self, state: str) -> float | None:
        """Share of the total time spent in ``state`` (None for an empty recording)."""
        return self.state_s[state] / self.total_s if self.total_s > 0 else None

    def share_of_worn(self, state: str) -> float | None:
        """Share of the worn time spent in a worn ``state`` (None for not_worn/no_data or no worn time)."""
        if state in (STATES[NOT_WORN], STATES[NO_DATA]) or self.worn_s <= 0:
            return None
        return self.state_s[state] / self.worn_s

    def to_dict(self) -> dict:
        """Plain JSON-ready data (floats, ints, strings, None; NaN becomes None)."""
        return {
            "epochs": self.epochs,
            "t_start": _num(self.t_start),
            "t_end": _num(self.t_end),
            "total_s": _num(self.total_s),
            "worn_s": _num(self.worn_s),
            "states": {
                name: {
                    "seconds": _num(self.state_s[name]),
                    "share": _num(self.share(name)),
                    "share_of_worn": _num(self.share_of_worn(name)),
                }
                for name in STATES
            },
            SEATED_WORD: {
                "seated_s": _num(self.seated_s),
                "slouch_share": _num(self.slouch_share),
                "bouts": self.n_bouts,
                "longest_bout_s": _num(self.longest_bout_s),
                "long_bouts": self.long_bouts,
                "long_bout_min": _num(self.long_bout_min),
                "breaks": self.breaks,
                "bout_list": [b.to_dict() for b in self.bouts],
                "rules": {
                    "seated_states": list(SEATED_STATES),
                    "break_min_s": _num(self.sit_break_min_s),
                    "long_bout_min": _num(self.long_bout_min),  # minutes, as in the report's rules
                    "break": (
                        f"an unbroken run of standing/moving epochs lasting >= {self.sit_break_min_s:g} s;"
                        " it ends the current bout"
                    ),
                    "short_upright": (
                        "shorter standing/moving runs inside a bout do not end it and count toward its duration"
                    ),
                    "paused": (
                        "lying, not_worn and no_data inside a bout neither end it nor count as a break;"
                        " their time is left out of the bout's duration"
                    ),
                    "long_bout": f"a bout whose duration is >= {self.long_bout_min:g} min",
                },
            },
            "inclination_deg": {**self.inclination.to_dict(), "basis": "worn epochs with a finite inclination"},
            "seated_flexion_deg": {
                **self.seated_flexion.to_dict(),
                "basis": "sitting and slouching epochs with a finite flexion",
            },
            "flexed_s": {
                **{f"over_{thr}_deg": _num(sec) for thr, sec in self.flexed_s.items()},
                "basis": "flexion_deg strictly above the threshold while standing, moving, sitting or slouching",
            },
        }


def summarize(
    table: EpochTable,
    sit_break_min_s: float = 60,
    long_bout_min: float = 30,
    flexion_thresholds_deg: tuple[int, ...] = FLEXION_THRESHOLDS_DEG,
) -> Summary:
    """Summarize per-epoch states into daily posture numbers (see the module docstring for rules)."""
    state = np.asarray(table.state).astype(np.int64)
    t0 = np.asarray(table.t_start, dtype=np.float64)
    t1 = np.asarray(table.t_end, dtype=np.float64)
    dur = t1 - t0
    n = len(state)

    state_s = {name: float(dur[state == code].sum()) for code, name in enumerate(STATES)}
    total_s = float(dur.sum())
    worn_s = float(dur[~np.isin(state, NOT_WORN_STATES)].sum())
    seated_s = seated_seconds(state_s)
    slouch_share = state_s["slouching"] / seated_s if seated_s > 0 else None

    bouts, breaks = _bouts(state, t0, t1, dur, float(sit_break_min_s))
    long_bouts = sum(1 for b in bouts if b.duration_s >= long_bout_min * 60.0)

    incl = np.asarray(table.inclination_deg, dtype=np.float64)
    flex = np.asarray(table.flexion_deg, dtype=np.float64)
    worn = ~np.isin(state, NOT_WORN_STATES)
    inclination = _percentiles(incl[worn & np.isfinite(incl)])
    seated_flexion = _percentiles(flex[np.isin(state, SEATED) & np.isfinite(flex)])

    flexed_s = flexed_seconds(table, SEATED + UPRIGHT, flexion_thresholds_deg)

    return Summary(
        epochs=n,
        t_start=float(t0[0]) if n else None,
        t_end=float(t1[-1]) if n else None,
        total_s=total_s,
        worn_s=worn_s,
        state_s=state_s,
        seated_s=seated_s,
        slouch_share=slouch_share,
        bouts=tuple(bouts),
        breaks=breaks,
        long_bouts=long_bouts,
        inclination=inclination,
        seated_flexion=seated_flexion,
        flexed_s=flexed_s,
        sit_break_min_s=float(sit_break_min_s),
        long_bout_min=float(long_bout_min),
        rises=count_rises(state),
    )


def flexed_seconds(table: EpochTable, states: tuple[int, ...], thresholds_deg: tuple[int, ...]) -> dict[int, float]:
    """Seconds of the epochs in ``states`` whose flexion_deg is strictly above each threshold."""
    state = np.asarray(table.state)
    flex = np.asarray(table.flexion_deg, dtype=np.float64)
    dur = np.asarray(table.t_end, dtype=np.float64) - np.asarray(table.t_start, dtype=np.float64)
    posture = np.isin(state, states) & np.isfinite(flex)
    return {int(thr): float(dur[posture & (flex > thr)].sum()) for thr in thresholds_deg}


def count_rises(state: np.ndarray) -> int:
    """Sit-to-stand rises: seated epochs directly followed by an upright epoch."""
    state = np.asarray(state)
    if len(state) < 2:
        return 0
    return int((np.isin(state[:-1], SEATED) & np.isin(state[1:], UPRIGHT)).sum())


def _bouts(state, t0, t1, dur, break_min_s: float) -> tuple[list[Bout], int]:
    # Group epochs into seated (0), upright (1) and paused (2) runs, then walk the runs. A hole
    # between two epochs (a long gap in a recording, or time between recordings) is paused time.
    kind = np.full(len(state), 2, dtype=np.int8)
    kind[np.isin(state, SEATED)] = 0
    kind[np.isin(state, UPRIGHT)] = 1
    firsts, lasts = runs(t0, t1, kind)

    bouts: list[Bout] = []
    breaks = 0
    cur: dict | None = None  # the open bout
    pending_upright = pending_paused = 0.0  # time since the open bout's last seated epoch

    def close() -> None:
        nonlocal cur
        if cur is not None:
            bouts.append(Bout(**cur))
            cur = None

    prev_end = None
    for a, last in zip(firsts.tolist(), lasts.tolist()):
        b = last + 1
        if prev_end is not None and float(t0[a]) - prev_end > TOUCH_S and cur is not None:
            pending_paused += float(t0[a]) - prev_end
        prev_end = float(t1[last])
        run_s = float(dur[a:b].sum())
        k = kind[a]
        if k == 0:
            slouch = float(dur[a:b][state[a:b] == SLOUCHING].sum())
            if cur is None:
                cur = dict(start_s=float(t0[a]), end_s=float(t1[b - 1]), seated_s=run_s, slouching_s=slouch,
                           short_upright_s=0.0, paused_s=0.0)
            else:
                cur["end_s"] = float(t1[b - 1])
                cur["seated_s"] += run_s
                cur["slouching_s"] += slouch
                cur["short_upright_s"] += pending_upright
                cur["paused_s"] += pending_paused
            pending_upright = pending_paused = 0.0
        elif k == 1:
            if run_s >= break_min_s:
                breaks += 1
                close()
                pending_upright = pending_paused = 0.0
            elif cur is not None:
                pending_upright += run_s
        else:
            if cur is not None:
                pending_paused += run_s
    close()
    return bouts, breaks


def _percentiles(values: np.ndarray) -> Percentiles:
    if values.size == 0:
        return Percentiles(None, None, None, 0)
    p = np.percentile(values, PERCENTILES)
    return Percentiles(float(p[0]), float(p[1]), float(p[2]), int(values.size))


def json_number(x):
    """JSON-friendly number: None, NaN and infinities become None, numpy scalars Python numbers,
    rounded to 6 decimals (whole numbers as int)."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return None
    r = round(x, 6)
    return int(r) if r.is_integer() and abs(r) < 2**53 else r


_num = json_number  # the short name this module uses


# --------------------------------------------------------------------------- human-readable text


def _deg(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}°"


def format_summary(summary: Summary, title: str | None = None) -> str:
    """A compact plain-text report of a Summary."""
    s = summary
    lines: list[str] = []
    if title:
        lines.append(title)
    if s.epochs == 0:
        lines.append("  no epochs: the recording is empty")
        return "\n".join(lines)
    lines.append(
        f"  recorded {format_duration(s.total_s)} ({s.t_start:g}-{s.t_end:g} s, {s.epochs} epochs),"
        f" worn {format_duration(s.worn_s)}"
    )
    lines.append(f"  {'state':<11}{'time':>14}{'of total':>11}{'of worn':>10}")
    for name in STATES:
        lines.append(
            f"  {name:<11}{format_duration(s.state_s[name]):>14}{pct(s.share(name), 1):>11}"
            f"{pct(s.share_of_worn(name), 1):>10}"
        )
    lines.append(
        f"  seated ({' + '.join(SEATED_STATES)}): {format_duration(s.seated_s)},"
        f" slouching {pct(s.slouch_share, 1)} of it"
    )
    lines.append(
        f"  seated bouts: {s.n_bouts}, longest {format_duration(s.longest_bout_s)},"
        f" {s.long_bouts} of {s.long_bout_min:g} min or more;"
        f" breaks (on your feet {s.sit_break_min_s:g} s or more): {s.breaks}"
    )
    i, f = s.inclination, s.seated_flexion
    lines.append(f"  inclination (worn): p10 {_deg(i.p10)}, median {_deg(i.p50)}, p90 {_deg(i.p90)}")
    lines.append(f"  flexion (seated):   p10 {_deg(f.p10)}, median {_deg(f.p50)}, p90 {_deg(f.p90)}")
    lines.append(
        "  trunk flexed: " + ", ".join(f"> {thr}° {format_duration(sec)}" for thr, sec in s.flexed_s.items())
    )
    return "\n".join(lines)
