"""What building a worker imports: River (two thirds of a worker's start-up CPU) only when scoring is on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from switchyard.processes import REPO

BUILD_AND_REPORT = (
    "import sys\n"
    "from agents.app import build_worker\n"
    "from agents.settings import Settings\n"
    "build_worker(Settings.from_env())\n"
    "print(sorted(name for name in sys.modules if name.split('.')[0] == 'river')[:1])\n"
)


def river_modules_after_build(data_dir: Path, ml: str) -> str:
    env = {**os.environ, "SWITCHYARD_DATA": str(data_dir), "SWITCHYARD_ML": ml, "SWITCHYARD_WEB_PORT": "0"}
    done = subprocess.run([sys.executable, "-c", BUILD_AND_REPORT], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(("ml", "imported"), [("off", "[]"), ("on", "['river']")])
def test_river_is_imported_only_when_scoring_is_on(tmp_path: Path, ml: str, imported: str) -> None:
    assert river_modules_after_build(tmp_path, ml) == imported
