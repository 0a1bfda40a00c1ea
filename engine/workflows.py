"""WorkflowSet: every version of every workflow, compiled, with the indexes the step machine needs.

Lookups are by event type, so the cost of an event does not grow with workflows that cannot match it.
Drafts never run; among a workflow's other versions the highest governs (see docs/workflows.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from engine.ids import digest
from engine.model import (
    NO_POLICY,
    ConditionTrigger,
    DateTrigger,
    EventTrigger,
    InactivityTrigger,
    Policy,
    ScheduleTrigger,
    ScoreTrigger,
    Trigger,
    Workflow,
)
from engine.profile import UNCOUNTED_EVENT_TYPES
from engine.validation import compile_definition

Indexed = tuple[Workflow, int, Trigger]


class WorkflowSet:
    """Immutable after construction; build a new set to change it. ``policy`` is the workspace policy
    (engine.compile_policy) every workflow of the set obeys."""

    def __init__(self, workflows: Iterable[Workflow] = (), policy: Policy = NO_POLICY) -> None:
        self.policy = policy
        versions: dict[str, dict[int, Workflow]] = {}
        for workflow in workflows:
            versions.setdefault(workflow.id, {})[workflow.version] = workflow
        self.versions: dict[str, dict[int, Workflow]] = {
            wid: dict(sorted(by_version.items())) for wid, by_version in sorted(versions.items())
        }
        self.governing: dict[str, Workflow] = {}
        for wid, by_version in self.versions.items():
            live = [w for w in by_version.values() if w.status != "draft"]
            if live:
                self.governing[wid] = live[-1]
        self.entry: dict[str, Workflow] = {
            wid: w for wid, w in self.governing.items() if w.status == "published"
        }
        starters: dict[str, list[Indexed]] = {}
        rearmers: dict[str, list[Indexed]] = {}
        timed: list[Indexed] = []
        contact_dates: list[Indexed] = []
        conditions: list[Indexed] = []
        cap_windows: dict[str, int] = {}
        for workflow in self.entry.values():
            for index, trigger in enumerate(workflow.triggers):
                item = (workflow, index, trigger)
                if isinstance(trigger, (EventTrigger, ScoreTrigger)):
                    starters.setdefault(trigger.event_type, []).append(item)
                elif isinstance(trigger, InactivityTrigger):
                    timed.append(item)
                    for event_type in trigger.event_types:
                        rearmers.setdefault(event_type, []).append(item)
                elif isinstance(trigger, ScheduleTrigger):
                    timed.append(item)
                elif isinstance(trigger, DateTrigger):
                    if trigger.source == "contact":
                        contact_dates.append(item)
                        timed.append(item)
                    for event_type in (*trigger.event_types, *trigger.cancel_on):
                        rearmers.setdefault(event_type, []).append(item)
                elif isinstance(trigger, ConditionTrigger):
                    conditions.append(item)
        count_windows: dict[str, int] = {}
        for by_version in self.versions.values():
            for workflow in by_version.values():
                for cap in workflow.settings.frequency_caps:
                    cap_windows[cap.channel] = max(cap_windows.get(cap.channel, 0), cap.per_ms)
                for event_type, window in workflow.count_windows:
                    if event_type not in UNCOUNTED_EVENT_TYPES:
                        count_windows[event_type] = max(count_windows.get(event_type, 0), window)
        for cap in policy.frequency_caps:
            cap_windows[cap.channel] = max(cap_windows.get(cap.channel, 0), cap.per_ms)
        # Event types whose only effect is keeping an inactivity timer armed: when all of their slots are
        # armed already (the common case), step() can take the no-match path.
        self.inactivity_slots: dict[str, tuple[str, ...]] = {
            event_type: tuple(f"{w.id}@{w.version}#{i}" for w, i, _ in items)
            for event_type, items in rearmers.items()
            if event_type not in starters and all(isinstance(t, InactivityTrigger) for _, _, t in items)
        }
        self.starters: dict[str, tuple[Indexed, ...]] = {k: tuple(v) for k, v in starters.items()}
        self.rearmers: dict[str, tuple[Indexed, ...]] = {k: tuple(v) for k, v in rearmers.items()}
        self.event_types: frozenset[str] = frozenset(self.starters) | frozenset(self.rearmers)
        self.timed: tuple[Indexed, ...] = tuple(timed)
        self.contact_dates: tuple[Indexed, ...] = tuple(contact_dates)
        self.conditions: tuple[Indexed, ...] = tuple(conditions)
        self.watches_profile = bool(contact_dates or conditions)
        self.cap_windows = cap_windows
        # Event types kept in hourly buckets (engine/windowed_counts.py), with the largest window over every
        # version (old versions' live runs still branch on them); all other events cost nothing.
        self.count_windows: dict[str, int] = dict(sorted(count_windows.items()))
        # Event types whose arrival re-evaluates the condition triggers that count them in a window.
        self.condition_counted: frozenset[str] = frozenset(
            event_type
            for _, _, trigger in conditions
            if isinstance(trigger, ConditionTrigger)
            for event_type, _ in trigger.condition.windows
        )
        # Whether a condition trigger reads the content affinity: then a change of it re-evaluates them too.
        self.watches_affinity: bool = any(
            reads_affinity(trigger.condition.references)
            for _, _, trigger in conditions
            if isinstance(trigger, ConditionTrigger)
        )
        self.arm_fingerprint: str = digest(*(f"{w.id}@{w.version}#{i}" for w, i, _ in timed), size=8)

    @classmethod
    def from_definitions(cls, definitions: Iterable[Mapping[str, Any]]) -> WorkflowSet:
        """Compile parsed definitions; raises WorkflowInvalid listing the issues of the first bad one."""
        compiled: list[Workflow] = []
        for definition in definitions:
            source = f"{definition.get('id', '<definition>')}@{definition.get('version', '?')}"
            compiled.append(compile_definition(dict(definition), source))
        return cls(compiled)

    def get(self, workflow_id: str, version: int) -> Workflow | None:
        by_version = self.versions.get(workflow_id)
        return by_version.get(version) if by_version is not None else None

    def head(self, workflow_id: str) -> Workflow | None:
        """The governing version (highest non-draft), or None."""
        return self.governing.get(workflow_id)

    def with_workflows(self, workflows: Iterable[Workflow]) -> WorkflowSet:
        """A new set with ``workflows`` added (same id and version replaces)."""
        merged = {w.key: w for w in self}
        merged.update((w.key, w) for w in workflows)
        return WorkflowSet(merged.values(), self.policy)

    def with_policy(self, policy: Policy) -> WorkflowSet:
        return WorkflowSet(self, policy)

    def __iter__(self) -> Iterator[Workflow]:
        for by_version in self.versions.values():
            yield from by_version.values()

    def __len__(self) -> int:
        return sum(len(v) for v in self.versions.values())

    def __repr__(self) -> str:
        policy = f", policy v{self.policy.version}" if self.policy.version else ""
        return f"WorkflowSet({len(self.versions)} workflows, {len(self)} versions{policy})"


def reads_affinity(references: frozenset[str]) -> bool:
    """True when a condition with these references reads ``contact.affinity`` (or the whole contact)."""
    return any(ref == "contact" or ref.startswith("contact.affinity") for ref in references)
