"""Streaming: feed blocks of any size, get each epoch as soon as it is complete.

The processor keeps only what the windows need (a few seconds of samples and epoch SDs) plus
the decision carry, so memory stays bounded however long the stream runs. Its output is
identical to analysing all the samples at once with the same calibration.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..samples import SampleBlock
from .decide import Calibration, Decider
from .calibration import IDENTITY, SensorCalibration
from .epoch_stats import EpochStats, WindowSettings, add_transitions, epoch_boundaries, epoch_index, measure_epochs
from .epochs import EpochTable
from .options import CoreOptions
from .stretches import pieces, sample_cuts


def window_settings(options: CoreOptions, rate_hz: float) -> WindowSettings:
    return WindowSettings(options.epoch_s, rate_hz, options.cadence_window_s, options.transition_window_s)


def first_sample_of(t: np.ndarray, k: int, settings: WindowSettings) -> int:
    """Index of the first sample in epoch k or later, by the same rule that assigns epochs."""
    if t.shape[0] == 0 or int(epoch_index(t[:1], settings.epoch_s)[0]) >= k:
        return 0
    if int(epoch_index(t[-1:], settings.epoch_s)[0]) < k:
        return int(t.shape[0])
    return int(epoch_boundaries(t, np.array([k]), settings)[0])


class StatsStream:
    """Samples in, EpochStats of completed epochs out.

    With sensor=None the transition measures are not computed (a first pass that only collects
    what the calibration needs).
    """

    def __init__(self, settings: WindowSettings, sensor: SensorCalibration | None = IDENTITY):
        self.settings = settings
        self.sensor = sensor
        self._t = np.zeros(0)
        self._acc = np.zeros((0, 3), np.float32)
        self._hist = 0  # samples at the front of the buffer that are history only
        self._prev_k = np.zeros(0, np.int64)
        self._prev_sd = np.zeros(0)
        self._last_t = -np.inf

    def feed(self, t: np.ndarray, acc: np.ndarray) -> EpochStats:
        if t.shape[0] == 0:
            return EpochStats.concat([])
        cuts = sample_cuts(t, self._last_t if np.isfinite(self._last_t) else None)
        if not cuts:
            return self._feed(t, acc)
        parts = []
        for a, b, new_stretch in pieces(t.shape[0], cuts):
            if new_stretch:  # a long gap (core/stretches.py): the stretch before it is complete
                parts.append(self.finish())
                self._t, self._acc, self._hist = self._t[:0], self._acc[:0], 0
                self._prev_k, self._prev_sd = self._prev_k[:0], self._prev_sd[:0]
            parts.append(self._feed(t[a:b], acc[a:b]))
        return EpochStats.concat(parts)

    def _feed(self, t: np.ndarray, acc: np.ndarray) -> EpochStats:
        # The epoch of the newest sample may still grow; everything before it is complete.
        last_epoch = int(epoch_index(t[-1:], self.settings.epoch_s)[0])
        # All new samples in the epoch of the buffer's newest one (a live block of a few samples):
        # no epoch completed, and that epoch's first sample is at or before the history mark
        # (_emit leaves it there), so the cut below would emit nothing; skip finding it.
        same_epoch = (self._t.shape[0] > 0 and float(t[0]) >= float(self._t[-1])
                      and int(epoch_index(self._t[-1:], self.settings.epoch_s)[0]) == last_epoch)
        self._t = np.concatenate([self._t, t])
        self._acc = np.concatenate([self._acc, np.asarray(acc, np.float32)])
        self._last_t = float(t[-1])
        if same_epoch:
            return EpochStats.concat([])
        cut = first_sample_of(self._t, last_epoch, self.settings)
        return self._emit(cut)

    def finish(self) -> EpochStats:
        return self._emit(self._t.shape[0])

    def _emit(self, cut: int) -> EpochStats:
        if cut <= self._hist:
            return EpochStats.concat([])
        s = self.settings
        layout, stats = measure_epochs(self._t[:cut], self._acc[:cut], s, self._hist)
        if self.sensor is not None:
            add_transitions(layout, stats, self.sensor.offset, self.sensor.gain, self._prev_k, self._prev_sd)
        span = s.epochs_in(s.transition_window_s)
        self._prev_k = np.concatenate([self._prev_k, stats.k])[-span:]
        self._prev_sd = np.concatenate([self._prev_sd, stats.sd])[-span:]
        # Keep the samples the next windows can reach back to (whole epochs, with one spare
        # epoch), plus the one sample just before them for interpolation.
        next_k = int(epoch_index(self._t[cut - 1 : cut], s.epoch_s)[0]) + 1
        first_keep = first_sample_of(self._t, next_k - s.history_epochs - 1, s)
        first_keep = max(0, min(first_keep - 1, cut))
        self._t, self._acc = self._t[first_keep:], self._acc[first_keep:]
        self._hist = cut - first_keep
        return stats


_NOTHING = EpochTable.empty()


class StreamProcessor:
    """Blocks of samples in, EpochTables out, with a fixed calibration.

    feed() only queues a block (a few microseconds) until max_delay_s of samples are waiting,
    then processes them together: epochs come out at most max_delay_s plus one epoch after their
    last sample arrived, plus the settling hold (core/settle.py: while a sensor that was just
    handled lies still, up to 19 epochs at 50 Hz and above, 149 at 10 Hz; two after a sit-down;
    after a stand-up, until its report is final, up to about 17 s; an epoch the smoother has not
    decided, at most 150 s; `max_hold_epochs`). A live monitor uses a delay of one epoch; a replay can
    use minutes to run far faster than real time. The epochs are identical whatever the delay or
    block sizes.

    on_stats, when set, is called with the epoch statistics of every batch before they are
    decided (a live session learns the wearer's forward direction from them), so nobody has to
    measure the same samples a second time.
    """

    def __init__(self, options: CoreOptions, calibration: Calibration, rate_hz: float,
                 max_delay_s: float | None = None):
        self.options = options
        self.calibration = calibration
        self.max_delay_s = options.epoch_s if max_delay_s is None else max(0.0, float(max_delay_s))
        self._stats = StatsStream(window_settings(options, rate_hz), calibration.sensor)
        self._decider = Decider(options, calibration, rate_hz)
        self._queue_t: list[np.ndarray] = []
        self._queue_a: list[np.ndarray] = []
        self._queued_from: float | None = None
        self.on_stats: Callable[[EpochStats], None] | None = None

    def feed(self, block: SampleBlock) -> EpochTable:
        t = block.t
        if t.shape[0] == 0:
            return _NOTHING
        self._queue_t.append(t)
        self._queue_a.append(block.acc)
        if self._queued_from is None:
            self._queued_from = float(t[0])
        if float(t[-1]) - self._queued_from < self.max_delay_s:
            return _NOTHING
        return self._run()

    def change_reference(self, calibration: Calibration) -> EpochTable:
        """Use another wearer reference (upright/forward) from the next epoch on, keeping the
        sensor calibration, every window's samples and the decisions' memory: epochs complete
        so far are processed with the old one and returned, held ones as they stand (they
        belong with the old reference); nothing is dropped or reset."""
        if calibration.sensor != self.calibration.sensor:
            raise ValueError("change_reference keeps the sensor calibration; change_sensor changes it")
        done = self.close()
        self.calibration = calibration
        self._decider.calibration = calibration
        return done

    def change_sensor(self, calibration: Calibration) -> EpochTable:
        """Use another sensor correction (offset/gain; its reference re-expressed under it,
        Calibration.with_sensor) from the next epoch on, as change_reference does for a
        reference: the epochs complete so far are processed with the old one and returned, held
        ones as they stand. The samples kept for the windows are raw, so the next transition
        windows are corrected with the new one throughout; the decisions keep their memory,
        re-expressed under it (Decider.change_sensor). Nothing is dropped or reset."""
        done = self.close()
        self.calibration = calibration
        self._stats.sensor = calibration.sensor
        self._decider.change_sensor(calibration)
        return done

    def tell_seated(self, t0_s: float, t1_s: float) -> int:
        """The wearer sat from t0_s to t1_s (sample time): Decider.tell_seated. Samples queued or
        not yet complete are not decided yet, so a window told before its epochs come out gives
        the same epochs as CoreOptions.reference_window does in a batch analysis. Returns how
        many epochs of it are still to be decided."""
        return self._decider.tell_seated(t0_s, t1_s)

    def tell_standing(self, t0_s: float, t1_s: float) -> int:
        """The wearer stood from t0_s to t1_s (sample time): Decider.tell_standing."""
        return self._decider.tell_standing(t0_s, t1_s)

    def flush(self) -> EpochTable:
        """Process whatever is queued now (epochs still incomplete stay pending, and so do
        settled-later ones, see `pending`)."""
        return self._run() if self._queue_t else EpochTable.empty()

    @property
    def pending(self) -> EpochTable:
        """Epochs decided but held back because a later epoch may still change their state
        (core/settle.py; at most `max_hold_epochs`). A live display shows these as provisional."""
        return self._decider.pending

    @property
    def max_hold_epochs(self) -> int:
        """The most epochs `pending` can ever hold at this rate (19 at 50 Hz and above)."""
        return self._decider.max_hold_epochs

    def close(self) -> EpochTable:
        """Stop here without the last, incomplete epoch: whatever is complete, and every held
        epoch as it stands (Ctrl-C, a new calibration). Nothing decided is lost."""
        return EpochTable.concat([self.flush(), self._decider.release()])

    def finish(self) -> EpochTable:
        """End of stream: everything, including the last partial epoch."""
        head = self.flush()
        return EpochTable.concat([head, self._decide(self._stats.finish()), self._decider.release()])

    def _run(self) -> EpochTable:
        t = self._queue_t[0] if len(self._queue_t) == 1 else np.concatenate(self._queue_t)
        a = self._queue_a[0] if len(self._queue_a) == 1 else np.concatenate(self._queue_a)
        self._queue_t, self._queue_a, self._queued_from = [], [], None
        return self._decide(self._stats.feed(t, a))

    def _decide(self, stats: EpochStats) -> EpochTable:
        if self.on_stats is not None and len(stats):
            self.on_stats(stats)
        return self._decider.process(stats)
