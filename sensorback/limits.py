"""What sensorback accepts as a recording, and why: the one home of every input limit.

Each number is grounded in what real wearable accelerometers do (docs/limits.md has the table and
the measurements behind it). Readers, the command line and the core import them from here; nothing
else spells them out. Checks here raise one-line SensorbackErrors; they never print.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone

from .errors import SensorbackError

# --------------------------------------------------------------------------------- sample rate
#: Below this the posture states fall apart (real waist recording thinned to 2.5 Hz: 46 % of
#: epochs right, against 97 % at 50 Hz and 86 % at 5 Hz), and a rate this low almost always means
#: timestamps in another unit than seconds. No body-worn logger samples this slowly for posture.
MIN_RATE_HZ = 5.0
#: The core's timing rules were measured down to this rate; between MIN and this, a warning.
LOW_RATE_HZ = 10.0
#: The fastest output data rate of the MEMS accelerometers in wearables (ADXL345 and Axivity AX3
#: 3200 Hz, LIS3DH 5376 Hz in low-power mode). More means timestamps in another unit.
MAX_RATE_HZ = 6400.0

# ---------------------------------------------------------------------------------- epoch length
#: The core's rules (not-worn waits, settling holds, transition and cadence windows) count in 1 s
#: epochs. From 0.5 to 2 s they give the same picture (real and simulated recordings within a few
#: points of agreement with their labels); at 0.25 s or 3 s and beyond they do not.
MIN_EPOCH_S = 0.5
MAX_EPOCH_S = 2.0

# ----------------------------------------------------------------------------------------- gaps
#: A longer stretch without samples is not a Bluetooth dropout (seconds to a minute or two) but
#: the recording stopping: the sensor charged, taken home, the logger paused. The core then
#: starts afresh after the gap instead of filling it with empty epochs, and the gap is not
#: recorded time. (After 60 s without data the core's posture memory is reset anyway.)
MAX_GAP_S = 600.0

# ------------------------------------------------------------------------------------ durations
#: First to last sample. Loggers hold at most about 90 days (Axivity AX3 at 12.5 Hz; ActiGraph and
#: GENEActiv fewer at research rates); a longer span is a wrong timestamp or files run together.
MAX_DURATION_S = 100 * 86400.0
#: Times on a recording's own axis (seconds since its start, or a device's uptime counter).
MAX_TIME_S = 10 * 365.25 * 86400.0

# ---------------------------------------------------------------------------------------- dates
#: Wall-clock dates sensorback deals in: Unix-time columns are recognised, start times accepted
#: and report days asked for within [EARLIEST, LATEST). Earlier "timestamps" are uptime counters
#: or a clock that was never set.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 1, 1)
EARLIEST_UNIX = datetime(EARLIEST.year, 1, 1, tzinfo=timezone.utc).timestamp()
LATEST_UNIX = datetime(LATEST.year, 1, 1, tzinfo=timezone.utc).timestamp()

# ------------------------------------------------------------------------------------ CSV lines
#: No line of a CSV (header, row or comment) is this long (a header naming a hundred columns is a
#: few KB, a row a few numbers): a line break is looked for this far and no further, so that a file
#: whose line breaks were lost is refused at that line before it is read whole (a 40 MB line split
#: into 10 M column names peaked at 1.4 GB before its error), plain or gzip, cut short or not.
MAX_LINE_BYTES = 1 << 16

# -------------------------------------------------------------------------------- acceleration
#: Wearables saturate at 8-16 g; more is wrong units or a corrupted value.
MAX_ACC_G = 50.0

# --------------------------------------------------------------------------- stored calibrations
#: A calibration file's sensor correction (calibrated = (raw - offset) * gain, per axis). MEMS
#: accelerometers are specified at a sensitivity a few percent off and a zero-g offset of tens of
#: mg (the fit itself keeps gains within 0.7 to 1.3 and offsets within 0.5 g); a gain of 0 makes
#: every reading 0 g (not worn), a negative one turns an axis over (upright reads as upside
#: down), and more than a factor of 2 off is a unit mistake, not a sensor's error. Outside these the
#: file is refused, naming the field.
MIN_GAIN = 0.5
MAX_GAIN = 2.0
MAX_OFFSET_G = 1.0

# ------------------------------------------------------------------------------- playback speed
#: The slowest --speed (times real time) a replay or a demo plays at. Nothing sensorback shows
#: changes faster than an epoch (about a second): at 0.1x each one already stays 10 s on screen,
#: and a 15-min demo takes 2.5 h. Slower shows nothing more, and a tiny factor is a hang (1e-9x:
#: the 15-min demo in 29,000 years).
MIN_SPEED = 0.1


def speed_problem(speed) -> str | None:
    """Why a playback speed (times real time, a number) cannot be used, or None."""
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not (math.isfinite(speed) and speed > 0):
        return "must be a positive number (times real time)"
    if speed < MIN_SPEED:
        return (f"must be at least {MIN_SPEED:g} times real time (slower shows nothing more: each 1 s epoch "
                f"would stay over {1 / MIN_SPEED:g} s on screen)")
    return None


#: A rate measured from decimal timestamps is off by rounding (0.2 s steps read as 4.999999999999996
#: Hz): the limits hold to within this relative slack.
RATE_SLACK = 1e-6


def rate_problem(rate_hz: float) -> str | None:
    """Why a sample rate cannot be analysed, or None when it is within [MIN_RATE_HZ, MAX_RATE_HZ]."""
    if not (math.isfinite(rate_hz) and rate_hz > 0):
        return f"must be a positive number of Hz, got {rate_hz:g}"
    if rate_hz < MIN_RATE_HZ * (1 - RATE_SLACK):
        return (f"{_hz(rate_hz)} is below {MIN_RATE_HZ:g} Hz, too slow to tell postures apart "
                "(are the timestamps in another unit than seconds?)")
    if rate_hz > MAX_RATE_HZ * (1 + RATE_SLACK):
        return (f"{_hz(rate_hz)} is above {MAX_RATE_HZ:g} Hz, faster than any wearable accelerometer "
                "samples (are the timestamps in another unit than seconds?)")
    return None


#: The low-rate warning's slack: sensor clocks run up to a few tenths of a percent off their rate.
LOW_RATE_SLACK = 0.01


def low_rate_note(rate_hz: float) -> str | None:
    """A warning for a rate that is accepted but below what the core was measured at."""
    # A 10 Hz sensor whose clock runs 0.1 % slow measures 9.99 Hz: it is the rate the core was
    # measured at, not below it ('sample rate 10 Hz is below 10 Hz' was said of a week at 10 Hz).
    if rate_hz < LOW_RATE_HZ * (1 - LOW_RATE_SLACK):
        return (f"sample rate {_hz(rate_hz)} is below {LOW_RATE_HZ:g} Hz: states are less reliable "
                "(sit-downs and steps are hard to see)")
    return None


def check_rate(rate_hz: float, option: str) -> None:
    problem = rate_problem(rate_hz)
    if problem:
        raise SensorbackError(f"{option}: sample rate {problem}")


def check_epoch_s(epoch_s: float, option: str = "--epoch-seconds") -> None:
    if not (math.isfinite(epoch_s) and MIN_EPOCH_S <= epoch_s <= MAX_EPOCH_S):
        raise SensorbackError(
            f"{option}: must be from {MIN_EPOCH_S:g} to {MAX_EPOCH_S:g} seconds, got {epoch_s:g} "
            "(the posture rules count in epochs of about a second)")


def check_day(day: date, option: str = "--day") -> None:
    if not EARLIEST <= day < LATEST:
        raise SensorbackError(
            f"{option}: {day.isoformat()} is outside the years sensorback handles "
            f"({EARLIEST.year} to {LATEST.year - 1})")


def long_steps(t, limit: float = MAX_GAP_S):
    """Indices i (ascending, a numpy array) where t[i + 1] - t[i] > limit, for increasing t (a numpy
    array).

    Cheap on long recordings, where this runs on every load: steps are first checked 64 samples
    at a time (no 64-sample stretch can hide a longer step than its whole span), and only the
    stretches longer than the limit are looked at sample by sample."""
    import numpy as np  # here, not at the top: the command line checks limits before it needs numpy

    n = int(t.shape[0])
    if n < 2 or float(t[-1]) - float(t[0]) <= limit:
        return np.zeros(0, np.int64)
    if n <= 4096:
        return np.flatnonzero(np.diff(t) > limit)
    m = 64
    idx = np.arange(0, n, m)
    if idx[-1] != n - 1:
        idx = np.append(idx, n - 1)
    wide = np.flatnonzero(np.diff(t[idx]) > limit)
    found = [idx[w] + np.flatnonzero(np.diff(t[idx[w]: idx[w + 1] + 1]) > limit) for w in wide.tolist()]
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def is_plausible_unix(seconds: float) -> bool:
    return EARLIEST_UNIX <= seconds < LATEST_UNIX


def _hz(rate_hz: float) -> str:
    return f"{rate_hz:.3g} Hz" if rate_hz >= 0.001 else f"{rate_hz:.2e} Hz"

