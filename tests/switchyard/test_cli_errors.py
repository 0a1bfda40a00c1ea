"""The command line's errors are one clear line and exit 1, not a traceback: no broker where Kafka is
expected, and settings we refuse (real child processes, nothing listening)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures import free_ports

REPO = Path(__file__).resolve().parents[2]


def switchyard(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SWITCHYARD_DATA": str(tmp_path), **env}
    return subprocess.run([sys.executable, "-m", "switchyard", *args], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip


def test_no_broker_is_one_line_naming_the_way_out(tmp_path: Path) -> None:
    [port] = free_ports(1)  # nothing listens there
    done = switchyard(tmp_path, "worker", SWITCHYARD_KAFKA=f"127.0.0.1:{port}")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "switchyard: no Kafka broker answers" in done.stderr and "switchyard kafka start" in done.stderr


def test_a_refused_api_setting_is_one_line_before_the_broker_is_asked(tmp_path: Path) -> None:
    [port] = free_ports(1)
    done = switchyard(tmp_path, "worker", SWITCHYARD_KAFKA=f"127.0.0.1:{port}", SWITCHYARD_WEB_BIND="0.0.0.0",
                      SWITCHYARD_API_TOKEN="")  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("switchyard: refusing to listen on '0.0.0.0' without SWITCHYARD_API_TOKEN")
