"""`switchyard sinks [--channel C ...]`: run the action sinks (sinks/service.py) until SIGTERM / Ctrl-C.

Wire-up: ``register(subparsers)`` adds the command; ``python -m switchyard.commands.sinks`` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from agents.logs import configure_logging
from agents.settings import Settings, SettingsError
from sinks.channels import CHANNELS, DLQ_TOPIC, EVENTS_TOPIC, TASKS_TOPIC, action_topic
from sinks.exceptions import SinkConfigError
from sinks.settings import SinkSettings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sinks", help="run the action sinks (all channels, or --channel ...)")
    parser.add_argument(
        "--channel",
        dest="channels",
        action="append",
        choices=CHANNELS,
        metavar="CHANNEL",
        help=f"a channel to serve (repeatable; default: all): {', '.join(CHANNELS)}",
    )
    parser.set_defaults(run=run_sinks)


def sink_settings(settings: Settings) -> SinkSettings:
    return SinkSettings.from_env(
        os.environ, settings.bootstrap, settings.app_id, settings.topic_prefix, settings.data_dir,
        session_timeout_s=settings.session_timeout_s,
    )  # fmt: skip


def run_sinks(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_level, settings.log_format)
    channels = args.channels or list(CHANNELS)
    try:
        config = sink_settings(settings)
        asyncio.run(_serve(config, settings.partitions, channels, strict=bool(args.channels)))
    except SinkConfigError as exc:
        print(f"switchyard sinks: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(config: SinkSettings, partitions: int, channels: list[str], strict: bool) -> None:
    # Imported here: every `switchyard` command builds the parser that `register` adds to.
    from agents.kafka_admin import create_topics
    from engine.topics import DEAD_LETTER_CONFIG
    from sinks.service import SinkService

    await create_topics(config.bootstrap, [config.topic(DLQ_TOPIC)], partitions, configs=DEAD_LETTER_CONFIG)
    plain = [EVENTS_TOPIC, *map(action_topic, channels)]
    await create_topics(config.bootstrap, [config.topic(name) for name in plain], partitions)
    await create_topics(config.bootstrap, [config.topic(TASKS_TOPIC)], partitions, compact=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await SinkService(config, channels, strict).run(stop)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchyard")
    register(parser.add_subparsers())
    args = parser.parse_args(["sinks", *(sys.argv[1:] if argv is None else argv)])
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return 1
    result: int = args.run(args, settings)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
