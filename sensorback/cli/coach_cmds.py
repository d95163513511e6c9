"""``sensorback exercises`` and ``sensorback config``: the coach's commands.

Importing this module registers both command groups on the main typer ``app`` (app.py does that with
one import line). Nothing here analyses anything: it looks things up, reads or writes the config
file and prints. Mistakes are one-line SensorbackErrors, printed by the app's error handling.

Other commands that run the coach (replay, report, ...) can take ``--set KEY=VALUE`` overrides with
``SET_OPTION`` and turn them into settings with ``coach_settings()``.
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ..errors import SensorbackError
from ._runtime import SensorbackTyper, help_filled_by
from ._app import app

_COMMON = dict(
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

# --------------------------------------------------------------------------- settings from flags

SET_OPTION = typer.Option(
    "--set",
    metavar="KEY=VALUE",
    help="Override a coach setting for this run only (repeatable); see 'sensorback config show'.",
    show_default=False,
)


def parse_set_flags(values: list[str] | None) -> dict[str, str]:
    """['sit_limit_min=45', ...] -> {'sit_limit_min': '45'}; a malformed item is a one-line error."""
    out: dict[str, str] = {}
    for item in values or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SensorbackError(f"--set: expected KEY=VALUE, e.g. sit_limit_min=45, got '{item}'")
        out[key.strip()] = value.strip()
    return out


def coach_settings(set_flags: list[str] | None = None):
    """Coach settings for a command: defaults < config file < --set flags."""
    from ..coach.config import load_settings

    overrides = parse_set_flags(set_flags)
    settings = load_settings()  # the config file's errors name the file and line
    try:
        return settings.with_values(overrides)
    except SensorbackError as exc:  # an unknown key, a bad value, or a value that clashes with another
        message = str(exc)
        key = next((k for k in overrides if message.startswith(f"{k}:")), None)
        # '--set KEY: ...' when it is about one key's value, else '--set: ...', as other options say it
        raise SensorbackError(f"--set {message}" if key else f"--set: {message}") from None


# --------------------------------------------------------------------------------- exercises

exercises_app = SensorbackTyper(
    name="exercises",
    help="Back exercises the coach suggests: list them, or show one step by step.",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback exercises\n"
        "  sensorback exercises list --where desk\n"
        "  sensorback exercises show cat-cow\n"
        "  sensorback exercises show \"child's pose\" --json\n\n"
        "Names are forgiving: case, spaces and apostrophes do not matter, and a unique part of a "
        "name (e.g. 'hamstring') is enough. These are general suggestions, not medical advice."
    ),
    **_COMMON,
)

_WHERE_HELP = "Only exercises that can be done there: desk, standing or floor."


def _print_list(where: Optional[str], json_output: bool) -> None:
    from ..coach import exercises as lib

    chosen = list(lib.EXERCISES)
    if where is not None:
        place = where.strip().lower()
        if place not in lib.PLACES:
            raise SensorbackError(f"--where: choose one of {', '.join(lib.PLACES)}, got '{where}'")
        chosen = [e for e in chosen if place in e.places]
    if json_output:
        typer.echo(json.dumps([e.to_dict() for e in chosen], indent=2))
        return
    typer.echo(lib.format_list(chosen))
    typer.echo("")
    typer.echo("Run 'sensorback exercises show NAME' for the steps. Stop at any sharp pain.")


@exercises_app.callback(invoke_without_command=True)
def _exercises(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        _print_list(None, False)


@exercises_app.command(
    "list",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback exercises list\n"
        "  sensorback exercises list --where desk\n"
        "  sensorback exercises list --where floor --json\n\n"
        "Each exercise is one line: the name to give 'exercises show' and 'log exercise', its level, "
        "how much to do and where; what it is for is below it. Without --where every exercise is "
        "listed."
    ),
)
def exercises_list(
    where: Annotated[Optional[str], typer.Option("--where", metavar="PLACE", help=_WHERE_HELP)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the exercises as JSON.")] = False,
) -> None:
    """List the exercises: level, how much, where, and what each is for."""
    _print_list(where, json_output)


@exercises_app.command(
    "show",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback exercises show cat-cow\n"
        "  sensorback exercises show \"child's pose\"\n"
        "  sensorback exercises show hamstring --json\n\n"
        "Case, spaces and apostrophes in NAME do not matter, and part of a name is enough when only "
        "one exercise has it ('hamstring'); a part that several have ('stretch') is an error that "
        "lists them. 'sensorback exercises list' shows every name."
    ),
)
def exercises_show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Exercise name, e.g. cat-cow.", show_default=False)],
    json_output: Annotated[bool, typer.Option("--json", help="Print the exercise as JSON.")] = False,
) -> None:
    """Show one exercise: what it is for, where, how much, the steps and a caution."""
    from ..coach import exercises as lib

    ex = lib.get(name)
    if json_output:
        typer.echo(json.dumps(ex.to_dict(), indent=2))
    else:
        typer.echo(lib.format_exercise(ex))


# ------------------------------------------------------------------------------------ config

config_app = SensorbackTyper(
    name="config",
    help="Show or change the coach's settings (sitting limit, prompts, slouch nudges).",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback config show\n"
        "  sensorback config set sit_limit_min 45\n"
        "  sensorback config set slouch_nudges false\n"
        "  sensorback config set sit_limit_min default\n"
        "  sensorback config path\n\n"
        "Settings live in a small TOML file of 'key = value' lines in your user config folder "
        "(or wherever the SENSORBACK_CONFIG environment variable points). Commands that run the "
        "coach also take --set KEY=VALUE for a single run."
    ),
    **_COMMON,
)


def _show(set_flags: list[str] | None, json_output: bool) -> None:
    from ..coach import config

    overrides = parse_set_flags(set_flags)
    if json_output:
        settings = coach_settings(set_flags)
        typer.echo(json.dumps({"path": str(config.config_path()), **settings.to_dict()}, indent=2))
        return
    coach_settings(set_flags)  # errors in --set name the flag
    for line in config.show_lines(overrides=overrides):
        typer.echo(line)


@config_app.callback(invoke_without_command=True)
def _config(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        _show(None, False)


_SHOW_SET_OPTION = typer.Option(
    "--set", metavar="KEY=VALUE", show_default=False,
    help="Show the settings as a command given this --set would use them (repeatable); the config file "
    "is not changed ('sensorback config set' changes it).")


@config_app.command(
    "show",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback config show\n"
        "  sensorback config show --set sit_limit_min=45\n"
        "  sensorback config show --json\n\n"
        "Each line is 'key = value' followed by what the setting means, its unit and range, and where "
        "the value comes from: default, config file or flag (--set). The text output is itself a "
        "valid config file. The same as 'sensorback config' alone."
    ),
)
def config_show(
    set_flags: Annotated[Optional[list[str]], _SHOW_SET_OPTION] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the settings as JSON.")] = False,
) -> None:
    """Print every setting with its value, meaning and origin (default, config file or --set)."""
    _show(set_flags, json_output)


def _settings_help() -> str:
    from ..coach.config import settings_help

    return settings_help()


@config_app.command(
    "set",
    cls=help_filled_by(settings=_settings_help),
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback config set sit_limit_min 45\n"
        "  sensorback config set slouch_nudges false\n"
        "  sensorback config set sit_limit_min default   # back to the default\n\n"
        "KEY is one of these, shown with its default; in parentheses, the unit (min: minutes, "
        "s: seconds) and the values allowed:\n\n"
        "\b\n"
        "{settings}\n\n"
        "Times take a number in the unit shown (1.5 is fine); the switches take true or false (or "
        "yes/no, on/off, 1/0). The config file is created by the first 'config set'; "
        "'sensorback config path' says where it is. A value that clashes with another setting "
        "(slouch_window_min shorter than slouch_budget_min) is refused and nothing is written."
    ),
)
def config_set(
    key: Annotated[str, typer.Argument(metavar="KEY", help="Setting name, e.g. sit_limit_min.", show_default=False)],
    value: Annotated[
        str, typer.Argument(metavar="VALUE", help="New value, or 'default' to remove it from the file.",
                            show_default=False)
    ],
) -> None:
    """Change one setting in the config file (other lines and comments are kept)."""
    from ..coach import config

    path, new = config.set_value(key, value)
    note = " (default)" if value.strip().lower() == "default" else ""
    typer.echo(f"{key} = {config.format_value(new)}{note}  ({path})")


@config_app.command(
    "path",
    epilog=(
        "Examples:\n\n"
        "\b\n"
        "  sensorback config path\n"
        "  SENSORBACK_CONFIG=~/work-config.toml sensorback config path\n\n"
        "The file is config.toml in your user config folder (~/.config/sensorback on Linux), or "
        "the file that the SENSORBACK_CONFIG environment variable names. It may not exist yet: "
        "then every setting has its default."
    ),
)
def config_path_cmd() -> None:
    """Print where the config file is (it is created by the first 'config set')."""
    from ..coach import config

    typer.echo(str(config.config_path()))


app.add_typer(exercises_app)
app.add_typer(config_app)
