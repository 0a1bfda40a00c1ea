"""`switchyard` command line: parse the command, build Settings from the environment, call the package.

Errors a person can act on are printed as one line, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from switchyard.broker import BrokerError
from switchyard.settings import Settings, SettingsError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
        result: int = args.run(args, settings)
        return result
    except (BrokerError, SettingsError) as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchyard", description="Streaming workflow automation.")
    sub = parser.add_subparsers(metavar="COMMAND")

    kafka = sub.add_parser("kafka", help="the local Kafka broker: start | stop | status")
    kafka.add_argument("action", choices=["start", "stop", "status"])
    kafka.set_defaults(run=cmd_kafka)

    worker = sub.add_parser("worker", help="run a processing worker (Faust) until stopped")
    worker.set_defaults(run=cmd_worker)

    send = sub.add_parser("send", help="produce JSON-lines events from FILE (or - for stdin) to `events`")
    send.add_argument("file", help="path to a .jsonl file, or - for standard input")
    send.add_argument("--topic", default="events", help="topic name without prefix (default: events)")
    send.set_defaults(run=cmd_send)

    contacts = sub.add_parser("contacts", help="show contacts' stored state (read from the changelog)")
    contacts.add_argument("ids", nargs="*", help="contact ids (default: all)")
    contacts.set_defaults(run=cmd_contacts)

    demo = sub.add_parser("demo", help="broker + worker + a demo stream, then print what happened")
    demo.set_defaults(run=cmd_demo)
    return parser


def cmd_kafka(args: argparse.Namespace, settings: Settings) -> int:
    from switchyard.broker.factory import broker_for

    if settings.external_kafka:
        print(f"SWITCHYARD_KAFKA={settings.external_kafka}: using that broker; nothing to {args.action} here")
        return 0
    broker = broker_for(settings)
    if args.action == "start":
        print(broker.start().detail)
    elif args.action == "stop":
        print("stopped" if broker.stop() else "not running")
    else:
        status = broker.status()
        print(status.detail)
        return 0 if status.running else 3
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from agents.topics import all_topic_names
    from agents.worker import run_worker
    from switchyard.kafka_tools import create_topics

    # Every topic up front, with the worker's partition count: one auto-created by a producer could get
    # another count, and Faust refuses a table whose changelog does not match its source topic.
    asyncio.run(
        create_topics(settings.bootstrap, all_topic_names(settings.topic_prefix), settings.partitions)
    )
    run_worker(settings)
    return 0


def cmd_send(args: argparse.Namespace, settings: Settings) -> int:
    from switchyard.produce import send_file_lines

    topic = settings.topic(args.topic)
    if args.file == "-":
        sent = send_file_lines(settings.bootstrap, topic, sys.stdin.buffer)
    else:
        path = Path(args.file)
        if not path.is_file():
            print(f"switchyard: no such file: {path}", file=sys.stderr)
            return 1
        with path.open("rb") as handle:
            sent = send_file_lines(settings.bootstrap, topic, handle)
    print(f"sent {sent} record(s) to {topic} on {settings.bootstrap}")
    return 0


def cmd_contacts(args: argparse.Namespace, settings: Settings) -> int:
    import orjson

    from switchyard.inspect import read_contacts

    states = read_contacts(settings.bootstrap, settings.app_id, args.ids or None)
    for contact_id in sorted(states):
        print(orjson.dumps(states[contact_id], option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
    missing = [c for c in args.ids if c not in states]
    if missing:
        print(f"switchyard: no stored state for: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from switchyard.demo import run_demo

    return run_demo(settings)
