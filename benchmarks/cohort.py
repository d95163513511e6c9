"""`sensorback cohort` at study scale: identical results with 1 and 2 workers, throughput, speed-up,
and peak memory per worker on a 7-day 100 Hz file (.sbr and .cwa).

    python benchmarks/cohort.py                 # 16 multi-day files (made once, kept in --data)
    python benchmarks/cohort.py --reps 2        # each worker count twice, alternating; best kept
    python benchmarks/cohort.py --skip-memory   # only the cohort runs
    python benchmarks/cohort.py --quick         # 6-hour "days" instead of 24 h (a smoke run)

The files are simulated (sensorback.sim) and cached in --data (default /tmp/sensorback-cohort-bench).
File i (seed i + 1) holds 2, 3 or 4 days at 50 Hz; a day is 8 h of desk-day, 8 h of standing-desk-day
and 8 h of the sensor resting on a nightstand, all from that seed (one wearer, one sensor, one
mounting). The runs use run_cohort() as the command does, each with a fresh local Dask cluster; times
are from the first file submitted to the last one finished (cluster start-up shown apart). The load
average is printed before and after each run: the machine is shared, so read the ratios of one run.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))

from _common import cpu_model, reset_peak, rss_now, rss_peak, table  # noqa: E402
from throughput import nightstand, write_week  # noqa: E402

from sensorback import formats  # noqa: E402
from sensorback.formats import NativeWriter  # noqa: E402
from sensorback.samples import SampleBlock  # noqa: E402

HOUR = 3600.0
N_FILES = 16
RATE = 50.0


def load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


# ----------------------------------------------------------------------------- data


def make_file(path: Path, seed: int, days: int, piece_s: float) -> float:
    """One multi-day file written an hour at a time; returns its length in days."""
    from sensorback.sim import simulate

    desk = simulate("desk-day", seed=seed, rate_hz=RATE, duration_s=piece_s)[0]
    stand = simulate("standing-desk-day", seed=seed, rate_hz=RATE, duration_s=piece_s)[0]
    night = nightstand(desk.meta["sim"]["imu"], piece_s, RATE, seed=seed + 100)
    pieces = [desk, stand, night]
    tmp = path.with_suffix(".writing")
    with NativeWriter(tmp, device="simulator", rate_hz=RATE, start_time=desk.start_time, flush_interval_s=600.0) as w:
        for d in range(days):
            for i, p in enumerate(pieces):
                base = (3 * d + i) * piece_s
                for h in np.arange(0.0, piece_s, HOUR):
                    part = p.between(h, h + HOUR)
                    w.append(SampleBlock(part.t + base, part.acc))
    tmp.replace(path)
    return days * 3 * piece_s / 86400.0


def make_cohort(folder: Path, piece_s: float) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "params.json"
    params = {"files": N_FILES, "piece_s": piece_s, "rate": RATE, "version": 1}
    paths = [folder / f"wearer{i + 1:02d}.sbr" for i in range(N_FILES)]
    if stamp.exists() and json.loads(stamp.read_text()) == params and all(p.exists() for p in paths):
        return paths
    t0 = time.perf_counter()
    for i, p in enumerate(paths):
        make_file(p, seed=i + 1, days=2 + i % 3, piece_s=piece_s)
        print(f"  made {p.name} ({i + 1}/{N_FILES}, {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    stamp.write_text(json.dumps(params))
    return paths


def make_week(folder: Path) -> tuple[Path, Path]:
    """A 7-day 100 Hz recording as .sbr (written chunk by chunk) and the same samples as .cwa."""
    from cwa_writer import write_cwa

    sbr, cwa = folder / "week100.sbr", folder / "week100.cwa"
    if not sbr.exists():
        write_week(sbr, 7, 100.0, 8 * HOUR)
    if not cwa.exists():
        start = 1709596800.0  # 2024-03-05 00:00 device clock
        chunks = ((b.t, b.acc) for b in formats.iter_blocks(sbr, chunk_samples=80 * (1 << 14)))
        write_cwa(chunks, cwa.with_suffix(".writing"), start, rate_hz=100.0)
        cwa.with_suffix(".writing").replace(cwa)
    return sbr, cwa


# ----------------------------------------------------------------------------- runs


def run(paths: list[Path], out: Path, workers: int) -> dict:
    from sensorback.cohort.run import run_cohort

    if out.exists():
        shutil.rmtree(out)
    before = load()
    import resource

    # The worker processes are this process's children: their CPU time is added here once they end.
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = run_cohort([str(p) for p in paths], out, workers=workers)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {"workers": workers, "setup_s": res.setup_s, "wall_s": res.wall_s, "days": res.recorded_days, "cpu_s": cpu,
            "ok": res.ok, "failed": res.failed, "load_before": before, "load_after": load(),
            "parquet": (out / "days.parquet").read_bytes(), "csv": (out / "days.csv").read_bytes(),
            "files": (out / "files.csv").read_bytes()}


def section_runs(paths: list[Path], tmp: Path, reps: int) -> None:
    import pyarrow.parquet as pq

    best: dict[int, dict] = {}
    rows = []
    pair_ratios = []
    for r in range(reps):
        pair = {}
        for w in (1, 2):
            res = run(paths, tmp / f"out{w}", w)
            pair[w] = res["wall_s"]
            rows.append([r + 1, w, f"{res['setup_s']:.1f}", f"{res['wall_s']:.1f}", f"{res['cpu_s']:.1f}",
                         f"{res['cpu_s'] / (res['wall_s'] + res['setup_s']):.2f}", f"{res['days']:.1f}",
                         f"{res['days'] / (res['wall_s'] * w / 3600.0):.0f}", f"{res['ok']}/{res['failed']}",
                         res["load_before"], res["load_after"]])
            if w not in best or res["wall_s"] < best[w]["wall_s"]:
                best[w] = res
        pair_ratios.append(pair[1] / pair[2])
    print(f"## cohort runs: {len(paths)} files, {best[1]['days']:.1f} recorded person-days at {RATE:g} Hz")
    table(["rep", "workers", "cluster start s", "run s", "worker CPU s", "cores obtained", "person-days",
           "person-days / core-hour", "ok/failed",
           "load before (1/5/15 min)", "load after"], rows)
    one, two = best[1], best[2]
    same_bytes = one["parquet"] == two["parquet"] and one["csv"] == two["csv"] and one["files"] == two["files"]
    t1 = pq.read_table(tmp / "out1" / "days.parquet") if (tmp / "out1").exists() else None
    t2 = pq.read_table(tmp / "out2" / "days.parquet") if (tmp / "out2").exists() else None
    same_table = t1 is not None and t2 is not None and t1.to_pandas().equals(t2.to_pandas())  # NaN == NaN
    print(f"days.parquet with 1 and 2 workers: {'identical bytes' if same_bytes else 'DIFFERENT bytes'}, "
          f"{'equal tables' if same_table else 'DIFFERENT tables'} ({t1.num_rows if t1 is not None else 0} rows)")
    print(f"speed-up 1 -> 2 workers, each repetition's pair run back to back: "
          f"{', '.join(f'{x:.2f}x' for x in pair_ratios)} (median {np.median(pair_ratios):.2f}x)")
    got = [two["cpu_s"] / two["wall_s"], one["cpu_s"] / one["wall_s"]]
    print(f"cores the workers obtained while running (best runs): {got[1]:.2f} with 1 worker, {got[0]:.2f} with 2; "
          f"the speed-up can be at most {got[0] / got[1]:.2f}x on this machine now, and the program got "
          f"{(one['wall_s'] / two['wall_s']) / (got[0] / got[1]):.0%} of that")
    print(f"speed-up 1 -> 2 workers (best runs): {one['wall_s'] / two['wall_s']:.2f}x; throughput "
          f"{one['days'] / (one['wall_s'] / 3600.0):.0f} person-days per core-hour with 1 worker, "
          f"{two['days'] / (two['wall_s'] * 2 / 3600.0):.0f} per core-hour with 2")
    print()


# ----------------------------------------------------------------------------- memory


def child(path: str) -> None:
    """analyze_file (what a worker runs) on one file in this fresh process; one JSON line."""
    from sensorback.cohort.task import analyze_file

    import sensorback.core  # noqa: F401  (libraries loaded before the baseline)
    import sensorback.formats.cwa  # noqa: F401

    reset_peak()
    base = rss_now()
    t0 = time.perf_counter()
    res = analyze_file(path, path)
    print(json.dumps({"seconds": time.perf_counter() - t0, "rss_base": base, "rss_peak": rss_peak(),
                      "status": res["file"]["status"], "error": res["file"]["error"], "days": len(res["days"]),
                      "samples": res["file"]["samples"]}))


def section_memory(week: tuple[Path, Path]) -> None:
    rows = []
    for path in week:
        cmd = [sys.executable, __file__, "--child", str(path)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"memory child failed:\n{done.stderr}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append([path.name, f"{path.stat().st_size / 1e6:.0f}", f"{r['samples']:,}", r["status"], r["days"],
                     f"{r['seconds']:.1f}", f"{r['rss_base'] / 1e6:.0f}", f"{r['rss_peak'] / 1e6:.0f}",
                     f"{(r['rss_peak'] - r['rss_base']) / 1e6:.0f}"])
    print("## peak memory of one worker's task on a 7-day 100 Hz file (fresh process; RSS from /proc VmHWM)")
    table(["file", "MB", "samples", "status", "days", "time s", "RSS before MB", "RSS peak MB",
           "peak - before MB"], rows)
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "sensorback-cohort-bench"))
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-runs", action="store_true")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    data = Path(args.data) / ("quick" if args.quick else "full")
    print(f"cores {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), {cpu_model()}, "
          f"Python {sys.version.split()[0]}, load average {load()}")
    if not args.skip_runs:
        paths = make_cohort(data, 2 * HOUR if args.quick else 8 * HOUR)
        with tempfile.TemporaryDirectory(prefix="cohort-bench-") as tmp:
            section_runs(paths, Path(tmp), args.reps)
    if not args.skip_memory:
        section_memory(make_week(Path(args.data)))


if __name__ == "__main__":
    main()
