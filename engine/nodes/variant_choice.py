"""send_email's variant choice: the variant whose topic the contact has the highest content affinity for,
decayed to the step's event time; the default message (the node's own params) when no variant topic has
any affinity or when the highest affinity is shared by more than one variant. Deterministic: the same
profile at the same time always gets the same message."""

from __future__ import annotations

from typing import Any, NamedTuple

from engine import affinity as content
from engine.model import Variant
from engine.types import Profile

DEFAULT = "default"


class VariantChoice(NamedTuple):
    variant: str  # the chosen variant's topic, or "default"
    affinity: float  # the contact's affinity for it (0.0 for the default)
    params: dict[str, Any]  # the message to send: the node's params with the variant's fields on top
    reason: str  # for the trace, e.g. "variant travel (affinity 2.41, highest of 3)"


def choose_variant(
    profile: Profile, params: dict[str, Any], variants: tuple[Variant, ...], now: int
) -> VariantChoice:
    bag = profile.get("affinity")
    scored = [(content.score(bag, variant.topic, now), variant) for variant in variants]
    best = max(score for score, _ in scored)
    if best <= 0.0:
        return VariantChoice(DEFAULT, 0.0, params, f"default (no affinity for any of {len(variants)} topics)")
    leaders = [variant for score, variant in scored if score == best]
    if len(leaders) > 1:
        tied = ", ".join(variant.topic for variant in leaders)
        return VariantChoice(DEFAULT, 0.0, params, f"default (tie at affinity {best:.2f}: {tied})")
    chosen = leaders[0]
    reason = f"variant {chosen.topic} (affinity {best:.2f}, highest of {len(variants)})"
    return VariantChoice(chosen.topic, best, {**params, **chosen.params}, reason)
