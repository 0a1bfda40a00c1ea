"""Compile the ``trigger`` section of a definition into model triggers."""

from __future__ import annotations

from typing import Any

from engine.compile_common import Reader, type_name
from engine.cron import CronError, parse_cron
from engine.model import (
    ConditionTrigger,
    DateTrigger,
    EventTrigger,
    InactivityTrigger,
    ScheduleTrigger,
    ScoreTrigger,
    Trigger,
)
from engine.parser import Path
from engine.timecalc import UTC, is_known_zone, parse_date_value

TRIGGER_KINDS = ("event", "schedule", "at", "date", "inactivity", "condition", "score")
TRIGGER_FIELDS: dict[str, frozenset[str]] = {
    "event": frozenset({"event", "filter", "times", "within"}),
    "schedule": frozenset({"schedule", "timezone", "filter"}),
    "at": frozenset({"at", "filter"}),
    "date": frozenset({"date", "before", "after", "event", "key", "cancel_on", "filter"}),
    "inactivity": frozenset({"inactivity", "events", "filter"}),
    "condition": frozenset({"condition"}),
    "score": frozenset({"score", "above", "filter"}),
}
DATE_PREFIXES = ("contact.", "event.", "run.vars.")


MAX_TIMES = 100


def _window(reader: Reader, mapping: dict[str, Any], path: Path, what: str) -> tuple[int, int]:
    """An event trigger's `times` and `within` (both or neither); (1, 0) without them."""
    if "times" not in mapping and "within" not in mapping:
        return 1, 0
    if "times" not in mapping or "within" not in mapping:
        reader.issues.add(
            path, "`times` and `within` go together", "e.g. {event: page.viewed, times: 3, within: 7d}"
        )
        return 1, 0
    times = reader.integer(mapping, "times", path, what, minimum=2)
    within = reader.duration(mapping, "within", path, what)
    if times is None or within is None:
        return 1, 0
    if within <= 0 or times > MAX_TIMES:
        reader.issues.add(path, f"`times` goes up to {MAX_TIMES} and `within` must be a positive duration")
        return 1, 0
    return times, within


def compile_triggers(reader: Reader, value: Any, path: Path) -> tuple[Trigger, ...]:
    if value is None:
        reader.issues.add(
            path[:-1], "a workflow needs a 'trigger'", "e.g. trigger: {event: contact.added}", at_key=True
        )
        return ()
    items = value if isinstance(value, list) else [value]
    if not items:
        reader.issues.add(path, "the trigger list is empty", "add at least one trigger")
    triggers: list[Trigger] = []
    for index, item in enumerate(items):
        item_path = (*path, index) if isinstance(value, list) else path
        trigger = compile_trigger(reader, item, item_path)
        if trigger is not None:
            triggers.append(trigger)
    return tuple(triggers)


def compile_trigger(reader: Reader, value: Any, path: Path) -> Trigger | None:
    mapping = reader.mapping(value, path, "a trigger")
    if mapping is None:
        return None
    kinds = [
        kind for kind in TRIGGER_KINDS if kind in mapping and not (kind == "event" and "date" in mapping)
    ]
    if len(kinds) != 1:
        before = len(reader.issues.issues)
        if not kinds:
            reader.check_fields(mapping, path, frozenset().union(*TRIGGER_FIELDS.values()), "a trigger")
        if len(reader.issues.issues) == before:  # a misspelt kind is already reported with a did-you-mean
            found = f"found {', '.join(kinds)}" if kinds else "found none"
            reader.issues.add(
                path,
                f"a trigger needs exactly one of {', '.join(TRIGGER_KINDS)} ({found})",
                "e.g. {event: cart.created} or {inactivity: 30d, events: [email.opened]}",
            )
        return None
    kind = kinds[0]
    reader.check_fields(mapping, path, TRIGGER_FIELDS[kind], f"a {kind} trigger")
    what = f"a {kind} trigger"
    filter_ = reader.condition(mapping, "filter", path, what)
    if kind == "event":
        event_type = reader.string(mapping, "event", path, what, required=True)
        times, within = _window(reader, mapping, path, what)
        return EventTrigger(event_type, filter_, times=times, within_ms=within) if event_type else None
    if kind == "schedule":
        return _schedule(reader, mapping, path, filter_)
    if kind == "at":
        at = parse_date_value(mapping["at"], UTC)
        if at is None or isinstance(mapping["at"], bool):
            reader.issues.add(
                (*path, "at"),
                f"'at' must be an ISO 8601 time or epoch ms, got {mapping['at']!r}",
                'e.g. at: "2026-05-01T09:00:00Z"',
            )
            return None
        return ScheduleTrigger(None, at, "UTC", filter_)
    if kind == "date":
        return _date(reader, mapping, path, filter_)
    if kind == "inactivity":
        duration = reader.duration(mapping, "inactivity", path, what, required=True)
        events = reader.string_list(mapping, "events", path, what)
        if events is None and "events" not in mapping:
            reader.issues.add(
                path,
                "an inactivity trigger needs 'events' (the activity that counts)",
                "e.g. events: [email.opened, email.clicked, page.viewed]",
                at_key=True,
            )
        if duration is None or not events:
            return None
        return InactivityTrigger(duration, events, filter_)
    if kind == "condition":
        condition = reader.condition(mapping, "condition", path, what, required=True)
        return ConditionTrigger(condition) if condition is not None else None
    name = reader.string(mapping, "score", path, what, required=True)
    above = mapping.get("above")
    if isinstance(above, bool) or not isinstance(above, (int, float)):
        reader.issues.add(
            (*path, "above") if "above" in mapping else path,
            f"a score trigger needs a numeric 'above' threshold, got {type_name(above)}",
            "e.g. {score: churn_risk, above: 0.7}",
            at_key="above" not in mapping,
        )
        return None
    return ScoreTrigger(name, float(above), filter_) if name else None


def _schedule(reader: Reader, mapping: dict[str, Any], path: Path, filter_: Any) -> Trigger | None:
    cron = reader.string(mapping, "schedule", path, "a schedule trigger", required=True)
    timezone = mapping.get("timezone", "UTC")
    if not isinstance(timezone, str) or not (timezone == "contact" or is_known_zone(timezone)):
        reader.issues.add(
            (*path, "timezone"),
            f"unknown timezone {timezone!r}",
            "use an IANA name such as Europe/Paris, or 'contact' for the contact's timezone",
        )
        return None
    if cron is None:
        return None
    try:
        parse_cron(cron)
    except CronError as err:
        reader.issues.add(
            (*path, "schedule"),
            f"bad cron expression {cron!r}: {err}",
            "5 fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * mon'",
        )
        return None
    return ScheduleTrigger(cron, None, timezone, filter_)


def offset_of(reader: Reader, mapping: dict[str, Any], path: Path, what: str) -> int:
    if "before" in mapping and "after" in mapping:
        reader.issues.add(path, f"{what} takes 'before' or 'after', not both")
        return 0
    before = reader.duration(mapping, "before", path, what)
    after = reader.duration(mapping, "after", path, what)
    return -before if before is not None else (after or 0)


def _date(reader: Reader, mapping: dict[str, Any], path: Path, filter_: Any) -> Trigger | None:
    what = "a date trigger"
    date_path = reader.string(mapping, "date", path, what, required=True)
    offset = offset_of(reader, mapping, path, what)
    events = reader.string_list(mapping, "event", path, what) or ()
    cancel_on = reader.string_list(mapping, "cancel_on", path, what) or ()
    key = reader.string(mapping, "key", path, what)
    if date_path is None:
        return None
    if (
        not date_path.startswith(("contact.", "event."))
        or date_path.count(".") < 1
        or date_path.endswith(".")
    ):
        reader.issues.add(
            (*path, "date"),
            f"'date' must be contact.<attribute> or event.<property>, got {date_path!r}",
            "e.g. date: contact.renewal_date, or date: event.due_at with event: task.created",
        )
        return None
    if date_path.startswith("event.") and not events:
        reader.issues.add(
            path,
            "a date trigger on an event property needs 'event' (the event types that carry it)",
            "e.g. event: [task.created, task.updated]",
            at_key=True,
        )
        return None
    if date_path.startswith("contact.") and (events or key or cancel_on):
        reader.issues.add(
            path,
            "'event', 'key' and 'cancel_on' only apply to dates taken from events",
            "remove them, or use date: event.<property>",
        )
        return None
    return DateTrigger(date_path, offset, events, key, cancel_on, filter_)
