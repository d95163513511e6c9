"""The shape of the code (docs/architecture.md): imports run one way, without cycles; the core and
the device decoders stand on numpy/scipy and a few foundation modules only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sensorback"
#: Modules everything may stand on, the core and the device decoders included: they import nothing
#: else of sensorback but each other. timefmt, the one formatter of durations and shares, so that the
#: core's notes ('sensor fault: ... (>99 % of the epochs ...)') read as every other message does.
FOUNDATION = {"sensorback.errors", "sensorback.samples", "sensorback.limits", "sensorback.timefmt"}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


MODULES = modules()


def imports_of(name: str) -> set[str]:
    """Every module ``name`` imports, at any level of the file (functions included): sensorback
    modules by their full name, others by their top-level package."""
    path, is_package = MODULES[name]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [(module, a.name) for a in node.names]
        else:
            continue
        for module, attr in targets:
            if module.split(".")[0] != "sensorback":
                found.add(module.split(".")[0])
                continue
            if attr is not None and f"{module}.{attr}" in MODULES:
                module = f"{module}.{attr}"  # from package import submodule
            while module not in MODULES and "." in module:
                module = module.rsplit(".", 1)[0]
            if module != name:
                found.add(module)
    return found


GRAPH = {name: {m for m in imports_of(name) if m in MODULES} for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_the_imports():
    assert len(MODULES) > 100
    assert "sensorback.core.epochs" in GRAPH["sensorback.store.models"]
    assert "sensorback.store.recorder" in GRAPH["sensorback.store.store"]          # a function-level one too
    assert "sensorback.formats.sensorlogger" in GRAPH["sensorback.formats.csv_read"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(GRAPH) == []


def test_core_and_devices_stand_on_numpy_scipy_and_the_foundation():
    allowed_outside = {"numpy", "scipy"}
    for name in MODULES:
        layer = name.split(".")[1] if "." in name else ""
        if layer not in ("core", "devices"):
            continue
        own = f"sensorback.{layer}"
        wrong = {m for m in imports_of(name)
                 if m not in STDLIB and m not in allowed_outside and m not in FOUNDATION
                 and not (m == own or m.startswith(own + "."))}
        assert not wrong, f"{name} imports {sorted(wrong)}"


def test_the_foundation_imports_nothing_else_of_sensorback():
    for name in FOUNDATION:
        inside = {m for m in imports_of(name) if m.startswith("sensorback")}
        assert inside <= FOUNDATION, f"{name} imports {sorted(inside - FOUNDATION)}"
    outside = imports_of("sensorback.timefmt") - STDLIB
    assert not outside, f"timefmt, which the core imports, imports {sorted(outside)}"  # pure: not even numpy


def test_only_the_entry_point_imports_the_command_line():
    """What the CLI and another part both need lives below the CLI (e.g. outputs.py: the CLI's output
    options and cohort both know the files sensorback wrote)."""
    for name in MODULES:
        if name.startswith("sensorback.cli") or name == "sensorback.__main__":
            continue
        assert not {m for m in GRAPH[name] if m.startswith("sensorback.cli")}, name
    assert "sensorback.outputs" in GRAPH["sensorback.cohort.run"]
    assert "sensorback.outputs" in GRAPH["sensorback.cli._own_outputs"]


HEAVY = ("numpy", "scipy", "sqlalchemy", "alembic", "textual", "bleak", "dask", "pydantic", "sensorback.sim",
         "sensorback.core", "sensorback.store")


def imported_by(*argv: str) -> set[str]:
    """The heavy modules a fresh ``sensorback ARGV`` imports."""
    import subprocess

    code = ("import sys\nfrom sensorback.cli.app import main\nsys.argv = ['sensorback'] + sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print(' '.join(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r}))")
    p = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return {m for m in p.stdout.split("\n")[-2].split() if m.split(".")[0] in HEAVY or m in HEAVY}


def test_help_and_quick_commands_import_nothing_heavy():
    """`sensorback --help` lists every command without the simulator, SQLAlchemy, Textual or bleak
    (docs/architecture.md): each command imports what it needs when it runs."""
    assert imported_by("--help") == set()
    for command in ("replay", "report", "monitor", "calibrate", "scan", "config", "log", "exercises", "convert"):
        assert imported_by(command, "--help") == set(), command
    assert imported_by("--version") == set()
    # what their help shows comes from the modules that know it
    assert "sensorback.sim" in imported_by("simulate", "--help")          # the scenarios
    assert "sensorback.core" in imported_by("analyze", "--help")          # the core's defaults
    assert not {"sqlalchemy", "sensorback.sim", "pydantic"} & imported_by("analyze", "--help")
