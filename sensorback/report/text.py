"""The report as plain, aligned text for the terminal."""

from __future__ import annotations

import textwrap
from datetime import tzinfo
from typing import Optional, Sequence

from ..coach import exercises as exercise_lib
from . import redflags
from .compute import LONG_BOUTS_LABEL, Day, Numbers, Report, exercise_advice, report_title
from ..timefmt import hours_minutes, minutes, pct
from .when import format_local, to_local

WIDTH = 96
#: What the report calls each state (the state `sitting` alone is sitting upright: seated time is
#: sitting + slouching, Numbers.seated_s).
STATE_LABELS = {"moving": "moving", "standing": "standing", "sitting": "sitting upright", "slouching": "slouching",
                "lying": "lying", "not_worn": "not worn", "no_data": "no usable data"}


def rate(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.1f}"


def exercise_name(key: str) -> str:
    found = exercise_lib.find(key)
    return found.name if found is not None else key


def table(rows: Sequence[Sequence[str]], header: Optional[Sequence[str]] = None, indent: int = 2,
          align: Optional[str] = None) -> list[str]:
    """Aligned columns; ``align`` has one letter per column, 'l' or 'r' (default: first left, rest right)."""
    all_rows = ([list(header)] if header else []) + [list(r) for r in rows]
    if not all_rows:
        return []
    ncol = len(all_rows[0])
    align = align or "l" + "r" * (ncol - 1)
    widths = [max(len(r[i]) for r in all_rows) for i in range(ncol)]
    out = []
    for r in all_rows:
        cells = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align)]
        out.append(" " * indent + "  ".join(cells).rstrip())
    return out


def wrap(text: str, first: str = "  ", rest: Optional[str] = None) -> list[str]:
    """Lines of at most WIDTH, broken at spaces only (a path in a suggested command stays whole)."""
    return textwrap.wrap(text, width=WIDTH, initial_indent=first, break_on_hyphens=False, break_long_words=False,
                         subsequent_indent=rest if rest is not None else " " * len(first)) or [first.rstrip()]


def _outcomes(n: Numbers) -> str:
    if not n.prompts:
        return "none"
    parts = [f"{v} {k}" for k, v in n.outcomes.items() if v]
    return f"{n.prompts}" + (f": {', '.join(parts)}" if parts else "")


def _time_section(n: Numbers, title: str) -> list[str]:
    m, label = n.rounded, STATE_LABELS  # whole minutes that add up (Numbers.rounded); shares exact
    s = m.state_s
    rows = [
        ["seated", minutes(m.seated_s), f"{pct(n.seated_share_of_worn)} of worn time"],
        [f"  of it {label['sitting']}", minutes(s["sitting"]), ""],
        [f"  of it {label['slouching']}", minutes(s["slouching"]), f"{pct(n.slouch_share)} of seated time"],
        *([label[k], minutes(s[k]), ""] for k in ("standing", "moving", "lying")),
        ["worn in all", minutes(m.worn_s), ""],
        *([label[k], minutes(s[k]), ""] for k in ("not_worn", "no_data")),
        ["not recorded", minutes(m.not_recorded_s), ""],
        ["unseen in all", minutes(m.unseen_s), "neither seated time nor a break: we cannot tell"],
    ]
    return [title] + table(rows, align="lrl")


def _seated_section(n: Numbers) -> list[str]:
    rows = [
        ["seated bouts", str(n.bouts)],
        ["longest bout", minutes(n.rounded.longest_bout_s)],
        [LONG_BOUTS_LABEL, str(n.long_bouts)],
        ["breaks (on your feet 60 s or more)", f"{n.breaks} ({rate(n.breaks_per_worn_hour)} per worn hour)"],
        ["break prompts", _outcomes(n)],
        ["slouch nudges", str(n.nudges)],
    ]
    return ["Seated bouts and breaks"] + table(rows, align="ll")


def _flexed_section(n: Numbers) -> list[str]:
    rows = [[f"past {t}°", minutes(v)] for t, v in n.rounded.flexed_s.items()]
    return ["Trunk bent forward (standing, moving or seated)"] + table(rows)


def _exercise_section(report: Report, tz: Optional[tzinfo]) -> list[str]:
    g = report.exercise
    lines = [f"Exercise (goal: {g.goal} sessions a week)"]
    lines += wrap(f"{g.count} of {g.goal} sessions in the 7 days {g.first_day.isoformat()} to "
                  f"{g.last_day.isoformat()}" + (" - goal reached." if g.met else "."))
    for s in g.sessions:
        names = ", ".join(exercise_name(n) for n in s.names)
        lines += wrap(f"{format_local(s.start, tz, '%a %d %b %H:%M')}  {names}", "    ")
    lines += wrap(exercise_advice(report))
    return lines


def _pain_section(report: Report, tz: Optional[tzinfo]) -> list[str]:
    p = report.pain
    lines = ["Pain check-ins (0-10), last 6 weeks"]
    if not p.history:
        lines += wrap("No check-ins yet. Log one with 'sensorback log pain SCORE'.")
        return lines
    rows = []
    for w in p.weeks:
        label = f"{w.first_day.strftime('%d %b')} - {w.last_day.strftime('%d %b')}"
        rows.append([label, str(len(w.scores)), "-" if w.mean is None else f"{w.mean:.1f}",
                     "-" if w.highest is None else str(w.highest)])
    lines += table(rows, header=["week", "check-ins", "average", "highest"])
    if p.checkins:
        lines.append("  in this report:")
        for c in p.checkins:
            extras = redflags.answered_yes(c)
            text = f"{format_local(c.at, tz, '%a %d %b %H:%M')}  {c.score}/10"
            if extras:
                text += "  (" + ", ".join(extras) + ")"
            if c.note:
                text += f"  \"{c.note}\""
            lines += wrap(text, "    ", "      ")
    return lines


def _flags_section(report: Report) -> list[str]:
    if not report.flags:
        return []
    lines = ["Please read: your pain check-ins"]
    for f in report.flags:
        lines += wrap(f.message, "  ! " if f.level != "advice" else "  - ", "    ")
    lines += wrap("sensorback cannot tell what causes your pain; a doctor or physiotherapist can.", "    ")
    return lines


def _week_tables(days: Sequence[Day], totals: Numbers) -> list[str]:
    """Times in Numbers.rounded: the days' columns add up to the week's row."""
    rows = []
    for label, n in [*((d.day.strftime("%a %d %b"), d.numbers) for d in days), ("week", totals)]:
        m = n.rounded
        rows.append([label, hours_minutes(m.worn_s), hours_minutes(m.seated_s), pct(n.slouch_share), str(n.bouts),
                     hours_minutes(m.longest_bout_s), str(n.long_bouts), str(n.breaks), rate(n.breaks_per_worn_hour),
                     hours_minutes(m.unseen_s)])
    t = totals
    lines = ["Day by day (hours:minutes)"]
    lines += table(rows, header=["day", "worn", "seated", "slouch", "bouts", "longest", "30+ min", "breaks",
                                 "per h", "unseen"])
    rows = []
    for d in days:
        n = d.numbers
        rows.append([d.day.strftime("%a %d %b"), str(n.prompts), str(n.outcomes["heeded"]), str(n.nudges),
                     *(hours_minutes(v) for v in n.rounded.flexed_s.values()), str(d.exercise_sessions),
                     ", ".join(str(s) for s in d.pain_scores) or "-"])
    rows.append(["week", str(t.prompts), str(t.outcomes["heeded"]), str(t.nudges),
                 *(hours_minutes(v) for v in t.rounded.flexed_s.values()), str(sum(d.exercise_sessions for d in days)), ""])
    lines.append("")
    lines += table(rows, header=["day", "prompts", "heeded", "nudges", *(f"past {k}°" for k in t.flexed_s),
                                 "exercise", "pain"])
    return lines


def render_text(report: Report, tz: Optional[tzinfo] = None) -> str:
    title = report_title(report, tz)
    lines = [title, "=" * len(title)]
    lines += wrap(f"Local time {report.timezone or to_local(report.start, tz).strftime('%Z')}; "
                  f"database {report.database}.", "")
    flags = _flags_section(report)
    if flags:
        lines += [""] + flags
    if report.messages:
        lines.append("")
        for m in report.messages:
            lines += wrap(m, "* ", "  ")
    if report.has_data:
        n = report.totals
        if report.kind == "week":
            lines += [""] + _week_tables(report.days, n)
        lines += [""] + _time_section(n, "Where the time went" + (" (whole week)" if report.kind == "week" else ""))
        lines += [""] + _seated_section(n)
        lines += [""] + _flexed_section(n)
    lines += [""] + _exercise_section(report, tz)
    lines += [""] + _pain_section(report, tz)
    return "\n".join(lines)
