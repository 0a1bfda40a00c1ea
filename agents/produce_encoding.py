"""Produce requests encoded in one pass: the same bytes as aiokafka's encoder, with each record batch
copied once.

aiokafka encodes a request through its generic protocol schema: every level of nesting (a partition's
entry, its topic's array, the topic list, the request) builds its own bytes object by joining the
level below, so each record batch is copied about five times, each copy a fresh allocation of the
request's size. In the runtime benchmark that was about 5 % of a worker's time, for states of about
2.3 kB written once per event. Here the request's pieces go into one list, joined once
(`python -m loadtest.produce_encoding_bench` compares the two).

`install()` replaces the `encode` method of aiokafka's produce request classes whose schema is one this
module knows (checked field by field), in this process. A class whose schema differs, after an aiokafka
upgrade, keeps aiokafka's encoder, and the install says which. An encoding that fails here (a value out
of its field's range) is left to aiokafka's encoder, so its errors are aiokafka's.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Any

from aiokafka.protocol import produce
from aiokafka.protocol.types import Array, Schema, String

log = logging.getLogger("switchyard.produce_encoding")

_INT16 = struct.Struct(">h").pack
_INT32 = struct.Struct(">i").pack
_ACKS_TIMEOUT = struct.Struct(">hi").pack
_PARTITION_AND_SIZE = struct.Struct(">ii").pack
_NULL_STRING = _INT16(-1)
_NULL_ARRAY = _INT32(-1)

Encoder = Callable[[Any], bytes]


def encode_produce_request(request: Any) -> bytes:
    """The wire bytes of a produce request struct (any version aiokafka has, 0-8), as aiokafka's
    `Struct.encode` makes them."""
    parts: list[Any] = []
    append = parts.append
    if request.API_VERSION >= 3:
        append(_string(request.transactional_id))
    append(_ACKS_TIMEOUT(request.required_acks, request.timeout))
    topics = request.topics
    if topics is None:
        append(_NULL_ARRAY)
        return b"".join(parts)
    append(_INT32(len(topics)))
    for topic, partitions in topics:
        append(_string(topic))
        if partitions is None:
            append(_NULL_ARRAY)
            continue
        append(_INT32(len(partitions)))
        for partition, records in partitions:
            if records is None:
                append(_PARTITION_AND_SIZE(partition, -1))
            else:
                append(_PARTITION_AND_SIZE(partition, len(records)))
                append(records)
    return b"".join(parts)


def _string(value: str | None) -> bytes:
    if value is None:
        return _NULL_STRING
    encoded = str(value).encode("utf-8")
    return _INT16(len(encoded)) + encoded


def _field_shape(field: Any) -> Any:
    """A schema field as comparable data: its type's name, with the fields of arrays and schemas."""
    if isinstance(field, Array):
        return ("array", _field_shape(field.array_of))
    if isinstance(field, Schema):
        return tuple((name, _field_shape(sub)) for name, sub in zip(field.names, field.fields, strict=True))
    if isinstance(field, String):
        return ("string", field.encoding)
    return getattr(field, "__name__", type(field).__name__)


_PARTITION_SHAPE = (("partition", "Int32"), ("messages", "Bytes"))
_TOPICS_SHAPE = (
    "topics",
    ("array", (("topic", ("string", "utf-8")), ("partitions", ("array", _PARTITION_SHAPE)))),
)
KNOWN_SHAPES = {
    0: (("required_acks", "Int16"), ("timeout", "Int32"), _TOPICS_SHAPE),
    3: (("transactional_id", ("string", "utf-8")), ("required_acks", "Int16"), ("timeout", "Int32"),
        _TOPICS_SHAPE),
}  # fmt: skip


def request_classes() -> list[Any]:
    """aiokafka's produce request structs, one per protocol version."""
    found = [
        value
        for name, value in vars(produce).items()
        if name.startswith("ProduceRequest_v") and isinstance(value, type) and hasattr(value, "SCHEMA")
    ]
    return sorted(found, key=lambda cls: int(cls.API_VERSION))


def knows(cls: Any) -> bool:
    """Whether ``cls``'s schema is the one `encode_produce_request` writes for its version."""
    expected = KNOWN_SHAPES[3 if int(cls.API_VERSION) >= 3 else 0]
    return bool(_field_shape(cls.SCHEMA) == expected)


_originals: dict[Any, Encoder] = {}


def install() -> list[Any]:
    """Encode this process's produce requests with `encode_produce_request`; the classes it took over."""
    taken = []
    for cls in request_classes():
        if cls in _originals:
            taken.append(cls)
            continue
        if not knows(cls):
            log.warning("%s has a schema this worker does not know; aiokafka encodes it", cls.__name__)
            continue
        original: Encoder = cls.encode
        _originals[cls] = original
        cls.encode = _with_fallback(original)
        taken.append(cls)
    return taken


def original_encoder(cls: Any) -> Encoder:
    """aiokafka's own encoder of ``cls`` (taken over or not)."""
    return _originals.get(cls) or cls.encode


def _with_fallback(original: Encoder) -> Encoder:
    def encode(self: Any) -> bytes:
        try:
            return encode_produce_request(self)
        except Exception:  # e.g. struct.error for an out-of-range value: aiokafka's encoder raises its own
            return original(self)

    return encode
