"""Compile each entry of ``nodes`` into a model node, checking its fields, edges and expressions."""

from __future__ import annotations

import re
from typing import Any

from engine.actions import ALL_ACTIONS, EXTERNAL_ACTIONS, NOTIFY_REASONS, SEND_BEST, missing_params
from engine.compile_common import Reader, type_name
from engine.compile_send_best import send_best_channels
from engine.compile_triggers import DATE_PREFIXES, offset_of
from engine.compile_variants import VARIANTS, email_variants
from engine.durations import WEEK, format_duration
from engine.issues import did_you_mean
from engine.model import (
    DEFAULT_BEST_WITHIN_MS,
    DEFAULT_FALLBACK_TIME,
    ActionNode,
    Arm,
    Branch,
    BranchNode,
    Case,
    ExitNode,
    GoalNode,
    Node,
    SplitNode,
    SwitchNode,
    WaitForNode,
    WaitNode,
)
from engine.parser import Path
from engine.timecalc import parse_time_of_day, parse_weekday

_COMMON = frozenset({"type", "description", "label", "layout"})
NODE_FIELDS: dict[str, frozenset[str]] = {
    "wait": _COMMON
    | {"next", "duration", "until_time", "days", "until_date", "before", "after"}
    | {"until", "within", "fallback"},
    "wait_for": _COMMON | {"event", "filter", "key", "timeout", "on_event", "on_timeout"},
    "branch": _COMMON | {"branches", "default"},
    "switch": _COMMON | {"value", "cases", "default"},
    "split": _COMMON | {"arms", "holdout"},
    "action": _COMMON | {"action", "params", "next"},
    "goal": _COMMON | {"event", "filter", "key", "within"},
    "exit": _COMMON | {"reason"},
}
NODE_TYPES = frozenset(NODE_FIELDS)
NODE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
BRANCH_FIELDS = frozenset({"when", "next"})
CASE_FIELDS = frozenset({"equals", "next"})
ARM_FIELDS = frozenset({"name", "weight", "next"})


def compile_node(reader: Reader, node_id: str, value: Any, path: Path) -> Node | None:
    mapping = reader.mapping(value, path, f"node '{node_id}'")
    if mapping is None:
        return None
    if not NODE_ID.fullmatch(node_id):
        reader.issues.add(
            path,
            f"node id {node_id!r} is not a valid id",
            "use letters, digits, '_' and '-', starting with a letter or '_'",
            at_key=True,
        )
    node_type = mapping.get("type")
    if node_type is None:
        reader.issues.add(path, "node has no 'type'", f"one of: {', '.join(sorted(NODE_TYPES))}", at_key=True)
        return None
    if not isinstance(node_type, str) or node_type not in NODE_TYPES:  # a list or a mapping is no type
        hint = did_you_mean(str(node_type), NODE_TYPES) or f"one of: {', '.join(sorted(NODE_TYPES))}"
        reader.issues.add((*path, "type"), f"unknown node type {node_type!r}", hint)
        return None
    reader.check_fields(mapping, path, NODE_FIELDS[node_type], f"a {node_type} node")
    builder = _BUILDERS[node_type]
    return builder(reader, node_id, mapping, path)


def _wait(reader: Reader, node_id: str, mapping: dict[str, Any], path: Path) -> Node | None:
    what = "a wait node"
    next_ = reader.edge(node_id, mapping, "next", path, what)
    modes: list[str] = [key for key in ("duration", "until_time", "until_date", "until") if key in mapping]
    if "days" in mapping and (not modes or modes == ["until"]):
        modes.append("days")
    if len(modes) != 1:
        reader.issues.add(
            path,
            f"a wait node needs exactly one of duration, until_time/days, until_date or until"
            f" (found {', '.join(modes) or 'none'})",
            "until: best_send_time picks its own day and hour: drop the other one"
            if "until" in modes
            else "e.g. duration: 2h",
            at_key=not modes,
        )
        return None
    if modes[0] == "until":
        return _wait_best_send_time(reader, node_id, mapping, path, next_)
    for key in ("within", "fallback"):
        if key in mapping:
            reader.issues.add(
                (*path, key),
                f"'{key}' only goes with 'until: best_send_time'",
                f"remove '{key}', or wait with 'until: best_send_time'",
                at_key=True,
            )
    if modes[0] == "duration":
        duration = reader.duration(mapping, "duration", path, what)
        return WaitNode(node_id, next_, duration_ms=duration) if duration is not None else None
    if modes[0] == "until_date":
        date_path = reader.string(mapping, "until_date", path, what)
        offset = offset_of(reader, mapping, path, what)
        if date_path is None:
            return None
        if not date_path.startswith(DATE_PREFIXES):
            reader.issues.add(
                (*path, "until_date"),
                f"'until_date' must start with contact., event. or run.vars., got {date_path!r}",
                "e.g. until_date: contact.renewal_date",
            )
            return None
        return WaitNode(node_id, next_, until_date=date_path, offset_ms=offset)
    minutes: int | None = None
    if "until_time" in mapping:
        try:
            minutes = parse_time_of_day(mapping["until_time"])
        except ValueError as err:
            reader.issues.add((*path, "until_time"), str(err))
            return None
    days: frozenset[int] | None = None
    if "days" in mapping:
        raw = mapping["days"]
        names = [raw] if isinstance(raw, str) else raw
        try:
            if not isinstance(names, list) or not names:
                raise ValueError("'days' must be a non-empty list such as [mon, tue, wed, thu, fri]")
            days = frozenset(parse_weekday(name) for name in names)
        except ValueError as err:
            reader.issues.add((*path, "days"), str(err))
            return None
    return WaitNode(node_id, next_, until_time=minutes, days=days)


def _wait_best_send_time(
    reader: Reader, node_id: str, mapping: dict[str, Any], path: Path, next_: str | None
) -> Node | None:
    """``until: best_send_time`` with optional ``within`` (0 < within <= 7d) and ``fallback`` (HH:MM)."""
    ok = True
    if mapping["until"] != "best_send_time":
        reader.issues.add(
            (*path, "until"),
            f"unknown wait target {mapping['until']!r}",
            did_you_mean(str(mapping["until"]), ("best_send_time",))
            or "the only one is best_send_time; for a time of day use until_time, for a date until_date",
        )
        ok = False
    within = DEFAULT_BEST_WITHIN_MS
    if "within" in mapping:
        parsed = reader.duration(mapping, "within", path, "a wait node", required=True)
        if parsed is not None and not 0 < parsed <= WEEK:
            reader.issues.add(
                (*path, "within"),
                f"'within' must be more than 0 and at most 7d, got {format_duration(parsed)}",
                "it is how far ahead to look for a hinted hour, e.g. within: 24h",
            )
            parsed = None
        ok = ok and parsed is not None
        within = parsed or within
    fallback = DEFAULT_FALLBACK_TIME
    if "fallback" in mapping:
        try:
            fallback = parse_time_of_day(mapping["fallback"])
        except ValueError as err:
            reader.issues.add((*path, "fallback"), f"'fallback': {err}", 'e.g. fallback: "10:00"')
            ok = False
    if not ok:
        return None
    return WaitNode(node_id, next_, until="best_send_time", within_ms=within, fallback_time=fallback)


def _wait_for(reader: Reader, node_id: str, mapping: dict[str, Any], path: Path) -> Node | None:
    what = "a wait_for node"
    event_type = reader.string(mapping, "event", path, what, required=True)
    filter_ = reader.condition(mapping, "filter", path, what)
    key = reader.string(mapping, "key", path, what)
    on_event = reader.edge(node_id, mapping, "on_event", path, what, required=True)
    if "timeout" not in mapping or "on_timeout" not in mapping:
        missing = "timeout" if "timeout" not in mapping else "on_timeout"
        reader.issues.add(
            path,
            f"wait_for has no timeout branch: '{missing}' is missing",
            "add 'timeout: 3d' and 'on_timeout: <node>' so the run cannot wait forever",
            at_key=True,
        )
        return None
    timeout = reader.duration(mapping, "timeout", path, what, required=True)
    on_timeout = reader.edge(node_id, mapping, "on_timeout", path, what, required=True)
    if event_type is None or timeout is None:
        return None
    return WaitForNode(node_id, event_type, timeout, on_event, on_timeout, filter_, key)


def _branch(reader: Reader, node_id: str, mapping: dict[str, Any], path: Path) -> Node | None:
    what = "a branch node"
    example = 'e.g. branches: [{when: "...", next: node}]'
    found = reader.entries(mapping, "branches", path, what, example, ("a branch", BRANCH_FIELDS))
    default = reader.edge(node_id, mapping, "default", path, what, required=True)
    if found is None:
        return None
    branches: list[Branch] = []
    for item_path, branch in found[0]:
        when = reader.condition(branch, "when", item_path, "a branch", required=True)
        next_ = reader.edge(node_id, branch, "next", item_path, "a branch", required=True)
        if when is not None:
            branches.append(Branch(when, next_))
    return BranchNode(node_id, tuple(branches), default)


def _switch(reader: Reader, node_id: str, mapping: dict[str, Any], path: Path) -> Node | None:
    what = "a switch node"
    value = reader.condition(mapping, "value", path, what, required=True)
    example = "e.g. cases: [{equals: pro, next: node}]"
    found = reader.entries(mapping, "cases", path, what, example, ("a case", CASE_FIELDS))
    default = reader.edge(node_id, mapping, "default", path, what, required=True)
    if found is None:
        return None
    cases: list[Case] = []
    for item_path, case in found[0]:
        if "equals" not in case:
            reader.issues.add(item_path, "a case needs 'equals'", at_key=True)
        next_ = reader.edge(node_id, case, "next", item_path, "a case", required=True)
        cases.append(Case(case.get("equals"), next_))
    return SwitchNode(node_id, value, tuple(cases), default) if value is not None else None


def _split(reader: Reader, node_id: str, mapping: dict[str, Any], path: Path) -> Node | None:
    what = "a split node"
    example = "e.g. arms: [{name: a, weight: 50, next: x}, ...]"
    found = reader.entries(mapping, "arms", path, what, example, ("an arm", ARM_FIELDS))
    holdout = reader.integer(mapping, "holdout", path, what, minimum=0) or 0
    if found is None:
        return None
    entries, listed = found
    arms: list[Arm] = []
    names: set[str] = set()
    for item_path, arm in entries:
        name = reader.string(arm, "name", item_path, "an arm", required=True)
        weight = reader.integer(arm, "weight", item_path, "an arm", minimum=0)
        if weight is None and "weight" not in arm:
            reader.issues.add(item_path, "an arm needs 'weight' (percent)", at_key=True)
        next_ = reader.edge(node_id, arm, "next", item_path, "an arm", required=True)
        if name in names:
            reader.issues.add((*item_path, "name"), f"arm name {name!r} is used twice")
        if name is not None and weight is not None:
            names.add(name)
            arms.append(Arm(name, weight, next_))
    total = sum(arm.weight for arm in arms) + holdout
    if len(arms) == listed and total != 100:
        reader.issues.add(
            (*path, "arms"),
            f"split weights add up to {total}, not 100"
            + (f" (arms {total - holdout} + holdout {holdout})" if holdout else ""),
            "make the arm weights plus holdout sum to exactly 100",
        )
    return SplitNode(node_id, tuple(arms), holdout)


def _action(reader: Reader, node_id: str, mapping: dict[str, Any], path: Path) -> Node | None:
    what = "an action node"
    action = reader.string(mapping, "action", path, what, required=True)
    next_ = reader.edge(node_id, mapping, "next", path, what)
    params = mapping.get("params", {})
    if not isinstance(params, dict):
        reader.issues.add((*path, "params"), f"'params' must be a mapping, got {type_name(params)}")
        return None
    if action is None:
        return None
    if action not in ALL_ACTIONS:
        hint = did_you_mean(action, ALL_ACTIONS) or f"one of: {', '.join(sorted(ALL_ACTIONS))}"
        reader.issues.add((*path, "action"), f"unknown action {action!r}", hint)
        return None
    for group in missing_params(action, params):
        keys = " or ".join(f"'{key}'" for key in group)
        reader.issues.add(
            (*path, "params") if "params" in mapping else path,
            f"{action} needs {keys} in params",
            "see the action table in docs/workflows.md",
            at_key="params" not in mapping,
        )
    reason = params.get("reason")
    if action == "notify" and isinstance(reason, str) and reason not in NOTIFY_REASONS:
        reader.issues.add(
            (*path, "params", "reason"),
            f"unknown notification reason {reason!r}",
            did_you_mean(reason, NOTIFY_REASONS) or f"one of: {', '.join(sorted(NOTIFY_REASONS))}",
        )
    if action == "create_task" and "due" in params:
        reader.duration(params, "due", (*path, "params"), "create_task")
    choices: tuple[str, ...] = ()
    if action == SEND_BEST:
        found = send_best_channels(reader, params, (*path, "params"))
        if found is None:
            return None
        choices = found
    variants = email_variants(reader, action, params, (*path, "params"))
    if variants is None:
        return None
    templated = reader.templates(params, (*path, "params"))
    if variants:
        params = {key: value for key, value in params.items() if key != VARIANTS}
    channel = EXTERNAL_ACTIONS.get(action)
    return ActionNode(node_id, action, params, next_, channel, templated, choices, variants)


def _goal(reader: Reader, node_id: str, mapping: dict[str, Any], path: Path) -> Node | None:
    what = "a goal node"
    event_type = reader.string(mapping, "event", path, what)
    filter_ = reader.condition(mapping, "filter", path, what)
    key = reader.string(mapping, "key", path, what)
    within = reader.duration(mapping, "within", path, what)
    if event_type is None and (filter_ is not None or key or within is not None):
        reader.issues.add(
            path,
            "'filter', 'key' and 'within' need the goal's 'event'",
            "e.g. {type: goal, event: purchase, key: cart_id}",
            at_key=True,
        )
    return GoalNode(node_id, event_type, filter_, key, within)


def _exit(reader: Reader, node_id: str, mapping: dict[str, Any], path: Path) -> Node | None:
    reason = reader.string(mapping, "reason", path, "an exit node") or "exit"
    return ExitNode(node_id, reason)


_BUILDERS = {
    "wait": _wait,
    "wait_for": _wait_for,
    "branch": _branch,
    "switch": _switch,
    "split": _split,
    "action": _action,
    "goal": _goal,
    "exit": _exit,
}
