"""Packed records (engine/packing.py): values kept whole and in order, packs bounded, single records read."""

from __future__ import annotations

import orjson

from engine.packing import pack, position, unpack


def values(count: int, size: int = 40) -> list[bytes]:
    return [orjson.dumps({"i": i, "pad": "x" * size}) for i in range(count)]


def test_packs_hold_every_value_in_order_and_stay_under_the_bound() -> None:
    encoded = values(500)
    packs = pack(encoded, max_bytes=2_000)
    assert len(packs) > 1
    assert all(len(p) <= 2_000 + 2 for p in packs)  # the brackets come on top of the values and commas
    assert [v for p in packs for v in unpack(p)] == [orjson.loads(v) for v in encoded]
    assert pack(encoded) == [b"[" + b",".join(encoded) + b"]"]  # under the default bound: one pack


def test_a_value_larger_than_the_bound_goes_alone_and_nothing_packs_to_nothing() -> None:
    small, big = values(1)[0], orjson.dumps({"big": "y" * 5_000})
    packs = pack([small, big, small], max_bytes=1_000)
    assert [unpack(p) for p in packs] == [[orjson.loads(small)], [orjson.loads(big)], [orjson.loads(small)]]
    assert pack([]) == []


def test_a_single_record_reads_as_one_value() -> None:
    assert unpack(b'{"a": 1}') == [{"a": 1}]
    assert unpack(b"[]") == []


def test_positions_keep_the_log_order() -> None:
    places = [(offset, index) for offset in (0, 1, 2, 900_000_000) for index in (0, 1, 5, 1_048_575)]
    assert sorted(places, key=lambda p: position(*p)) == places
