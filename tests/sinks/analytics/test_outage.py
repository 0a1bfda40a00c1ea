"""A ClickHouse outage pauses the writer and it resumes with nothing lost (the writer runs in-process here,
so the test can take a table away from under it and give it back)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

import pytest

from agents.kafka_admin import create_topics
from agents.settings import Settings
from sinks.analytics.config import WriterConfig
from sinks.analytics.gateway import StoreGateway
from sinks.analytics.reports import report_parameters, run_report
from sinks.analytics.routing import TopicRouter
from sinks.analytics.store import AnalyticsStore
from sinks.analytics.writer import AnalyticsWriter
from tests.sinks.analytics.fixtures import free_port, produce_json
from tests.sinks.analytics.test_writer_kafka import Traffic, funnel_of, group_lag_async

pytestmark = pytest.mark.kafka


def config_for(settings: Settings, dsn: str) -> WriterConfig:
    return WriterConfig(
        bootstrap=settings.bootstrap, topic_prefix=settings.topic_prefix,
        group_id=f"{settings.app_id}-analytics",
        dsn=dsn, batch_rows=40, batch_seconds=0.2, retry_initial_s=0.2, retry_max_s=0.5, query_port=0,
    )  # fmt: skip


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


async def test_an_outage_pauses_the_writer_and_it_resumes_with_nothing_lost(
    test_settings: Settings, fresh_database: str, store: AnalyticsStore
) -> None:
    await create_topics(test_settings.bootstrap, TopicRouter(test_settings.topic_prefix, 1).topics(), 2)
    writer = AnalyticsWriter(config_for(test_settings, fresh_database), StoreGateway(fresh_database))
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    try:
        await asyncio.wait_for(writer.ready.wait(), 60)
        store.command("DETACH TABLE step_log")  # every insert of a batch with step records now fails
        traffic = Traffic(60)
        records = traffic.records(test_settings)
        await produce_json(test_settings.bootstrap, records)
        await eventually(lambda: writer.stats.failed_attempts >= 2, 60, "the writer retried")
        assert writer.stats.in_outage
        held_lag, held_batches = await group_lag_async(test_settings), writer.stats.batches
        assert held_lag > 0
        await eventually(lambda: writer.stats.failed_attempts >= 5, 60, "the writer kept retrying")
        # paused: no batch went in and no offset moved while the outage lasted
        assert (await group_lag_async(test_settings), writer.stats.batches) == (held_lag, held_batches)

        store.command("ATTACH TABLE step_log")
        await eventually(lambda: writer.stats.records == len(records) and not writer.stats.in_outage, 60,
                         "the writer caught up")  # fmt: skip

        async def all_committed() -> bool:
            return await group_lag_async(test_settings) == 0

        # The writer counts a batch's records once they are inserted; it commits after the batch's dead
        # letters are acknowledged (here one malformed event's, on a topic the broker creates on first use).
        await eventually(all_committed, 30, "the writer committed every record")
        funnel = run_report(store, "funnel", report_parameters(None, 0, 0)).as_dicts()
        assert funnel_of(funnel) == traffic.expected
        tables = run_report(store, "tables", report_parameters(None, 0, 0)).as_dicts()
        distinct = {r["table_name"]: r["distinct_ids"] for r in tables}
        assert distinct["events"] == len(traffic.events)
        assert distinct["actions"] == len(traffic.actions)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await writer.gateway.close()


async def test_a_server_that_is_not_there_keeps_the_writer_waiting_without_consuming(
    test_settings: Settings,
) -> None:
    dsn = f"http://default:@127.0.0.1:{free_port()}/default"  # nothing listens there
    writer = AnalyticsWriter(config_for(test_settings, dsn), StoreGateway(dsn))
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    await eventually(lambda: bool(writer.stats.last_error), 30, "a failed connection attempt")
    assert not writer.ready.is_set() and writer.consumer is None
    assert "cannot connect" in writer.stats.last_error
    stop.set()
    await asyncio.wait_for(task, 30)
    await writer.gateway.close()
