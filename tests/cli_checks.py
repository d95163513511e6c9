"""The check every CLI error test makes (a user mistake ends with one 'error: ...' line), and every
parameter of every command for the tests that go through them all."""

from __future__ import annotations

import typer


def one_line_error(result, *fragments: str, code: int = 2) -> str:
    """Exit code `code`, exactly one 'error: ...' line on stderr containing every fragment,
    nothing on stdout, no traceback, and no exception escaping the command. Returns the line."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in result.output and result.stdout == ""
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return lines[0]


def all_params():
    """(command path, parameter) for every parameter of every sensorback command: ((), --version),
    (("analyze",), --rate), (("config", "set"), KEY)..."""
    from sensorback.cli import app

    def walk(cmd, path=()):
        for p in getattr(cmd, "params", []):
            yield path, p
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, (*path, name))
    yield from walk(typer.main.get_command(app))
