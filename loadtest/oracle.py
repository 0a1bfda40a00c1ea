"""The accuracy oracle: what the streaming system should have emitted, and how far it was from that.

The replays live in engine/simulate.py (pure; the API's simulate and backtest use them too):
- ``expected_actions`` replays each contact's events exactly as they were delivered (the `events` topic,
  timer wake-ups included) through ``engine.step`` in-process, as the runtime does per event.
- ``simulate`` needs no recorded wake-ups: it fires each pending timer itself, in due order, before the
  contact's next event at or after its due time (offline use, and the engine tests' harness semantics).
- ``compare`` matches expected and emitted actions by ``action_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from engine.parser import parse_text
from engine.simulate import (
    ContactReplay,
    Simulation,
    TimedReplay,
    expected_actions,
    simulate,
    timer_event,
)
from engine.workflows import WorkflowSet

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "workflows"
EXAMPLE_LIMIT = 10  # action ids kept per problem kind, to show what went wrong
Action = dict[str, Any]
__all__ = [
    "ContactReplay", "Simulation", "TimedReplay", "compare", "example_workflows", "expected_actions",
    "load_workflows", "simulate", "timer_event",
]  # fmt: skip


def load_workflows(paths: Iterable[Path]) -> WorkflowSet:
    """Compile workflow definition files (YAML or JSON); raises engine's WorkflowInvalid."""
    return WorkflowSet.from_definitions(
        parse_text(path.read_text(encoding="utf-8"), str(path)).data for path in sorted(paths)
    )


def example_workflows(*names: str) -> WorkflowSet:
    """The shipped examples (all of them, or those named)."""
    paths = [EXAMPLES / f"{name}.yaml" for name in names] if names else list(EXAMPLES.glob("*.yaml"))
    return load_workflows(paths)


# -- comparison ---------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """Expected against emitted, by action id.

    matched: expected ids emitted with the expected payload; missing: expected ids never emitted;
    unexpected: emitted ids the oracle does not expect; mismatched: expected ids whose first emitted copy
    differs from the expected payload; duplicates: extra copies identical to the first copy (harmless,
    the sinks drop them); conflicting: extra copies of an id with a different payload (an error).
    """

    expected: int
    emitted: int
    matched: int
    missing: int
    unexpected: int
    mismatched: int
    duplicates: int
    conflicting: int
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        """Percent of the distinct action ids (expected or emitted) that were emitted exactly right."""
        distinct = self.expected + self.unexpected
        return 100.0 if distinct == 0 else 100.0 * self.matched / distinct

    @property
    def ok(self) -> bool:
        """No action missing, unexpected, wrong or conflicting; same-id duplicates are allowed."""
        return not (self.missing or self.unexpected or self.mismatched or self.conflicting)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accuracy_pct": self.accuracy, "ok": self.ok}

    def summary(self) -> str:
        distinct = self.expected + self.unexpected
        lines = [
            f"oracle accuracy: {self.accuracy:.3f}% ({self.matched}/{distinct} action ids)",
            f"  expected {self.expected}  emitted {self.emitted} (records)",
            f"  missing {self.missing}  unexpected {self.unexpected}  payload mismatch {self.mismatched}",
            f"  duplicates with the same id {self.duplicates}  same id, different payload {self.conflicting}",
        ]
        lines += [f"  e.g. {kind}: {', '.join(ids)}" for kind, ids in self.examples.items() if ids]
        return "\n".join(lines)


def canonical(action: Mapping[str, Any]) -> bytes:
    """Key-sorted JSON bytes: equal for equal payloads, whether decoded from Kafka or fresh from step."""
    return orjson.dumps(action, option=orjson.OPT_SORT_KEYS)


def compare(expected: Iterable[Mapping[str, Any]], emitted: Iterable[Mapping[str, Any]]) -> Comparison:
    wanted: dict[str, bytes] = {}
    for action in expected:
        wanted.setdefault(str(action["action_id"]), canonical(action))
    copies: dict[str, list[bytes]] = {}
    records = 0
    for action in emitted:
        records += 1
        copies.setdefault(str(action["action_id"]), []).append(canonical(action))
    examples: dict[str, list[str]] = {
        kind: [] for kind in ("missing", "unexpected", "mismatched", "conflicting")
    }

    def note(kind: str, action_id: str) -> None:
        if len(examples[kind]) < EXAMPLE_LIMIT:
            examples[kind].append(action_id)

    matched = missing = mismatched = duplicates = conflicting = 0
    for action_id, payload in wanted.items():
        found = copies.get(action_id)
        if found is None:
            missing += 1
            note("missing", action_id)
        elif found[0] == payload:
            matched += 1
        else:
            mismatched += 1
            note("mismatched", action_id)
    unexpected = 0
    for action_id, found in copies.items():
        if action_id not in wanted:
            unexpected += 1
            note("unexpected", action_id)
        same = sum(1 for payload in found[1:] if payload == found[0])
        duplicates += same
        conflicting += len(found) - 1 - same
        if len(found) - 1 > same:
            note("conflicting", action_id)
    return Comparison(
        expected=len(wanted),
        emitted=records,
        matched=matched,
        missing=missing,
        unexpected=unexpected,
        mismatched=mismatched,
        duplicates=duplicates,
        conflicting=conflicting,
        examples=examples,
    )
