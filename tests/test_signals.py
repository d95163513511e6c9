"""signals.held: a stop that comes during a step that must not be cut in two waits for its end;
pressed again while the step may still hang, it does not wait (a hung commit can be stopped)."""

import os
import signal

import pytest

from sensorback import signals
from sensorback.signals import Terminated, held, raise_terminated


def stop(sig=signal.SIGINT):
    os.kill(os.getpid(), sig)  # handled at once: this is the main thread


def test_a_ctrl_c_during_a_held_step_comes_when_it_ends():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with held():
            stop()
            done.append("after the signal")
        done.append("not reached: delivered as the block ends")
    assert done == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_pressed_again_stops_a_step_that_may_hang_at_once(monkeypatch):
    monkeypatch.setattr(signals, "AGAIN_S", 0.0)
    done = []
    with pytest.raises(KeyboardInterrupt):
        with held():
            stop()
            done.append("first held")
            stop()
            done.append("not reached")
    assert done == ["first held"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_one_signal_delivered_twice_is_still_held(monkeypatch):
    """A terminal and a wrapper passing it on deliver one Ctrl-C twice, within milliseconds."""
    monkeypatch.setattr(signals, "AGAIN_S", 3600.0)  # (any two stops here come 'at once')
    done = []
    with pytest.raises(KeyboardInterrupt):
        with held():
            stop()
            stop()
            done.append("both held")
    assert done == ["both held"]


def test_once_firm_nothing_is_let_through_before_the_end(monkeypatch):
    monkeypatch.setattr(signals, "AGAIN_S", 0.0)
    done = []
    with pytest.raises(KeyboardInterrupt):
        with held() as firm:
            firm()
            stop()
            stop()
            done.append("held to the end")
    assert done == ["held to the end"]


def test_pressed_again_the_first_stop_keeps_its_meaning(monkeypatch):
    """A SIGTERM held, then a Ctrl-C: the command ends as terminated (SIGTERM), not interrupted."""
    monkeypatch.setattr(signals, "AGAIN_S", 0.0)
    before = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        with pytest.raises(Terminated) as stopped:
            with held():
                stop(signal.SIGTERM)
                stop(signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert stopped.value.signum == signal.SIGTERM


def test_a_held_step_that_fails_still_delivers_the_ctrl_c():
    with pytest.raises(KeyboardInterrupt) as stopped:
        with held():
            stop()
            raise OSError("the step failed")
    assert isinstance(stopped.value.__context__, OSError)


def test_a_handler_that_does_not_raise_is_left_alone():
    """An event loop's handler (asyncio notes the signal through its wake-up file and handles it
    between steps) is not held: holding it would hand the loop the signal twice."""
    seen = []
    before = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with held():
            stop()
            seen.append("after")
    finally:
        signal.signal(signal.SIGINT, before)
    assert seen == [signal.SIGINT, "after"]
