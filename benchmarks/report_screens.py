"""Screenshots of the HTML report at desktop and phone width, with the layout measured.

    python benchmarks/report_screens.py                       # PNGs into ./report-screens
    python benchmarks/report_screens.py --out /tmp/shots --widths 1280,400,360
    python benchmarks/report_screens.py --work /tmp/rs        # keep (and reuse) the simulated week

Builds a week of data the way a user would: simulated working days (desk-day and
standing-desk-day, 8 h each, shifted to Monday-Friday of one week) replayed into a database with
``sensorback replay``, a few pain check-ins and exercises logged; then writes the day report (the
Friday) and the week report with ``sensorback report --html`` and opens each page in headless
Chromium at every width (benchmarks/_chromium.py: an emulated device of exactly that CSS width).
Prints one row per page and width: how wide the page lays out against the screen (overflow > 0
means sideways scrolling), how many charts are shown, the smallest size their text is drawn at and
the narrowest chart's share of the screen; the PNGs are full-page shots. Exit code 1 if a page
overflows. Needs Chromium (apt-get install chromium; or $CHROMIUM).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime, time as dtime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _chromium import Browser  # noqa: E402
from _common import table  # noqa: E402

from sensorback.private import open_private  # noqa: E402

FRIDAY = date(2024, 3, 8)
SCENARIOS = ("desk-day", "standing-desk-day")


def sh(*args: str) -> str:
    env = dict(os.environ, SENSORBACK_NOTIFY="0")
    done = subprocess.run([sys.executable, "-m", "sensorback.cli", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"sensorback {' '.join(args)} failed:\n{done.stderr.strip()}")
    return done.stdout


def build_week(work: Path, days: int) -> Path:
    """A database holding ``days`` working days ending on FRIDAY (reused when it is there)."""
    from sensorback import formats
    from sensorback.store import open_store

    db = work / "week.db"
    if db.exists():
        return db
    sims = []
    for i, name in enumerate(SCENARIOS):
        path = work / f"{name}.sbr"
        if not path.exists():
            print(f"simulating {name} (8 h) ...", flush=True)
            sh("simulate", "--scenario", name, "--seed", str(i + 1), "--out", str(path))
        sims.append(formats.load(path))
    for k in range(days):
        day = FRIDAY - timedelta(days=days - 1 - k)
        block = sims[k % len(sims)]
        start = datetime.combine(day, dtime(8, 5 + 7 * k)).astimezone().timestamp()
        shifted = dataclasses.replace(block, start_time=start, meta=dict(block.meta))
        path = work / f"{day.isoformat()}.sbr"
        formats.save(shifted, path)
        print(f"replaying {path.name} ...", flush=True)
        sh("replay", str(path), "--db", str(db))
    with open_store(str(db)) as store:
        for k, score in enumerate((3, 4, 2, 5, 3)[:days]):
            day = FRIDAY - timedelta(days=days - 1 - k)
            store.add_pain_checkin(datetime.combine(day, dtime(19, 30)).astimezone(), score)
            if k % 2 == 0:
                store.add_exercise(datetime.combine(day, dtime(18, 0)).astimezone(), "cat-cow")
    return db


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("report-screens"), help="folder for the PNGs and pages")
    ap.add_argument("--work", type=Path, help="folder for the simulated week (kept and reused); default: temporary")
    ap.add_argument("--widths", default="1280,400", help="CSS widths to shoot, comma-separated (default 1280,400)")
    ap.add_argument("--days", type=int, default=5, choices=range(1, 8), metavar="1-7")
    args = ap.parse_args(argv)
    widths = [int(w) for w in args.widths.split(",")]
    if Browser.find() is None:
        print("no Chromium here: apt-get install chromium (or set $CHROMIUM)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="report-screens-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        db = build_week(work, args.days)
        pages = {"day": args.out / "day.html", "week": args.out / "week.html"}
        sh("report", "--day", FRIDAY.isoformat(), "--db", str(db), "--html", str(pages["day"]))
        sh("report", "--week", "--day", FRIDAY.isoformat(), "--db", str(db), "--html", str(pages["week"]))
        rows, overflow = [], False
        with Browser() as browser:
            for name, page in pages.items():
                for width in widths:
                    shot = browser.open(page.resolve().as_uri(), width)
                    png = args.out / f"{name}-{width}px.png"
                    with open_private(png, "wb") as f:  # a picture of someone's day
                        f.write(shot.png)
                    m = shot.metrics
                    over = max(0, m["scroll_width"] - m["viewport"])
                    overflow |= over > 0
                    charts = m["charts"]
                    kinds = ", ".join(f"{n} {k}" for k, n in sorted(_count(c["kind"] for c in charts).items()))
                    rows.append([name, f"{width}", f"{m['scroll_width']}", f"{over}", kinds or "-",
                                 f"{min((c['text_px'] for c in charts), default=0):.1f}",
                                 f"{min((c['width'] / m['viewport'] for c in charts), default=0):.0%}",
                                 f"{max((c['right'] for c in charts), default=0):.0f}", str(png)])
        table(["page", "width px", "laid out px", "overflow px", "charts shown", "min text px",
               "narrowest chart", "rightmost px", "screenshot"], rows, "lrrrlrrrl")
        return 1 if overflow else 0
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def _count(items) -> dict:
    out: dict = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


if __name__ == "__main__":
    sys.exit(main())
