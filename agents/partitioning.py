"""Where Kafka's default partitioner puts a key: the one formula the API, the tests and the load producer
share (a module of its own, so the load producer does not import the API's HTTP server to get it)."""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java's, aiokafka's and Faust's) gives a key."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions
