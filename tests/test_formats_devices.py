"""Research loggers' files: Axivity .cwa (our reader) and ActiGraph .gt3x (through pygt3x), checked
against published reference values, and damaged files that must keep every good sample."""

from __future__ import annotations

import gzip
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from cwa_writer import recording
from ggir_reference import AX3, AX6, blocks_from_samples, resample_like_ggir
from sensorback import formats
from sensorback.errors import InputError
from sensorback.formats.cwa import iter_cwa, read_cwa, read_cwa_header

DATA = Path(__file__).parent / "data"
AX3_FILE = DATA / "ax3_testfile.cwa"
AX3_CORRUPT = DATA / "ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa"
AX6_FILE = DATA / "ax6_testfile.cwa"
CORRUPT_BLOCKS = (0, 13, 14, 142, 143, 144)


def quiet_read(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block = read_cwa(path)
    return block, [str(w.message) for w in caught]


# ----------------------------------------------------------------------------- published reference values


def test_ax3_matches_ggirread_published_figures():
    block, notes = quiet_read(AX3_FILE)
    assert notes == []
    assert read_cwa_header(AX3_FILE).data_blocks == 145 and len(block) == 145 * 120
    t_abs = block.start_time + block.t
    blocks = blocks_from_samples(t_abs, block.acc, 120, list(range(145)))
    ref = AX3["blocks_1_4"]
    grid, acc = resample_like_ggir(blocks, 145, 1, 4, block.rate_hz)
    assert len(grid) == ref["rows"]
    assert grid[4] == pytest.approx(ref["time5"], abs=0.001)
    assert math.floor(np.abs(acc).sum()) == ref["abs_sum_floor"]
    assert acc[0, 0] == pytest.approx(ref["x1"], abs=1e-4) and acc[3, 1] == pytest.approx(ref["y4"], abs=1e-4)
    ref = AX3["whole"]
    grid, acc = resample_like_ggir(blocks, 145, 0, 1000, block.rate_hz)
    assert len(grid) == ref["rows"]
    assert grid[4] == pytest.approx(ref["time5"], abs=0.001)
    assert math.floor(np.abs(acc).sum()) == ref["abs_sum_floor"]


def test_ax6_accelerometer_matches_ggirread_published_figures():
    block, _ = quiet_read(AX6_FILE)
    assert block.device == "axivity-ax6" and len(block) == 283 * 40
    blocks = blocks_from_samples(block.start_time + block.t, block.acc, 40, list(range(283)))
    ref = AX6["blocks_1_4"]
    grid, acc = resample_like_ggir(blocks, 283, 1, 4, block.rate_hz)
    assert len(grid) == ref["rows"]
    assert grid[4] == pytest.approx(ref["time5"], abs=0.001)
    assert math.floor(np.abs(acc).sum()) == ref["acc_abs_sum_floor"]
    assert acc[29, 0] == pytest.approx(ref["x30"], abs=1e-7)
    grid, _ = resample_like_ggir(blocks, 283, 0, 1000, block.rate_hz)
    assert len(grid) == AX6["whole"]["rows"]
    assert grid[4] == pytest.approx(AX6["whole"]["time5"], abs=0.001)


def test_corrupt_blocks_are_skipped_with_a_warning_and_every_other_sample_kept():
    clean, _ = quiet_read(AX3_FILE)
    block, notes = quiet_read(AX3_CORRUPT)
    assert len(notes) == 1 and "skipped 6 corrupt data blocks (checksum mismatch): #0, #13, #14, #142, #143" in notes[0]
    kept = [i for i in range(145) if i not in CORRUPT_BLOCKS]
    want = np.concatenate([clean.acc[i * 120:(i + 1) * 120] for i in kept])
    assert np.array_equal(block.acc, want)
    # times: the same clock, except that a block before a skipped one keeps the last real rate
    t_clean = clean.start_time + clean.t
    t_want = np.concatenate([t_clean[i * 120:(i + 1) * 120] for i in kept])
    assert np.abs((block.start_time + block.t) - t_want).max() < 2e-3
    # and GGIRread's figures for blocks 1-20 of this file (where it imputes 12-14) follow from our samples
    blocks = blocks_from_samples(block.start_time + block.t, block.acc, 120, kept)
    grid, acc = resample_like_ggir(blocks, 145, 1, 20, block.rate_hz)
    assert len(grid) == AX3["corrupt_1_20"]["rows"]
    assert math.floor(np.abs(acc).sum()) == AX3["corrupt_1_20"]["abs_sum_floor"]


def test_truncated_cwa_keeps_whole_blocks_with_a_warning(tmp_path):
    raw = AX3_FILE.read_bytes()
    cut = tmp_path / "cut.cwa"
    cut.write_bytes(raw[: 1024 + 512 * 100 + 200])
    clean, _ = quiet_read(AX3_FILE)
    block, notes = quiet_read(cut)
    assert len(notes) == 1 and "truncated: file ends inside data block #100 (200 of 512 bytes)" in notes[0]
    assert np.array_equal(block.acc, clean.acc[:100 * 120])
    assert np.array_equal(block.t[:99 * 120], clean.t[:99 * 120])
    # the last whole block keeps the rate of the one before: off by well under one sample period
    assert np.abs(block.t[99 * 120:] - clean.t[99 * 120:100 * 120]).max() < 5e-3


def test_gzipped_cwa_and_a_cut_gzip_stream(tmp_path):
    gz = tmp_path / "ax3.cwa.gz"
    gz.write_bytes(gzip.compress(AX3_FILE.read_bytes()))
    clean, _ = quiet_read(AX3_FILE)
    block, notes = quiet_read(gz)
    assert notes == [] and np.array_equal(block.acc, clean.acc) and np.array_equal(block.t, clean.t)
    cut = tmp_path / "cut.cwa.gz"
    cut.write_bytes(gz.read_bytes()[: len(gz.read_bytes()) // 2])
    part, notes = quiet_read(cut)
    assert any("compressed data ends early" in n for n in notes)
    n = len(part)
    assert 0 < n < len(clean) and np.array_equal(part.acc, clean.acc[:n])


@pytest.mark.parametrize("chunk", [1, 119, 500, 5000])
def test_chunked_reading_equals_whole_reading(chunk):
    whole, _ = quiet_read(AX3_CORRUPT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = list(iter_cwa(AX3_CORRUPT, chunk_samples=chunk))
    assert all(0 < len(p) <= chunk for p in parts)
    assert np.array_equal(np.concatenate([p.t for p in parts]), whole.t)
    assert np.array_equal(np.concatenate([p.acc for p in parts]), whole.acc)
    assert {p.start_time for p in parts} == {whole.start_time}


# ----------------------------------------------------------------------------- files built from the spec


@pytest.mark.parametrize("packed,axes", [(True, 3), (False, 3), (False, 6)])
def test_written_from_the_spec_round_trip(tmp_path, packed, axes):
    data, t_true, acc_true = recording(30, packed=packed, axes=axes, real_rate=101.3)
    path = tmp_path / "rec.cwa"
    path.write_bytes(data)
    block, notes = quiet_read(path)
    assert notes == []
    assert np.array_equal(block.acc, acc_true)
    # fractions of a second are stored in 1/32768 s; the device's real rate is recovered between blocks
    assert np.abs(block.t - t_true).max() < 1e-4
    assert block.meta["clock"] == "device-local" and block.rate_hz == 100.0
    assert block.device == ("axivity-ax6" if axes == 6 else "axivity-ax3")


def test_a_corrupt_block_in_a_written_file_loses_only_its_samples(tmp_path):
    data, t_true, acc_true = recording(20, seed=3)
    raw = bytearray(data)
    raw[1024 + 512 * 7 + 100] ^= 0x40  # one flipped bit in block 7's samples
    path = tmp_path / "rec.cwa"
    path.write_bytes(bytes(raw))
    block, notes = quiet_read(path)
    assert len(notes) == 1 and "(checksum mismatch): #7" in notes[0]
    keep = np.r_[0:7 * 120, 8 * 120:20 * 120]
    assert np.array_equal(block.acc, acc_true[keep])
    assert np.abs(block.t - t_true[keep]).max() < 1e-4


def test_cwa_through_the_formats_api(tmp_path):
    assert [formats.kind_of(n) for n in ("x.CWA", "x.cwa.gz", "a.gt3x")] == ["cwa", "cwa", "gt3x"]
    block = formats.load(AX3_FILE)
    parts = list(formats.iter_blocks(AX3_FILE, chunk_samples=4000))
    assert np.array_equal(np.concatenate([p.acc for p in parts]), block.acc)
    with pytest.raises(InputError, match="reads .cwa files but does not write them"):
        formats.save(block, tmp_path / "out.cwa")
    formats.save(block, tmp_path / "out.sbr")
    assert np.array_equal(formats.load(tmp_path / "out.sbr").acc, block.acc)


@pytest.mark.parametrize("content,message", [
    (b"", "empty file"),
    (b"hello world" * 10, "not an Axivity .cwa recording"),
    (b"MD" + b"\0" * 100, "truncated: file ends inside the 1024-byte header"),
])
def test_bad_cwa_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.cwa"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as e:
        read_cwa(path)
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_header_only_or_all_corrupt_cwa_is_an_error(tmp_path):
    data, _, _ = recording(3)
    path = tmp_path / "h.cwa"
    path.write_bytes(data[:1024])
    with pytest.raises(InputError, match="recording holds no samples"):
        read_cwa(path)
    bad = bytearray(data)
    for k in range(3):
        bad[1024 + 512 * k + 40] ^= 1
    path.write_bytes(bytes(bad))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match="recording holds no samples.*3 corrupt data blocks"):
            read_cwa(path)


# ----------------------------------------------------------------------------- .gt3x (current format, through pygt3x)

AGREAD_GT3X = DATA / "agread_example.gt3x"  # AGread (MIT): a GT9X Link, 90 Hz, 16-bit Activity2 records
AGREAD_EXPORT = DATA / "exports" / "agread_exampleRAW.csv.gz"  # ActiLife 6.13.3's RAW CSV export of it
GGIR_GT3X = DATA / "ggir_actigraph_testfile.gt3x"  # GGIR (Apache-2.0): a wGT3X-BT, 30 Hz, idle sleep mode
NHANES_GT3X = DATA / "actigraph_nhanes_sample.gt3x"  # ActiGraph's NHANES-format sample (MIT)
# A folder holding pygt3x's GPL-3.0 test files (neo.gt3x, neo.csv, ISM_Enabled.gt3x, small.gt3x from
# github.com/actigraph/pygt3x tests/resources and tests/testresources): extra checks, never committed.
GT3X_LOCAL = os.environ.get("SENSORBACK_GT3X_SAMPLES")


def local_gt3x_file(name: str) -> Path:
    if not GT3X_LOCAL or not (Path(GT3X_LOCAL) / name).exists():
        pytest.skip(f"{name} is pygt3x's (GPL-3.0, not committed); set SENSORBACK_GT3X_SAMPLES to a folder holding it")
    return Path(GT3X_LOCAL) / name


def actilife_decimals(acc) -> np.ndarray:
    """Rounded to ActiLife's 3 printed decimals: half away from zero. (numpy's round-half-to-even
    differs on exact halves such as 16/256 g = 0.0625, which ActiLife prints as 0.063.)"""
    a = np.asarray(acc, dtype=np.float64)
    return np.copysign(np.floor(np.abs(a) * 1000 + 0.5), a) / 1000


def load_with_notes(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block = formats.load(path)
    return block, [str(w.message) for w in caught]


def read_actilife_raw_csv(lines: list[str]):
    """(header facts, samples) of an ActiLife RAW CSV export, read from its own header."""
    import datetime as dt
    import re

    assert lines[10] == "Accelerometer X,Accelerometer Y,Accelerometer Z"
    rate = float(re.search(r" at (\d+) Hz", lines[0]).group(1))
    assert "date format M/d/yyyy" in lines[0]
    clock = lines[2].split("Start Time ")[1].strip(",")
    day = lines[3].split("Start Date ")[1].strip(",")
    start = dt.datetime.strptime(f"{day} {clock}", "%m/%d/%Y %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    serial = lines[1].split("Serial Number: ")[1].strip(",")
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[11:]])
    return {"rate": rate, "start": start.timestamp(), "serial": serial}, rows


def info_txt(path) -> dict:
    import zipfile

    with zipfile.ZipFile(path) as z:
        lines = z.read("info.txt").decode().splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def ticks_to_unix(ticks: int) -> float:
    import datetime as dt

    epoch = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)  # .NET ticks: 100 ns since 0001-01-01
    return (epoch + dt.timedelta(microseconds=ticks // 10)).timestamp()


def test_gt3x_matches_actilife_export_exactly():
    """AGread's example.gt3x and ActiLife's RAW export of it: every exported sample equals ours to the
    printed decimals, with the export's start time, rate and serial number. The published export holds
    the first 120 s (10,800 rows; AGread's own equivalence test compares the same rows); the file holds
    180 s, its info.txt start to stop date."""
    pytest.importorskip("pygt3x")
    block, notes = load_with_notes(AGREAD_GT3X)
    assert notes == []
    with gzip.open(AGREAD_EXPORT, "rt") as f:
        header, ref = read_actilife_raw_csv(f.read().splitlines())
    assert ref.shape == (10800, 3)
    assert np.array_equal(actilife_decimals(block.acc[: len(ref)]), ref)
    assert (block.rate_hz, block.start_time, block.meta["serial"]) == (header["rate"], header["start"], header["serial"])
    assert block.meta["clock"] == "device-local" and block.meta["idle_sleep_mode"] is False
    info = info_txt(AGREAD_GT3X)
    span = (int(info["Stop Date"]) - int(info["Start Date"])) / 1e7
    assert ticks_to_unix(int(info["Start Date"])) == block.start_time
    assert len(block) == span * block.rate_hz == 16200
    assert np.allclose(np.diff(block.t), 1 / 90, atol=1e-6)


def test_gt3x_idle_sleep_mode_matches_ggir_figures():
    """GGIR's actigraph_testfile.gt3x (a wGT3X-BT with idle sleep mode on). GGIR's test publishes
    30 Hz, the serial number and firmware, 17,640 recorded samples and their x+y+z sum 2732.35
    (through read.gt3x, which gives ActiLife's 3 decimals). We fill every idle second with the last
    recorded sample, as ActiLife does, and say so: the recorded samples among ours are exactly those."""
    pygt3x = pytest.importorskip("pygt3x.reader")
    block, notes = load_with_notes(GGIR_GT3X)
    assert block.rate_hz == 30.0 and block.meta["serial"] == "MOS2E39180594"
    assert info_txt(GGIR_GT3X)["Firmware"] == "1.9.2"
    assert block.meta["idle_sleep_mode"] is True
    assert len(notes) == 1 and "35400 samples of idle sleep mode were filled with the last value" in notes[0]
    # one uniform time axis from the start date to the last recorded second (10:09:00 to 10:38:28)
    assert block.start_time == ticks_to_unix(int(info_txt(GGIR_GT3X)["Start Date"]))
    assert len(block) == 1768 * 30 == 17640 + 35400
    assert np.allclose(np.diff(block.t), 1 / 30, atol=1e-6)
    # which samples were recorded: ActiGraph's FileReader flags the ones it filled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pygt3x.FileReader(str(GGIR_GT3X)) as reader:
            filled = reader.to_pandas()["IdleSleepMode"].to_numpy()
    recorded = block.acc[~filled]
    assert len(recorded) == 17640
    assert actilife_decimals(recorded).sum() == pytest.approx(2732.35, abs=0.01)
    # every filled sample repeats the last recorded one before it
    last_recorded = np.maximum.accumulate(np.where(filled, 0, np.arange(len(block))))
    assert not filled[0] and np.array_equal(block.acc, block.acc[last_recorded])
    runs = np.flatnonzero(np.diff(filled.astype(int)) == 1)
    assert len(runs) > 10  # many separate idle periods, not one


@pytest.mark.parametrize("name", ["agread_example.gt3x", "ggir_actigraph_testfile.gt3x", "ISM_Enabled.gt3x",
                                  "small.gt3x"])
def test_streamed_gt3x_equals_pygt3x_filereader(name):
    """Read record by record in small chunks, the samples are exactly what ActiGraph's FileReader gives
    for the whole file (idle sleep mode filled the same way)."""
    pytest.importorskip("pygt3x")
    from pygt3x.reader import FileReader

    from sensorback.formats.gt3x import iter_gt3x

    path = DATA / name if (DATA / name).exists() else local_gt3x_file(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = list(iter_gt3x(path, chunk_samples=1000))
        with FileReader(str(path)) as reader:
            ref = reader.to_pandas()
    assert all(len(p) <= 1000 for p in parts)
    acc = np.concatenate([p.acc for p in parts])
    t = parts[0].start_time + np.concatenate([p.t for p in parts])
    assert len(acc) == len(ref)
    assert np.array_equal(acc, ref[["X", "Y", "Z"]].to_numpy(np.float32))
    assert np.abs(t - ref.index.to_numpy(np.float64)).max() < 1e-6
    if name == "ISM_Enabled.gt3x":  # pygt3x's ISM test file: 300 s at 30 Hz, idle sleep mode on
        assert len(acc) == 9000 and parts[0].meta["idle_sleep_mode"] is True
        assert parts[0].start_time == 1616169420.0
    if name == "small.gt3x":  # pygt3x's published means (tests/test_calibration.py)
        published = [-0.2973251938819885, 0.3425652086734772, 0.40599629282951355]
        assert acc.astype(np.float64).mean(axis=0) == pytest.approx(published)


def test_a_non_gt3x_file_is_a_one_line_error(tmp_path):
    pytest.importorskip("pygt3x")
    import zipfile

    path = tmp_path / "x.gt3x"
    path.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not an ActiGraph .gt3x file"):
        formats.load(path)
    with zipfile.ZipFile(path, "w") as z:  # a zip, but not what a .gt3x holds
        z.writestr("log.bin", b"\x1e\x00\x00")
    with pytest.raises(InputError, match="cannot read this .gt3x file") as e:
        formats.load(path)
    assert "\n" not in str(e.value)


# ----------------------------------------------------------------------------- .gt3x (older NHANES format, ours)


def _nhanes_zip(path, activity: bytes, info: str):
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("activity.bin", activity)
        z.writestr("info.txt", info)
        z.writestr("lux.bin", b"")
    return path


# ActiGraph's NHANES .gt3x description (github.com/actigraph/NHANES-GT3X-File-Format, MIT):
# the worked example of fileformats/activity.bin.md and the sample file of fileformats/info.txt.md.
NHANES_DOC_BYTES = bytes.fromhex("00 60 08 EB D0 07 00 9E BF 00 70 08 EB F0")
NHANES_DOC_INFO = """Serial Number: NEO1C16110020
Firmware: 2.2.0
Battery Voltage: 4.25
Sample Rate: 30
Start Date: 634556532600000000
Stop Date: 0
Download Date: 634570285571111563
Board Revision: 2
Subject Name: josfew2342
"""


def test_nhanes_gt3x_gives_the_values_of_actigraphs_worked_example(tmp_path):
    """The format description's table: three samples (y, x, z stored; 12-bit two's complement;
    / 341, rounded to 3 decimals), the last nibble unused. No pygt3x needed for this format."""
    path = _nhanes_zip(tmp_path / "doc.gt3x", NHANES_DOC_BYTES, NHANES_DOC_INFO)
    block = formats.load(path)
    expected = np.array([[0.023, 0.018, -0.947], [0.026, 0.021, -0.941], [0.023, 0.021, -0.941]])
    assert np.array_equal(block.acc, expected.astype(np.float32))
    assert block.start_time == ticks_to_unix(634556532600000000) and block.rate_hz == 30.0
    assert np.allclose(block.t, [0, 1 / 30, 2 / 30])
    assert block.meta["serial"] == "NEO1C16110020" and block.meta["clock"] == "device-local"


def test_nhanes_gt3x_errors_are_one_line(tmp_path):
    import zipfile

    cases = [
        (NHANES_DOC_INFO.replace("Sample Rate: 30", "Sample Rate: fast"), "'Sample Rate' is not a number"),
        (NHANES_DOC_INFO.replace("Start Date: 634556532600000000\n", ""), "info.txt has no 'Start Date'"),
    ]
    for i, (info, message) in enumerate(cases):
        with pytest.raises(InputError, match=message) as e:
            formats.load(_nhanes_zip(tmp_path / f"{i}.gt3x", NHANES_DOC_BYTES, info))
        assert "\n" not in str(e.value)
    with pytest.raises(InputError, match="recording holds no samples"):
        formats.load(_nhanes_zip(tmp_path / "empty.gt3x", b"\x00\x60", NHANES_DOC_INFO))
    with zipfile.ZipFile(tmp_path / "other.gt3x", "w") as z:
        z.writestr("info.txt", NHANES_DOC_INFO)
    with pytest.raises(InputError, match="neither log.bin nor activity.bin"):
        formats.load(tmp_path / "other.gt3x")


def test_actigraphs_nhanes_sample_file():
    """ActiGraph's own NHANES-format sample (a GT3X+, firmware 1.4.0): every whole 36-bit sample of its
    47,104-byte activity.bin (10,467; the 5 nibbles left over are unused), 30 Hz from info.txt's start
    date, every value on ActiGraph's grid (n / 341 g to 3 decimals, |n| <= 2046). The device wrote
    84.5 s of movement; the rest of activity.bin is zeros, kept as recorded and said."""
    block, notes = load_with_notes(NHANES_GT3X)
    info = info_txt(NHANES_GT3X)
    assert len(block) == 47104 * 2 // 9 == 10467
    assert block.rate_hz == float(info["Sample Rate"]) == 30.0
    assert block.start_time == ticks_to_unix(int(info["Start Date"]))  # 2010-10-26 13:30:00
    assert (block.meta["serial"], block.meta["firmware"]) == ("NEO1B34100019", "1.4.0")
    grid = actilife_decimals(np.arange(-2046, 2047) / 341).astype(np.float32)
    assert np.isin(block.acc, grid).all()
    assert np.allclose(np.diff(block.t), 1 / 30, atol=1e-9)
    written = block.acc[:2536].astype(np.float64)
    assert np.all(np.any(written != 0, axis=1)) and not block.acc[2536:].any()
    assert 0.95 < np.median(np.linalg.norm(written, axis=1)) < 1.1  # gravity: the axes and the scale are right
    assert len(notes) == 1 and "the last 7931 samples (from 84.5 s) are 0 g on every axis" in notes[0]


def test_nhanes_decoding_equals_pygt3x_on_the_sample_file():
    """ActiGraph's Python decoder of activity.bin gives the same whole samples (it also turns the
    5 leftover nibbles into one more sample; the format description says they are unused)."""
    import io
    import zipfile

    payload = pytest.importorskip("pygt3x.activity_payload")
    raw = zipfile.ZipFile(NHANES_GT3X).read("activity.bin")
    ref = payload.read_nhanes_payload(io.BytesIO(raw), 0, 30)[:, 1:4]  # columns X, Y, Z
    block, _ = load_with_notes(NHANES_GT3X)
    assert len(ref) >= len(block)
    assert np.array_equal(block.acc, ref[: len(block)].astype(np.float32))


@pytest.mark.parametrize("chunk", [1, 1000])
def test_nhanes_chunked_reading_equals_whole_reading(chunk):
    from sensorback.formats.gt3x import iter_gt3x

    whole, _ = load_with_notes(NHANES_GT3X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parts = list(iter_gt3x(NHANES_GT3X, chunk_samples=chunk))
    assert all(len(p) <= chunk for p in parts) and len(caught) == 1
    assert np.array_equal(np.concatenate([p.acc for p in parts]), whole.acc)
    assert np.array_equal(np.concatenate([p.t for p in parts]), whole.t)
    assert [p.meta.get("notes") is not None for p in parts] == [False] * (len(parts) - 1) + [True]


def test_nhanes_gt3x_matches_actilife_export_exactly():
    """pygt3x's neo.gt3x (a GT3X+, firmware 2.5.0; GPL-3.0, local only) and ActiLife 6.13.4's RAW export
    of it: every sample equal to the printed decimals, with the export's start time and rate."""
    path = local_gt3x_file("neo.gt3x")
    export = path.with_suffix(".csv")
    opener = (lambda: open(export)) if export.exists() else (lambda: gzip.open(local_gt3x_file("neo.csv.gz"), "rt"))
    with opener() as f:
        header, ref = read_actilife_raw_csv(f.read().splitlines())
    block, notes = load_with_notes(path)
    assert notes == [] and len(block) == len(ref) == 18004
    assert np.array_equal(actilife_decimals(block.acc), ref)
    assert (block.rate_hz, block.start_time, block.meta["serial"]) == (header["rate"], header["start"], header["serial"])


# ----------------------------------------------------------------------------- the other commands


def test_analyze_convert_and_replay_take_device_files(tmp_path):
    import json

    from typer.testing import CliRunner

    from sensorback.cli.app import app

    runner = CliRunner()
    res = runner.invoke(app, ["analyze", str(AX3_FILE), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert (doc["device"], doc["samples"], doc["rate_hz"]) == ("axivity-ax3", 17400, 100.0)
    out = tmp_path / "c.sbr"
    res = runner.invoke(app, ["convert", str(AX3_CORRUPT), str(out)])
    assert res.exit_code == 0 and "warning: " in res.stderr and "skipped 6 corrupt data blocks" in res.stderr
    assert len(formats.load(out)) == 16680
    res = runner.invoke(app, ["replay", str(AX6_FILE), "--db", str(tmp_path / "r.db")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["convert", str(AX3_FILE), str(tmp_path / "x.cwa")])
    assert res.exit_code == 2 and res.stderr == f"error: OUT: {tmp_path / 'x.cwa'} must end in .sbr, .csv or .csv.gz\n"
    assert not (tmp_path / "x.cwa").exists()


def test_a_block_whose_clock_steps_back_is_dropped_with_a_note(tmp_path):
    import datetime as dt

    from cwa_writer import data_block

    data, t_true, acc_true = recording(20, seed=5)
    raw = bytearray(data)
    back = data_block(10, dt.datetime(2024, 3, 5, 22, 0, 0), 0.0, (acc_true[1200:1320] * 256).astype(int))
    raw[1024 + 512 * 10: 1024 + 512 * 11] = back  # block 10 says an hour and a half earlier
    path = tmp_path / "back.cwa"
    path.write_bytes(bytes(raw))
    block, notes = quiet_read(path)
    assert len(notes) == 1 and "dropped 120 samples whose time was not after the sample before" in notes[0]
    keep = np.r_[0:1200, 1320:2400]
    assert np.array_equal(block.acc, acc_true[keep]) and np.all(np.diff(block.t) > 0)
