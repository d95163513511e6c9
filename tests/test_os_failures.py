"""The machine, not the input: a full disk exits 1 with one line naming the file or database (as
OS errors are documented), and a database on a read-only mount can still be read by `report`.

Real parts: /dev/full for files (the atomic writers' temporary file is pointed at it), real
SQLite errors, and real read-only and tiny tmpfs mounts in a private mount namespace
(`unshare -Urm`; skipped where the machine does not allow one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from sensorback import formats
from sensorback.cli import app
from sensorback.cli._runtime import run_guarded
from sensorback.errors import OSProblem
from sensorback.private import writing_path
from sensorback.samples import SampleBlock
from sensorback.store import open_store
from sensorback.store.db import DatabaseFull, describe, make_engine, translate
from cli_checks import one_line_error

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"
WAIST = RECORDINGS / "hapt_waist_exp01_user01.csv.gz"
DAY = "2024-03-04"
START = datetime(2024, 3, 4, 9, 0, tzinfo=timezone.utc).timestamp()

runner = CliRunner()
needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def script() -> str:
    found = shutil.which("sensorback", path=sysconfig.get_path("scripts")) or shutil.which("sensorback")
    assert found, "the sensorback console script is not installed; run pip install -e '.[test]'"
    return found


def private_mounts(shell: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `shell` in a private mount namespace (mounts vanish with it), or skip the test."""
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True) if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("this machine does not allow a private mount namespace (unshare -Urm)")
    env = {**os.environ, "TZ": "UTC", "SB": script()}
    return subprocess.run(["unshare", "-Urm", "sh", "-c", shell], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def day_recording(tmp_path: Path) -> Path:
    block = formats.load(WAIST)
    path = tmp_path / "day.sbr"
    formats.save(SampleBlock(block.t, block.acc, device="phone", rate_hz=block.rate_hz, start_time=START), path)
    return path


# ----------------------------------------------------------------------------- files on a full disk


@needs_dev_full
@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz", "out.sbr"])
def test_convert_onto_a_full_disk_is_exit_1_naming_the_file(tmp_path, name):
    out = tmp_path / name
    os.symlink("/dev/full", writing_path(out))  # where the atomic writer writes before renaming (this process)
    one_line_error(run("convert", WAIST, out), f"error: {out}: No space left on device", code=1)
    assert not out.exists() and not os.path.lexists(writing_path(out))


@needs_dev_full
def test_epochs_events_and_html_onto_a_full_disk_are_exit_1_naming_the_file(tmp_path):
    full = tmp_path / "full.csv"
    os.symlink("/dev/full", full)
    one_line_error(run("analyze", WAIST, "--epochs", full), f"{full}: No space left on device", code=1)
    db = tmp_path / "x.db"
    one_line_error(run("replay", WAIST, "--db", db, "--events", full), f"{full}: No space left on device", code=1)
    page = tmp_path / "week.html"
    os.symlink("/dev/full", page)
    one_line_error(run("report", "--week", "--db", db, "--html", page), f"{page}: No space left on device", code=1)


@needs_dev_full
def test_an_earlier_epochs_events_or_html_file_survives_a_full_disk_whole(tmp_path):
    """Re-running onto an earlier output writes a temp file renamed into place: a full disk on the
    way leaves the earlier file as it was, and no temp file."""
    db = tmp_path / "x.db"
    for option, args in [("--epochs", ["analyze", WAIST]), ("--events", ["replay", WAIST, "--db", db]),
                         ("--html", ["report", "--week", "--db", db])]:
        out = tmp_path / f"out{option}"
        r = run(*args, option, out)
        assert r.exit_code == 0, r.output
        earlier = out.read_bytes()
        os.symlink("/dev/full", writing_path(out))
        one_line_error(run(*args, option, out), f"{out}: No space left on device", code=1)
        assert out.read_bytes() == earlier and not os.path.lexists(writing_path(out))


#: An output name a folder takes (under 255 bytes) whose temp file's name (NAME.HOST-PID.writing) it does not.
LONG = "a" * 243  # + ".csv.gz": 250 bytes; its temp file adds 12 or more


@pytest.mark.parametrize("args, out", [
    (["convert", WAIST, f"{LONG}.sbr"], f"{LONG}.sbr"),
    (["convert", WAIST, f"{LONG}.csv.gz"], f"{LONG}.csv.gz"),
    (["analyze", WAIST, "--epochs", f"{LONG}.csv"], f"{LONG}.csv"),
    pytest.param(["convert", WAIST, "/proc/x.sbr"], "/proc/x.sbr", marks=pytest.mark.skipif(
        os.geteuid() != 0 or not os.path.isdir("/proc/self"),
        reason="/proc: refused up front where it is not writable (for a user); root passes the check")),
])
def test_an_output_its_temp_file_cannot_be_made_for_is_named_as_the_user_gave_it(tmp_path, args, out):
    """An output that passes the up-front check but whose temp file cannot be made (its name too
    long, a folder such as /proc that takes no new file): the error names the output asked for, not
    the hidden temp file ('error: NAME.sbr.HOST-PID.writing: File name too long')."""
    r = subprocess.run([script(), *map(str, args)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stdout) == (1, ""), (r.returncode, r.stdout, r.stderr)
    said = "No such file or directory" if out.startswith("/proc/") else "File name too long"
    assert r.stderr.splitlines()[-1] == f"error: {out}: {said}", r.stderr
    assert ".writing" not in r.stderr and "Traceback" not in r.stderr
    assert os.listdir(tmp_path) == []


def test_a_full_disk_without_a_file_name_is_still_one_line_exit_1(capsys):
    def write_somewhere():
        raise OSError(28, "No space left on device")

    assert run_guarded(write_somewhere) == 1
    assert capsys.readouterr().err == "error: No space left on device\n"


# ----------------------------------------------------------------------------- a full database


def test_a_full_sqlite_database_is_database_full_with_exit_1(tmp_path, capsys):
    """SQLite's own 'database or disk is full' (here from max_page_count, the same error code)."""
    db = tmp_path / "small.db"
    open_store(str(db)).close()
    target = describe(f"sqlite:///{db}")
    engine = make_engine(target)

    @event.listens_for(engine, "connect")
    def tiny(dbapi_conn, _):
        dbapi_conn.execute("PRAGMA max_page_count = 40")

    with pytest.raises(DBAPIError) as e:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE filler (x BLOB)"))
            for _ in range(100):
                conn.execute(text("INSERT INTO filler VALUES (zeroblob(4000))"))
    engine.dispose()
    err = translate(e.value, target, "write 300 epochs", 5.0)
    assert isinstance(err, DatabaseFull) and isinstance(err, OSProblem)
    assert str(err) == f"database {db}: the disk is full (cannot write 300 epochs)"

    def fail():
        raise err

    assert run_guarded(fail) == 1
    assert capsys.readouterr().err == f"error: database {db}: the disk is full (cannot write 300 epochs)\n"


def test_replay_into_a_database_on_a_full_disk_exits_1(tmp_path):
    rec = day_recording(tmp_path)
    (tmp_path / "full").mkdir()
    done = private_mounts('mount -t tmpfs -o size=160k tmpfs full && "$SB" replay day.sbr --db full/x.db', tmp_path)
    assert done.returncode == 1, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: database {tmp_path}/full/x.db: ")
    assert "full" in lines[0] and "Traceback" not in done.stderr
    assert rec.exists()


# ----------------------------------------------------------------------------- a read-only database


def test_report_reads_a_database_on_a_read_only_mount(tmp_path):
    rec = day_recording(tmp_path)
    (tmp_path / "ro").mkdir()
    assert run("replay", rec, "--db", tmp_path / "ro" / "back.db").exit_code == 0
    writable = subprocess.run([script(), "report", "--day", DAY, "--db", "ro/back.db"], cwd=tmp_path,
                              env={**os.environ, "TZ": "UTC"}, capture_output=True, text=True, timeout=120)
    assert writable.returncode == 0 and "Back report for Monday 4 March 2024" in writable.stdout
    before = sorted(os.listdir(tmp_path / "ro"))
    done = private_mounts('mount --bind ro ro && mount -o remount,bind,ro ro && '
                          f'"$SB" report --day {DAY} --db ro/back.db', tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == writable.stdout and done.stderr == ""
    assert sorted(os.listdir(tmp_path / "ro")) == before


def test_writing_to_a_database_on_a_read_only_mount_is_one_line(tmp_path):
    rec = day_recording(tmp_path)
    (tmp_path / "ro").mkdir()
    assert run("replay", rec, "--db", tmp_path / "ro" / "back.db").exit_code == 0
    done = private_mounts('mount --bind ro ro && mount -o remount,bind,ro ro && "$SB" log pain 3 --db ro/back.db',
                          tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr == (f"error: database {tmp_path}/ro/back.db can only be read here (it is on a read-only "
                           "file system); 'sensorback report' still reads it\n")


def test_an_output_in_a_read_only_folder_is_refused_before_any_work(tmp_path):
    """Each command's output checked up front, like a missing folder: the analysis or the simulation
    is not run first to fail on its temp file ('error: ro/e.csv.1234.writing: Read-only file system')."""
    shutil.copy(WAIST, tmp_path / "in.csv.gz")
    (tmp_path / "ro").mkdir()
    commands = {
        "--epochs": '"$SB" analyze in.csv.gz --epochs ro/e.csv',
        "OUT": '"$SB" convert in.csv.gz ro/c.sbr',
        "--out": '"$SB" simulate --scenario demo --duration 10s --out ro/s.sbr',
        "--events": '"$SB" replay in.csv.gz --db back.db --events ro/ev.csv',
        "--html": '"$SB" report --db back.db --day 2024-03-04 --html ro/r.html',
        "--db": '"$SB" log pain 3 --db ro/new.db',  # (said 'cannot create database ...', exit 2)
    }
    assert run("replay", WAIST, "--db", tmp_path / "back.db", "--start", "2024-03-04 09:00").exit_code == 0
    done = private_mounts("mount --bind ro ro && mount -o remount,bind,ro ro && " + " ; ".join(
        f'{c}; echo "rc=$?"' for c in commands.values()), tmp_path)
    assert done.stdout.splitlines() == ["rc=1"] * len(commands), done.stdout  # no summary printed first
    folder = {"--db": tmp_path / "ro"}  # (a database is named by its whole path)
    assert done.stderr.splitlines() == [f"error: {option}: cannot write in folder {folder.get(option, 'ro')} (it is on "
                                        "a read-only file system)" for option in commands]
    assert os.listdir(tmp_path / "ro") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions (the read-only mount test covers it)")
def test_report_reads_a_database_in_a_folder_without_write_permission(tmp_path):
    rec = day_recording(tmp_path)
    folder = tmp_path / "locked"
    folder.mkdir()
    db = folder / "back.db"
    assert run("replay", rec, "--db", db).exit_code == 0
    os.chmod(db, 0o400)
    os.chmod(folder, 0o500)
    try:
        r = run("report", "--day", DAY, "--db", db)
    finally:
        os.chmod(folder, 0o700)
    assert r.exit_code == 0, r.output
    assert "Back report for Monday 4 March 2024" in r.stdout
