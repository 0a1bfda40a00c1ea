"""The packages import one way (README: switchyard -> loadtest -> broker -> agents -> tables -> engine):
nothing below the front door imports it, and the pure engine imports none of the packages that do I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# package -> the packages of ours it must never import
FORBIDDEN = {
    "engine": {"switchyard", "loadtest", "broker", "agents", "tables", "sinks", "ml"},
    "ml": {"switchyard", "loadtest", "broker", "agents", "tables", "sinks"},
    "tables": {"switchyard", "loadtest", "broker", "agents", "ml", "sinks"},
    "sinks": {"switchyard", "loadtest", "broker", "agents"},
    "agents": {"switchyard", "loadtest", "broker"},
    "broker": {"switchyard", "loadtest"},
    "loadtest": {"switchyard"},
}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """(top-level package, line) of every absolute import in the module at ``path``."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_downward_only(package: str) -> None:
    wrong = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in sorted((REPO / package).rglob("*.py"))
        for name, line in sorted(imported_packages(path))
        if name in FORBIDDEN[package]
    ]
    assert wrong == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom switchyard.cli import main\nimport agents.app as a\n")
    assert imported_packages(module) >= {("switchyard", 2), ("agents", 3)}
