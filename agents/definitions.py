"""Workflow definitions as the worker sees them: every record of the compacted `workflows` topic.

Key `<id>@<version>`, value the definition as JSON (status included); `<id>@<version>#migration` asks
for runs of older versions to be moved (see agents/catalog.py). Every worker reads the whole topic with
its own consumer (no consumer group), from the beginning, and keeps following it: a global table.
The agent waits until the topic has been read to its end once, so no event is processed before the
definitions that existed when the worker started. A definition that does not compile is logged and left
out, never allowed to stop the worker.

Why not Faust's GlobalTable: here it hangs the partition assignment at start-up, and its upstream issues
(faust-streaming #283) report workers that see only part of a global table; a plain reader is simpler.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from agents.catalog import MIGRATION_SUFFIX
from engine.exceptions import EngineError, MigrationError
from engine.migrate import migrate
from engine.types import ContactState
from engine.validation import compile_definition
from engine.workflows import WorkflowSet

log = logging.getLogger("switchyard.definitions")
Migrations = dict[tuple[str, int], tuple[int, dict[str, str]]]  # (workflow, from version) -> (to, nodes)


class DefinitionCache:
    """The current WorkflowSet and migrations, recompiled whenever the topic brings a change."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.records: dict[bytes, bytes] = {}
        self.workflows = WorkflowSet()
        self.migrations: Migrations = {}
        self.rejected: dict[str, str] = {}
        self.dirty = False
        self.loaded = asyncio.Event()

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
        """Follow the topic for the life of the worker; a Kafka error restarts the read after a pause."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # e.g. the topic's leader is not known yet just after it was created
                log.warning("reading %s failed (%s); retrying in 1 s", self.topic, exc)
                await asyncio.sleep(1.0)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            await consumer._client.force_metadata_update()  # see switchyard/kafka_tools.py
            tps = [TopicPartition(self.topic, p) for p in consumer.partitions_for_topic(self.topic) or {0}]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        self.apply(record.key, record.value)
                if not self.loaded.is_set() and all([await consumer.position(tp) >= ends[tp] for tp in tps]):
                    self.current()
                    self.loaded.set()
        finally:
            await consumer.stop()


def compile_all(items: list[tuple[bytes, bytes]]) -> tuple[WorkflowSet, Migrations, dict[str, str]]:
    compiled = []
    migrations: Migrations = {}
    rejected: dict[str, str] = {}
    for key, value in items:
        name = key.decode(errors="replace")
        try:
            doc = orjson.loads(value)
            if name.endswith(MIGRATION_SUFFIX):
                for version in doc["from"]:
                    migrations[(str(doc["workflow_id"]), int(version))] = (int(doc["to"]), dict(doc["nodes"]))
            else:
                compiled.append(compile_definition(doc, name))
        except (EngineError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            rejected[name] = str(exc)
    return WorkflowSet(compiled), migrations, rejected


def apply_migrations(
    state: ContactState, workflows: WorkflowSet, migrations: Migrations, now: int
) -> tuple[ContactState, list[dict[str, Any]]]:
    """Move the contact's runs whose version has a migration; a run that cannot move stays where it is."""
    trace: list[dict[str, Any]] = []
    for workflow_id, run in list((state.get("runs") or {}).items()):
        target = migrations.get((workflow_id, int(run["version"])))
        if target is None:
            continue
        try:
            state, moved = migrate(state, workflows, workflow_id, target[0], target[1], now)
        except MigrationError as exc:
            log.warning("run %s of %s stays on v%s: %s", run.get("id"), workflow_id, run["version"], exc)
            continue
        trace.extend(moved)
    return state, trace
