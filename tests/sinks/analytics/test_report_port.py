"""`switchyard analytics` with its report port taken: one line naming the port and SWITCHYARD_ANALYTICS_PORT,
exit code 1, and neither Kafka nor the store touched by the writer (the port is bound before it runs). The
writer alone needs no broker: its bootstrap is a port nothing listens on."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.settings import Settings
from sinks.analytics.config import WriterConfig
from sinks.analytics.exceptions import ReportPortUnavailable
from sinks.analytics.service import serve
from sinks.analytics.writer import AnalyticsWriter

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(tmp_path: Path, query_port: int) -> WriterConfig:
    return WriterConfig(bootstrap=f"127.0.0.1:{closed_port()}", topic_prefix="t.", group_id="t-analytics",
                        dsn=f"chdb://{tmp_path / 'analytics'}", query_port=query_port)  # fmt: skip


@pytest.fixture
def writer_runs(monkeypatch: pytest.MonkeyPatch) -> list[AnalyticsWriter]:
    """The writers that were run (the writer is what opens the store and starts the Kafka clients)."""
    runs: list[AnalyticsWriter] = []

    async def run(self: AnalyticsWriter, stop: asyncio.Event) -> None:
        runs.append(self)

    monkeypatch.setattr(AnalyticsWriter, "run", run)
    return runs


def test_a_taken_report_port_stops_the_writer_before_it_runs(
    tmp_path: Path, taken_port: int, writer_runs: list[AnalyticsWriter]
) -> None:
    with pytest.raises(ReportPortUnavailable) as refused:
        asyncio.run(serve(config(tmp_path, taken_port)))
    assert str(refused.value) == (
        f"the analytics report port 127.0.0.1:{taken_port} is in use; set SWITCHYARD_ANALYTICS_PORT to a "
        "free port (0 turns the report endpoint off)"
    )
    assert writer_runs == [] and not (tmp_path / "analytics").exists()


def test_the_writer_runs_when_its_report_port_is_free(
    tmp_path: Path, writer_runs: list[AnalyticsWriter]
) -> None:
    asyncio.run(serve(config(tmp_path, closed_port())))
    assert len(writer_runs) == 1


@pytest.mark.kafka
def test_the_command_ends_with_one_line_and_exit_code_1(test_settings: Settings, taken_port: int) -> None:
    env = {**os.environ, **test_settings.to_env(), "SWITCHYARD_ANALYTICS_PORT": str(taken_port),
           "SWITCHYARD_ANALYTICS_DSN": f"chdb://{test_settings.data_dir / 'analytics'}"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "switchyard", "analytics"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1] == (
        f"switchyard analytics: the analytics report port 127.0.0.1:{taken_port} is in use; set "
        "SWITCHYARD_ANALYTICS_PORT to a free port (0 turns the report endpoint off)"
    )
