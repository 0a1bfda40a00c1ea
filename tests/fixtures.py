"""Session-wide fixtures: the real Kafka broker every integration test talks to.

`SWITCHYARD_KAFKA=host:port` points the suite at an external broker; otherwise one is started on free
loopback ports (or SWITCHYARD_TEST_KAFKA_PORT and the next one) in a temporary directory and stopped at
the end of the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from agents.settings import Settings
from broker import KafkaBroker
from broker.factory import broker_at


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now (a broker left over by a killed run must not stop the next one)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker | None]:
    """The broker this session started, or None when SWITCHYARD_KAFKA names an external one."""
    if os.environ.get("SWITCHYARD_KAFKA"):
        yield None
        return
    fixed = os.environ.get("SWITCHYARD_TEST_KAFKA_PORT")
    port, controller_port = (int(fixed), int(fixed) + 1) if fixed else free_ports(2)
    broker = broker_at(Settings.from_env(), tmp_path_factory.mktemp("kafka"), port, controller_port)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker | None) -> str:
    return kafka_broker.bootstrap if kafka_broker else os.environ["SWITCHYARD_KAFKA"]


def unique(prefix: str) -> str:
    """A name no other test (or earlier run on the same broker) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def test_settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own app id (consumer group), topic prefix and data dir."""
    name = unique("t")
    return Settings(
        external_kafka=kafka_bootstrap,
        data_dir=tmp_path / "data",
        app_id=name,
        topic_prefix=f"{name}.",
        partitions=4,
        web_port=0,
        log_level="info",
        # the broker's least by default: the tests that kill a member wait this long for its partitions
        session_timeout_s=6.0,
    )


@contextlib.asynccontextmanager
async def running(coroutine: Coroutine[Any, Any, object]) -> AsyncIterator[asyncio.Task[object]]:
    """``coroutine`` as a task for the body of the block, cancelled and awaited when the block ends."""
    task = asyncio.create_task(coroutine)
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    """The topic's effective config as the broker describes it (an unknown topic raises)."""

    async def describe() -> dict[str, str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        finally:
            await admin.close()
        ((error_code, error_message, _, _, entries),) = response.resources
        if error_code:
            raise LookupError(f"{topic}: {error_message}")
        return {entry[0]: entry[1] for entry in entries}

    return asyncio.run(describe())
