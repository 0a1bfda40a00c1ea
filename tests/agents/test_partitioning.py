"""The shared partition formula (agents/partitioning.py) against aiokafka's default partitioner."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from agents.partitioning import partition_for


def test_partition_for_matches_the_kafka_default_partitioner() -> None:
    partitioner = DefaultPartitioner()
    for count in (1, 3, 8, 12):
        partitions = list(range(count))
        for index in range(200):
            key = f"c{index:07d}".encode()
            assert partition_for(key, count) == partitioner(key, partitions, partitions)
