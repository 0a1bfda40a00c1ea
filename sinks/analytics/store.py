"""The one door to ClickHouse: a clickhouse-connect client (embedded chdb or a server) behind a small API.

Every failure of the client comes out as StoreUnavailable, so callers decide once what an outage means.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import clickhouse_connect

from sinks.analytics.dsn import redact
from sinks.analytics.exceptions import QueryTooSlow, StoreUnavailable

log = logging.getLogger("switchyard.analytics.store")
TIMEOUT_EXCEEDED = "TIMEOUT_EXCEEDED"  # the name of ClickHouse's error 159, in every client's message


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of one query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class AnalyticsStore:
    """A connected ClickHouse client. Not thread-safe: use it from one thread at a time."""

    def __init__(self, client: Any, dsn: str) -> None:
        self.client = client
        self.dsn = dsn

    @classmethod
    def connect(cls, dsn: str) -> AnalyticsStore:
        try:
            client = clickhouse_connect.get_client(dsn=dsn)
        except Exception as exc:
            raise StoreUnavailable(f"cannot connect to {redact(dsn)}: {exc}") from exc
        return cls(client, dsn)

    def command(self, sql: str) -> None:
        try:
            self.client.command(sql)
        except Exception as exc:
            raise StoreUnavailable(f"statement failed: {exc}") from exc

    def query(
        self, sql: str, parameters: Mapping[str, Any] | None = None, time_limit_s: float | None = None
    ) -> QueryResult:
        """Rows of one query; past ``time_limit_s`` ClickHouse stops it and QueryTooSlow is raised."""
        settings = {"max_execution_time": time_limit_s} if time_limit_s is not None else None
        try:
            result = self.client.query(sql, parameters=dict(parameters or {}), settings=settings)
        except Exception as exc:
            if TIMEOUT_EXCEEDED in str(exc):
                raise QueryTooSlow(f"the query took longer than {time_limit_s:g} s and was stopped") from exc
            raise StoreUnavailable(f"query failed: {exc}") from exc
        return QueryResult(list(result.column_names), [tuple(row) for row in result.result_rows])

    def insert_columns(self, table: str, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        """One columnar insert: `columns[i]` holds every value of column `names[i]`."""
        if not columns or not columns[0]:
            return
        try:
            self.client.insert(table, list(columns), column_names=list(names), column_oriented=True)
        except Exception as exc:
            raise StoreUnavailable(f"insert into {table} failed: {exc}") from exc

    def close(self) -> None:
        try:
            self.client.close()
        except Exception as exc:  # closing a client whose server is gone is not worth an error
            log.debug("closing the ClickHouse client failed: %s", exc)
