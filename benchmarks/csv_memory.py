"""Peak memory and time of reading a CSV recording (formats.read_csv), .csv and .csv.gz, optionally
side by side with another checkout (e.g. the one before a change) and whether both read the same
samples.

    python benchmarks/csv_memory.py                          # 6 h at 50 Hz (1.1 M rows)
    python benchmarks/csv_memory.py --hours 48               # 8.6 M rows
    python benchmarks/csv_memory.py --hours 6,48 --against /path/to/other/checkout --reps 2
    python benchmarks/csv_memory.py --damaged --against /path/to/other/checkout  # and files to refuse or cut

The recording is written once per duration, into a temporary folder, by this checkout's
`sensorback simulate --scenario desk-day --out x.csv` (the project's CSV writer), and gzipped as
write_csv does (level 3) for the .csv.gz. Each read is `read_csv(path)` in a fresh interpreter, so
the figures are what a user gets: peak RSS is the process's VmHWM from /proc/self/status read as
it ends (interpreter, numpy and sensorback included; `after imports MB` is its RSS before reading,
and `read MB` = peak - after imports is what the read itself cost), `read VM MB` is the same for
virtual memory (VmPeak - VmSize: what was reserved, touched or not), `traced MB` the tracemalloc
peak of the same read done again in that process afterwards (numpy's arrays included, whether
touched or not), and `read s` is the wall time of the first read_csv alone. The first row of each duration is what the SampleBlock read_csv returns holds
(t float64 + acc float32 (n, 3), 20 bytes a sample), computed from the sample count; `x arrays`
is `read MB` over it. With --against, the two checkouts take turns on
each case, so load from other work on the machine falls on both; `same` compares the samples
read (SHA-256 of t and acc) and the metadata, or the errors. --damaged adds the recording cut at two
thirds of its bytes (.csv and .csv.gz: the complete rows are kept) and a file of one endless line of
numbers (126 MB of text, 39 MB gzipped; alone and after a header line: refused), whose rows give
the error instead of the samples. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from _common import add_side_by_side_options, side_by_side, table  # noqa: E402

# Reads one file in a fresh interpreter and reports its figures (and which sensorback it ran).
_CHILD = """
import hashlib, json, sys, time, warnings
from pathlib import Path
from sensorback.errors import InputError
from sensorback.formats import read_csv
import sensorback

def kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

imports, vm_imports = kib("VmRSS"), kib("VmSize")
warnings.simplefilter("ignore")
t0 = time.perf_counter()
try:
    block = read_csv(sys.argv[1])
except InputError as e:
    block, error = None, str(e).replace(sys.argv[1], Path(sys.argv[1]).name)
wall = time.perf_counter() - t0
peak, vm = kib("VmHWM"), kib("VmPeak")
if block is not None:
    n, digest = len(block), hashlib.sha256(block.t.tobytes() + block.acc.tobytes() + json.dumps(
        [block.device, block.rate_hz, block.start_time, block.meta], sort_keys=True, default=repr).encode()).hexdigest()
else:
    n, digest = 0, "error: " + error
block = None
import tracemalloc  # the same read again, traced: what was allocated, reserved or not (after the figures above)
tracemalloc.start()
try:
    read_csv(sys.argv[1])
except InputError:
    pass
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print("@@" + json.dumps({"wall": wall, "peak": peak, "imports": imports, "vm": vm - vm_imports, "traced": traced, "n": n,
                         "digest": digest, "where": str(Path(sensorback.__file__).parent)}))
"""


def write_recording(folder: Path, hours: float, seed: int) -> tuple[Path, Path]:
    """x.csv by `sensorback simulate` of this checkout, and x.csv.gz of the same text."""
    csv = folder / f"desk-{hours:g}h.csv"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "sensorback", "simulate", "--scenario", "desk-day", "--duration", f"{hours:g}h",
           "--seed", str(seed), "--out", str(csv)]
    subprocess.run(cmd, env=env, cwd=folder, check=True, capture_output=True)
    gz = csv.with_name(csv.name + ".gz")
    with open(csv, "rb") as src, gzip.open(gz, "wb", compresslevel=3) as dst:
        shutil.copyfileobj(src, dst, 1 << 22)
    return csv, gz


def write_damaged(folder: Path, csv: Path, gz: Path) -> list[Path]:
    """The recording cut at two thirds of its bytes (.csv and .csv.gz), and one endless line of
    numbers with no line break (126 MB of text, 39 MB gzipped), alone and after a header line."""
    import numpy as np

    out = []
    for path in (csv, gz):
        data = path.read_bytes()
        cut = path.with_name(path.name.replace(".csv", "-cut.csv"))
        cut.write_bytes(data[: len(data) * 2 // 3])
        out.append(cut)
    rng = np.random.default_rng(0)
    text = b"".join((",".join(np.char.mod("%.3f", rng.random(1_000_000))) + ",").encode() for _ in range(21))
    for name, head in (("endless", b""), ("header-endless", b"t,ax,ay,az\n")):
        (folder / f"{name}.csv.gz").write_bytes(gzip.compress(head + text, compresslevel=6))
        (folder / f"{name}.csv").write_bytes(head + text)
        out += [folder / f"{name}.csv.gz", folder / f"{name}.csv"]
    return out


def read(checkout: Path, path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    # run where no sensorback lies (python -c puts the working directory first on sys.path)
    res = subprocess.run([sys.executable, "-c", _CHILD, str(path)], env=env, cwd=path.parent, capture_output=True,
                         text=True, check=False)
    report = [line for line in res.stdout.splitlines() if line.startswith("@@")]
    if res.returncode != 0 or not report:
        raise RuntimeError(f"read_csv failed in {checkout}:\n{res.stderr}")
    r = json.loads(report[-1][2:])
    if Path(r["where"]).resolve() != (checkout / "sensorback").resolve():
        raise RuntimeError(f"ran the sensorback in {r['where']}, not the one in {checkout}")
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", default="6", help="comma-separated durations in hours, e.g. 6,48 (default 6)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--damaged", action="store_true", help="also the recording cut short, and a file of one "
                    "endless line (alone and after a header)")
    add_side_by_side_options(ap)
    args = ap.parse_args()

    checkouts = side_by_side(REPO, args.against)

    rows = []
    with tempfile.TemporaryDirectory(prefix="sensorback-csvbench-") as d:
        for hours in (float(h) for h in args.hours.split(",")):
            files = write_recording(Path(d), hours, args.seed)
            if args.damaged:
                files = (*files, *write_damaged(Path(d), *files))
            n = None
            for path in files:
                best: dict[str, dict] = {}
                for _ in range(args.reps):
                    for name, checkout in checkouts:
                        r = read(checkout, path)
                        if name not in best or r["wall"] < best[name]["wall"]:
                            best[name] = r
                if path.name == files[0].name:
                    n = best["this"]["n"]
                    rows.append([f"{hours:g} h", f"{n:,} samples", "the arrays read_csv returns", "", "", "",
                                 f"{n * 20 / 1e6:.0f}", "", "", "1.0", ""])
                same = ""
                if len(best) == 2:
                    same = "yes" if best["this"]["digest"] == best["against"]["digest"] else "NO"
                for name, checkout in checkouts:
                    r = best[name]
                    cost = r["peak"] - r["imports"]
                    what = path.name.split(".", 1)[1] if path.name.startswith("desk-") else path.name
                    if "-cut." in path.name:
                        what = "cut at 2/3: " + path.name.split("-cut.", 1)[1]
                    got = (f"{cost / (n * 20):.1f}" if r["n"] == n else f"{r['n']:,} samples") if r["n"] \
                        else r["digest"][:60] + "..."
                    rows.append([f"{hours:g} h", f"{what} {path.stat().st_size / 1e6:.0f} MB",
                                 f"{name}: {checkout}", f"{r['wall']:.2f}", f"{r['imports'] / 1e6:.0f}",
                                 f"{r['peak'] / 1e6:.0f}", f"{cost / 1e6:.0f}", f"{r['vm'] / 1e6:,.0f}",
                                 f"{r['traced'] / 1e6:,.0f}", got, same])
            for f in Path(d).iterdir():
                f.unlink()
    print(f"## read_csv of `sensorback simulate --scenario desk-day --seed {args.seed}` at 50 Hz, a fresh process "
          f"per read{f' (fastest of {args.reps})' if args.reps > 1 else ''}")
    table(["duration", "file", "code", "read s", "after imports MB", "peak RSS MB", "read MB", "read VM MB",
           "traced MB", "x arrays (or what was read)", "same"], rows)
    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
