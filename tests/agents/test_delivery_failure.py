"""No commit past a failed write: while Kafka refuses the contacts' changelog records, or a batch's effects
(the next batch already computed on its states), the offsets stay uncommitted and the batches are
processed again; once the fault clears, the state restored from the changelog alone equals the state of
an uninterrupted run, and so do the actions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from agents.changelog import changelog_topic, read_contacts
from agents.kafka_admin import committed_offsets, group_lag
from agents.partitioning import partition_for
from agents.settings import Settings
from agents.topics import action_topic
from tables.contacts import CONTACTS_TABLE
from tests.agents.fixtures import WorkerFactory, event, produce_events, publish, read_actions, wait_processed

pytestmark = pytest.mark.kafka
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
T0 = int(time.time() * 1000) - 600_000  # the carts' 2 h waits stay pending for the whole test


def set_topic_config(settings: Settings, topic: str, policy: str = "compact", **configs: str) -> None:
    """Replace the topic's config (AlterConfigs replaces all of it: keep its cleanup policy)."""

    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap)
        await admin.start()
        try:
            values = {"cleanup.policy": policy, **{k.replace("_", "."): v for k, v in configs.items()}}
            await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=values)])
        finally:
            await admin.close()

    asyncio.run(run())


def committed(settings: Settings) -> dict[int, int]:
    offsets = asyncio.run(committed_offsets(settings.bootstrap, settings.app_id))
    events = settings.topic("events")
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == events}


def test_refused_changelog_records_hold_the_offsets_and_lose_nothing(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    settings = test_settings.with_(ml=False)
    publish(settings, EXAMPLES / "abandoned_cart.yaml")
    worker = worker_factory.start(settings, "faulty")
    produce_events(settings, [event(f"c{i}", "cart.created", T0 + i, cart_id=f"k{i}") for i in range(8)])
    wait_processed(settings)
    before = committed(settings)

    changelog = changelog_topic(settings.app_id, CONTACTS_TABLE)
    set_topic_config(settings, changelog, max_message_bytes="100")  # every state record is larger
    wave = [event(f"c{i}", "contact.updated", T0 + 100 + i, plan="gold") for i in range(8)]
    wave += [event(f"n{i}", "cart.created", T0 + 200 + i, cart_id=f"n{i}") for i in range(4)]
    produce_events(settings, wave)
    deadline = time.monotonic() + 30
    while worker.log_path.read_text(errors="replace").count("not fully delivered") < 3:
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.5)
    assert committed(settings) == before  # not one offset past the batch whose records were refused
    assert asyncio.run(group_lag(settings.bootstrap, settings.app_id, settings.topic("events"))) == len(wave)

    set_topic_config(settings, changelog)  # the fault clears: the next attempt is delivered
    wait_processed(settings)
    worker.stop()
    assert "Restarting dead" not in worker.log_path.read_text(errors="replace")
    restored = read_contacts(settings.bootstrap, settings.app_id)  # the changelog alone: what a restore reads

    # An uninterrupted run over the same events topic, in its own consumer group and data dir.
    reference = settings.with_(app_id=f"{settings.app_id}-ref", data_dir=settings.data_dir / "ref")
    worker_factory.start(reference, "reference")
    wait_processed(reference)
    uninterrupted = read_contacts(reference.bootstrap, reference.app_id)
    assert len(restored) == 12
    assert restored == uninterrupted
    assert {restored[f"c{i}"]["profile"]["attrs"]["plan"] for i in range(8)} == {"gold"}


def test_refused_effects_hold_their_batch_and_the_batch_computed_on_it(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    # A backlog in small full batches: the next batch is computed on a batch's unwritten states while the
    # batch's effects travel, so when they are refused both must be processed again, nothing of them
    # written or committed meanwhile.
    settings = test_settings.with_(ml=False, batch_size=10, batch_within_s=1.0)
    publish(settings, EXAMPLES / "welcome_series.yaml")
    email = settings.topic(action_topic("email"))
    set_topic_config(settings, email, policy="delete", max_message_bytes="100")  # every email is larger
    # enough events without an email before the first signup that the worker is well into the backlog
    warm_up = [event(f"c{i % 40}", "contact.updated", T0 + i, plan="free") for i in range(400)]
    wave = []
    for i in range(40):  # each signup sends a welcome email at once; the updates of others send nothing
        ts = T0 + 1000 + i
        wave.append(event(f"s{i}", "contact.added", ts, source="signup", email=f"s{i}@example.com"))
        wave += [event(f"c{(i + k) % 40}", "contact.updated", ts, plan=f"p{i}") for k in range(3)]
    produce_events(settings, warm_up + wave)
    worker = worker_factory.start(settings, "faulty")
    deadline = time.monotonic() + 60
    while worker.log_path.read_text(errors="replace").count("not fully delivered") < 3:
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.5)
    assert "computed on the states of a batch not fully delivered" in worker.log_path.read_text()
    # no partition is committed past its first signup: the first batch with an email holds it
    first_signup = first_offsets(settings, warm_up + wave, lambda e: e.startswith(b'{"event_id":"s'))
    assert all(committed(settings).get(p, 0) <= offset for p, offset in first_signup.items())

    set_topic_config(settings, email, policy="delete")
    wait_processed(settings)
    worker.stop()
    assert "Restarting dead" not in worker.log_path.read_text(errors="replace")
    restored = read_contacts(settings.bootstrap, settings.app_id)
    emails = {action["action_id"] for action in read_actions(settings, 40) if action["channel"] == "email"}

    reference = settings.with_(app_id=f"{settings.app_id}-ref", data_dir=settings.data_dir / "ref")
    worker_factory.start(reference, "reference")
    wait_processed(reference)
    assert len(restored) == 80
    assert restored == read_contacts(reference.bootstrap, reference.app_id)
    assert len(emails) == 40  # each welcome email once, whatever the repeats: the same ids


def first_offsets(settings: Settings, events: list[bytes], chosen: Callable[[bytes], bool]) -> dict[int, int]:
    """partition -> offset of its first chosen event, for events produced in this order to an empty topic
    (keyed by contact id: the producer's default partitioner)."""
    next_offset: dict[int, int] = {}
    found: dict[int, int] = {}
    for value in events:
        partition = partition_for(orjson.loads(value)["contact_id"].encode(), settings.partitions)
        offset = next_offset[partition] = next_offset.get(partition, -1) + 1
        if chosen(value):
            found.setdefault(partition, offset)
    return found
