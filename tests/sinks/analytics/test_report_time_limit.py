"""A report ClickHouse cannot finish within the time limit is stopped there, and the report endpoint says
so (504), instead of holding the writer's one ClickHouse thread, and with it every insert, for as long as
the query takes."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from sinks.analytics import reports
from sinks.analytics.exceptions import QueryTooSlow
from sinks.analytics.gateway import StoreGateway
from sinks.analytics.query_server import build_app
from sinks.analytics.reports import Report
from sinks.analytics.store import AnalyticsStore
from sinks.analytics.writer import WriterStats

SLOW_SQL = "SELECT count() FROM numbers(100000000000) WHERE modulo(sipHash64(number), 7) = 3"


def test_a_query_past_its_time_limit_is_stopped_and_the_store_still_answers(store: AnalyticsStore) -> None:
    with pytest.raises(QueryTooSlow, match=r"longer than 0\.5 s"):
        store.query(SLOW_SQL, time_limit_s=0.5)
    assert store.query("SELECT 1").rows == [(1,)]


def test_the_report_endpoint_answers_504_for_a_report_past_the_limit(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(reports.REPORTS, "slow", Report("slow", "a report too large to finish", SLOW_SQL))
    monkeypatch.setattr(reports, "REPORT_TIME_LIMIT_S", 0.5)

    async def scenario() -> tuple[int, str]:
        gateway = StoreGateway(fresh_database)
        server = TestServer(build_app(gateway, WriterStats(), token=None), host="127.0.0.1")
        await server.start_server()
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(server.make_url("/reports/slow")) as answer,
            ):
                return answer.status, (await answer.json())["error"]
        finally:
            await server.close()
            await gateway.close()

    status, error = asyncio.run(scenario())
    assert status == 504, error
    assert "shorter time range" in error
