"""Times, durations, shares and counts written for people: the one home of every such format.

Each style has one function, named for what it shows; pick by the precision the reader needs:

===================  ==========================  =================================================
function             examples                    where
===================  ==========================  =================================================
``duration``         45 s, 12 min, 1 h 05 min    what the coach says, the dashboard, messages
``minutes``          0 min, 25 min, 5 h 10 min   reports (whole minutes)
``hours_minutes``    0:25, 5:10                  report tables
``precise_duration`` 12 s, 4 min 30 s, 2 h 05 min  ``sensorback analyze``'s summary
``span``             3 min, 2 h 00 min, 9 days   gaps and lengths of recordings in messages
``span_over``        10 min 20 s, 600.02 s       a span said to be longer than a limit
``clock``            00:31:02                    recording time (sample time since the start)
``time_of_day``      09:05                       a time of the local day (report charts)
``pct``              37 %, >99 %, <1 %, 99.6 %   shares in reports (whole %), ``analyze`` (0.1 %)
``count``            1 file, 2 files, 1,234 epochs  how many of a thing, in any message
===================  ==========================  =================================================

Pure functions of numbers: no clocks, no locale, no imports from the rest of sensorback.
"""

from __future__ import annotations

from typing import Optional


def minutes(seconds: Optional[float]) -> str:
    """Whole minutes: '0 min', '25 min', '5 h 10 min' ('-' for None)."""
    if seconds is None:
        return "-"
    m = int(round(seconds / 60.0))
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def duration(seconds: float) -> str:
    """Seconds under a minute, else whole minutes: '45 s', '12 min', '1 h 05 min' (negative: 0 s)."""
    s = max(0.0, float(seconds))
    if s < 60:
        return f"{s:.0f} s"
    return minutes(s)


def hours_minutes(seconds: Optional[float]) -> str:
    """'5:10' (hours:minutes, whole minutes), for tables ('-' for None)."""
    if seconds is None:
        return "-"
    m = int(round(seconds / 60.0))
    return f"{m // 60}:{m % 60:02d}"


def precise_duration(seconds: Optional[float]) -> str:
    """To the second below an hour, to the nearest minute from an hour on: '12 s', '4 min 30 s',
    '2 h 05 min' ('-' for None)."""
    if seconds is None:
        return "-"
    s = int(round(seconds))
    if s >= 3600:  # whole minutes, rounded as `minutes` rounds them (3880 s: 1 h 05 min in both)
        return minutes(s)
    if s >= 60:
        m, rem = divmod(s, 60)
        return f"{m} min {rem:02d} s"
    return f"{s} s"


def span(seconds: float) -> str:
    """A gap or the length of a recording, in a message: as ``duration``, in days from a week on."""
    s = abs(float(seconds))
    return f"{s / 86400:.0f} days" if s >= 7 * 86400 else duration(s)


def span_over(seconds: float, limit: float) -> str:
    """A span longer than ``limit``, in a message that names ``span(limit)`` too: as ``span`` unless
    both would read the same ('a gap of 10 min, longer than 10 min' for 600.02 s), then finer until
    they differ: to the second ('10 min 20 s'), then seconds to 0.001 s ('600.02 s'); days (from a
    week on) to 0.001 day ('100.3 days'); closer than that, 'just over 10 min'."""
    s, lim = abs(float(seconds)), abs(float(limit))
    if s >= 7 * 86400:
        finer = [lambda x, d=d: f"{x / 86400:.{d}f} days" for d in (1, 2, 3)]
    else:
        finer = [precise_duration] + [lambda x, d=d: f"{x:.{d}f} s" for d in (0, 1, 2, 3)]
    for style in [span, *finer]:
        if style(s) != style(lim):
            return style(s)
    return f"just over {span(lim)}"


def clock(t: Optional[float]) -> str:
    """Recording time as H:MM:SS with at least two hour digits: 1862.4 -> '00:31:02' ('--:--:--' for
    None: nothing yet)."""
    if t is None:
        return "--:--:--"
    s = int(round(float(t)))
    sign = "-" if s < 0 else ""
    s = abs(s)
    return f"{sign}{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def time_of_day(seconds_from_midnight: float) -> str:
    """'09:05': a time of the day, to the minute."""
    m = int(round(seconds_from_midnight / 60))
    return f"{m // 60:02d}:{m % 60:02d}"


#: A share this close to 0 or 1 is that value (sums of float seconds), not "nearly".
_EXACT = 1e-9


def pct(share: Optional[float], decimals: int = 0) -> str:
    """A share (0 to 1) as a percentage: '37 %' ('-' for None). Never 100 % or 0 % unless exactly so
    (a week 99.6 % unseen is not all unseen; a 0.3 % slouch share is not none): what would round to
    either reads '>99 %' or '<1 %' ('>99.9 %', '<0.1 %' with decimals=1)."""
    if share is None:
        return "-"
    shown = f"{max(100.0 * float(share), 0.0):.{decimals}f}"
    if float(shown) >= 100.0 and share < 1.0 - _EXACT:
        return f">{100.0 - 10.0 ** -decimals:.{decimals}f} %"
    if float(shown) <= 0.0 and share > _EXACT:
        return f"<{10.0 ** -decimals:.{decimals}f} %"
    return f"{shown} %"


def count(n: int, word: str, plural: Optional[str] = None) -> str:
    """How many of a thing: '1 file', '0 files', '1,234 epochs'. The plural is ``word`` + 's' unless
    given ('2 people'); thousands always separated by commas, as every count a person reads (machine
    outputs, JSON and CSV, write bare numbers and do not use this)."""
    return f"{n:,} {word if n == 1 else (word + 's' if plural is None else plural)}"
