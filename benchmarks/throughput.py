"""Throughput and memory of the signal core and the native format, on one machine, in one run.

    python benchmarks/throughput.py            # full run (a few minutes)
    python benchmarks/throughput.py --quick    # smaller data, fewer repetitions (well under a minute)

Every timing is the best of N repetitions (the machine is noisy; the best run is the one least
disturbed), and every ratio is between two timings of this same run. Data come from the
simulator (sensorback.sim), so nothing needs to be downloaded. Peak memory is measured in a fresh
subprocess per case (this script re-invoked with --child), so earlier cases cannot hide it.
See benchmarks/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.signal

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import cpu_model, reset_peak, rss_now, rss_peak, table  # noqa: E402

from sensorback import formats  # noqa: E402
from sensorback.core import CoreOptions, EpochTable, StreamProcessor, analyze, block_stats  # noqa: E402
from sensorback.core import estimate_calibration, iter_analyze  # noqa: E402
from sensorback.core.decide import Decider  # noqa: E402
from sensorback.core.states import STATES  # noqa: E402
from sensorback.formats import NativeWriter  # noqa: E402
from sensorback.samples import SampleBlock  # noqa: E402
from sensorback.sim import simulate  # noqa: E402

HOUR = 3600.0
DAY = 86400.0


# ----------------------------------------------------------------------------- timing helpers


def best_of(fn, n: int, clock=time.perf_counter):
    """(best seconds, result of the last call) over n calls of fn()."""
    best, out = float("inf"), None
    for _ in range(n):
        gc.collect()
        t0 = clock()
        out = fn()
        best = min(best, clock() - t0)
    return best, out


def ms(s: float) -> str:
    return f"{s * 1000:,.1f}"


def mb(nbytes: float) -> str:
    return f"{nbytes / 1e6:,.1f}"


# ----------------------------------------------------------------------------- data


def shift(block: SampleBlock, dt: float) -> SampleBlock:
    return SampleBlock(block.t + dt, block.acc, device=block.device, rate_hz=block.rate_hz,
                       start_time=block.start_time, meta=block.meta)


def nightstand(imu: dict, duration_s: float, rate_hz: float, seed: int = 0) -> SampleBlock:
    """The sensor resting on a nightstand: constant gravity in one fixed orientation, read through
    the simulated sensor's own errors (matrix, offset), noise and quantisation, at its clock
    drift with its timestamp jitter; t starts at 0."""
    rng = np.random.default_rng(seed)
    true_rate = rate_hz * (1.0 + imu["clock_drift_ppm"] * 1e-6)
    n = int(duration_s * true_rate)
    t = np.arange(n, dtype=np.float64) / true_rate
    jitter = imu["jitter_ms"] / 1000.0
    if jitter:
        t += np.clip(rng.normal(0.0, jitter, n), -0.45 / rate_hz, 0.45 / rate_hz)
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    x, y, z, w = q
    # third column of the rotation matrix of quaternion q: where "up" points in sensor axes
    g = np.array([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)])
    f = np.asarray(imu["matrix"]) @ g + np.asarray(imu["offset_g"])
    acc = np.empty((n, 3), np.float32)
    lsb, rng_g = imu["lsb_g"], imu["range_g"]
    piece = 1 << 20
    for i in range(0, n, piece):  # in pieces: float64 noise for a whole night is big
        k = min(piece, n - i)
        a = f + rng.standard_normal((k, 3)) * np.asarray(imu["noise_g"])
        if lsb:
            a = np.clip(np.round(a / lsb) * lsb, -rng_g, rng_g - lsb)
        acc[i:i + k] = a
    keep = t < duration_s
    return SampleBlock(t[keep], acc[keep], device="simulator", rate_hz=rate_hz)


def day_pieces(kind: str, rate_hz: float, piece_s: float) -> list[SampleBlock]:
    """Three consecutive pieces of piece_s each (t starting at 0 for each).

    One seed throughout: the simulator draws the wearer, the sensor's errors and the mounting
    from the seed alone, so every piece is the same person wearing the same clip the same way
    (pieces from different seeds would be three sensors mounted three ways in one recording).
    """
    desk = simulate("desk-day", seed=1, rate_hz=rate_hz, duration_s=piece_s)[0]
    if kind == "walking-heavy":
        return [desk, desk, desk]
    stand = simulate("standing-desk-day", seed=1, rate_hz=rate_hz, duration_s=piece_s)[0]
    assert stand.meta["sim"]["imu"] == desk.meta["sim"]["imu"]
    return [desk, stand, nightstand(desk.meta["sim"]["imu"], piece_s, rate_hz, seed=3)]


def one_day(kind: str, rate_hz: float, piece_s: float) -> SampleBlock:
    parts = [shift(p, i * piece_s) for i, p in enumerate(day_pieces(kind, rate_hz, piece_s))]
    block = SampleBlock.concat(parts)
    block.meta = {}
    return block


def state_shares(epochs: EpochTable) -> str:
    counts = np.bincount(epochs.state, minlength=len(STATES))
    return " ".join(f"{STATES[i]} {100 * c / max(len(epochs), 1):.0f}%" for i, c in enumerate(counts) if c)


# ----------------------------------------------------------------------------- children (memory)


def child(args) -> None:
    """One memory case in a fresh process; prints one JSON line."""
    import tracemalloc

    path = Path(args.path)
    out = {"case": args.child}
    if args.child == "analyze":
        # Read the recording into private memory in chunks (no mmap, no double copy) so the
        # baseline is: interpreter + libraries + the data the analysis is given.
        hdr = formats.read_native_header(path)
        t = np.empty(hdr.n_samples)
        acc = np.empty((hdr.n_samples, 3), np.float32)
        i = 0
        for b in formats.iter_blocks(path, chunk_samples=1 << 18):
            t[i:i + len(b)], acc[i:i + len(b)] = b.t, b.acc
            i += len(b)
        block = SampleBlock(t, acc, rate_hz=hdr.rate_hz)
        gc.collect()
        out["data_bytes"] = t.nbytes + acc.nbytes
        reset_peak()
        base = rss_now()
        if args.trace:
            tracemalloc.start()
        c0 = time.perf_counter()
        res = analyze(block)
        out["seconds"] = time.perf_counter() - c0
        out["epochs"] = len(res.epochs)
    else:  # "iter": the whole file through iter_analyze, two passes, nothing kept but counts
        out["file_bytes"] = path.stat().st_size
        gc.collect()
        reset_peak()
        base = rss_now()
        if args.trace:
            tracemalloc.start()
        c0 = time.perf_counter()
        counts = np.zeros(len(STATES), np.int64)
        n = 0
        for tab in iter_analyze(formats.iter_blocks(path), rescan=lambda: formats.iter_blocks(path)):
            counts += np.bincount(tab.state, minlength=len(STATES))
            n += len(tab)
        out["seconds"] = time.perf_counter() - c0
        out["epochs"] = n
        out["shares"] = {STATES[i]: int(c) for i, c in enumerate(counts) if c}
    if args.trace:
        out["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    out["rss_base"] = base
    out["rss_peak_delta"] = rss_peak() - base
    print(json.dumps(out))


def run_child(case: str, path: Path, trace: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", case, "--path", str(path)] + (["--trace"] if trace else [])
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"child {case} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- benchmark sections


def section_machine() -> None:
    import scipy

    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip() or "?"
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--",
                                "sensorback/core", "sensorback/formats", "sensorback/samples.py"],
                               capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit, dirty = "?", ""
    cpu = cpu_model()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print("## machine")
    print(f"cores: {os.cpu_count()} ({usable} usable); cpu: {cpu}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}; "
          f"sensorback at {commit}{' + uncommitted changes to the core or formats' if dirty else ''}")
    print()


_FIRST_COPY = """
import sys, time
import numpy as np
a = np.ones((int(sys.argv[1]), 3), np.float32)
t0 = time.perf_counter()
b = np.copy(a)
print(time.perf_counter() - t0)
"""


def copy_times(acc: np.ndarray, n: int) -> tuple[float, float]:
    """(one np.copy as a program makes it, a copy into memory already touched), best of n each.

    A program's np.copy of a 50 MB array gets new pages from the kernel and pays for faulting
    them in. Repeated in one process, the allocator sometimes hands back pages an earlier copy
    already touched and the same call takes half as long, so a best-of-n in one process jumps
    between the two. Both are measured, each the same way every time: the first as the first
    np.copy of an array of this shape and dtype in a fresh interpreter (values do not matter to
    a copy), the second with np.copyto into one array reused across repetitions.
    """
    runs = [subprocess.run([sys.executable, "-c", _FIRST_COPY, str(acc.shape[0])], capture_output=True,
                           text=True, check=True) for _ in range(n)]
    first = min(float(r.stdout.strip()) for r in runs)
    dst = np.empty_like(acc)
    np.copyto(dst, acc)
    warm_s, _ = best_of(lambda: np.copyto(dst, acc), n)
    return first, warm_s


def section_classify(days: dict[str, SampleBlock], reps: int) -> float:
    opts = CoreOptions()
    rows, breakdown = [], []
    copy_s = None
    for name, block in days.items():
        copy_s, warm_s = copy_times(block.acc, 4 * reps)
        an_s, res = best_of(lambda: analyze(block, opts), reps)
        rows.append([name, f"{len(block):,}", f"{block.duration_s / HOUR:.1f}", ms(copy_s), ms(warm_s), ms(an_s),
                     f"{an_s / copy_s:.1f}x", f"{an_s / warm_s:.1f}x", state_shares(res.epochs)])
        st_s, (stats, sensor) = best_of(lambda: block_stats(block, opts), reps)
        ca_s, (cal, _) = best_of(lambda: estimate_calibration(stats, opts, sensor), reps)
        de_s, ep = best_of(lambda: Decider(opts, cal, block.rate_hz).decide_all(stats), reps)
        assert ep.equals(res.epochs), "block_stats + estimate_calibration + Decider != analyze"
        breakdown.append([name, ms(st_s), ms(ca_s), ms(de_s), ms(st_s + ca_s + de_s), f"{st_s / copy_s:.1f}x",
                          f"{(ca_s + de_s) / copy_s:.1f}x"])
    print(f"## classify a day held in memory: analyze(SampleBlock) vs one np.copy of its (n,3) float32 acc "
          f"(best of {reps}; copies best of {4 * reps})")
    table(["data", "samples", "hours", "np.copy ms", "warm copy ms", "analyze ms", "ratio", "ratio to warm copy",
           "states"], rows, "lrrrrrrrl")
    block = days[list(days)[-1]]
    sos = scipy.signal.butter(4, 5.0 / (block.rate_hz / 2), output="sos")
    lp_s, _ = best_of(lambda: scipy.signal.sosfilt(sos, block.acc, axis=0), 2)
    print(f"for scale: a plain 4th-order 5 Hz low-pass of the same array (scipy.signal.sosfilt, one direction) "
          f"takes {ms(lp_s)} ms = {lp_s / copy_s:.1f}x the np.copy ({lp_s / warm_s:.1f}x the warm copy)")
    print("breakdown (public functions; the sum can differ a little from analyze):")
    table(["data", "block_stats ms", "estimate_calibration ms", "Decider ms", "sum ms",
           "stats/copy", "decisions/copy"], breakdown)
    return copy_s


def rows_recording(block: SampleBlock, path: Path) -> None:
    """Write block as a live recorder would (1-s blocks appended, rows layout), then die
    without close(): the header never learns the sample count (as tests/test_formats_crash.py)."""
    w = NativeWriter(path, device=block.device, rate_hz=block.rate_hz, compact=False, flush_interval_s=1.0)
    edges = np.searchsorted(block.t, np.arange(np.floor(block.t[0]), block.t[-1] + 1.0, 1.0))
    for a, b in zip(edges[:-1], edges[1:]):
        if b > a:
            w.append(SampleBlock(block.t[a:b], block.acc[a:b]))
    w.flush()
    os.close(w._fd)  # killed: no close(), no compaction
    w._closed = True


def section_load(block: SampleBlock, tmp: Path, reps: int) -> None:
    cols, rows = tmp / "day_columns.sbr", tmp / "day_rows.sbr"
    formats.save(block, cols)
    rows_recording(block, rows)
    copy_s, _ = copy_times(block.acc, 4 * reps)

    def load_and_read(p):
        b = formats.load(p)
        return float(b.t[-1]) + float(b.acc.sum(dtype=np.float64))  # touch every byte

    out = []
    for name, p in (("columns (formats.save)", cols), ("rows (live NativeWriter, killed)", rows)):
        formats.load(p)  # warm the page cache
        ld_s, b = best_of(lambda: formats.load(p), reps)
        assert len(b) == len(block) and np.array_equal(b.acc, block.acc)
        rd_s, _ = best_of(lambda: load_and_read(p), reps)
        out.append([name, mb(p.stat().st_size), ms(ld_s), f"{ld_s / copy_s:.2f}x", ms(rd_s), f"{rd_s / copy_s:.2f}x"])
    print(f"## load {block.duration_s / HOUR:.0f} h at {block.rate_hz:g} Hz from .sbr (warm page cache) "
          f"vs np.copy of acc = {ms(copy_s)} ms (best of {reps})")
    table(["layout", "file MB", "load ms", "load/copy", "load+read all ms", "(load+read)/copy"], out)


def section_stream(block: SampleBlock, reps: int, live_span_s: float) -> None:
    cal = analyze(block).calibration
    n_per = 20
    out = []
    for delay in (1.0, 60.0, 600.0, float("inf")):
        span = block if delay >= 60.0 else block.between(block.t[0], block.t[0] + live_span_s)
        blocks = [SampleBlock(span.t[i:i + n_per], span.acc[i:i + n_per], rate_hz=span.rate_hz)
                  for i in range(0, len(span), n_per)]

        def run(blocks=blocks, span=span, delay=delay):
            sp = StreamProcessor(CoreOptions(), cal, span.rate_hz, max_delay_s=delay)
            parts = [sp.feed(b) for b in blocks]
            parts.append(sp.finish())
            return parts

        cpu_s, parts = best_of(run, reps, clock=time.process_time)
        same = EpochTable.concat(parts).equals(analyze(span, calibration=cal).epochs)
        rtf = span.duration_s / cpu_s
        out.append([f"{delay:g}" if delay < float("inf") else "inf (queue only)", f"{span.duration_s / HOUR:.1f}", f"{len(blocks):,}", f"{cpu_s:.3f}",
                    f"{cpu_s / len(blocks) * 1e6:.1f}", f"{rtf:,.0f}x", "yes" if rtf >= 100_000 else "NO",
                    "yes" if same else "NO"])
        del blocks, parts
    print(f"## streaming: StreamProcessor.feed() in {n_per}-sample blocks, realistic day, CPU time (best of {reps}); "
          "blocks are built before timing")
    table(["max_delay_s", "hours fed", "feeds", "CPU s", "us/feed", "real-time factor", ">= 100,000x",
           "== batch"], out)


def write_week(path: Path, days: int, rate_hz: float, piece_s: float) -> None:
    """A multi-day recording written chunk by chunk: one simulated day (3 pieces) is made once
    and appended `days` times with shifted t, one hour at a time; never all in memory."""
    pieces = day_pieces("realistic", rate_hz, piece_s)
    day_s = 3 * piece_s
    with NativeWriter(path, device="simulator", rate_hz=rate_hz, flush_interval_s=600.0) as w:
        for d in range(days):
            for i, p in enumerate(pieces):
                base = d * day_s + i * piece_s
                for h in np.arange(0.0, piece_s, HOUR):
                    part = p.between(h, h + HOUR)
                    w.append(SampleBlock(part.t + base, part.acc))


def section_memory(day_path: Path, iter_cases: list[tuple[Path, str]], week_write_s: float) -> None:
    rows = []
    cases = [("analyze", day_path, "analyze, day in memory")] + [("iter", p, f"iter_analyze, {d}") for p, d in iter_cases]
    for case, path, desc in cases:
        timed = run_child(case, path, trace=False)
        traced = run_child(case, path, trace=True)
        size = timed.get("data_bytes", timed.get("file_bytes"))
        rows.append([desc, mb(size), f"{timed['seconds']:.2f}", mb(timed["rss_base"]),
                     mb(timed["rss_peak_delta"]), mb(traced["tracemalloc_peak"]),
                     f"{traced['tracemalloc_peak'] / size:.3f}"])
        if case == "iter":
            shares = timed["shares"]
            total = sum(shares.values())
            states = " ".join(f"{k} {100 * v / total:.0f}%" for k, v in shares.items())
    print("## peak memory, each case in a fresh process (RSS peak from /proc VmHWM; tracemalloc in a second run)")
    table(["case", "data/file MB", "time s", "RSS before MB", "RSS peak - before MB", "tracemalloc peak MB",
           "tracemalloc/data"], rows)
    print(f"(the week file was written chunk by chunk in {week_write_s:.1f} s; its states: {states})")
    print()


# ----------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="6 h instead of 24 h, 1 day instead of 7, fewer repeats")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per timing (default 5, --quick 3)")
    ap.add_argument("--child", choices=["analyze", "iter"], help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    reps = args.reps or (3 if args.quick else 5)
    piece_s = 2 * HOUR if args.quick else 8 * HOUR
    week_days = 1 if args.quick else 7
    live_span_s = 1 * HOUR if args.quick else 4 * HOUR
    t_start = time.perf_counter()
    section_machine()

    t0 = time.perf_counter()
    days = {
        "walking-heavy (3 x desk-day)": one_day("walking-heavy", 50.0, piece_s),
        "realistic (desk + standing desk + night on a nightstand)": one_day("realistic", 50.0, piece_s),
    }
    print(f"(simulated the {3 * piece_s / HOUR:.0f} h days at 50 Hz in {time.perf_counter() - t0:.1f} s)\n")
    section_classify(days, reps)
    realistic = days["realistic (desk + standing desk + night on a nightstand)"]
    with tempfile.TemporaryDirectory(prefix="sensorback-bench-") as d:
        tmp = Path(d)
        section_load(realistic, tmp, reps)
        section_stream(realistic, 3 if not args.quick else 2, live_span_s)
        del days
        gc.collect()
        day_path = tmp / "day_columns.sbr"
        week_path = tmp / "week.sbr"
        t0 = time.perf_counter()
        write_week(week_path, week_days, 100.0, piece_s)
        week_write_s = time.perf_counter() - t0
        iter_cases = [(week_path, f"{week_days * 3 * piece_s / DAY:.2g} days at 100 Hz from .sbr")]
        if week_days > 1:  # the same with one day, to see what grows with the length
            write_week(tmp / "one_day.sbr", 1, 100.0, piece_s)
            iter_cases.insert(0, (tmp / "one_day.sbr", "1 day at 100 Hz from .sbr"))
        section_memory(day_path, iter_cases, week_write_s)
    print(f"(whole run {time.perf_counter() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
