"""sensorback's .cwa reader against a peer reader on the same files: samples, times, failures, speed.

    pip install cwa-reader-rs          # the peer (MIT, Rust); not a sensorback dependency
    python benchmarks/cohort_peers.py [FILE.cwa ...]

Default files: the GGIRread test files in tests/data, and OxWearables' tiny-sample.cwa.gz if it is at
$SENSORBACK_TINY_CWA (not committed: academic-use licence). A .gz is decompressed to a temporary file
for the peer, which reads only plain .cwa. Times are compared on the device clock (both readers
interpolate between block timestamps); acceleration in g. See benchmarks/README.md.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _common import table  # noqa: E402

from sensorback.formats.cwa import read_cwa  # noqa: E402


def ours(path: Path):
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = read_cwa(path)
    return time.perf_counter() - t0, b, len(caught)


def peer(path: Path):
    import cwa_reader_rs

    plain = path
    tmp = None
    if path.name.lower().endswith(".gz"):
        tmp = tempfile.NamedTemporaryFile(suffix=".cwa", delete=False)
        with gzip.open(path, "rb") as src:
            shutil.copyfileobj(src, tmp)
        tmp.close()
        plain = Path(tmp.name)
    try:
        t0 = time.perf_counter()
        df = cwa_reader_rs.read_cwa_file(str(plain), include_temperature=False, include_light=False,
                                         include_battery=False, include_magnetometer=False)
        return time.perf_counter() - t0, df, None
    except Exception as e:  # the peer's failure is a result here
        return None, None, " ".join(str(e).split())
    finally:
        if tmp is not None:
            os.unlink(tmp.name)


def main() -> None:
    files = [Path(p) for p in sys.argv[1:]] or sorted((REPO / "tests" / "data").glob("*.cwa"))
    tiny = os.environ.get("SENSORBACK_TINY_CWA")
    if not sys.argv[1:] and tiny and Path(tiny).exists():
        files.append(Path(tiny))
    rows = []
    for f in files:
        s_ours, b, warned = ours(f)
        s_peer, df, err = peer(f)
        if df is None:
            rows.append([f.name, len(b), f"{s_ours:.2f}", warned, "failed: " + err[:60], "-", "-", "-"])
            continue
        acc = df[["acc_x", "acc_y", "acc_z"]].to_numpy(np.float64)
        t_peer = (df.index.to_numpy().astype("datetime64[ns]").astype(np.int64) / 1e9)
        same_n = len(acc) == len(b)
        d_acc = f"{np.abs(acc - b.acc).max():.2g}" if same_n else "-"
        d_t = f"{np.abs(t_peer - (b.start_time + b.t)).max() * 1000:.2f}" if same_n else "-"
        rows.append([f.name, len(b), f"{s_ours:.2f}", warned, len(acc), f"{s_peer:.2f}", d_acc, d_t])
    table(["file", "sensorback samples", "s", "warnings", "cwa-reader-rs samples", "s", "max |acc diff| g",
           "max |t diff| ms"], rows)


if __name__ == "__main__":
    main()
