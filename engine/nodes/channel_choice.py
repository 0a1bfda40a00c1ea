"""send_best's channel choice: the bandit's hinted channel if the node lists it and the contact is reachable
there, else the first listed channel the contact is reachable on, else the first listed channel."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from engine.actions import RECIPIENT_ATTRIBUTES
from engine.context import StepContext
from engine.hints import channel_hint
from engine.model import ActionNode

ChosenBy = Literal["bandit", "fallback"]


class ChannelChoice(NamedTuple):
    channel: str
    chosen_by: ChosenBy
    reason: str  # for the trace, e.g. "email, the bandit's pick" or "sms, fallback (no channel hint)"


def reachable(attrs: dict[str, Any], channel: str, message: dict[str, Any]) -> bool:
    """The message names its own ``to``, or the contact has the channel's address attribute."""
    return bool(message.get("to")) or bool(attrs.get(RECIPIENT_ATTRIBUTES[channel]))


def choose_channel(ctx: StepContext, node: ActionNode) -> ChannelChoice:
    messages: dict[str, dict[str, Any]] = node.params["messages"]
    attrs = ctx.profile["attrs"]
    open_channels = [c for c in node.choices if reachable(attrs, c, messages[c])]
    hinted = channel_hint(ctx.state)
    if hinted is not None and hinted in open_channels:
        return ChannelChoice(hinted, "bandit", f"{hinted}, the bandit's pick")
    if hinted is None:
        why = "no channel hint"
    elif hinted not in node.choices:
        why = f"the bandit's {hinted} is not one of the node's channels"
    else:
        why = f"the bandit's {hinted} is unreachable: no contact.{RECIPIENT_ATTRIBUTES[hinted]}"
    if open_channels:
        return ChannelChoice(open_channels[0], "fallback", f"{open_channels[0]}, fallback ({why})")
    first = node.choices[0]
    return ChannelChoice(first, "fallback", f"{first}, fallback ({why}; no listed channel is reachable)")
