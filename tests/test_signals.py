"""signals.held: a stop that comes during a step that must not be cut in two waits for its end;
a second one does not wait (a hung step can still be stopped)."""

import os
import signal

import pytest

from sensorback.signals import held


def test_a_ctrl_c_during_a_held_step_comes_when_it_ends():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with held():
            os.kill(os.getpid(), signal.SIGINT)  # handled at once (the main thread): held
            done.append("after the signal")
        done.append("not reached: delivered as the block ends")
    assert done == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_stops_a_held_step_at_once():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with held():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("first held")
            os.kill(os.getpid(), signal.SIGINT)
            done.append("not reached")
    assert done == ["first held"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_held_step_that_fails_still_delivers_the_ctrl_c():
    with pytest.raises(KeyboardInterrupt) as stopped:
        with held():
            os.kill(os.getpid(), signal.SIGINT)
            raise OSError("the step failed")
    assert isinstance(stopped.value.__context__, OSError)


def test_a_handler_that_does_not_raise_is_left_alone():
    """An event loop's handler (asyncio notes the signal through its wake-up file and handles it
    between steps) is not held: holding it would hand the loop the signal twice."""
    seen = []
    before = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with held():
            os.kill(os.getpid(), signal.SIGINT)
            seen.append("after")
    finally:
        signal.signal(signal.SIGINT, before)
    assert seen == [signal.SIGINT, "after"]
