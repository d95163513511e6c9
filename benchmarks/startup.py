"""How quickly the command line starts, against what it cannot beat.

    python benchmarks/startup.py              # 15 rounds
    python benchmarks/startup.py --rounds 30

Each figure is a whole process, started with subprocess and timed from outside (wall time), in
rounds: every round runs each command once, in turn, so a busy machine slows all of them alike.
Printed per command: the minimum and median over the rounds; per bar: the median of the ratios
taken round by round, and the load average before and after.

The bars (issue 12):

- ``sensorback --help`` within 2x of a bare typer app with two commands printing its own --help
  (the price of typer, click and Python itself);
- ``sensorback analyze`` of a 12-minute recording (recordings/demo.sbr) within 1.5x of the same
  analysis done by a plain script: Python started, the modules the analysis needs imported, the
  file loaded, analysed and summarised (``IN_PROCESS`` below) - what is left is the command
  line's own cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import table  # noqa: E402

DEMO = REPO / "recordings" / "demo.sbr"

BARE_TYPER = """
import typer
app = typer.Typer(help="A bare app with two commands.")
@app.command()
def first(name: str = typer.Option("x", help="A name.")) -> None:
    "The first command."
@app.command()
def second(path: str = typer.Argument(..., help="A path.")) -> None:
    "The second command."
app()
"""

IN_PROCESS = """
import sys
from sensorback import formats
from sensorback.core import analyze
from sensorback.summary import format_summary, summarize
block = formats.load(sys.argv[1])
result = analyze(block)
print(format_summary(summarize(result.epochs), title=sys.argv[1]))
for note in result.notes:
    print(" ", note)
"""


def sensorback_cmd() -> list[str]:
    """The installed console script next to this Python, else python -m sensorback.cli."""
    script = Path(sys.executable).with_name("sensorback")
    if script.exists():
        return [str(script)]
    found = shutil.which("sensorback")
    return [found] if found else [sys.executable, "-m", "sensorback.cli"]


def run_once(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.decode()[-500:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()

    sb = sensorback_cmd()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "bare typer app --help": [sys.executable, "-c", BARE_TYPER, "--help"],
        "sensorback --help": sb + ["--help"],
        "analysis in a plain script": [sys.executable, "-c", IN_PROCESS, str(DEMO)],
        "sensorback analyze demo.sbr": sb + ["analyze", str(DEMO)],
    }
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", COLUMNS="100")
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    for cmd in commands.values():  # warm the page cache and the bytecode caches
        run_once(cmd, env)
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, cmd in commands.items():
            times[name].append(run_once(cmd, env))
    load_after = os.getloadavg()

    print(f"# start-up: {args.rounds} rounds, each command once per round; {' '.join(sb)}")
    print(f"# load average before {load_before[0]:.2f} {load_before[1]:.2f}, after {load_after[0]:.2f} "
          f"{load_after[1]:.2f} (1 and 5 min), {os.cpu_count()} CPUs\n")
    table(["command", "min s", "median s"],
          [[name, f"{min(t):.3f}", f"{statistics.median(t):.3f}"] for name, t in times.items()])

    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(times[a], times[b]))

    rows = [
        ["sensorback --help / bare typer app --help", f"{ratio('sensorback --help', 'bare typer app --help'):.2f}",
         "2.00"],
        ["sensorback analyze / plain-script analysis",
         f"{ratio('sensorback analyze demo.sbr', 'analysis in a plain script'):.2f}", "1.50"],
    ]
    table(["ratio (median of per-round ratios)", "measured", "bar"], rows)


if __name__ == "__main__":
    main()
