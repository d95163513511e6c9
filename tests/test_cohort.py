"""`sensorback cohort`: exposures per file and day, on real Dask clusters (a local one, and a scheduler
with two workers started as separate processes), failures recorded, resume after a kill."""

from __future__ import annotations

import contextlib
import csv
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sensorback import formats
from sensorback.core.epochs import EpochTable
from sensorback.core.states import CODE
from sensorback.errors import SensorbackError
from sensorback.summary import summarize
from conftest import LineReader, honouring_permissions, wait_until

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

DATA = Path(__file__).parent / "data"
DEADLINE_S = 180.0  # generous: the suite must pass with both cores busy
MIDNIGHT = 1709596800.0  # 2024-03-05 00:00 UTC


def cli(*args, cwd=None, timeout=DEADLINE_S):
    return subprocess.run([sys.executable, "-m", "sensorback.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)



@pytest.fixture(scope="module")
def sim_block():
    from sensorback.sim import simulate

    block, _ = simulate("desk-day", seed=4, rate_hz=25.0, duration_s=1800.0)
    return block


def make_study(folder: Path, sim_block) -> Path:
    """Three short recordings that cross midnight (UTC), a .cwa, and a file that cannot be read."""
    folder.mkdir()
    for i in range(3):
        block = sim_block.slice(0, len(sim_block))
        block.start_time = MIDNIGHT - 900.0 + 60.0 * i  # 23:45 + i min
        formats.save(block, folder / f"p{i}.sbr")
    shutil.copy(DATA / "ax3_testfile.cwa", folder / "ax3.cwa")
    (folder / "broken.csv").write_text("t,ax,ay,az\n0,0,0,1\n0.02,zero,0,1\n")
    return folder


@pytest.fixture
def study(tmp_path, sim_block):
    return make_study(tmp_path / "study", sim_block)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, sim_block):
    """A study nobody changes, and the outputs of a run over it with one local worker."""
    folder = make_study(tmp_path_factory.mktemp("ref") / "study", sim_block)
    out = folder.parent / "out1"
    res = cli("cohort", str(folder), "--out", str(out), "--workers", "1", "--no-dashboard")
    assert res.returncode == 0, res.stderr
    return folder, out


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- exposures (pure)


def table_of(states: list[str], t0: float = 0.0, flex: float = 10.0) -> EpochTable:
    n = len(states)
    t = t0 + np.arange(n, dtype=float)
    f32 = np.full(n, flex, np.float32)
    return EpochTable(t, t + 1.0, np.array([CODE[s] for s in states], np.int8), f32, f32, f32, f32, f32)


def test_day_rows_cut_at_local_midnight_and_reuse_summary():
    from sensorback.cohort.exposures import DAY_COLUMNS, day_rows

    states = ["sitting"] * 2000 + ["standing"] * 100 + ["slouching"] * 500 + ["moving"] * 400
    table = table_of(states, t0=0.0, flex=35.0)
    start = MIDNIGHT - 1500.0  # 23:35 on the clock
    rows = day_rows("f", table, start, True, ZoneInfo("UTC"), "x |a| error 12.0 -> 3.5 mg", "up", "fwd")
    assert [r["day"] for r in rows] == ["2024-03-04", "2024-03-05"]
    assert all(list(r) == list(DAY_COLUMNS) for r in rows)
    first = summarize(table.rows(0, 1500))
    assert rows[0]["recorded_s"] == 1500.0 and rows[0]["seated_bouts"] == first.n_bouts == 1
    assert rows[1]["sitting_s"] == 500.0 and rows[1]["sit_to_stand"] == 2  # sitting->standing, slouching->moving
    assert rows[1]["breaks"] == 2
    assert rows[1]["flexion_gt30_seated_s"] == 1000.0 and rows[1]["flexion_gt30_upright_s"] == 500.0
    assert rows[0]["calibration_error_mg"] == 3.5
    # the same epochs on a UTC clock, seen from Berlin (UTC+1): midnight is an hour earlier
    berlin = day_rows("f", table, start, False, ZoneInfo("Europe/Berlin"), "", "up", "fwd")
    assert [r["day"] for r in berlin] == ["2024-03-05"]
    assert math.isnan(berlin[0]["calibration_error_mg"])
    assert sum(r["recorded_s"] for r in rows) == len(states)


@pytest.mark.parametrize("decide_epochs", [97, 86_400])
def test_two_pass_analysis_equals_iter_analyze(tmp_path, sim_block, monkeypatch, decide_epochs):
    """The cohort reads each file twice (analyze_in_passes, deciding decide_epochs at a time); its
    epochs are iter_analyze's (three reads)."""
    from sensorback.core import CoreOptions, iter_analyze, pipeline
    from sensorback.core.pipeline import analyze_in_passes

    monkeypatch.setattr(pipeline, "DECIDE_EPOCHS", decide_epochs)

    for path in (DATA / "ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa", tmp_path / "s.sbr"):
        if path.suffix == ".sbr":
            formats.save(sim_block, path)

        def rescan():
            return formats.iter_blocks(path, chunk_samples=2999)

        with pytest.warns(UserWarning) if path.suffix == ".cwa" else contextlib.nullcontext():
            streamed = EpochTable.concat(list(iter_analyze(rescan(), CoreOptions(), rescan=rescan)))
            two = analyze_in_passes(rescan)
        assert len(streamed) > 100 and two.epochs.equals(streamed)


def test_cli_start_does_not_import_dask_or_pyarrow():
    code = ("import sys, sensorback.cli.app; "
            "print(any(m.split('.')[0] in ('dask', 'distributed', 'pyarrow', 'pandas') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=DEADLINE_S)
    assert out.stdout.strip() == "False", out.stderr


def test_the_day_table_is_written_as_pyarrow_converts_it_without_importing_pandas():
    """days.parquet is built from Arrow buffers (_arrow_column): pa.table imported pandas only to ask
    whether the columns were its own, about a second at the end of every run. The bytes are those
    pyarrow's own conversion gives, nulls (in every column type), NaN, -0.0, non-ASCII and escaped
    names and an empty table included; and writing them loads no pandas."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sensorback.cohort.exposures import DAY_COLUMNS
    from sensorback.cohort.run import _parquet_bytes, day_schema

    schema = day_schema()
    kinds = {c: schema.field(c).type for c in DAY_COLUMNS}
    samples = {"string": ["p0.sbr", "", "caf\\xe9.sbr", "Zürich/日本.sbr"], "int64": [0, 7, 2**40],
               "double": [0.0, -0.0, 1.5, float("nan"), 1e300, 3]}
    rows = [{c: (None if (i + j) % 5 == 0 else samples[str(kinds[c])][(i + j) % len(samples[str(kinds[c])])])
             for j, c in enumerate(DAY_COLUMNS)} for i in range(40)]
    rows += [{c: None for c in DAY_COLUMNS}, {"file": "only a name"}]

    def as_pyarrow_writes_it(rows):
        cols = {c: [r.get(c) for r in rows] for c in DAY_COLUMNS}
        cols = {c: [None if v is None else float(v) for v in vs] if pa.types.is_floating(kinds[c]) else vs
                for c, vs in cols.items()}
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table(cols, schema=schema), sink)
        return sink.getvalue().to_pybytes()

    for some in (rows, rows[:1], []):
        assert _parquet_bytes(some) == as_pyarrow_writes_it(some), len(some)
    code = ("import math, sys; from sensorback.cohort.run import _parquet_bytes; "
            "_parquet_bytes([{'file': 'a', 'day': None, 'recorded_s': math.nan, 'breaks': 2}]); "
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=DEADLINE_S)
    assert out.stdout.strip() == "False", out.stderr


def test_every_extension_the_help_names_is_taken_from_a_folder(tmp_path):
    from sensorback.cohort.run import find_inputs
    from sensorback.extensions import EXTENSIONS

    for ext in EXTENSIONS:
        (tmp_path / f"rec{ext}").write_bytes(b"")
    (tmp_path / "day.labels.csv").write_bytes(b"")  # a simulator sidecar, not a recording
    (tmp_path / "notes.json").write_bytes(b"")
    found = sorted(p.name for p in find_inputs([str(tmp_path)]))
    assert found == sorted(f"rec{ext}" for ext in EXTENSIONS)


def test_an_earlier_runs_results_inside_the_study_are_not_inputs(tmp_path, sim_block):
    """A results folder kept inside the study (or --out given another name on a later run): its
    days.csv and files.csv were taken for recordings and recorded as failed files, run after run.
    A table of the same name that is no cohort output, and the study's recordings, are still found."""
    from sensorback.cohort.folder import write_marker
    from sensorback.cohort.run import find_inputs, write_tables

    study = tmp_path / "study"
    (study / "old-results").mkdir(parents=True)
    formats.save(sim_block.slice(0, 25 * 60), study / "a.sbr")
    write_marker(study / "old-results")
    write_tables(study / "old-results", [])  # the three tables of a run over nothing
    (study / "site2").mkdir()
    with pytest.warns(formats.FormatWarning, match="does not keep the metadata"):  # a recording of the user's
        formats.save(sim_block.slice(0, 25 * 60), study / "site2" / "days.csv")
    for spec in (str(study), str(study / "**" / "*.csv")):
        found = sorted(p.relative_to(study).as_posix() for p in find_inputs([spec]))
        assert found == (["a.sbr", "site2/days.csv"] if "*" not in spec else ["site2/days.csv"]), spec


def _own_outputs_of(rec: Path, folder: Path) -> list[str]:
    """What `sensorback analyze --epochs` and `replay --events` leave beside a recording, each plain and
    gzipped, written by the commands themselves."""
    from typer.testing import CliRunner

    from sensorback.cli import app

    names = []
    for epochs, events in (("day.epochs.csv", "day.events.csv"), ("day.epochs.csv.gz", "day.events.csv.gz")):
        for args in (["analyze", str(rec), "--epochs", str(folder / epochs)],
                     ["replay", str(rec), "--db", str(folder.parent / "back.db"), "--events", str(folder / events),
                      "--replace"]):
            res = CliRunner().invoke(app, args)
            assert res.exit_code == 0, res.output
        names += [epochs, events]
    return names


def test_epochs_tables_and_events_files_in_the_study_are_left_out_not_failed(tmp_path, sim_block):
    """An epochs table or events file written into the study folder was taken for a recording and
    failed ('no acceleration columns found'), run after run. They are known by their first line, so
    a recording of the user's named like one is still analysed."""
    from sensorback.cohort.run import find_inputs

    study = tmp_path / "study"
    study.mkdir()
    rec = study / "day.sbr"
    block = sim_block.slice(0, 25 * 300)
    formats.save(block, rec)
    own = _own_outputs_of(rec, study)
    with pytest.warns(formats.FormatWarning, match="does not keep the metadata"):
        formats.save(block, study / "mine.epochs.csv")  # a recording of the user's
    with pytest.warns(formats.FormatWarning, match="does not keep the metadata"):
        formats.save(block, study / "mine.events.csv.gz")
    left_out: dict[str, int] = {}
    found = find_inputs([str(study), str(study / "*.csv*"), *(str(study / n) for n in own)], left_out=left_out)
    assert [p.name for p in found] == ["day.sbr", "mine.epochs.csv", "mine.events.csv.gz"]
    assert left_out == {"epochs": 2, "events": 2}  # each file once, however often it was named

    only = tmp_path / "only"
    only.mkdir()
    for name in own:
        shutil.copy(study / name, only / name)
    for spec, message in ((only, "only: no recordings in this folder, only epochs tables and events files "
                                 "sensorback wrote"),
                          (only / "*.gz", "no recordings match this pattern, only epochs tables and events files"),
                          (only / own[1], "day.events.csv: is an events file sensorback wrote, not a recording")):
        with pytest.raises(SensorbackError, match=message):
            find_inputs([str(spec)])

    out = tmp_path / "out"
    res = cli("cohort", str(study), "--out", str(out), "--workers", "1", "--no-dashboard")
    assert res.returncode == 0, res.stderr
    assert "failed" not in res.stderr
    assert ("3 files: 3 ok, 0 failed" in res.stdout
            and "left out 2 epochs tables and 2 events files sensorback wrote (not recordings)" in res.stdout), res.stdout
    assert [Path(r["file"]).name for r in read_csv(out / "files.csv")] == ["day.sbr", "mine.epochs.csv",
                                                                          "mine.events.csv.gz"]


def test_files_row_rounds_duration_and_says_when_there_is_no_clock(tmp_path, sim_block):
    from sensorback.cohort.task import analyze_file

    part = sim_block.slice(0, 25 * 600)
    formats.save(part, tmp_path / "utc.sbr")
    part.start_time = None  # a CSV timed in seconds from its start
    with pytest.warns(formats.FormatWarning, match="does not keep the metadata 'sim'"):
        formats.save(part, tmp_path / "plain.csv.gz")
    utc = analyze_file(str(tmp_path / "utc.sbr"), "utc.sbr")["file"]
    plain = analyze_file(str(tmp_path / "plain.csv.gz"), "plain.csv.gz")["file"]
    exact = float(part.t[-1] - part.t[0])
    assert exact != round(exact)  # the simulator's clock drifts and jitters
    for row in (utc, plain):
        assert row["status"] == "ok" and row["duration_s"] == float(round(exact)), row
    assert (utc["clock"], plain["clock"]) == ("utc", "none")
    assert utc["start"] and plain["start"] is None


@pytest.mark.parametrize("where, finished", [("_connect", 0), ("_ready", 0), ("write_tables", 1)],
                         ids=["starting-the-cluster", "loading-the-workers", "writing-tables"])
def test_ctrl_c_anywhere_prints_the_resume_hint(tmp_path, sim_block, monkeypatch, where, finished):
    """Ctrl-C while the cluster starts, or after the analysis while the tables are written: the same
    line as during the analysis (test_interrupted_run_resumes_to_the_same_outputs), not a bare one.
    Before the tables, it also writes them for what was finished, as during the analysis (the cluster
    start was outside that handling: no tables, and a cluster left to the interpreter's exit)."""
    from typer.testing import CliRunner

    from sensorback.cli import app
    from sensorback.cohort import run

    folder = tmp_path / "study"
    folder.mkdir()
    formats.save(sim_block.slice(0, 25 * 300), folder / "a.sbr")

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, where, ctrl_c)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["cohort", str(folder), "--out", str(out), "--workers", "1", "--no-dashboard"])
    assert r.exit_code == 130, r.output
    assert r.stderr.strip().splitlines()[-1] == (f"interrupted: {finished} of 1 file finished and kept in {out}; "
                                                 "run again with --resume to finish")
    if where != "write_tables":
        assert read_csv(out / "files.csv") == []


@pytest.mark.parametrize("out_before", [False, True], ids=["new-out", "empty-out"])
def test_ctrl_c_while_the_study_is_searched_says_nothing_was_begun(tmp_path, sim_block, monkeypatch, out_before):
    """Ctrl-C during the search for recordings (which now runs with DIR locked, so DIR exists):
    nothing was analysed or written, and the line says so. It said 'the files finished so far are
    kept in DIR; run again with --resume to finish'. A DIR made for this run is gone again, and the
    line does not name it (it said 'nothing was written in DIR', a folder no longer there); a DIR
    that was there before stays, and is named."""
    from typer.testing import CliRunner

    from sensorback.cli import app
    from sensorback.cohort import run

    folder = tmp_path / "study"
    folder.mkdir()
    formats.save(sim_block.slice(0, 25 * 300), folder / "a.sbr")

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "find_inputs", ctrl_c)
    out = tmp_path / "out"
    if out_before:
        out.mkdir()
    r = CliRunner().invoke(app, ["cohort", str(folder), "--out", str(out), "--workers", "1"])
    assert r.exit_code == 130, r.output
    where = f" in {out}" if out_before else ""
    assert r.stderr.strip().splitlines()[-1] == f"interrupted: before any file was analysed; nothing was written{where}"
    assert out.exists() == out_before  # made for this run, gone again (it was left holding the lock file)


def test_the_progress_line_counts_from_the_first_moment():
    """Until the first file was done the line said only 'cohort', however long the biggest files took."""
    from sensorback.cli.cohort_cmd import _progress_label
    from sensorback.cohort.run import CohortResult

    result = CohortResult(files=12)
    assert _progress_label(result, 12) == "cohort: 0/12 files, 0 failed, 12 left"
    result.ok, result.failed, result.recorded_days = 2, 1, 4.0
    assert _progress_label(result, 12, 3600.0) == "cohort: 3/12 files, 1 failed, 9 left, 4 person-days/h"


def test_hushing_the_teardown_reaches_tornados_callback_errors():
    """Ctrl-C inside a Dask call leaves a callback whose error tornado logs as the cluster closes
    ('tornado.application - ERROR - Exception in callback ... NameError', a traceback after the
    'interrupted' line). Dask's logging configuration gives 'tornado.application' a level of its
    own, so hushing 'tornado' alone did not silence it."""
    import logging

    from sensorback.cohort.run import _hush_teardown

    names = ("tornado", "tornado.application", "distributed", "asyncio")
    levels = {name: logging.getLogger(name).level for name in names}
    try:
        # distributed/config.py's defaults, set as it is imported (an earlier test may have hushed them)
        logging.getLogger("tornado").setLevel(logging.CRITICAL)
        logging.getLogger("tornado.application").setLevel(logging.ERROR)
        _hush_teardown()
        assert not any(logging.getLogger(name).isEnabledFor(logging.CRITICAL) for name in names)
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_seated_columns_are_named_as_the_summary_names_seated_figures():
    """Figures that count sitting and slouching together are 'seated' ones (sensorback.summary):
    no column but the state's own time ('sitting_s') says 'sitting'; bouts and the longest bout are
    the summary's seated.bouts and seated.longest_bout_s."""
    from sensorback.cohort.exposures import DAY_COLUMNS, day_rows

    assert [c for c in DAY_COLUMNS if "sitting" in c] == ["sitting_s"]
    assert [c for c in DAY_COLUMNS if "seated" in c and "flexion" not in c] == [
        "seated_bouts", "seated_mean_bout_s", "seated_longest_bout_s", "seated_in_bouts_ge30min_s",
        "seated_in_bouts_ge60min_s", "breaks_per_seated_hour"]
    table = table_of(["sitting"] * 1900 + ["standing"] * 30 + ["slouching"] * 200 + ["moving"] * 60)
    row = day_rows("f", table, None, False, ZoneInfo("UTC"), "", "up", "fwd")[0]
    seated = summarize(table).to_dict()["seated"]
    assert (row["seated_bouts"], row["seated_longest_bout_s"]) == (seated["bouts"], seated["longest_bout_s"]) == (1, 2130)
    assert row["seated_in_bouts_ge30min_s"] == 2130 and row["seated_in_bouts_ge60min_s"] == 0
    assert row["breaks_per_seated_hour"] == pytest.approx(1 / (2100 / 3600))


# ----------------------------------------------------------------------------- local cluster


def test_cohort_on_a_local_cluster_records_failures_and_resumes(study, tmp_path):
    """(One worker: that two give the same tables, the failed file's row included, is
    test_one_or_two_workers_give_identical_outputs'.)"""
    out = tmp_path / "out"
    res = cli("cohort", str(study), "--out", str(out), "--workers", "1", "--no-dashboard")
    assert res.returncode == 0, res.stderr
    assert "5 files: 4 ok, 1 failed" in res.stdout
    failed = [line for line in res.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and "broken.csv:3: non-numeric value 'zero' in column ax" in failed[0]
    files = read_csv(out / "files.csv")
    assert [Path(r["file"]).name for r in files] == ["ax3.cwa", "broken.csv", "p0.sbr", "p1.sbr", "p2.sbr"]
    assert [r["status"] for r in files] == ["ok", "failed", "ok", "ok", "ok"]
    assert (files[0]["device"], files[0]["clock"], files[0]["samples"]) == ("axivity-ax3", "device-local", "17400")
    days = read_csv(out / "days.csv")
    # each simulated file runs from 23:45 + i min for 30 min: two calendar days each; the .cwa one day
    assert [(Path(r["file"]).name, r["day"]) for r in days] == [
        ("ax3.cwa", "2019-02-26"), ("p0.sbr", "2024-03-04"), ("p0.sbr", "2024-03-05"), ("p1.sbr", "2024-03-04"),
        ("p1.sbr", "2024-03-05"), ("p2.sbr", "2024-03-04"), ("p2.sbr", "2024-03-05")]
    assert float(days[1]["recorded_s"]) == 900.0 and float(days[3]["recorded_s"]) == 840.0
    import pyarrow.parquet as pq

    t = pq.read_table(out / "days.parquet")
    assert t.num_rows == 7 and t.column("day").to_pylist() == [r["day"] for r in days]
    for name in ("days.parquet", "days.csv", "files.csv"):
        assert (out / name).stat().st_mode & 0o777 == 0o600
    assert out.stat().st_mode & 0o777 == 0o700

    again = cli("cohort", str(study), "--out", str(out))
    assert again.returncode == 2 and again.stderr.strip().startswith("error: --out")
    assert "--resume" in again.stderr and len(again.stderr.strip().splitlines()) == 1

    # resume: unchanged ok files are skipped; the failed one is tried again, a changed one redone
    p1 = study / "p1.sbr"
    block = formats.load(p1)
    block.start_time += 3600.0
    formats.save(block, p1)
    resumed = cli("cohort", str(study), "--out", str(out), "--resume", "--workers", "1", "--no-dashboard")
    assert resumed.returncode == 0, resumed.stderr
    assert "analysing 2 of 5 files (3 already done)" in resumed.stderr
    after = read_csv(out / "days.csv")
    assert [r["day"] for r in after if r["file"].endswith("p1.sbr")] == ["2024-03-05"]
    assert [r for r in after if not r["file"].endswith("p1.sbr")] == [r for r in days if not r["file"].endswith("p1.sbr")]

    # a results folder inside the study folder is not taken for recordings when it is --out
    inside = study / "results"
    shutil.copytree(out, inside)
    res = cli("cohort", str(study), "--out", str(inside), "--resume", "--workers", "1", "--no-dashboard")
    assert "5 files: 0 ok, 1 failed, 4 unchanged" in res.stdout, res.stdout + res.stderr


@pytest.mark.skipif(sys.getfilesystemencoding().lower() not in ("utf-8", "utf8") or sys.platform == "darwin",
                    reason="needs a file system that takes names whose bytes are not UTF-8")
def test_names_that_are_not_utf8_are_analysed_and_written_escaped(tmp_path, sim_block):
    """A study holding Latin-1 file names (an old archive unpacked on Linux) ended the whole run in a
    traceback (UnicodeEncodeError: the results' key, then the tables); its files are analysed like
    the others and named in the tables as Python shows such bytes, and --resume still knows them."""
    study = tmp_path / "study"
    study.mkdir()
    formats.save(sim_block.slice(0, 25 * 600), study / os.fsdecode(b"caf\xe9.sbr"))
    formats.save(sim_block.slice(0, 25 * 600), study / "plain.sbr")
    (study / os.fsdecode(b"br\xf6ken.csv")).write_text("t,ax,ay,az\n0,0,0,1\n0.02,zero,0,1\n")
    out = tmp_path / "out"
    res = cli("cohort", str(study), "--out", str(out), "--workers", "1", "--no-dashboard")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert "3 files: 2 ok, 1 failed" in res.stdout
    files = read_csv(out / "files.csv")  # valid UTF-8 throughout, or this read fails
    assert [(Path(r["file"]).name, r["status"]) for r in files] == [
        ("br\\xf6ken.csv", "failed"), ("caf\\xe9.sbr", "ok"), ("plain.sbr", "ok")]
    assert files[0]["error"] == f"{study}/br\\xf6ken.csv:3: non-numeric value 'zero' in column ax"
    import pyarrow.parquet as pq

    assert [Path(f).name for f in pq.read_table(out / "days.parquet").column("file").to_pylist()] == [
        "caf\\xe9.sbr", "plain.sbr"]
    latin, plain = read_csv(out / "days.csv")  # the same samples: the same exposures
    assert {**latin, "file": ""} == {**plain, "file": ""} and float(plain["wear_s"]) > 590
    resumed = cli("cohort", str(study), "--out", str(out), "--resume", "--workers", "1", "--no-dashboard")
    assert resumed.returncode == 0 and "3 files: 0 ok, 1 failed, 2 unchanged" in resumed.stdout, resumed.stderr


def test_an_unreadable_file_fails_alone_and_the_study_goes_on(tmp_path, sim_block):
    """A file without read permission (common on a shared drive) stopped the whole study before any
    file was analysed ('cannot read: Permission denied'); it is a failed file like any other, and
    --resume analyses it once it can be read."""
    study = tmp_path / "study"
    study.mkdir()
    for name in ("a.sbr", "locked.sbr"):
        formats.save(sim_block.slice(0, 25 * 600), study / name)
    (study / "locked.sbr").chmod(0)
    out = tmp_path / "out"
    run = honouring_permissions([sys.executable, "-m", "sensorback.cli", "cohort", str(study), "--out", str(out),
                                 "--workers", "1", "--no-dashboard"])
    res = subprocess.run(run, capture_output=True, text=True, timeout=DEADLINE_S)
    assert res.returncode == 0, res.stderr
    assert "2 files: 1 ok, 1 failed" in res.stdout
    assert f"failed: {study / 'locked.sbr'}: cannot open: Permission denied" in res.stderr.splitlines()
    assert [(Path(r["file"]).name, r["status"]) for r in read_csv(out / "files.csv")] == [("a.sbr", "ok"),
                                                                                         ("locked.sbr", "failed")]
    (study / "locked.sbr").chmod(0o600)
    resumed = subprocess.run([*run, "--resume"], capture_output=True, text=True, timeout=DEADLINE_S)
    assert resumed.returncode == 0 and "2 files: 1 ok, 0 failed, 1 unchanged" in resumed.stdout, resumed.stderr
    assert [r["status"] for r in read_csv(out / "files.csv")] == ["ok", "ok"]


def test_one_or_two_workers_give_identical_outputs(reference, tmp_path):
    folder, one = reference
    out = tmp_path / "out2"
    res = cli("cohort", str(folder / "*.sbr"), str(folder / "ax3.cwa"), str(folder / "broken.csv"), "--out", str(out),
              "--workers", "2", "--no-dashboard")
    assert res.returncode == 0, res.stderr
    for name in ("days.parquet", "days.csv", "files.csv"):
        assert (out / name).read_bytes() == (one / name).read_bytes(), name


def test_resume_refuses_results_of_an_older_version(reference, tmp_path):
    """A results folder whose stored results name the seated figures the old way ('sitting_bouts',
    results format 1) is not finished with new rows beside old ones: one line, exit 2, nothing
    rewritten."""
    import json

    folder, one = reference
    out = tmp_path / "old"
    shutil.copytree(one, out)
    old_names = {"seated_bouts": "sitting_bouts", "seated_mean_bout_s": "sitting_bout_mean_s",
                 "seated_longest_bout_s": "sitting_bout_longest_s", "breaks_per_seated_hour": "breaks_per_sitting_hour",
                 "seated_in_bouts_ge30min_s": "sitting_in_bouts_ge30min_s",
                 "seated_in_bouts_ge60min_s": "sitting_in_bouts_ge60min_s"}
    parts = sorted((out / ".parts").glob("*.json"))
    for q in parts[:2]:  # as sensorback 1 wrote them
        doc = json.loads(q.read_text())
        doc["version"] = 1
        doc["days"] = [{old_names.get(k, k): v for k, v in row.items()} for row in doc["days"]]
        q.write_text(json.dumps(doc))
    q = parts[2]
    (q.parent / "new.json").write_bytes(q.read_bytes())
    before = {name: (out / name).read_bytes() for name in ("days.csv", "days.parquet", "files.csv")}
    res = cli("cohort", str(folder), "--out", str(out), "--resume", "--workers", "1")
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --out {out}: written by an older version of sensorback")
    assert "'sitting_bouts'" in lines[0] and "--overwrite" in lines[0]
    assert {name: (out / name).read_bytes() for name in before} == before


@pytest.mark.parametrize("args,message", [
    (["nowhere/", "--out", "o"], "nowhere/: no such file or folder"),
    (["x.txt", "--out", "o", "--workers", "0"], "--workers: must be at least 1"),
    (["x", "--out", "o", "--timezone", "Mars/Olympus"], "--timezone: unknown time zone 'Mars/Olympus'"),
    (["x", "--out", "o", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "choose one"),
    (["x", "--out", "o", "--no-dashboard", "--scheduler", "tcp://127.0.0.1:1"],
     "--no-dashboard and --scheduler: choose one"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, args, message):
    res = cli("cohort", *args, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not (tmp_path / "o").exists()  # checked before the results folder is made


def test_an_unreachable_scheduler_is_a_one_line_error(study, tmp_path):
    """The port is held here, bound and never listening, for the whole run: a connection to it is
    refused, and no other program can take it meanwhile (a port found free and closed again could be
    taken by another Dask scheduler before the run tried it, which then connected)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # no SO_REUSEADDR: nobody else can bind it while it is held
        port = held.getsockname()[1]
        res = cli("cohort", str(study / "p0.sbr"), "--out", str(tmp_path / "o"), "--scheduler",
                  f"tcp://127.0.0.1:{port}", "--timezone", "UTC")
    assert res.returncode == 2
    assert res.stderr.strip().startswith(f"error: --scheduler tcp://127.0.0.1:{port}: cannot connect")
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()  # checked before the results folder is made


@pytest.mark.parametrize("address", ["bogus", "tcp://nohost", "http://10.0.0.5:8786"])
def test_a_malformed_scheduler_address_is_one_line_and_leaves_no_folder(tmp_path, address):
    recording = Path(__file__).parents[1] / "recordings" / "demo.sbr"
    res = cli("cohort", str(recording), "--out", str(tmp_path / "o"), "--scheduler", address)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --scheduler {address}: expected tcp://HOST:PORT, "
                                                   "e.g. tcp://10.0.0.5:8786")
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- the results folder


def tree(folder: Path) -> dict:
    """Every file under folder (hidden ones too) with its bytes and mode: to show nothing changed."""
    return {str(q.relative_to(folder)): (q.read_bytes(), q.stat().st_mode) for q in sorted(folder.rglob("*"))
            if q.is_file()}


FOREIGN = {  # a file of the user's where cohort writes, and what the refusal says it looks like
    "days.csv": (b"t,ax,ay,az\n0,0,0,1\n0.02,0,0,1\n", " (it looks like a recording)"),
    "files.csv": (b"participant,site\n13,Leeds\n", ""),
    "days.parquet": (b"PAR1 someone else's table", ""),
    ".parts/notes.txt": (b"my notes", ""),
}


@pytest.mark.parametrize("flag", [None, "--resume", "--overwrite"])
@pytest.mark.parametrize("name", list(FOREIGN))
def test_a_folder_of_the_users_is_refused_before_any_work(tmp_path, name, flag):
    """A folder that no cohort run wrote, holding a file of a name cohort writes: one line naming
    the file, with or without --resume/--overwrite (which concern cohort's own results), before the
    inputs are even looked at; nothing in the folder changes, nothing is added."""
    from typer.testing import CliRunner

    from sensorback.cli import app
    from cli_checks import one_line_error

    out = tmp_path / "mine"
    (out / ".parts").mkdir(parents=True)
    data, looks = FOREIGN[name]
    (out / name).write_bytes(data)
    (out / "notes.md").write_text("unrelated, never a reason to refuse")
    before = tree(out)
    args = ["cohort", "nowhere/", "--out", str(out), *([flag] if flag else [])]
    shown = out / (".parts" if name.startswith(".parts/") else name)
    one_line_error(CliRunner().invoke(app, args),
                   f"--out: {shown} already exists and was not written by sensorback cohort{looks}; "
                   "choose another folder or delete it first")
    assert tree(out) == before


def test_run_cohort_itself_refuses_a_folder_of_the_users(tmp_path):
    """The library call (benchmarks, scripts) keeps the rule too, before any cluster starts."""
    from sensorback.cohort.run import run_cohort
    from sensorback.errors import SensorbackError

    out = tmp_path / "mine"
    out.mkdir()
    (out / "days.csv").write_text("day,steps\n2024-03-04,8000\n")
    recording = Path(__file__).parents[1] / "recordings" / "demo.sbr"
    with pytest.raises(SensorbackError, match=r"days.csv already exists and was not written by sensorback cohort"):
        run_cohort([str(recording)], out, workers=1)
    assert [q.name for q in out.iterdir()] == ["days.csv"]


def test_a_run_writes_into_an_empty_folder_and_over_its_own_results(tmp_path, sim_block):
    """An empty folder (with an empty files.csv: nothing to lose) takes a run; the same folder then
    takes --overwrite (whole, private tables, other files left alone) and --resume (nothing left to
    do: no cluster), and without either its results are kept."""
    import json

    from sensorback.cohort.folder import LOCK, MARKER, VERSION

    folder = tmp_path / "study"
    folder.mkdir()
    formats.save(sim_block.slice(0, 25 * 300), folder / "a.sbr")
    out = tmp_path / "results"
    out.mkdir()
    (out / "files.csv").touch()
    first = cli("cohort", str(folder), "--out", str(out), "--workers", "1", "--no-dashboard")
    assert first.returncode == 0, first.stderr
    assert json.loads((out / MARKER).read_text()) == {"written_by": "sensorback cohort", "format": VERSION}
    tables = {name: (out / name).read_bytes() for name in ("days.parquet", "days.csv", "files.csv")}
    assert tables["files.csv"].count(b"\n") == 2  # its header and a.sbr
    (out / "notes.md").write_text("mine")
    os.chmod(out / "days.csv", 0o644)

    kept = cli("cohort", str(folder), "--out", str(out))
    assert kept.returncode == 2 and "holds the results of an earlier run" in kept.stderr, kept.stderr

    again = cli("cohort", str(folder), "--out", str(out), "--overwrite", "--workers", "1", "--no-dashboard")
    assert again.returncode == 0, again.stderr
    assert {name: (out / name).read_bytes() for name in tables} == tables
    for name in (*tables, MARKER, LOCK):
        assert (out / name).stat().st_mode & 0o777 == 0o600, name
    assert not [q for q in out.rglob("*") if ".writing" in q.name or q.name.endswith(".tmp")]

    resumed = cli("cohort", str(folder), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "1 file: 0 ok, 0 failed, 1 unchanged" in resumed.stdout and "analysing" not in resumed.stderr
    assert {name: (out / name).read_bytes() for name in tables} == tables
    assert (out / "notes.md").read_text() == "mine"


def test_results_from_before_the_marker_are_still_its_own(reference, tmp_path):
    """A folder an earlier sensorback wrote (results in .parts/, no marker) is an earlier cohort
    output: refused without --resume as such, finished with it (which adds the marker); one killed
    before its first file (marker, tables, empty .parts/) is written over; a file of the user's at
    the marker's name is not."""
    from sensorback.cohort.folder import MARKER, written_over

    folder, one = reference
    out = tmp_path / "old"
    shutil.copytree(one, out)
    (out / MARKER).unlink()
    res = cli("cohort", str(folder / "p0.sbr"), "--out", str(out))
    assert res.returncode == 2 and "holds the results of an earlier run" in res.stderr, res.stderr
    res = cli("cohort", str(folder / "p0.sbr"), "--out", str(out), "--resume")  # done: no cluster
    assert res.returncode == 0 and "1 file: 0 ok, 0 failed, 1 unchanged" in res.stdout, res.stderr
    assert (out / MARKER).is_file() and [Path(r["file"]).name for r in read_csv(out / "files.csv")] == ["p0.sbr"]

    killed = tmp_path / "killed"
    shutil.copytree(one, killed)
    for q in (killed / ".parts").iterdir():
        q.unlink()
    assert written_over(killed) == []
    (killed / MARKER).write_text("my own notes")
    assert written_over(killed) == [killed / MARKER, *(killed / n for n in ("days.parquet", "days.csv", "files.csv"))]


# ----------------------------------------------------------------------------- real cluster, kill and resume


def _dask_cli() -> list[str]:
    exe = Path(sys.executable).with_name("dask")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dask"]


@contextlib.contextmanager
def running_cluster(tmp_path: Path, workers: int = 2, worker_env: dict | None = None, dashboard: bool = False):
    """A dask scheduler and ``workers`` workers, each a separate process on localhost; its address.
    The scheduler takes a free port itself (--port 0) and writes its address to a scheduler file: a
    port picked here and closed again could be taken by another program (another Dask run) before
    the scheduler bound it. A scheduler or worker that exits while the cluster starts fails the test
    at once, with its log (not after the whole deadline). The scheduler's dashboard is switched off
    (--no-dashboard) unless ``dashboard``."""
    import json

    logs = tmp_path / "dask-logs"
    logs.mkdir()
    info = tmp_path / "scheduler.json"
    procs = []

    def start(name, *args, env=None):
        log = open(logs / f"{name}.log", "w")
        procs.append((name, subprocess.Popen([*_dask_cli(), *args], stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True, cwd=tmp_path, env=env), log))

    def none_exited() -> bool:
        for name, p, _ in procs:
            if p.poll() is not None:
                said = (logs / f"{name}.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"the dask {name} exited (code {p.returncode}) while the cluster started; "
                            f"its log:\n{said}")
        return True

    def scheduler_address():
        none_exited()
        try:
            return json.loads(info.read_text())["address"]
        except (OSError, ValueError, KeyError, TypeError):  # not written yet, or half-written
            return None

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(info),
              *(["--dashboard-address", "127.0.0.1:0"] if dashboard else ["--no-dashboard"]))
        address = wait_until(scheduler_address, "the scheduler's address in its scheduler file",
                             timeout=DEADLINE_S, poll_s=0.05)
        assert address.startswith("tcp://127.0.0.1:"), address
        for i in range(workers):
            start(f"worker{i}", "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                  "--name", f"w{i}", "--local-directory", str(tmp_path / f"w{i}"),
                  env=None if worker_env is None else {**os.environ, **worker_env})
        from distributed import Client

        def all_workers():
            none_exited()
            try:
                with Client(address, timeout="5s") as c:
                    return len(c.scheduler_info()["workers"]) == workers
            except OSError:
                return False

        wait_until(all_workers, f"a scheduler with {workers} workers", timeout=DEADLINE_S, poll_s=0.2)
        yield address
    finally:
        for _, p, log in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for _, p, log in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
            log.close()


@pytest.fixture
def cluster(tmp_path):
    """A dask scheduler and two workers, each a separate process on localhost."""
    with running_cluster(tmp_path) as address:
        yield address


def test_cohort_against_a_real_scheduler_and_two_worker_processes(reference, tmp_path, cluster):
    folder, local = reference
    out = tmp_path / "out"
    res = cli("cohort", str(folder), "--out", str(out), "--scheduler", cluster)
    assert res.returncode == 0, res.stderr
    assert "on 2 workers" in res.stderr and "5 files: 4 ok, 1 failed" in res.stdout
    for name in ("days.parquet", "days.csv", "files.csv"):
        assert (out / name).read_bytes() == (local / name).read_bytes(), name


def test_a_worker_of_another_version_is_refused(reference, tmp_path):
    """A worker whose sensorback writes other day columns (another version installed there) would
    leave columns of the tables empty: the run stops before any file, in one line."""
    folder, _ = reference
    other = tmp_path / "other"
    other.mkdir()
    # the worker's sensorback names a column the old way (sitecustomize runs as Python starts)
    (other / "sitecustomize.py").write_text(
        "import sensorback.cohort.exposures as x\n"
        "x.DAY_COLUMNS = [c.replace('seated_bouts', 'sitting_bouts') for c in x.DAY_COLUMNS]\n")
    path = os.pathsep.join([str(other), *filter(None, [os.environ.get("PYTHONPATH")])])
    with running_cluster(tmp_path, workers=1, worker_env={"PYTHONPATH": path}) as address:
        res = cli("cohort", str(folder), "--out", str(tmp_path / "out"), "--scheduler", address)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --scheduler {address}: worker ") and \
        "runs another version of sensorback" in lines[0], lines
    assert not any((tmp_path / "out" / ".parts").glob("*.json"))


@pytest.fixture(scope="module")
def twelve(tmp_path_factory, sim_block):
    """12 recordings and the outputs of one uninterrupted run over them."""
    folder = tmp_path_factory.mktemp("many")
    for i in range(12):
        block = sim_block.slice(0, len(sim_block))
        block.start_time = MIDNIGHT + 3600.0 * i
        formats.save(block, folder / f"w{i:02d}.sbr")
    whole = tmp_path_factory.mktemp("whole") / "out"
    assert cli("cohort", str(folder), "--out", str(whole), "--workers", "1", "--no-dashboard").returncode == 0
    return folder, whole


def _stopped_when(proc, cond, what: str, said=lambda: ""):
    """Wait for cond() and, the moment it is true, stop (SIGSTOP) proc's whole process group (proc was
    started in a session of its own: the command and its local cluster), so that the run stays at
    that moment however long the test's next step takes on a loaded machine (a run left going may
    end first: one of these files is analysed in about 10 ms); the test lets it go on with SIGCONT.
    Fails at once, with what the command said (said()), if it ends first. Returns cond()'s value."""
    def check():
        if proc.poll() is not None:
            pytest.fail(f"the command ended (exit {proc.returncode}) before {what}: {said()}")
        value = cond()
        if value:
            os.killpg(proc.pid, signal.SIGSTOP)
        return value

    return wait_until(check, what, timeout=DEADLINE_S, poll_s=0.005)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=["killed", "ctrl-c", "sigterm"])
def test_interrupted_run_resumes_to_the_same_outputs(tmp_path, twelve, sig):
    """Ctrl-C and a kill (SIGTERM: a batch queue's time limit, sent to every process of the job)
    write the tables of what was finished and say how to finish, as the other commands say it
    ('interrupted', 130; 'terminated (SIGTERM)', 143: SIGTERM was taken for a Ctrl-C). SIGKILL
    leaves the finished files. --resume then gives the outputs of an uninterrupted run.
    The run is stopped (SIGSTOP, the command and its cluster) the moment its first file is stored, so
    that the signal comes mid-run however slow the machine: left going, the 11 others (about 10 ms
    each) could all be finished before the signal."""
    folder, whole = twelve
    out = tmp_path / "killed"
    # Ctrl-C with the dashboard on, as a run starts by default (its bokeh server torn down too); the
    # others without it (--no-dashboard: a quicker start)
    cmd = [sys.executable, "-m", "sensorback.cli", "cohort", str(folder), "--out", str(out), "--workers", "1",
           *([] if sig == signal.SIGINT else ["--no-dashboard"])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        parts = out / ".parts"
        _stopped_when(proc, lambda: parts.is_dir() and any(p.suffix == ".json" for p in parts.iterdir()),
                      "the first finished file", said=lambda: proc.stderr.read().decode(errors="replace"))
        os.killpg(proc.pid, sig)  # the command and its local cluster, mid-run (Ctrl-C reaches them all)
        if sig != signal.SIGKILL:
            os.killpg(proc.pid, signal.SIGCONT)  # each takes the signal as it goes on
        _, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=DEADLINE_S)
    done = [p for p in (out / ".parts").iterdir() if p.suffix == ".json"]
    assert 1 <= len(done) < 12, len(done)
    if sig == signal.SIGKILL:
        assert not (out / "days.parquet").exists()  # nothing half-written: the tables come at the end
    else:  # exit 130 or 143, one clean line, the tables of what was finished
        said, code = ("interrupted", 130) if sig == signal.SIGINT else ("terminated (SIGTERM)", 143)
        assert proc.returncode == code and "Traceback" not in err.decode(), err.decode()
        assert err.decode().strip().splitlines()[-1] == (f"{said}: {len(done)} of 12 files finished and kept in "
                                                         f"{out}; run again with --resume to finish")
        assert len(read_csv(out / "files.csv")) == len(done)
    res = cli("cohort", str(folder), "--out", str(out), "--resume", "--workers", "1", "--no-dashboard")
    assert res.returncode == 0, res.stderr
    assert f"analysing {12 - len(done)} of 12 files ({len(done)} already done)" in res.stderr
    for name in ("days.parquet", "days.csv", "files.csv"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def _session(sid: int) -> list:
    """The live processes of session sid: a command started in a session of its own and every
    process it started, whatever became of their parents."""
    import psutil

    live = []
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getsid(p.pid) == sid and p.status() != psutil.STATUS_ZOMBIE:
                live.append(p)
    return live


def _sigint_blocked(pid: int) -> bool:
    with open(f"/proc/{pid}/status") as f:
        mask = next(int(line.split()[1], 16) for line in f if line.startswith("SigBlk:"))
    return bool(mask >> (signal.SIGINT - 1) & 1)


@pytest.mark.parametrize("to, sig", [("group", signal.SIGINT), ("command", signal.SIGINT),
                                     ("command", signal.SIGTERM), ("command", signal.SIGKILL)],
                         ids=["ctrl-c-in-a-terminal", "sigint-to-the-command", "sigterm", "sigkill"])
def test_a_signal_while_the_workers_start(tmp_path, sim_block, to, sig):
    """The moment the local cluster's first worker process appears: Ctrl-C as a terminal sends it
    (to the whole process group) or to the command alone stops the run as during the analysis (one
    line, exit 130, the tables written, the cluster closed); it was ignored (SIGINT was set to
    'ignore' while the workers started, so that they inherited it) and the run went on to exit 0.
    The workers themselves never take it. However the command ends, SIGKILL included, no process it
    started outlives it."""
    psutil = pytest.importorskip("psutil")
    folder = tmp_path / "study"
    folder.mkdir()
    formats.save(sim_block.slice(0, 25 * 300), folder / "a.sbr")
    out = tmp_path / "out"
    # a terminal's Ctrl-C with the dashboard on, as a run starts by default; the others without it
    # (--no-dashboard: a quicker start)
    cmd = [sys.executable, "-m", "sensorback.cli", "cohort", str(folder), "--out", str(out), "--workers", "2",
           *([] if to == "group" else ["--no-dashboard"])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def workers():
        with contextlib.suppress(psutil.Error):
            return [c for c in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(c.cmdline())]

    try:
        first = wait_until(workers, "the first worker process", timeout=DEADLINE_S)[0]
        (os.killpg if to == "group" else os.kill)(proc.pid, sig)
        if sys.platform.startswith("linux") and sig == signal.SIGINT:
            with contextlib.suppress(OSError):  # gone already: the run was stopped
                assert _sigint_blocked(first.pid), "a worker process would take Ctrl-C"
        _, err = proc.communicate(timeout=DEADLINE_S)
        wait_until(lambda: not _session(proc.pid), "every process the command started to end", timeout=DEADLINE_S)
    finally:
        if proc.poll() is None or _session(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=DEADLINE_S)
    if sig == signal.SIGKILL:
        return
    lines = err.decode().strip().splitlines()  # one line: the run stopped before 'analysing ...'
    assert len(lines) == 1 and lines[0].endswith(f"0 of 1 file finished and kept in {out}; run again with "
                                                  "--resume to finish"), lines
    assert read_csv(out / "files.csv") == []  # the tables of what was finished: nothing
    if sig == signal.SIGINT:
        assert lines[0].startswith("interrupted: ") and proc.returncode == 130
    else:  # a kill, as the other commands say it (it was 'interrupted', 130)
        assert lines[0].startswith("terminated (SIGTERM): ") and proc.returncode == 143


# ----------------------------------------------------------------------------- one run per folder, no fixed port


def _snapshot(folder: Path) -> dict:
    """Every file under folder: its bytes, mode and modification time (what 'untouched' means)."""
    return {str(q.relative_to(folder)): (q.read_bytes(), q.stat().st_mode, q.stat().st_mtime_ns)
            for q in sorted(folder.rglob("*")) if q.is_file()}


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_runs(tmp_path, twelve):
    """Two runs on one --out would write the same tables and stored results at once. The second (a
    process of its own, as a second terminal or batch job would start it) is refused at once in one
    line naming the folder and the running one, exit 2, --overwrite or not, and the first run's files
    are untouched; the first then finishes as if alone. The first is stopped (SIGSTOP) the moment
    its lock names it, before its cluster starts, and let go on once the second was refused: it
    holds the folder however slow the machine is (stopped once its analysis had begun, it could
    already have finished the 12 files, and let go of the folder, on a loaded machine)."""
    from sensorback.cohort.folder import LOCK

    folder, whole = twelve
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sensorback.cli", "cohort", str(folder), "--out", str(out), "--workers", "1",
           "--no-dashboard"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    holder = f"pid {first.pid} on {socket.gethostname()}"

    def holds_the_folder():
        try:
            return (out / LOCK).read_text().strip() == holder
        except OSError:
            return False

    stopped = False
    try:
        err = LineReader(first.stderr)
        _stopped_when(first, holds_the_folder, "the first run to hold the folder",
                      said=lambda: "\n".join(err.to_end()))
        stopped = True
        before = _snapshot(out)
        for flag in ("--resume", "--overwrite"):
            second = cli("cohort", str(folder), "--out", str(out), "--workers", "1", flag)
            lines = second.stderr.strip().splitlines()
            assert second.returncode == 2 and second.stdout == "", second.stderr
            said = (f"error: --out {out}: another sensorback cohort run (pid {first.pid} on {socket.gethostname()}) "
                    "is using this folder; wait for it to end, or stop it and finish its work with --resume, "
                    "or give another --out")
            assert lines == [said], lines
            assert _snapshot(out) == before
        os.killpg(first.pid, signal.SIGCONT)
        stopped = False
        first.wait(timeout=DEADLINE_S)
    finally:
        if first.poll() is None:
            if stopped:
                os.killpg(first.pid, signal.SIGCONT)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=DEADLINE_S)
    assert first.returncode == 0 and "12 files: 12 ok, 0 failed" in first.stdout.read(), err.to_end()
    for name in ("days.parquet", "days.csv", "files.csv"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
    assert (out / LOCK).stat().st_mode & 0o777 == 0o600


def test_a_refused_run_is_refused_before_it_searches_the_study(tmp_path):
    """The lock is the first thing a run takes once its arguments are checked: a second run is refused
    at once, not after searching the study (hours on a big one) as it was. Here the folder is held by
    a real flock (held_by_this_run, as a running cohort holds it) and the study holds no recording,
    so a search would end in its own error ('no recordings in this folder'): the refusal comes
    instead, and nothing in the folder changes."""
    from sensorback.cohort.folder import held_by_this_run

    study = tmp_path / "study"
    study.mkdir()
    (study / "protocol.md").write_text("no recording here: a search of this folder is an error")
    out = tmp_path / "out"
    out.mkdir()
    with held_by_this_run(out):
        before = _snapshot(out)
        res = cli("cohort", str(study), "--out", str(out), "--workers", "1")
        assert _snapshot(out) == before
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and res.stdout == "", res.stderr
    assert lines == [f"error: --out {out}: another sensorback cohort run (pid {os.getpid()} on "
                     f"{socket.gethostname()}) is using this folder; wait for it to end, or stop it and finish "
                     "its work with --resume, or give another --out"], lines
    free = cli("cohort", str(study), "--out", str(out), "--workers", "1")  # the search, once the folder is free
    assert free.returncode == 2 and f"{study}: no recordings in this folder" in free.stderr, free.stderr


def test_a_rerun_into_earlier_results_is_refused_before_it_searches_the_study(reference, tmp_path):
    """A DIR holding an earlier run's results, given again without --resume or --overwrite (or with
    --resume, written by another version), was refused only after the study had been searched (hours
    on a big one). The refusal now comes right after the lock: here the study holds no recording, so
    a search would end in its own error; the refusal comes instead, and nothing in DIR changes (but
    the lock file, which names the run holding it)."""
    import json

    from sensorback.cohort.folder import LOCK, PARTS

    def snapshot():
        return {k: v for k, v in _snapshot(out).items() if k != LOCK}

    study = tmp_path / "study"
    study.mkdir()
    (study / "protocol.md").write_text("no recording here: a search of this folder is an error")
    out = tmp_path / "out"
    shutil.copytree(reference[1], out)
    before = snapshot()
    res = cli("cohort", str(study), "--out", str(out), "--workers", "1")
    assert res.returncode == 2 and res.stdout == "", res.stderr
    assert res.stderr.strip().splitlines() == [
        f"error: --out {out}: holds the results of an earlier run; pass --resume to finish it (files already "
        "done are skipped) or --overwrite to start again"]
    assert snapshot() == before

    q = sorted((out / PARTS).glob("*.json"))[0]  # one result of an older format: --resume is refused too
    q.write_text(json.dumps({**json.loads(q.read_text()), "version": 1}))
    before = snapshot()
    res = cli("cohort", str(study), "--out", str(out), "--resume", "--workers", "1")
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1, res.stderr
    assert lines[0].startswith(f"error: --out {out}: written by an older version of sensorback"), lines
    assert snapshot() == before

    res = cli("cohort", str(study), "--out", str(out), "--overwrite", "--workers", "1")  # the search, then
    assert res.returncode == 2 and f"{study}: no recordings in this folder" in res.stderr, res.stderr


def test_a_killed_runs_lock_does_not_block_the_next_run(tmp_path, twelve):
    """A run killed outright (SIGKILL: no handler, no clean-up) leaves its lock file, but the lock
    itself ends with the process, and its worker processes (still alive for a moment) never held it:
    the next run goes on at once and finishes the study. The run is stopped (SIGSTOP, the command and
    its worker) the moment its worker process appears, long before it could finish (left going, it
    could end before its processes were looked at), and its worker let go on once the command is
    killed."""
    psutil = pytest.importorskip("psutil")
    from sensorback.cohort.folder import LOCK

    folder, whole = twelve
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sensorback.cli", "cohort", str(folder), "--out", str(out), "--workers", "1",
           "--no-dashboard"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def worker_processes():
        with contextlib.suppress(psutil.Error):
            return [c for c in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(c.cmdline())]

    try:
        workers = _stopped_when(proc, worker_processes, "the run's worker process", said=proc.stderr.read)
        lock = str(out / LOCK)
        assert workers, "no worker process"
        assert lock in {f.path for f in psutil.Process(proc.pid).open_files()}
        for w in workers:
            assert lock not in {f.path for f in w.open_files()}, "a worker holds the lock"
        os.kill(proc.pid, signal.SIGKILL)  # the command alone
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGCONT)  # its worker goes on, and ends as it would
        proc.wait(timeout=DEADLINE_S)
        assert (out / LOCK).exists()
        res = cli("cohort", str(folder), "--out", str(out), "--resume", "--workers", "1", "--no-dashboard")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its workers, if still there
        proc.wait(timeout=DEADLINE_S)
    assert res.returncode == 0 and "another sensorback cohort run" not in res.stderr, res.stderr
    assert "12 files: " in res.stdout
    for name in ("days.parquet", "days.csv", "files.csv"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


@contextlib.contextmanager
def port_8787_busy():
    """Port 8787, Dask's default dashboard port, busy: held here, or by whoever holds it already."""
    with socket.socket() as busy:
        try:
            busy.bind(("", 8787))
            busy.listen()
        except OSError:  # taken by something else already: busy all the same
            pass
        with socket.socket() as probe, pytest.raises(OSError):
            probe.bind(("", 8787))  # busy, whoever holds it
        yield


@pytest.fixture(scope="module")
def default_run(tmp_path_factory, sim_block):
    """A run with the default options (the dashboard on) and one worker over a one-file study, port
    8787 busy meanwhile: what it said, for the tests below, which only read it."""
    folder = tmp_path_factory.mktemp("default") / "study"
    folder.mkdir()
    formats.save(sim_block.slice(0, 25 * 300), folder / "a.sbr")
    with port_8787_busy():
        return cli("cohort", str(folder), "--out", str(folder.parent / "out"), "--workers", "1")


def test_a_busy_port_8787_does_not_disturb_a_run(default_run):
    """The local cluster's dashboard was bound to port 8787: with that port taken (another Dask
    cluster, a notebook, another test) Dask printed a warning of its own and moved, which broke the
    promise of one line per event. It now takes a free port the system picks, on this machine only."""
    res = default_run
    assert res.returncode == 0, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("analysing 1 of 1 file on 1 worker") and lines[1:] in ([], [NO_DASHBOARD]), lines
    assert "warning" not in res.stderr and ":8787" not in lines[0]
    if "dashboard" in lines[0]:  # a port of its own, on this machine
        assert re.search(r", dashboard http://127\.0\.0\.1:\d+/status$", lines[0]), lines[0]
    assert "1 file: 1 ok, 0 failed" in res.stdout


def test_no_dashboard_starts_the_local_cluster_without_it(tmp_path, sim_block, monkeypatch):
    """--no-dashboard (a shared server: no bokeh loaded, no link): the local cluster's scheduler serves
    no dashboard page, its HTTP port (Dask's /health and /metrics) still on this machine only and not
    the fixed 8787 (held busy here, as in test_a_busy_port_8787_does_not_disturb_a_run); the run says
    nothing about a dashboard, not even the note, and analyses its file as ever. (The command runs in
    this process, so that its scheduler can be looked at once its workers are ready.)"""
    psutil = pytest.importorskip("psutil")
    from typer.testing import CliRunner

    from sensorback.cli import app
    from sensorback.cohort import run

    folder = tmp_path / "study"
    folder.mkdir()
    formats.save(sim_block.slice(0, 25 * 300), folder / "a.sbr")
    seen = {}
    ready = run._ready

    def ready_and_seen(client, scheduler):
        ready(client, scheduler)
        port = seen["port"] = client.scheduler_info()["services"]["dashboard"]
        seen["page"], _ = client.run_on_scheduler(run._page_and_bokeh(), "/status")
        seen["found"] = run._dashboard(client)
        here = psutil.Process()
        connections = getattr(here, "net_connections", None) or here.connections  # psutil < 6
        seen["bound"] = {c.laddr.ip for c in connections(kind="tcp")
                         if c.status == psutil.CONN_LISTEN and c.laddr.port == port}

    monkeypatch.setattr(run, "_ready", ready_and_seen)
    with port_8787_busy():
        r = CliRunner().invoke(app, ["cohort", str(folder), "--out", str(tmp_path / "out"), "--workers", "1",
                                     "--no-dashboard"])
    assert r.exit_code == 0, r.output
    assert seen["port"] != 8787 and seen["bound"] == {"127.0.0.1"}, seen
    assert not seen["page"] and seen["found"] == (None, None), seen
    assert r.stderr.strip().splitlines() == ["analysing 1 of 1 file on 1 worker"], r.stderr
    assert "1 file: 1 ok, 0 failed" in r.stdout


NO_DASHBOARD = ("note: no live dashboard: Dask serves it only with bokeh>=3.1.0 installed; "
                "pip install 'sensorback[cohort]' adds it")


def _bokeh_here() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    from distributed.versions import BOKEH_REQUIREMENT
    from sensorback.cohort.run import _served

    try:
        return _served(version("bokeh"), BOKEH_REQUIREMENT)
    except PackageNotFoundError:
        return False


def test_the_dashboard_link_is_printed_only_when_the_dashboard_is_served(default_run):
    """Dask's scheduler opens its HTTP port (services['dashboard']) with or without bokeh, but without
    it serves only a page asking for bokeh: the link printed then was dead. With bokeh the line gives
    the link; without, no link, and one note saying what the dashboard needs and how to install it.
    (This runs the case of the environment, in the run with default options that the busy-8787 test
    reads too; the other case is _served's, below.)"""
    res = default_run
    assert res.returncode == 0, res.stderr
    lines = res.stderr.strip().splitlines()
    if _bokeh_here():
        assert len(lines) == 1 and re.fullmatch(r"analysing 1 of 1 file on 1 worker, dashboard "
                                                r"http://127\.0\.0\.1:\d+/status", lines[0]), lines
    else:
        assert lines == ["analysing 1 of 1 file on 1 worker", NO_DASHBOARD], lines


@pytest.mark.parametrize("dashboard", [False, True], ids=["scheduler-no-dashboard", "scheduler-dashboard"])
def test_a_running_schedulers_dashboard_is_linked_only_when_it_serves_it(tmp_path, sim_block, dashboard):
    """A scheduler started with --no-dashboard still has its HTTP port (services['dashboard']), with no
    page at the link: the run printed that dead link (bokeh on the scheduler) or a note that bokeh would
    bring the dashboard (none): both untrue. Now nothing about a dashboard; with the dashboard on, as
    on a local cluster: the link, or the note saying what the scheduler needs."""
    folder = tmp_path / "study"
    folder.mkdir()
    formats.save(sim_block.slice(0, 25 * 300), folder / "a.sbr")
    with running_cluster(tmp_path, workers=1, dashboard=dashboard) as address:
        res = cli("cohort", str(folder), "--out", str(tmp_path / "out"), "--scheduler", address)
    assert res.returncode == 0, res.stderr
    lines = res.stderr.strip().splitlines()
    if not dashboard:
        assert lines == ["analysing 1 of 1 file on 1 worker"], lines
    elif _bokeh_here():
        assert len(lines) == 1 and re.fullmatch(r"analysing 1 of 1 file on 1 worker, dashboard "
                                                r"http://127\.0\.0\.1:\d+/status", lines[0]), lines
    else:
        assert lines == ["analysing 1 of 1 file on 1 worker", "note: no live dashboard: Dask serves it only with "
                         "bokeh>=3.1.0 installed where the scheduler runs"], lines


def test_the_dashboard_check_asks_the_scheduler_alone():
    """Whether the dashboard is served is the scheduler's bokeh: only the scheduler is asked (it asked
    every worker too, client.get_versions: slow on a big --scheduler cluster, and held up by any worker
    slow to answer). On the real local cluster a run starts, its one worker stopped (SIGSTOP) so that
    it cannot answer, the check still comes back, saying what this environment's scheduler has."""
    import threading

    import dask
    from sensorback.cohort.run import _connect, _dashboard

    with dask.config.set({"distributed.comm.timeouts.connect": "1h"}):  # a worker asked is waited for
        client, cluster = _connect(1, None)
        (worker,) = client.run(os.getpid).values()
        got, done = [], threading.Event()

        def check():
            got.append(_dashboard(client))
            done.set()

        os.kill(worker, signal.SIGSTOP)
        try:
            threading.Thread(target=check, daemon=True).start()
            answered = done.wait(DEADLINE_S)
        finally:
            os.kill(worker, signal.SIGCONT)
            done.wait(DEADLINE_S)  # the old check, let go on, before the cluster closes under it
            client.close()
            cluster.close()
    assert answered, "the check waited for the stopped worker"
    if _bokeh_here():
        assert got[0][0] and got[0][0].endswith("/status") and got[0][1] is None, got
    else:
        assert got == [(None, "bokeh>=3.1.0")], got


def test_the_dashboard_is_served_with_the_bokeh_dask_asks_for():
    """As Scheduler.__init__ decides (it imports distributed.dashboard.scheduler, which refuses a bokeh
    older than Dask's requirement): installed and recent enough."""
    from distributed.versions import BOKEH_REQUIREMENT
    from sensorback.cohort.run import _served

    assert _served("3.9.2", BOKEH_REQUIREMENT)
    assert _served("3.1.0", BOKEH_REQUIREMENT)
    assert not _served("2.4.3", BOKEH_REQUIREMENT)
    assert not _served(None, BOKEH_REQUIREMENT)
