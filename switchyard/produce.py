"""Produce JSON-lines events to the `events` topic, keyed by contact_id (for demos and trying things out)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import orjson
from aiokafka import AIOKafkaProducer


def key_of(line: bytes) -> bytes | None:
    """The contact_id of a JSON line, or None when the line has none (it will be dead-lettered)."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("contact_id"), str):
        return str(doc["contact_id"]).encode()
    return None


async def send_lines(bootstrap: str, topic: str, lines: Iterable[bytes]) -> int:
    """Send every non-blank line as one record; malformed lines go too, so the worker can dead-letter them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
    sent = 0
    try:
        await producer.start()  # inside: a broker that is not there still leaves the producer closed
        futures = []
        for raw in lines:
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            futures.append(await producer.send(topic, value=line, key=key_of(line)))
            sent += 1
        await producer.flush()
        for fut in futures:
            await fut
    finally:
        await producer.stop()
    return sent


def send_file_lines(bootstrap: str, topic: str, lines: Iterable[bytes]) -> int:
    return asyncio.run(send_lines(bootstrap, topic, lines))
