"""Learning the sensor's offset and gain live: how right the live path is with and without it.

    python benchmarks/live_sensor.py [--seeds 0-4] [--speed 5000]

Each seed's simulated desk-day (8 h; the simulator's sensor has offsets of 30-80 mg and gains
2-5 % off on every axis, sensorback/sim/imu.py) is played by the demo source into a
``LiveSession``, the object ``sensorback monitor --demo`` drives, as fast as the source goes
(``--speed``: blocks of speed x 0.02 s of samples), with a calibration store of its own:

* ``live, off``: sensor learning off (``sensor_learning=False``): the provisional calibration's
  sensor correction for the whole day, i.e. none (30 s are too few still epochs to fit);
* ``live, on``: learning on (every ``LEARN_SENSOR_EVERY_S``, core.learn_sensor);
* ``live, next``: the same day again, as the device's next session: it starts with the sensor
  correction the first one saved (and keeps learning);
* ``analyze``: the whole recording at once (``sensorback analyze``: the sphere fit on all of it
  before anything is decided), the best the fit can do.

Scored against the simulator's labels (benchmarks/accuracy.py ``score``: epochs covered entirely
by one label, transitions left out, sitting includes slouching): epoch accuracy, sitting vs
standing balanced accuracy, slouch F1. Also: how many times the sensor correction was switched,
when the first switch came (minutes of samples), and the still epochs kept for the fit and their
memory (core.personal.StillMeans, capped at STILL_KEEP).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table  # noqa: E402
from accuracy import epoch_truth, score  # noqa: E402

from sensorback.core import CoreOptions, EpochTable, analyze  # noqa: E402
from sensorback.core.personal import STILL_KEEP  # noqa: E402
from sensorback.live import LEARN_SENSOR_EVERY_S, CalibrationStore, LiveSession  # noqa: E402
from sensorback.sim import simulate, write_labels  # noqa: E402
from sensorback.sources.demo import DemoSource  # noqa: E402

SCENARIO = "desk-day"


def seeds_arg(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-", 1)
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in text.split(",")]


def live(seed: int, speed: float, store: CalibrationStore, learning: bool) -> dict:
    """One live session of the seed's desk day: its settled epochs and what it learned."""
    session = LiveSession(DemoSource(SCENARIO, speed=speed, seed=seed), device_key="demo", calibrations=store,
                          sensor_learning=learning)
    parts, switches = [], []
    session.subscribe(lambda e: parts.append(e.data) if e.kind == "epochs" else None)
    session.subscribe(lambda e: switches.append(e.t)
                      if e.kind == "calibration" and e.text.startswith("sensor offset") else None)
    asyncio.run(session.run())
    still = session.still
    return {"epochs": EpochTable.concat(parts), "switches": switches, "kept": len(still) if still else 0,
            "bytes": still.nbytes if still else 0, "stride": still.stride if still else 0,
            "sensor": session.calibration.sensor}


def scored(epochs: EpochTable, truth: np.ndarray, epoch_s: float):
    k = np.round(epochs.t_start / epoch_s).astype(np.int64)
    ok = (k >= 0) & (k < truth.shape[0])
    return score(truth[k[ok]], epochs.state[ok])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-4", help="seeds of the desk day: 0-4 or 0,3,7 (default 0-4)")
    ap.add_argument("--speed", type=float, default=5000.0, help="demo source speed (default 5000)")
    args = ap.parse_args(argv)
    options = CoreOptions()
    rows, summary = [], {c: [] for c in ("live, off", "live, on", "live, next", "analyze")}
    print(f"# live sensor learning: {SCENARIO}, seeds {args.seeds}, refit every {LEARN_SENSOR_EVERY_S:g} s of "
          f"samples, demo source at {args.speed:g}x\n")
    for seed in seeds_arg(args.seeds):
        block, labels = simulate(SCENARIO, seed=seed)
        imu = block.meta["sim"]["imu"]
        with tempfile.TemporaryDirectory() as d:
            lp = Path(d) / "labels.csv"
            write_labels(labels, lp)
            truth = epoch_truth(lp, int(np.ceil(block.duration_s / options.epoch_s)) + 1, options.epoch_s)
            store = CalibrationStore(Path(d) / "calibrations.json")
            runs = {"live, off": live(seed, args.speed, CalibrationStore(Path(d) / "none.json"), False),
                    "live, on": live(seed, args.speed, store, True),
                    "live, next": live(seed, args.speed, store, True)}
        batch = analyze(block, options)
        runs["analyze"] = {"epochs": batch.epochs, "switches": None, "kept": None, "bytes": None, "stride": None,
                           "sensor": batch.calibration.sensor}
        del block
        off = "/".join(f"{1000 * v:+.0f}" for v in imu["offset_g"])
        gain = "/".join(f"{1 / v:.3f}" for v in imu["gain"])
        print(f"seed {seed}: simulated sensor offset {off} mg, correcting gain {gain}")
        for case, r in runs.items():
            s = scored(r["epochs"], truth, options.epoch_s)
            summary[case].append(s)
            sw = r["switches"]
            first = "-" if not sw else f"{sw[0] / 60:.0f}"
            sensor = r["sensor"]
            rows.append([seed, case, f"{s.epoch_acc:.3f}", f"{s.sit_stand_ba:.3f}", f"{s.slouch_f1:.3f}",
                         "-" if sw is None else len(sw), first,
                         "-" if r["kept"] is None else f"{r['kept']:,} (1/{r['stride']})",
                         "-" if r["bytes"] is None else f"{r['bytes'] / 1024:.0f}",
                         "/".join(f"{1000 * v:+.0f}" for v in sensor.offset),
                         "/".join(f"{v:.3f}" for v in sensor.gain)])
    print()
    table(["seed", "case", "epoch acc", "sit/stand BA", "slouch F1", "switches", "first (min)",
           "still kept", "KiB", "offset (mg)", "gain"], rows)
    mean_rows = []
    for case, scores in summary.items():
        acc = np.array([s.epoch_acc for s in scores])
        ba = np.array([s.sit_stand_ba for s in scores])
        f1 = np.array([s.slouch_f1 for s in scores])
        mean_rows.append([case, f"{acc.mean():.3f}", f"{acc.min():.3f}", f"{ba.mean():.3f}", f"{ba.min():.3f}",
                          f"{np.nanmean(f1):.3f}"])
    table(["case", "epoch acc mean", "worst", "sit/stand BA mean", "worst", "slouch F1 mean"], mean_rows)
    print(f"still epochs kept for the fit: at most {STILL_KEEP:,} (28 bytes each: "
          f"{STILL_KEEP * 28 / 1024:.0f} KiB), thinned evenly past that")
    return 0


if __name__ == "__main__":
    sys.exit(main())
