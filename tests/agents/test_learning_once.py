"""The models learn from a contact's events once, when its new state is kept: not from a try whose state is
dropped (its pending labels stay in the stored state and come again), and not again when a batch is redone.
Driven through the processor's contact path on a real engine, models and state codec; no Kafka."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from agents.metrics import Metrics
from agents.processor import EventProcessor, Outputs
from agents.scoring import Predictions
from engine.events import Limits, decode_event
from engine.workflows import WorkflowSet
from ml.scoring import Scorer
from tables.codec import StateLimits
from tables.contacts import ContactStore
from tests.ml.fixtures import DAY, HOUR, T0, make_event

CHANNELS = ("email", "sms", "push", "webhook", "task", "notify", "crm", "document")


class Message:
    def __init__(self, key: bytes, value: bytes, offset: int) -> None:
        self.key, self.value, self.offset, self.partition, self.topic = key, value, offset, 0, "events"


class Item:
    def __init__(self, message: Message) -> None:
        self.message, self.value = message, message.value


class Outbox:
    def __init__(self) -> None:
        self.records: list[tuple[Any, ...]] = []

    def add(self, topic: str, key: Any, value: Any, headers: Any = None, partition: Any = None) -> None:
        self.records.append((topic, key, value, headers))


class Definitions:
    migrations: dict[str, Any] = {}
    apply = None

    def __init__(self) -> None:
        self.workflows = WorkflowSet()


def processor(tmp_path: Path, max_state_bytes: int) -> EventProcessor:
    made = object.__new__(EventProcessor)
    made.store = ContactStore(table=None, limits=StateLimits(max_bytes=max_state_bytes))  # type: ignore[arg-type]
    made.definitions = Definitions()  # type: ignore[assignment]
    made.outputs = Outputs(dlq="dlq", analytics="analytics", actions={c: f"actions.{c}" for c in CHANNELS},
                           events="events")  # fmt: skip
    made.metrics = Metrics()
    made.predictions = Predictions(tmp_path)
    made.breaker = None
    made.effects = Outbox()  # type: ignore[assignment]
    made.max_record_bytes = 512 * 1024
    made._records = []
    made.replayed = 0
    return made


def items(events: Sequence[Mapping[str, Any]], first_offset: int) -> list[Any]:
    out = []
    for n, event in enumerate(events):
        raw = orjson.dumps(event)
        message = Message(event["contact_id"].encode(), raw, first_offset + n)
        out.append((Item(message), decode_event(raw, message.key, Limits(max_ts=4_102_444_800_000))))
    return out


def learned(scorer: Scorer) -> int:
    return sum(scorer.models.learned.values())


def test_a_dropped_states_labels_are_not_learned_and_a_kept_one_teaches_once(tmp_path: Path) -> None:
    loose = processor(tmp_path / "loose", 256 * 1024)
    history = [make_event("email.opened", T0 + n * HOUR, contact_id="c1", event_id=f"o{n}") for n in range(3)]
    entry = loose._contact("c1", items(history, 0), None, loose.definitions.workflows)
    assert entry is not None and orjson.loads(entry.encoded)["ml"].get("pend")  # label snapshots pending
    stored = entry.encoded
    scorer = loose.predictions.scorer  # type: ignore[union-attr]
    before = learned(scorer)
    later = [make_event("email.opened", T0 + 60 * DAY, contact_id="c1", event_id="late")]

    # the same event against a state limit it cannot meet: dead-lettered, its state dropped, nothing learned
    tight = processor(tmp_path / "tight", len(stored) - 1)
    tight.predictions = loose.predictions
    for attempt in range(3):
        assert tight._contact("c1", items(later, 10 + attempt), stored, tight.definitions.workflows) is None
        assert learned(scorer) == before
    assert [record[0] for record in tight.effects.records].count("dlq") == 3  # type: ignore[attr-defined]

    # kept: its labels are learned, once
    assert loose._contact("c1", items(later, 20), stored, loose.definitions.workflows) is not None
    assert learned(scorer) > before


def test_a_redone_batch_does_not_teach_the_models_again(tmp_path: Path) -> None:
    made = processor(tmp_path, 256 * 1024)
    history = [make_event("email.opened", T0 + n * HOUR, contact_id="c1", event_id=f"o{n}") for n in range(3)]
    entry = made._contact("c1", items(history, 0), None, made.definitions.workflows)
    assert entry is not None
    scorer = made.predictions.scorer  # type: ignore[union-attr]
    later = items([make_event("email.opened", T0 + 60 * DAY, contact_id="c1", event_id="late")], 10)
    with made._not_learning():
        assert made._contact("c1", later, entry.encoded, made.definitions.workflows) is not None
    assert learned(scorer) == 0 and scorer.learning
