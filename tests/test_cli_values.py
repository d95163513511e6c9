"""The command line's own coercion of plain option values (cli/_plain_values.py, which spares
pydantic's import) gives exactly what typer's gives, value and type, or hands the value to typer:
checked on every parameter of every command, with good, odd and bad values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sensorback.cli import app
from sensorback.cli._plain_values import PlainValues, plain_values
from cli_checks import all_params, one_line_error

ODD = ["", " ", "abc", "-", " 5", "5 ", "1_000", "0x10", "１２", "nan", "inf", "-inf", "1e400", "é"]
SAMPLES = {
    str: ["x", "1:2", "max", "Polar H10 A1B2", "sit_limit_min=45"],
    int: ["0", "7", "-3", "+4", "007", "1.0", "1e3", "2.5", 0, 5],
    float: ["1", "1.5", "-2.5e-3", ".5", "5.", "1E2", "+0.25", 1, 2.5, 0.0],
    bool: [True, False],
}


def outcome(coerce, value, param):
    try:
        got = coerce(value, param=param, ctx=None)
    except Exception as e:  # noqa: BLE001 - the same failure is what is compared
        return ("error", type(e).__name__, str(e))
    if isinstance(got, (list, tuple)):
        return ("value", type(got).__name__, [(type(v).__name__, repr(v)) for v in got])
    return ("value", type(got).__name__, repr(got))  # repr: nan equals nan


def values_for(annotation, tmp: Path):
    leaf = annotation.__args__[0] if getattr(annotation, "__origin__", None) is list else annotation
    if leaf is Path:
        existing = tmp / "here.sbr"
        existing.write_text("x")
        folder = tmp / "folder"
        folder.mkdir(exist_ok=True)
        base = [str(existing), str(tmp / "missing.csv"), str(folder), "relative/x.csv", "~/x.db"]
    else:
        base = SAMPLES[leaf]
    base = base + ([] if leaf is bool else ODD)
    if leaf is not annotation:  # a list parameter gets tuples, as click gives them
        return [tuple(base[:2]), tuple(base[2:5]), (), base[0]]
    return base


def test_every_plain_parameter_coerces_like_typer(tmp_path):
    from typer._coercion import build_runtime_param

    checked = 0
    for path, param in all_params():
        ours = plain_values(param)
        if ours is None:
            continue
        theirs = build_runtime_param(param.type_descriptor)
        for value in values_for(param.type_descriptor.annotation, tmp_path) + [None]:
            mine = outcome(ours.coerce, value, param)
            want = outcome(theirs.coerce, value, param)
            assert mine == want, (" ".join(path), param.name, value)
            checked += 1
    assert checked > 500


def test_the_commands_use_it_and_never_import_pydantic_for_plain_values(tmp_path):
    """A real run in a fresh interpreter: no pydantic, and the option values are right."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sensorback.cli.app import main\n"
        "sys.argv = ['sensorback', 'simulate', '--scenario', 'demo', '--out', sys.argv[1], '--seed', '3',"
        " '--rate', '20', '--duration', '60s']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "assert 'pydantic' not in sys.modules, 'pydantic was imported'\n"
    )
    out = tmp_path / "s.sbr"
    p = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, COLUMNS="100"))
    assert p.returncode == 0, p.stderr
    from sensorback import formats

    block = formats.load(out)
    assert block.rate_hz == 20 and 59 <= block.duration_s <= 60


@pytest.mark.parametrize("args, said", [
    (["analyze", "x.sbr", "--rate", "abc"], "error: --rate: 'abc' is not a number"),
    (["analyze", "x.sbr", "--epoch-seconds", "abc"], "error: --epoch-seconds: 'abc' is not a number"),
    (["analyze", "x.sbr", "--epoch-seconds", ""], "error: --epoch-seconds: '' is not a number"),
    (["simulate", "--scenario", "demo", "--out", "x.sbr", "--seed", "1.5"], "error: --seed: '1.5' is not a whole number"),
    (["monitor", "--demo", "--seed", "x"], "error: --seed: 'x' is not a whole number"),
])
def test_a_number_option_given_no_number_names_the_option_and_the_value(args, said):
    """typer's coercion (the values our plain one hands on) said "Invalid value for '--rate': Input
    should be a valid number, unable to parse string as a number (see ...)": pydantic's words.
    cli/_runtime says it as the command's own checks do. Nothing runs: no file is read or written."""
    from typer.testing import CliRunner

    r = CliRunner().invoke(app, args)
    assert one_line_error(r) == said


def test_a_parameter_with_settings_is_left_to_typer():
    class Info:
        exists = True
        parser = None

    class Descriptor:
        annotation = Path
        parameter_info = Info()
        file_annotation = None

    class Param:
        type_descriptor = Descriptor()

    assert plain_values(Param()) is None
    assert isinstance(plain_values(next(p for _, p in all_params() if p.name == "files")), PlainValues)
