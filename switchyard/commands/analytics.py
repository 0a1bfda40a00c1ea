"""`switchyard analytics`: run the ClickHouse writer (sinks/analytics) until SIGTERM / Ctrl-C.

Wire-up: ``register(subparsers)`` adds the command; ``python -m switchyard.commands.analytics`` runs it
alone. Environment (read here, at the front door; docs/analytics.md has the full table):

- SWITCHYARD_ANALYTICS_DSN: `chdb:///path` (embedded; default `chdb://<data dir>/analytics`) or
  `http(s)://user:pass@host:port/db`
- SWITCHYARD_ANALYTICS_BATCH_ROWS (5000) / SWITCHYARD_ANALYTICS_BATCH_SECONDS (1.0): batch size and age
- SWITCHYARD_ANALYTICS_PORT (6067, 0 = off): the loopback report endpoint; SWITCHYARD_API_TOKEN protects it
- SWITCHYARD_ANALYTICS_RETRY_MAX (10 s): longest wait between attempts during a ClickHouse outage
- SWITCHYARD_ANALYTICS_CRASH_AFTER_INSERTS: TEST ONLY, SIGKILL after N inserted batches, before the commit
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from agents.logs import configure_logging
from agents.settings import Settings, SettingsError, analytics_port, env_float, env_int
from sinks.analytics.config import WriterConfig
from sinks.analytics.dsn import default_dsn


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("analytics", help="run the ClickHouse analytics writer until stopped")
    parser.set_defaults(run=run_analytics)


def analytics_dsn(settings: Settings, env: Mapping[str, str]) -> str:
    return env.get("SWITCHYARD_ANALYTICS_DSN") or default_dsn(settings.data_dir)


def writer_config(settings: Settings, env: Mapping[str, str]) -> WriterConfig:
    crash = env.get("SWITCHYARD_ANALYTICS_CRASH_AFTER_INSERTS")
    return WriterConfig(
        bootstrap=settings.bootstrap,
        topic_prefix=settings.topic_prefix,
        group_id=f"{settings.app_id}-analytics",
        dsn=analytics_dsn(settings, env),
        batch_rows=max(1, env_int(env, "SWITCHYARD_ANALYTICS_BATCH_ROWS", WriterConfig.batch_rows)),
        batch_seconds=env_float(env, "SWITCHYARD_ANALYTICS_BATCH_SECONDS", WriterConfig.batch_seconds),
        max_event_bytes=settings.max_event_bytes,
        session_timeout_s=settings.session_timeout_s,
        retry_max_s=env_float(env, "SWITCHYARD_ANALYTICS_RETRY_MAX", WriterConfig.retry_max_s),
        query_port=analytics_port(env),
        api_token=env.get("SWITCHYARD_API_TOKEN") or None,
        crash_after_inserts=int(crash) if crash else None,
    )


def run_analytics(args: argparse.Namespace, settings: Settings) -> int:
    from sinks.analytics.exceptions import ReportPortUnavailable
    from sinks.analytics.service import run_service

    configure_logging(settings.log_level, settings.log_format)
    config = writer_config(settings, os.environ)
    asyncio.run(_create_dead_letter_topic(config, settings.partitions))
    try:
        run_service(config)
    except ReportPortUnavailable as exc:
        print(f"switchyard analytics: {exc}", file=sys.stderr)
        return 1
    return 0


async def _create_dead_letter_topic(config: WriterConfig, partitions: int) -> None:
    """Created here, not left to the broker's auto-creation: a cluster may have it off, and the topic takes
    the dead-letter record size (engine/topics.py)."""
    from agents.kafka_admin import create_topics
    from engine.topics import DEAD_LETTER_CONFIG
    from sinks.analytics.writer import DLQ

    await create_topics(config.bootstrap, [config.topic_prefix + DLQ], partitions, configs=DEAD_LETTER_CONFIG)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchyard")
    register(parser.add_subparsers())
    args = parser.parse_args(["analytics", *(argv if argv is not None else sys.argv[1:])])
    try:
        result = int(args.run(args, Settings.from_env()))
    except SettingsError as exc:
        print(f"switchyard analytics: {exc}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    raise SystemExit(main())
