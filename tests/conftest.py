"""Shared pytest fixtures, the repository's paths, and waiting on conditions.

Paths: REPO_ROOT is this checkout; SHARED is the ``shared`` folder beside it (``../shared``:
realdata/, seed/), as on the developers' machine and in CI's fresh clone. Test modules import
them (``from conftest import SHARED``) instead of spelling out absolute paths.

Waiting: the suite must pass on a fully loaded machine, so a test never sleeps a fixed time and
hopes; it waits for a condition with a generous deadline (DEADLINE_S): ``wait_until(cond)``,
``await async_until(cond)``, or ``LineReader(proc.stdout).until(predicate)`` for a subprocess's
output. Reaching the deadline fails the test with what was awaited. A test that acts at a moment of
a sped-up live source holds the source there (HoldingSource) instead of racing it.
"""

# ---- PostgreSQL for the store tests (tests/test_store*.py) -----------------------------------
# pg_server_url: a PostgreSQL database for the whole test session, from $SENSORBACK_TEST_PG if set,
# else a throwaway cluster started from the installed server binaries (Debian's postgresql
# package), else every PostgreSQL variant is skipped with the reason. With
# $SENSORBACK_TEST_PG_REQUIRED=1 (CI, once the server is installed) a cluster that cannot be
# started fails the tests instead of skipping them.
# pg_url: a fresh, empty schema in that database for one test.
# store_url: parametrized over SQLite (a file in tmp_path) and PostgreSQL.

import asyncio
import contextlib
import glob
import os
import pwd
import queue
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest

# ---- paths and waiting (see the module docstring) ---------------------------------------------
REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
def shared_file(*parts: str) -> Path:
    """A file of ../shared (real recordings, the seed article), or a skip where this checkout has
    no ../shared beside it (CI and the developers' machines do)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared is not beside this checkout)")
    return path


# ---- the developer's own files stay out of it ---------------------------------------------------
#: Where sensorback looks for its settings, database and calibrations (platformdirs reads the XDG
#: variables, then HOME). Every test, and every session fixture, runs with them pointing into a
#: fresh temporary folder: a developer's own config.toml (a bad value in it, say) must not change a
#: test's outcome, and no test may write into their real database or calibrations.
PRIVATE_ENV = ("SENSORBACK_CONFIG", "SENSORBACK_DB", "SENSORBACK_CALIBRATIONS")


def _home_in(mp: pytest.MonkeyPatch, home: Path) -> None:
    mp.setenv("HOME", str(home))
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                     ("XDG_STATE_HOME", "state")):
        mp.setenv(var, str(home / sub))
    for var in PRIVATE_ENV:
        mp.delenv(var, raising=False)


@pytest.fixture(scope="session", autouse=True)
def _session_home(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        _home_in(mp, tmp_path_factory.mktemp("home"))
        yield


@pytest.fixture(autouse=True)
def _test_home(monkeypatch, tmp_path_factory):
    _home_in(monkeypatch, tmp_path_factory.mktemp("home"))


#: How long a test waits for something that takes well under a second on an idle machine.
DEADLINE_S = 300.0
#: The bundled 15-minute demo recording (the README's).
DEMO = REPO_ROOT / "recordings" / "demo.sbr"


def honouring_permissions(cmd: list[str]) -> list[str]:
    """``cmd`` run so that a file's permissions hold (a chmod 000 file cannot be read): as it is
    for a user; for root, who reads any file, without the capabilities that let it (setpriv),
    or the test is skipped where setpriv is missing."""
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be made to hold")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, "--bounding-set", drop, "--inh-caps", drop, *cmd]


def files_as_they_are(folder: Path) -> dict:
    """Every file in ``folder``: its bytes, modification time (ns) and mode bits; equal before and
    after a command that must write nothing there (no -wal or -shm left beside a database either)."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns, oct(p.stat().st_mode & 0o777))
            for p in sorted(folder.iterdir())}


def journal_mode(path: Path) -> str:
    """An SQLite file's journal mode (reading it writes nothing: 'wal' or 'delete' as it is)."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()


def busy_settings():
    """Coach limits small enough that the demo has a break prompt, a nudge, an outcome and a
    break in its first minutes (the replay and session tests compare their coach events)."""
    from sensorback.coach import CoachSettings
    return CoachSettings(sit_limit_min=2, slouch_budget_min=1)


@pytest.fixture(scope="session")
def demo():
    """The demo recording, loaded once for the session (tests must not change it)."""
    from sensorback import formats
    return formats.load(DEMO)


def wait_until(cond: Callable[[], object], what: str = "the condition", timeout: float = DEADLINE_S,
               poll_s: float = 0.01):
    """Poll cond() until it is truthy and return its value; fail after timeout seconds."""
    end = time.monotonic() + timeout
    while not (value := cond()):
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}", pytrace=True)
        time.sleep(poll_s)
    return value


async def async_until(cond: Callable[[], object], what: str = "the condition", timeout: float = DEADLINE_S,
                      poll_s: float = 0.01, sleep=asyncio.sleep):
    """wait_until for a coroutine: polls without blocking the event loop (between polls it awaits
    sleep(poll_s), e.g. a Textual pilot's pause)."""
    end = time.monotonic() + timeout
    while not (value := cond()):
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}", pytrace=True)
        await sleep(poll_s)
    return value


class LineReader:
    """Reads a subprocess's text stream line by line in a thread, so a test can wait for a line
    with a deadline (a bare readline() would wait forever). ``lines`` holds every line read so far
    (without line ends); ``until(pred)`` waits for the first line with pred(line) true and returns it;
    ``to_end()`` waits for the end of the stream and returns every line."""

    _END = object()

    def __init__(self, stream):
        self.lines: list[str] = []
        self._q: "queue.Queue" = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream) -> None:
        try:
            for line in stream:
                self._q.put(line.rstrip("\r\n"))
        finally:
            self._q.put(self._END)

    def _next(self, end: float, what: str) -> Optional[str]:
        try:
            item = self._q.get(timeout=max(0.0, end - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"timed out waiting for {what}; the output so far: {self.lines[-20:]}")
        if item is self._END:
            self._q.put(item)  # the end stays the end
            return None
        self.lines.append(item)
        return item

    def until(self, pred: Callable[[str], bool], what: str = "a line", timeout: float = DEADLINE_S) -> str:
        end = time.monotonic() + timeout
        while True:
            line = self._next(end, what)
            if line is None:
                pytest.fail(f"the output ended without {what}: {self.lines[-20:]}")
            if pred(line):
                return line

    def to_end(self, timeout: float = DEADLINE_S) -> list[str]:
        end = time.monotonic() + timeout
        while self._next(end, "the end of the output") is not None:
            pass
        return self.lines


@dataclass
class Signalled:
    """What signalled_at saw: the line it waited for, every stdout line, stderr, the exit code."""

    line: str
    lines: list[str]
    err: str
    returncode: int


@contextlib.contextmanager
def reaped(proc: subprocess.Popen):
    """The block drives ``proc``; a command still running when it leaves (the test failed) is killed."""
    try:
        yield proc
    finally:
        if proc.poll() is None:  # pragma: no cover - only if the test fails
            proc.kill()
            proc.wait()


def signalled_at(cmd: list[str], when: Callable[[str], bool], sig: int, what: str, **popen) -> Signalled:
    """Run cmd, wait (DEADLINE_S) for the first stdout line with when(line), send it sig, then read
    both outputs to the end. A command still running when the test fails is killed."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, encoding="utf-8", **popen)
    with reaped(proc):
        out = LineReader(proc.stdout)
        line = out.until(when, what)
        proc.send_signal(sig)
        lines = out.to_end()
        err = proc.stderr.read()
        proc.wait(timeout=DEADLINE_S)
    return Signalled(line, lines, err, proc.returncode)


class HoldingSource:
    """A live source (e.g. a DemoSource) for a test that acts at one moment of the stream: items
    pass until hold_when() is true, then the next one is held back until release() or stop(). The
    session stays at that moment however long a loaded machine makes the test's next step (a sped-up
    demo would otherwise play on, or to its end, in the meantime)."""

    def __init__(self, source, hold_when: Callable[[], object]):
        self.source, self.hold_when = source, hold_when
        self._released = False
        self._go: Optional[asyncio.Event] = None  # created in the running loop

    def __aiter__(self):
        return self._run()

    async def _run(self):
        self._go = asyncio.Event()
        if self._released:
            self._go.set()
        async for item in self.source:
            if not self._go.is_set() and self.hold_when():
                await self._go.wait()
            yield item

    def release(self) -> None:
        self._released = True
        if self._go is not None:
            self._go.set()

    async def stop(self) -> None:
        await self.source.stop()
        self.release()


# ---- end of paths and waiting ------------------------------------------------------------------

PG_ENV = "SENSORBACK_TEST_PG"
PG_REQUIRED_ENV = "SENSORBACK_TEST_PG_REQUIRED"
PG_USER = "postgres"  # the system user that runs a throwaway cluster when the tests run as root


def _pg_version(initdb: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in Path(initdb).parent.parent.name.split("."))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_OWNER = "owner.pid"  # the test run a throwaway cluster belongs to


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Cluster:
    def __init__(self, bindir: Path, left_behind: Optional[Path] = None):
        """A new cluster's folder, owned by this test run; or the folder of one a killed run left."""
        self.bindir = bindir
        if left_behind is None:
            self.dir = Path(tempfile.mkdtemp(prefix="sensorback-pg-"))
            (self.dir / _OWNER).write_text(str(os.getpid()))
        else:
            self.dir = left_behind
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.prefix: list[str] = []
        self.port = 0
        self.started = left_behind is not None and self.data.exists()

    def run(self, *args: str) -> None:
        cmd = [*self.prefix, shlex.join(args)] if self.prefix[:1] == ["su"] else [*self.prefix, *args]
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-2000:]} {log}".strip())

    def _run_as_server_user(self) -> None:
        """As root, run the server's commands as PG_USER (PostgreSQL refuses to run as root)."""
        if os.geteuid() != 0:
            return
        try:
            user = pwd.getpwnam(PG_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                           check=True, capture_output=True)
            user = pwd.getpwnam(PG_USER)
        os.chown(self.dir, user.pw_uid, user.pw_gid)
        runuser = shutil.which("runuser")
        self.prefix = [runuser, "-u", PG_USER, "--"] if runuser else ["su", PG_USER, "-s", "/bin/sh", "-c"]

    def start(self) -> str:
        self._run_as_server_user()
        self.run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--no-sync")
        settings = (f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=40")
        for attempt in range(3):  # another program may take the free port first
            self.port = _free_port()
            try:
                self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                         "-o", f"-p {self.port} {settings}", "start")
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        self.started = True
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE sensorback_test")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/sensorback_test"

    @classmethod
    def sweep(cls, bindir: Path) -> None:
        """Stop and remove the clusters of earlier test runs that were killed before their
        teardown (SIGTERM, SIGKILL, a closed terminal): nothing keeps running after the suite."""
        for owner in Path(tempfile.gettempdir()).glob(f"sensorback-pg-*/{_OWNER}"):
            try:
                pid = int(owner.read_text())
            except (OSError, ValueError):
                continue
            if pid == os.getpid() or _alive(pid):
                continue
            stale = cls(bindir, left_behind=owner.parent)
            try:
                stale._run_as_server_user()
                stale.stop()
            except Exception:  # noqa: BLE001 - already stopped, or not ours to stop: leave it
                pass

    def stop(self) -> None:
        try:
            if self.started:
                self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _pg_unavailable(reason: str):
    if os.environ.get(PG_REQUIRED_ENV):
        pytest.fail(f"PostgreSQL is required (${PG_REQUIRED_ENV}) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL variant skipped: {reason}")


@pytest.fixture(scope="session")
def pg_server_url():
    url = os.environ.get(PG_ENV)
    if url:
        yield url
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _pg_unavailable("the psycopg driver is not installed (pip install 'sensorback[test]')")
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_pg_version)
    if not candidates and shutil.which("initdb") and shutil.which("pg_ctl"):
        candidates = [shutil.which("initdb")]
    if not candidates:
        _pg_unavailable(f"no PostgreSQL server is installed (apt-get install postgresql) and ${PG_ENV} is not set")
    _Cluster.sweep(Path(candidates[-1]).parent)
    cluster = _Cluster(Path(candidates[-1]).parent)
    try:
        try:
            url = cluster.start()
        except Exception as e:  # noqa: BLE001 - any failure to start means: no server for these tests
            _pg_unavailable(f"a throwaway cluster could not be started: {' '.join(str(e).split())[:1500]}")
        yield url
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_server_url):
    """A URL whose connections see only a fresh schema of their own (dropped afterwards)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(pg_server_url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A database URL for a store test: an SQLite file, or an empty PostgreSQL schema."""
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "store.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def make_epochs():
    """make_epochs(n, seed=0, t0=0.0) -> an EpochTable of n 1-s epochs with runs of states and NaNs."""
    import numpy as np

    from sensorback.core.epochs import EpochTable

    def make(n: int, seed: int = 0, t0: float = 0.0):
        rng = np.random.default_rng(seed)
        state = np.repeat(rng.integers(0, 7, n), rng.integers(1, 40, n))[:n].astype(np.int8)
        t = t0 + np.arange(n, dtype=np.float64)
        values = [rng.normal(10, 20, n).astype(np.float32) for _ in range(5)]
        for v in values[:3]:
            v[state == 6] = np.nan  # no_data: no angles
        return EpochTable(t, t + 1.0, state, *values)

    return make
# ---- end of the PostgreSQL block ---------------------------------------------------------------


def on_a_terminal(args: list[str], stderr=None, rows_cols: tuple[int, int] | None = None):
    """Start `python -m sensorback.cli ARGS` on a new pseudo-terminal that becomes its controlling
    terminal, so that closing the terminal hangs the command up (SIGHUP, SIGCONT) as closing a
    window does; stderr goes to the terminal too unless given. Returns (process, the terminal's
    controlling side)."""
    import fcntl
    import struct
    import sys
    import termios

    main, tty = os.openpty()
    if rows_cols is not None:
        fcntl.ioctl(tty, termios.TIOCSWINSZ, struct.pack("HHHH", *rows_cols, 0, 0))

    def controlled_by_tty() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([sys.executable, "-m", "sensorback.cli", *args], stdin=tty, stdout=tty,
                            stderr=tty if stderr is None else stderr, start_new_session=True,
                            preexec_fn=controlled_by_tty, env=dict(os.environ))
    os.close(tty)
    return proc, main


#: How long a command may take to end once its terminal is closed (it takes about a second, on a
#: loaded machine too): past this it hung on the gone terminal, and the test says so.
HANG_UP_S = 60.0


def main_thread_sleeps_in(pid: int) -> str:
    """Where process pid's main thread sleeps in the kernel ('futex': on a lock, e.g. putting into a
    full queue; 'do_epoll_wait': an idle event loop); '' when running, or where /proc does not say."""
    try:
        wchan = Path(f"/proc/{pid}/task/{pid}/wchan").read_text().strip()
    except OSError:
        return ""
    return "" if wchan == "0" else wchan


def _wait_channels_shown() -> bool:
    """Whether /proc says where a sleeping thread waits here: asked of a `sleep` child, which is
    asleep within milliseconds of starting even on a loaded machine (30 s allowed); some kernels
    hide wait channels, and there the stalled-terminal cases are skipped, not failed."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        wait_until(lambda: main_thread_sleeps_in(sleeper.pid), "a sleeping process's wait channel", timeout=30.0)
        return True
    except pytest.fail.Exception:
        return False
    finally:
        sleeper.kill()
        sleeper.wait()


def stall_terminal(proc, main: int) -> None:
    """Stop reading the terminal (as a stalled connection would) and resize it until the command is
    blocked on its output: every redraw backs up behind the full terminal until its main thread waits
    on a lock (seen several times in a row). Skips where /proc does not say where threads sleep."""
    import fcntl
    import struct
    import termios

    if not _wait_channels_shown():
        pytest.skip("/proc/PID/task/PID/wchan does not say where a thread sleeps here")
    wait_until(lambda: main_thread_sleeps_in(proc.pid), "the command's main thread to wait in the kernel")
    end = time.monotonic() + DEADLINE_S
    in_a_row = resizes = 0
    while in_a_row < 5:
        if proc.poll() is not None:
            pytest.fail(f"the command ended (exit {proc.returncode}) on a stalled terminal")
        if time.monotonic() > end:
            pytest.fail(f"the command did not block on its stalled terminal in {DEADLINE_S:g} s ({resizes} resizes)")
        if "futex" in main_thread_sleeps_in(proc.pid):
            in_a_row += 1
        else:
            in_a_row = 0
            resizes += 1  # a new size: the whole screen is drawn again
            fcntl.ioctl(main, termios.TIOCSWINSZ, struct.pack("HHHH", 30 + resizes % 2, 100, 0, 0))
        time.sleep(0.02)  # poll


def hang_up_when_shown(proc, main: int, shown: bytes, stalled: bool = False) -> bytes:
    """Read the terminal until `shown` appears, then close it (the command is hung up) and wait for
    the command to end (killed if the test fails first); the test fails if it has not ended within
    HANG_UP_S. stalled: before closing, the terminal stops being read until the command blocks on
    its output (stall_terminal). Returns what the terminal showed."""
    import select

    out = b""
    deadline = time.monotonic() + DEADLINE_S
    try:
        while shown not in out and time.monotonic() < deadline and proc.poll() is None:
            if select.select([main], [], [], 1.0)[0]:
                try:
                    out += os.read(main, 65536)
                except OSError:  # EIO: the command ended and its side of the terminal closed
                    break
        assert shown in out, out[-2000:]
        if stalled:
            stall_terminal(proc, main)
        os.close(main)  # the terminal goes away: SIGHUP (and SIGCONT)
        main = None
        try:
            proc.wait(timeout=HANG_UP_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the command had not ended {HANG_UP_S:g} s after its terminal closed: "
                        "it hung on the gone terminal")
    finally:
        if main is not None:
            os.close(main)
        if proc.poll() is None:  # pragma: no cover - only if the test fails
            proc.kill()
            proc.wait()
    return out
