"""No commit past a failed write: while Kafka refuses the contacts' changelog records, the batch's offsets
stay uncommitted and the batch is processed again; once the fault clears, the state restored from the
changelog alone equals the state of an uninterrupted run."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from agents.settings import Settings
from switchyard.inspect import changelog_topic, read_contacts
from switchyard.kafka_tools import committed_offsets, group_lag
from tables.contacts import CONTACTS_TABLE
from tests.agents.fixtures import event, produce_events, publish, wait_processed

pytestmark = pytest.mark.kafka
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
T0 = int(time.time() * 1000) - 600_000  # the carts' 2 h waits stay pending for the whole test


def set_topic_config(settings: Settings, topic: str, **configs: str) -> None:
    """Replace the topic's config (AlterConfigs replaces all of it: keep it compacted)."""

    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap)
        await admin.start()
        try:
            values = {"cleanup.policy": "compact", **{k.replace("_", "."): v for k, v in configs.items()}}
            await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=values)])
        finally:
            await admin.close()

    asyncio.run(run())


def committed(settings: Settings) -> dict[int, int]:
    offsets = asyncio.run(committed_offsets(settings.bootstrap, settings.app_id))
    events = settings.topic("events")
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == events}


def test_refused_changelog_records_hold_the_offsets_and_lose_nothing(
    test_settings: Settings, worker_factory: type
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
