"""Every file a user creates with sensorback is theirs alone (0600), whatever the umask; the shared
HTML report does not name the database's path."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensorback.cli import app
from sensorback.private import PRIVATE_MODE, Replacing, create_private, open_private, write_whole, writing_path
from conftest import DEADLINE_S, DEMO, HoldingSource, async_until

runner = CliRunner()


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def open_umask(tmp_path, monkeypatch):
    """The most permissive umask: the modes must come from sensorback, not from the umask."""
    monkeypatch.setenv("SENSORBACK_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("SENSORBACK_DB", str(tmp_path / "default.db"))
    monkeypatch.setenv("SENSORBACK_NOTIFY", "0")
    old = os.umask(0)
    yield
    os.umask(old)


def ok(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, (r.output, r.exception)
    return r


def test_the_helper_creates_and_tightens(tmp_path):
    new = tmp_path / "new.bin"
    os.close(create_private(new))
    assert mode(new) == PRIVATE_MODE
    old = tmp_path / "old.csv"
    old.write_text("x")
    os.chmod(old, 0o644)
    with open_private(old, "w") as f:  # overwritten: tightened too
        f.write("y")
    assert mode(old) == PRIVATE_MODE and old.read_text() == "y"
    with open_private(tmp_path / "z.csv.gz", "w", gzip_level=3) as f:
        f.write("t,ax\n")
    assert mode(tmp_path / "z.csv.gz") == PRIVATE_MODE
    with pytest.raises(FileExistsError):
        create_private(new, exclusive=True)
    before = mode("/dev/null")
    os.close(create_private("/dev/null"))  # not a regular file: its mode is left alone
    assert mode("/dev/null") == before
    kept = tmp_path / "held.lock"  # a lock file another process holds: opened, tightened, not emptied
    kept.write_text("pid 1 on host\n")
    os.chmod(kept, 0o644)
    os.close(create_private(kept, truncate=False))
    assert mode(kept) == PRIVATE_MODE and kept.read_text() == "pid 1 on host\n"


def test_a_whole_file_replaces_the_old_one_only_when_complete(tmp_path):
    old = tmp_path / "e.csv"
    old.write_text("earlier")
    os.chmod(old, 0o644)
    with pytest.raises(KeyboardInterrupt):
        with Replacing(old, "w") as f:
            f.write("half")
            assert old.read_text() == "earlier" and mode(writing_path(old)) == PRIVATE_MODE
            raise KeyboardInterrupt
    assert old.read_text() == "earlier" and not os.path.exists(writing_path(old))
    with Replacing(old, "w") as f:
        f.write("new")
    assert old.read_text() == "new" and mode(old) == PRIVATE_MODE and not os.path.exists(writing_path(old))
    with Replacing("/dev/null", "w") as f:  # not a regular file: written to, never renamed over
        f.write("x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and not os.path.exists(writing_path("/dev/null"))


def test_write_whole_is_atomic_private_and_never_opens_what_it_replaces(tmp_path):
    """private.write_whole (cohort's tables, stored results and marker): 0600 whatever the old
    file's mode, the old file whole until the new one is complete, no temp file left on an error,
    and a FIFO (or any other non-regular file) where it writes is replaced, never opened (opening
    a FIFO with no reader would block; Replacing writes into one, the user having named it)."""
    old = tmp_path / "days.csv"
    old.write_bytes(b"earlier")
    os.chmod(old, 0o644)
    write_whole(old, b"new")
    assert old.read_bytes() == b"new" and mode(old) == PRIVATE_MODE and not os.path.lexists(writing_path(old))
    with pytest.raises(TypeError):
        write_whole(old, "not bytes")  # fails half-way: the old file stays, the temp file goes
    assert old.read_bytes() == b"new" and not os.path.lexists(writing_path(old))
    fifo = tmp_path / "files.csv"
    os.mkfifo(fifo)
    write_whole(fifo, b"x")
    assert stat.S_ISREG(os.lstat(fifo).st_mode) and fifo.read_bytes() == b"x" and mode(fifo) == PRIVATE_MODE
    with pytest.raises(IsADirectoryError):
        write_whole(tmp_path, b"x")
    assert not os.path.lexists(writing_path(tmp_path))


def test_every_file_the_commands_write_is_private(tmp_path):
    sim = tmp_path / "sim.sbr"
    ok("simulate", "--scenario", "demo", "--duration", "2min", "--out", sim)
    ok("convert", sim, tmp_path / "sim.csv.gz")
    ok("convert", sim, tmp_path / "sim.csv")
    ok("analyze", DEMO, "--epochs", tmp_path / "epochs.csv")
    db = tmp_path / "back.db"
    ok("replay", DEMO, "--db", db, "--events", tmp_path / "events.csv")
    from sensorback import formats

    day = datetime.fromtimestamp(formats.load(DEMO).start_time).date().isoformat()  # local day
    ok("report", "--day", day, "--db", db, "--html", tmp_path / "day.html")
    ok("config", "set", "sit_limit_min", "45")
    made = ["sim.sbr", "sim.labels.csv", "sim.csv.gz", "sim.csv", "epochs.csv", "back.db", "events.csv", "day.html",
            "config.toml"]
    assert {name: oct(mode(tmp_path / name)) for name in made} == {name: oct(PRIVATE_MODE) for name in made}
    html = (tmp_path / "day.html").read_text()
    assert str(db) not in html and str(tmp_path) not in html and "database" not in html.split("<main>")[1][:400]


def test_an_empty_file_named_as_the_database_becomes_private(tmp_path):
    """A database file the user made empty beforehand (touch back.db) kept its 0644 once it held
    their sessions."""
    db = tmp_path / "back.db"
    db.touch()
    os.chmod(db, 0o644)
    ok("replay", DEMO, "--db", db)
    assert oct(mode(db)) == oct(PRIVATE_MODE)
    assert db.stat().st_size > 0


def sensorback(*args, **popen) -> subprocess.CompletedProcess:
    """The command line in a process of its own, as the user runs it."""
    return subprocess.run([sys.executable, "-m", "sensorback.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=DEADLINE_S, **popen)


def test_an_existing_database_others_could_read_becomes_private_with_its_wal_files(tmp_path):
    """A database an older version (or sqlite3) left 0644 stayed 0644 while sensorback stored the
    wearer's sessions in it, and SQLite gave its -wal and -shm files the same mode. Writing into it
    makes all three 0600 and says so once; a report, which only reads, changes no mode."""
    db = tmp_path / "back.db"
    assert sensorback("replay", DEMO, "--db", db).returncode == 0
    os.chmod(db, 0o644)
    reader = sqlite3.connect(db)  # another program reading it meanwhile: its -wal and -shm stay
    try:
        reader.execute("SELECT count(*) FROM epochs").fetchone()
        sides = [tmp_path / "back.db-wal", tmp_path / "back.db-shm"]
        for side in sides:
            os.chmod(side, 0o644)
        os.chmod(db, 0o644)

        r = sensorback("report", "--db", db)
        assert r.returncode == 0, r.stderr
        assert "private" not in r.stderr and {p.name: oct(mode(p)) for p in [db, *sides]} == \
            {p.name: "0o644" for p in [db, *sides]}

        r = sensorback("replay", DEMO, "--db", db)
        assert r.returncode == 0, r.stderr
        said = [line for line in r.stderr.splitlines() if "private" in line]
        assert said == [f"warning: made database {db} private (0600; it was 0644)"], r.stderr
        assert {p.name: oct(mode(p)) for p in [db, *sides]} == {p.name: oct(PRIVATE_MODE) for p in [db, *sides]}
        assert reader.execute("SELECT count(*) FROM epochs").fetchone() == (900,)  # and it was written
    finally:
        reader.close()
    r = sensorback("replay", DEMO, "--db", db)  # private now: nothing more to say
    assert r.returncode == 0 and "private" not in r.stderr, r.stderr


def test_a_database_another_user_owns_keeps_its_mode(tmp_path):
    """Made 0644 by its owner, who shares it: not sensorback's to change, even for root."""
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    db = tmp_path / "shared.db"
    assert sensorback("replay", DEMO, "--db", db).returncode == 0
    os.chown(db, 65534, 65534)
    os.chmod(db, 0o644)
    r = sensorback("replay", DEMO, "--db", db)
    assert r.returncode == 0, r.stderr
    assert "private" not in r.stderr and oct(mode(db)) == "0o644"
    assert os.stat(db).st_uid == 65534


def test_a_live_recording_and_a_calibration_are_private(tmp_path):
    from sensorback.core import CoreOptions
    from sensorback.live import CalibrationStore, LiveSession
    from sensorback.sources.demo import DemoSource

    rec = tmp_path / "live.sbr"
    old = b"an older file of the same name"
    rec.write_bytes(old)
    os.chmod(rec, 0o644)
    # held after 2000 samples (40 s of the demo), so that the recording is still being written when
    # its mode is read: at speed 2000 the whole demo would otherwise play in under a second
    source = HoldingSource(DemoSource("demo", speed=2000, block_s=1.0), lambda: s.meters.samples >= 2000)
    s = LiveSession(source, options=CoreOptions(), record=rec,
                    calibrations=CalibrationStore(tmp_path / "cal.json"), provisional_s=5.0, device_key="demo")

    async def go():
        async def check_then_stop():
            await async_until(lambda: s.meters.samples >= 2000, "2000 samples recorded")
            assert not s.finished  # held: the recording is open, being written
            assert rec.read_bytes()[:len(old)] != old  # the new recording, not the older file
            assert mode(rec) == PRIVATE_MODE  # while it is being written, too
            await s.stop()  # stops the demo and releases the held block
        await asyncio.wait_for(asyncio.gather(s.run(), check_then_stop()), DEADLINE_S)

    asyncio.run(go())
    assert mode(rec) == PRIVATE_MODE
    path = CalibrationStore(tmp_path / "cal.json").save(["demo"], s.calibration, device="demo")
    assert mode(path) == PRIVATE_MODE


def test_the_html_report_names_no_database_path(tmp_path):
    from sensorback.report import build_report, render_html
    from sensorback.report.load import Rows, period_bounds
    from sensorback.store import EpochSeries

    day = datetime(2024, 3, 4, tzinfo=timezone.utc).date()
    start, end = period_bounds(day, day)
    secret = "/home/alice.smith/.local/share/sensorback/sensorback.db"
    rows = Rows(day, day, start, end, EpochSeries.empty(), [], [], [], [], database=secret, db_empty=True)
    report = build_report(rows, now=datetime(2024, 3, 5, tzinfo=timezone.utc))
    assert "alice" not in render_html(report)


def _gzip_name(path) -> bytes:
    """The file name a gzip header keeps (FNAME), which 'gunzip -N' restores."""
    data = Path(path).read_bytes()
    assert data[:2] == b"\x1f\x8b" and data[3] & 0x08, "no name in the gzip header"
    return data[10:data.index(b"\x00", 10)]


def test_a_gzip_file_keeps_its_own_name_not_its_temp_files(tmp_path):
    """convert and --epochs write .gz files into a temp file renamed into place; the gzip header
    keeps the name the user gave (as gzip does: without .gz), not 'day.csv.gz.1234.writing'."""
    ok("convert", DEMO, tmp_path / "day.csv.gz")
    ok("analyze", DEMO, "--epochs", tmp_path / "day.epochs.csv.gz")
    assert _gzip_name(tmp_path / "day.csv.gz") == b"day.csv"
    assert _gzip_name(tmp_path / "day.epochs.csv.gz") == b"day.epochs.csv"


def test_folders_sensorback_creates_are_private_down_to_the_first_that_existed(tmp_path, monkeypatch):
    """A first run makes ~/.config/sensorback and ~/.local/share/sensorback, and ~/.config and
    ~/.local/share too when they are missing: each 0700 (mkdir(parents=True) left all but the last
    at the umask's mode, 0777 here), while a folder that existed keeps its mode."""
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    for var in ("SENSORBACK_CONFIG", "SENSORBACK_DB", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    ok("config", "set", "sit_limit_min", "45")
    ok("log", "pain", "2")
    ok("calibrate", "--demo", "--speed", "1000")
    made = [home / ".config", home / ".config" / "sensorback", home / ".local", home / ".local" / "share",
            home / ".local" / "share" / "sensorback"]
    assert {str(p.relative_to(home)): oct(mode(p)) for p in made} == {str(p.relative_to(home)): "0o700" for p in made}
    assert mode(home) == 0o755
    for f in ("config.toml", "calibrations.json"):
        assert mode(home / ".config" / "sensorback" / f) == PRIVATE_MODE
    # sensorback's own folders left looser (by an older version) are tightened on the next write
    for own in (home / ".config" / "sensorback", home / ".local" / "share" / "sensorback"):
        os.chmod(own, 0o755)
    ok("config", "set", "sit_limit_min", "40")
    ok("log", "pain", "3")
    assert mode(home / ".config" / "sensorback") == 0o700 and mode(home / ".local" / "share" / "sensorback") == 0o700


def test_a_killed_writers_temp_file_is_removed_by_the_next_write_of_the_same_file(tmp_path):
    """A kill leaves FILE.HOST-PID.writing behind (a killed 'simulate --duration 7d' left 424 MB); the
    next write of FILE removes those of writers on this host that are gone, and only those (not a live
    writer's, not another host's, not an odd name's)."""
    import socket
    import subprocess
    import sys

    import numpy as np

    from sensorback import formats
    from sensorback.samples import SampleBlock

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        block = SampleBlock(np.arange(100) / 50.0, np.tile(np.float32([0, 0, 1]), (100, 1)), rate_hz=50.0)
        for name, write in (("x.sbr", lambda p: formats.save(block, p)), ("x.csv", lambda p: formats.save(block, p)),
                            ("x.html", lambda p: write_whole(p, b"<html></html>"))):
            here = socket.gethostname()
            dead = tmp_path / f"{name}.{here}-{gone.pid}.writing"
            kept = [tmp_path / f"{name}.{here}-{alive.pid}.writing", tmp_path / f"other{name}.{here}-{gone.pid}.writing",
                    tmp_path / f"{name}.elsewhere.example-{gone.pid}.writing",
                    tmp_path / f"{name}.{here}-99999999999999999999.writing", tmp_path / f"{name}.{here}-²³.writing"]
            for p in (dead, *kept):
                p.write_bytes(b"part")
            write(tmp_path / name)
            assert not dead.exists() and all(p.exists() for p in kept)
            assert (tmp_path / name).stat().st_size > 0
    finally:
        alive.stdin.close()
        alive.wait()
