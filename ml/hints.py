"""The hints the engine reads from a contact's state: its best local send hours and the bandit's channel.

``state["hints"] = {"send_hours": [int, ...], "channel": "email" | "sms" | "push"}``:

- ``send_hours``: the contact's ``SEND_HOURS`` best local hours of the week (0 = Monday 00:00-01:00 in
  its timezone, as ml.clock.hour_of_week), best first: its decayed engagement histogram blended with
  the worker's population prior (ml.send_time.ranked_hours_in);
- ``channel``: the bandit's pick for the contact's segment (ml.bandit.segment_of) among the channels it
  has an address for (all three when it has none), keyed by (contact, sends so far) (ml.bandit.pick).

Recomputed only when an input moved materially, which ``ml_state["hk"]`` records as ``[activity count,
prior version, sends, draw table, segment, reachable]`` at the last computation:

- the hours when the contact's histogram took an engagement (an open or a click, weight 1) or
  ``RERANK_AFTER`` other activity events (weight 0.25 each, so as much again) since the last ranking,
  or when the population prior's version changed (ml.send_time.PopulationPrior: it moved by more than
  2 % of its mass). Between those the hours are not re-ranked as the histogram decays;
- the channel when the contact was sent something (a new key), its segment or addresses changed, or
  its segment's draw table was redrawn (the posterior moved).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from engine.actions import RECIPIENT_ATTRIBUTES
from ml.bandit import ThompsonBandit, segment_of
from ml.send_time import PopulationPrior, ranked_hours_in
from ml.state import MLState

Hints = dict[str, Any]
SEND_HOURS = 24
ENGAGEMENT = 1.0  # an event of this histogram weight (an open, a click) re-ranks the hours at once
RERANK_AFTER = 4  # ... and so do this many other activity events (0.25 each) since the last ranking


def reachable(attrs: Mapping[str, Any], channels: tuple[str, ...]) -> int:
    """Bit mask over ``channels`` of those the contact has an address attribute for (0: none known)."""
    mask = 0
    for bit, attribute in _address_bits(channels):
        if attrs.get(attribute):
            mask |= bit
    return mask


def _address_bits(channels: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    return tuple(
        (1 << index, RECIPIENT_ATTRIBUTES[channel])
        for index, channel in enumerate(channels)
        if channel in RECIPIENT_ATTRIBUTES
    )


def pick_key(contact_id: str, sends: int) -> int:
    """The contact's key into its segment's draw table for its next send (a CRC: stable across
    processes and cheap; it only has to spread contacts over the table's rows)."""
    return zlib.crc32(f"{contact_id}\x1f{sends}".encode())


class Hinter:
    """Keeps contacts' hints against one worker's population prior and bandit."""

    def __init__(self, prior: PopulationPrior, bandit: ThompsonBandit) -> None:
        self.prior = prior
        self.bandit = bandit
        self.address_bits = _address_bits(bandit.channels)

    def refresh(
        self,
        hints: Hints | None,
        ml_state: MLState,
        attrs: Mapping[str, Any],
        contact_id: str,
        now: int,
        weight: float,
    ) -> tuple[Hints, list[Any] | None]:
        """(the hints after an event that added ``weight`` to the contact's histogram (0: none), the
        new ``hk`` bookkeeping, or None when nothing was recomputed and the hints are the ones given)."""
        kept: list[Any] | None = ml_state.get("hk")
        n_act = ml_state["n_act"]
        sends = ml_state.get("ns", 0)
        segment = segment_of(attrs)
        mask = 0
        for bit, attribute in self.address_bits:
            if attrs.get(attribute):
                mask |= bit
        table = self.bandit.table(segment)
        if hints is None or kept is None:
            rank = pick = True
        else:
            ranked_at = kept[0]
            rank = (
                kept[1] != self.prior.version
                or n_act - ranked_at >= RERANK_AFTER
                or (weight >= ENGAGEMENT and n_act != ranked_at)
            )
            pick = kept[2] != sends or kept[3] != table.updates or kept[4] != segment or kept[5] != mask
            if not rank and not pick:
                return hints, None
        if rank or hints is None or kept is None:
            view = self.prior.view()
            hours = ranked_hours_in(ml_state["how"], now, view, SEND_HOURS)
            ranked_at, version = n_act, view.version
        else:
            hours, ranked_at, version = hints["send_hours"], kept[0], kept[1]
        if pick or hints is None:
            channels = self.bandit.channels
            allowed = [c for index, c in enumerate(channels) if mask >> index & 1] if mask else None
            channel, _ = self.bandit.pick(segment, pick_key(contact_id, sends), allowed)
        else:
            channel = hints["channel"]
        bookkeeping = [ranked_at, version, sends, table.updates, segment, mask]
        return {"send_hours": hours, "channel": channel}, bookkeeping
