"""The broker a Settings object describes, or one of its kind in another directory on other ports (a load
test's, a benchmark's, a test session's): the cache, partitions and JIT always come from the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.settings import Settings
from broker.launcher import KafkaBroker


def broker_for(settings: Settings) -> KafkaBroker:
    return broker_at(settings, settings.broker_dir, settings.kafka_port, settings.kafka_controller_port)


def broker_at(
    settings: Settings, work_dir: Path, port: int, controller_port: int,
    kind: type[KafkaBroker] = KafkaBroker, **options: Any,
) -> KafkaBroker:  # fmt: skip
    """A ``kind`` broker keeping its data in ``work_dir`` and answering on 127.0.0.1:``port``;
    ``options`` go to its constructor (e.g. ``heap``)."""
    return kind(
        work_dir=work_dir,
        cache_dir=settings.cache_dir,
        port=port,
        controller_port=controller_port,
        partitions=settings.partitions,
        jit=settings.kafka_jit,
        **options,
    )
