"""The same code against a real ClickHouse server over HTTP.

The server comes from SWITCHYARD_TEST_CLICKHOUSE_DSN (http://user:pass@host:port/db), or is started from a
`clickhouse` binary on PATH. Neither exists on the project machine (Debian's clickhouse-server package is
18.16, far older than clickhouse-connect supports), so the test is skipped there, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sinks.analytics.migrations import prepare
from sinks.analytics.store import AnalyticsStore
from tests.sinks.analytics.fixtures import free_port, insert_records
from tests.sinks.analytics.test_views import D1, cart_steps


def _start_local_server(work: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("clickhouse")
    if binary is None:
        return None
    http_port, tcp_port = free_port(), free_port()
    args = [binary, "server", "--", f"--path={work}/", f"--http_port={http_port}", f"--tcp_port={tcp_port}",
            "--listen_host=127.0.0.1", f"--logger.log={work}/server.log",
            f"--logger.errorlog={work}/err.log"]  # fmt: skip
    proc = subprocess.Popen(args, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/ping", timeout=1):
                return proc, f"http://default:@127.0.0.1:{http_port}/default"
        except OSError:
            time.sleep(0.3)
    proc.kill()
    return None


@pytest.fixture
def server_dsn(tmp_path: Path) -> Iterator[str]:
    configured = os.environ.get("SWITCHYARD_TEST_CLICKHOUSE_DSN")
    if configured:
        yield configured
        return
    started = _start_local_server(tmp_path)
    if started is None:
        pytest.skip(
            "no ClickHouse server: set SWITCHYARD_TEST_CLICKHOUSE_DSN=http://user:pass@host:port/db or put a "
            "`clickhouse` binary on PATH (Debian's clickhouse-server 18.16 is too old for clickhouse-connect)"
        )
    proc, dsn = started
    yield dsn
    proc.terminate()
    proc.wait(30)


def test_migrations_and_views_over_http(server_dsn: str) -> None:
    store = AnalyticsStore.connect(server_dsn)
    try:
        for table in ("funnel_daily_mv", "run_position_mv", "funnel_daily_agg", "run_position", "events",
                      "step_log", "actions", "action_results", "predictions", "tasks",
                      "schema_migrations"):  # fmt: skip
            store.command(f"DROP TABLE IF EXISTS {table}")
        prepare(store)
        assert prepare(store) == []
        insert_records(store, steps=cart_steps())
        insert_records(store, steps=cart_steps())
        got = store.query(
            "SELECT step, node, runs FROM funnel_daily WHERE workflow_id = 'cart' AND version = 1 "
            f"AND day = '{D1}' AND step = 'entered'"
        ).rows
        assert got == [("entered", "", 3)]
    finally:
        store.close()
