"""Peak memory and time of `sensorback simulate` as the recording gets longer, optionally side by
side with another checkout (e.g. the one before a change) and whether both wrote the same bytes.

    python benchmarks/simulate.py                          # desk-day, 1 h, 1 d and 7 d at 50 Hz
    python benchmarks/simulate.py --against /path/to/other/checkout
    python benchmarks/simulate.py --durations 1h,6h --scenario demo --rate 10 --reps 3

Each run is the command line itself (`python -m sensorback simulate ... --out FILE.sbr`) in a
fresh interpreter, so the figures are what a user gets: peak RSS is the process's VmHWM from
/proc/self/status read as it ends (interpreter, libraries and all), wall time is from starting
the process to its end. With --against, the two checkouts take turns on each case, so load from
other work on the machine falls on both; the files (recording and labels sidecar) are compared
by SHA-256. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from _common import add_side_by_side_options, side_by_side, table  # noqa: E402

# Runs the command line as `python -m sensorback` does, then reports the process's peak RSS (and
# which sensorback it ran).
_CHILD = """
import json, sys
from sensorback.cli.app import main
sys.argv = ["sensorback"] + sys.argv[1:]
code = 0
try:
    main()
except SystemExit as e:
    code = e.code or 0
peak = None
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        peak = int(line.split()[1]) * 1024
import os, sensorback
where = os.path.dirname(sensorback.__file__)
sys.stderr.write("\\n@@" + json.dumps({"code": code, "peak": peak, "where": where}) + "\\n")
"""

def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def run(checkout: Path, args, duration: str, out: Path) -> dict:
    cmd = [sys.executable, "-c", _CHILD, "simulate", "--scenario", args.scenario, "--duration", duration,
           "--seed", str(args.seed), "--rate", f"{args.rate:g}", "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(checkout))
    t0 = time.perf_counter()
    # run where no sensorback lies (python -c puts the working directory first on sys.path)
    res = subprocess.run(cmd, env=env, cwd=out.parent, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    report = [line for line in res.stderr.splitlines() if line.startswith("@@")]
    if res.returncode != 0 or not report or json.loads(report[-1][2:])["code"]:
        raise RuntimeError(f"simulate failed in {checkout}:\n{res.stderr}")
    peak = json.loads(report[-1][2:])["peak"]
    where = json.loads(report[-1][2:])["where"]
    if Path(where).resolve() != (checkout / "sensorback").resolve():
        raise RuntimeError(f"ran the sensorback in {where}, not the one in {checkout}")
    labels = out.with_name(out.name[: -len(".sbr")] + ".labels.csv")
    return {"wall": wall, "peak": peak, "size": out.stat().st_size,
            "hashes": (sha256(out), sha256(labels)), "files": (out, labels)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--durations", default="1h,1d,7d", help="comma-separated, e.g. 1h,1d,7d (default)")
    ap.add_argument("--scenario", default="desk-day")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rate", type=float, default=50.0)
    add_side_by_side_options(ap)
    args = ap.parse_args()

    checkouts = side_by_side(REPO, args.against)

    rows = []
    with tempfile.TemporaryDirectory(prefix="sensorback-simbench-") as d:
        for duration in args.durations.split(","):
            best: dict[str, dict] = {}
            for rep in range(args.reps):
                for name, path in checkouts:
                    out = Path(d) / f"{name}-{duration}-{rep}.sbr"
                    r = run(path, args, duration, out)
                    if name not in best or r["wall"] < best[name]["wall"]:
                        best[name] = r
            same = ""
            if len(best) == 2:
                same = "yes" if best["this"]["hashes"] == best["against"]["hashes"] else "NO"
            for name, _ in checkouts:
                r = best[name]
                rows.append([duration, name, f"{r['size'] / 1e6:.0f}", f"{r['wall']:.1f}", f"{r['peak'] / 1e6:.0f}", same])
            for f in Path(d).iterdir():
                f.unlink()
    print(f"## sensorback simulate --scenario {args.scenario} --seed {args.seed} --rate {args.rate:g}, a fresh "
          f"process per run{f' (fastest of {args.reps})' if args.reps > 1 else ''}")
    table(["duration", "checkout", "file MB", "wall s", "peak RSS MB", "same bytes"], rows)
    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
