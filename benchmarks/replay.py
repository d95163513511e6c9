"""How fast and how lean ``sensorback replay --speed max`` is, and where its time goes.

    python benchmarks/replay.py                 # 8 h simulated desk-day, 3 runs, SQLite
    python benchmarks/replay.py --hours 24 --reps 5
    python benchmarks/replay.py --db postgresql+psycopg://me@host/bench   # another database (--replace each run)

The recording is the simulator's ``desk-day`` (seed 1, 50 Hz), written to a temporary .sbr file.
Each run is the real command, ``sensorback replay FILE --speed max --db ... --events ...``, in a
fresh Python process (this script re-invoked with --child), so its peak memory is its own. Inside,
the command's own wall time is measured (database opening, load, calibration, the replay loop and
the final writes: everything but starting Python and importing), and the process's wall time from
outside (everything). The real-time factor is recording time / wall time. Stages come from the
command's ReplayResult: ``open_db`` (importing SQLAlchemy and Alembic, opening the database and
creating its schema), ``load`` (reading the file), ``calibrate`` (the whole-file calibration pass,
as ``analyze`` does), ``core`` (StreamProcessor), ``coach``, ``store`` (Recorder: batching and the
database writes), ``emit`` (printing and the events file), ``other`` (argument checks, hashing the
file, begin_session, the block loop itself).

The bar is a real-time factor of at least 2000x for the command (8 h in 14.4 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import cpu_model, rss_now, rss_peak, table  # noqa: E402

BAR = 2000.0
MEASURED = ["sensorback/replay.py", "sensorback/session", "sensorback/sources/files.py", "sensorback/cli/replay_cmd.py",
            "sensorback/core", "sensorback/coach",
            "sensorback/store", "sensorback/formats"]
STAGES = ("open_db", "load", "calibrate", "core", "coach", "store", "emit")


def child(args) -> None:
    """One replay in this fresh process; writes one JSON object to args.out."""
    import typer

    from sensorback.cli import app

    cmd = typer.main.get_command(app)
    base = rss_now()  # interpreter + imported libraries
    argv = ["replay", args.path, "--speed", "max", "--db", args.db, "--events", args.events]
    if args.replace:
        argv.append("--replace")
    with open(os.devnull, "w") as devnull:
        stdout = sys.stdout
        sys.stdout = devnull  # the printed events and summary are not what is measured
        try:
            t0 = time.perf_counter()
            result = cmd.main(argv, prog_name="sensorback", standalone_mode=False)
            wall = time.perf_counter() - t0
        finally:
            sys.stdout = stdout
    Path(args.out).write_text(json.dumps({
        "wall_s": wall, "duration_s": result.duration_s, "epochs": result.epochs,
        "stored": result.stored_epochs, "events": len(result.events), "timings": result.timings,
        "baseline_bytes": base, "peak_bytes": rss_peak(),
    }))


def machine() -> None:
    import numpy
    import sqlalchemy
    import sqlite3

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count()
    cpu = cpu_model()
    print(f"machine: {os.cpu_count()} cores ({cpus} usable), {cpu}")
    print(f"python {platform.python_version()}, numpy {numpy.__version__}, sqlalchemy {sqlalchemy.__version__}, "
          f"sqlite {sqlite3.sqlite_version}")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *MEASURED], cwd=REPO, capture_output=True,
                               text=True).stdout.strip()
        print(f"sensorback at {commit or '?'}" + (" (WARNING: uncommitted changes in the measured code)"
                                                   if dirty else ""))
    except OSError:
        pass
    print()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hours", type=float, default=8.0, help="length of the simulated desk-day (default 8)")
    p.add_argument("--reps", type=int, default=3, help="runs, each in a fresh process (default 3)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--db", help="database URL to use instead of a fresh SQLite file per run")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--path", help=argparse.SUPPRESS)
    p.add_argument("--events", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--replace", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return

    from sensorback import formats
    from sensorback.sim import simulate

    machine()
    with tempfile.TemporaryDirectory(prefix="sensorback-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        block, _ = simulate("desk-day", seed=args.seed, rate_hz=50.0, duration_s=args.hours * 3600.0)
        path = tmp / "desk-day.sbr"
        formats.save(block, path)
        print(f"recording: simulated desk-day, seed {args.seed}, {block.duration_s / 3600:.1f} h at "
              f"{block.rate_hz:g} Hz, {len(block):,} samples, {path.stat().st_size / 1e6:.1f} MB "
              f"(made in {time.perf_counter() - t0:.1f} s)")
        print(f"database: {args.db or 'a fresh SQLite file per run'}\n")
        del block

        runs = []
        for i in range(args.reps):
            db = args.db or str(tmp / f"run{i}.db")
            out = tmp / f"run{i}.json"
            cmd = [sys.executable, __file__, "--child", "--path", str(path), "--db", db,
                   "--events", str(tmp / f"run{i}.events.csv"), "--out", str(out)]
            if args.db:
                cmd.append("--replace")
            env = dict(os.environ, SENSORBACK_CONFIG=str(tmp / "no-config.toml"))
            t = time.perf_counter()
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            process_s = time.perf_counter() - t
            if done.returncode != 0:
                sys.exit(f"run {i} failed ({done.returncode}):\n{done.stderr}")
            r = json.loads(out.read_text())
            r["process_s"] = process_s
            runs.append(r)

    dur = runs[0]["duration_s"]
    rows = []
    for i, r in enumerate(runs):
        rows.append([i + 1, f"{r['wall_s']:.2f}", f"{dur / r['wall_s']:,.0f}x", f"{r['process_s']:.2f}",
                     f"{dur / r['process_s']:,.0f}x", f"{r['baseline_bytes'] / 1e6:.0f}",
                     f"{r['peak_bytes'] / 1e6:.0f}", f"{r['stored']:,}", r["events"]])
    print(f"sensorback replay --speed max, {dur / 3600:.1f} h recording")
    table(["run", "command s", "real-time", "process s", "real-time", "RSS after imports MB", "peak RSS MB",
           "epochs stored", "events"], rows)

    best = min(runs, key=lambda r: r["wall_s"])
    timings = best["timings"]
    parts = [(s, timings.get(s, 0.0)) for s in STAGES]
    parts.append(("other", best["wall_s"] - sum(v for _, v in parts)))
    print(f"where the time goes (best run, {best['wall_s']:.2f} s)")
    table(["stage", "s", "share", "real-time of the stage alone"],
          [[name, f"{v:.3f}", f"{100 * v / best['wall_s']:.0f}%", f"{dur / v:,.0f}x" if v > 0 else "-"]
           for name, v in parts])

    ratio = dur / best["wall_s"]
    ratio_proc = dur / min(r["process_s"] for r in runs)
    verdict = "meets" if ratio >= BAR else "MISSES"
    print(f"real-time factor {ratio:,.0f}x for the command ({ratio_proc:,.0f}x with Python start-up and imports): "
          f"{verdict} the {BAR:,.0f}x bar; peak RSS {max(r['peak_bytes'] for r in runs) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
