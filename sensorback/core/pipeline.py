"""Batch analysis: statistics of all epochs, calibration from them, then the same decisions
a streaming processor makes.

Calibration (offset/gain, upright, forward, usual slouch) is estimated from the whole recording
unless the caller supplies it; with the same calibration, StreamProcessor gives identical epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from ..errors import SensorbackError
from ..samples import SampleBlock
from .calibration import IDENTITY, SensorCalibration, fit_sphere
from . import personal
from .decide import Decider
from .epoch_stats import EpochStats, add_transitions, measure_epochs
from .epochs import EpochTable
from .options import CoreOptions
from .reference import Calibration
from .stream import StatsStream, window_settings
from .stretches import pieces, sample_cuts


@dataclass
class Analysis:
    epochs: EpochTable
    calibration: Calibration
    notes: list[str] = field(default_factory=list)


def block_stats(block: SampleBlock, options: CoreOptions, sensor: SensorCalibration | None = None
                ) -> tuple[EpochStats, SensorCalibration]:
    """All epoch statistics of a block; the sensor calibration is fitted here unless given.

    Measured stretch by stretch (core/stretches.py), so that no buffer spans a long gap."""
    settings = window_settings(options, block.rate_hz)
    parts = pieces(len(block), sample_cuts(block.t)) or [(0, 0, False)]
    measured = [measure_epochs(block.t[a:b], block.acc[a:b], settings) for a, b, _ in parts]

    def joined() -> EpochStats:
        return measured[0][1] if len(measured) == 1 else EpochStats.concat([s for _, s in measured])

    if sensor is None:
        # fitted on the means and SDs, joined as joined() would (the other columns are joined once,
        # at the end)
        raw = [measured[0][1]] if len(measured) == 1 else [s for _, s in measured if len(s)]
        if not raw or not len(raw[0]):
            sensor = IDENTITY
        elif len(measured) == 1:
            sensor = fit_sphere(raw[0].mean, raw[0].sd, raw[0].n, options.min_samples(block.rate_hz))
        else:
            sensor = fit_sphere(np.concatenate([s.mean for s in raw]), np.concatenate([s.sd for s in raw]),
                                np.concatenate([s.n for s in raw]), options.min_samples(block.rate_hz))
    for layout, stats in measured:
        add_transitions(layout, stats, sensor.offset, sensor.gain)
    return joined(), sensor


def estimate_calibration(stats: EpochStats, options: CoreOptions, sensor: SensorCalibration,
                         source: str = "recording", rate_hz: float | None = None) -> tuple[Calibration, list[str]]:
    """The wearer's calibration from a recording's epoch statistics, as analyze() finds it:
    upright and forward (core/personal.py), and the usual slouch when the wearer's sitting shows
    it. rate_hz: the recording's sample rate (default: the typical samples per epoch)."""
    cal, notes, _ = estimate_and_decide(stats, options, sensor, rate_hz, source)
    return cal, notes


def estimate_and_decide(stats: EpochStats, options: CoreOptions, sensor: SensorCalibration,
                        rate_hz: float | None = None, source: str = "recording"
                        ) -> tuple[Calibration, list[str], EpochTable]:
    """estimate_calibration and the epochs decided with that calibration, in one go.

    The usual slouch is learned from the seated epochs (personal.learn_slouch), so the epochs
    are decided first and their sitting/slouching then judged by the learned line
    (personal.relabel): the same epochs as deciding with the final calibration from the start,
    without deciding twice."""
    if rate_hz is None:
        rate_hz = float(np.median(stats.n)) / options.epoch_s if len(stats) else 50.0
    cal, notes = personal.estimate(stats, options, sensor, source)
    epochs = Decider(options, cal, rate_hz).decide_all(stats)
    return _learn_slouch_line(epochs, options, cal, notes), notes, epochs


def _learn_slouch_line(epochs: EpochTable, options: CoreOptions, calibration: Calibration,
                       notes: list[str]) -> Calibration:
    """Unless a slouch threshold was given, the usual slouch learned from these decided epochs
    (personal.learn_slouch) and their sitting/slouching judged again by it, in place; the
    calibration that holds it (a note added when it changed)."""
    if options.slouch_threshold_deg is None:
        found = personal.learn_slouch(epochs, calibration)
        if found is not None:
            calibration, what = found
            personal.relabel(epochs, calibration.slouch_rule())
            notes.append(f"slouch line: {what}, so slouching counts from {calibration.slouch_rule().line_deg:.0f} deg")
    return calibration


def calibrate(block: SampleBlock, options: CoreOptions, sensor: SensorCalibration | None = None
              ) -> tuple[Calibration, list[str]]:
    """The calibration ``analyze(block, options)`` would use: sensor offset/gain and the wearer's
    upright, forward and usual slouch, estimated from the whole recording (or from the windows
    in ``options``). Returns it with the notes saying how it was found. ``sensor``: the offset
    and gain to use instead of fitting them (known from elsewhere: a live session's first
    seconds are too few to fit)."""
    if len(block) == 0:
        raise SensorbackError("no samples to analyse")
    stats, sensor = block_stats(block, options, sensor)
    return estimate_calibration(stats, options, sensor, rate_hz=block.rate_hz)


def analyze(block: SampleBlock, options: CoreOptions = CoreOptions(), calibration: Calibration | None = None) -> Analysis:
    """Epoch states for a whole recording held in memory.

    The block must hold valid samples (finite, strictly increasing times), as every source in
    sensorback guarantees; an empty block is a user error.
    """
    if len(block) == 0:
        raise SensorbackError("no samples to analyse")
    stats, sensor = block_stats(block, options, None if calibration is None else calibration.sensor)
    if calibration is None:
        calibration, notes, epochs = estimate_and_decide(stats, options, sensor, block.rate_hz)
        return Analysis(epochs, calibration, notes)
    return Analysis(Decider(options, calibration, block.rate_hz).decide_all(stats), calibration, [])


DECIDE_EPOCHS = 86_400


def _stats_pass(rescan, options: CoreOptions, sensor) -> tuple[EpochStats, float | None]:
    """Epoch statistics of every block of rescan() (and the first block's rate)."""
    parts, stream, rate = [], None, None
    for b in rescan():
        if stream is None:
            stream, rate = StatsStream(window_settings(options, b.rate_hz), sensor=sensor), b.rate_hz
        parts.append(stream.feed(b.t, b.acc))
    if stream is not None:
        parts.append(stream.finish())
    return EpochStats.concat(parts), rate


def _calibrated_stats(rescan, options: CoreOptions):
    first, rate = _stats_pass(rescan, options, None)
    sensor = fit_sphere(first.mean, first.sd, first.n, options.min_samples(rate)) if len(first) else IDENTITY
    del first  # a week's statistics are tens of MB: not kept through the second pass
    stats, rate = _stats_pass(rescan, options, sensor)
    calibration, notes = personal.estimate(stats, options, sensor)
    return stats, rate, calibration, notes


def calibrate_in_passes(rescan, options: CoreOptions) -> Calibration:
    """Calibration of a recording too big for memory, from two passes that keep only epoch
    statistics (a few dozen bytes per second): the first fits the sensor's offset/gain, the
    second measures transitions on corrected samples and finds the wearer's reference, exactly
    as analyze() does on the whole recording."""
    stats, rate, calibration, notes = _calibrated_stats(rescan, options)
    if options.slouch_threshold_deg is None and calibration.reference.forward_known and len(stats):
        # The usual slouch, learned from the seated epochs as analyze() does, deciding a day at a
        # time and keeping only those: a week of decided epochs would not fit the memory budget.
        rate_hz = rate if rate is not None else float(np.median(stats.n)) / options.epoch_s
        found = personal.learn_slouch(seated_epochs(stats, options, calibration, rate_hz), calibration)
        if found is not None:
            calibration = found[0]
    return calibration


def analyze_in_passes(rescan, options: CoreOptions = CoreOptions()) -> Analysis:
    """A recording too big for memory, analysed in the two passes of calibrate_in_passes: the
    decisions are made on the second pass's statistics (kept anyway for the calibration), so the
    samples are read twice, not three times as with iter_analyze(..., rescan=...), whose epochs
    these are (streaming equals batch). The usual slouch is learned from these epochs and their
    sitting/slouching judged again by it, as estimate_and_decide does for analyze()."""
    stats, rate, calibration, notes = _calibrated_stats(rescan, options)
    if rate is None:
        raise SensorbackError("no samples to analyse")
    # Decided a day of epochs at a time, as a stream would be: the working arrays stay that small.
    decider, parts, step = Decider(options, calibration, rate), [], DECIDE_EPOCHS
    for i in range(0, len(stats), step):
        parts.append(decider.process(stats.take(slice(i, i + step))))
    parts.append(decider.release())
    epochs = EpochTable.concat(parts)
    return Analysis(epochs, _learn_slouch_line(epochs, options, calibration, notes), notes)


def seated_epochs(stats: EpochStats, options: CoreOptions, calibration: Calibration, rate_hz: float) -> EpochTable:
    """The sitting and slouching epochs of these statistics, decided DECIDE_EPOCHS at a time."""
    from .states import SITTING, SLOUCHING

    decider = Decider(options, calibration, rate_hz)
    keep = []
    for i in range(0, len(stats), DECIDE_EPOCHS):
        for ep in (decider.process(stats.take(slice(i, i + DECIDE_EPOCHS))),
                   decider.release() if i + DECIDE_EPOCHS >= len(stats) else EpochTable.empty()):
            if len(ep):
                keep.append(ep.take((ep.state == SITTING) | (ep.state == SLOUCHING)))
    return EpochTable.concat(keep)


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
