"""Produce requests encoded in one pass (agents/produce_encoding.py): the same bytes as aiokafka's own
encoder for every version, shape and edge, and aiokafka's errors where a value does not fit."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from aiokafka.protocol import produce
from aiokafka.protocol.types import Array, Bytes, Int16, Int32, Schema, String

from agents import produce_encoding
from agents.produce_encoding import encode_produce_request, install, knows, original_encoder, request_classes
from tests.agents.fixtures import output_of

TAKEN_OVER = "\n".join([
    "from agents.produce_encoding import original_encoder, request_classes",
    "print(sum(cls.encode is not original_encoder(cls) for cls in request_classes()))",
])  # fmt: skip


def _request(cls: type, transactional_id: str | None, topics: object) -> object:
    fields = {"required_acks": -1, "timeout": 30_000, "topics": topics}
    if int(cls.API_VERSION) >= 3:  # type: ignore[attr-defined]
        fields["transactional_id"] = transactional_id
    return cls(**fields)


def _random_topics(rng: random.Random) -> list[tuple[str, list[tuple[int, object]]]]:
    topics = []
    for t in range(rng.randint(0, 6)):
        partitions: list[tuple[int, object]] = []
        for p in rng.sample(range(64), rng.randint(0, 8)):
            payload = rng.randbytes(rng.choice((0, 1, 70, 2_300, 40_000)))
            kind = rng.choice(("bytes", "bytearray", "memoryview", "none"))
            records = {"bytes": payload, "bytearray": bytearray(payload), "memoryview": memoryview(payload),
                       "none": None}[kind]  # fmt: skip
            partitions.append((p, records))
        topics.append((rng.choice(("actions.email", "contacts-changelog", "ünïcode-tøpic", "")) + str(t),
                       partitions))  # fmt: skip
    return topics


@pytest.mark.parametrize("cls", request_classes(), ids=lambda cls: cls.__name__)
def test_the_same_bytes_as_aiokafka_for_every_version(cls: type) -> None:
    rng = random.Random(int(cls.API_VERSION))  # type: ignore[attr-defined]
    original = original_encoder(cls)
    for _ in range(60):
        request = _request(cls, rng.choice((None, "", "tx-1", "trånsaction")), _random_topics(rng))
        assert encode_produce_request(request) == original(request)


def test_null_arrays_are_written_as_aiokafka_writes_them() -> None:
    cls = produce.ProduceRequest_v8
    original = original_encoder(cls)
    cases: tuple[object, ...] = (None, [], [("t", None)], [("t", [])], [("t", [(0, None)])])
    for topics in cases:
        request = _request(cls, None, topics)
        assert encode_produce_request(request) == original(request)


def test_installed_encoders_are_used_and_a_value_out_of_range_raises_aiokafkas_error() -> None:
    taken = install()
    assert taken == request_classes()  # every class of the aiokafka this project pins
    cls = produce.ProduceRequest_v8
    assert cls.encode is not original_encoder(cls)
    assert install() == taken  # a second install changes nothing
    fine = _request(cls, None, [("t", [(3, b"records")])])
    assert fine.encode() == original_encoder(cls)(fine)  # type: ignore[attr-defined]
    too_big = _request(cls, None, [("t", [(2**40, b"records")])])
    with pytest.raises(ValueError, match="struct format"):
        too_big.encode()  # type: ignore[attr-defined]


def test_a_schema_it_does_not_know_is_left_to_aiokafka(monkeypatch: pytest.MonkeyPatch) -> None:
    class ProduceRequest_v99(produce.ProduceRequest_v8):  # type: ignore[misc]
        API_VERSION = 99
        # a later version might add a field to each partition's entry, for example
        SCHEMA = Schema(
            ("transactional_id", String("utf-8")), ("required_acks", Int16), ("timeout", Int32),
            ("topics", Array(("topic", String("utf-8")), ("partitions", Array(
                ("partition", Int32), ("messages", Bytes), ("extra", Int32))))),
        )  # fmt: skip

    assert not knows(ProduceRequest_v99)
    monkeypatch.setattr(produce, "ProduceRequest_v99", ProduceRequest_v99, raising=False)
    own_encode = ProduceRequest_v99.encode
    assert ProduceRequest_v99 not in produce_encoding.install()
    assert ProduceRequest_v99.encode is own_encode


def test_the_workers_app_takes_the_encoders_over_in_its_process(tmp_path: Path) -> None:
    classes = len(request_classes())
    assert output_of(TAKEN_OVER).split() == ["0"]  # a fresh interpreter: aiokafka's own encoders
    build = "\n".join([
        "from pathlib import Path",
        "from agents.app import build_app",
        "from agents.settings import Settings",
        f"build_app(Settings(data_dir=Path({str(tmp_path)!r}), web_port=0))",
    ])  # fmt: skip
    assert output_of(f"{build}\n{TAKEN_OVER}").split() == [str(classes)]
