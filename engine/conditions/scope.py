"""What a condition can see: the contact's profile, the current event, the run, the time and live workflows.

``Scope`` is built by the step machine for every evaluation, so it is a plain slotted object with no
work in its constructor. Everything it holds is read-only to conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from typing import Any, Final, TypeAlias

EMPTY_WORKFLOWS: Final[frozenset[str]] = frozenset()
EMPTY_BUCKETS: Final[Mapping[str, Any]] = {}


class Scope:
    """The data one evaluation reads.

    - ``contact``: the Profile dict (engine/profile.py) or None;
    - ``event``: the Event dict or None;
    - ``run``: the run's variables dict (e.g. ``{"vars": {...}, "started_at": ms, "node": id}``) or None;
    - ``now``: event time in epoch milliseconds;
    - ``workflows``: ids of workflows the contact currently has a live run in;
    - ``contact_id``: the contact's id for ``contact.id`` (defaults to the event's contact_id);
    - ``buckets``: the contact's hourly event buckets for windowed counts (engine/windowed_counts.py).
    """

    __slots__ = ("buckets", "contact", "contact_id", "event", "now", "run", "workflows")

    def __init__(
        self,
        contact: Mapping[str, Any] | None = None,
        event: Mapping[str, Any] | None = None,
        run: Mapping[str, Any] | None = None,
        now: int = 0,
        workflows: Set[str] = EMPTY_WORKFLOWS,
        contact_id: str | None = None,
        buckets: Mapping[str, Any] = EMPTY_BUCKETS,
    ) -> None:
        self.contact = contact
        self.event = event
        self.run = run
        self.now = now
        self.workflows = workflows
        self.contact_id = contact_id
        self.buckets = buckets

    def __repr__(self) -> str:
        return (
            f"Scope(contact={self.contact!r}, event={self.event!r}, run={self.run!r}, now={self.now!r}, "
            f"workflows={self.workflows!r}, contact_id={self.contact_id!r}, buckets={self.buckets!r})"
        )


# A compiled piece of a condition: reads a scope, returns a value. Conditions are trees of these.
Evaluator: TypeAlias = Callable[[Scope], Any]
