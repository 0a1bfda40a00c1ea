from __future__ import annotations

import orjson
import pytest

from engine.types import STATE_VERSION
from tables.codec import decode_state, encode_state, new_state
from tables.exceptions import StateDecodeError, StateVersionError


def test_round_trip() -> None:
    state = new_state("c1")
    state["runs"] = {"wf": {"node": "n1", "vars": {"cart": "x"}}}
    assert decode_state(encode_state(state)) == state


def test_newer_layout_is_refused_not_misread() -> None:
    with pytest.raises(StateVersionError):
        decode_state(orjson.dumps({"v": STATE_VERSION + 1}))


@pytest.mark.parametrize("raw", [b"not json", b"[1]", b'{"no": "version"}'])
def test_garbage_is_a_clear_error(raw: bytes) -> None:
    with pytest.raises(StateDecodeError):
        decode_state(raw)
