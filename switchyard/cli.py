"""`switchyard` command line: parse the command, build Settings from the environment, call the package.

Errors a person can act on are printed as one line, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from agents.settings import Settings, SettingsError
from broker import BrokerError

# Subcommands kept in their own modules (switchyard/commands/<name>.py, each with register(subparsers)).
COMMAND_MODULES = ("sinks", "tasks", "analytics", "report", "loadtest", "dlq", "policy")


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
    except Exception as exc:
        if not _no_broker(exc):
            raise
        print(f"switchyard: no Kafka broker answers ({exc}); start the local one with "
              "`switchyard kafka start`, or name yours in SWITCHYARD_KAFKA", file=sys.stderr)  # fmt: skip
        return 1


def _no_broker(exc: Exception) -> bool:
    """Whether aiokafka could not reach the broker (looked up only if a command imported aiokafka, so that
    commands without Kafka do not pay for importing it)."""
    errors = sys.modules.get("aiokafka.errors")
    return errors is not None and isinstance(exc, errors.KafkaConnectionError)


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

    workflows = sub.add_parser("workflows", help="validate, publish, pause, resume, list, migrate workflows")
    wf = workflows.add_subparsers(metavar="ACTION")
    validate = wf.add_parser("validate", help="check YAML/JSON definitions; non-zero exit on any error")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(run=cmd_workflows_validate)
    publish = wf.add_parser("publish", help="validate and publish definitions to the `workflows` topic")
    publish.add_argument("files", nargs="+")
    publish.set_defaults(run=cmd_workflows_publish)
    for action, status in (("pause", "paused"), ("resume", "published"), ("archive", "archived")):
        p = wf.add_parser(action, help=f"set a workflow's governing version to {status}")
        p.add_argument("workflow_id")
        p.set_defaults(run=cmd_workflows_status, status=status)
    listing = wf.add_parser("list", help="every version in the catalog, with its status")
    listing.set_defaults(run=cmd_workflows_list)
    migrate = wf.add_parser("migrate", help="move in-flight runs of older versions to a new version")
    migrate.add_argument("workflow_id")
    migrate.add_argument("--to", type=int, required=True, help="target version (already published)")
    migrate.add_argument("--from", dest="from_versions", type=int, action="append", required=True,
                         help="a version whose runs move (repeatable)")  # fmt: skip
    migrate.add_argument(
        "--map", action="append", default=[], metavar="OLD=NEW", help="node mapping (repeatable)"
    )
    migrate.set_defaults(run=cmd_workflows_migrate)

    for name in COMMAND_MODULES:
        importlib.import_module(f"switchyard.commands.{name}").register(sub)

    demo = sub.add_parser("demo", help="broker + worker + a demo stream, then print what happened")
    demo.set_defaults(run=cmd_demo)
    return parser


def cmd_kafka(args: argparse.Namespace, settings: Settings) -> int:
    from broker.factory import broker_for

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

    from agents.api.config import ApiConfig
    from agents.kafka_admin import ensure_worker_topics
    from agents.worker import run_worker

    ApiConfig.from_env(os.environ)  # settings it refuses are refused before anything is touched
    asyncio.run(ensure_worker_topics(settings))
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

    from agents.changelog import read_contacts

    states = read_contacts(settings.bootstrap, settings.app_id, args.ids or None)
    for contact_id in sorted(states):
        print(orjson.dumps(states[contact_id], option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
    missing = [c for c in args.ids if c not in states]
    if missing:
        print(f"switchyard: no stored state for: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def cmd_workflows_validate(args: argparse.Namespace, settings: Settings) -> int:
    from engine.validation import format_issue, validate_file

    failed = 0
    for name in args.files:
        if not Path(name).is_file():
            print(f"{name}: no such file", file=sys.stderr)
            failed += 1
            continue
        issues = validate_file(name)
        errors = [i for i in issues if i.severity == "error"]
        for issue in issues:
            print(format_issue(issue), file=sys.stderr if issue.severity == "error" else sys.stdout)
        failed += bool(errors)
        if not errors:
            print(f"{name}: ok")
    return 1 if failed else 0


def _catalog(settings: Settings) -> dict[tuple[str, int], dict[str, object]]:
    import asyncio

    from agents.catalog import parse_catalog
    from agents.changelog import latest_by_key
    from agents.topic_reader import read_to_end

    records = asyncio.run(read_to_end(settings.bootstrap, settings.topic("workflows")))
    return parse_catalog(latest_by_key(records))[0]


def _write(settings: Settings, records: list[tuple[bytes, bytes]]) -> None:
    import asyncio

    from agents.catalog import write_records
    from agents.kafka_admin import ensure_worker_topics

    asyncio.run(ensure_worker_topics(settings))
    asyncio.run(write_records(settings.bootstrap, settings.topic("workflows"), records))


def cmd_workflows_publish(args: argparse.Namespace, settings: Settings) -> int:
    from agents.catalog import CatalogError, plan_publish
    from engine.exceptions import WorkflowInvalid
    from engine.parser import parse_text

    if cmd_workflows_validate(args, settings):
        return 1
    catalog = _catalog(settings)
    records = []
    for name in args.files:
        data = parse_text(Path(name).read_text(), name).data
        try:
            records.append(plan_publish(catalog, data))
        except (CatalogError, WorkflowInvalid) as exc:
            print(f"switchyard: {name}: {exc}", file=sys.stderr)
            return 1
    _write(settings, records)
    for key, _ in records:
        print(f"published {key.decode()} to {settings.topic('workflows')}")
    return 0


def cmd_workflows_status(args: argparse.Namespace, settings: Settings) -> int:
    from agents.catalog import CatalogError, plan_status

    try:
        record = plan_status(_catalog(settings), args.workflow_id, args.status)
    except CatalogError as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return 1
    _write(settings, [record])
    print(f"{record[0].decode()} is now {args.status}")
    return 0


def cmd_workflows_list(args: argparse.Namespace, settings: Settings) -> int:
    from agents.catalog import entries

    rows = entries(_catalog(settings))
    if not rows:
        print(f"no workflows in {settings.topic('workflows')}")
    for row in rows:
        print(f"{row.workflow_id:28} v{row.version:<4} {row.status:10} {row.name}")
    return 0


def cmd_workflows_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from agents.catalog import CatalogError, plan_migration
    from engine.exceptions import MigrationError

    pairs = [item.split("=", 1) for item in args.map]
    if any(len(p) != 2 or not p[0] or not p[1] for p in pairs):
        print("switchyard: --map takes OLD=NEW node ids", file=sys.stderr)
        return 2
    try:
        record = plan_migration(
            _catalog(settings), args.workflow_id, args.to, args.from_versions, dict(pairs)
        )
    except (CatalogError, MigrationError) as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return 1
    _write(settings, [record])
    print(f"runs of {args.workflow_id} v{', v'.join(map(str, args.from_versions))} will move to v{args.to}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from switchyard.demo import run_demo

    return run_demo(settings)
