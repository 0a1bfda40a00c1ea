"""The workflow catalog in Kafka: publish, pause, resume, list, and ask for run migrations.

Records on the compacted `workflows` topic:
  `<id>@<version>`             -> the definition as JSON (its `status` says published/paused/...)
  `<id>@<version>#migration`   -> {"from": [versions], "nodes": {old_node: new_node}}
  `#policy@<version>`          -> the workspace policy as JSON (engine/compile_policy.py); the highest
                                  version that compiles applies to every workflow
A version, once published, is immutable: publishing different content under the same version is refused,
so a run pinned to a version always finds the definition it started on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from engine.compile_policy import POLICY_KEY_PREFIX, load_policy
from engine.exceptions import MigrationError
from engine.migrate import check_mapping
from engine.validation import compile_definition
from engine.workflows import WorkflowSet

MIGRATION_SUFFIX = "#migration"
POLICY_PREFIX = POLICY_KEY_PREFIX


class CatalogError(ValueError):
    """A catalog change that would break the rules above."""


@dataclass(frozen=True)
class Entry:
    workflow_id: str
    version: int
    status: str
    name: str


def parse_catalog(
    latest: Mapping[bytes, bytes],
) -> tuple[dict[tuple[str, int], dict[str, Any]], dict[str, Any]]:
    """Definitions by (id, version), and migration records by key, from the topic's latest values."""
    definitions: dict[tuple[str, int], dict[str, Any]] = {}
    migrations: dict[str, Any] = {}
    for raw_key, raw_value in latest.items():
        key = raw_key.decode(errors="replace")
        value = orjson.loads(raw_value)
        if key.endswith(MIGRATION_SUFFIX):
            migrations[key] = value
        elif key.startswith(POLICY_PREFIX):
            continue
        else:
            definitions[(value["id"], int(value["version"]))] = value
    return definitions, migrations


def parse_policies(latest: Mapping[bytes, bytes]) -> dict[int, dict[str, Any]]:
    """Published policy documents by version, from the topic's latest values."""
    found: dict[int, dict[str, Any]] = {}
    for raw_key, raw_value in latest.items():
        key = raw_key.decode(errors="replace")
        if key.startswith(POLICY_PREFIX) and key[len(POLICY_PREFIX) :].isdigit():
            found[int(key[len(POLICY_PREFIX) :])] = orjson.loads(raw_value)
    return found


def plan_policy(policies: Mapping[int, Mapping[str, Any]], new: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """The record that publishes a policy, after checking it compiles and moves the version forward."""
    policy = load_policy(dict(new), f"policy v{new.get('version')}")  # raises PolicyInvalid
    existing = policies.get(policy.version)
    if existing is not None and dict(existing) != dict(new):
        raise CatalogError(f"policy v{policy.version} is already published with different content; "
                           f"publish it as version {max(policies) + 1}")  # fmt: skip
    newest = max(policies, default=0)
    if existing is None and policy.version < newest:
        raise CatalogError(f"policy v{policy.version} is older than the published v{newest}; "
                           f"publish it as version {newest + 1}")  # fmt: skip
    return f"{POLICY_PREFIX}{policy.version}".encode(), orjson.dumps(dict(new))


def entries(definitions: Mapping[tuple[str, int], dict[str, Any]]) -> list[Entry]:
    return [
        Entry(wid, version, str(d.get("status", "draft")), str(d.get("name", "")))
        for (wid, version), d in sorted(definitions.items())
    ]


def same_content(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    strip = ("status", "layout")
    return {k: v for k, v in a.items() if k not in strip} == {k: v for k, v in b.items() if k not in strip}


def plan_publish(
    definitions: Mapping[tuple[str, int], dict[str, Any]], new: Mapping[str, Any], status: str = "published"
) -> tuple[bytes, bytes]:
    """The record that publishes `new`, after checking it compiles and does not rewrite a version."""
    compile_definition(dict(new), f"{new.get('id')}@{new.get('version')}")  # raises WorkflowInvalid
    key = (str(new["id"]), int(new["version"]))
    existing = definitions.get(key)
    if existing is not None and not same_content(existing, new):
        raise CatalogError(
            f"{key[0]} v{key[1]} is already in the catalog with different content; "
            f"publish it as version {max(v for (w, v) in definitions if w == key[0]) + 1}"
        )
    record = {**new, "status": status}
    return f"{key[0]}@{key[1]}".encode(), orjson.dumps(record)


def plan_status(
    definitions: Mapping[tuple[str, int], dict[str, Any]], workflow_id: str, status: str
) -> tuple[bytes, bytes]:
    """The record that sets the governing version of `workflow_id` to `status` (pause/resume/archive)."""
    versions = sorted(
        v for (w, v), d in definitions.items() if w == workflow_id and d.get("status") != "draft"
    )
    if not versions:
        raise CatalogError(f"no published version of {workflow_id!r} in the catalog")
    head = definitions[(workflow_id, versions[-1])]
    return f"{workflow_id}@{versions[-1]}".encode(), orjson.dumps({**head, "status": status})


def plan_migration(
    definitions: Mapping[tuple[str, int], dict[str, Any]],
    workflow_id: str,
    to_version: int,
    from_versions: Iterable[int],
    nodes: Mapping[str, str],
) -> tuple[bytes, bytes]:
    """A migration record, after checking the mapping against both versions."""
    sources = sorted(set(from_versions))
    wanted = [(workflow_id, v) for v in [*sources, to_version]]
    missing = [f"v{v}" for (_, v) in wanted if (workflow_id, v) not in definitions]
    if missing:
        raise CatalogError(f"{workflow_id}: {', '.join(missing)} not in the catalog")
    if definitions[(workflow_id, to_version)].get("status") == "draft":
        # a draft can still be rewritten: runs moved onto it would run content that keeps changing
        raise CatalogError(f"{workflow_id}: v{to_version} is a draft; publish it before moving runs to it")
    workflows = WorkflowSet.from_definitions(definitions[k] for k in wanted)
    new = workflows.get(workflow_id, to_version)
    problems: list[str] = []
    for version in sources:
        old = workflows.get(workflow_id, version)
        assert old is not None and new is not None
        problems.extend(check_mapping(old, new, nodes))
    if problems:
        raise MigrationError(problems)
    value = {"workflow_id": workflow_id, "to": to_version, "from": sources, "nodes": dict(nodes)}
    return f"{workflow_id}@{to_version}{MIGRATION_SUFFIX}".encode(), orjson.dumps(value)


async def write_records(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value in records:
            await (await producer.send(topic, key=key, value=value))
    finally:
        await producer.stop()
