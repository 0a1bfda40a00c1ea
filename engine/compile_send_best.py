"""Check the params of a send_best action: ``messages`` maps each channel it may use to that channel's
message, and each message must be what the matching send_email/send_sms/send_push would accept."""

from __future__ import annotations

from typing import Any

from engine.actions import SEND_ACTIONS, SEND_BEST, missing_params
from engine.compile_common import Reader, type_name
from engine.issues import did_you_mean
from engine.parser import Path

EXAMPLE = "e.g. messages: {email: {template: nudge, subject: Hi}, sms: {body: Hi}}"


def send_best_channels(reader: Reader, params: dict[str, Any], path: Path) -> tuple[str, ...] | None:
    """The channels of ``messages`` in definition order, or None after reporting what is wrong.

    ``path`` is the path of ``params``; a missing ``messages`` is reported by the required-params check.
    """
    ok = True
    for key in params:
        if key != "messages":
            reader.issues.add(
                (*path, key),
                f"unknown param '{key}' in send_best",
                f"send_best takes only 'messages'; put message params under their channel ({EXAMPLE})",
                at_key=True,
            )
            ok = False
    if "messages" not in params:
        return None
    messages = params["messages"]
    if not isinstance(messages, dict) or not messages:
        reader.issues.add(
            (*path, "messages"),
            f"'messages' must be a non-empty mapping of channel to message, got {type_name(messages)}",
            EXAMPLE,
        )
        return None
    for channel, message in messages.items():
        message_path = (*path, "messages", channel)
        if channel not in SEND_ACTIONS:
            reader.issues.add(
                message_path,
                f"{SEND_BEST} cannot send on {channel!r}",
                did_you_mean(str(channel), SEND_ACTIONS) or f"channels: {', '.join(SEND_ACTIONS)}",
                at_key=True,
            )
            ok = False
            continue
        if not isinstance(message, dict):
            found = type_name(message)
            reader.issues.add(message_path, f"the {channel} message must be a mapping, got {found}")
            ok = False
            continue
        if "variants" in message:
            reader.issues.add(
                (*message_path, "variants"),
                f"{SEND_BEST} messages cannot have variants",
                "use a send_email node to send a variant by topic",
                at_key=True,
            )
            ok = False
        action = SEND_ACTIONS[channel]
        for group in missing_params(action, message):
            keys = " or ".join(f"'{key}'" for key in group)
            reader.issues.add(
                message_path,
                f"the {channel} message needs {keys} (as {action} does)",
                "see the action table in docs/workflows.md",
                at_key=True,
            )
            ok = False
    return tuple(messages) if ok else None
