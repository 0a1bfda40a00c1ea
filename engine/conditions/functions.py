"""The functions a condition may call: name, arity, what each reads, and how it is built into an evaluator.

Each builder receives the argument evaluators and returns one evaluator. Functions marked ``pure`` depend
only on their arguments, so the compiler folds them to a constant when the arguments are constant.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from engine import affinity as content
from engine.conditions import values
from engine.conditions.dates import local_time
from engine.conditions.paths import affinity_bag, count_of, ratio
from engine.conditions.scope import Evaluator, Scope
from engine.durations import DAY, HOUR
from engine.windowed_counts import count_in

Builder = Callable[[tuple[Evaluator, ...]], Evaluator]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    min_args: int
    max_args: int
    build: Builder
    summary: str
    pure: bool = False
    reads: frozenset[str] = frozenset()
    # Argument positions that must be strings when written as literals (event types, tags, ids).
    text_args: tuple[int, ...] = ()
    # Argument positions that must be dates when written as literals.
    date_args: tuple[int, ...] = ()
    # The position of an optional last argument that is a window (a literal duration, checked and turned
    # into milliseconds by the compiler); when given, the text arguments must be literals too.
    window_arg: int | None = None

    @property
    def arity(self) -> str:
        if self.min_args == self.max_args:
            return f"{self.min_args} argument" + ("" if self.min_args == 1 else "s")
        if self.max_args >= MAX_ARGS:
            return f"at least {self.min_args} argument" + ("" if self.min_args == 1 else "s")
        return f"{self.min_args} to {self.max_args} arguments"


MAX_ARGS: Final = 32


def _date(args: tuple[Evaluator, ...]) -> Evaluator:
    (arg,) = args
    return lambda scope: values.as_time(arg(scope))


def _has_tag(args: tuple[Evaluator, ...]) -> Evaluator:
    (arg,) = args

    def has_tag(scope: Scope) -> bool:
        tag = arg(scope)
        tags = values.child(scope.contact, "tags")
        if type(tags) is list and type(tag) is str:
            return tag in tags
        return values.member(tag, tags)

    return has_tag


def _in_workflow(args: tuple[Evaluator, ...]) -> Evaluator:
    (arg,) = args

    def in_workflow(scope: Scope) -> bool:
        workflow_id = arg(scope)
        if not isinstance(workflow_id, str):
            return False
        try:
            return workflow_id in scope.workflows
        except TypeError:
            return False

    return in_workflow


def _count(args: tuple[Evaluator, ...]) -> Evaluator:
    if len(args) == 2:
        event_type, window = args
        return lambda scope: count_in(scope.buckets, event_type(scope), window(scope), scope.now)
    (arg,) = args
    return lambda scope: count_of(scope, arg(scope))


def _last(args: tuple[Evaluator, ...]) -> Evaluator:
    (arg,) = args

    def last(scope: Scope) -> Any:
        event_type = arg(scope)
        if not isinstance(event_type, str):
            return None
        return values.as_time(values.child(values.child(scope.contact, "last_by_type"), event_type))

    return last


def _rate(args: tuple[Evaluator, ...]) -> Evaluator:
    if len(args) == 3:
        return _windowed_rate(args)
    numerator, denominator = args
    return lambda scope: ratio(scope, numerator(scope), denominator(scope))


def _windowed_rate(args: tuple[Evaluator, ...]) -> Evaluator:
    numerator, denominator, window = args

    def rate(scope: Scope) -> float:
        ms = window(scope)
        below = count_in(scope.buckets, denominator(scope), ms, scope.now)
        if below <= 0:
            return 0.0
        return count_in(scope.buckets, numerator(scope), ms, scope.now) / below

    return rate


def _since(unit: int) -> Builder:
    def build(args: tuple[Evaluator, ...]) -> Evaluator:
        (arg,) = args

        def since(scope: Scope) -> Any:
            then = values.as_time(arg(scope))
            now = values.as_time(scope.now)
            if then is None or now is None:
                return None
            return (now - then) // unit

        return since

    return build


def _local(part: Callable[[Any], int]) -> Builder:
    def build(args: tuple[Evaluator, ...]) -> Evaluator:
        moment = args[0] if args else None

        def local(scope: Scope) -> Any:
            ms = values.as_time(moment(scope) if moment is not None else scope.now)
            if ms is None:
                return None
            zone_name = values.child(values.child(scope.contact, "attrs"), "timezone")
            wall = local_time(ms, zone_name)
            return None if wall is None else part(wall)

        return local

    return build


def _text(transform: Callable[[str], str]) -> Builder:
    def build(args: tuple[Evaluator, ...]) -> Evaluator:
        (arg,) = args

        def text(scope: Scope) -> Any:
            value = arg(scope)
            return transform(value) if isinstance(value, str) else None

        return text

    return build


def _length(args: tuple[Evaluator, ...]) -> Evaluator:
    (arg,) = args
    return lambda scope: values.length(arg(scope))


def _coalesce(args: tuple[Evaluator, ...]) -> Evaluator:
    def coalesce(scope: Scope) -> Any:
        for arg in args:
            value = arg(scope)
            if value is not None:
                return value
        return None

    return coalesce


def _extreme(pick_greater: bool) -> Builder:
    def build(args: tuple[Evaluator, ...]) -> Evaluator:
        def extreme(scope: Scope) -> Any:
            best: int | float | None = None
            for arg in args:
                number = values.as_number(arg(scope))
                if number is None or number != number:
                    continue
                if best is None or (number > best if pick_greater else number < best):
                    best = number
            return best

        return extreme

    return build


def _abs(args: tuple[Evaluator, ...]) -> Evaluator:
    (arg,) = args

    def absolute(scope: Scope) -> Any:
        number = values.as_number(arg(scope))
        return None if number is None else abs(number)

    return absolute


def _top_topics(args: tuple[Evaluator, ...]) -> Evaluator:
    count = args[0] if args else None

    def top_topics(scope: Scope) -> list[str]:
        n = values.as_number(count(scope)) if count is not None else content.DEFAULT_TOP
        if type(n) is not int:
            return []
        return content.top_topics(affinity_bag(scope), min(n, content.MAX_TOPICS))

    return top_topics


def _round(args: tuple[Evaluator, ...]) -> Evaluator:
    def rounded(scope: Scope) -> Any:
        number = values.as_number(args[0](scope))
        places = values.as_number(args[1](scope)) if len(args) > 1 else 0
        if number is None or not isinstance(places, int) or not -20 <= places <= 20:
            return None
        if isinstance(number, float) and not math.isfinite(number):
            return None
        result = round(number, places)
        return int(result) if places <= 0 else result

    return rounded


_WHEN = "defaults to now, read in the contact's attrs.timezone (UTC if missing or unknown)"
_TIMEZONE_READS = frozenset({"contact.timezone", "now"})

FUNCTIONS: Final[dict[str, FunctionSpec]] = {
    spec.name: spec
    for spec in (
        FunctionSpec("date", 1, 1, _date, "a date/datetime (ISO text or epoch ms) as epoch ms", pure=True,
                     date_args=(0,)),
        FunctionSpec("has_tag", 1, 1, _has_tag, "true when the contact has this tag",
                     reads=frozenset({"contact.tags"}), text_args=(0,)),
        FunctionSpec("in_workflow", 1, 1, _in_workflow, "true when the contact is in a live run of it",
                     reads=frozenset({"workflows"}), text_args=(0,)),
        FunctionSpec("count", 1, 2, _count,
                     "how many events of this type the contact has (0 if none); with a window such as '7d', "
                     "only those in the last 7 days of event time",
                     reads=frozenset({"contact.counts"}), text_args=(0,), window_arg=1),
        FunctionSpec("last", 1, 1, _last, "time (epoch ms) of the contact's last event of this type, or null",
                     reads=frozenset({"contact.last_by_type"}), text_args=(0,)),
        FunctionSpec("rate", 2, 3, _rate,
                     "count(a) / count(b), 0 when count(b) is 0; with a window such as '30d', over it",
                     reads=frozenset({"contact.counts"}), text_args=(0, 1), window_arg=2),
        FunctionSpec("days_since", 1, 1, _since(DAY), "whole days from a time to now (floored)",
                     reads=frozenset({"now"})),
        FunctionSpec("hours_since", 1, 1, _since(HOUR), "whole hours from a time to now (floored)",
                     reads=frozenset({"now"})),
        FunctionSpec("hour_of_day", 0, 1, _local(lambda wall: wall.hour), f"local hour 0-23; {_WHEN}",
                     reads=_TIMEZONE_READS),
        FunctionSpec("day_of_week", 0, 1, _local(lambda wall: wall.isoweekday()),
                     f"local day 1 (Monday) to 7 (Sunday); {_WHEN}", reads=_TIMEZONE_READS),
        FunctionSpec("top_topics", 0, 1, _top_topics,
                     f"the contact's n topics of highest content affinity, best first (default "
                     f"{content.DEFAULT_TOP}); only topics it engaged with",
                     reads=frozenset({"contact.affinity"})),
        FunctionSpec("lower", 1, 1, _text(str.lower), "text in lower case", pure=True),
        FunctionSpec("upper", 1, 1, _text(str.upper), "text in upper case", pure=True),
        FunctionSpec("length", 1, 1, _length, "length of a text, list or object", pure=True),
        FunctionSpec("coalesce", 1, MAX_ARGS, _coalesce, "the first argument that is not null", pure=True),
        FunctionSpec("min", 1, MAX_ARGS, _extreme(False), "the smallest number (nulls ignored)", pure=True),
        FunctionSpec("max", 1, MAX_ARGS, _extreme(True), "the largest number (nulls ignored)", pure=True),
        FunctionSpec("abs", 1, 1, _abs, "absolute value", pure=True),
        FunctionSpec("round", 1, 2, _round, "round to a number of decimal places (default 0)", pure=True),
    )
}  # fmt: skip
