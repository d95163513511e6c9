"""Crash safety of .sbr: torn tails, zero-filled tails, truncation, and a real SIGKILL mid-recording."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from sensorback import formats
from sensorback.errors import InputError
from sensorback.formats import FormatWarning, NativeWriter
from sensorback.formats.native import REC
from sensorback.samples import SampleBlock
from conftest import DEADLINE_S

REPO = Path(__file__).resolve().parents[1]


def sample(i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic sample i (so a killed child's output can be checked bit for bit)."""
    t = i / 50.0
    acc = np.column_stack([0.5 * np.sin(i * 0.01), 0.5 * np.cos(i * 0.01), 0.8 + (i % 13) / 100.0])
    return t, acc.astype(np.float32)


def rows_file(tmp_path, n=1000) -> tuple[Path, int]:
    """A recording left in the streaming (rows) layout, as a crash leaves it."""
    path = tmp_path / "day.sbr"
    w = NativeWriter(path, device="clip", rate_hz=50.0, compact=False, flush_interval_s=0.0)
    t, acc = sample(np.arange(n))
    w.append(SampleBlock(t, acc))
    w.flush()
    os.close(w._fd)  # simulate death: no close(), header never marked complete
    w._closed = True
    header_len = path.stat().st_size - REC * n
    return path, header_len


def load_with_notes(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block = formats.load(path)
    notes = [str(w.message) for w in caught if issubclass(w.category, FormatWarning)]
    assert notes == block.meta.get("notes", [])
    return block, notes


def test_unclosed_file_loads_everything_without_notes(tmp_path):
    path, _ = rows_file(tmp_path)
    block, notes = load_with_notes(path)
    assert len(block) == 1000 and notes == []


def test_truncation_at_random_offsets_recovers_every_whole_record(tmp_path):
    path, h = rows_file(tmp_path)
    full = path.read_bytes()
    t_all, acc_all = sample(np.arange(1000))
    rng = np.random.default_rng(7)
    offsets = sorted(set(rng.integers(h + 1, len(full), 40).tolist()) | {h + REC, h + 13, len(full) - 1})
    cut_path = tmp_path / "cut.sbr"
    for off in offsets:
        cut_path.write_bytes(full[:off])
        k, partial = divmod(off - h, REC)
        if k == 0:
            # (t=0.0 and ax=0.0 make the first 13 bytes zeros, read as a crash's zero-fill)
            with pytest.raises(InputError, match=r"cut\.sbr: recording holds no samples \(dropped .*13 bytes"):
                formats.load(cut_path)
            continue
        block, notes = load_with_notes(cut_path)
        assert len(block) == k, off
        assert np.array_equal(block.t, t_all[:k]) and np.array_equal(block.acc, acc_all[:k])
        if partial:
            # Usually "dropped N trailing bytes of a partial record"; when the torn record's
            # written bytes are zeros on a 512-byte boundary it is reported as zero-fill instead.
            assert len(notes) == 1 and notes[0].startswith(f"{cut_path}: dropped ")
            assert f"dropped {partial} trailing bytes of a partial record" in notes[0] or "zero-filled" in notes[0]
        else:
            assert notes == []


@pytest.mark.parametrize("torn_at", [0, 3, 8, 19])
@pytest.mark.parametrize("zero_bytes", [20, 4096, 3 * 4096 + 100])
def test_zero_filled_tail_is_dropped_with_the_record_it_tore(tmp_path, torn_at, zero_bytes):
    """After a power cut some filesystems keep the file length but not the last blocks' data."""
    path, h = rows_file(tmp_path)
    full = path.read_bytes()
    keep_records = 700
    cut = h + REC * keep_records + torn_at  # real bytes end inside record 700 (or on its start)
    path.write_bytes(full[:cut] + b"\x00" * zero_bytes)
    block, notes = load_with_notes(path)
    t_all, acc_all = sample(np.arange(keep_records))
    assert np.array_equal(block.t, t_all) and np.array_equal(block.acc, acc_all)
    assert len(notes) == 1 and "zero-filled tail" in notes[0] and str(path) in notes[0]


def test_zero_tail_on_a_block_boundary_shorter_than_a_record(tmp_path):
    path, h = rows_file(tmp_path)
    full = path.read_bytes()
    # real data up to a 512-aligned offset, then 10 zero bytes: a torn record, not data
    aligned = (h + REC * 600) // 512 * 512
    path.write_bytes(full[:aligned] + b"\x00" * 10)
    block, notes = load_with_notes(path)
    assert len(block) == (aligned - h) // REC
    assert "zero-filled" in notes[0]


def test_record_ending_in_zero_bytes_is_kept(tmp_path):
    """az == 0.0 ends a record with 4 zero bytes; that is data, not a crash tail."""
    t = np.arange(5) / 50.0
    acc = np.array([[0.1, 0.2, 0.9]] * 4 + [[0.9, 0.3, 0.0]], dtype=np.float32)
    path = tmp_path / "z.sbr"
    w = NativeWriter(path, compact=False)
    w.append(SampleBlock(t, acc))
    w.flush()
    os.close(w._fd)
    w._closed = True
    # make sure the zero run does not happen to start on a 512 boundary
    assert (path.stat().st_size - 4) % 512 != 0
    block, notes = load_with_notes(path)
    assert len(block) == 5 and notes == []


def test_closed_file_truncated_later_is_recovered_with_a_note(tmp_path):
    for compact in (False, True):
        path = tmp_path / f"c{compact}.sbr"
        t, acc = sample(np.arange(500))
        with NativeWriter(path, compact=compact) as w:
            w.append(SampleBlock(t, acc))
        data = path.read_bytes()
        path.write_bytes(data[:-50])
        block, notes = load_with_notes(path)
        k = 497 if not compact else (500 * REC - 50 - 8 * 500) // 12
        assert len(block) == k and np.array_equal(block.acc, acc[:k]) and np.array_equal(block.t, t[:k])
        assert any("truncated" in n for n in notes)


def test_columns_file_cut_inside_the_time_column_is_an_error(tmp_path):
    path = tmp_path / "col.sbr"
    t, acc = sample(np.arange(500))
    formats.save(SampleBlock(t, acc), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 12 * 500 - 8])
    with pytest.raises(InputError, match=r"col\.sbr: truncated: .*no acceleration data left"):
        formats.load(path)


def test_chunked_reader_applies_the_same_recovery(tmp_path):
    path, h = rows_file(tmp_path)
    full = path.read_bytes()
    path.write_bytes(full[: h + REC * 321 + 5])
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        parts = list(formats.iter_blocks(path, chunk_samples=100))
    assert [len(p) for p in parts] == [100, 100, 100, 21]
    assert "dropped 5 trailing bytes" in parts[0].meta["notes"][0]
    assert all("notes" not in p.meta for p in parts[1:])


CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[2])
    sys.path.insert(0, sys.argv[3])
    from test_formats_crash import sample
    from sensorback.formats import NativeWriter
    from sensorback.samples import SampleBlock

    with NativeWriter(sys.argv[1], device="kill-test", rate_hz=50.0) as w:
        i = 0
        while True:
            k = 7 + i % 5
            t, acc = sample(np.arange(i, i + k))
            w.append(SampleBlock(t, acc))
            i += k
            sys.stdout.write(repr(float(t[-1])) + "\\n")
            sys.stdout.flush()
    """
)


@pytest.mark.parametrize("kill_after_s", [3.0, 11.3, 24.7])
def test_sigkill_mid_recording_loses_at_most_the_last_second(tmp_path, kill_after_s):
    path = tmp_path / "killed.sbr"
    errors = (tmp_path / "stderr.txt").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(REPO), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    reported = []
    try:
        for line in proc.stdout:
            reported.append(float(line))
            if reported[-1] >= kill_after_s:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        # Read through the same buffered reader: lines it already buffered count as appended.
        reported += [float(x) for x in proc.stdout.read().split()]
        proc.wait(timeout=DEADLINE_S)
    errors.seek(0)
    err = errors.read()
    errors.close()
    assert proc.returncode == -signal.SIGKILL, err
    last_appended = max(reported)

    block, notes = load_with_notes(path)
    n = len(block)
    t_ref, acc_ref = sample(np.arange(n))
    assert np.array_equal(block.t, t_ref) and np.array_equal(block.acc, acc_ref)  # a clean prefix
    must_have = int(np.count_nonzero(sample(np.arange(int(last_appended * 50) + 1))[0] <= last_appended - 1.0))
    assert n >= must_have, (n, must_have, last_appended)
    assert block.t[-1] <= last_appended + 1.0
    for note in notes:
        assert note.startswith(f"{path}: dropped")
