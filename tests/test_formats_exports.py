"""Device exports as their own software writes them: ActiLife (ActiGraph) RAW and epoch CSVs,
Axivity CSVs, MetaWear/MetaBase CSVs and Sensor Logger files, including one without gravity.

Real files are in tests/data/exports (sources and licences in its README); where none may be
redistributed (MetaBase), files of the documented layout are built from a real recording.
"""

from __future__ import annotations

import gzip
import shutil
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, filtfilt
from typer.testing import CliRunner

from sensorback import formats
from sensorback.cli import app
from sensorback.errors import InputError
from sensorback.formats import FormatWarning
from cli_checks import one_line_error

HERE = Path(__file__).resolve().parent
EXPORTS = HERE / "data" / "exports"
WAIST = HERE.parent / "recordings" / "hapt_waist_exp01_user01.csv.gz"  # real, 50 Hz, CC BY 4.0
G = 9.80665

runner = CliRunner()


def load(path, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block = formats.load(path, **kw)
    notes = [str(w.message) for w in caught if issubclass(w.category, FormatWarning)]
    assert notes == block.meta.get("notes", [])
    return block, notes


def error(path) -> str:
    with pytest.raises(InputError) as e:
        formats.load(path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and "\n" not in msg
    return msg


def local_unix(*args) -> float:
    return datetime(*args).astimezone().timestamp()


# ----------------------------------------------------------------------------- ActiLife RAW


def actilife_raw_text() -> str:
    with gzip.open(EXPORTS / "agread_exampleRAW.csv.gz", "rt", newline="") as f:
        return f.read()


def test_actilife_raw_export_with_its_ten_line_header():
    path = EXPORTS / "agread_exampleRAW.csv.gz"
    block, notes = load(path)
    assert len(block) == 10800 and block.rate_hz == 90.0 and block.device == "ActiGraph GT3X+"
    np.testing.assert_allclose(block.t[:3], [0, 1 / 90, 2 / 90])
    np.testing.assert_allclose(block.acc[0], [-0.004, -0.008, 0.961], atol=1e-7)
    assert block.start_time == pytest.approx(local_unix(2019, 2, 14, 8, 58, 0))
    assert notes == [f"{path}: ActiGraph GT3X+ RAW export (ActiLife): 90 Hz and start 2019-02-14 08:58:00 from "
                     "its header, read as this computer's local time"]
    r = runner.invoke(app, ["analyze", str(path)])
    assert r.exit_code == 0, r.output
    assert "10,800 samples at 90 Hz" in r.stdout


@pytest.mark.parametrize("variant", ["no column header", "timestamp column", "crlf and padding"])
def test_actilife_raw_export_variants(tmp_path, variant):
    """Older ActiLife versions leave out the column header; 'Add timestamps' writes a text
    Timestamp column; spreadsheet round trips pad the header lines with commas."""
    lines = actilife_raw_text().replace("\r\n", "\n").splitlines()
    head, body = lines[:10], lines[11:]
    if variant == "no column header":
        text = "\n".join(head + body)
    elif variant == "timestamp column":
        stamps = [f"2/14/2019 08:58:{i // 90:02d}.{round(i % 90 / 90 * 1000):03d}" for i in range(len(body))]
        text = "\n".join(head + ["Timestamp,Accelerometer X,Accelerometer Y,Accelerometer Z"]
                         + [f"{s},{row}" for s, row in zip(stamps, body)])
    else:
        text = "\r\n".join([h.rstrip(",") + ",,," for h in head] + [lines[10]] + body)
    path = tmp_path / "raw.csv"
    path.write_text(text + "\n")
    block, notes = load(path)
    assert len(block) == 10800 and block.rate_hz == 90.0
    assert block.start_time == pytest.approx(local_unix(2019, 2, 14, 8, 58, 0))
    np.testing.assert_allclose(block.acc[-1], [float(x) for x in body[-1].split(",")], atol=1e-7)
    assert any("ActiGraph GT3X+ RAW export" in n for n in notes)
    assert ("Timestamp column is not used" in notes[-1]) == (variant == "timestamp column")


# ----------------------------------------------------------------------------- ActiGraph counts


@pytest.mark.parametrize("name, epoch", [("ggir_ActiGraph13.csv", "15 s"), ("ggir_ActiGraph13_timestamps_headers.csv", "1 s"),
                                         ("agread_example1sec.csv", "1 s")])
def test_actigraph_epoch_files_are_counts_not_acceleration(name, epoch):
    path = EXPORTS / name
    msg = error(path)
    assert msg.startswith(f"{path}:5: ActiGraph activity counts in {epoch} epochs (ActiLife header: Epoch Period 00:00:")
    assert "not raw acceleration" in msg and "export RAW data from ActiLife" in msg and "Data File Created" not in msg
    one_line_error(runner.invoke(app, ["analyze", str(path)]), "activity counts")


def test_counts_without_the_actilife_header_are_named_as_counts(tmp_path):
    src = (EXPORTS / "ggir_ActiGraph13_timestamps_headers.csv").read_text().splitlines()[10:]
    path = tmp_path / "counts.csv"
    path.write_text("\n".join(src) + "\n")
    assert error(path) == (f"{path}:1: columns axis1, axis2, axis3, steps, vm hold activity counts, not acceleration: "
                           "posture needs the raw signal in g (from ActiLife: export RAW data, or use the .gt3x file)")


# ----------------------------------------------------------------------------- Axivity CSV


def test_axivity_csv_with_unix_seconds():
    path = EXPORTS / "ggir_ax3_testfile_unix_timestamps.csv"
    block, notes = load(path)
    assert len(block) == 210 and block.rate_hz == 100.0
    assert block.start_time == 1551178506.0
    assert notes[0] == f"{path}: no header line; read the columns as t,ax,ay,az"


def ax3_rows():
    return [line.split(",") for line in (EXPORTS / "ggir_ax3_testfile_unix_timestamps.csv").read_text().split()]


@pytest.mark.parametrize("zone", ["local", "Z"])
def test_axivity_csv_with_date_times_and_no_header(tmp_path, zone):
    """OMGUI's CSV export writes 'YYYY-MM-DD hh:mm:ss.fff' (the device clock, set from the PC);
    here the real AX3 export above in that layout."""
    rows = ax3_rows()
    stamps = [float(r[0]) for r in rows]
    if zone == "local":
        text = [datetime.fromtimestamp(s).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] for s in stamps]
    else:
        text = [datetime.fromtimestamp(s, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" for s in stamps]
    path = tmp_path / "ax3.csv"
    path.write_text("".join(f"{d},{','.join(r[1:])}\n" for d, r in zip(text, rows)))
    block, notes = load(path)
    assert len(block) == 210 and block.rate_hz == 100.0
    assert block.start_time == pytest.approx(1551178506.0, abs=1e-3)
    np.testing.assert_allclose(block.t, np.array(stamps) - stamps[0], atol=1e-3)
    np.testing.assert_allclose(block.acc[1], [0.828125, -0.359375, -0.375], atol=1e-7)
    how = "as this computer's local time (UTC" if zone == "local" else "with the time zone UTC of the first value"
    assert notes[1].startswith(f"{path}: column 1 holds date-times, read {how}")
    assert notes[1].endswith("t counts seconds from the first sample (start 2019-02-26 10:55:06 UTC)")


def test_axivity_ax6_csv_is_read_as_an_export_and_its_magnitude_refused():
    """Before, the date-time in the first column made it a header: 'no acceleration columns found'."""
    path = EXPORTS / "ggir_ax6_testfile_formatted_timestamps.csv"
    msg = error(path)
    assert "cannot tell the acceleration units: median |a| is 0.0722" in msg


def test_date_times_in_a_named_time_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("time,ax,ay,az\n" + "".join(f"2024-03-04 10:00:{i // 50:02d}.{i % 50 * 20:03d},0,0.1,0.99\n"
                                                for i in range(500)))
    block, notes = load(path)
    assert block.rate_hz == 50.0 and block.start_time == pytest.approx(local_unix(2024, 3, 4, 10, 0, 0))
    assert notes[0].startswith(f"{path}: column 'time' holds date-times, read as this computer's local time")


def test_text_that_is_not_a_date_time_in_the_time_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("time,ax,ay,az\nnoon,0,0,1\nlater,0,0,1\n")
    assert error(path) == (f"{path}:2: column 'time' holds text, not numbers or ISO date-times (e.g. 'noon'); "
                           "use seconds or dates like 2024-03-04 10:00:00.000")


# ----------------------------------------------------------------------------- MetaWear / MetaBase


def metabase_file(tmp_path, header: str, name="MetaWear_2024-03-04T10.00.00.000_C8C7EE5B2E0A_Accelerometer.csv"):
    """MetaBase's layout, values from a real 50 Hz recording: packets of three samples that share
    the packet's epoch (ms), its local time as text, and elapsed seconds."""
    real = formats.load(WAIST)
    n = 3000
    t0_ms = 1709546400000  # 2024-03-04 10:00:00 UTC
    packet_ms = t0_ms + (np.arange(n) // 3) * 60  # 3 samples per 60 ms: 50 Hz
    lines = [header]
    for i in range(n):
        ms = int(packet_ms[i])
        local = datetime.fromtimestamp(ms / 1000 - 4 * 3600, tz=timezone.utc)
        stamp = local.strftime("%Y-%m-%dT%H.%M.%S.") + f"{ms % 1000:03d}"
        a = real.acc[i]
        lines.append(f"{ms},{stamp},{(ms - t0_ms) / 1000:.3f},{a[0]:.3f},{a[1]:.3f},{a[2]:.3f}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path, real


@pytest.mark.parametrize("header", ["epoch (ms),time (-04:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)",
                                    "epoc (ms),timestamp (-0400),elapsed (s),x-axis (g),y-axis (g),z-axis (g)"])
def test_metabase_export_uses_its_numeric_epoch_and_spreads_packets(tmp_path, header):
    path, real = metabase_file(tmp_path, header)
    block, notes = load(path)
    assert len(block) == 3000 and block.rate_hz == 50.0
    assert block.start_time == 1709546400.0
    np.testing.assert_allclose(block.t[:4], [0, 0.02, 0.04, 0.06], atol=1e-9)
    np.testing.assert_allclose(block.acc, real.acc[:3000], atol=5e-4 + 1e-6)  # written to 3 decimals
    assert notes[0] == (f"{path}: MetaBase export: 3000 samples share their timestamp with others (the sensor "
                        "sends up to 3 per Bluetooth packet); spread evenly over the time to the next packet")
    assert "Unix time in milliseconds" in notes[1]


def test_a_repeated_timestamp_outside_metabase_is_still_an_error(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("time (ms),ax,ay,az\n0,0,0,1\n0,0,0.1,1\n20,0,0,1\n")
    assert "duplicate timestamp" in error(path)


# ----------------------------------------------------------------------------- gravity, judged from the values


def gravity_free(block, rate_hz: float) -> np.ndarray:
    """What phones call linear or user acceleration: the low-passed gravity estimate removed, in m/s^2."""
    b, a = butter(3, 0.3 / (rate_hz / 2))
    acc = block.acc.astype(np.float64)
    return (acc - filtfilt(b, a, acc, axis=0)) * G


def sensor_logger_text(block, xyz_ms2) -> str:
    t0 = 1_709_546_400_000_000_000
    ns = t0 + np.round(block.t * 1e9).astype(np.int64)
    return "time,seconds_elapsed,z,y,x\n" + "".join(
        f"{n},{(n - t0) / 1e9:.6f},{a[2]:.6f},{a[1]:.6f},{a[0]:.6f}\n" for n, a in zip(ns.tolist(), xyz_ms2))


@pytest.mark.parametrize("name", ["walk.csv", "Accelerometer (1).csv", "data.csv.gz"])
def test_sensor_logger_accelerometer_without_gravity_is_caught_by_its_values_not_its_name(tmp_path, name):
    """Renamed, Sensor Logger's Accelerometer.csv used to load and come out '93 % moving'."""
    real = formats.load(WAIST)
    text = sensor_logger_text(real, gravity_free(real, real.rate_hz))
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    msg = error(path)
    assert msg.startswith(f"{path}: the acceleration looks gravity-free: averaged over 64-sample stretches it ranges from")
    assert "posture needs gravity included: Sensor Logger's Accelerometer.csv is like that: import TotalAcceleration.csv" in msg
    one_line_error(runner.invoke(app, ["analyze", str(path)]), "gravity-free")


def test_gravity_free_values_with_declared_units_are_refused(tmp_path):
    real = formats.load(WAIST)
    lin = gravity_free(real, real.rate_hz)
    path = tmp_path / "export.csv"
    path.write_text("t,ax (m/s^2),ay (m/s^2),az (m/s^2)\n" + "".join(
        f"{t:.3f},{a[0]:.5f},{a[1]:.5f},{a[2]:.5f}\n" for t, a in zip(real.t, lin)))
    assert "looks gravity-free" in error(path) and "total acceleration" in error(path)


def test_the_same_recording_with_gravity_loads_under_any_name(tmp_path):
    real = formats.load(WAIST)
    path = tmp_path / "walk.csv"
    path.write_text(sensor_logger_text(real, real.acc.astype(np.float64) * G))
    block, _ = load(path)
    np.testing.assert_allclose(block.acc, real.acc, atol=1e-5)


@pytest.mark.parametrize("name", sorted(p.name for p in (HERE.parent / "recordings").glob("*.csv.gz")))
def test_real_recordings_with_gravity_are_not_taken_for_gravity_free(name):
    block, _ = load(HERE.parent / "recordings" / name)
    assert len(block) > 10_000


def test_exports_also_load_copied_next_to_unrelated_files(tmp_path):
    """Nothing depends on the folder: the ActiLife export copied anywhere reads the same."""
    dst = tmp_path / "Gravity.csv.gz"  # even under a Sensor Logger name
    shutil.copy(EXPORTS / "agread_exampleRAW.csv.gz", dst)
    block, _ = load(dst)
    assert len(block) == 10800
