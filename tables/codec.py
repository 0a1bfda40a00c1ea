"""Contact state <-> bytes (orjson), with the layout version checked and old layouts migrated."""

from __future__ import annotations

from typing import Any

import orjson

from engine.profile import new_profile
from engine.types import STATE_VERSION, ContactState
from tables.exceptions import StateDecodeError, StateVersionError


def new_state(contact_id: str) -> ContactState:
    return {"v": STATE_VERSION, "contact_id": contact_id, "profile": new_profile(), "offset": -1}


def encode_state(state: ContactState) -> bytes:
    return orjson.dumps(state)


def decode_state(raw: bytes) -> ContactState:
    try:
        state: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise StateDecodeError(f"stored state is not JSON: {exc}") from exc
    if not isinstance(state, dict) or "v" not in state:
        raise StateDecodeError("stored state is not a versioned object")
    version = state["v"]
    if version > STATE_VERSION:
        raise StateVersionError(f"state layout v{version} is newer than this worker's v{STATE_VERSION}")
    return state
