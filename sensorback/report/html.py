"""The report as ONE self-contained HTML page: inline CSS, inline SVG, no scripts, no external files.

A day report shows the day's timeline (states as coloured bands along the hours, break prompts and
slouch nudges as marks); a week report shows one timeline per day, and daily bar charts of seated
hours (sitting + slouching), breaks and slouch share. Both show the key numbers, the exercise goal
and the pain trend.
Hovering a band or mark shows its details (SVG <title>, no JavaScript needed).

Every chart scales to the page's width (a viewBox, drawn at width 100%). A chart whose text would
shrink out of reading on a phone is drawn twice, laid out for a wide and for a narrow page (the
24 hours with fewer hour labels, a shorter pain chart), and CSS shows the one that fits
(``NARROW_PX``); still no script. benchmarks/report_screens.py takes screenshots at 1280 and 400 px.
"""

from __future__ import annotations

from datetime import tzinfo
from html import escape
from typing import Optional, Sequence

from ..core.states import STATES
from . import redflags
from .compute import LONG_BOUTS_LABEL, MARK_LABELS, MARKED_AS, REPORT_TITLE, Day, Report, exercise_advice, report_title
from ..timefmt import count, hours_minutes, minutes, pct, time_of_day
from .text import STATE_LABELS, exercise_name, rate
from .when import format_local

NOT_RECORDED = -1
COLOURS = {
    "moving": "#2e9d5b",
    "standing": "#9fd39a",
    "sitting": "#4a7fc1",
    "slouching": "#e8912d",
    "lying": "#8e6cc0",
    "not_worn": "#b8b8b8",
    "no_data": "#dcdcdc",
    "not recorded": "#f4f4f4",
}
LABELS = {**STATE_LABELS, "not recorded": "not recorded"}
PROMPT_COLOUR = "#c0392b"
NUDGE_COLOUR = "#d35400"
BIN_S = 60.0  # the timeline shows each minute in the state that filled most of it
#: Pages narrower than this (CSS px) get the charts laid out for a phone.
NARROW_PX = 720
#: Widths of the two layouts (SVG user units, about CSS px at their natural size).
WIDE_W, NARROW_W = 960, 400
#: Hour labels on a timeline are at least this far apart.
MIN_LABEL_GAP = 40

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0;
       background: #fafafa; }
main { max-width: 1000px; margin: 0 auto; padding: 24px; }
svg.chart { width: 100%; height: auto; }
svg.pain { max-width: 640px; }
.narrow { display: none; }
h1 { font-size: 1.6em; margin: 0 0 4px 0; }
h2 { font-size: 1.2em; margin: 28px 0 8px 0; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #666; margin: 0 0 16px 0; font-size: 0.9em; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { background: #fff; border: 1px solid #e2e2e2; border-radius: 8px; padding: 10px 14px; min-width: 130px; }
.card .v { font-size: 1.4em; font-weight: 600; }
.card .k { color: #666; font-size: 0.85em; }
.note { background: #fff; border-left: 4px solid #4a7fc1; padding: 8px 12px; margin: 8px 0; }
.flag { background: #fff4f2; border-left: 4px solid #c0392b; padding: 8px 12px; margin: 8px 0; }
.flag.urgent { background: #fde2de; font-weight: 600; }
.advice { background: #fffaf0; border-left: 4px solid #e8912d; padding: 8px 12px; margin: 8px 0; }
table { border-collapse: collapse; background: #fff; font-size: 0.92em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td:nth-child(2) { white-space: nowrap; }
th { background: #f0f0f0; font-weight: 600; }
table.week td, table.week th { white-space: nowrap; padding: 4px 7px; }
.scroll { overflow-x: auto; }
tr.total td { font-weight: 600; border-top: 2px solid #ccc; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 0.85em; margin: 6px 0; }
.legend span.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 4px;
                  vertical-align: -1px; border: 1px solid #bbb; }
svg { display: block; background: #fff; border: 1px solid #e2e2e2; border-radius: 6px; }
svg text { font-family: system-ui, sans-serif; font-size: 11px; fill: #444; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.charts > div { flex: 1 1 260px; max-width: 420px; }
.goal span.dot { display: inline-block; width: 22px; height: 22px; border-radius: 50%; margin-right: 6px;
                 border: 2px solid #2e9d5b; vertical-align: middle; }
.goal span.dot.done { background: #2e9d5b; }
footer { color: #888; font-size: 0.8em; margin-top: 32px; }
@media (max-width: {narrow_max}px) {
  main { padding: 12px; }
  h1 { font-size: 1.3em; }
  .wide { display: none; }
  .narrow { display: block; }
  .narrow svg.chart { max-width: 560px; }
  .card { min-width: 0; flex: 1 1 130px; }
  th, td { padding: 4px 6px; }
}
""".replace("{narrow_max}", f"{NARROW_PX - 0.02:g}")


def _e(x) -> str:
    return escape(str(x), quote=True)


def responsive(wide: str, narrow: str) -> str:
    """Two drawings of one chart: CSS shows the wide one, or the narrow one on a narrow page."""
    return f'<div class="wide">{wide}</div><div class="narrow">{narrow}</div>'


def _svg_open(kind: str, width: int, height: int, label: str) -> str:
    return (f'<svg class="chart {kind}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'preserveAspectRatio="xMinYMin meet" role="img" aria-label="{_e(label)}">')


# ------------------------------------------------------------------------------------ timeline

def minute_bins(day: Day, bin_s: float = BIN_S) -> list[tuple[float, float, int]]:
    """The day as runs of (start, end, state) in seconds from midnight, each ``bin_s`` bin in the
    state that filled most of it (NOT_RECORDED where nothing was recorded), equal bins merged."""
    length = (day.end - day.start).total_seconds()
    nbins = max(1, int(round(length / bin_s)))
    origin = day.start.timestamp()
    fill = [[0.0] * (len(STATES)) for _ in range(nbins)]
    for a, b, st in day.segments:
        a, b = max(a - origin, 0.0), min(b - origin, length)
        i = int(a // bin_s)
        while a < b and i < nbins:
            hi = min(b, (i + 1) * bin_s)
            fill[i][st] += hi - a
            a = hi
            i += 1
    runs: list[list] = []
    for i, f in enumerate(fill):
        best = max(range(len(STATES)), key=lambda k: f[k])
        st = best if sum(f) >= bin_s / 2 else NOT_RECORDED
        if runs and runs[-1][2] == st:
            runs[-1][1] = min((i + 1) * bin_s, length)
        else:
            runs.append([i * bin_s, min((i + 1) * bin_s, length), st])
    return [tuple(r) for r in runs]


def _state_name(code: int) -> str:
    return "not recorded" if code == NOT_RECORDED else STATES[code]


def timeline_svg(days: Sequence[Day], tz: Optional[tzinfo] = None, width: int = WIDE_W,
                 hours: tuple[int, int] = (0, 24), tall: bool = False) -> str:
    """One band per day along the hours ``hours`` (local clock hours from midnight), break prompts
    as triangles above and slouch nudges as dots below it. ``width``: the layout (WIDE_W, or
    NARROW_W for a phone: shorter day labels, fewer hour labels)."""
    h0, h1 = hours
    narrow = width < NARROW_PX
    left, right, top = (46 if narrow else 78), 12, 22
    band_h, row_h = (40, 62) if tall else (18, 40)
    height = top + row_h * len(days) + 10
    plot_w = width - left - right
    lo, hi = h0 * 3600.0, h1 * 3600.0
    scale = plot_w / (hi - lo)
    bin_s = max(15.0, min(BIN_S, (hi - lo) / plot_w * 2))
    step = next((s for s in (1, 2, 3, 4, 6, 12) if s * 3600 * scale >= MIN_LABEL_GAP), 24)
    day_label = "%a %d" if narrow else "%a %d %b"
    out = [_svg_open("timeline", width, height, "timeline of states by hour")]
    for h in range(h0, h1 + 1):
        x = left + (h * 3600 - lo) * scale
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 6}" stroke="#eee"/>')
        if h % step == 0:
            out.append(f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle">{h:02d}</text>')
    for row, day in enumerate(days):
        y = top + row * row_h + 8
        out.append(f'<text x="4" y="{y + band_h / 2 + 4:.1f}">{_e(day.day.strftime(day_label))}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{plot_w}" height="{band_h}" fill="{COLOURS["not recorded"]}"/>')
        for a, b, st in minute_bins(day, bin_s):
            a, b = max(a, lo), min(b, hi)  # a 25-hour day (end of summer time) is cut at 24:00
            if st == NOT_RECORDED or b <= a:
                continue
            name = _state_name(st)
            label = f"{LABELS[name]} {time_of_day(a)}-{time_of_day(b)} ({minutes(b - a)})"
            out.append(f'<rect x="{left + (a - lo) * scale:.1f}" y="{y}" width="{max((b - a) * scale, 0.6):.1f}" '
                       f'height="{band_h}" fill="{COLOURS[name]}"><title>{_e(label)}</title></rect>')
        origin = day.start.timestamp()
        for t, kind, detail in day.marks:
            if not lo <= t - origin <= hi:
                continue
            x = left + (t - origin - lo) * scale
            when = format_local(_dt(t), tz, "%H:%M")
            title = _e(f"{when} {MARK_LABELS.get(kind, kind.replace('_', ' '))}: {detail}")
            if MARKED_AS.get(kind) == "prompt":
                out.append(f'<path d="M{x - 5:.1f},{y - 9} L{x + 5:.1f},{y - 9} L{x:.1f},{y - 1} Z" '
                           f'fill="{PROMPT_COLOUR}"><title>{title}</title></path>')
            elif MARKED_AS.get(kind) == "nudge":
                out.append(f'<circle cx="{x:.1f}" cy="{y + band_h + 5}" r="3.5" fill="{NUDGE_COLOUR}">'
                           f'<title>{title}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def recorded_hours(day: Day) -> tuple[int, int]:
    """The whole clock hours around what was recorded on a day (at least 2 hours)."""
    if not day.segments:
        return 0, 24
    origin = day.start.timestamp()
    a = min(s[0] for s in day.segments) - origin
    b = max(s[1] for s in day.segments) - origin
    h0 = max(0, int(a // 3600))
    h1 = min(24, max(h0 + 2, int(-(-b // 3600))))
    return h0, h1


def _dt(unix: float):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(unix, tz=timezone.utc)


def legend() -> str:
    items = [f'<span><span class="sw" style="background:{COLOURS[k]}"></span>{_e(LABELS[k])}</span>'
             for k in COLOURS]
    items.append(f'<span><svg width="12" height="10" style="display:inline;border:0;background:none">'
                 f'<path d="M1,1 L11,1 L6,9 Z" fill="{PROMPT_COLOUR}"/></svg> break prompt</span>')
    items.append(f'<span><svg width="10" height="10" style="display:inline;border:0;background:none">'
                 f'<circle cx="5" cy="5" r="3.5" fill="{NUDGE_COLOUR}"/></svg> slouch nudge</span>')
    return '<div class="legend">' + "".join(items) + "</div>"


# ----------------------------------------------------------------------------------- bar charts

def bar_chart(title: str, labels: Sequence[str], values: Sequence[Optional[float]], fmt, colour: str,
              width: int = 310, height: int = 190, max_value: Optional[float] = None) -> str:
    left, bottom, top = 8, 34, 28
    plot_h = height - bottom - top
    vmax = max_value if max_value is not None else max([v for v in values if v is not None] + [0.0])
    vmax = vmax if vmax > 0 else 1.0
    n = max(len(values), 1)
    slot = (width - 2 * left) / n
    bw = slot * 0.62
    out = [_svg_open("bars", width, height, title)
           + f'<text x="{left}" y="16" style="font-weight:600;font-size:12px">{_e(title)}</text>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{width - left}" y2="{top + plot_h}" stroke="#bbb"/>']
    for i, (label, v) in enumerate(zip(labels, values)):
        x = left + i * slot + (slot - bw) / 2
        cx = x + bw / 2
        if v is not None:
            h = plot_h * min(v, vmax) / vmax
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                       f'fill="{colour}"><title>{_e(label)}: {_e(fmt(v))}</title></rect>')
            out.append(f'<text x="{cx:.1f}" y="{top + plot_h - h - 4:.1f}" text-anchor="middle">{_e(fmt(v))}</text>')
        else:
            out.append(f'<text x="{cx:.1f}" y="{top + plot_h - 4:.1f}" text-anchor="middle" fill="#aaa">-</text>')
        out.append(f'<text x="{cx:.1f}" y="{height - 18}" text-anchor="middle">{_e(label)}</text>')
    out.append("</svg>")
    return "<div>" + "".join(out) + "</div>"


def pain_chart(report: Report, width: int = 640, height: int = 200) -> str:
    """Weekly average (line) and highest (open dots) pain over 6 weeks, with the 6/10 line."""
    weeks = report.pain.weeks
    left, right, top, bottom = 34, 14, 14, 36
    pw, ph = width - left - right, height - top - bottom
    n = len(weeks)
    out = [_svg_open("pain", width, height, "pain trend")]
    for s in range(0, 11, 2):
        y = top + ph * (1 - s / 10)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{s}</text>')
    y6 = top + ph * (1 - redflags.HIGH_PAIN / 10)
    out.append(f'<line x1="{left}" y1="{y6:.1f}" x2="{width - right}" y2="{y6:.1f}" stroke="{PROMPT_COLOUR}" '
               f'stroke-dasharray="4 3"><title>{redflags.HIGH_PAIN}/10</title></line>')
    pts = []
    for i, w in enumerate(weeks):
        x = left + pw * (i + 0.5) / n
        out.append(f'<text x="{x:.1f}" y="{height - 18}" text-anchor="middle">{_e(w.last_day.strftime("%d %b"))}</text>')
        scores = str(len(w.scores)) if width < NARROW_PX else count(len(w.scores), "check-in")
        out.append(f'<text x="{x:.1f}" y="{height - 5}" text-anchor="middle" fill="#888">{scores}</text>')
        if w.mean is not None:
            y = top + ph * (1 - w.mean / 10)
            pts.append((x, y))
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="#4a7fc1"><title>week to '
                       f'{_e(w.last_day.isoformat())}: average {w.mean:.1f}, highest {w.highest}</title></circle>')
            yh = top + ph * (1 - (w.highest or 0) / 10)
            out.append(f'<circle cx="{x:.1f}" cy="{yh:.1f}" r="3.5" fill="none" stroke="#c0392b"/>')
    if len(pts) > 1:
        out.append('<polyline fill="none" stroke="#4a7fc1" stroke-width="2" points="'
                   + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
    out.append("</svg>")
    return "".join(out)


# ------------------------------------------------------------------------------------- the page

def _card(value: str, key: str) -> str:
    return f'<div class="card"><div class="v">{_e(value)}</div><div class="k">{_e(key)}</div></div>'


def _cards(report: Report) -> str:
    n = report.totals
    m = n.rounded  # whole minutes that add up (Numbers.rounded); shares and rates from the exact times
    return '<div class="cards">' + "".join([
        _card(minutes(m.seated_s), "seated (sitting upright + slouching)"),
        _card(f"{n.bouts}", "seated bouts"),
        _card(minutes(m.longest_bout_s), "longest bout"),
        _card(f"{n.long_bouts}", LONG_BOUTS_LABEL),
        _card(f"{n.breaks} ({rate(n.breaks_per_worn_hour)}/h)", "breaks, per worn hour"),
        _card(f"{n.outcomes['heeded']} of {n.prompts}", "prompts heeded"),
        _card(pct(n.slouch_share), "of seated time slouched"),
        _card(minutes(m.unseen_s), "not seen (not worn, no data, not recorded)"),
    ]) + "</div>"


def _numbers_table(report: Report) -> str:
    n = report.totals
    m = n.rounded  # whole minutes that add up (Numbers.rounded); shares from the exact times
    s = m.state_s
    unseen = "neither seated time nor a break"
    rows = [
        ("seated (sitting upright + slouching)", minutes(m.seated_s), f"{pct(n.seated_share_of_worn)} of worn time"),
        (f"of it {LABELS['sitting']}", minutes(s["sitting"]), ""),
        (f"of it {LABELS['slouching']}", minutes(s["slouching"]), f"{pct(n.slouch_share)} of seated time"),
        *((LABELS[k], minutes(s[k]), "") for k in ("standing", "moving", "lying")),
        ("worn in all", minutes(m.worn_s), ""),
        *((LABELS[k], minutes(s[k]), unseen) for k in ("not_worn", "no_data")),
        (LABELS["not recorded"], minutes(m.not_recorded_s), unseen),
        ("break prompts", str(n.prompts), ", ".join(f"{v} {k}" for k, v in n.outcomes.items() if v)),
        ("slouch nudges", str(n.nudges), ""),
        *((f"trunk bent past {t}°", minutes(v), "standing, moving or seated") for t, v in m.flexed_s.items()),
    ]
    body = "".join(f"<tr><td>{_e(a)}</td><td>{_e(b)}</td><td>{_e(c)}</td></tr>" for a, b, c in rows)
    return f"<table><tr><th>what</th><th>how much</th><th></th></tr>{body}</table>"


def _week_table(report: Report) -> str:
    head = ["day", "worn", "seated", "slouch", "bouts", "longest", "30+ min", "breaks", "per h", "prompts",
            "heeded", "nudges", "unseen"]

    def row(label: str, n, cls: str = "") -> str:
        m = n.rounded  # the days' times add up to the week's (Numbers.rounded)
        cells = [label, hours_minutes(m.worn_s), hours_minutes(m.seated_s), pct(n.slouch_share), str(n.bouts),
                 hours_minutes(m.longest_bout_s),
                 str(n.long_bouts), str(n.breaks), rate(n.breaks_per_worn_hour), str(n.prompts),
                 str(n.outcomes["heeded"]), str(n.nudges), hours_minutes(m.unseen_s)]
        return f'<tr class="{cls}">' + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>"

    rows = "".join(row(d.day.strftime("%a %d %b"), d.numbers) for d in report.days)
    rows += row("week", report.totals, "total")
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    return (f'<p class="sub">Times in hours:minutes.</p><div class="scroll"><table class="week"><tr>{header}</tr>'
            f"{rows}</table></div>")


def _exercise_block(report: Report, tz: Optional[tzinfo]) -> str:
    g = report.exercise
    dots = "".join(f'<span class="dot{" done" if i < g.count else ""}"></span>' for i in range(max(g.goal, g.count)))
    items = "".join(f"<li>{_e(format_local(s.start, tz, '%a %d %b %H:%M'))}: "
                    f"{_e(', '.join(exercise_name(x) for x in s.names))}</li>" for s in g.sessions)
    status = "goal reached" if g.met else f"{g.goal - g.count} to go"
    return (f'<div class="goal">{dots} <strong>{g.count} of {g.goal}</strong> exercise sessions in the 7 days '
            f'{_e(g.first_day.isoformat())} to {_e(g.last_day.isoformat())} ({status}).</div>'
            + (f"<ul>{items}</ul>" if items else "")
            + f"<p>{_e(exercise_advice(report))}</p>")


def _pain_block(report: Report, tz: Optional[tzinfo]) -> str:
    p = report.pain
    if not p.history:
        return "<p>No pain check-ins in the last 6 weeks. Log one with <code>sensorback log pain SCORE</code>.</p>"
    items = ""
    for c in p.checkins:
        extra = ", ".join(redflags.answered_yes(c))
        items += (f"<li>{_e(format_local(c.at, tz, '%a %d %b %H:%M'))}: <strong>{c.score}/10</strong>"
                  + (f" ({_e(extra)})" if extra else "") + (f" &ldquo;{_e(c.note)}&rdquo;" if c.note else "") + "</li>")
    caption = (f'<p class="sub">Blue dots: the average of each week\'s check-ins; red rings: the highest; '
               f"dashed line: {redflags.HIGH_PAIN}/10; under each week, how many check-ins it had.</p>")
    return responsive(pain_chart(report), pain_chart(report, width=380)) + caption + (f"<p>Check-ins in this report:</p><ul>{items}</ul>" if items else "")


def _flags_block(report: Report) -> str:
    if not report.flags:
        return ""
    out = ["<h2>Please read: your pain check-ins</h2>"]
    for f in report.flags:
        cls = "flag urgent" if f.level == "urgent" else ("flag" if f.level == "soon" else "advice")
        out.append(f'<div class="{cls}">{_e(f.message)}</div>')
    out.append(f'<p class="sub">{_e(redflags.NOT_A_DIAGNOSIS)}</p>')
    return "".join(out)


def _timelines(days: Sequence[Day], tz: Optional[tzinfo], **kw) -> str:
    return responsive(timeline_svg(days, tz, WIDE_W, **kw), timeline_svg(days, tz, NARROW_W, **kw))


#: How every page render_html writes begins.
PAGE_START = "<!DOCTYPE html>"


def is_report_page(head: str) -> bool:
    """Whether ``head``, the first KB or so of a file, begins a page render_html wrote (pages of
    every version so far: the doctype, then the title within the head), so that ``report --html``
    replaces an earlier report but no other page."""
    return head.startswith(PAGE_START) and f"<title>{_e(REPORT_TITLE)} " in head[:2048]


def render_html(report: Report, tz: Optional[tzinfo] = None) -> str:
    title = report_title(report, tz)
    parts = [
        PAGE_START, '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        # Not the database's path: it names the user's home folder, and this page gets shared.
        f'<p class="sub">Local time {_e(report.timezone)} &middot; made {_e(format_local(report.now, tz))}</p>',
        _flags_block(report),
    ]
    parts += [f'<div class="note">{_e(m)}</div>' for m in report.messages]
    if report.has_data:
        parts.append(_cards(report))
        if report.kind == "day":
            h0, h1 = recorded_hours(report.days[0])
            parts.append("<h2>Timeline</h2>")
            parts.append(_timelines(report.days, tz))
            if (h0, h1) != (0, 24):
                parts.append(f'<p class="sub">Close-up of {h0:02d}:00 to {h1 % 24:02d}:00, when the sensor '
                             "recorded:</p>")
                parts.append(_timelines(report.days, tz, hours=(h0, h1), tall=True))
        else:
            parts.append("<h2>Timelines</h2>")
            parts.append(_timelines(report.days, tz))
        parts.append(legend())
        if report.kind == "week":
            labels = [d.day.strftime("%a") for d in report.days]
            parts.append("<h2>Day by day</h2>")
            parts.append('<div class="charts">'
                         + bar_chart("Seated (hours)", labels,
                                     [d.numbers.seated_s / 3600 if d.has_data else None for d in report.days],
                                     lambda v: f"{v:.1f}", COLOURS["sitting"])
                         + bar_chart("Breaks", labels, [d.numbers.breaks if d.has_data else None for d in report.days],
                                     lambda v: f"{v:.0f}", COLOURS["moving"])
                         + bar_chart("Slouch share of seated time (%)", labels,
                                     [None if d.numbers.slouch_share is None else 100 * d.numbers.slouch_share
                                      for d in report.days], lambda v: f"{v:.0f}", COLOURS["slouching"],
                                     max_value=100)
                         + "</div>")
            parts.append(_week_table(report))
        parts.append("<h2>The numbers</h2>")
        parts.append(_numbers_table(report))
    parts.append("<h2>Exercise</h2>")
    parts.append(_exercise_block(report, tz))
    parts.append("<h2>Pain trend (last 6 weeks)</h2>")
    parts.append(_pain_block(report, tz))
    parts.append('<footer>Made by sensorback from your own recordings. Breaks mean 60 s or more on your feet; '
                 "time not worn, without usable data or not recorded counts as neither seated time nor a break. "
                 "These are general suggestions, not medical advice.</footer>")
    parts.append("</main></body></html>")
    return "\n".join(p for p in parts if p)
