"""Native .sbr format: bit-exact round trips, the byte layout of the spec, chunked reading, speed."""

from __future__ import annotations

import json
import mmap
import re
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli_checks import one_line_error
from sensorback import formats
from sensorback.cli import app
from sensorback.errors import InputError
from sensorback.formats import FormatWarning, native
from sensorback.formats.native import NativeWriter, iter_native, read_native, read_native_header
from sensorback.samples import SampleBlock


def irregular_block(n=5000, seed=1, start_time=1_700_000_000.25):
    """Jittered 50 Hz with two gaps: timing quirks must survive as plain timestamps."""
    rng = np.random.default_rng(seed)
    dt = 0.02 + rng.normal(0, 0.001, n)
    dt[n // 5] += 37.5  # a gap
    dt[n // 2] += 0.9
    t = np.cumsum(np.abs(dt)) - abs(dt[0])
    acc = rng.normal([0.1, -0.2, 0.97], 0.3, (n, 3)).astype(np.float32)
    meta = {"firmware": "1.2.3", "wearer": "Zoë", "calibration": {"bias": [0.01, -0.02, 0.0]}, "n": 3}
    return SampleBlock(t, acc, device="sensorback-clip ⚙ 7", rate_hz=50.0, start_time=start_time, meta=meta)


def assert_same(a: SampleBlock, b: SampleBlock):
    assert a.t.dtype == np.float64 and a.acc.dtype == np.float32 and a.acc.shape == (len(a), 3)
    assert np.array_equal(a.t.view(np.int64), b.t.view(np.int64))  # bit-exact, not just close
    assert np.array_equal(a.acc.view(np.int32), b.acc.view(np.int32))
    assert (a.device, a.rate_hz, a.start_time) == (b.device, b.rate_hz, b.start_time)


# ----------------------------------------------------------------------------- round trips


def test_save_load_round_trip_is_bit_exact_with_metadata(tmp_path):
    block = irregular_block()
    path = tmp_path / "day.sbr"
    formats.save(block, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean file loads without any note
        back = formats.load(path)
    assert_same(back, block)
    assert back.meta == block.meta
    assert "notes" not in back.meta
    assert back.acc.flags.c_contiguous and back.t.flags.c_contiguous
    back.acc[0, 0] = 5.0  # loaded arrays are writable (copy-on-write), the file is untouched
    assert formats.load(path).acc[0, 0] == block.acc[0, 0]


def test_load_reports_progress_with_the_size_taken_before_reading(tmp_path, monkeypatch):
    """load's progress for a .sbr: (0, total=size) before reading, (size, total=size) after, with the
    size taken before the read: a file removed once read is a good load (it stat'ed the file again
    for the last call, and a removed file turned the good load into an error)."""
    block = irregular_block(n=500)
    path = tmp_path / "x.sbr"
    formats.save(block, path)
    size = path.stat().st_size

    def read_then_remove(p):
        out = read_native(p)
        Path(p).unlink()
        return out

    monkeypatch.setattr(formats, "read_native", read_then_remove)
    calls = []
    back = formats.load(path, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, size), (size, size)] and not path.exists()
    assert_same(back, block)


def test_start_time_none_and_empty_meta_round_trip(tmp_path):
    block = SampleBlock(np.arange(10) / 25.0, np.ones((10, 3)), device="x", rate_hz=25.0)
    formats.save(block, tmp_path / "a.sbr")
    back = formats.load(tmp_path / "a.sbr")
    assert_same(back, block)
    assert back.start_time is None and back.meta == {}


@pytest.mark.parametrize("compact", [True, False])
def test_writer_appends_round_trip(tmp_path, compact):
    block = irregular_block(3000)
    path = tmp_path / "rec.sbr"
    with NativeWriter(path, device=block.device, rate_hz=50.0, start_time=block.start_time, meta=block.meta, compact=compact) as w:
        for i in range(0, 3000, 137):
            w.append(block.slice(i, i + 137))
        assert w.n_samples == 3000
    raw = path.read_bytes()
    assert struct.unpack_from("<H", raw, 10)[0] == (native.COLUMNS if compact else native.ROWS)
    assert struct.unpack_from("<Q", raw, 16)[0] == 3000  # marked complete on close
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = read_native(path)
    assert_same(back, block)
    assert back.meta == block.meta
    assert not list(tmp_path.glob("*.compacting"))


def test_writer_rejects_time_going_backwards_or_nan(tmp_path):
    with NativeWriter(tmp_path / "w.sbr", compact=False) as w:
        w.append(SampleBlock([0.0, 0.02], np.ones((2, 3))))
        with pytest.raises(ValueError, match="does not follow"):
            w.append(SampleBlock([0.02, 0.04], np.ones((2, 3))))
        with pytest.raises(ValueError, match="strictly increase"):
            w.append(SampleBlock([0.1, 0.1], np.ones((2, 3))))
        with pytest.raises(ValueError, match="NaN"):
            w.append(SampleBlock([0.2], [[np.nan, 0, 1]]))
        w.append(SampleBlock([0.06], np.ones((1, 3))))
    assert np.array_equal(read_native(tmp_path / "w.sbr").t, [0.0, 0.02, 0.06])


def test_writer_flushes_every_second_of_sample_time(tmp_path):
    """While recording, everything older than 1 s of sample time is already in the file."""
    path = tmp_path / "live.sbr"
    w = NativeWriter(path, rate_hz=50.0, compact=False)
    try:
        for i in range(0, 500, 3):  # 3 samples per append, 10 s in total
            t = np.arange(i, i + 3) / 50.0
            w.append(SampleBlock(t, np.tile([0.0, 0.0, 1.0], (3, 1))))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                on_disk = read_native(path).t if i >= 50 else None
            if on_disk is not None:
                appended = np.arange(i + 3) / 50.0
                must_have = appended[appended <= t[-1] - 1.0]
                assert np.array_equal(on_disk[: len(must_have)], must_have)
                assert np.array_equal(on_disk, appended[: len(on_disk)])
    finally:
        w.close()


def test_update_meta_rewrites_header_in_place(tmp_path):
    path = tmp_path / "m.sbr"
    with NativeWriter(path, device="clip", rate_hz=50.0, compact=False) as w:
        w.append(SampleBlock([0.0, 0.02], np.ones((2, 3))))
        w.update_meta(start_time=1_700_000_123.5, meta={"note": "start time from first BLE packet"})
        with pytest.raises(ValueError, match="fit"):
            w.update_meta(meta={"huge": "x" * 100_000})
    back = read_native(path)
    assert back.start_time == 1_700_000_123.5 and back.device == "clip"
    assert back.meta == {"note": "start time from first BLE packet"}
    assert len(back) == 2


def test_header_only_reader(tmp_path):
    formats.save(irregular_block(100), tmp_path / "h.sbr")
    hdr = read_native_header(tmp_path / "h.sbr")
    assert hdr.n_samples == 100 and hdr.rate_hz == 50.0 and hdr.meta["firmware"] == "1.2.3"


# ----------------------------------------------------------------------------- the spec, byte by byte


def firmware_style_file(path, t, acc, *, layout=1, n_field=0, crc=True, meta=None):
    """Write a file the way docs/native-format.md tells a firmware author to, with struct only."""
    doc = json.dumps(meta if meta is not None else {"device": "fw", "rate_hz": 100, "start_time": None}).encode()
    header_len = 4096
    fixed = struct.pack("<8sHHIQI", b"SBREC\x00\r\n", 1, layout, header_len, n_field, len(doc))
    c = zlib.crc32(fixed + doc) if crc else 0
    header = fixed + struct.pack("<I", c) + doc
    header += b" " * (header_len - len(header))
    if layout == 1:
        body = b"".join(struct.pack("<dfff", ti, *a) for ti, a in zip(t, acc))
    else:
        body = np.asarray(t, "<f8").tobytes() + np.asarray(acc, "<f4").tobytes()
    path.write_bytes(header + body)


@pytest.mark.parametrize("layout, crc", [(1, True), (1, False), (2, True)])
def test_file_written_from_the_spec_alone_loads(tmp_path, layout, crc):
    t = np.arange(300) / 100.0
    acc = np.column_stack([np.sin(t), np.cos(t), np.full(300, 0.5)]).astype(np.float32)
    path = tmp_path / "fw.sbr"
    firmware_style_file(path, t, acc, layout=layout, n_field=300 if layout == 2 else 0, crc=crc)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = read_native(path)
    assert back.device == "fw" and back.rate_hz == 100.0 and back.start_time is None
    assert np.array_equal(back.t, t) and np.array_equal(back.acc, acc)


def test_our_header_matches_the_documented_layout(tmp_path):
    formats.save(irregular_block(10), tmp_path / "x.sbr")
    raw = (tmp_path / "x.sbr").read_bytes()
    magic, version, layout, header_len, n, json_len, crc = struct.unpack_from("<8sHHIQII", raw)
    assert magic == b"SBREC\x00\r\n" and version == 1 and layout == 2 and n == 10
    assert header_len % 4096 == 0 and len(raw) == header_len + 20 * n
    assert crc == zlib.crc32(raw[:28] + raw[32 : 32 + json_len])
    assert set(raw[32 + json_len : header_len]) == {0x20}  # padded with spaces
    doc = json.loads(raw[32 : 32 + json_len])
    assert doc["device"] == "sensorback-clip ⚙ 7" and doc["rate_hz"] == 50.0
    assert doc["start_time"] == 1_700_000_000.25 and doc["meta"]["n"] == 3
    t = np.frombuffer(raw, "<f8", n, header_len)
    assert np.array_equal(t, irregular_block(10).t)


# ----------------------------------------------------------------------------- chunked reading


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize("chunk", [1, 7, 999, 5000, 10**6])
def test_chunked_reader_equals_whole_load(tmp_path, compact, chunk):
    block = irregular_block(2500 if chunk == 1 else 5000)
    path = tmp_path / "c.sbr"
    with NativeWriter(path, device=block.device, rate_hz=50.0, start_time=block.start_time, compact=compact) as w:
        w.append(block)
    whole = formats.load(path)
    parts = list(formats.iter_blocks(path, chunk_samples=chunk))
    assert all(0 < len(p) <= chunk for p in parts)
    assert_same(SampleBlock.concat(parts), whole)
    assert all(p.start_time == block.start_time for p in parts)


def test_chunked_reader_checks_across_chunk_edges(tmp_path):
    t = np.arange(100) / 50.0
    t[50] = t[49]  # conflicting duplicate exactly at a chunk edge
    acc = np.tile([0.0, 0.0, 1.0], (100, 1)).astype(np.float32)
    acc[50] = [0.1, 0.0, 1.0]
    path = tmp_path / "edge.sbr"
    firmware_style_file(path, t, acc)
    with pytest.raises(InputError, match=r"record 50 .*duplicate timestamp.*record 49"):
        list(iter_native(path, chunk_samples=50))


def test_iter_blocks_on_csv_slices_the_whole_load(tmp_path):
    block = irregular_block(1234, start_time=None)
    with pytest.warns(FormatWarning, match="CSV does not keep the metadata 'calibration'"):
        formats.save(block, tmp_path / "x.csv")
    whole = formats.load(tmp_path / "x.csv")
    parts = list(formats.iter_blocks(tmp_path / "x.csv", chunk_samples=500))
    assert [len(p) for p in parts] == [500, 500, 234]
    assert np.array_equal(SampleBlock.concat(parts).acc, whole.acc)


# ----------------------------------------------------------------------------- speed


def _backing(a: np.ndarray):
    while isinstance(a, np.ndarray):
        a = a.base
    return a.obj if isinstance(a, memoryview) else a


def test_a_column_file_loads_as_views_on_one_memory_map(tmp_path):
    """What makes a day at 50 Hz load in about one np.copy of acc (the bar, measured side by side in
    benchmarks/throughput.py, "load 6 h at 50 Hz from .sbr", not timed here): the column layout is
    neither parsed nor copied; t and acc are zero-copy views onto one memory map of the file."""
    n = 200_000
    rng = np.random.default_rng(0)
    block = SampleBlock(np.arange(n) / 50.0, rng.normal(0, 0.5, (n, 3)).astype(np.float32), rate_hz=50.0)
    path = tmp_path / "big.sbr"
    formats.save(block, path)
    loaded = formats.load(path)
    assert not loaded.t.flags.owndata and not loaded.acc.flags.owndata
    backing = _backing(loaded.t)
    assert isinstance(backing, mmap.mmap) and _backing(loaded.acc) is backing
    np.testing.assert_array_equal(loaded.t, block.t)
    np.testing.assert_array_equal(loaded.acc, block.acc)


# ----------------------------------------------------------------------------- where a bad value is


def write_layout(path: Path, block: SampleBlock, layout: str) -> Path:
    """block as a .sbr in the layout named: columns (formats.save) or rows (a recorder's file)."""
    if layout == "columns":
        formats.save(block, path)
    else:
        with NativeWriter(path, device=block.device, rate_hz=block.rate_hz, start_time=block.start_time,
                          compact=False) as w:
            w.append(block)
    assert struct.unpack_from("<H", path.read_bytes(), 10)[0] == (native.COLUMNS if layout == "columns" else native.ROWS)
    return path


def refusal(path, chunk_samples: int | None = None) -> str:
    with pytest.raises(InputError) as e:
        if chunk_samples is None:
            formats.load(path)
        else:
            for _ in formats.iter_blocks(path, chunk_samples=chunk_samples):
                pass
    assert "\n" not in str(e.value)
    return str(e.value)


def replace_once(path: Path, old: bytes, new: bytes) -> int:
    """Overwrite the one place in the file holding the bytes old; return its offset."""
    raw = bytearray(path.read_bytes())
    at = raw.find(old)
    assert at > 0 and raw.find(old, at + 1) == -1
    raw[at:at + len(old)] = new
    path.write_bytes(bytes(raw))
    return at


def value_at(path: Path, offset: int, dtype: str, count: int = 1) -> np.ndarray:
    with open(path, "rb") as f:
        f.seek(offset)
        return np.frombuffer(f.read(np.dtype(dtype).itemsize * count), dtype=dtype)


def reported_offset(message: str, k: int) -> int:
    found = re.search(rf"record {k} \(byte offset (\d+)\)", message)
    assert found, message
    return int(found.group(1))


@pytest.mark.parametrize("layout", ["columns", "rows"])
@pytest.mark.parametrize("column", ["t", "ax", "ay", "az"])
@pytest.mark.parametrize("chunk", [None, 300])
def test_a_nan_is_reported_at_the_byte_offset_where_it_is(tmp_path, layout, column, chunk):
    """A NaN in ax of record 1000 of a columns file was reported at the offset of that record's t
    (16192 instead of 373304); in a rows file at the record's start, 8 to 16 bytes early. The
    NaN is written over a value found by its bytes, and read back at the offset reported."""
    block, k = irregular_block(1000), 700
    if column == "t":
        dtype, old = "<f8", np.float64(block.t[k]).tobytes()
    else:
        block.acc[k, "xyz".index(column[1])] = 0.123456789
        dtype, old = "<f4", np.float32(0.123456789).tobytes()
    path = write_layout(tmp_path / "nan.sbr", block, layout)
    at = replace_once(path, old, np.array([np.nan], dtype=dtype).tobytes())
    said = refusal(path, chunk)
    assert said == f"{path}: record {k} (byte offset {at}): NaN in column {column}"
    assert np.isnan(value_at(path, reported_offset(said, k), dtype)[0])


@pytest.mark.parametrize("layout", ["columns", "rows"])
def test_an_absurd_magnitude_and_a_step_back_are_reported_where_their_values_are(tmp_path, layout):
    """|a| over 50 g points at the three values (ax first); a timestamp going back at its t."""
    block, k = irregular_block(1000), 400
    block.acc[k] = [60.0, 0.5, 0.25]
    path = write_layout(tmp_path / "big.sbr", block, layout)
    said = refusal(path)
    assert said.endswith("acceleration magnitude 60.0 g exceeds 50 g (wrong units or a corrupted value?)")
    assert value_at(path, reported_offset(said, k), "<f4", 3).tolist() == [60.0, 0.5, 0.25]

    block = irregular_block(1000)
    back = float(block.t[k - 3])
    path = write_layout(tmp_path / "back.sbr", block, layout)
    replace_once(path, np.float64(block.t[k]).tobytes(), np.float64(back).tobytes())
    said = refusal(path, chunk_samples=128)
    assert f"record {k} (byte offset " in said and f"timestamp {back!r} goes backwards" in said
    assert value_at(path, reported_offset(said, k), "<f8")[0] == back
    assert value_at(path, reported_offset(said, k - 1), "<f8")[0] == block.t[k - 1]  # "previous sample (record k-1 ...)"


# ----------------------------------------------------------------------------- acceleration units


RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"


def scaled(block: SampleBlock, factor: float) -> SampleBlock:
    return SampleBlock(block.t, (block.acc * factor).astype(np.float32), device=block.device, rate_hz=block.rate_hz,
                       start_time=block.start_time)


NOT_G = ("but a .sbr file holds g (about 1 with gravity included); not converted, as the file says g: write it "
         "again with the values divided by")


@pytest.mark.parametrize("layout", ["columns", "rows"])
@pytest.mark.parametrize("factor,said", [
    (9.80665, f"values look like m/s^2 (median |a| MED), {NOT_G} 9.80665"),
    (1000.0, f"values look like milli-g (median |a| MED), {NOT_G} 1000"),
    (100.0, ("median |a| is MED, but a .sbr file holds g with gravity included, about 1; the values are not in g, "
             "m/s^2 or mg")),
    (0.05, ("median |a| is MED, but a .sbr file holds g with gravity included, about 1; the values are not in g, "
            "m/s^2 or mg; gravity seems to have been removed")),
])
def test_a_recording_not_in_g_is_refused_whole_in_chunks_and_by_analyze(tmp_path, layout, factor, said):
    """demo.sbr with every value in m/s^2 was analysed as g without a word (exit 0, wrong worn
    time), and in mg it was refused as '1000 g exceeds 50 g' at record 0: a .sbr holds g, so values
    in another unit are refused, naming what they look like, by the judgement CSV uses for its unit.
    The median said is judged from rows spread over the file (units.judged_runs), so it is checked
    against the whole file's to within 2 %."""
    block = scaled(formats.load(RECORDINGS / "demo.sbr"), factor)
    path = write_layout(tmp_path / "demo.sbr", block, layout)
    whole = float(np.median(np.linalg.norm(block.acc.astype(np.float64), axis=1)))
    said_by = [refusal(path), refusal(path, chunk_samples=1000),
               one_line_error(CliRunner().invoke(app, ["analyze", str(path)])).removeprefix("error: ")]
    assert said_by[0] == said_by[1] == said_by[2]
    med = re.search(r"median \|a\|(?: is)? ([0-9.e+-]+)", said_by[0]).group(1)
    assert said_by[0] == f"{path}: {said.replace('MED', med)}"
    assert float(med) == pytest.approx(whole, rel=0.02)


def test_the_same_values_as_csv_are_judged_alike_and_converted(tmp_path):
    """The one judgement of units (formats/units.py): a CSV that names no unit is converted, with a
    note; the .sbr, which says g, is refused (above)."""
    block = scaled(formats.load(RECORDINGS / "demo.sbr"), 9.80665)
    path = tmp_path / "demo.csv"
    formats.save(block, path)
    with pytest.warns(FormatWarning, match=r"values look like m/s\^2 \(median \|a\| 8\.91\), converted to g"):
        back = formats.load(path)
    np.testing.assert_allclose(back.acc, block.acc / 9.80665, rtol=1e-6)


def test_a_long_recording_is_judged_over_its_whole_length_before_any_chunk(tmp_path):
    """Judged from stretches spread over the file (units.judged_runs), not from its first chunk: a
    recording in g for its first third and in m/s^2 after is refused before the first chunk, all in
    g, is handed out, and the whole load says the same."""
    demo = formats.load(RECORDINGS / "demo.sbr")
    reps = 7  # 309k samples: far more than the 64 stretches of 64 judged, so they are spread
    t = np.concatenate([demo.t + i * 1000.0 for i in range(reps)])
    acc = np.concatenate([demo.acc] * reps)
    acc[len(acc) // 3:] *= np.float32(9.80665)
    for layout in ("columns", "rows"):
        path = write_layout(tmp_path / f"{layout}.sbr", SampleBlock(t, acc, rate_hz=50.0), layout)
        said = refusal(path)
        assert said.startswith(f"{path}: values look like m/s^2 (median |a| ")
        handed_out = []
        with pytest.raises(InputError) as e:
            for b in formats.iter_blocks(path, chunk_samples=50_000):
                handed_out.append(len(b))
        assert handed_out == [] and str(e.value) == said
