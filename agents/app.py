"""Build the Faust app from Settings: broker, RocksDB store, topics, tables and the processing agent.

Every call builds a fresh app, so tests and benchmarks can run several apps with their own ids and topics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from agents.processor import EventProcessor
from agents.topics import Topics, declare_topics
from engine.events import Limits
from switchyard.settings import Settings
from tables.contacts import ContactStore, define_contacts_table


@dataclass
class Worker:
    app: faust.App
    topics: Topics
    contacts: Any
    processor: EventProcessor


def build_app(settings: Settings) -> faust.App:
    datadir = settings.state_dir / settings.app_id
    datadir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
        store="rocksdb://",
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_allow_declare=True,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        producer_linger_ms=5,
        stream_buffer_maxsize=max(4096, settings.batch_size * 2),
        broker_commit_interval=1.0,
        web_enabled=settings.web_port > 0,
        web_port=max(settings.web_port, 1),
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        loghandlers=[],
        autodiscover=False,
    )


def build_worker(settings: Settings) -> Worker:
    app = build_app(settings)
    topics = declare_topics(app, settings.topic_prefix, settings.partitions)
    contacts = define_contacts_table(app, settings.partitions)
    processor = EventProcessor(
        store=ContactStore(contacts),
        dlq=topics.dlq,
        limits=Limits(max_bytes=settings.max_event_bytes),
    )

    async def process_events(stream: Any) -> None:
        async for batch in stream.take_events(settings.batch_size, settings.batch_within_s):
            await processor.handle(batch)

    app.agent(topics.events, name="process_events", concurrency=1)(process_events)
    return Worker(app=app, topics=topics, contacts=contacts, processor=processor)
