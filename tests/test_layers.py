"""The tree shows the pipeline: every import points down read -> check -> send -> report -> job,
and no module imports one that imports it back (imports for type checkers aside)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "importer"
# Lower numbers sit lower in the pipeline; a module may import its own level or a lower one.
LEVEL = {
    "fields": 0,  # the field registry: every stage reads its fields from it
    "records": 0,
    "errors": 0,
    "currencies": 0,
    "version": 0,
    "read": 1,
    "check": 2,
    "ledger": 3,
    "send": 3,
    "report": 4,
    "job": 5,
}
# The package itself (``from importer import ...``) is the public API: a front end.
FRONT_ENDS = {"cli", "ledger_cli", "console", "ui", "__init__", "__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _for_type_checkers(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(test)


def _targets(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        names = [f"{node.module}.{alias.name}" for alias in node.names]
        return [name if name in MODULES else node.module for name in names]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return []


def imported_modules(path: Path) -> set[str]:
    """The importer modules ``path`` imports anywhere (in functions too), except under
    ``if TYPE_CHECKING:``."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _for_type_checkers(child):
                continue
            found.update(t for t in _targets(child) if t.split(".")[0] == "importer")
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {name for name in found if name in MODULES}


def stage_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path) -> set[str]:
    """The stages ``path`` imports from."""
    return {stage_of(module) for module in imported_modules(path)}


@pytest.mark.parametrize("module", MODULES, ids=str)
def test_imports_point_down_the_pipeline(module: str) -> None:
    stage = stage_of(module)
    found = imports_of(MODULES[module])
    if stage == "sandbox":
        # The emulator shares only the bottom layer (and the console) with the importer.
        assert found <= {"sandbox", "errors", "records", "console"}, found
    elif stage in FRONT_ENDS:
        return
    else:
        upward = {dep for dep in found if LEVEL.get(dep, 99) > LEVEL[stage]}
        assert upward == set(), f"{module} reaches up to {upward}"


def test_every_module_belongs_to_a_known_stage() -> None:
    stages = {stage_of(m) for m in MODULES}
    assert stages <= set(LEVEL) | FRONT_ENDS | {"sandbox"}, stages


@pytest.mark.parametrize("module", MODULES, ids=str)
def test_nothing_imports_the_command_line(module: str) -> None:
    """cli.py sits on top: the web app and the library read the key and the default URL from
    importer.send.credentials, not from it."""
    if module == "importer.__main__":
        return
    assert "importer.cli" not in imported_modules(MODULES[module]), f"{module} imports the cli"


def import_cycles() -> list[list[str]]:
    """Groups of modules that import each other, directly or round a loop (Tarjan)."""
    graph = {m: imported_modules(p) - {m} for m, p in MODULES.items()}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for other in graph[module]:
            if other not in order:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], order[other])
        if low[module] == order[module]:
            group = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in graph:
        if module not in order:
            visit(module)
    return cycles


def test_no_import_cycles() -> None:
    assert import_cycles() == []


def test_the_cycle_finder_sees_a_cycle(monkeypatch, tmp_path) -> None:
    package = tmp_path / "importer"
    (package / "job").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "job" / "__init__.py").write_text("")
    (package / "job" / "a.py").write_text("def f():\n    from importer.job import b\n")
    (package / "job" / "b.py").write_text("from importer.job.a import f\n")
    (package / "job" / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from importer.job import a\n"
    )
    monkeypatch.setitem(globals(), "PACKAGE", package)
    monkeypatch.setitem(globals(), "MODULES", {module_name(p): p for p in package.rglob("*.py")})
    assert import_cycles() == [["importer.job.a", "importer.job.b"]]
    assert imported_modules(package / "job" / "c.py") == set()
