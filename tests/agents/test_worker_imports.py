"""What building a worker imports: River (two thirds of a worker's start-up CPU) only when scoring is on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agents.fixtures import modules_imported_by

BUILD = "\n".join([
    "from agents.app import build_worker",
    "from agents.settings import Settings",
    "build_worker(Settings.from_env())",
])  # fmt: skip


@pytest.mark.parametrize(("ml", "imported"), [("off", False), ("on", True)])
def test_river_is_imported_only_when_scoring_is_on(tmp_path: Path, ml: str, imported: bool) -> None:
    env = {"SWITCHYARD_DATA": str(tmp_path), "SWITCHYARD_ML": ml, "SWITCHYARD_WEB_PORT": "0"}
    assert ("river" in modules_imported_by(BUILD, env)) is imported
