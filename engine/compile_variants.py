"""Check the ``variants`` of a send_email: each names a topic and the message fields it replaces.

The node's own params are the default message; at step time engine.nodes.variant_choice picks the variant
whose topic the contact has the highest content affinity for.
"""

from __future__ import annotations

from typing import Any, Final

from engine.affinity import MAX_TOPIC_CHARS, MAX_TOPICS, normal_topic
from engine.compile_common import Reader, type_name
from engine.model import Variant
from engine.parser import Path

VARIANTS: Final = "variants"
SEND_EMAIL: Final = "send_email"
MESSAGE_FIELDS: Final = ("template", "subject", "body")
VARIANT_FIELDS: Final = frozenset({"topic", *MESSAGE_FIELDS})
MAX_VARIANTS: Final = MAX_TOPICS
EXAMPLE: Final = "e.g. variants: [{topic: travel, template: weekly_travel}, {topic: food, subject: Recipes}]"


def email_variants(
    reader: Reader, action: str, params: dict[str, Any], path: Path
) -> tuple[Variant, ...] | None:
    """The variants in an action's ``params`` (empty when it has none), or None after reporting what is
    wrong. ``path`` is the path of ``params``."""
    if VARIANTS not in params:
        return ()
    if action != SEND_EMAIL:
        reader.issues.add(
            (*path, VARIANTS),
            f"'variants' are for send_email, not {action}",
            "move the variants to a send_email node",
            at_key=True,
        )
        return None
    found = reader.entries(params, VARIANTS, path, SEND_EMAIL, EXAMPLE, ("a variant", VARIANT_FIELDS))
    if found is None:
        return None
    entries, listed = found
    ok = len(entries) == listed
    if listed > MAX_VARIANTS:
        reader.issues.add(
            (*path, VARIANTS),
            f"{listed} variants, at most {MAX_VARIANTS}",
            "a contact keeps that many topics",
        )
        ok = False
    variants: list[Variant] = []
    topics: set[str] = set()
    for item_path, entry in entries:
        topic = _topic(reader, entry, item_path)
        message = _message(reader, entry, item_path)
        if topic is None or message is None:
            ok = False
            continue
        if topic in topics:
            reader.issues.add((*item_path, "topic"), f"topic {topic!r} has two variants", "keep one of them")
            ok = False
        topics.add(topic)
        variants.append(Variant(topic, message))
    return tuple(variants) if ok else None


def _topic(reader: Reader, entry: dict[str, Any], path: Path) -> str | None:
    written = reader.string(entry, "topic", path, "a variant", required=True)
    if written is None:
        return None
    topic = normal_topic(written)
    if topic is None:
        reader.issues.add(
            (*path, "topic"),
            f"topic {written[:MAX_TOPIC_CHARS]!r}... is too long",
            f"topics have at most {MAX_TOPIC_CHARS} characters",
        )
        return None
    if topic != written:
        reader.issues.add(
            (*path, "topic"),
            f"topic {written!r} is not written as the engine stores it",
            f"write {topic!r}: topics are trimmed and lower case",
        )
        return None
    return topic


def _message(reader: Reader, entry: dict[str, Any], path: Path) -> dict[str, Any] | None:
    message: dict[str, Any] = {key: entry[key] for key in MESSAGE_FIELDS if key in entry}
    if not message:
        reader.issues.add(
            path,
            "a variant needs 'template', 'subject' or 'body'",
            "it replaces those of the default",
            at_key=True,
        )
        return None
    ok = True
    for key, value in message.items():
        if not isinstance(value, str) or not value:
            reader.issues.add((*path, key), f"'{key}' must be a non-empty string, got {type_name(value)}")
            ok = False
    return message if ok else None
