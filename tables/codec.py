"""Contact state <-> bytes (orjson), with the layout version checked and the per-contact limits enforced.

A state must fit in one changelog record (Kafka refuses records over ~1 MB by default), so encoding
refuses a state past `StateLimits`: its contact's events are dead-lettered and its state stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from engine.profile import new_profile
from engine.types import STATE_VERSION, ContactState
from tables.exceptions import StateDecodeError, StateTooLarge, StateUnencodable, StateVersionError


@dataclass(frozen=True)
class StateLimits:
    max_bytes: int = 256 * 1024  # a quarter of the changelog's default 1 MB record limit
    max_attributes: int = 1000  # profile attributes per contact


def new_state(contact_id: str) -> ContactState:
    return {"v": STATE_VERSION, "contact_id": contact_id, "profile": new_profile(), "offset": -1}


def encode_state(state: ContactState) -> bytes:
    return orjson.dumps(state)


def encode_checked(state: ContactState, limits: StateLimits) -> bytes:
    """The state's bytes; StateTooLarge past the limits, StateUnencodable when orjson cannot write it."""
    attributes = len(state.get("profile", {}).get("attrs", ()))
    if attributes > limits.max_attributes:
        raise StateTooLarge(f"{attributes} profile attributes (at most {limits.max_attributes})")
    try:
        raw = orjson.dumps(state)
    except TypeError as exc:  # orjson.JSONEncodeError: nesting past 255 levels, a value it cannot write
        raise StateUnencodable(f"state cannot be encoded: {exc}") from None
    if len(raw) > limits.max_bytes:
        raise StateTooLarge(f"encoded state is {len(raw)} bytes (at most {limits.max_bytes})")
    return raw


def decode_state(raw: bytes) -> ContactState:
    try:
        state: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise StateDecodeError(f"stored state is not JSON: {exc}") from exc
    if not isinstance(state, dict) or "v" not in state:
        raise StateDecodeError("stored state is not a versioned object")
    version = state["v"]
    # The version and the offset are read before any step: checked here, where a row that fails is that
    # contact's alone (tables.contacts.ContactStore.decode), and not where it would fail a whole batch.
    if type(version) is not int:
        raise StateDecodeError(f"stored state's layout version is not a whole number: {version!r:.40}")
    if version > STATE_VERSION:
        raise StateVersionError(f"state layout v{version} is newer than this worker's v{STATE_VERSION}")
    if type(state.get("offset")) is not int:
        raise StateDecodeError("stored state has no offset (a whole number)")
    return state
