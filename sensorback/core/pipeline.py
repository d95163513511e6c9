"""Batch analysis: statistics of all epochs, calibration from them, then the same decisions
a streaming processor makes.

Calibration (offset/gain, upright, forward) is estimated from the whole recording unless the
caller supplies it; with the same calibration, StreamProcessor gives identical epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from ..errors import SensorbackError
from ..samples import SampleBlock
from .calibration import IDENTITY, SensorCalibration, fit_sphere
from .decide import Calibration, Decider, is_walking, transition_events
from .epoch_stats import EpochStats, add_transitions, measure_epochs
from .epochs import EpochTable
from .options import CoreOptions
from .reference import (Reference, estimate_forward, estimate_up, forward_from_transitions, forward_from_window,
                        unit, window_direction)
from .stream import StatsStream, window_settings


@dataclass
class Analysis:
    epochs: EpochTable
    calibration: Calibration
    notes: list[str] = field(default_factory=list)


def options_span(options: CoreOptions) -> int:
    return max(1, int(round(options.transition_window_s / options.epoch_s)))


def block_stats(block: SampleBlock, options: CoreOptions, sensor: SensorCalibration | None = None
                ) -> tuple[EpochStats, SensorCalibration]:
    """All epoch statistics of a block; the sensor calibration is fitted here unless given."""
    layout, stats = measure_epochs(block.t, block.acc, window_settings(options, block.rate_hz))
    if sensor is None:
        sensor = fit_sphere(stats.mean, stats.sd) if len(stats) else IDENTITY
    add_transitions(layout, stats, sensor.offset, sensor.gain)
    return stats, sensor


def estimate_calibration(stats: EpochStats, options: CoreOptions, sensor: SensorCalibration,
                         source: str = "recording") -> tuple[Calibration, list[str]]:
    """Wearer reference (upright, forward) from a recording's epoch statistics."""
    notes: list[str] = []
    notes.append(f"sensor calibration: {sensor.note}")
    stuck = stuck_note(stats, options)
    if stuck:
        notes.append(stuck)
    mean, var = sensor.apply_mean_var(stats.mean, stats.var)
    g = unit(mean)
    sd = np.sqrt(var[:, 0] + var[:, 1] + var[:, 2])
    mid = (stats.k + 0.5) * options.epoch_s
    walking = is_walking(stats.periodicity, stats.cadence_spm, sd)
    quiet = sd < 0.05

    if options.reference_window is not None:
        up = window_direction(g, mid, options.reference_window)
        if up is None:
            a, b = options.reference_window
            raise SensorbackError(f"--reference-window {a:g}:{b:g}: no samples in that window of the {source}")
        up_source = f"window {options.reference_window[0]:g}:{options.reference_window[1]:g} s"
    else:
        provisional, _ = estimate_up(g, walking, quiet)
        upright_ish = quiet & (g @ provisional > np.cos(np.radians(45)))
        up, up_source = estimate_up(g, walking, upright_ish)
    if options.forward_window is not None:
        lean = window_direction(g, mid, options.forward_window)
        a, b = options.forward_window
        if lean is None:
            raise SensorbackError(f"--forward-window {a:g}:{b:g}: no samples in that window of the {source}")
        fwd = forward_from_window(lean, up)
        if fwd is None:
            raise SensorbackError(f"--forward-window {a:g}:{b:g}: the trunk is not leaning there (less than 8 degrees from upright)")
        fwd_source = f"window {a:g}:{b:g} s"
    else:
        events = transition_events(stats)
        span = options_span(options)
        found = forward_from_transitions(g, up, stats.k, events, span)
        if found is not None:
            fwd, count = found
            fwd_source = f"leans during {count} sit/stand transitions"
        else:
            pool = quiet & (g @ up > np.cos(np.radians(options.lying_deg)))
            fwd, fwd_source = estimate_forward(g, up, pool)
    notes.append(f"upright reference: {up_source}; forward: {fwd_source}")
    ref = Reference(tuple(map(float, up)), tuple(map(float, fwd)), up_source, fwd_source)
    return Calibration(sensor, ref), notes


def stuck_note(stats: EpochStats, options: CoreOptions) -> str | None:
    """A warning when epochs read exactly (0, 0, 0) throughout (a stuck sensor), else None."""
    count = int(np.count_nonzero(stats.n == 0))
    if not count:
        return None
    share = count / max(len(stats), 1)
    return (f"sensor fault: {count * options.epoch_s / 60:.1f} min ({share:.0%} of the epochs with samples) read "
            "exactly (0, 0, 0), which no working accelerometer does: counted as no data, left out of "
            "the calibration")


def learn_forward(stats: EpochStats, options: CoreOptions, calibration: Calibration
                  ) -> tuple[Calibration, int] | None:
    """The calibration with its forward direction taken from the leans of the sit/stand
    transitions in `stats` (as estimate_calibration finds it for a whole recording), keeping the
    sensor and upright; with the number of transition epochs used. None while there are too few.

    For a live session that started without a stored calibration: its first estimate cannot tell
    forward from backward until the wearer has sat down or stood up.
    """
    if len(stats) == 0:
        return None
    mean, _ = calibration.sensor.apply_mean_var(stats.mean, stats.var)
    up = np.asarray(calibration.reference.up, float)
    found = forward_from_transitions(unit(mean), up, stats.k, transition_events(stats), options_span(options))
    if found is None:
        return None
    fwd, count = found
    ref = Reference(calibration.reference.up, tuple(map(float, fwd)), calibration.reference.up_source,
                    f"leans during {count} sit/stand transitions")
    return Calibration(calibration.sensor, ref), count


def analyze(block: SampleBlock, options: CoreOptions = CoreOptions(), calibration: Calibration | None = None) -> Analysis:
    """Epoch states for a whole recording held in memory.

    The block must hold valid samples (finite, strictly increasing times), as every source in
    sensorback guarantees; an empty block is a user error.
    """
    if len(block) == 0:
        raise SensorbackError("no samples to analyse")
    stats, sensor = block_stats(block, options, None if calibration is None else calibration.sensor)
    notes: list[str] = []
    if calibration is None:
        calibration, notes = estimate_calibration(stats, options, sensor)
    epochs = Decider(options, calibration, block.rate_hz).decide_all(stats)
    return Analysis(epochs, calibration, notes)


def calibrate_in_passes(rescan, options: CoreOptions) -> Calibration:
    """Calibration of a recording too big for memory, from two passes that keep only epoch
    statistics (a few dozen bytes per second): the first fits the sensor's offset/gain, the
    second measures transitions on corrected samples and finds the wearer's reference, exactly
    as analyze() does on the whole recording."""
    def stats_pass(sensor):
        parts, stream = [], None
        for b in rescan():
            stream = stream or StatsStream(window_settings(options, b.rate_hz), sensor=sensor)
            parts.append(stream.feed(b.t, b.acc))
        if stream is not None:
            parts.append(stream.finish())
        return EpochStats.concat(parts)

    first = stats_pass(None)
    sensor = fit_sphere(first.mean, first.sd) if len(first) else IDENTITY
    calibration, _ = estimate_calibration(stats_pass(sensor), options, sensor)
    return calibration


def iter_analyze(blocks: Iterable[SampleBlock], options: CoreOptions = CoreOptions(),
                 calibration: Calibration | None = None, rescan=None) -> Iterator[EpochTable]:
    """Analyse a recording too big for memory, chunk by chunk.

    Without a calibration, a first pass over `rescan()` (a callable returning the blocks again)
    collects only epoch statistics (a few dozen bytes per second) to estimate it.
    """
    if calibration is None:
        if rescan is None:
            raise ValueError("iter_analyze needs a calibration or a rescan callable")
        calibration = calibrate_in_passes(rescan, options)
    decider = None
    stream = None
    for b in blocks:
        if stream is None:
            stream = StatsStream(window_settings(options, b.rate_hz), calibration.sensor)
            decider = Decider(options, calibration, b.rate_hz)
        yield decider.process(stream.feed(b.t, b.acc))
    if stream is not None:
        yield decider.decide_all(stream.finish())
