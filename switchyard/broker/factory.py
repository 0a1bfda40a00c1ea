"""The broker a Settings object describes."""

from __future__ import annotations

from agents.settings import Settings
from switchyard.broker.launcher import KafkaBroker


def broker_for(settings: Settings) -> KafkaBroker:
    return KafkaBroker(
        work_dir=settings.broker_dir,
        cache_dir=settings.cache_dir,
        port=settings.kafka_port,
        controller_port=settings.kafka_controller_port,
        partitions=settings.partitions,
        jit=settings.kafka_jit,
    )
