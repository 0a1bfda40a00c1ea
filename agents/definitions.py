"""Workflow definitions as the worker sees them: every record of the compacted `workflows` topic.

Key `<id>@<version>`, value the definition as JSON (status included); `<id>@<version>#migration` asks
for runs of older versions to be moved; `#policy@<version>` is the workspace policy (see agents/catalog.py).
Every worker reads the whole topic with its own consumer (no consumer group), from the beginning, and
keeps following it: a global table.
The agent waits until the topic has been read to its end once, so no event is processed before the
definitions that existed when the worker started. A definition that does not compile is logged and left
out, never allowed to stop the worker. A reader that fails, or stays behind the topic's end without
moving, is started again with a growing pause (a fresh topic's first offset requests can fail with
NotLeaderForPartition), so a workflow saved after start-up always takes effect.

Why not Faust's GlobalTable: here it hangs the partition assignment at start-up, and its upstream issues
(faust-streaming #283) report workers that see only part of a global table; a plain reader is simpler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from agents.catalog import MIGRATION_SUFFIX, POLICY_PREFIX
from engine.compile_policy import load_policy
from engine.exceptions import EngineError, MigrationError
from engine.migrate import migrate
from engine.model import NO_POLICY, Policy
from engine.types import ContactState
from engine.validation import compile_definition
from engine.workflows import WorkflowSet

log = logging.getLogger("switchyard.definitions")
Migrations = dict[tuple[str, int], tuple[int, dict[str, str]]]  # (workflow, from version) -> (to, nodes)
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 10.0
MISSING_POLL_S = 1.0  # how often a worker looks for a catalog topic that does not exist yet
STALL_CHECK_S = 5.0  # how often the reader checks that it keeps up with the topic
STEP_TIMEOUT_S = 10.0  # no single request of the reader may take longer; it is started again then


class DefinitionCache:
    """The current WorkflowSet and migrations, recompiled whenever the topic brings a change."""

    def __init__(self, bootstrap: str, topic: str, stall_check_s: float = STALL_CHECK_S) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.stall_check_s = stall_check_s
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
        """Follow the topic for the life of the worker. Any failure (a Kafka error, a reader that stopped
        making progress) restarts the read after a pause that grows up to `RETRY_MAX_S`; never silently."""
        failures = 0
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except TopicMissing:  # nobody has published yet: look again soon, quietly
                await asyncio.sleep(MISSING_POLL_S)
            except Exception as exc:  # e.g. NotLeaderForPartition just after the topic was created
                failures += 1
                delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (failures - 1))
                log.warning("reading %s failed (%s: %s); reading it again in %.1f s",
                            self.topic, type(exc).__name__, exc, delay)  # fmt: skip
                await asyncio.sleep(delay)
            else:
                failures = 0

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5000,  # leadership of a topic created a moment ago settles within seconds
        )  # fmt: skip
        await asyncio.wait_for(consumer.start(), STEP_TIMEOUT_S)
        try:
            # Explicit offsets instead of the consumer's own reset: its reset of a partition whose leader
            # was not known yet retried a stale leader without refreshing metadata, and `position` waited
            # for it without end. Every step is bounded; a step that times out starts the reader again.
            tps = await asyncio.wait_for(self._partitions(consumer), STEP_TIMEOUT_S)
            consumer.assign(tps)
            starts = await asyncio.wait_for(consumer.beginning_offsets(tps), STEP_TIMEOUT_S)
            for tp in tps:
                consumer.seek(tp, starts[tp])
            ends = await asyncio.wait_for(consumer.end_offsets(tps), STEP_TIMEOUT_S)
            watch = Progress(tps, time.monotonic(), self.stall_check_s)
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        self.apply(record.key, record.value)
                positions = {tp: await asyncio.wait_for(consumer.position(tp), STEP_TIMEOUT_S) for tp in tps}
                if not self.loaded.is_set() and all(positions[tp] >= ends[tp] for tp in tps):
                    self.current()
                    self.loaded.set()
                    log.info("catalog %s read to its end: %d record(s)", self.topic, len(self.records))
                if watch.due(time.monotonic()):
                    latest = await asyncio.wait_for(consumer.end_offsets(tps), STEP_TIMEOUT_S)
                    watch.check(positions, latest, time.monotonic())
        finally:
            await consumer.stop()

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """The topic's partitions; TopicMissing while it does not exist."""
        await consumer._client.force_metadata_update()  # see switchyard/kafka_tools.py
        partitions = consumer.partitions_for_topic(self.topic)
        if not partitions:
            if not self.loaded.is_set():  # no catalog at all: there is nothing to wait for
                self.current()
                self.loaded.set()
            raise TopicMissing(self.topic)
        return [TopicPartition(self.topic, p) for p in sorted(partitions)]


class TopicMissing(RuntimeError):
    """The topic does not exist (yet)."""


class ReaderStalled(RuntimeError):
    """The topic's reader is not getting anywhere: it is started again."""


class Progress:
    """Notices a reader whose position stays behind the end of the log without moving."""

    def __init__(self, tps: list[TopicPartition], now: float, every_s: float = STALL_CHECK_S) -> None:
        self.every_s = every_s
        self.next_at = now + every_s
        self.last: dict[TopicPartition, int] = {}
        self.tps = tps

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def check(
        self, positions: dict[TopicPartition, int], ends: dict[TopicPartition, int], now: float
    ) -> None:
        """Raise ReaderStalled if a partition is behind its end and has not moved since the last check."""
        self.next_at = now + self.every_s
        stuck = [tp for tp in self.tps
                 if positions[tp] < ends[tp] and self.last.get(tp) == positions[tp]]  # fmt: skip
        self.last = dict(positions)
        if stuck:
            tp = stuck[0]
            raise ReaderStalled(f"{tp.topic}[{tp.partition}] stays at {positions[tp]} of {ends[tp]}")


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
                for version in doc["from"]:
                    migrations[(str(doc["workflow_id"]), int(version))] = (int(doc["to"]), dict(doc["nodes"]))
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
