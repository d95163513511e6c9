"""Option values coerced without pydantic, where that changes nothing.

typer (0.2x) turns every command-line value into its Python type through a pydantic TypeAdapter,
and importing pydantic is about a third of what ``sensorback analyze`` spends before it starts
working (benchmarks/startup.py). sensorback's options take plain values: text, whole and decimal
numbers, paths, lists of those. ``install(params)`` gives each such parameter a coercion that does
what typer's does for a plain value (tests/test_cli_values.py compares the two on every option of
every command) and hands everything else to typer's own: a value that does not look plain (``1e3``
for an int, ``inf``), a path typer would refuse (unreadable), any other type or option setting.
So what is accepted, and every error message, stay typer's.

It relies on one detail of typer: a parameter's coercion is the object in ``_runtime_param``, made
on first use, with ``coerce(value, param=..., ctx=...)``. A typer without it just never uses ours.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable, Optional, get_args, get_origin

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: Parameter settings under which typer's coercion of a plain value is the plain conversion (those
#: for opened files, such as mode or encoding, do not apply: file parameters are left to typer).
_UNSET = ("parser", "click_type", "min", "max", "formats", "path_type")
_OFF = ("clamp", "exists", "writable", "resolve_path", "allow_dash")
_ON = ("file_okay", "dir_okay")  # readable either way: a path's leaf follows it (plain_values)


class _NotPlain(Exception):
    """This value is typer's to coerce."""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _NotPlain
    return value


def _whole(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INT.fullmatch(value):
        return int(value)
    raise _NotPlain


def _decimal(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) != float("inf"):
        return float(value)
    if isinstance(value, str) and _FLOAT.fullmatch(value):
        x = float(value)
        if x not in (float("inf"), float("-inf")):
            return x
    raise _NotPlain


def _path(value: Any) -> Path:
    """As typer does for a Path with default settings: any name, unless it exists and cannot be read."""
    if not isinstance(value, str) or not value:
        raise _NotPlain
    try:
        os.stat(value)
    except OSError:
        return Path(value)
    if not os.access(value, os.R_OK):
        raise _NotPlain  # typer says it is not readable
    return Path(value)


def _any_path(value: Any) -> Path:
    """As typer does for a Path with readable=False: any name, read or not. The files sensorback
    reads and writes are declared so, and judged by its own checks (an unreadable recording is one
    failed file among several, an existing output is refused as existing), not by typer's."""
    if not isinstance(value, str) or not value:
        raise _NotPlain
    return Path(value)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _NotPlain


_LEAVES: dict[Any, Callable[[Any], Any]] = {str: _text, int: _whole, float: _decimal, Path: _path, bool: _flag}


def _plain_settings(info: Any) -> bool:
    return (all(getattr(info, name, None) is None for name in _UNSET)
            and not any(getattr(info, name, False) for name in _OFF)
            and all(getattr(info, name, True) for name in _ON))


class PlainValues:
    """The coercion of one parameter: plain values here, the rest by typer's own."""

    def __init__(self, leaf: Callable[[Any], Any], many: bool, descriptor: Any):
        self.leaf = leaf
        self.many = many
        self.descriptor = descriptor
        self._typer = None

    def coerce(self, value: Any, param: Any = None, ctx: Any = None) -> Any:
        multi = param is not None and (param.multiple or param.nargs == -1)
        if value is None:
            return () if multi else None
        try:
            if self.many:
                if not isinstance(value, (list, tuple)):
                    raise _NotPlain
                return [self.leaf(v) for v in value]
            if multi:
                raise _NotPlain
            return self.leaf(value)
        except _NotPlain:
            return self.typers().coerce(value, param=param, ctx=ctx)

    def typers(self):
        """typer's own coercion of this parameter (importing pydantic)."""
        if self._typer is None:
            from typer._coercion import build_runtime_param

            self._typer = build_runtime_param(self.descriptor)
        return self._typer


def plain_values(param: Any) -> Optional[PlainValues]:
    """The coercion for a typer parameter whose type and settings are plain, else None."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(descriptor, "file_annotation", None) is not None:
        return None
    annotation = descriptor.annotation
    many = get_origin(annotation) is list
    if many:
        (annotation,) = get_args(annotation) or (None,)
    leaf = _LEAVES.get(annotation)
    if leaf is None or not _plain_settings(descriptor.parameter_info):
        return None
    if leaf is _path and not descriptor.parameter_info.readable:
        leaf = _any_path
    return PlainValues(leaf, many, descriptor)


def install(params) -> None:
    """Give each plain parameter (of a click command built by typer) the coercion above."""
    for param in params:
        if getattr(param, "_runtime_param", False) is None:  # typer's slot, not filled yet
            coercion = plain_values(param)
            if coercion is not None:
                param._runtime_param = coercion
