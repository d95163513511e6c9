"""The signals that stop a command (Ctrl-C, SIGTERM, SIGHUP), handled for a while and put back.

Both the command line (SIGTERM/SIGHUP raise, as Ctrl-C does) and cohort (a stop hushes Dask's
teardown first) swap handlers around a stretch of work; one place swaps and restores them."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Callable, Iterator

STOPPING = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)


def in_main_thread() -> bool:
    """Only the main thread may install signal handlers."""
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def swapped(choose: Callable[[int, Any], Any]) -> Iterator[None]:
    """For each stopping signal, install choose(signal, its current handler) (None: leave that one
    as it is) while the block runs, in the main thread only; the old handlers are back after."""
    if not in_main_thread():
        yield
        return
    saved = {}
    for sig in STOPPING:
        new = choose(sig, signal.getsignal(sig))
        if new is not None:
            saved[sig] = signal.signal(sig, new)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
