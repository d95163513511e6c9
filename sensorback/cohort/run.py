"""Run a cohort: find the inputs, skip what is done, analyse the rest on Dask, write the tables.

Each finished file's result goes at once, atomically, to ``DIR/.parts/<key>.json`` (written by this
process, not by the workers), so a run that is killed keeps every file it finished and ``--resume``
picks up from there. The tables (``days.parquet``, ``days.csv``, ``files.csv``) are rebuilt from those
results at the end of every run, sorted by file and in time order within a file, so they are the same
whatever the number of workers or the order in which files finished. What may be written into DIR at
all (a new or empty folder, or an earlier cohort output) is folder.py's.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import hashlib
import io
import json
import logging
import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import formats, signals
from ..errors import SensorbackError, utf8_text
from ..private import PRIVATE_DIR_MODE, make_private_dirs, write_whole
from .exposures import DAY_COLUMNS, SEATED_BOUTS
from .folder import (OUTPUTS, PARTS, VERSION, held_by_this_run, is_cohort_output, refuse_written_over,
                     remove_unused, write_marker)
from .task import FILE_COLUMNS, Fingerprint, analyze_file

#: What an older results format lacks, for the error that refuses to --resume it.
_CHANGED = {1: "its tables name the seated figures 'sitting_bouts', 'breaks_per_sitting_hour', ..."}
_GLOB_CHARS = set("*?[")
WAIT_FOR_WORKERS_S = 120.0
#: The local cluster's dashboard: a free port the system picks (never a fixed one, which another
#: cluster, or anything else, may hold), on this machine only (it names the study's files).
DASHBOARD_ADDRESS = "127.0.0.1:0"


@dataclass
class CohortResult:
    files: int = 0
    skipped: int = 0  # done in an earlier run and unchanged
    ok: int = 0
    failed: int = 0
    days: int = 0
    recorded_days: float = 0.0  # person-days of recording analysed in this run
    setup_s: float = 0.0  # starting or connecting to the cluster
    wall_s: float = 0.0  # from the first file submitted to the last one finished
    workers: int = 0
    dashboard: str | None = None  # its link, when the scheduler serves it
    dashboard_needs: str | None = None  # else what the scheduler needs to serve it, e.g. 'bokeh>=3.1.0'
    interrupted: bool = False
    stopped_by: int | None = None  # when interrupted: the signal (SIGINT for Ctrl-C, SIGTERM, SIGHUP)
    failures: list[str] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)  # outputs of sensorback's own among the inputs, by kind


# ----------------------------------------------------------------------------- inputs


def _is_recording(name: str) -> bool:
    if str(name).lower().endswith(".labels.csv"):  # the simulator's label sidecars, not recordings
        return False
    try:
        formats.kind_of(name)
        return True
    except SensorbackError:
        return False


def check_inputs(specs: list[str]) -> None:
    """What INPUTS say without a search (a few stat calls): each is a folder, a file of a known kind,
    or a glob pattern. A typo is a one-line error before a results folder is made; find_inputs
    searches the folders and patterns."""
    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            continue
        if p.exists():
            formats.kind_of(p)  # an unknown extension is a one-line error now, not a failed file later
        elif not _GLOB_CHARS & set(spec):
            raise SensorbackError(f"{spec}: no such file or folder")


def _pattern_folder(spec: str) -> Path:
    """The folder a glob pattern looks in: its parts before the first one with a wildcard
    ('study/**/*.cwa' -> study, '*.sbr' -> the current folder)."""
    lead = []
    for part in Path(spec).parts:
        if _GLOB_CHARS & set(part):
            break
        lead.append(part)
    return Path(*lead) if lead else Path(".")


def refuse_out_holding_inputs(specs: list[str], out: Path) -> None:
    """A one-line SensorbackError, before anything is written, when DIR is an input folder, holds one
    (or the folder a pattern looks in), or holds an input file: the results would be written among
    the recordings. The search leaves out everything in DIR, so such a run found 'no recordings' in a
    folder full of them (leaving its lock file there); with files named, the tables went beside them,
    and a later 'study/*' took them for recordings. A DIR inside the study folder is fine: the search
    leaves it out (find_inputs). check_inputs first: the specs are folders, files or patterns."""
    where = out.resolve()
    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            at, what = p.resolve(), f"the input folder {spec}"
        elif p.exists():
            at, what = p.parent.resolve() / p.name, f"the input {spec}"  # a link's own place, not its target's
        else:
            at, what = _pattern_folder(spec).resolve(), f"the folder the pattern '{spec}' looks in"
        if at.is_relative_to(where):
            said = f"is {what}" if at == where else f"holds {what}"
            raise SensorbackError(f"--out {out}: {said}; --out may not be the study folder or hold any input "
                                  "(results and recordings would mix): give another folder, e.g. a new one beside it")


def find_inputs(specs: list[str], exclude: Path | None = None,
                left_out: dict[str, int] | None = None) -> list[Path]:
    """Files, folders (searched recursively for recordings) and glob patterns -> sorted absolute paths.
    Nothing under `exclude` (the output folder), and no table of an earlier cohort output, is taken
    from a folder or a pattern. Files sensorback wrote itself (an epochs table or an events file left
    in the study, known by their first line, not their name: outputs.py) are never taken; `left_out`
    counts them by kind (outputs.KINDS), each file once."""
    from ..outputs import KINDS, output_kind

    found: dict[str, Path] = {}
    skip = exclude.resolve() if exclude is not None else None
    results: dict[Path, bool] = {}
    own: dict[str, str] = {}  # resolved path -> the kind of output sensorback wrote it as

    def outside(q: Path) -> bool:
        """Not in the output folder, and not a table of an earlier run's results (a results folder
        kept inside the study, or the output of another run: its days.csv is no recording)."""
        if q.name in OUTPUTS:
            if q.parent not in results:
                results[q.parent] = is_cohort_output(q.parent)
            if results[q.parent]:
                return False
        return skip is None or not q.resolve().is_relative_to(skip)

    def recordings(spec: str, hits: list[Path], where: str) -> list[Path]:
        """The hits but the outputs of sensorback's own (a CSV-named epochs table or events file);
        an error when a folder or pattern (``where``) gives nothing else."""
        kept = []
        for q in hits:
            kind = output_kind(q) if formats.kind_of(q) == "csv" else None
            if kind is None:
                kept.append(q)
            else:
                own[str(q.resolve())] = kind
        if where and hits and not kept:
            kinds = sorted({KINDS[own[str(q.resolve())]].noun + "s" for q in hits})
            raise SensorbackError(f"{spec}: no recordings {where}, only {' and '.join(kinds)} sensorback wrote")
        return kept

    check_inputs(specs)
    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            hits = [q for q in p.rglob("*") if q.is_file() and _is_recording(q.name) and outside(q)]
            if not hits:
                looked = ", ".join(formats.EXTENSIONS)
                raise SensorbackError(f"{spec}: no recordings in this folder (looked for {looked})")
            hits = recordings(spec, hits, "in this folder")
        elif p.exists():
            hits = recordings(spec, [p], "")  # left out too: a shell expands study/* into such names
        else:  # a pattern (check_inputs)
            hits = [Path(q) for q in glob.glob(spec, recursive=True)
                    if Path(q).is_file() and _is_recording(q) and outside(Path(q))]
            if not hits:
                raise SensorbackError(f"{spec}: no recordings match this pattern")
            hits = recordings(spec, hits, "match this pattern")
        for q in hits:
            found.setdefault(str(q.resolve()), q.resolve())
    if not found and own:
        first = min(own)
        raise SensorbackError(f"{first}: is {KINDS[own[first]].what}, not a recording; nothing to analyse")
    if left_out is not None:
        for kind in own.values():
            left_out[kind] = left_out.get(kind, 0) + 1
    return [found[k] for k in sorted(found)]


def _key(path: Path) -> str:
    return hashlib.sha256(os.fsencode(path)).hexdigest()[:20]  # the name's bytes, UTF-8 or not


# ----------------------------------------------------------------------------- results on disk


def _part_path(out: Path, path: Path) -> Path:
    return out / PARTS / f"{_key(path)}.json"


def _load_part(out: Path, path: Path) -> dict | None:
    try:
        doc = json.loads(_part_path(out, path).read_text())
    except (OSError, ValueError):
        return None
    if doc.get("version") != VERSION or doc.get("path") != str(path):
        return None
    return doc


def _save_part(out: Path, path: Path, fingerprint: Fingerprint, settings: dict, result: dict, run_id: str) -> None:
    doc = {"version": VERSION, "path": str(path), "run": run_id, "fingerprint": fingerprint.to_dict(),
           "settings": settings, "file": result["file"], "days": result["days"], "seconds": result.get("seconds")}
    write_whole(_part_path(out, path), json.dumps(doc, allow_nan=True).encode())


def _check_version(out: Path) -> None:
    """Refuse to finish a run whose stored results another version of sensorback wrote: their
    day rows have other columns, and the tables would mix the two."""
    for q in sorted((out / PARTS).glob("*.json")):
        try:
            version = json.loads(q.read_text()).get("version")
        except (OSError, ValueError, AttributeError):
            continue  # unreadable: that file is analysed again
        if version != VERSION:
            what = (f"an older version of sensorback ({_CHANGED[version]})" if version in _CHANGED
                    else f"another version of sensorback (results format {version}; this one writes {VERSION})")
            raise SensorbackError(f"--out {out}: written by {what}, so --resume cannot finish it without mixing "
                                  "the two; pass --overwrite to start again, or give another --out")


def _is_done(doc: dict | None, fingerprint: Fingerprint, settings: dict) -> bool:
    return (doc is not None and doc["file"].get("status") == "ok" and doc.get("settings") == settings
            and doc.get("fingerprint") == fingerprint.to_dict())


# ----------------------------------------------------------------------------- tables


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


def _csv_bytes(columns, rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_csv_value(r.get(c)) for c in columns])
    return buf.getvalue().encode()


def day_schema():
    import pyarrow as pa

    text = {"file", "day", "reference_up", "reference_forward"}
    counts = {SEATED_BOUTS, "breaks", "sit_to_stand"}
    return pa.schema([(c, pa.string() if c in text else pa.int64() if c in counts else pa.float64())
                      for c in DAY_COLUMNS])


def _arrow_column(values: list, kind):
    """An Arrow array of type kind (string, int64 or float64) holding values (None: null; NaN stays
    NaN), built from its buffers: pa.array and pa.table first ask pandas whether the values are its
    own, which imports it (about a second at the end of every run) though nothing here uses it."""
    import numpy as np
    import pyarrow as pa

    valid = pa.py_buffer(np.packbits(np.array([v is not None for v in values], dtype=bool), bitorder="little"))
    if pa.types.is_string(kind):
        data = [b"" if v is None else v.encode() for v in values]
        offsets = np.zeros(len(data) + 1, dtype=np.int64)
        np.cumsum([len(d) for d in data], out=offsets[1:])
        if offsets[-1] >= 2**31:
            raise ValueError("day table too large: its text columns hold 2 GiB or more")
        return pa.StringArray.from_buffers(len(data), pa.py_buffer(offsets.astype(np.int32)),
                                           pa.py_buffer(b"".join(data)), valid)
    numbers = np.array([0 if v is None else v for v in values], dtype=np.float64 if pa.types.is_floating(kind)
                       else np.int64)
    return pa.Array.from_buffers(kind, len(values), [valid, pa.py_buffer(numbers)])


def _parquet_bytes(rows: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = day_schema()
    table = pa.Table.from_arrays([_arrow_column([r.get(c) for r in rows], schema.field(c).type)
                                  for c in DAY_COLUMNS], schema=schema)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def write_tables(out: Path, paths: list[Path]) -> tuple[int, int]:
    """Rebuild the three tables from the stored results of `paths` (files without one are left out)."""
    file_rows, day_rows = [], []
    for p in paths:  # already sorted
        doc = _load_part(out, p)
        if doc is None:
            continue
        file_rows.append(doc["file"])
        day_rows.extend(doc["days"])
    parquet, days_csv, files_csv = (out / name for name in OUTPUTS)
    write_whole(parquet, _parquet_bytes(day_rows))
    write_whole(days_csv, _csv_bytes(DAY_COLUMNS, day_rows))
    write_whole(files_csv, _csv_bytes(FILE_COLUMNS, file_rows))
    return len(file_rows), len(day_rows)


# ----------------------------------------------------------------------------- Dask


def _warm_up() -> list[str]:
    """Load what a task needs; the day table's columns as this worker's sensorback writes them."""
    import sensorback.cohort.exposures
    import sensorback.core.pipeline  # noqa: F401
    import sensorback.formats.cwa  # noqa: F401

    return list(sensorback.cohort.exposures.DAY_COLUMNS)


def _connect(workers: int | None, scheduler: str | None, dashboard: bool = True):
    from dask.distributed import Client

    if scheduler:  # its address checked by run_cohort, before anything was created
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as e:
            raise SensorbackError(f"--scheduler {scheduler}: cannot connect ({' '.join(str(e).split())})") from None
        return client, None
    cluster = _start_local(workers or os.cpu_count() or 1, dashboard)
    try:
        return Client(cluster), cluster
    except BaseException:  # Ctrl-C while the client connects: nobody else would stop the workers
        _close_cut_short(cluster)
        raise


def _start_local(n: int, dashboard: bool = True):
    """A local cluster of n worker processes, started so that a Ctrl-C never reaches its workers and
    one (or SIGTERM) during the start still stops the run, the cluster closed. Without ``dashboard``
    its scheduler neither loads bokeh nor serves the dashboard's pages, as 'dask scheduler
    --no-dashboard'; its HTTP port (Dask's /health and /metrics) is still one the system picks on
    this machine (DASHBOARD_ADDRESS): Dask would bind the fixed port 8787 without an address.

    A terminal sends Ctrl-C to its whole process group; a worker that took it would die with a
    traceback of its own, so only this process handles it. The cluster is started in a thread that
    blocks SIGINT: threads inherit the signal mask of the thread that starts them, and processes that
    of the thread that forks them (across exec), so the cluster's event loop, the threads that start
    its workers and the workers block SIGINT from their first instruction, while the calling thread
    keeps its handler and mask and is interrupted at once. (Ignoring SIGINT during the start, a
    disposition the whole process shares, lost a Ctrl-C pressed then.) multiprocessing's resource
    tracker is started first, from the calling thread: starting it unblocks SIGINT in the thread that
    starts it. Workers exit with this process however it ends: distributed has each one watch a pipe
    from it."""
    import threading

    from dask.distributed import LocalCluster

    started: dict = {}
    done = threading.Event()  # not Thread.join(): interrupted, Python 3.11's takes the thread for ended

    def start() -> None:
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            started["cluster"] = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                              dashboard_address=DASHBOARD_ADDRESS, silence_logs=logging.ERROR,
                                              scheduler_kwargs={"dashboard": dashboard})
        except BaseException as e:  # raised again in the calling thread
            started["error"] = e
        finally:
            done.set()

    if hasattr(signal, "pthread_sigmask"):
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
    threading.Thread(target=start, name="sensorback: starting the local cluster", daemon=True).start()
    try:
        done.wait()
    except BaseException:  # stopped while it starts: it is closed once started (a second Ctrl-C: at exit)
        done.wait()
        if "cluster" in started:
            _close_cut_short(started["cluster"])
        raise
    if "error" in started:
        raise started["error"]
    return started["cluster"]


def _close_cut_short(cluster) -> None:
    """Close a local cluster whose start or connection a signal cut short."""
    _hush_teardown()
    # Dask's close can fail after an interrupted call (its sync() then ends without a result);
    # distributed closes the cluster at exit then, and the interruption is what to report.
    with contextlib.suppress(Exception):
        cluster.close()


#: Dask's protocols; a --scheduler address without one is tcp (as Dask reads it).
_PROTOCOLS = ("tcp", "tls", "ucx", "ws", "wss", "inproc")


def _probe(address: str) -> None:
    """A --scheduler address must be one Dask can use: [PROTOCOL://]HOST:PORT, where a tcp address
    (the usual one) needs a host and a port. A refused tcp address fails at once (Dask itself would
    retry until its timeout)."""
    import socket
    from urllib.parse import urlsplit

    protocol, sep, _ = address.partition("://")
    if sep and protocol not in _PROTOCOLS:
        raise SensorbackError(f"--scheduler {address}: expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 "
                              f"(or another Dask protocol: {', '.join(p + '://' for p in _PROTOCOLS[1:])})")
    if sep and protocol != "tcp":
        return
    try:
        u = urlsplit(address if sep else f"tcp://{address}")
        host, port = u.hostname, u.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise SensorbackError(f"--scheduler {address}: expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    try:
        socket.create_connection((host, port), timeout=10).close()
    except OSError as e:
        raise SensorbackError(f"--scheduler {address}: cannot connect ({e.strerror or e})") from None


def _dashboard(client) -> tuple[str | None, str | None]:
    """(link, needs): the dashboard's link when the scheduler serves its pages, else what it would
    need. A scheduler always has its HTTP port ('dashboard' among its services: /health, /metrics),
    with or without its dashboard: one started with 'dask scheduler --no-dashboard' has no page at the
    link (no link, no note: installing anything would not bring it); one that wants it serves the pages
    only where bokeh, as recent as Dask asks, is installed (Scheduler.__init__); without it the link
    opens a page asking for bokeh, and needs is that requirement, 'bokeh>=3.1.0'.
    Only the scheduler is asked (client.get_versions asks every worker too: slow on a big cluster), with
    distributed's own lookup, which the scheduler has, unlike sensorback (only the workers need it)."""
    try:
        if "dashboard" not in client.scheduler_info().get("services", {}):
            return None, None
        from urllib.parse import urlsplit

        from distributed.versions import BOKEH_REQUIREMENT

        link = client.dashboard_link
        has_page, found = client.run_on_scheduler(_page_and_bokeh(), urlsplit(link).path or "/")
        if not has_page:  # the dashboard switched off
            return None, None
        return (link, None) if _served(found, BOKEH_REQUIREMENT) else (None, str(BOKEH_REQUIREMENT))
    except Exception:  # an informational link must never fail a run
        return None, None


def _page_and_bokeh():
    """A function for run_on_scheduler: (whether the scheduler's HTTP server has a page at a path, its
    bokeh version or None). Made here, not at module level, so that it travels by value: the
    scheduler need not have sensorback."""
    def page_and_bokeh(path, dask_scheduler=None):
        from distributed.versions import get_package_info
        from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
        from tornado.web import ErrorHandler

        request = HTTPServerRequest(start_line=RequestStartLine("GET", path, "HTTP/1.1"),
                                    headers=HTTPHeaders({"Host": "localhost"}))
        found = dask_scheduler.http_application.find_handler(request)
        has_page = found is not None and not issubclass(found.handler_class, ErrorHandler)
        return has_page, get_package_info(["bokeh"]).get("bokeh")
    return page_and_bokeh


def _served(bokeh_version: str | None, requirement) -> bool:
    """The scheduler serves the dashboard with this bokeh (None: not installed), as Dask decides."""
    return bokeh_version is not None and requirement.specifier.contains(bokeh_version, prereleases=True)


def _n_workers(client) -> int:
    try:
        return len(client.scheduler_info().get("workers", {}))
    except Exception:
        return 0


def run_cohort(inputs: list[str], out: Path, *, workers: int | None = None, scheduler: str | None = None,
               resume: bool = False, overwrite: bool = False, timezone_name: str = "UTC", dashboard: bool = True,
               on_start: Callable[[CohortResult, int], None] | None = None,
               on_file: Callable[[dict, CohortResult, int], None] | None = None) -> CohortResult:
    """Analyse every input; see the module docstring. on_start(result, to_do) is called once the
    cluster is up (result.dashboard set); on_file(file_row, result, to_do) after each file.
    dashboard=False: the local cluster serves no dashboard (_start_local) and none is looked for
    (result.dashboard and dashboard_needs stay None).

    DIR is locked as soon as the arguments are checked: a second run into it is refused at once,
    before it searches the study (which takes long on a big one) or starts a cluster; so, right
    after, is a rerun into an earlier run's results without --resume or --overwrite."""
    if out.exists() and not out.is_dir():
        raise SensorbackError(f"--out {out}: is a file; give a folder")
    refuse_written_over(out)  # a folder of the user's own holding a days.csv, say (the CLI checked it first)
    check_inputs(inputs)  # a typo, like a bad address, leaves nothing behind
    refuse_out_holding_inputs(inputs, out)  # as does --out study: nothing written in the study
    if scheduler:
        _probe(scheduler)
    made = not out.exists()
    make_private_dirs(out)
    with held_by_this_run(out):  # a second run into DIR is refused here, before DIR changes
        try:
            _check_earlier(out, resume, overwrite)  # as is a rerun without --resume or --overwrite
            left_out: dict[str, int] = {}
            paths = find_inputs(inputs, exclude=out, left_out=left_out)
        except BaseException:  # no recording found, Ctrl-C: a DIR made for nothing goes again
            if made:
                remove_unused(out)
            raise
        return _run_in(out, paths, left_out, workers=workers, scheduler=scheduler, resume=resume,
                       overwrite=overwrite, timezone_name=timezone_name, dashboard=dashboard, on_start=on_start,
                       on_file=on_file)


def _check_earlier(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse, before the study is searched (long on a big one), a DIR holding an earlier run's results
    without --resume or --overwrite, and with --resume one that another version of sensorback wrote."""
    parts = out / PARTS
    earlier = parts.is_dir() and any(parts.iterdir())
    if earlier and not (resume or overwrite):
        raise SensorbackError(f"--out {out}: holds the results of an earlier run; pass --resume to finish it "
                              "(files already done are skipped) or --overwrite to start again")
    if earlier and resume:
        _check_version(out)


def _run_in(out: Path, paths: list[Path], left_out: dict[str, int], *, workers: int | None, scheduler: str | None,
            resume: bool, overwrite: bool, timezone_name: str, dashboard: bool, on_start, on_file) -> CohortResult:
    """run_cohort once DIR exists, this run holds it and _check_earlier let it write there."""
    parts = out / PARTS
    write_marker(out)  # before any result: from now on DIR is known as a cohort output
    if parts.is_dir():
        for q in parts.iterdir():
            if overwrite or q.name.endswith((".writing", ".tmp")):  # a write cut short by a kill (.tmp: older versions)
                q.unlink()
    parts.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)

    job = _Job(out, {"timezone": timezone_name}, f"{os.getpid()}-{time.time_ns()}", timezone_name,
               CohortResult(files=len(paths), left_out=left_out), on_start, on_file, dashboard)
    try:  # Ctrl-C anywhere from here on (starting the cluster, writing the tables) is an interruption
        todo = _to_do(paths, job, resume)
        if todo:
            _analyse_on_cluster(todo, job, workers, scheduler)
        write_tables(out, paths)
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM/SIGHUP as the command line raises them
        job.result.interrupted = True  # the files finished so far are kept in .parts/
        job.result.stopped_by = signals.stopped_by(e)
    return job.result


@dataclass
class _Job:
    """What one run of run_cohort shares between its steps."""

    out: Path
    settings: dict
    run_id: str
    timezone_name: str
    result: CohortResult
    on_start: Callable[[CohortResult, int], None] | None
    on_file: Callable[[dict, CohortResult, int], None] | None
    dashboard: bool = True


def _to_do(paths: list[Path], job: _Job, resume: bool) -> list[tuple[Path, Fingerprint]]:
    """The inputs still to analyse, with their fingerprints (with --resume: not those done)."""
    todo = []
    for p in paths:
        fp = Fingerprint.of(str(p))  # an unreadable file too: it fails in its turn, the others go on
        if resume and _is_done(_load_part(job.out, p), fp, job.settings):
            job.result.skipped += 1
        else:
            todo.append((p, fp))
    return todo


@contextlib.contextmanager
def _hushed_by_signals():
    """A signal that stops the run (Ctrl-C, SIGTERM, SIGHUP) hushes the cluster's teardown before its
    handler raises: raised inside a Dask call, the exception leaves a callback that logs a traceback
    as the cluster closes (distributed's sync(): 'Exception in callback ... NameError'), too soon for
    the except clause to hush it."""
    def hushing(sig, current):
        if not callable(current):  # SIG_DFL/SIG_IGN are left; default_int_handler and the CLI's are wrapped
            return None

        def hushed(signum, frame):
            _hush_teardown()
            current(signum, frame)
        return hushed

    with signals.swapped(hushing):
        yield


@_hushed_by_signals()
def _analyse_on_cluster(todo: list[tuple[Path, Fingerprint]], job: _Job, workers: int | None,
                        scheduler: str | None) -> None:
    """Start (or join) the cluster, analyse every file of todo on it and store each result as it
    comes; Ctrl-C, from the cluster's start on, cancels what is left and counts what was stored."""
    result = job.result
    t_setup = started = time.perf_counter()
    client = cluster = None
    futures = {}
    try:
        client, cluster = _connect(workers, scheduler, job.dashboard)
        _ready(client, scheduler)
        result.workers = _n_workers(client)
        if job.dashboard:
            result.dashboard, result.dashboard_needs = _dashboard(client)
        result.setup_s = time.perf_counter() - t_setup
        started = time.perf_counter()
        if job.on_start:
            job.on_start(result, len(todo))
        from dask.distributed import as_completed

        # Biggest files first: the last tasks are then short, and no worker idles long at the end.
        for p, fp in sorted(todo, key=lambda item: (-item[1].size, str(item[0]))):
            key = f"sensorback-{_key(p)}-{os.getpid()}-{time.time_ns()}"
            fut = client.submit(analyze_file, str(p), str(p), job.timezone_name, key=key, pure=False, retries=0)
            futures[fut] = (p, fp)
        for fut in as_completed(list(futures)):
            p, fp = futures.pop(fut)
            _store(job, p, fp, _collect(fut, utf8_text(p)), len(todo))
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM/SIGHUP as the command line raises them (Terminated)
        _hush_teardown()
        result.interrupted = True
        result.stopped_by = signals.stopped_by(e)
        for fut in futures:
            fut.cancel()
        # Count what is on disk: Ctrl-C may have come between storing a file and counting it.
        stored = [_load_part(job.out, p) for p, fp in todo]
        stored = [d for d in stored if d is not None and d.get("run") == job.run_id]
        result.ok = sum(d["file"]["status"] == "ok" for d in stored)
        result.failed = len(stored) - result.ok
    except BaseException:  # a failure: the same teardown
        _hush_teardown()
        raise
    finally:
        result.wall_s = time.perf_counter() - started
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _hush_teardown() -> None:
    """The cluster is about to be torn down mid-work: the callbacks that cuts short log tracebacks
    (tornado's 'Exception in callback', distributed's closed comms) that tell the user nothing,
    who gets one line for the interruption. Silence those loggers for the rest of the process
    ('tornado.application', which logs the callbacks' errors, has a level of its own in Dask's
    logging configuration, so silencing 'tornado' does not reach it)."""
    for name in ("tornado", "tornado.application", "distributed", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _ready(client, scheduler: str | None) -> None:
    """Wait for a joined scheduler's first worker (never hang), and have every worker load
    sensorback and NumPy/SciPy now: part of setting up, not of the first file."""
    if scheduler and _n_workers(client) == 0:
        try:
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
        except TimeoutError:
            raise SensorbackError(
                f"--scheduler {scheduler}: no workers joined within {WAIT_FOR_WORKERS_S:.0f} s; "
                f"start some with 'dask worker {scheduler}'") from None
    try:
        columns = client.run(_warm_up)
    except ImportError as e:
        raise SensorbackError(f"--scheduler {scheduler}: a worker cannot import sensorback ({e}); install "
                              "sensorback, with the same extras, wherever the workers run") from None
    other = sorted(w for w, cols in columns.items() if cols != list(DAY_COLUMNS))
    if other:  # its rows would leave columns of the tables empty, or fill others
        raise SensorbackError(f"--scheduler {scheduler}: worker {other[0]} runs another version of sensorback "
                              "(its day tables have other columns); install this one wherever the workers run")


def _store(job: _Job, p: Path, fp: Fingerprint, res: dict, to_do: int) -> None:
    """One file's result: saved to .parts/ first, then counted and reported."""
    _save_part(job.out, p, fp, job.settings, res, job.run_id)
    row, result = res["file"], job.result
    if row["status"] == "ok":
        result.ok += 1
        result.days += row["days"] or 0
        result.recorded_days += (row["duration_s"] or 0.0) / 86400.0
    else:
        result.failed += 1
        result.failures.append(row["error"])
    if job.on_file:
        job.on_file(row, result, to_do)


def _collect(fut, label: str) -> dict:
    """A finished task's result; a worker that died or a task that raised becomes a failed file."""
    try:
        return fut.result()
    except KeyboardInterrupt:
        raise
    except Exception as e:
        kind = type(e).__name__
        why = ("the worker analysing it died (out of memory, or killed)" if kind == "KilledWorker"
               else f"{kind}: {' '.join(str(e).split())}")
        row = {c: None for c in FILE_COLUMNS}
        row.update(file=label, status="failed", error=f"{label}: {why}", warnings="")
        return {"file": row, "days": [], "seconds": None}
