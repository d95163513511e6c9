"""How the command line behaves around the commands: one-line errors and warnings, exit codes."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import sys
import warnings
from typing import Any, Callable

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from .. import signals
from ..errors import SensorbackError, one_line
from ..signals import EXIT_INTERRUPTED, Terminated, stopped_said  # noqa: F401  (stopped_said: the commands' too)
from ._plain_values import install as install_plain_values
from ._progress import clear_active, stopped_while

try:  # recent typer ships its own copy of click; older ones use click itself
    from typer._click import exceptions as _click_exc
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as _click_exc

_ClickException = _click_exc.ClickException
_UsageError = _click_exc.UsageError
_NoArgsIsHelp = getattr(_click_exc, "NoArgsIsHelpError", ())
_Abort = tuple({typer.Abort, getattr(_click_exc, "Abort", typer.Abort)})

EXIT_USER_ERROR = 2
# OSErrors that are the machine's state, never a bug, even when no file name came with them.
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG}
EXIT_OS_ERROR = 1
#: The reader of the output went away (`| head`): 128 + SIGPIPE, what a shell shows for cat, grep or git.
EXIT_READER_GONE = 128 + 13


class ReaderGone(Exception):
    """The output's reader closed it (EPIPE): raised past typer, which would exit 1 without a word."""


class Interrupted(Exception):
    """Ctrl-C inside a command (KeyboardInterrupt would be swallowed silently by typer)."""


class Killed(Exception):
    """SIGTERM or SIGHUP inside a command, after its Ctrl-C clean-up ran (see Terminated)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _terminations_interrupt():
    """SIGTERM and SIGHUP raise Terminated while a command runs (in the main thread, where their
    handlers are still the default: a command that installs its own keeps it)."""
    return signals.swapped(lambda sig, current: signals.raise_terminated if sig != signal.SIGINT and current is signal.SIG_DFL
                           else None)


def _err(message: str) -> None:
    typer.echo(message, err=True)


def tell_error(line: str) -> None:
    """An 'error: ...' line while a command goes on (a bad file among several), as run_guarded
    prints the one that ends a command."""
    clear_active()
    _err(f"error: {line}")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    clear_active()
    _err(f"warning: {one_line(message)}")


def run_guarded(call: Callable[[], Any]) -> int:
    """Run ``call`` and turn every user-facing failure into one line on stderr and an exit code
    (_run_guarded); a reader of the output that went away, even while that line is said, ends the
    command quietly (_reader_gone)."""
    try:
        return _run_guarded(call)
    except (ReaderGone, BrokenPipeError):
        return _reader_gone()
    finally:
        signals.stopping_over()  # a Ctrl-C ignored while a stop was said counts again (see signals.py)


def _reader_gone() -> int:
    """The output's reader closed the pipe (`sensorback analyze x.csv --json | head -c 10`): no
    message and no traceback, exit 141 (128 + SIGPIPE), as cat, grep or git end there. Not SIGPIPE's
    own default, which would kill the command before its clean-up (temp files, the database) ran."""
    _silence_gone_outputs()
    return EXIT_READER_GONE


def _silence_gone_outputs() -> None:
    """What is still buffered for a closed pipe or a hung-up terminal goes to /dev/null, so that the
    flush at exit is silent too (Python would print an error there and exit 120)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except (OSError, ValueError):  # no file descriptor (a test's captured stream)
                pass


def _run_guarded(call: Callable[[], Any]) -> int:
    """Run ``call`` and turn every user-facing failure into one line on stderr and an exit code.

    SensorbackError and command-line usage mistakes -> ``error: ...``, exit 2 (an OSProblem, such
    as a full disk under the database, exit 1);
    an OS error on a named file (permissions, missing folder, disk full) -> ``error: ...``, exit 1;
    a full disk, read-only file system or I/O error without a file name -> ``error: ...``, exit 1;
    Ctrl-C -> ``interrupted``, exit 130; SIGTERM or SIGHUP -> ``terminated (SIGTERM)``, exit 128 +
    the signal (both cleaned up like Ctrl-C; ``interrupted while writing day.csv`` when they ended
    a progress line). Anything else is a bug and keeps its traceback.
    Warnings raised meanwhile (e.g. notes from the file readers) print as ``warning: ...``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        # Numeric noise from NumPy (empty slices, NaN compares) is the core's business, not the user's.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.showwarning = _show_warning
        try:
            with _terminations_interrupt():
                rv = call()
        except (Terminated, Killed) as e:
            return _stopped(e)
        except SensorbackError as e:
            _err(f"error: {one_line(e)}")
            return getattr(e, "exit_code", EXIT_USER_ERROR)
        except _NoArgsIsHelp as e:
            e.show()
            return EXIT_USER_ERROR
        except _UsageError as e:
            not_a_number = _not_a_number(e)
            if not_a_number is not None:
                _err(f"error: {one_line(not_a_number)}")
                return e.exit_code
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
            _err(f"error: {one_line(e.format_message()).rstrip('.')}{hint}")
            return e.exit_code
        except _ClickException as e:
            _err(f"error: {one_line(e.format_message())}")
            return e.exit_code
        except _Abort:
            _err("aborted")
            return 1
        except (Interrupted, KeyboardInterrupt) as e:
            return _stopped(e)
        except (ReaderGone, BrokenPipeError):
            raise  # nothing to say: run_guarded ends quietly
        except OSError as e:
            if e.filename is None:
                if e.errno not in _ENVIRONMENT_ERRNOS:
                    raise
                _err(f"error: {one_line(e.strerror or e)}")
                return EXIT_OS_ERROR
            _err(f"error: {e.filename}: {one_line(e.strerror or e)}")
            return EXIT_OS_ERROR
        except Exception as e:
            # Ctrl-C (or SIGTERM) while a compiled module is imported (SciPy, in the first second
            # of a command) comes back as an ImportError caused by it: the user's, not a bug.
            interrupt = _interrupt_cause(e)
            if interrupt is None:
                raise
            return _stopped(interrupt)
    return rv if isinstance(rv, int) else 0


#: What typer's number parsing (a pydantic ValidationError) says is wrong -> what the value is not.
_NOT_A = {"float_parsing": "a number", "float_type": "a number",
          "int_parsing": "a whole number", "int_type": "a whole number", "int_from_float": "a whole number"}


def _not_a_number(e: BaseException) -> str | None:
    """"--epoch-seconds: 'abc' is not a number" for a typed number (int or float) option or argument
    given something else, in place of typer's "Invalid value for '--epoch-seconds': Input should be a
    valid number, unable to parse string as a number"; None for every other usage error.

    typer raises a BadParameter (with the parameter) from pydantic's ValidationError, whose first
    error has the type of failure and the value given; read without importing pydantic."""
    param, cause = getattr(e, "param", None), e.__cause__
    if param is None or type(cause).__name__ != "ValidationError" or not callable(getattr(cause, "errors", None)):
        return None
    try:
        first = cause.errors()[0]
        what, value = _NOT_A[first["type"]], first["input"]
    except (LookupError, TypeError, ValueError):
        return None
    if not isinstance(value, str):
        return None
    return f"{_said_name(param)}: '{value}' is not {what}"


def _said_name(param) -> str:
    """How an error names a parameter: an option by its long name ('--epoch-seconds'), an argument
    by its metavar."""
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
    return max(opts, key=len) if isinstance(param, TyperOption) and opts else param.human_readable_name


def _refuse_repeated(uses, ctx) -> None:
    """A usage error for an option given more than once where click would keep the last without a
    word: one that takes one value ('--start X --start Y'), an on/off flag ('--plain --plain'), or
    both sides of a flag pair ('--stand --no-stand': which one did the user mean?). ``uses``: (the
    parameter, the spelling used: its long name, or for a flag pair the side's) as the parser met
    them, once per use. Options that collect their values (--set, --snooze) and counting flags may
    repeat."""
    seen: dict[Any, list[str]] = {}
    for param, said in uses:
        if isinstance(param, TyperOption) and not (param.multiple or param.count):
            seen.setdefault(param, []).append(said or _said_name(param))
    for param, spelled in seen.items():
        if len(spelled) < 2:
            continue
        sides = list(dict.fromkeys(spelled))
        if len(sides) > 1:
            raise _UsageError(f"{' and '.join(sides)} were both given: give one of them", ctx=ctx)
        times = "twice" if len(spelled) == 2 else f"{len(spelled)} times"
        if param.is_flag:
            raise _UsageError(f"{sides[0]} was given {times}: give it once", ctx=ctx)
        raise _UsageError(f"{_said_name(param)} was given {times}: it takes one value", ctx=ctx)


def _recording_uses(parser) -> list:
    """Make ``parser`` (click's) note each option use as (parameter, spelling) in the list returned,
    the spelling being the long name of the side met (a flag pair's --stand or --no-stand). Empty
    (the caller then goes by click's own order) if this click keeps its options elsewhere."""
    uses: list = []
    options = {id(o): o for table in ("_long_opt", "_short_opt") for o in getattr(parser, table, {}).values()}
    for option in options.values():
        names = [n for n in getattr(option, "_long_opts", ()) if n.startswith("--")]
        said = max(names, key=len) if names else None

        def process(value, state, _process=option.process, _said=said, _obj=option.obj):
            uses.append((_obj, _said))
            return _process(value, state)

        option.process = process
    return uses


def _stopped(e: BaseException) -> int:
    """Say how a signal stopped the command (stopped_said), and what it stopped when a progress line
    was running ('interrupted while reading day.sbr'); its exit code."""
    said, code = stopped_said(e.signum if isinstance(e, (Terminated, Killed)) else signal.SIGINT)
    during = stopped_while(e)
    if during is not None:
        said = f"{said} while {during}"
    try:
        _err(said)
    except OSError:  # a closed terminal (SIGHUP) takes no more lines: the exit code still says it
        _silence_gone_outputs()
    return code


def _interrupt_cause(e: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (Terminated included) that ``e`` was raised from, directly or not."""
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, KeyboardInterrupt):
            return e
        e = e.__cause__
    return None


_NEGATIVE_NUMBER = re.compile(r"-(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _negative_positionals(params, args) -> tuple[bool, str | None]:
    """(found, unknown): whether ``args`` hold a negative number where click would take it for an
    option (-1 is not an option of any command) as a positional value, 'config set sit_limit_min -1'
    or 'log pain -1'; and the first real unknown option on the line, if any. Never found for a command
    without positional values. A negative number given to an option ('--seed -1') is that option's
    value, as click already takes it."""
    if not any(isinstance(p, TyperArgument) for p in params):
        return False, None
    options = {name: p for p in params if not isinstance(p, TyperArgument)
               for name in (*p.opts, *p.secondary_opts)}
    found, unknown, i = False, None, 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            break
        if arg.startswith("-") and len(arg) > 1:
            option = options.get(arg.split("=", 1)[0])
            if option is not None:
                if "=" not in arg and not option.is_flag and not option.count:
                    i += 1  # its value, whatever it looks like
            elif _NEGATIVE_NUMBER.fullmatch(arg):
                found = True
            elif unknown is None:
                unknown = arg
        i += 1
    return found, unknown


@contextlib.contextmanager
def _usage_errors_of(ctx):
    """Usage errors raised while ``ctx``'s command line is parsed carry ``ctx``, so run_guarded adds
    the "(see 'sensorback analyze --help')" hint to them all: click's parser raises some without it
    ("Option '--rate' requires an argument", "Option '--json' does not take a value")."""
    try:
        yield
    except _UsageError as e:
        if e.ctx is None:
            e.ctx = ctx
        raise


@contextlib.contextmanager
def _reader_gone_raised():
    """A closed pipe (EPIPE) as ReaderGone, which typer lets through to run_guarded: typer itself
    would turn it into exit 1 without a word."""
    try:
        yield
    except OSError as e:
        if e.errno == errno.EPIPE:
            raise ReaderGone() from e
        raise


class SensorbackGroup(TyperGroup):
    """The root command: same error handling under ``sensorback`` and under typer's CliRunner."""

    def parse_args(self, ctx, args):
        install_plain_values(self.get_params(ctx))  # no pydantic for plain values (see _plain_values.py)
        with _reader_gone_raised(), _usage_errors_of(ctx):  # 'sensorback --help | head -1'
            return super().parse_args(ctx, args)

    def invoke(self, ctx) -> Any:
        try:
            with _reader_gone_raised():
                return super().invoke(ctx)
        except Terminated as e:
            raise Killed(e.signum) from e
        except KeyboardInterrupt as e:
            raise Interrupted() from e

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        def call():
            return super(SensorbackGroup, self).main(
                args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )

        if not standalone_mode:
            try:
                return call()
            finally:
                signals.stopping_over()
        sys.exit(run_guarded(call))


class _MetavarArgument(TyperArgument):
    """An argument shown in --help by its metavar alone ('FILE...'), without the Python type that
    recent typer adds ('FILE <list[Path]>')."""

    def display_type_rich(self, ctx) -> Any:
        if self.metavar is not None:
            return None
        return super().display_type_rich(ctx)

    def _rich_display_name(self) -> str:
        name = self.display_name_raw
        return f"{name}..." if self.nargs != 1 and not name.endswith("...") else name

    def _usage_display_name(self) -> str:
        """In the usage line, 'FILE...' and 'NAME' as in the help below (typer writes a required
        argument '{FILE}...', and 'INPUTS...' as '{INPUTS...}...'); optional ones in brackets."""
        name = self._rich_display_name()
        return name if self.required else f"[{name}]"


class _Option(TyperOption):
    """An option whose '[required]' (or '[default: ...]') stays on the first paragraph of its help
    when the help ends in a block kept as written (\\b): typer appends it to the block's last line,
    where it reads as part of the last item ('slouch-deep  the same day ...  [required]')."""

    def get_help_record(self, ctx) -> Any:
        record = super().get_help_record(ctx)
        own = self.help or ""
        if record is None or "\b" not in own:
            return record
        names, text = record
        if text != own and text.startswith(own):
            extra = text[len(own):].strip()
            first, sep, rest = own.partition("\n\n")
            text = f"{first}  {extra}{sep}{rest}"
        return names, text


class SensorbackCommand(TyperCommand):
    """A command whose arguments show as their metavars in --help (see _MetavarArgument).

    ``fillers`` (see help_filled_by): ``{name}`` in the command's help, epilog and options' help is
    replaced by ``fillers[name]()`` when the help is shown, so a help text may list what only a heavy
    module knows (the simulator's scenarios, the core's defaults) without every start-up importing it.
    """

    fillers: dict[str, Callable[[], str]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:
                param.__class__ = _MetavarArgument
            elif type(param) is TyperOption:
                param.__class__ = _Option

    def parse_args(self, ctx, args):
        with _usage_errors_of(ctx):
            return self._parse_args(ctx, args)

    def _parse_args(self, ctx, args):
        params = self.get_params(ctx)
        install_plain_values(params)  # no pydantic for plain values (see _plain_values.py)
        negative, unknown = _negative_positionals(params, args)
        if negative and not ctx.ignore_unknown_options:
            # -1 as a value, so that it reaches the command's own check ('must be above 0')
            if unknown is not None:
                raise _click_exc.NoSuchOption(unknown, ctx=ctx)
            ctx.ignore_unknown_options = True
            try:
                return super().parse_args(ctx, args)
            finally:
                ctx.ignore_unknown_options = False
        return super().parse_args(ctx, args)

    def make_parser(self, ctx):
        """click's parser, whose parse refuses an option given twice that takes one value, a flag
        given twice and both sides of a flag pair (_refuse_repeated): it sees each use, whatever way
        it was written (--start=X, -s X)."""
        parser = super().make_parser(ctx)
        parse = parser.parse_args
        uses = _recording_uses(parser)

        def parse_once_each(args):
            uses.clear()
            opts, rest, order = parse(args=args)
            if not ctx.resilient_parsing:  # shell completion parses what is typed so far
                met = [(p, None) for p in order if not isinstance(p, TyperArgument)]
                _refuse_repeated(uses if len(uses) == len(met) else met, ctx)
            return opts, rest, order

        parser.parse_args = parse_once_each
        return parser

    def format_help(self, ctx, formatter) -> None:
        self._fill_help()
        return super().format_help(ctx, formatter)

    def _fill_help(self) -> None:
        if not self.fillers or getattr(self, "_help_filled", False):
            return
        values = {"{" + name + "}": make() for name, make in self.fillers.items()}

        def filled(text):
            if not text:
                return text
            for key, value in values.items():
                text = text.replace(key, value)
            return text

        self.help, self.epilog = filled(self.help), filled(self.epilog)
        for param in self.params:
            if getattr(param, "help", None):
                param.help = filled(param.help)
        self._help_filled = True


def help_filled_by(**fillers: Callable[[], str]) -> type[SensorbackCommand]:
    """The command class for ``@app.command(cls=...)`` whose help has ``{name}`` placeholders filled
    by these functions when it is shown."""
    return type("SensorbackCommand", (SensorbackCommand,), {"fillers": fillers})


class SensorbackTyper(typer.Typer):
    """typer.Typer whose commands are SensorbackCommands: the app and its command groups use it."""

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or SensorbackCommand, **kwargs)

