"""The compiled workflow: frozen dataclasses the step machine runs.

A definition (YAML/JSON, see docs/workflows.md) is checked by engine.validation and compiled into a
``Workflow``: conditions are compiled once, durations are milliseconds, edges are node ids that are known
to exist. Nothing here does work at step time beyond attribute access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Status = Literal["draft", "published", "paused", "archived"]
STATUSES: tuple[Status, ...] = ("draft", "published", "paused", "archived")


class Condition(Protocol):
    """What engine.conditions.compile_condition returns (structural type, so model has no import cycle)."""

    @property
    def source(self) -> str: ...

    @property
    def references(self) -> frozenset[str]: ...

    @property
    def windows(self) -> frozenset[tuple[str, int]]: ...

    def evaluate(self, scope: Any) -> bool: ...

    def value(self, scope: Any) -> Any: ...


# --------------------------------------------------------------------------------------------- triggers


@dataclass(frozen=True, slots=True)
class EventTrigger:
    """Start a run when an event of ``event_type`` arrives and ``filter`` holds (webhooks/API included).
    With ``times`` > 1: only on the event that completes ``times`` such events within ``within_ms`` of
    event time (a sliding window: "3 pricing-page visits in 7 days")."""

    event_type: str
    filter: Condition | None = None
    kind: Literal["event"] = "event"
    times: int = 1
    within_ms: int = 0


@dataclass(frozen=True, slots=True)
class ScheduleTrigger:
    """Per-contact cron (``cron``) or one-off time (``at``, epoch ms); ``timezone`` is IANA or "contact"."""

    cron: str | None
    at: int | None
    timezone: str = "UTC"
    filter: Condition | None = None
    kind: Literal["schedule"] = "schedule"


@dataclass(frozen=True, slots=True)
class DateTrigger:
    """Start a run at a date held by a contact attribute or an event property, shifted by ``offset_ms``.

    ``path`` is ``contact.<attr>`` or ``event.<property>``; for the latter ``event_types`` names the
    events that (re)arm the timer, ``key`` the event property that tells one armed date from another
    (e.g. task_id) and ``cancel_on`` the event types that disarm it.
    """

    path: str
    offset_ms: int  # negative = before the date
    event_types: tuple[str, ...] = ()
    key: str | None = None
    cancel_on: tuple[str, ...] = ()
    filter: Condition | None = None
    kind: Literal["date"] = "date"

    @property
    def source(self) -> Literal["contact", "event"]:
        return "contact" if self.path.startswith("contact.") else "event"

    @property
    def field_name(self) -> str:
        return self.path.split(".", 1)[1]


@dataclass(frozen=True, slots=True)
class InactivityTrigger:
    """Start a run when none of ``event_types`` has happened for ``duration_ms``."""

    duration_ms: int
    event_types: tuple[str, ...]
    filter: Condition | None = None
    kind: Literal["inactivity"] = "inactivity"


@dataclass(frozen=True, slots=True)
class ConditionTrigger:
    """Start a run when ``condition`` on the profile goes from false to true (edge-triggered)."""

    condition: Condition
    kind: Literal["condition"] = "condition"


@dataclass(frozen=True, slots=True)
class ScoreTrigger:
    """Start a run when predictive score ``name`` crosses ``threshold`` upward (``predicted.<name>``)."""

    name: str
    threshold: float
    filter: Condition | None = None
    kind: Literal["score"] = "score"

    @property
    def event_type(self) -> str:
        return f"predicted.{self.name}"


Trigger = EventTrigger | ScheduleTrigger | DateTrigger | InactivityTrigger | ConditionTrigger | ScoreTrigger

# ------------------------------------------------------------------------------------------------ nodes


DEFAULT_BEST_WITHIN_MS = 24 * 60 * 60 * 1000
DEFAULT_FALLBACK_TIME = 10 * 60  # 10:00 local


@dataclass(frozen=True, slots=True)
class WaitNode:
    """Pause the run. Exactly one mode: ``duration_ms``; ``until_time``/``days`` (contact's timezone);
    ``until_date`` (a date path) shifted by ``offset_ms``; ``until == "best_send_time"``: the best hinted
    hour of the week that comes within ``within_ms``, else the next local ``fallback_time``."""

    id: str
    next: str | None
    duration_ms: int | None = None
    until_time: int | None = None  # minutes after local midnight
    days: frozenset[int] | None = None  # 0 = Monday ... 6 = Sunday
    until_date: str | None = None
    offset_ms: int = 0
    until: Literal["best_send_time"] | None = None
    within_ms: int = DEFAULT_BEST_WITHIN_MS
    fallback_time: int = DEFAULT_FALLBACK_TIME  # minutes after local midnight
    type: Literal["wait"] = "wait"


@dataclass(frozen=True, slots=True)
class WaitForNode:
    """Wait for ``event_type`` (matching ``filter`` and ``key``) at most ``timeout_ms``."""

    id: str
    event_type: str
    timeout_ms: int
    on_event: str | None
    on_timeout: str | None
    filter: Condition | None = None
    key: str | None = None
    type: Literal["wait_for"] = "wait_for"


@dataclass(frozen=True, slots=True)
class Branch:
    when: Condition
    next: str | None


@dataclass(frozen=True, slots=True)
class BranchNode:
    """First branch whose ``when`` holds wins, else ``default``."""

    id: str
    branches: tuple[Branch, ...]
    default: str | None
    type: Literal["branch"] = "branch"


@dataclass(frozen=True, slots=True)
class Case:
    equals: Any
    next: str | None


@dataclass(frozen=True, slots=True)
class SwitchNode:
    """Evaluate ``value`` once; the first case equal to it wins, else ``default``."""

    id: str
    value: Condition
    cases: tuple[Case, ...]
    default: str | None
    type: Literal["switch"] = "switch"


@dataclass(frozen=True, slots=True)
class Arm:
    name: str
    weight: int  # percent
    next: str | None


@dataclass(frozen=True, slots=True)
class SplitNode:
    """Weighted A/B/n split by a stable hash of (contact, workflow, version, node); ``holdout`` exits."""

    id: str
    arms: tuple[Arm, ...]
    holdout: int = 0  # percent of contacts that exit here (control group)
    type: Literal["split"] = "split"


@dataclass(frozen=True, slots=True)
class Variant:
    """A send_email variant for contacts whose strongest content affinity is ``topic``: ``params``
    (template, subject, body) replace the node's own."""

    topic: str  # normalised (engine.affinity.normal_topic)
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ActionNode:
    """Do something. External actions are emitted on ``channel``; internal ones change the state.

    send_best has no fixed channel: ``choices`` lists the channels of ``params["messages"]`` in definition
    order, and the step picks one of them. A send_email with ``variants`` sends the one whose topic the
    contact has the highest affinity for (engine.nodes.variant_choice); ``params`` then holds the default
    message without the ``variants`` list.
    """

    id: str
    action: str
    params: dict[str, Any]
    next: str | None
    channel: str | None  # None for internal actions and for send_best
    templated: bool = False  # params contain template markup (render at step time)
    choices: tuple[str, ...] = ()  # send_best only
    variants: tuple[Variant, ...] = ()  # send_email only
    type: Literal["action"] = "action"


@dataclass(frozen=True, slots=True)
class GoalNode:
    """A conversion: reached by an edge, or by ``event_type`` arriving at any node within ``within_ms``."""

    id: str
    event_type: str | None
    filter: Condition | None = None
    key: str | None = None
    within_ms: int | None = None
    type: Literal["goal"] = "goal"


@dataclass(frozen=True, slots=True)
class ExitNode:
    id: str
    reason: str = "exit"
    type: Literal["exit"] = "exit"


Node = WaitNode | WaitForNode | BranchNode | SwitchNode | SplitNode | ActionNode | GoalNode | ExitNode

# --------------------------------------------------------------------------------------------- settings

Reentry = Literal["never", "always", "after"]


@dataclass(frozen=True, slots=True)
class ExitCriterion:
    """End live runs when ``event_type`` arrives (matching ``filter``), or when ``condition`` holds."""

    event_type: str | None = None
    filter: Condition | None = None
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: int  # minutes after local midnight
    end: int
    fallback: Literal["delay", "skip"] = "delay"
    channels: frozenset[str] = frozenset({"email", "sms", "push"})


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    channel: str
    max: int
    per_ms: int


DEFAULT_MAX_STEPS = 100
DEFAULT_MAX_ACTIONS_PER_EVENT = 50
# Loop protection: an incoming event starts at most this many runs of one workflow per contact per window
# (a workflow that triggers on its own actions' outcomes would otherwise start a run per outcome, forever).
DEFAULT_MAX_RUNS = 20
DEFAULT_MAX_RUNS_PER_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class RunLimit:
    max: int = DEFAULT_MAX_RUNS
    per_ms: int = DEFAULT_MAX_RUNS_PER_MS


@dataclass(frozen=True, slots=True)
class Settings:
    reentry: Reentry = "never"
    reentry_after_ms: int = 0
    exit_when: tuple[ExitCriterion, ...] = ()
    quiet_hours: QuietHours | None = None
    frequency_caps: tuple[FrequencyCap, ...] = ()
    max_steps: int = DEFAULT_MAX_STEPS
    max_actions_per_event: int = DEFAULT_MAX_ACTIONS_PER_EVENT
    max_runs: RunLimit = RunLimit()
    run_key: str | None = None  # an event property: one live run per contact and value (e.g. cart_id)


# --------------------------------------------------------------------------------------------- policy


@dataclass(frozen=True, slots=True)
class SendRate:
    """At most ``max`` sends on ``channel`` per ``per_ms`` for the whole workspace (enforced by the sinks)."""

    channel: str
    max: int
    per_ms: int

    @property
    def per_second(self) -> float:
        return self.max * 1000 / self.per_ms


@dataclass(frozen=True, slots=True)
class Policy:
    """The workspace policy: rules every workflow obeys on top of its own settings, which may only make
    them stricter. Caps and quiet hours apply to marketing sends (not ``category: transactional``)."""

    version: int = 0  # 0: no policy published
    frequency_caps: tuple[FrequencyCap, ...] = ()
    quiet_hours: QuietHours | None = None
    send_rates: tuple[SendRate, ...] = ()
    note: str = ""


NO_POLICY = Policy()

# ------------------------------------------------------------------------------------------- workflow


@dataclass(frozen=True, slots=True)
class Workflow:
    """One version of one workflow definition, compiled."""

    id: str
    version: int
    name: str
    status: Status
    start: str
    triggers: tuple[Trigger, ...]
    nodes: dict[str, Node]
    settings: Settings = field(default_factory=Settings)
    definition: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # Derived at compile time for the step machine:
    goals: tuple[GoalNode, ...] = ()  # goal nodes with an event (checked at every node)
    live_event_types: frozenset[str] = frozenset()  # event types a live run may react to
    has_condition_exit: bool = False
    # Event type -> largest window of the windowed count()/rate() calls in its conditions (buckets kept).
    count_windows: tuple[tuple[str, int], ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)
