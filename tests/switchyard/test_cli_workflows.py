"""`switchyard workflows ...` as a person uses it: validate files, publish, list, pause, resume, migrate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.settings import Settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "workflows"


def cli(*args: str, settings: Settings | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(settings.to_env() if settings else {})}
    return subprocess.run([sys.executable, "-m", "switchyard", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL)  # fmt: skip


def test_validate_accepts_every_example() -> None:
    result = cli("workflows", "validate", *map(str, sorted(EXAMPLES.glob("*.yaml"))))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(list(EXAMPLES.glob("*.yaml")))


def test_validate_names_file_line_and_node_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: bad\nversion: 1\nname: Bad\nstatus: published\ntrigger: {event: x}\nstart: a\nnodes:\n"
        "  a:\n    type: wait\n    duration: 2 hours\n    next: nowhere\n"
    )
    result = cli("workflows", "validate", str(bad), str(EXAMPLES / "abandoned_cart.yaml"))
    assert result.returncode == 1
    assert f"{bad}:10:" in result.stderr and "node 'a'" in result.stderr  # the bad duration, by line
    assert "nowhere" in result.stderr  # the dangling edge
    assert "abandoned_cart.yaml: ok" in result.stdout


def test_validate_a_missing_file() -> None:
    result = cli("workflows", "validate", "no/such.yaml")
    assert result.returncode == 1 and "no such file" in result.stderr


@pytest.mark.kafka
def test_publish_list_pause_resume_and_refuse_rewrites(test_settings: Settings, tmp_path: Path) -> None:
    cart = str(EXAMPLES / "abandoned_cart.yaml")
    assert cli("workflows", "publish", cart, settings=test_settings).returncode == 0
    assert cli("workflows", "publish", cart, settings=test_settings).returncode == 0  # same content: no-op
    listing = cli("workflows", "list", settings=test_settings).stdout
    assert "abandoned_cart" in listing and "v1" in listing and "published" in listing

    assert cli("workflows", "pause", "abandoned_cart", settings=test_settings).returncode == 0
    assert "paused" in cli("workflows", "list", settings=test_settings).stdout
    assert cli("workflows", "resume", "abandoned_cart", settings=test_settings).returncode == 0
    assert "published" in cli("workflows", "list", settings=test_settings).stdout

    changed = tmp_path / "cart.yaml"
    changed.write_text(Path(cart).read_text().replace("10% off", "15% off"))
    refused = cli("workflows", "publish", str(changed), settings=test_settings)
    assert refused.returncode == 1 and "publish it as version 2" in refused.stderr
    changed.write_text(changed.read_text().replace("version: 1", "version: 2"))
    assert cli("workflows", "publish", str(changed), settings=test_settings).returncode == 0

    migrate = ("workflows", "migrate", "abandoned_cart", "--from", "1", "--to", "2")
    bad_map = cli(*migrate, "--map", "wait_2h=reminder", settings=test_settings)
    assert bad_map.returncode == 1 and "wait_2h" in bad_map.stderr  # a wait cannot become an action
    good = cli(*migrate, settings=test_settings)
    assert good.returncode == 0, good.stderr
    assert cli("workflows", "pause", "nope", settings=test_settings).returncode == 1
