"""Errors of the analytics package."""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base class of every analytics error."""


class StoreUnavailable(AnalyticsError):
    """ClickHouse could not be reached or refused a statement (the writer retries these)."""


class QueryTooSlow(AnalyticsError):
    """A query ClickHouse stopped at its time limit (the store is fine; the question was too large)."""


class MigrationError(AnalyticsError):
    """A migration file that cannot be applied, or one changed after it was applied."""


class UnknownReport(AnalyticsError):
    """A report name that is not one of the named report queries."""


class ReportUnavailable(AnalyticsError):
    """No way to run a report: the writer's query endpoint and the store are both out of reach."""


class ReportPortUnavailable(AnalyticsError):
    """The writer's report endpoint cannot listen on its port (SWITCHYARD_ANALYTICS_PORT): in use, or not
    ours to take. Raised before the writer touches Kafka or the store."""


class UnusableRecord(AnalyticsError):
    """A Kafka record the writer cannot turn into rows (it is dead-lettered with `reason` and skipped)."""

    def __init__(self, message: str, reason: str = "unusable_record") -> None:
        super().__init__(message)
        self.reason = reason
