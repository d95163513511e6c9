"""Bad input: every case is a one-line InputError naming file and line, or a repair with a note."""

from __future__ import annotations

import gzip
import json
import re
import struct
import warnings
import zlib

import numpy as np
import pytest

from sensorback import formats
from sensorback.errors import InputError
from sensorback.formats import FormatWarning
from sensorback.samples import SampleBlock

HEADER = "t,ax,ay,az\n"


def good_rows(n=10, start=0):
    return "".join(f"{(start + i) * 0.02:.2f},0.1,0.2,0.97\n" for i in range(n))


def error_of(path, **kw) -> str:
    with pytest.raises(InputError) as e:
        formats.load(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg and "Traceback" not in msg
    assert msg.startswith(str(path))
    return msg


def write(tmp_path, text, name="bad.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


# ----------------------------------------------------------------------------- CSV: structure


def test_empty_file(tmp_path):
    p = write(tmp_path, "")
    assert error_of(p) == f"{p}: empty file"


def test_whitespace_only_file(tmp_path):
    p = write(tmp_path, "\n  \n\n")
    assert "empty file" in error_of(p)


def test_header_only(tmp_path):
    p = write(tmp_path, HEADER)
    assert error_of(p) == f"{p}:1: header only, no data rows (columns t, ax, ay, az)"


def test_a_single_timestamped_sample_has_no_rate_to_make_up(tmp_path):
    """One row gives no interval to measure: the rate is not made up (it was 50 Hz, and a header's
    'at 100 Hz' was then said to disagree with it)."""
    p = write(tmp_path, HEADER + good_rows(1))
    assert error_of(p) == f"{p}: only one sample, and its sample rate cannot be measured from one timestamp"
    p = write(tmp_path, "t (s at 100 Hz),ax,ay,az\n" + good_rows(1), name="rated.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FormatWarning)
        assert formats.load(p).rate_hz == 100
    with pytest.warns(FormatWarning, match="timestamps made from the given rate 25 Hz"):
        assert formats.load(write(tmp_path, "ax,ay,az\n0.1,0.2,0.97\n", name="untimed.csv"), rate_hz=25).rate_hz == 25
    formats.save(SampleBlock([0.0], np.ones((1, 3)) * 0.5, rate_hz=50.0), tmp_path / "one.csv")
    assert formats.load(tmp_path / "one.csv").rate_hz == 50  # what sensorback writes says its rate


def test_wrong_columns_lists_found_and_expected(tmp_path):
    p = write(tmp_path, "time,gyro_x,gyro_y,gyro_z\n0,1,2,3\n")
    msg = error_of(p)
    assert msg.startswith(f"{p}:1: no acceleration columns found")
    assert "'time', 'gyro_x', 'gyro_y', 'gyro_z'" in msg and "expected t,ax,ay,az" in msg


def test_missing_one_axis(tmp_path):
    p = write(tmp_path, "t,ax,ay\n0,1,2\n")
    msg = error_of(p)
    assert "no acceleration columns found" in msg and "'t', 'ax', 'ay'" in msg


def test_non_numeric_cell_names_line_and_column(tmp_path):
    p = write(tmp_path, HEADER + good_rows(5) + "0.10,0.1,abc,0.97\n" + good_rows(3, 6))
    assert error_of(p) == f"{p}:7: non-numeric value 'abc' in column ay"


def test_empty_cell(tmp_path):
    p = write(tmp_path, HEADER + good_rows(2) + "0.04,,0.2,0.97\n")
    assert error_of(p) == f"{p}:4: empty cell in column ax"


def test_short_row(tmp_path):
    p = write(tmp_path, HEADER + good_rows(3) + "0.06,0.1,0.2\n")
    assert error_of(p) == f"{p}:5: row has 3 fields, expected at least 4 (columns t, ax, ay, az)"


def test_line_numbers_count_comments_and_blank_lines(tmp_path):
    p = write(tmp_path, "# logger v2\n\n" + HEADER + "\n" + good_rows(2) + "# note\n0.04,0.1,x,0.97\n")
    assert error_of(p) == f"{p}:8: non-numeric value 'x' in column ay"


def test_whitespace_only_line_is_skipped(tmp_path):
    p = write(tmp_path, HEADER + good_rows(2) + "   \n" + good_rows(2, 2))
    assert len(formats.load(p)) == 4


def test_non_numeric_in_phyphox_semicolon_file(tmp_path):
    p = write(tmp_path, '"Time (s)";"Acceleration x (m/s^2)";"Acceleration y (m/s^2)";"Acceleration z (m/s^2)"\n0;0,1;0,2;9,8\n0,01;oops;0,1;9,8\n')
    assert error_of(p) == f"{p}:3: non-numeric value 'oops' in column Acceleration x (m/s^2)"


@pytest.mark.parametrize("cell, kind", [("nan", "NaN"), ("NaN", "NaN"), ("inf", "infinite value"), ("-inf", "infinite value")])
def test_nan_and_inf_cells(tmp_path, cell, kind):
    p = write(tmp_path, HEADER + good_rows(4) + f"0.08,0.1,0.2,{cell}\n" + good_rows(2, 5))
    assert error_of(p) == f"{p}:6: {kind} in column az"


def test_nan_time(tmp_path):
    p = write(tmp_path, HEADER + good_rows(4) + "nan,0.1,0.2,0.9\n" + good_rows(2, 5))
    assert error_of(p) == f"{p}:6: NaN in column t"


def test_non_monotonic_time_is_an_error_not_a_sort(tmp_path):
    p = write(tmp_path, HEADER + "0.00,0,0,1\n0.02,0,0,1\n0.06,0,0,1\n0.04,0,0,1\n0.08,0,0,1\n")
    msg = error_of(p)
    assert msg.startswith(f"{p}:5: timestamp 0.04 goes backwards (previous sample on line 4 has 0.06)")
    assert "does not re-sort" in msg


def test_exact_duplicate_rows_are_dropped_with_a_note(tmp_path):
    p = write(tmp_path, HEADER + "0.00,0,0,1\n0.02,0,0.1,1\n0.02,0,0.1,1\n0.04,0,0,1\n0.04,0,0,1\n0.04,0,0,1\n0.06,0,0,1\n")
    with pytest.warns(FormatWarning) as rec:
        block = formats.load(p)
    np.testing.assert_array_equal(block.t, [0, 0.02, 0.04, 0.06])
    expected = f"{p}: dropped 3 exact duplicate samples (same timestamp and values as the sample before; first at line 4)"
    assert [str(w.message) for w in rec] == [expected]
    assert block.meta["notes"] == [expected]


def test_conflicting_duplicate_is_an_error(tmp_path):
    p = write(tmp_path, HEADER + "0.00,0,0,1\n0.02,0,0.1,1\n0.02,0,0.2,1\n")
    assert error_of(p) == (
        f"{p}:4: duplicate timestamp 0.02 (also on the previous sample on line 3) with different values; cannot tell which is right"
    )


def test_absurd_magnitude(tmp_path):
    p = write(tmp_path, HEADER + good_rows(30) + "0.60,40,35,1\n" + good_rows(5, 31))
    msg = error_of(p)
    assert msg.startswith(f"{p}:32: acceleration magnitude 53.2 g exceeds 50 g")


def test_absurd_magnitude_after_unit_conversion(tmp_path):
    rows = "".join(f"{i * 0.02:.2f},0.5,0.3,9.7\n" for i in range(40)) + "0.80,600,0,0\n"
    p = write(tmp_path, "t,ax,ay,az\n" + rows)
    msg = error_of(p)
    assert msg.startswith(f"{p}:42: acceleration magnitude 61.2 g exceeds 50 g")


def seated_rows(n: int, scale: float) -> tuple[str, float]:
    """n rows at 50 Hz of someone sitting (about 1 g, gravity included), times ``scale``, and their
    median |a|."""
    rng = np.random.default_rng(4)
    acc = np.c_[rng.normal(0.1, 0.02, n), rng.normal(0.2, 0.02, n), rng.normal(0.97, 0.02, n)] * scale
    rows = "".join(f"{i * 0.02:.2f},{x:.5f},{y:.5f},{z:.5f}\n" for i, (x, y, z) in enumerate(acc))
    return rows, float(np.median(np.linalg.norm(acc, axis=1)))


@pytest.mark.parametrize("header, scale, told, right", [
    ("t,ax (g),ay (g),az (g)", 9.80665, "is in g (ax (g)), but the values look like m/s^2", "ax (m/s^2)"),
    ("t,Acceleration x [g],Acceleration y [g],Acceleration z [g]", 1000.0,
     "is in g (Acceleration x [g]), but the values look like milli-g", "Acceleration x (mg)"),
    ("t,ax (m/s^2),ay (m/s^2),az (m/s^2)", 1.0, "is in m/s^2 (ax (m/s^2)), but the values look like g", "ax (g)"),
    ("t,ax_mg,ay_mg,az_mg", 1.0, "is in mg (ax_mg), but the values look like g", "ax (g)"),
])
def test_a_declared_unit_the_values_contradict_is_refused(tmp_path, header, scale, told, right):
    """A header naming the wrong unit (m/s^2 or milli-g called g, g called m/s^2): it was a warning
    ('median |a| is 9.78 g after conversion ... check the units') and the values were analysed as
    declared, a sitting wearer 10 g heavy. Refused like a .sbr in the wrong unit, with the header to
    write; named as the hint says (or not at all), the same values load, in g."""
    rows, med = seated_rows(600, scale)
    p = write(tmp_path, header + "\n" + rows)
    msg = error_of(p)
    said = re.fullmatch(re.escape(f"{p}: the header says the acceleration {told} (median |a| ") + r"([0-9.]+)" +
                        re.escape(f"); not converted: name their unit in the header, e.g. '{right}', or none to "
                                  "have it judged from the values"), msg)
    assert said and float(said.group(1)) == pytest.approx(med, rel=0.02), msg
    hinted = ",".join(["t", *(right.replace("x", axis) for axis in "xyz")])
    for fixed in (hinted, "t,ax,ay,az"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FormatWarning)
            block = formats.load(write(tmp_path, fixed + "\n" + rows, "fixed.csv"))
        assert np.median(np.linalg.norm(block.acc, axis=1)) == pytest.approx(med / scale, rel=0.01), fixed


def test_a_declared_unit_fitting_no_unit_is_refused(tmp_path):
    rows, med = seated_rows(600, 100.0)
    p = write(tmp_path, "t,ax (g),ay (g),az (g)\n" + rows)
    assert error_of(p) == (f"{p}: the header says the acceleration is in g (ax (g)), but its median |a| is {med:.3g} g, "
                           "not about 1 g with gravity included, nor in g, m/s^2 or mg either")


def test_an_unknown_declared_unit_is_refused_naming_every_accepted_one(tmp_path):
    """(It named g and m/s^2 only, though a header in milli-g loads as well.)"""
    p = write(tmp_path, "t,ax (ft/s^2),ay (ft/s^2),az (ft/s^2)\n" + good_rows())
    assert error_of(p) == f"{p}:1: unknown acceleration unit in ax (ft/s^2), ay (ft/s^2), az (ft/s^2); use g, m/s^2 or mg"
    mg = write(tmp_path, "t,ax (mg),ay (mg),az (mg)\n" + "".join(f"{i * 0.02:.2f},100,200,970\n" for i in range(10)), "mg.csv")
    with pytest.warns(FormatWarning, match=r"converted acceleration from mg \(as the header says\) to g"):
        block = formats.load(mg)
    assert block.acc[0].tolist() == pytest.approx([0.1, 0.2, 0.97])


def test_first_problem_in_file_order_is_reported(tmp_path):
    p = write(tmp_path, HEADER + good_rows(3) + "0.06,0.1,0.2,99\n0.02,0.1,0.2,0.9\n0.10,nan,0,0\n")
    assert error_of(p) == f"{p}:5: acceleration magnitude 99.0 g exceeds 50 g (wrong units or a corrupted value?)"


def test_linear_only_columns_message(tmp_path):
    p = write(tmp_path, "t,userAccelerationX,userAccelerationY,userAccelerationZ\n0,0,0,0\n")
    assert "gravity removed" in error_of(p)


def test_ambiguous_columns(tmp_path):
    p = write(tmp_path, "t,x,y,z,acc_x,acc_y,acc_z\n0,0,0,1,0,0,1\n")
    assert "ambiguous header" in error_of(p)


@pytest.mark.parametrize("header, named", [
    ("t,ax,ay,az,ax,ay,az", "columns 2 (ax) and 5 (ax)"),  # two sensors' exports joined side by side
    ("t,ax (g),ay (g),az (g),ax (m/s^2)", "columns 2 (ax (g)) and 5 (ax (m/s^2))"),
])
def test_an_axis_named_twice_is_ambiguous_not_the_first_one(tmp_path, header, named):
    """Which of two columns of one name is the acceleration cannot be told; taking the first
    without a word analysed the other sensor, or the other unit, as often as not."""
    extra = ",5" * (header.count(",") - 3)
    p = write(tmp_path, header + "\n" + "".join(f"{i * 0.02:.2f},0.1,0.2,0.97{extra}\n" for i in range(10)))
    assert error_of(p) == f"{p}:1: ambiguous header: {named} both name acceleration x; keep one"


@pytest.mark.parametrize("header, named", [
    ("t,ax,ay,az,t", "columns 1 (t) and 5 (t)"),  # a time column copied to the end by a spreadsheet
    ("time (s),ax,ay,az,time (ms)", "columns 1 (time (s)) and 5 (time (ms))"),
])
def test_the_time_named_twice_is_ambiguous_not_the_first_one(tmp_path, header, named):
    """As for an acceleration axis named twice: which column holds the time cannot be told, and the
    first was taken without a word."""
    p = write(tmp_path, header + "\n" + "".join(f"{i * 0.02:.2f},0.1,0.2,0.97,{i * 20}\n" for i in range(10)))
    assert error_of(p) == f"{p}:1: ambiguous header: {named} both name the time; keep one"


def test_different_time_columns_are_not_ambiguous(tmp_path):
    """Two time columns of different names (Sensor Logger's time and seconds_elapsed) are still
    ranked, not refused: 't' is read."""
    p = write(tmp_path, "t,ax,ay,az,elapsed\n" + "".join(f"{i * 0.02:.2f},0.1,0.2,0.97,{i}\n" for i in range(10)))
    assert formats.load(p).rate_hz == 50


def test_unknown_extension_and_missing_file(tmp_path):
    p = write(tmp_path, HEADER + good_rows(2), name="x.xlsx")
    assert error_of(p) == f"{p}: unknown file type; expected one of .sbr, .csv, .csv.gz, .txt, .txt.gz, .tsv, .tsv.gz, .cwa, .cwa.gz, .gt3x"
    assert error_of(tmp_path / "nope.csv") == f"{tmp_path / 'nope.csv'}: no such file"


def test_binary_file_named_csv(tmp_path):
    formats.save(SampleBlock([0.0, 0.02], np.ones((2, 3))), tmp_path / "x.sbr")
    p = tmp_path / "x.csv"
    p.write_bytes((tmp_path / "x.sbr").read_bytes())
    assert "binary data, not CSV text (it is a sensorback .sbr recording" in error_of(p)


def test_truncated_gzip_keeps_complete_lines(tmp_path):
    body = (HEADER + good_rows(5000)).encode()
    data = gzip.compress(body)
    p = tmp_path / "cut.csv.gz"
    p.write_bytes(data[: len(data) * 2 // 3])
    with pytest.warns(FormatWarning, match=r"cut\.csv\.gz: gzip stream is truncated; kept the \d+ complete lines"):
        block = formats.load(p)
    assert 100 < len(block) < 5000
    np.testing.assert_allclose(block.t, np.arange(len(block)) * 0.02, atol=1e-9)


@pytest.mark.parametrize("chunk", [None, 1000, 25])  # csv_io.CHUNK_BYTES: one chunk; many; the cut line alone
@pytest.mark.parametrize("tail", ["0.10,0.1,0.2", "0.10,0.1,", "0.10", "0.1"])
def test_plain_csv_cut_in_its_last_row_keeps_the_complete_rows(tmp_path, monkeypatch, chunk, tail):
    """A plain CSV copied or written only in part was refused whole ('short.csv:5006: row has 1
    field...'), where the same file gzipped and cut keeps its complete lines with a warning."""
    from sensorback.formats import csv_io

    if chunk is not None:
        monkeypatch.setattr(csv_io, "CHUNK_BYTES", chunk)
    p = write(tmp_path, HEADER + good_rows(5) + tail, name="short.csv")
    fields = tail.count(",") + 1
    with pytest.warns(FormatWarning) as caught:
        block = formats.load(p)
    said = [str(w.message) for w in caught if "truncated" in str(w.message)]
    assert said == [f"{p}: file is truncated: its last line (7) has {fields} field{'s' if fields > 1 else ''}, "
                    "expected at least 4, and no line end; kept the 5 complete rows before it, dropped that partial line"]
    np.testing.assert_allclose(block.t, np.arange(5) * 0.02, atol=1e-9)


def test_only_a_cut_last_line_is_forgiven(tmp_path):
    """A short row with its line end, or anywhere but last, is still an error; a last row without a
    line end but with all its fields is a row; a cut first row leaves nothing, and says why."""
    assert error_of(write(tmp_path, HEADER + good_rows(3) + "0.06,0.1,0.2\n")) == (
        f"{tmp_path / 'bad.csv'}:5: row has 3 fields, expected at least 4 (columns t, ax, ay, az)")
    p = write(tmp_path, HEADER + good_rows(3) + "0.06,0.1\n" + good_rows(2, 4) + "0.12,0.1")
    assert error_of(p) == f"{p}:5: row has 2 fields, expected at least 4 (columns t, ax, ay, az)"
    p = write(tmp_path, HEADER + good_rows(3) + "0.06,0.1,0.2,0.97")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(formats.load(p)) == 4
    p = write(tmp_path, HEADER + "0.00,0.1")
    assert error_of(p) == (f"{p}:1: header only, no data rows (columns t, ax, ay, az); the file is truncated: "
                           "its last line (2) has 2 fields, expected at least 4, and no line end")


@pytest.mark.parametrize("keep", [5, 40, 45])
def test_gzip_cut_before_its_first_line_is_not_called_empty(tmp_path, keep):
    """A download stopped in its first bytes: the file is not empty, its gzip stream is cut."""
    p = tmp_path / "cut.csv.gz"
    p.write_bytes(gzip.compress((HEADER + good_rows(100)).encode())[:keep])
    assert error_of(p) == f"{p}: gzip stream is truncated before the end of its first line; nothing to read"


def test_gzip_cut_after_its_header_says_so(tmp_path):
    """Cut inside the first data row: 'header only' alone would say the file never had data."""
    packed = gzip.compress((HEADER + good_rows(100)).encode())
    p = tmp_path / "cut.csv.gz"
    p.write_bytes(packed[:60])  # the header line and part of the first row
    assert error_of(p) == (f"{p}:1: header only, no data rows (columns t, ax, ay, az); the gzip stream is "
                           "truncated after line 1")


def test_bytes_after_the_gzip_data_are_told_not_dropped_silently(tmp_path):
    """A second member whose header was damaged (or anything appended to the file) is not gzip: what
    came before is kept, and the note says how much of the file was left unread (gzip -t: 'trailing
    garbage ignored'), instead of analysing half a recording without a word."""
    first = gzip.compress((HEADER + good_rows(100)).encode())
    second = bytearray(gzip.compress(good_rows(100, start=100).encode()))
    second[0] = 0  # its magic is gone
    p = tmp_path / "halves.csv.gz"
    p.write_bytes(first + bytes(second))
    with pytest.warns(FormatWarning, match=rf"halves\.csv\.gz: ignored the last {len(second)} bytes of the file: "
                                           r"they are not gzip data \(kept the 101 complete lines before them\)"):
        block = formats.load(p)
    assert len(block) == 100
    p.write_bytes(first + second[:1])  # a single stray byte is told too
    with pytest.warns(FormatWarning, match=r"ignored the last 1 bytes of the file"):
        formats.load(p)


def test_corrupted_gzip(tmp_path):
    data = bytearray(gzip.compress((HEADER + good_rows(100)).encode()))
    data[20:40] = b"\xff" * 20
    p = tmp_path / "bad.csv.gz"
    p.write_bytes(bytes(data))
    assert "corrupted gzip data" in error_of(p)


# ----------------------------------------------------------------------------- native


def native_file(tmp_path, t, acc, name="bad.sbr", meta=None, *, version=1, crc=True, magic=b"SBREC\x00\r\n"):
    doc = json.dumps(meta if meta is not None else {"device": "fw", "rate_hz": 50}).encode()
    fixed = struct.pack("<8sHHIQI", magic, version, 1, 4096, 0, len(doc))
    c = zlib.crc32(fixed + doc) if crc else 0
    head = (fixed + struct.pack("<I", c) + doc).ljust(4096, b" ")
    rec = np.empty(len(t), dtype=[("t", "<f8"), ("acc", "<f4", (3,))])
    rec["t"], rec["acc"] = t, acc
    p = tmp_path / name
    p.write_bytes(head + rec.tobytes())
    return p


def ok_samples(n=20):
    return np.arange(n) / 50.0, np.tile([0.1, 0.2, 0.97], (n, 1)).astype(np.float32)


def test_native_empty_file(tmp_path):
    p = tmp_path / "e.sbr"
    p.write_bytes(b"")
    assert error_of(p) == f"{p}: empty file (0 bytes), not a sensorback recording"


def test_native_wrong_magic(tmp_path):
    t, acc = ok_samples()
    p = native_file(tmp_path, t, acc, magic=b"RIFF\x00\x00\x00\x00")
    assert error_of(p).startswith(f"{p}: not a sensorback native recording: bad magic")
    p.write_bytes(gzip.compress(p.read_bytes()))
    assert "it looks gzip-compressed" in error_of(p)


def test_native_csv_text_named_sbr(tmp_path):
    p = tmp_path / "x.sbr"
    p.write_text(HEADER + good_rows(3))
    assert "not a sensorback native recording" in error_of(p)


def test_native_corrupted_header_checksum(tmp_path):
    t, acc = ok_samples()
    p = native_file(tmp_path, t, acc)
    raw = bytearray(p.read_bytes())
    raw[45] ^= 0x01  # one bit in the JSON
    p.write_bytes(bytes(raw))
    assert error_of(p) == f"{p}: corrupted header: checksum mismatch (header bytes 0-27 or the metadata JSON were damaged)"


def test_native_corrupted_json_without_checksum(tmp_path):
    t, acc = ok_samples()
    p = native_file(tmp_path, t, acc, crc=False)
    raw = bytearray(p.read_bytes())
    raw[32] = ord("[")
    p.write_bytes(bytes(raw))
    assert "corrupted header: metadata is not valid UTF-8 JSON" in error_of(p)


def test_native_header_length_damaged(tmp_path):
    t, acc = ok_samples()
    p = native_file(tmp_path, t, acc, crc=False)
    raw = bytearray(p.read_bytes())
    raw[12:16] = struct.pack("<I", 10**9)
    p.write_bytes(bytes(raw))
    assert "corrupted header: header_len 1000000000" in error_of(p)


def test_native_newer_version(tmp_path):
    t, acc = ok_samples()
    p = native_file(tmp_path, t, acc, version=2)
    assert "format version 2 is newer than this sensorback reads (1)" in error_of(p)


def test_native_bad_metadata_field(tmp_path):
    t, acc = ok_samples()
    p = native_file(tmp_path, t, acc, meta={"device": "x", "rate_hz": "fast"})
    assert error_of(p) == f"{p}: header field 'rate_hz' must be a positive number, got 'fast'"


def test_native_header_only(tmp_path):
    p = native_file(tmp_path, np.zeros(0), np.zeros((0, 3)))
    assert error_of(p) == f"{p}: recording holds no samples"


def test_native_nan_names_the_record(tmp_path):
    t, acc = ok_samples()
    acc[7, 1] = np.nan
    p = native_file(tmp_path, t, acc)
    assert error_of(p) == f"{p}: record 7 (byte offset {4096 + 7 * 20 + 12}): NaN in column ay"  # ay, not t


def test_native_time_backwards_names_the_record(tmp_path):
    t, acc = ok_samples()
    t[12] = 0.1
    p = native_file(tmp_path, t, acc)
    assert error_of(p).startswith(f"{p}: record 12 (byte offset 4336): timestamp 0.1 goes backwards (previous sample (record 11")


def test_native_exact_duplicates_dropped_and_conflicts_refused(tmp_path):
    t, acc = ok_samples()
    t[5] = t[4]
    p = native_file(tmp_path, t, acc)
    with pytest.warns(FormatWarning, match=r"dropped 1 exact duplicate sample .*first at record 5"):
        assert len(formats.load(p)) == 19
    acc[5] = [0.3, 0.2, 0.97]
    p = native_file(tmp_path, t, acc)
    assert "record 5 (byte offset 4196): duplicate timestamp" in error_of(p)


def test_native_absurd_magnitude(tmp_path):
    t, acc = ok_samples()
    acc[3] = [1e6, 0, 0]
    p = native_file(tmp_path, t, acc)
    assert error_of(p).startswith(f"{p}: record 3 (byte offset 4164): acceleration magnitude 1000000.0 g exceeds 50 g")


def test_native_checks_hold_in_chunked_reading(tmp_path):
    t, acc = ok_samples(100)
    acc[77, 2] = np.inf
    p = native_file(tmp_path, t, acc)
    with pytest.raises(InputError, match=r"record 77 .*infinite value in column az"):
        for _ in formats.iter_blocks(p, chunk_samples=10):
            pass


def test_no_warning_leaks_as_traceback_for_all_cases(tmp_path):
    """Everything above goes through InputError or FormatWarning, never another exception type."""
    cases = ["", "t\n", "a,b\n1,2\n", HEADER + "x,y,z,w\n", HEADER + "0,0,0,1\n0,0,0,2\n"]
    for i, text in enumerate(cases):
        p = write(tmp_path, text, name=f"c{i}.csv")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FormatWarning)
            with pytest.raises(InputError):
                formats.load(p)


@pytest.mark.parametrize("cut", [7, 31, 200, 4095])
def test_native_file_ending_inside_the_header(tmp_path, cut):
    t, acc = ok_samples()
    p = native_file(tmp_path, t, acc)
    p.write_bytes(p.read_bytes()[:cut])
    msg = error_of(p)
    assert ("truncated: file ends inside the header" in msg) or (cut < 8 and "bad magic" in msg)


def test_native_reader_refuses_a_directory(tmp_path):
    from sensorback.formats import read_native

    d = tmp_path / "dir.sbr"
    d.mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        read_native(d)
    assert "is a directory" in error_of(d)


# ----------------------------------------------------------------------------- CSV: row width, encodings


def test_a_row_with_millions_of_fields_is_an_error_not_one_sample(tmp_path):
    """One 20 MB line of 5 M values (line breaks lost) used to load as a single sample; it is
    refused as a line longer than any row once limits.MAX_LINE_BYTES of it is read (a row too
    wide but shorter than that: test_a_row_with_an_unnamed_extra_value_is_an_error)."""
    p = tmp_path / "flat.csv"
    p.write_text(HEADER + ",".join(["0.0", "0", "0", "1"] * 1_250_000) + "\n")
    assert error_of(p) == (f"{p}:2: no line break in the first 65,536 bytes of the line, longer than any "
                           "header or row; the line breaks between rows seem lost")


@pytest.mark.parametrize("text", [
    ",".join(f"{i * 0.02:.2f},0.1,0.2,0.97" for i in range(20_000)),  # no header, no line break at all
    "t,ax,ay,az " + " ".join(f"{i * 0.02:.2f},0.1,0.2,0.97" for i in range(20_000)),  # rows ended by spaces
    "# exported\n" + ",".join(f"{i * 0.02:.2f},0.1,0.2,0.97" for i in range(20_000)) + "\n",  # after a comment
])
@pytest.mark.parametrize("gz", [False, True])
def test_a_file_of_one_endless_line_is_refused_at_its_first_line(tmp_path, text, gz):
    """A file whose line breaks were lost was split into millions of column names (a 40 MB one
    peaked at 1.4 GB) before an error that listed them all, or loaded as one sample: now its first
    line is refused, in one line, once limits.MAX_LINE_BYTES of it has been read."""
    from sensorback import limits

    assert len(text) > 4 * limits.MAX_LINE_BYTES
    p = tmp_path / ("flat.csv.gz" if gz else "flat.csv")
    p.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    line = 2 if text.startswith("#") else 1
    assert error_of(p) == (f"{p}:{line}: no line break in the first 65,536 bytes of the line, longer than any "
                           "header or row; the line breaks between rows seem lost")


def test_a_gzipped_endless_line_is_refused_after_its_first_megabytes(tmp_path):
    """A .csv.gz of one endless line was decompressed whole before the reader saw any of it (a 40
    MB .csv.gz of 125 MB of text peaked at 287 MB; the plain file at 39 MB): the gzip reader hands
    its output on a read (1 MiB) at a time, holding no line back, and the text reader refuses the
    line once limits.MAX_LINE_BYTES of it is read: after the file's first read, not at its end.
    The reads are the whole text, nothing lost."""
    from sensorback.formats import csv_io
    from sensorback.formats.notes import LoadNotes

    # 2,000,000 values "0.dddddd" with random digits, comma-separated, made without a Python loop
    cells = np.empty((2_000_000, 9), np.uint8)
    cells[:, :2] = np.frombuffer(b"0.", np.uint8)
    cells[:, 2:8] = ord("0") + np.random.default_rng(1).integers(0, 10, (cells.shape[0], 6), np.uint8)
    cells[:, 8] = ord(",")
    text = cells.tobytes()[:-1]
    p = tmp_path / "flat.csv.gz"
    p.write_bytes(gzip.compress(text, compresslevel=1))  # random digits: 8 MB of gzip, made fast
    assert p.stat().st_size > 4 * csv_io._READ_BYTES
    source = csv_io._Source(p, LoadNotes(p))
    try:
        with pytest.raises(InputError, match=r"flat\.csv\.gz:1: no line break in the first 65,536 bytes"):
            next(source.text())
        assert source._file.tell() <= 2 * csv_io._READ_BYTES
    finally:
        source.close()
    source = csv_io._Source(p, LoadNotes(p))
    try:
        pieces = list(source._raw)  # the gzip reader alone
    finally:
        source.close()
    assert max(map(len, pieces)) <= csv_io._READ_BYTES
    assert b"".join(pieces) == text


@pytest.mark.parametrize("line", ["# " + "x" * 100_000, "# " + "x" * (3 << 20), ",".join(["0.1"] * 40_000)],
                         ids=["comment-100k", "comment-3M", "row-160k"])
@pytest.mark.parametrize("gz", [False, True])
def test_a_file_cut_inside_an_overlong_line_is_refused_at_that_line(tmp_path, line, gz):
    """Cut inside a line longer than a read (1 MiB), a .csv.gz was an error of its own ('gzip stream
    is truncated inside line 102, after ... bytes of it'); cut inside one of 64 KiB to 1 MiB it kept
    the lines before with a note, and a plain file cut so read on. No row is that long, so the line
    is the error, named by its number, the same plain or gzip."""
    text = (HEADER + good_rows(100) + line).encode()
    if gz:
        z = zlib.compressobj(wbits=31)  # gzip, flushed in the middle of the long line: the cut
        text = z.compress(text) + z.flush(zlib.Z_SYNC_FLUSH)
    p = tmp_path / ("cut.csv.gz" if gz else "cut.csv")
    p.write_bytes(text)
    assert error_of(p) == (f"{p}:102: no line break in the first 65,536 bytes of the line, longer than any "
                           "header or row; the line breaks between rows seem lost")


@pytest.mark.parametrize("chunk", [None, 1000])  # csv_io.CHUNK_BYTES: the default; many chunks
@pytest.mark.parametrize("gz", [False, True])
def test_a_line_too_long_anywhere_is_the_error_told_first(tmp_path, monkeypatch, chunk, gz):
    """A row line far longer than any row, deep in the file (its line breaks lost over a stretch), is
    an error naming its line, plain or gzip, whatever the chunk size: told before a row too wide
    that comes earlier, as corrupt gzip data is, since the reader may meet it first."""
    from sensorback.formats import csv_io

    if chunk is not None:
        monkeypatch.setattr(csv_io, "CHUNK_BYTES", chunk)
    flat = ",".join(f"{i * 0.02:.2f},0.1,0.2,0.97" for i in range(5000, 10_000))  # 5000 rows on one line
    text = HEADER + good_rows(5000) + flat + "\n" + good_rows(5000, 10_000)
    name = "long.csv.gz" if gz else "long.csv"
    p = tmp_path / name
    p.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    expected = (f"{p}:5002: no line break in the first 65,536 bytes of the line, longer than any header or "
                "row; the line breaks between rows seem lost")
    assert error_of(p) == expected
    text = HEADER + good_rows(5) + "0.10,0.1,0.2,0.97,5\n" + good_rows(4994, 6) + flat + "\n" + good_rows(10, 10_000)
    p.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    assert error_of(p) == expected
    if gz:  # corrupt data after it is told first, as before any other error
        packed = bytearray(gzip.compress(text.encode()))
        packed[-200:-180] = b"\xff" * 20
        p.write_bytes(bytes(packed))
        assert error_of(p).startswith(f"{p}: corrupted gzip data (")


def test_the_line_length_check_finds_the_first_line_too_long():
    """_refuse_long_line looks for a line break every half bound, not at every byte: checked against
    every line's length on texts whose lines are near the bound, at every place, the first one
    begun (run) bytes before the text (in the piece before)."""
    from sensorback.formats import csv_io
    from sensorback.limits import MAX_LINE_BYTES

    rng = np.random.default_rng(3)
    for _ in range(300):
        lengths = rng.choice([0, 1, 100, MAX_LINE_BYTES - 1, MAX_LINE_BYTES, MAX_LINE_BYTES + 1,
                              MAX_LINE_BYTES + 2, 2 * MAX_LINE_BYTES],
                             p=[.1, .1, .3, .1, .15, .1, .05, .1], size=int(rng.integers(1, 8)))
        ended = bool(rng.integers(2))  # the last line has its line break
        text = b"\n".join(b"x" * int(n) for n in lengths) + (b"\n" if ended else b"")
        before = int(rng.integers(0, 1000))
        run = int(rng.choice([0, 0, 1, 100, MAX_LINE_BYTES - 100, MAX_LINE_BYTES]))
        too_long = [i for i, n in enumerate(lengths) if n + (run if i == 0 else 0) > MAX_LINE_BYTES]
        if not too_long:
            csv_io._refuse_long_line("f.csv", text, before, run)
            continue
        with pytest.raises(InputError) as e:
            csv_io._refuse_long_line("f.csv", text, before, run)
        assert str(e.value).startswith(f"f.csv:{before + too_long[0] + 1}: no line break"), (lengths, before, run)


def test_a_gzipped_file_with_old_mac_line_ends_is_read_whole(tmp_path):
    """Lines ended by CR alone hold no LF for the gzip reader to cut at: handed on in parts as they
    decompress, they still read as every row."""
    rows = good_rows(150_000).replace("\n", "\r")
    assert len(rows) > 2 * (1 << 20)
    p = tmp_path / "mac.csv.gz"
    p.write_bytes(gzip.compress((HEADER.replace("\n", "\r") + rows).encode()))
    block = formats.load(p)
    assert len(block) == 150_000
    np.testing.assert_allclose(block.t, np.arange(150_000) * 0.02, atol=1e-9)


def test_a_row_with_an_unnamed_extra_value_is_an_error(tmp_path):
    p = write(tmp_path, HEADER + good_rows(5) + "0.10,0.1,0.2,0.97,5\n" + good_rows(2, 6))
    assert error_of(p) == f"{p}:7: row has 5 fields, but the header (line 1) names 4; every column needs a name in the header"


def test_trailing_separators_and_quoted_separators_are_not_extra_fields(tmp_path):
    p = write(tmp_path, "t,ax,ay,az,label\n" + "".join(f"{i * 0.02:.2f},0.1,0.2,0.97,\"sit, desk\",\n" for i in range(50)))
    assert len(formats.load(p)) == 50


def test_headerless_rows_are_checked_against_the_first_row(tmp_path):
    p = write(tmp_path, "0.00,0.1,0.2,0.97\n0.02,0.1,0.2,0.97,0.5,0.5\n", name="raw.csv")
    assert error_of(p).startswith(f"{p}:2: row has 6 fields, but the first row has 4")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text_is_read_like_utf8(tmp_path, encoding):
    """Windows spreadsheets save "Unicode text" as UTF-16; it used to be refused as binary data."""
    text = "# from a spreadsheet\n" + '"t";"ax (m/s²)";"ay (m/s²)";"az (m/s²)"\n' + "".join(
        f"{i * 0.02:.2f};0,98;1,96;9,6\n" for i in range(100))
    p = tmp_path / "unicode.csv"
    p.write_bytes(text.encode(encoding))
    with pytest.warns(FormatWarning, match=r"converted acceleration from m/s\^2 \(as the header says\)"):
        block = formats.load(p)
    assert len(block) == 100
    np.testing.assert_allclose(block.acc[0], np.array([0.98, 1.96, 9.6]) / 9.80665, rtol=1e-6)
