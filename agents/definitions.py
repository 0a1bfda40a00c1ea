"""Workflow definitions as the worker sees them: every record of the compacted `workflows` topic.

Key `<id>@<version>`, value the definition as JSON (status included); `<id>@<version>#migration` asks
for runs of older versions to be moved; `#policy@<version>` is the workspace policy (see agents/catalog.py).
The topic is followed by tables/follower.py (a global table read from the beginning by every worker).
The agent waits until the topic has been read to its end once, so no event is processed before the
definitions that existed when the worker started. A definition that does not compile is logged and left
out, never allowed to stop the worker.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from agents.catalog import MIGRATION_SUFFIX, POLICY_PREFIX
from engine.compile_policy import load_policy
from engine.exceptions import EngineError, MigrationError
from engine.migrate import migrate
from engine.model import NO_POLICY, Policy
from engine.types import ContactState
from engine.validation import compile_definition
from engine.workflows import WorkflowSet
from tables.follower import STALL_CHECK_S, TopicFollower

log = logging.getLogger("switchyard.definitions")
Migrations = dict[tuple[str, int], tuple[int, dict[str, str]]]  # (workflow, from version) -> (to, nodes)


class DefinitionCache:
    """The current WorkflowSet and migrations, recompiled whenever the topic brings a change."""

    def __init__(self, bootstrap: str, topic: str, stall_check_s: float = STALL_CHECK_S) -> None:
        self.topic = topic
        self.records: dict[bytes, bytes] = {}
        self.workflows = WorkflowSet()
        self.migrations: Migrations = {}
        self.rejected: dict[str, str] = {}
        self.dirty = False
        self.follower = TopicFollower(bootstrap, topic, self.apply, self.current, stall_check_s)
        self.loaded = self.follower.loaded

    def current(self) -> WorkflowSet:
        if self.dirty:
            self.dirty = False
            self.workflows, self.migrations, self.rejected = compile_all(sorted(self.records.items()))
            for name, problem in self.rejected.items():
                log.error("workflow definition %s left out: %s", name, problem)
            log.info("workflow definitions loaded: %r", self.workflows)
        return self.workflows

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if value is None:
            self.records.pop(key, None)
        else:
            self.records[key] = value
        self.dirty = True

    async def run(self) -> None:
        """Follow the topic for the life of the worker (tables/follower.py)."""
        await self.follower.run()


def compile_all(items: list[tuple[bytes, bytes]]) -> tuple[WorkflowSet, Migrations, dict[str, str]]:
    compiled = []
    migrations: Migrations = {}
    rejected: dict[str, str] = {}
    policy: Policy = NO_POLICY
    for key, value in items:
        name = key.decode(errors="replace")
        try:
            doc = orjson.loads(value)
            if name.endswith(MIGRATION_SUFFIX):
                # Keys come in byte order (`wf@10#...` before `wf@2#...`): of two migrations of one source
                # version, the one to the newer version governs, whatever the order.
                to = int(doc["to"])
                for version in doc["from"]:
                    slot = (str(doc["workflow_id"]), int(version))
                    if slot not in migrations or migrations[slot][0] < to:
                        migrations[slot] = (to, dict(doc["nodes"]))
            elif name.startswith(POLICY_PREFIX):
                candidate = load_policy(doc, name)
                if candidate.version > policy.version:
                    policy = candidate
            else:
                compiled.append(compile_definition(doc, name))
        except (EngineError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            rejected[name] = str(exc)
    return WorkflowSet(compiled, policy), migrations, rejected


def apply_migrations(
    state: ContactState, workflows: WorkflowSet, migrations: Migrations, now: int
) -> tuple[ContactState, list[dict[str, Any]]]:
    """Move the contact's runs whose version has a migration; a run that cannot move stays where it is."""
    trace: list[dict[str, Any]] = []
    for slot, run in list((state.get("runs") or {}).items()):
        workflow_id = run["workflow_id"]
        target = migrations.get((workflow_id, int(run["version"])))
        if target is None:
            continue
        try:
            state, moved = migrate(state, workflows, slot, target[0], target[1], now)
        except MigrationError as exc:
            log.warning("run %s of %s stays on v%s: %s", run.get("id"), workflow_id, run["version"], exc)
            continue
        trace.extend(moved)
    return state, trace
