"""The dead-letter topic `events.dlq`: read it, choose dead letters by reason and time, and replay them to
`events` once their cause is fixed (`switchyard dlq list|replay`).

A dead letter keeps the original record's key and bytes; its headers say why (`x-switchyard-reason`) and
where it came from. A replay produces the same key and bytes to `events`, with `x-switchyard-replay-of`
naming the dead letter, so the worker processes the event as if it had just arrived. A replayed event that
still breaks a rule is dead-lettered again; replaying the same dead letters twice applies them twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from agents.topic_reader import Record, read_to_end

REASON_HEADER = "x-switchyard-reason"
REPLAY_HEADER = "x-switchyard-replay-of"


@dataclass(frozen=True)
class DeadLetter(Record):
    """A record of the dead-letter topic (its timestamp: when it was dead-lettered)."""

    topic: str

    @property
    def reason(self) -> str:
        return self.headers.get(REASON_HEADER, b"").decode("utf-8", "replace") or "unknown"

    @property
    def where(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class Selection:
    """Which dead letters: any of `reasons` (all when empty), dead-lettered in [since_ms, until_ms)."""

    reasons: frozenset[str] = frozenset()
    since_ms: int | None = None
    until_ms: int | None = None

    def matches(self, letter: DeadLetter) -> bool:
        if self.reasons and letter.reason not in self.reasons:
            return False
        if self.since_ms is not None and letter.timestamp < self.since_ms:
            return False
        return self.until_ms is None or letter.timestamp < self.until_ms


def by_reason(letters: Iterable[DeadLetter]) -> dict[str, int]:
    return dict(sorted(Counter(letter.reason for letter in letters).items()))


async def read_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    """Every record of `topic`, from the beginning to the end offsets seen at the start."""
    return [
        DeadLetter(r.key, r.value, r.headers, r.partition, r.offset, r.timestamp, topic)
        for r in await read_to_end(bootstrap, topic)
    ]


async def replay(bootstrap: str, events_topic: str, letters: list[DeadLetter]) -> int:
    """Produce each dead letter's key and bytes to `events_topic`, in order; returns how many, once Kafka
    has acknowledged all of them (an error raises: nothing is reported replayed that was not written)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = [
            await producer.send(
                events_topic,
                key=letter.key,
                value=letter.value,
                headers=[(REPLAY_HEADER, letter.where.encode())],
            )
            for letter in letters
        ]
        for future in sent:
            await future
    finally:
        await producer.stop()
    return len(sent)
