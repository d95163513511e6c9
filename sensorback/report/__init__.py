"""What the user reads afterwards: daily and weekly reports from the store, and pain red flags.

- ``load``: the store rows of a period (the only I/O);
- ``compute``: the numbers, pure (``build_report``);
- ``rounding``: the minutes the text and HTML show, rounded once so that parts add up to totals;
- ``text`` / ``html``: rendering (``render_text``, ``render_html``);
- ``redflags``: warning signs in pain check-ins (pure);
- ``when``: the dates and times users type, and local day boundaries.

See docs/report.md.
"""

from .compute import Report, build_report
from .html import render_html
from .load import Rows, load_rows
from .text import render_text

__all__ = ["Report", "Rows", "build_report", "load_rows", "render_html", "render_text"]
