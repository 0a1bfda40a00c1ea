"""The analytics writer (`switchyard analytics`) as a child of a load-test run.

It gets its own embedded store under the run's directory (``chdb:///<run dir>/analytics``, kept after
the run for `switchyard report`) and its own loopback report port. After the drain, ``wait_committed``
waits until the writer's consumer group has committed every record of every topic it reads (the writer
commits only after ClickHouse accepted a batch, so lag 0 means everything is in), then ``fetch`` reads
the reports the check needs through the writer's endpoint: chDB lets one process open a data path, and
the writer holds it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from agents.kafka_admin import committed_offsets
from agents.settings import Settings
from agents.topic_reader import metadata_consumer
from agents.worker_process import WorkerProcess
from sinks.analytics.dsn import default_dsn
from sinks.analytics.exceptions import AnalyticsError
from sinks.analytics.query_client import ReportSource, fetch_report
from sinks.analytics.reports import report_parameters
from sinks.analytics.routing import TopicRouter
from sinks.analytics.writer import READY_LINE

CHECK_REPORTS = ("funnel", "steps", "outcomes", "tables")
POLL_S = 0.5


class AnalyticsUnavailable(Exception):
    """The writer exited, or stopped committing before it had everything."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def committed_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Records of ``topics`` (those that exist) that ``group`` has not committed."""
    committed = await committed_offsets(bootstrap, group)
    async with metadata_consumer(bootstrap) as consumer:
        tps = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps) if tps else {}
    lag = 0
    for tp, end in ends.items():
        meta = committed.get(tp)
        lag += max(0, end - (meta.offset if meta is not None and meta.offset >= 0 else 0))
    return lag


@dataclass
class CatchUp:
    seconds: float  # from the call until lag 0
    lag: int  # 0 when it caught up


class AnalyticsChild:
    def __init__(self, settings: Settings, run_dir: Path) -> None:
        self.settings = settings
        self.dsn = default_dsn(run_dir)
        self.port = free_port()
        self.group = f"{settings.app_id}-analytics"
        self.process = WorkerProcess(
            settings, run_dir / "analytics.log", command=("analytics",), ready_mark=READY_LINE.encode()
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout_s: float = 180.0) -> float:
        """Start the writer and wait until it has joined its group; returns the seconds it took."""
        started = time.monotonic()
        env = {
            "SWITCHYARD_ANALYTICS_DSN": self.dsn,
            "SWITCHYARD_ANALYTICS_PORT": str(self.port),
            "SWITCHYARD_API_TOKEN": "",  # the endpoint is this run's own, on loopback
            "SWITCHYARD_ANALYTICS_CRASH_AFTER_INSERTS": "",
        }
        await asyncio.to_thread(self.process.start, timeout_s, env)
        return time.monotonic() - started

    def check_alive(self) -> None:
        if not self.process.alive():
            raise AnalyticsUnavailable(f"the analytics writer exited:\n{self.process.log_tail()}")

    async def wait_committed(self, stall_s: float = 60.0) -> CatchUp:
        """Until the writer's group lag is 0 on every topic it reads; AnalyticsUnavailable when the writer
        exits or its lag stays the same for ``stall_s``."""
        topics = TopicRouter(self.settings.topic_prefix, self.settings.max_event_bytes).topics()
        started = last_change = time.monotonic()
        last_lag = -1
        while True:
            self.check_alive()
            lag = await committed_lag(self.settings.bootstrap, self.group, topics)
            now = time.monotonic()
            if lag == 0:
                return CatchUp(round(now - started, 2), 0)
            if lag != last_lag:
                last_lag, last_change = lag, now
            elif now - last_change > stall_s:
                raise AnalyticsUnavailable(f"the analytics writer stopped at lag {lag:,} for {stall_s:.0f}s")
            await asyncio.sleep(POLL_S)

    async def fetch(self) -> dict[str, list[dict[str, Any]]]:
        """The rows of the check's reports over all time, from the writer's endpoint."""
        source = ReportSource(dsn=self.dsn, endpoint=self.endpoint)
        parameters = report_parameters(None, 0, int(time.time() * 1000))
        out: dict[str, list[dict[str, Any]]] = {}
        for name in CHECK_REPORTS:
            self.check_alive()  # a refused endpoint would make fetch_report open the store in this process
            result = await asyncio.to_thread(fetch_report, source, name, parameters)
            out[name] = result.as_dicts()
        return out

    async def stats(self) -> dict[str, Any]:
        """The writer's counters (its /health)."""

        def read() -> dict[str, Any]:
            with urllib.request.urlopen(f"{self.endpoint}/health", timeout=10) as response:
                body: dict[str, Any] = json.loads(response.read())
            return dict(body.get("stats", {}))

        return await asyncio.to_thread(read)

    def stop(self) -> None:
        self.process.stop()


@dataclass
class Reading:
    """What the run reads from analytics: the reports' rows, or why it could not."""

    reports: dict[str, list[dict[str, Any]]]
    details: dict[str, Any]  # store, writer start and catch-up seconds, writer counters
    error: str = ""


async def read_after_drain(child: AnalyticsChild, started_s: float) -> Reading:
    """Wait for the writer to commit everything, then read the reports and its counters."""
    details: dict[str, Any] = {"dsn": child.dsn, "writer_start_s": round(started_s, 2)}
    try:
        caught = await child.wait_committed()
        details["catch_up_s"] = caught.seconds
        reports = await child.fetch()
        details["writer"] = await child.stats()
    except (AnalyticsUnavailable, AnalyticsError, OSError) as exc:
        return Reading({}, details, f"{type(exc).__name__}: {exc}")
    return Reading(reports, details)
