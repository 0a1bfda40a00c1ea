from __future__ import annotations

import orjson
import pytest

from engine.types import STATE_VERSION
from tables.codec import StateLimits, decode_state, encode_checked, encode_state, new_state
from tables.exceptions import StateDecodeError, StateTooLarge, StateUnencodable, StateVersionError


def test_round_trip() -> None:
    state = new_state("c1")
    state["runs"] = {"wf": {"node": "n1", "vars": {"cart": "x"}}}
    assert decode_state(encode_state(state)) == state


def test_newer_layout_is_refused_not_misread() -> None:
    with pytest.raises(StateVersionError):
        decode_state(orjson.dumps({"v": STATE_VERSION + 1}))


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1]", b'{"no": "version"}', b'{"v": "1", "offset": 3}', b'{"v": true, "offset": 3}',
     b'{"v": 1}', b'{"v": 1, "offset": "3"}', b'{"v": 1, "offset": null}'],
)  # fmt: skip
def test_garbage_is_a_clear_error(raw: bytes) -> None:
    with pytest.raises(StateDecodeError):
        decode_state(raw)


def test_state_limits_refuse_too_many_attributes_and_too_many_bytes() -> None:
    limits = StateLimits(max_bytes=10_000, max_attributes=10)
    state = new_state("c1")
    state["profile"]["attrs"] = {f"a{i}": i for i in range(10)}
    assert decode_state(encode_checked(state, limits)) == state
    state["profile"]["attrs"]["one_more"] = 1
    with pytest.raises(StateTooLarge, match="11 profile attributes"):
        encode_checked(state, limits)
    state["profile"]["attrs"] = {"big": "x" * 10_000}
    with pytest.raises(StateTooLarge, match="bytes"):
        encode_checked(state, limits)


def test_a_state_orjson_cannot_write_is_a_clear_error() -> None:
    state = new_state("c1")
    deep: dict[str, object] = {}
    node = deep
    for _ in range(300):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    state["runs"] = deep
    with pytest.raises(StateUnencodable):
        encode_checked(state, StateLimits())
