"""What the analytics writer needs to know, built by the front door from Settings and the environment."""

from __future__ import annotations

from dataclasses import dataclass

from sinks.group import DEFAULT_SESSION_TIMEOUT_S


@dataclass(frozen=True)
class WriterConfig:
    bootstrap: str
    topic_prefix: str
    group_id: str  # the Kafka consumer group; its committed offsets are the writer's progress
    dsn: str
    batch_rows: int = 5000  # flush when this many rows are buffered ...
    batch_seconds: float = 1.0  # ... or when the oldest buffered record is this old
    max_event_bytes: int = 65536  # as the worker's: larger events are dead-lettered there, skipped here
    retry_initial_s: float = 0.5  # ClickHouse outage: first wait, doubled up to retry_max_s
    retry_max_s: float = 10.0
    query_host: str = "127.0.0.1"
    query_port: int = 6067  # the loopback report endpoint; 0 turns it off
    api_token: str | None = None  # when set, the report endpoint wants `Authorization: Bearer <token>`
    # the writer's consumer group, as the worker's (SWITCHYARD_SESSION_TIMEOUT)
    session_timeout_s: float = DEFAULT_SESSION_TIMEOUT_S
    crash_after_inserts: int | None = None  # TEST ONLY: SIGKILL itself after this many inserted batches,
    # between the insert and the offset commit (SWITCHYARD_ANALYTICS_CRASH_AFTER_INSERTS)
