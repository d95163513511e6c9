"""What the benchmark scripts share: a plain-text table and this process's memory figures."""

from __future__ import annotations

import platform
import resource
import sys
from pathlib import Path


def table(header: list[str], rows: list[list], align: str | None = None) -> None:
    """Print rows under a header, first column left-aligned and the rest right-aligned by default."""
    cols = [[str(h)] + [str(r[i]) for r in rows] for i, h in enumerate(header)]
    widths = [max(len(c) for c in col) for col in cols]
    align = align or "l" + "r" * (len(header) - 1)

    def fmt(cells):
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(cells, widths, align))

    print(fmt([str(h) for h in header]))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt([str(c) for c in r]))
    print()


def status_kib(field: str) -> int | None:
    """A KiB field of /proc/self/status (VmRSS, VmHWM), or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def maxrss_bytes() -> int:
    """getrusage's peak RSS (KiB on Linux, bytes on macOS)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024


def rss_peak() -> int:
    """Peak RSS of this process: VmHWM (reset by reset_peak) where available, else getrusage.
    (getrusage's ru_maxrss survives execve on Linux, so a child started from a big parent would
    report the parent's peak; VmHWM belongs to the process image and starts fresh.)"""
    kib = status_kib("VmHWM")
    return 1024 * kib if kib is not None else maxrss_bytes()


def rss_now() -> int:
    kib = status_kib("VmRSS")
    return 1024 * kib if kib is not None else maxrss_bytes()


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def commit_of(checkout) -> str:
    """The checkout's short commit, '+ uncommitted changes' when its sensorback/ differs from it."""
    import subprocess

    try:
        res = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=False)
        dirty = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no", "--",
                                "sensorback"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"
    return (res.stdout.strip() or "?") + (" + uncommitted changes" if dirty else "")


def side_by_side(repo, against) -> list:
    """[(name, checkout)]: this checkout and, with --against, the other one, printed under a
    '## machine' heading (cores, CPU, load before, each checkout's commit) for runs compared in
    one go."""
    import os
    from pathlib import Path

    checkouts = [("this", Path(repo))] + ([("against", Path(against).resolve())] if against else [])
    print("## machine")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores: {os.cpu_count()} ({usable} usable); cpu: {cpu_model()}; load average before: "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    for name, path in checkouts:
        print(f"{name}: {path} at {commit_of(path)}")
    print()
    return checkouts


def add_side_by_side_options(ap) -> None:
    """--against CHECKOUT and --reps N, for benchmarks that compare two checkouts in one run."""
    from pathlib import Path

    ap.add_argument("--against", type=Path, help="another checkout to run side by side (e.g. before a change)")
    ap.add_argument("--reps", type=int, default=1, help="runs per case and checkout; the fastest is shown")
