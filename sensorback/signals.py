"""The signals that stop a command (Ctrl-C, SIGTERM, SIGHUP), handled for a while and put back.

Both the command line (SIGTERM/SIGHUP raise Terminated, as Ctrl-C raises KeyboardInterrupt) and
cohort (a stop hushes Dask's teardown first) swap handlers around a stretch of work; one place
swaps and restores them, says which signal a KeyboardInterrupt stands for (stopped_by) and in
which words and exit code a command it stopped ends (stopped_said).

Once a command says how it was stopped, it is ending: a further Ctrl-C (pressed twice, or sent both
by the terminal and by a wrapper that passes it on) has nothing left to stop, and is ignored until
the command has ended (stopping_over). A Ctrl-C that comes before the command line can handle one
(while it loads) ends the process the same way (exit_stopped): 'interrupted', exit 130, never a
traceback; one after the command, while the process exits (a cluster closed at exit), ends it at
once with the system's own action (the shell shows 130), never ignored to the end."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterator, NoReturn

#: held(): a second stop this long after the first is pressed again, not one signal delivered twice.
AGAIN_S = 0.5
STOPPING = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a batch queue's time limit, a closed terminal): handled wherever Ctrl-C
    is (temp files removed, what is done kept), then exit 128 + the signal's number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def raise_terminated(signum, frame) -> None:
    """The handler that turns SIGTERM or SIGHUP into Terminated (the command line installs it; a
    loop that stops cleanly at its own pace, as replay's, may take its place while it runs)."""
    raise Terminated(signum)


def stopped_by(e: KeyboardInterrupt) -> int:
    """The signal a KeyboardInterrupt stands for: its own for Terminated, else SIGINT (Ctrl-C)."""
    return e.signum if isinstance(e, Terminated) else signal.SIGINT


EXIT_INTERRUPTED = 130


class _Stopping:
    """The process's one stop: whether one was said, the Ctrl-C handler set aside meanwhile, and
    whether the process ends with the command (the command line's own entry point)."""

    said = False
    set_aside: Any = None
    process_ends = False


def stopped_said(signum: int) -> tuple[str, int]:
    """How a command a signal stopped ends, in words and exit code: Ctrl-C ('interrupted', 130),
    SIGTERM or SIGHUP ('terminated (SIGTERM)', 143; '(SIGHUP)', 129: 128 + the signal). A command
    that says more (what was kept, how to go on) starts its line with these words. Asked for when
    the stop is about to be said: from then on a further Ctrl-C is ignored (see the module doc)."""
    _ignore_ctrl_c()
    _Stopping.said = True
    if signum == signal.SIGINT:
        return "interrupted", EXIT_INTERRUPTED
    return f"terminated ({signal.Signals(signum).name})", 128 + signum


def _ignore_ctrl_c() -> None:
    if in_main_thread() and _Stopping.set_aside is None:
        try:
            _Stopping.set_aside = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except (OSError, ValueError):  # pragma: no cover - no such signal here
            pass


def stopping_over() -> None:
    """The command has ended: the Ctrl-C handler a stop set aside is back (for a caller that goes
    on, such as a test running commands in its own process). When the process ends with the
    command (process_ends), Ctrl-C gets the system's own action instead: what is left is the exit
    (a cluster closed at exit, threads joined), and a Ctrl-C there ends the process at once, as
    the shell's 130 and without a traceback, rather than being ignored to the end."""
    if _Stopping.process_ends:
        if in_main_thread():
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        return
    before, _Stopping.set_aside = _Stopping.set_aside, None
    _Stopping.said = False
    if before is not None and in_main_thread():
        signal.signal(signal.SIGINT, before)


def process_ends_with_the_command() -> None:
    """Said by the command line's entry point: nothing runs after the command but the exit."""
    _Stopping.process_ends = True


def exit_stopped(e: KeyboardInterrupt) -> NoReturn:
    """End the process for a stop that came where no command handles it (the command line loading,
    or exiting after its command): 'interrupted' (stopped_said), unless a stop was said already."""
    said_before = _Stopping.said
    said, code = stopped_said(stopped_by(e))
    if not said_before:
        try:
            sys.stderr.write(said + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed terminal takes no more lines: the exit code still says it
            pass
    raise SystemExit(code) from None


def in_main_thread() -> bool:
    """Only the main thread may install signal handlers."""
    return threading.current_thread() is threading.main_thread()


def on_loop(loop, sigs, callback: Callable[[int], Any]) -> dict:
    """Have the asyncio ``loop`` call callback(signal) for each of ``sigs``; returns the handlers
    before, for off_loop (a signal the loop cannot take, off the main thread or on Windows, is
    left as it is and not among them)."""
    before = {}
    for sig in sigs:
        handler = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, callback, sig)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not the main thread / Windows
            continue
        before[sig] = handler
    return before


def off_loop(loop, before: dict) -> None:
    """Undo on_loop: asyncio would leave the default handlers, so those before come back."""
    for sig, handler in before.items():
        try:
            loop.remove_signal_handler(sig)
            signal.signal(sig, handler)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
            pass


def hung_up(fd: int) -> bool:
    """Is ``fd`` a terminal that has hung up (closed: its SIGHUP is on its way or came)? A gone
    terminal answers every request with EIO; a file, a pipe or a live terminal does not."""
    try:
        import termios

        termios.tcgetattr(fd)
    except ImportError:  # pragma: no cover - Windows
        return False
    except termios.error as e:
        return bool(e.args) and e.args[0] == errno.EIO
    except (OSError, ValueError):
        return False
    return False


def process_exists(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (signal 0 asks without sending anything). Only
    its absence is certain: another user's process, or an answer the OS refuses, counts as existing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        pass
    return True


def to_devnull(stream) -> None:
    """Point ``stream``'s file descriptor at /dev/null (what is still written to it goes nowhere);
    nothing where it has none (a test's captured stream)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def silence_hung_up() -> None:
    """Point stdout and stderr, where they are a terminal that hung up, at /dev/null: what is
    still written (a line, a screen's teardown, 'terminated (SIGHUP)') then goes nowhere instead
    of failing with EIO. Files and pipes are left as they are (their reader may still be there)."""
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # no file descriptor (a test's captured stream)
            continue
        if hung_up(fd):
            to_devnull(stream)


def stops_by_raising(handler: Any) -> bool:
    """Is this the handler of a stop that raises in the middle of the code (Ctrl-C's
    KeyboardInterrupt, raise_terminated's Terminated)? Any other (ignored, the system's, an event
    loop's, which only notes the signal for the loop to handle between its steps) cuts nothing."""
    return handler is signal.default_int_handler or handler is raise_terminated


@contextlib.contextmanager
def held() -> Iterator[Callable[[], None]]:
    """Hold the stops that raise (stops_by_raising) over a step that must not be cut in two (a
    commit, then the note of what it committed): one that comes meanwhile is delivered to its
    handler as the block ends, however it ends. Until the block calls the function it is given
    (firm: the part that can hang is over), a second stop at least AGAIN_S after the first lets
    the first through at once, and every later one after it, so that a hung commit can still be
    stopped (one signal delivered twice, by a terminal and by a wrapper that passes it on, comes
    within milliseconds: still held); from then on nothing is let through before the end. Main
    thread only (elsewhere the block runs as it is)."""
    saved: dict = {}
    state = {"came": None, "at": 0.0, "through": False, "firm": False}

    def deliver(signum, frame) -> None:
        handler = saved.get(signum)
        if callable(handler):
            handler(signum, frame)

    def hold(signum, frame) -> None:
        if state["through"]:
            deliver(signum, frame)
        elif state["came"] is None:
            state["came"], state["at"] = signum, time.monotonic()
        elif not state["firm"] and time.monotonic() - state["at"] >= AGAIN_S:  # pressed again: now
            first, state["came"], state["through"] = state["came"], None, True
            deliver(first, frame)

    def firm() -> None:
        state["firm"] = True

    try:
        with swapped(lambda sig, current: _remember(saved, sig, current, hold)):
            yield firm
    finally:
        if state["came"] is not None:  # the handlers are back: it goes where it would have gone
            signal.raise_signal(state["came"])


def _remember(saved: dict, sig: int, current: Any, new: Any) -> Any:
    """swapped()'s choice for held(): hold sig (keeping its handler in saved) where it stops by
    raising; leave any other as it is."""
    if not stops_by_raising(current):
        return None
    saved[sig] = current
    return new


@contextlib.contextmanager
def swapped(choose: Callable[[int, Any], Any]) -> Iterator[None]:
    """For each stopping signal, install choose(signal, its current handler) (None: leave that one
    as it is) while the block runs, in the main thread only; the old handlers are back after."""
    saved: dict = {}
    try:
        swap_in(choose, saved)
        yield
    finally:
        put_back(saved)


def swap_in(choose: Callable[[int, Any], Any], saved: dict) -> None:
    """For each stopping signal, install choose(signal, its current handler) (None: leave that one
    as it is), in the main thread only; the handler each replaced goes into saved, for put_back
    (noted before it is replaced: a stop that comes meanwhile still finds it put back)."""
    if not in_main_thread():
        return
    for sig in STOPPING:
        current = signal.getsignal(sig)
        new = choose(sig, current)
        if new is not None:
            saved[sig] = current
            signal.signal(sig, new)


def put_back(saved: dict) -> None:
    """Put every saved handler back, even when a stop comes while they are put back (it is raised
    once all are)."""
    stopped = None
    for sig, old in saved.items():
        try:
            signal.signal(sig, old)
        except BaseException as e:  # a stop raised between two of them: the rest first
            stopped = stopped or e
            signal.signal(sig, old)
    if stopped is not None:
        raise stopped
