"""CSV import/export: round trips, real files, phone-app exports, column names, units, time."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pytest

from sensorback import formats
from sensorback.errors import InputError, SensorbackError
from sensorback.formats import FormatWarning
from sensorback.samples import SampleBlock
from conftest import SHARED

G = 9.80665
REAL = SHARED / "realdata"
RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"


def load(path, rate_hz=None):
    """formats.load, returning (block, notes) and checking notes == warnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block = formats.load(path, rate_hz=rate_hz)
    notes = [str(w.message) for w in caught if issubclass(w.category, FormatWarning)]
    assert notes == block.meta.get("notes", [])
    return block, notes


def posture_data(n=500, rate=50.0, seed=3):
    """Chest-sensor-like: gravity mostly on one axis, some movement."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    acc = np.column_stack([0.2 * np.sin(t), 0.1 + 0.05 * rng.normal(size=n), 0.97 + 0.02 * rng.normal(size=n)])
    return t, acc


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", ["x.csv", "x.csv.gz", "x.tsv", "x.txt"])
def test_round_trip_is_exact(tmp_path, name):
    t, acc = posture_data()
    t = t + 0.0000004 * np.arange(len(t)) % 0.01  # not on a neat grid
    block = SampleBlock(t, acc, device="sim", rate_hz=50.0)
    path = tmp_path / name
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is lost
        formats.save(block, path)
    back, notes = load(path)
    assert notes == []
    assert back.t.tobytes() == block.t.tobytes() and back.acc.tobytes() == block.acc.tobytes()
    assert back.device == "sim" and back.start_time is None and back.rate_hz == 50.0
    first = (gzip.open(path, "rt") if name.endswith(".gz") else open(path)).readline().strip()
    assert first == ("t\tax\tay\taz\tdevice" if name.endswith(".tsv") else "t,ax,ay,az,device")


def test_csv_export_keeps_start_time_and_names_what_it_loses(tmp_path):
    start = 1.7e9 + 0.123456789  # the float's every bit is in the file
    block = SampleBlock(np.arange(300) / 50, np.tile([0.0, 0.1, 0.99], (300, 1)), device="AX3, \"blue\" #2",
                        start_time=start, meta={"firmware": 47, "notes": ["x: a note"], "source_file": "x.cwa"})
    with pytest.warns(FormatWarning) as caught:
        formats.save(block, tmp_path / "x.csv")
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 'x.csv'}: CSV does not keep the metadata 'firmware' (use .sbr to keep everything)"]
    assert (tmp_path / "x.csv").read_text().splitlines()[:2] == [
        "t (s since 2023-11-14T22:13:20.1234567Z),ax,ay,az,device", '0.0,0,0.1,0.99,"AX3, ""blue"" #2"']
    back, notes = load(tmp_path / "x.csv")
    assert notes == [] and back.start_time == start and back.device == block.device
    assert back.meta["start_time_from"] == "t (s since 2023-11-14T22:13:20.1234567Z)" and "clock" not in back.meta


def test_csv_export_warns_for_what_it_cannot_keep(tmp_path):
    t = np.arange(300) / 50 * 1.01  # read back as 49.505 Hz: the nominal 50 Hz goes in the name
    block = SampleBlock(t, np.tile([0.0, 0.1, 0.99], (300, 1)), device="two\nlines", rate_hz=50.0, start_time=5.0)
    with pytest.warns(FormatWarning) as caught:
        formats.save(block, tmp_path / "x.csv")
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 'x.csv'}: CSV does not keep start_time 5.0 (not a date from 2000 to 2099); the device name "
        "'two\\nlines' (it holds line breaks or control characters) (use .sbr to keep everything)"]
    assert (tmp_path / "x.csv").read_text().startswith("t (s at 50 Hz),ax,ay,az,device\n0.0,0,0.1,0.99,\n")
    back, _ = load(tmp_path / "x.csv")
    assert back.start_time is None and back.device == "csv" and back.t.tobytes() == t.tobytes()
    assert back.rate_hz == 50.0


@pytest.mark.parametrize(
    "path",
    [RECORDINGS / "hapt_waist_exp01_user01.csv.gz", REAL / "chest_casale" / "subject01.csv.gz", REAL / "hapt_waist" / "exp01_user01.csv.gz"],
)
def test_real_recordings_load_cleanly(path):
    if not path.exists():
        pytest.skip(f"{path} not available")
    block, notes = load(path)
    assert notes == []
    assert len(block) > 10_000 and block.start_time is None
    mag = np.linalg.norm(block.acc, axis=1)
    assert 0.8 < np.median(mag) < 1.2
    assert 49 < block.rate_hz < 54
    with gzip.open(path, "rt") as f:
        f.readline()
        first = [float(x) for x in f.readline().split(",")]
    assert block.t[0] == first[0] and np.allclose(block.acc[0], first[1:], atol=1e-7)


# ----------------------------------------------------------------------------- phone apps


def phyphox_text(t, acc_ms2, sep=",", decimal=".", absolute=True):
    cols = ['"Time (s)"', '"Acceleration x (m/s^2)"', '"Acceleration y (m/s^2)"', '"Acceleration z (m/s^2)"']
    if absolute:
        cols.append('"Absolute acceleration (m/s^2)"')
    lines = [sep.join(cols)]
    for ti, a in zip(t, acc_ms2):
        vals = [ti, *a] + ([float(np.linalg.norm(a))] if absolute else [])
        lines.append(sep.join(f"{v:.9E}".replace(".", decimal) for v in vals))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("sep, decimal", [(",", "."), (";", ","), ("\t", "."), ("\t", ",")])
def test_phyphox_acceleration_with_g(tmp_path, sep, decimal):
    t, acc = posture_data(300, rate=100.0)
    t = t + 9.364549e-3
    path = tmp_path / "Accelerometer.csv"
    path.write_text(phyphox_text(t, acc * G, sep, decimal))
    block, notes = load(path)
    np.testing.assert_allclose(block.t, t, atol=1e-9)
    np.testing.assert_allclose(block.acc, acc, atol=1e-6)
    assert notes == [f"{path}: converted acceleration from m/s^2 (as the header says) to g"]
    assert block.rate_hz == pytest.approx(100.0, rel=1e-6)
    assert block.start_time is None


def test_phyphox_linear_acceleration_is_refused(tmp_path):
    path = tmp_path / "Linear Acceleration.csv"
    path.write_text('"Time (s)","Linear Acceleration x (m/s^2)","Linear Acceleration y (m/s^2)","Linear Acceleration z (m/s^2)"\n0,0.1,0.2,0.1\n')
    with pytest.raises(InputError, match=r"Linear Acceleration\.csv:1: .*gravity removed.*Acceleration with g"):
        formats.load(path)


T0_NS = 1_700_000_000_123_456_789


def sensor_logger_text(times_ns, xyz):
    lines = ["time,seconds_elapsed,z,y,x"]
    for tn, (x, y, z) in zip(times_ns, xyz):
        lines.append(f"{tn},{(tn - T0_NS) / 1e9 + 0.05:.6f},{z:.6f},{y:.6f},{x:.6f}")
    return "\n".join(lines) + "\n"


def test_sensor_logger_total_acceleration(tmp_path):
    n = 400
    ns = T0_NS + np.arange(n, dtype=np.int64) * 10_000_000  # 100 Hz
    _, acc = posture_data(n, rate=100.0)
    path = tmp_path / "TotalAcceleration.csv"
    path.write_text(sensor_logger_text(ns, acc * G))
    block, notes = load(path)
    assert block.start_time == pytest.approx(1_700_000_000.123456789, abs=1e-6)
    np.testing.assert_allclose(block.t, np.arange(n) * 0.01, atol=1e-6)
    np.testing.assert_allclose(block.acc, acc, atol=1e-6)  # z,y,x order undone
    assert block.rate_hz == pytest.approx(100.0)
    assert any("Unix time in nanoseconds" in m and "2023-11-14 22:13:20 UTC" in m for m in notes)
    assert any("look like m/s^2" in m for m in notes)


@pytest.mark.parametrize("same_clock", [True, False])
def test_sensor_logger_accelerometer_plus_gravity(tmp_path, same_clock):
    n = 300
    ns = T0_NS + np.arange(n, dtype=np.int64) * 20_000_000
    _, total = posture_data(n)
    gravity = np.tile([0.2, 0.1, 0.97], (n, 1))
    user = total - gravity
    (tmp_path / "Accelerometer.csv").write_text(sensor_logger_text(ns, user * G))
    gns = ns if same_clock else ns - 7_000_000  # gravity sampled 7 ms earlier
    (tmp_path / "Gravity.csv").write_text(sensor_logger_text(gns, gravity * G))
    block, notes = load(tmp_path / "Accelerometer.csv")
    np.testing.assert_allclose(block.acc, total[: len(block)], atol=2e-6)
    assert any("added Gravity.csv" in m for m in notes)
    assert len(block) == n if same_clock else n - 1  # last sample is beyond gravity's range
    if not same_clock:
        assert any("interpolated" in m and "dropped 1 samples" in m for m in notes)


def test_progress_counts_gravity_csv_only_when_it_is_read(tmp_path):
    """load's progress(done, total=n) counts the bytes of the files it reads, sizes taken before: an
    Accelerometer.csv's total counts the Gravity.csv beside it at first; when the file is not Sensor
    Logger's after all (its own t,ax,ay,az), Gravity.csv is not read and the total shrinks to the
    file's own bytes, so the bar ends full."""
    ns = T0_NS + np.arange(300, dtype=np.int64) * 20_000_000
    (tmp_path / "Gravity.csv").write_text(sensor_logger_text(ns, np.tile([0.2, 0.1, 0.97], (300, 1)) * G))
    t, acc = posture_data(300)
    path = tmp_path / "accelerometer.csv"
    formats.save(SampleBlock(t, acc, device="sim", rate_hz=50.0), path)
    size, gsize = path.stat().st_size, (tmp_path / "Gravity.csv").stat().st_size
    calls = []
    formats.load(path, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, size + gsize) and calls[-1] == (size, size), calls
    assert all(total == size + gsize for _, total in calls[:-1]) and calls[-2] == (size, size + gsize), calls


def test_sensor_logger_accelerometer_alone_is_refused(tmp_path):
    ns = T0_NS + np.arange(10, dtype=np.int64) * 20_000_000
    path = tmp_path / "Accelerometer.csv"
    path.write_text(sensor_logger_text(ns, np.full((10, 3), 0.05)))
    with pytest.raises(InputError) as e:
        formats.load(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg
    assert "gravity removed" in msg and "TotalAcceleration.csv" in msg and "Gravity.csv" in msg


def test_sensor_logger_gravity_alone_is_refused(tmp_path):
    ns = T0_NS + np.arange(10, dtype=np.int64) * 20_000_000
    path = tmp_path / "Gravity.csv"
    path.write_text(sensor_logger_text(ns, np.tile([0, 0, G], (10, 1))))
    with pytest.raises(InputError, match="TotalAcceleration.csv"):
        formats.load(path)


# ----------------------------------------------------------------------------- names, units, time


@pytest.mark.parametrize(
    "header, unit_factor",
    [
        ("t,ax,ay,az", 1.0),
        ("time,x,y,z", 1.0),
        ("seconds_elapsed,X,Y,Z", 1.0),
        ("T,acc_x,acc_y,acc_z", 1.0),
        ("Time (s),accelerationX,accelerationY,accelerationZ", 1.0),
        ("t,ax (m/s^2),ay (m/s^2),az (m/s^2)", G),
        ("t,Acceleration x (m/s^2),Acceleration y (m/s^2),Acceleration z (m/s^2)", G),
        ("time_s,accel_x_g,accel_y_g,accel_z_g", 1.0),
        ("t,ax [mg],ay [mg],az [mg],gx,gy,gz", 1000.0),
        ("loggingTime,accelerometerAccelerationX(G),accelerometerAccelerationY(G),accelerometerAccelerationZ(G)", 1.0),
    ],
)
def test_column_name_variants(tmp_path, header, unit_factor):
    t, acc = posture_data(50)
    ncols = len(header.split(","))
    rows = [",".join(f"{v:.7f}" for v in [ti, *(a * unit_factor)] + [0.0] * (ncols - 4)) for ti, a in zip(t, acc)]
    path = tmp_path / "x.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    block, _ = load(path)
    np.testing.assert_allclose(block.acc, acc, atol=2e-6)
    np.testing.assert_allclose(block.t, t, atol=1e-9)


def test_columns_in_any_order_with_extra_columns(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("label,AZ,ay,temp,ax,t\nsit,1.0,0.1,36.6,0.2,0\nsit,0.9,0.2,36.6,0.3,0.02\n")
    block, _ = load(path)
    np.testing.assert_allclose(block.acc, [[0.2, 0.1, 1.0], [0.3, 0.2, 0.9]], atol=1e-7)


@pytest.mark.parametrize("scale, word", [(1.0, "seconds"), (1e3, "milliseconds"), (1e6, "microseconds"), (1e9, "nanoseconds")])
def test_unix_timestamp_column_becomes_start_time(tmp_path, scale, word):
    start = 1_712_345_678.5
    t, acc = posture_data(100)
    path = tmp_path / "x.csv"
    rows = [f"{(start + ti) * scale:.0f}" if scale >= 1e3 else f"{start + ti:.3f}" for ti in t]
    path.write_text("timestamp,ax,ay,az\n" + "".join(f"{r},{a[0]},{a[1]},{a[2]}\n" for r, a in zip(rows, acc)))
    block, notes = load(path)
    assert block.start_time == pytest.approx(start, abs=1e-3)
    np.testing.assert_allclose(block.t, t, atol=1e-3)
    assert block.t[0] == 0.0
    assert notes == [f"{path}: column 'timestamp' holds Unix time in {word}; t now counts seconds from the first sample (start 2024-04-05 19:34:38 UTC)"]


def test_time_unit_from_header_ms_relative(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("time (ms),ax,ay,az\n0,0,0,1\n20,0,0,1\n40,0,0,1\n")
    block, notes = load(path)
    np.testing.assert_allclose(block.t, [0, 0.02, 0.04])
    assert block.start_time is None and notes == []


@pytest.mark.parametrize("factor, unit, median", [(G, "m/s^2", "9.81"), (1000.0, "milli-g", "1000")])
def test_units_detected_from_magnitude_and_reported(tmp_path, factor, unit, median):
    path = tmp_path / "phone.csv"
    t, acc = posture_data(200)
    acc = acc / np.linalg.norm(acc, axis=1, keepdims=True)  # |a| = 1 g exactly
    path.write_text("t,x,y,z\n" + "".join(f"{ti:.2f},{a[0]:.9f},{a[1]:.9f},{a[2]:.9f}\n" for ti, a in zip(t, acc * factor)))
    block, notes = load(path)
    np.testing.assert_allclose(block.acc, acc, atol=1e-6)
    assert notes == [f"{path}: values look like {unit} (median |a| {median}), converted to g"]
    assert block.meta["source_units"] == {"m/s^2": "m/s^2", "milli-g": "mg"}[unit]


def test_gravity_free_values_without_unit_are_refused(tmp_path):
    path = tmp_path / "lin.csv"
    t, acc = posture_data(200)
    path.write_text("t,ax,ay,az\n" + "".join(f"{ti},{0.01 * a[0]},{0.01 * a[1]},{0.01 * a[2]}\n" for ti, a in zip(t, acc)))
    with pytest.raises(InputError, match=r"lin\.csv: cannot tell the acceleration units: median \|a\| is 0\.00[0-9]*, "
                       r"expected about 1 \(g\), 9\.8 \(m/s\^2\) or 1000 \(mg\) with gravity included; gravity seems "
                       r"to have been removed; name the unit in the header, e\.g\. 'ax \(g\)'$"):
        formats.load(path)


def test_rate_without_time_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("ax,ay,az\n0,0,1\n0,0.1,1\n0,0.2,1\n")
    block, notes = load(path, rate_hz=25.0)
    np.testing.assert_array_equal(block.t, [0, 0.04, 0.08])
    assert block.rate_hz == 25.0
    assert notes == [f"{path}: no time column; timestamps made from the given rate 25 Hz"]
    with pytest.raises(InputError, match=r"x\.csv: no time column \(found ax, ay, az\); give the sample rate"):
        formats.load(path)


def test_rate_given_with_time_column_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("t,ax,ay,az\n0,0,0,1\n0.02,0,0,1\n0.04,0,0,1\n")
    with pytest.raises(SensorbackError, match=r"^--rate: .*x\.csv has its own timestamps \(50 Hz\); --rate is only "
                       r"for CSV files without a time column$"):
        formats.load(path, rate_hz=10.0)
    assert formats.load(path).rate_hz == 50.0


def test_headerless_four_columns(tmp_path):
    path = tmp_path / "raw.txt"
    path.write_text("0.00 0.1 0.2 0.95\n0.02 0.1 0.2 0.96\n")
    block, notes = load(path)
    np.testing.assert_allclose(block.acc[1], [0.1, 0.2, 0.96], atol=1e-7)
    assert notes == [f"{path}: no header line; read the columns as t,ax,ay,az"]


def test_comments_crlf_bom_and_quotes(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes('\ufeff# exported by some logger\r\n"t","ax","ay","az"\r\n0,0,0,1\r\n# pause\r\n"0.02","0.1",0,1\r\n'.encode("utf-8"))
    block, _ = load(path)
    np.testing.assert_allclose(block.t, [0, 0.02])
    np.testing.assert_allclose(block.acc[1], [0.1, 0, 1])


def test_a_long_file_reads_back_whole(tmp_path):
    """200 k lines (more than one of the reader's 4 MiB chunks) read back sample for sample. How
    fast, and in how much memory, is measured in benchmarks/csv_memory.py, not timed here."""
    n = 200_000
    t, acc = posture_data(n)
    formats.save(SampleBlock(t, acc), tmp_path / "big.csv")
    block, _ = load(tmp_path / "big.csv")
    assert len(block) == n
    np.testing.assert_allclose(block.t, t, rtol=0, atol=1e-6)
    np.testing.assert_allclose(block.acc, acc, rtol=0, atol=1e-4)


# ----------------------------------------------------------------------------- reading in chunks
#
# csv_io reads a file CHUNK_BYTES of text at a time. Default-sized chunks hold each file below
# whole, so the default read is the reference the whole-file parser gave; chunks of a few bytes
# put chunk edges on every line, inside quoted fields and between \r and \n.


def chunk_files(folder: Path) -> list[Path]:
    """Files whose chunk edges could matter: quotes, comments, blank lines, encodings, gzip."""
    from sensorback.sim import simulate

    block, _ = simulate("demo", seed=4, duration_s=60.0)
    block.device = 'AX3, "blue" #2'  # quoted, with a '#', on every row
    files = [folder / "sim.csv", folder / "sim.csv.gz", folder / "sim.tsv"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FormatWarning)
        for path in files:
            formats.save(block, path)
    t, acc = posture_data(2000)
    rows = [f"{ti!r},{a[0]!r},{a[1]!r},{a[2]!r}" for ti, a in zip(t.tolist(), acc.tolist())]
    messy = ["# logger v2", "", "t,ax,ay,az,label"]
    for i, row in enumerate(rows):
        messy.append(row + (',"desk, # 2"' if i % 5 else ",x"))
        messy += {17: ["   "], 40: ["", "  # pause"], 41: ["\t"]}.get(i % 50, [])
    path = folder / "messy.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(messy) + "\r\n").encode())
    files.append(path)
    path = folder / "labels.csv"  # a line break inside quotes is part of the field, as numpy reads it
    path.write_text("t,ax,ay,az,label\n" + "".join(f'{row},"sit{chr(10) * (i % 3)}then stand"\n'
                                                   for i, row in enumerate(rows)))
    files.append(path)
    path = folder / "phyphox.csv"
    path.write_text(phyphox_text(t, acc * G, ";", ","))
    files.append(path)
    path = folder / "unicode.txt"
    path.write_bytes(("# spaces\n" + "".join(f"  {r.replace(',', '  ')}\n" for r in rows)).encode("utf-16"))
    files.append(path)
    path = folder / "dates.csv.gz"
    path.write_bytes(gzip.compress(("time,x,y,z\n" + "".join(
        f"2024-03-04 10:{i // 3000:02d}:{i // 50 % 60:02d}.{i % 50 * 20:03d},{a[0]},{a[1]},{a[2]}\n"
        for i, a in enumerate(acc))).encode()))
    files.append(path)
    return files


def read_all(paths) -> list:
    """(t, acc, device, rate, start, meta) per file, notes and warnings included."""
    out = []
    for path in paths:
        block, notes = load(path)
        out.append((block.t.tobytes(), block.acc.tobytes(), block.device, block.rate_hz, block.start_time,
                    block.meta, notes))
    return out


@pytest.mark.parametrize("chunk", [1, 7, 100, 5000])
def test_chunk_edges_change_nothing(tmp_path, monkeypatch, chunk):
    from sensorback.formats import csv_io

    files = chunk_files(tmp_path)
    assert all(p.stat().st_size < csv_io.CHUNK_BYTES for p in files)  # one chunk each: the whole-file read
    whole = read_all(files)
    assert len(whole[0][0]) > 8 * 2900 and whole[5][6] == [f"{files[5]}: converted acceleration from m/s^2 (as the "
                                                            "header says) to g"]
    assert whole[7][5]["start_time_from"] == "date-times" and len(whole[3][0]) == len(whole[4][0]) == 8 * 2000
    monkeypatch.setattr(csv_io, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(csv_io, "_READ_BYTES", 997)  # and the file read in odd pieces (UTF-16 split mid-character)
    assert read_all(files) == whole


def long_text(n=60_000) -> list[str]:
    return ["t,ax,ay,az"] + [f"{i * 0.02:.2f},0.1,0.2,0.97" for i in range(n)]


@pytest.mark.parametrize("chunk", [None, 4096])
@pytest.mark.parametrize("name", ["deep.csv", "deep.csv.gz"])
def test_an_error_deep_in_a_long_file_names_its_line(tmp_path, monkeypatch, chunk, name):
    from sensorback.formats import csv_io

    if chunk:
        monkeypatch.setattr(csv_io, "CHUNK_BYTES", chunk)
    lines = long_text()
    lines[50_001] = "1000.02,0.1,abc,0.97"  # line 50,002 of the file
    lines[30_000:30_000] = ["# a comment", ""]  # ... now line 50,004
    path = tmp_path / name
    text = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    with pytest.raises(InputError) as e:
        formats.load(path)
    assert str(e.value) == f"{path}:50004: non-numeric value 'abc' in column ay"
    lines[50_003] = "1000.02,0.1,0.2,0.97"
    lines[55_003] = "0.5,0.1,0.2,0.97"  # goes backwards, told by validation after the parse, on line 55,004
    text = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    with pytest.raises(InputError, match=rf"^{path}:55004: timestamp 0\.5 goes backwards \(previous sample on line "
                                         r"55003 has 1099\.98\)"):
        formats.load(path)


def test_errors_are_told_in_the_order_of_a_whole_file_read(tmp_path, monkeypatch):
    """A row with too many fields is told before an unreadable cell earlier in the file, as when
    the whole text was checked for row widths first; corrupt gzip data before either."""
    from sensorback.formats import csv_io

    monkeypatch.setattr(csv_io, "CHUNK_BYTES", 1000)
    lines = long_text(20_000)
    lines[500] = "9.98,x,0.2,0.97"
    lines[15_000] = "299.98,0.1,0.2,0.97,5"
    path = tmp_path / "two.csv"
    text = ("\n".join(lines) + "\n").encode()
    path.write_bytes(text)
    assert "two.csv:15001: row has 5 fields, but the header (line 1) names 4" in str(pytest.raises(
        InputError, formats.load, path).value)
    packed = bytearray(gzip.compress(text))
    packed[-2000:-1980] = b"\xff" * 20  # far after both rows
    path = tmp_path / "two.csv.gz"
    path.write_bytes(bytes(packed))
    assert str(pytest.raises(InputError, formats.load, path).value).startswith(f"{path}: corrupted gzip data (")


def test_a_cut_gzip_files_trailer_is_not_taken_for_its_size(tmp_path):
    """The arrays are reserved at the text size a .gz trailer gives; a cut file's last 4 bytes are
    deflate data, not a size: cut where they read as 500-1032 times the file (2.4:1 here), reading
    it traces no more than reading the whole file (it reserved 200 MB for 476 KB), and a whole
    file's trailer is still believed (the arrays fit without growing)."""
    import tracemalloc

    from sensorback.formats.csv_io import _Source
    from sensorback.formats.notes import LoadNotes

    t, acc = posture_data(n=40_000)
    whole = tmp_path / "whole.csv.gz"
    formats.save(SampleBlock(t, acc, device="sim", rate_hz=50.0), whole)
    packed = whole.read_bytes()
    c = next(c for c in range(len(packed) * 2 // 3, len(packed))
             if 500 * c < int.from_bytes(packed[c - 4:c], "little") <= 1032 * c)
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed[:c])
    peaks = {}
    for path in (whole, cut):
        tracemalloc.start()
        try:
            block, notes = load(path)
            peaks[path.name] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        source = _Source(path, LoadNotes(str(path)))
        try:
            next(source.text())
            hint = source.size_hint()
        finally:
            source.close()
        if path == whole:
            assert len(block) == 40_000 and hint == len(gzip.decompress(packed))
        else:
            assert 20_000 < len(block) < 40_000 and "gzip stream is truncated" in notes[0]
            assert len(packed) < hint <= 20 * c
    assert peaks["cut.csv.gz"] <= peaks["whole.csv.gz"], peaks


@pytest.mark.parametrize("chunk", [None, 300])
def test_gzip_is_read_as_a_stream(tmp_path, monkeypatch, chunk):
    """Members are decompressed as they come (here 1 KiB of output at a time): two members read
    as one text, and a cut stream keeps its complete lines, its note first although the cut is
    found last."""
    from sensorback.formats import csv_io

    monkeypatch.setattr(csv_io, "_READ_BYTES", 1024)
    if chunk:
        monkeypatch.setattr(csv_io, "CHUNK_BYTES", chunk)
    text = ("\n".join(long_text(20_000)[1:]) + "\n").encode()  # no header line: a note of its own
    half = text.find(b"\n", len(text) // 2) - 3
    path = tmp_path / "two.csv.gz"
    path.write_bytes(gzip.compress(text[:half]) + gzip.compress(text[half:]))
    block, notes = load(path)
    assert len(block) == 20_000 and block.t[-1] == 399.98
    assert notes == [f"{path}: no header line; read the columns as t,ax,ay,az"]
    packed = gzip.compress(text)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    block, notes = load(path)
    assert 5000 < len(block) < 15_000
    assert notes[0].startswith(f"{path}: gzip stream is truncated; kept the {len(block)} complete lines before the "
                               "cut, dropped ")
    assert notes[1:] == [f"{path}: no header line; read the columns as t,ax,ay,az"]
