"""The live dashboard (Textual): what a LiveSession knows, redrawn as it changes.

    MonitorApp(session).run()          # runs session.run() as a worker on Textual's event loop

Panels: current state and the trunk angle against the slouch threshold (a bar); the sitting
clock and time to the next break prompt; today's totals; connection, battery and signal; and a
scrolling log of prompts, nudges and notes (live.log_line), newest at the bottom and always in view,
wrapped to the terminal's width (at 80x24 too). Keys: c calibrate (sit upright: the next seconds become the upright
reference), g guided calibration (sit upright, slouch as usual, stand up: 30 s), s snooze, d mark the suggested exercise done, q (or Ctrl-C, or a SIGTERM) quit (stops the source, writes
everything, exits). A closed terminal (SIGHUP) quits the same way, without drawing on the gone terminal
(ui.stopping, as --plain; ``stopped_by`` tells the command): what Textual still sends
there is dropped (_DropsWhatFails), so nothing blocks on it, whenever it goes. When the session fails (no Bluetooth, a database that cannot be written), the
dashboard closes by itself and keeps the exception in ``error`` for the command to report. Break
prompts and slouch nudges also go out as desktop notifications (ui/notify.py; the terminal bell when
there is no notification service).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Optional

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.driver import Driver
from textual.widgets import Footer, Header, RichLog, Static

from ..coach.text import notification_title
from ..live import LiveEvent, LiveSession, log_line
from ..signals import hung_up
from ..core.states import STATES
from ..summary import NOT_WORN_STATES, seated_seconds
from ..timefmt import clock, duration
from .notify import Notifier
from .stopping import SignalStop

BAR_WIDTH = 30
#: The bar's full scale, as a multiple of the slouch threshold.
BAR_SCALE = 2.0
REFRESH_S = 0.25
#: Lines the event log keeps (it scrolls; the newest is always shown).
LOG_LINES = 1000
#: States without a trunk to measure: the angle of a sensor lying on the desk (-111°, say) is not
#: the wearer's, so the bar shows '--°' then (as analyze leaves these epochs out of its angles).
NO_TRUNK = frozenset(STATES[code] for code in NOT_WORN_STATES)


def angle_bar(angle: Optional[float], threshold: float, width: int = BAR_WIDTH) -> str:
    """'[██████████░░░░│░░░░░░░]    12° (slouch at 20°)': forward flexion against the slouch threshold
    (│). The line is shown in whole degrees, as the notes that announce it ('slouching counts from 16
    degrees'): a learned line such as 16.2107 is no more precise than that."""
    full = threshold * BAR_SCALE
    mark = int(round(width * threshold / full))
    if angle is None:
        cells = ["·"] * width
        label = f"  --° (slouch at {threshold:.0f}°)"
    else:
        n = int(round(width * min(max(angle, 0.0), full) / full))
        cells = ["█" if i < n else "░" for i in range(width)]
        label = f"  {angle:4.0f}° (slouch at {threshold:.0f}°)"
    cells.insert(mark, "│")
    return "[" + "".join(cells) + "]" + label


def _minutes(s: Optional[float]) -> str:
    return "--" if s is None else duration(s)


def today_line(today_s) -> str:
    """'Today: seated 40 min (25 min of it slouching), standing 5 min, moving 10 min' from seconds
    per state (seated: sitting + slouching, as in the report)."""
    return (f"Today: seated {_minutes(seated_seconds(today_s))} ({_minutes(today_s['slouching'])} of it slouching), "
            f"standing {_minutes(today_s['standing'])}, moving {_minutes(today_s['moving'])}")


class _DropsWhatFails:
    """The terminal as Textual's output thread writes to it, except that a write or flush that fails
    (EIO: the terminal hung up) is dropped instead of raised. Raised, it kills that thread, whose
    bounded queue then fills and blocks the event loop for good in a later draw: the SIGHUP that
    would end the session is never handled (the command hangs, spinning)."""

    def __init__(self, file):
        self._file = file

    def write(self, text: str) -> int:
        try:
            return self._file.write(text)
        except OSError:
            return 0

    def flush(self) -> None:
        try:
            self._file.flush()
        except OSError:
            pass

    def __getattr__(self, name: str):
        return getattr(self._file, name)


def _surviving_a_gone_terminal(driver_class: type[Driver]) -> type[Driver]:
    """driver_class, its output put behind _DropsWhatFails. Textual offers no way to choose the
    file its drivers draw on, so this sets their private ``_file`` (read when the output thread
    starts); a driver without one (the headless one, or a future Textual's) is left as it is."""

    class SurvivingDriver(driver_class):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            file = getattr(self, "_file", None)
            if file is not None:
                self._file = _DropsWhatFails(file)

    return SurvivingDriver


class MonitorApp(App):
    """The dashboard for one LiveSession (see module docstring)."""

    TITLE = "sensorback monitor"
    CSS = """
    Screen { layout: vertical; }
    #top { height: auto; }
    .panel { border: round $accent; padding: 0 1; height: auto; width: 1fr; }
    #events { height: 1fr; min-height: 4; scrollbar-gutter: stable; }
    """
    BINDINGS = [
        Binding("c", "calibrate", "Calibrate"),
        Binding("g", "guided", "Guided calibration"),
        Binding("s", "snooze", "Snooze"),
        Binding("d", "done", "Exercise done"),
        Binding("q", "quit_monitor", "Quit"),
        # The terminal is raw here: Ctrl-C comes as a key, not SIGINT. It quits as promised (not
        # Textual's "press ctrl+q" hint), and ctrl+q too stops the source and ends the session.
        Binding("ctrl+c", "quit_monitor", show=False, priority=True),
        Binding("ctrl+q", "quit_monitor", show=False, priority=True),
    ]

    def __init__(self, session: LiveSession, notifier: Optional[Notifier] = None):
        super().__init__()
        self.session = session
        self.notifier = notifier
        self.notifications: list[tuple[str, str, str]] = []  # (title, message, how) for tests and logs
        self._notes: list[str] = []
        self._pending_lines: list[str] = []  # written before the log was mounted
        self._worker = None
        session.subscribe(self._on_live_event)

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=True)
        with Horizontal(id="top"):
            with Vertical(classes="panel"):
                yield Static(id="state")
                yield Static(id="bar")
                yield Static(id="clock")
            with Vertical(classes="panel"):
                yield Static(id="totals")
                yield Static(id="connection")
        # min_width=1: RichLog wraps at 78 columns at least by default, wider than its box at 80x24,
        # and the stable gutter keeps the scrollbar from covering the ends of lines once it appears.
        yield RichLog(id="events", classes="panel", wrap=True, markup=False, highlight=False, auto_scroll=True,
                      max_lines=LOG_LINES, min_width=1)
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one("#events", RichLog)
        log.border_title = "prompts, nudges and notes"
        for line in self._pending_lines:
            log.write(line)
        self._pending_lines = []
        if self.notifier is None:
            self.notifier = Notifier(bell=self.bell, on_note=self._note)
        self._worker = self.run_worker(self._run_session(), name="session", exit_on_error=False)
        self.set_interval(REFRESH_S, self.refresh_view)
        self.refresh_view()
        # A kill (SIGTERM) or a closed terminal (SIGHUP) stops the monitor as q does, as with
        # --plain: the session ends and is written; the command then prints its summary and exits 0
        # (after a hang-up: 'terminated (SIGHUP)', 129).
        self._signals = SignalStop(self.session, on_stop=self._on_signal)
        self._signals.install(asyncio.get_running_loop())
        # A hang-up also sends SIGCONT, on which Textual would start drawing again on the gone
        # terminal (its output thread dies of EIO and the screen's writes pile up behind it).
        self._sigcont = signal.getsignal(signal.SIGCONT) if hasattr(signal, "SIGCONT") else None
        if callable(self._sigcont):
            signal.signal(signal.SIGCONT, self._on_sigcont)

    def get_driver_class(self) -> type[Driver]:
        return _surviving_a_gone_terminal(super().get_driver_class())

    _signals: Optional[SignalStop] = None
    _sigcont = None  # Textual's SIGCONT handler, put back when the dashboard closes

    @property
    def stopped_by(self) -> Optional[int]:
        """The signal that stopped the monitor (None: a key, or the source ended)."""
        return self._signals.stopped_by if self._signals is not None else None

    def on_unmount(self) -> None:
        if self._signals is not None:
            self._signals.remove()
        if callable(self._sigcont):
            signal.signal(signal.SIGCONT, self._sigcont)
            self._sigcont = None

    def _on_sigcont(self, signum, frame) -> None:
        if not hung_up(self._terminal_fd()) and self.stopped_by != getattr(signal, "SIGHUP", None):
            self._sigcont(signum, frame)

    @staticmethod
    def _terminal_fd() -> int:
        import sys

        return sys.__stderr__.fileno()  # where Textual draws

    def _on_signal(self, signum: int) -> None:
        if not self.session.stop_requested:
            self.run_worker(self.action_quit_monitor(), group="quit", exit_on_error=False)

    async def _run_session(self) -> None:
        try:
            await self.session.run()
        except Exception as e:  # noqa: BLE001 - kept for the command to report
            # The session has written what it had; the dashboard closes so that the command says
            # what went wrong (no Bluetooth, say) once, on the terminal, and exits non-zero.
            self.error = e
            self.exit(return_code=1)
            return
        finally:
            self.refresh_view()
        if not self.session.stop_requested:
            self._note("the source ended; press q to quit")

    error: Optional[BaseException] = None

    # -- events ------------------------------------------------------------------------------
    def _note(self, text: str) -> None:
        self._notes.append(text)
        self._log(f"{clock(self.session.meters.arrived_t)}  {text}")

    def _log(self, line: str) -> None:
        try:
            log = self.query_one("#events", RichLog)
        except Exception:  # noqa: BLE001 - not mounted (yet / any more)
            self._pending_lines.append(line)
            return
        log.write(line)

    @property
    def log_lines(self) -> list[str]:
        """The event log's lines as drawn (wrapped to its width)."""
        return [strip.text for strip in self.query_one("#events", RichLog).lines]

    def _on_live_event(self, ev: LiveEvent) -> None:
        line = log_line(ev)
        if line is not None:
            self._log(line)
        title = notification_title(ev.data) if ev.kind == "coach" else None
        if title is not None:
            self.run_worker(self._notify(title, ev.text), group="notify", exit_on_error=False)

    async def _notify(self, title: str, message: str) -> None:
        how = await self.notifier.notify(title, message)
        self.notifications.append((title, message, how))

    # -- view --------------------------------------------------------------------------------
    def refresh_view(self) -> None:
        s = self.session
        m = s.meters
        st = s.status()
        thr = s.slouch_line_deg
        try:
            state = self.query_one("#state", Static)
        except Exception:  # noqa: BLE001 - not mounted (yet / any more)
            return
        cal = " (provisional calibration)" if s.provisional else ""
        if m.capture_left_s is not None:
            cal = f" — calibrating: {m.capture_step}, {m.capture_left_s:.0f} s left"
        elif s.calibration is None and m.samples:
            cal = " — calibrating from the first samples..."
        state.update(f"State: {(m.state or 'waiting').upper()}  at {clock(m.t)}{cal}")
        angle = None if m.state in NO_TRUNK else m.flexion_deg
        self.query_one("#bar", Static).update("Trunk " + angle_bar(angle, thr))
        nxt = st.next_prompt_in_s
        up = f"   up for {_minutes(st.up_s)}" if st.up_s else ""
        brk = "   on a break" if st.on_break else ""
        snoozed = "   (snoozed)" if st.snoozed else ""
        ex = s.suggested_exercise()
        self.query_one("#clock", Static).update(
            f"Sitting clock: {_minutes(st.sitting_s)}   next break in: {_minutes(nxt) if nxt is not None else 'off'}"
            f"{snoozed}{up}{brk}\nSuggested: {ex.name.lower()} ({ex.dose}) — d when done")
        self.query_one("#totals", Static).update(f"{today_line(m.today_s)}\n{m.totals_line()}")
        bat = f"{m.battery_pct} %" if m.battery_pct is not None else "--"
        sig = f"{m.rssi_dbm} dBm" if m.rssi_dbm is not None else "--"
        self.query_one("#connection", Static).update(
            f"Sensor: {m.connection}   battery {bat}   signal {sig}"
            + (f"   decode errors {m.decode_errors}" if m.decode_errors else ""))

    # -- keys --------------------------------------------------------------------------------
    def action_calibrate(self) -> None:
        self.session.calibrate_upright()
        self.refresh_view()

    def action_guided(self) -> None:
        self.session.calibrate_guided()
        self.refresh_view()

    def action_snooze(self) -> None:
        events = self.session.snooze()
        if not events:
            self._note("nothing to snooze yet")
        self.refresh_view()

    def action_done(self) -> None:
        try:
            self.session.mark_done()
        except Exception as e:  # noqa: BLE001 - a database hiccup must not end the dashboard
            self._note(f"could not store the exercise: {' '.join(str(e).split())}")
        self.refresh_view()

    async def action_quit_monitor(self) -> None:
        await self.session.stop()
        if self._worker is not None:
            try:
                await self._worker.wait()
            except Exception:  # noqa: BLE001 - reported by the command
                pass
        self.exit(0)


__all__ = ["MonitorApp", "angle_bar"]
