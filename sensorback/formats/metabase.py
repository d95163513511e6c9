"""MetaWear/MetaBase CSV exports (mbientlab): samples that share one timestamp per Bluetooth packet.

MetaBase writes ``epoch (ms),time (-04:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)`` (older
versions ``epoc (ms),timestamp (-0800),...``). The sensor packs up to three samples into one
Bluetooth packet and the app stamps all of them with the packet's time, so runs of two or three
rows share a timestamp but not their values (seen in mbientlab's own test exports). Those runs are
not conflicting duplicates: their samples are spread evenly over the time to the next packet,
with a note. Other files keep the strict rule (a repeated time with other values is an error).
"""

from __future__ import annotations

import numpy as np

from .csv_columns import split_name
from .notes import LoadNotes

_TIME_BASES = {"epoch", "epoc"}
MAX_PACKET = 4  # samples per packet: 3 for the accelerometer (a fourth for slack)


def is_metabase(names: list[str]) -> bool:
    bases = {split_name(n)[0] for n in names}
    return bool(bases & _TIME_BASES) and "elapsed" in bases and {"xaxis", "yaxis", "zaxis"} <= bases


def spread_packets(table, notes: LoadNotes) -> np.ndarray:
    """The table's raw time column, with MetaBase's packet runs spread out (file units)."""
    t = table.time
    if t is None or t.shape[0] < 3 or not is_metabase(table.cols.names):
        return t
    same = t[1:] == t[:-1]
    if not same.any():
        return t
    starts = np.flatnonzero(np.r_[True, ~same])  # first row of each run of equal times
    lengths = np.diff(np.r_[starts, t.shape[0]])
    if lengths.max() > MAX_PACKET or not (np.diff(t[starts]) > 0).all():
        return t  # not packets: leave it to validation, which names the line
    nxt = np.r_[t[starts[1:]], np.nan]
    step = float(np.median(np.diff(t[starts]) / lengths[:-1])) if starts.size > 1 else 0.0
    nxt[-1] = t[starts[-1]] + step * lengths[-1]
    run = np.repeat(np.arange(starts.size), lengths)
    within = np.arange(t.shape[0]) - starts[run]
    spread = t[starts[run]] + within * (nxt[run] - t[starts[run]]) / lengths[run]
    shared = int(lengths[lengths > 1].sum())
    notes.add(f"MetaBase export: {shared} samples share their timestamp with others (the sensor sends up to "
              f"{MAX_PACKET - 1} per Bluetooth packet); spread evenly over the time to the next packet")
    return spread
