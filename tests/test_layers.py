"""The tree shows the pipeline: every import points down read -> check -> send -> report -> job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "importer"
# Lower numbers sit lower in the pipeline; a module may import its own level or a lower one.
LEVEL = {
    "records": 0,
    "errors": 0,
    "version": 0,
    "read": 1,
    "check": 2,
    "ledger": 3,
    "send": 3,
    "report": 4,
    "job": 5,
}
FRONT_ENDS = {"cli", "ledger_cli", "console", "ui", "__init__", "__main__"}
IMPORT = re.compile(r"^\s*(?:from|import) importer\.([a-z_0-9]+)", re.M)


def imports_of(path: Path) -> set[str]:
    return set(IMPORT.findall(path.read_text(encoding="utf-8")))


def stage_of(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_pipeline(path: Path) -> None:
    stage = stage_of(path)
    found = imports_of(path)
    if stage == "sandbox":
        # The emulator shares only the bottom layer (and the console) with the importer.
        assert found <= {"sandbox", "errors", "records", "console"}, found
    elif stage in FRONT_ENDS:
        return
    else:
        upward = {dep for dep in found if LEVEL.get(dep, 99) > LEVEL[stage]}
        assert upward == set(), f"{path.name} reaches up to {upward}"


def test_every_module_belongs_to_a_known_stage() -> None:
    stages = {stage_of(p) for p in MODULES}
    assert stages <= set(LEVEL) | FRONT_ENDS | {"sandbox"}, stages


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_imports_the_command_line(path: Path) -> None:
    """cli.py sits on top: the web app and the library read the key and the default URL from
    importer.send.credentials, not from it."""
    if path.name == "__main__.py":
        return
    assert "cli" not in imports_of(path), f"{path.name} imports importer.cli"
