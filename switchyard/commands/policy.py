"""`switchyard policy validate|publish|show`: the workspace policy every workflow obeys
(engine/compile_policy.py), kept in the catalog topic as `#policy@<version>` (agents/catalog.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

from agents.catalog import CatalogError, parse_policies, plan_policy, write_records
from agents.changelog import latest_by_key
from agents.kafka_admin import ensure_worker_topics
from agents.settings import Settings
from agents.topic_reader import read_to_end
from engine.compile_policy import load_policy
from engine.exceptions import PolicyInvalid, WorkflowParseError
from engine.parser import parse_text
from engine.topics import WORKFLOWS


def register(subparsers: Any) -> None:
    policy = subparsers.add_parser("policy", help="the workspace policy: caps, quiet hours, send rates")
    actions = policy.add_subparsers(metavar="ACTION")
    validate = actions.add_parser("validate", help="check a policy file; non-zero exit on any error")
    publish = actions.add_parser("publish", help="validate and publish a policy file as its version")
    for parser in (validate, publish):
        parser.add_argument("file")
    validate.set_defaults(run=cmd_validate)
    publish.set_defaults(run=cmd_publish)
    show = actions.add_parser("show", help="the policy in force and the published versions")
    show.set_defaults(run=cmd_show)


def _load(name: str) -> dict[str, Any] | None:
    """The file's policy document, checked; None (after printing why) when it does not validate."""
    try:
        text = Path(name).read_text(encoding="utf-8")
        load_policy(text, name)
        data: dict[str, Any] = parse_text(text, name).data
    except (OSError, UnicodeDecodeError) as exc:
        print(f"switchyard: {name}: {exc}", file=sys.stderr)
        return None
    except (PolicyInvalid, WorkflowParseError) as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return None
    return data


def _published(settings: Settings) -> dict[int, dict[str, Any]]:
    records = asyncio.run(read_to_end(settings.bootstrap, settings.topic(WORKFLOWS)))
    return parse_policies(latest_by_key(records))


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    if _load(args.file) is None:
        return 1
    print(f"{args.file}: ok")
    return 0


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    document = _load(args.file)
    if document is None:
        return 1
    try:
        record = plan_policy(_published(settings), document)
    except (CatalogError, PolicyInvalid) as exc:
        print(f"switchyard: {exc}", file=sys.stderr)
        return 1
    asyncio.run(ensure_worker_topics(settings))
    asyncio.run(write_records(settings.bootstrap, settings.topic(WORKFLOWS), [record]))
    print(f"published policy v{document['version']} to {settings.topic(WORKFLOWS)}")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    policies = _published(settings)
    if not policies:
        print("no workspace policy published")
        return 0
    newest = max(policies)
    print(f"policy v{newest} in force (published: {', '.join(f'v{v}' for v in sorted(policies))})")
    print(orjson.dumps(policies[newest], option=orjson.OPT_INDENT_2).decode())
    return 0
