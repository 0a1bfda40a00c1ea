"""Packed records: many JSON values in one Kafka record, as one JSON array.

The worker's step records go to `analytics` packed: one record per batch and partition instead of one per
step, because each Kafka record costs the worker, the broker and the analytics writer a fixed amount of
work whatever its size. A record whose value is a JSON object is a single value (what was written before
packing, and what a packing producer sends alone); readers accept both forms through `unpack`.

A value's place in the log is its `position`: the record's offset, shifted to leave room for the index
within the pack, so positions of packed values keep the log's order and sort after every unpacked record
written earlier at a lower offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import orjson

PACK_BYTES: Final = 256 * 1024  # a pack's value grows to about this; a value larger on its own goes alone
INDEX_BITS: Final = 20
MAX_VALUES: Final = 1 << INDEX_BITS  # values per pack, so that `position` stays in order


def pack(values: Sequence[bytes], max_bytes: int = PACK_BYTES) -> list[bytes]:
    """The JSON-encoded values, in order, joined into arrays of about `max_bytes` each at most."""
    packs: list[bytes] = []
    chunk: list[bytes] = []
    size = 0
    for value in values:
        if chunk and (size + len(value) + 1 > max_bytes or len(chunk) == MAX_VALUES):
            packs.append(b"[" + b",".join(chunk) + b"]")
            chunk, size = [], 0
        chunk.append(value)
        size += len(value) + 1
    if chunk:
        packs.append(b"[" + b",".join(chunk) + b"]")
    return packs


def unpack(value: bytes | None) -> list[Any]:
    """The values of a record: a pack's items, or the record's single value. Raises orjson.JSONDecodeError
    for a value that is not JSON."""
    decoded = orjson.loads(value or b"")
    return decoded if isinstance(decoded, list) else [decoded]


def position(offset: int, index: int) -> int:
    """Where the `index`-th value of the pack at `offset` sits in the log, as one ordered integer."""
    return (offset << INDEX_BITS) | index
