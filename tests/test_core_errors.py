"""Every mistake a user can make in what they ask the core is a SensorbackError with one line.

The CLI prints such errors as a single `error: ...` line, so the message must be one line that
names the option at fault; anything else (a traceback) would be a bug.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from sensorback import formats
from sensorback.core import CoreOptions, EpochTable, analyze, iter_analyze
from sensorback.errors import SensorbackError
from sensorback.samples import SampleBlock
from sensorback.sim import simulate


@functools.lru_cache(maxsize=None)
def demo():
    return simulate("demo", seed=31, rate_hz=25.0, duration_s=720.0)


def row(labels, code: str, margin_s: float = 3.0) -> tuple[float, float]:
    for a, b, _, c in labels.rows():
        if c == code and b - a > 3 * margin_s:
            return a + margin_s, b - margin_s
    raise AssertionError(f"no {code} row")


def gap_row(labels) -> tuple[float, float]:
    for a, b, lab, _ in labels.rows():
        if lab == "no_data" and b - a > 6.0:
            return a + 2.0, b - 2.0
    raise AssertionError("no gap")


def bad_option_cases():
    block, labels = demo()
    end = float(block.t[-1])
    upright = row(labels, "sit_upright")
    return {
        "reference after the end": (CoreOptions(reference_window=(end + 100.0, end + 160.0)), "--reference-window"),
        "reference before the start": (CoreOptions(reference_window=(-500.0, -440.0)), "--reference-window"),
        "reference reversed": (CoreOptions(reference_window=(upright[1], upright[0])), "--reference-window"),
        "reference inside a BLE gap": (CoreOptions(reference_window=gap_row(labels)), "--reference-window"),
        "forward after the end": (CoreOptions(forward_window=(end + 10.0, end + 20.0)), "--forward-window"),
        "forward inside a BLE gap": (CoreOptions(forward_window=gap_row(labels)), "--forward-window"),
        "forward with no lean": (CoreOptions(reference_window=upright, forward_window=upright), "--forward-window"),
        "forward with no lean (auto upright)": (CoreOptions(forward_window=row(labels, "walk", 5.0)), "--forward-window"),
    }


CASES = list(bad_option_cases())


def check_message(err: SensorbackError, option: str) -> None:
    msg = str(err)
    assert msg and "\n" not in msg, repr(msg)
    assert option in msg, msg
    assert len(msg) < 300


@pytest.mark.parametrize("case", CASES)
def test_analyze_reports_bad_windows_as_one_line(case):
    options, option = bad_option_cases()[case]
    with pytest.raises(SensorbackError) as info:
        analyze(demo()[0], options)
    check_message(info.value, option)


def test_a_forward_window_with_no_lean_says_so():
    block, labels = demo()
    upright = row(labels, "sit_upright")
    with pytest.raises(SensorbackError, match="lean") as info:
        analyze(block, CoreOptions(reference_window=upright, forward_window=upright))
    check_message(info.value, "--forward-window")


@pytest.mark.parametrize("case", CASES)
def test_iter_analyze_reports_bad_windows_as_one_line(case, tmp_path):
    options, option = bad_option_cases()[case]
    path = tmp_path / "rec.sbr"
    formats.save(demo()[0], path)
    with pytest.raises(SensorbackError) as info:
        list(iter_analyze(formats.iter_blocks(path, chunk_samples=5000), options,
                          rescan=lambda: formats.iter_blocks(path, chunk_samples=3000)))
    check_message(info.value, option)


def test_good_windows_do_not_raise():
    """The cases above fail for the reason named, not because windows never work."""
    block, labels = demo()
    slouch = next((a + 5.0, b - 5.0) for a, b, lab, _ in labels.rows() if lab == "slouching")
    res = analyze(block, CoreOptions(reference_window=row(labels, "sit_upright"), forward_window=slouch))
    assert "window" in " ".join(res.notes)
    assert len(res.epochs) > 0


def test_a_window_on_a_recording_that_does_not_start_at_zero_uses_its_own_time_axis():
    block, labels = demo()
    later = SampleBlock(block.t + 10_000.0, block.acc, rate_hz=block.rate_hz)
    a, b = row(labels, "sit_upright")
    with pytest.raises(SensorbackError):
        analyze(later, CoreOptions(reference_window=(a, b)))
    res = analyze(later, CoreOptions(reference_window=(a + 10_000.0, b + 10_000.0)))
    assert isinstance(res.epochs, EpochTable) and np.isfinite(res.epochs.inclination_deg).any()


def test_a_window_shorter_than_an_epoch_uses_the_epoch_it_lies_in():
    """10:10.5 with 1 s epochs holds ~25 samples but no epoch's middle: it takes the epoch 10 to 11
    (it used to say 'no samples in that window')."""
    block, labels = demo()
    a = float(np.ceil(row(labels, "sit_upright")[0]))
    short = analyze(block, CoreOptions(reference_window=(a + 0.1, a + 0.5)))
    whole = analyze(block, CoreOptions(reference_window=(a, a + 1.0)))
    assert short.calibration.reference.up == whole.calibration.reference.up
    np.testing.assert_array_equal(short.epochs.inclination_deg, whole.epochs.inclination_deg)
