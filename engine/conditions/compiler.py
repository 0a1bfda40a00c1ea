"""Turns a syntax tree into nested Python closures, checking names, arity and literal arguments.

The compiler never evaluates user text as Python: every node becomes a closure built from the
fixed operations in values.py, paths.py and functions.py. Subtrees that are constant (literals
and pure functions of literals) are evaluated once here and become constants. `matches` patterns are
compiled with RE2 (google-re2): matching takes time linear in the text, so no pattern can backtrack
catastrophically on event data; backreferences and lookarounds are therefore not available.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

import re2

from engine.conditions import values
from engine.conditions.exceptions import ConditionError
from engine.conditions.functions import FUNCTIONS, FunctionSpec
from engine.conditions.lexer import KEYWORDS
from engine.conditions.nodes import (
    Binary,
    Call,
    Exists,
    ListLiteral,
    Literal,
    Logical,
    Matches,
    Node,
    Path,
    Unary,
)
from engine.conditions.parser import parse
from engine.conditions.paths import ROOTS, path_evaluator
from engine.conditions.scope import Evaluator, Scope
from engine.durations import DAY, HOUR, DurationError, format_duration, parse_duration
from engine.windowed_counts import MAX_WINDOW_MS, MIN_WINDOW_MS

MAX_PATTERN_LENGTH: Final = 500
_RE2_OPTIONS: Final = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern is reported to the author, not logged to stderr
KNOWN_FUNCTIONS: Final = tuple(sorted({*FUNCTIONS, "exists"}))
_EMPTY_SCOPE: Final = Scope()
_TEXT_EXAMPLES: Final = {
    "has_tag": "'vip'",
    "in_workflow": "'welcome'",
    "rate": "'email.clicked', 'email.sent'",
}

_WINDOW_BOUNDS: Final = f"windows go from {MIN_WINDOW_MS // HOUR}h to {MAX_WINDOW_MS // DAY}d"

_BINARY: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "==": values.equals,
    "!=": lambda left, right: not values.equals(left, right),
    "<": values.less,
    "<=": values.less_equal,
    ">": values.greater,
    ">=": values.greater_equal,
    "in": values.member,
    "not in": lambda left, right: not values.member(left, right),
    "contains": lambda left, right: values.member(right, left),
    "not contains": lambda left, right: not values.member(right, left),
    "+": values.add,
    "-": values.subtract,
    "*": values.multiply,
    "/": values.divide,
}
# Fast versions of ordering tests against a number constant, used when the left value is a plain number.
_NUMERIC_TESTS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}
_BOOLEAN_RESULTS: Final = frozenset(
    {"==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "not contains"}
)


class Condition:
    """A compiled condition. Immutable and safe to share between threads and workflows."""

    __slots__ = ("_test", "_value", "node", "references", "source", "windows")

    def __init__(
        self,
        source: str,
        references: frozenset[str],
        node: Node,
        value: Evaluator,
        test: Evaluator,
        windows: frozenset[tuple[str, int]] = frozenset(),
    ):
        self.source = source
        self.references = references
        self.windows = windows  # (event type, window ms) of its windowed count()/rate() calls
        self.node = node
        self._value = value
        self._test = test

    def evaluate(self, scope: Scope) -> bool:
        """Whether the condition holds; missing data counts as null and never raises."""
        result: bool = self._test(scope)
        return result

    def value(self, scope: Scope) -> Any:
        """The raw value of the expression (for switch branches and score expressions)."""
        return self._value(scope)

    def __repr__(self) -> str:
        return f"Condition({self.source!r})"


def compile_condition(source: object) -> Condition:
    """Parse and compile ``source`` (cached); raises ConditionError (with position and hint) when invalid."""
    if not isinstance(source, str):
        raise ConditionError(f"a condition must be text, not {type(source).__name__}", 0, "")
    return _compile_short(source) if len(source) <= SHORT_SOURCE else _compile_long(source)


# Two caches, so that memory is bounded by size and not only by count: a compiled condition takes about 50
# bytes per character of source (a 10,000-character one about 0.5 MiB), so 4,096 long ones would be 2 GiB.
SHORT_SOURCE: Final = 500


@lru_cache(maxsize=4096)
def _compile_short(source: str) -> Condition:
    return compile_uncached(source)


@lru_cache(maxsize=64)
def _compile_long(source: str) -> Condition:
    return compile_uncached(source)


def compile_uncached(source: str) -> Condition:
    """Compile without the cache (tests use it to check that compiling is deterministic)."""
    node = parse(source)
    compiler = _Compiler(source)
    evaluator, _ = compiler.compile(node)
    test = evaluator if _returns_bool(node) else _as_test(evaluator)
    return Condition(
        source, frozenset(compiler.references), node, evaluator, test, frozenset(compiler.windows)
    )


def _as_test(evaluator: Evaluator) -> Evaluator:
    truthy = values.truthy
    return lambda scope: truthy(evaluator(scope))


def _returns_bool(node: Node) -> bool:
    if isinstance(node, (Logical, Exists, Matches)):
        return True
    if isinstance(node, Unary):
        return node.op == "not"
    if isinstance(node, Binary):
        return node.op in _BOOLEAN_RESULTS
    if isinstance(node, Call):
        return node.name in ("has_tag", "in_workflow")
    return isinstance(node, Literal) and isinstance(node.value, bool)


def _constant(value: Any) -> Evaluator:
    return lambda scope: value


class _Compiler:
    def __init__(self, source: str) -> None:
        self.source = source
        self.references: set[str] = set()
        self.windows: set[tuple[str, int]] = set()  # (event type, window ms) of windowed count/rate calls

    def error(self, message: str, position: int, hint: str | None = None) -> ConditionError:
        return ConditionError(message, position, self.source, hint)

    def compile(self, node: Node) -> tuple[Evaluator, bool]:
        """The node's evaluator and whether it is constant (independent of the scope)."""
        if isinstance(node, Literal):
            return _constant(node.value), True
        if isinstance(node, ListLiteral):
            return self.compile_list(node)
        if isinstance(node, Path):
            return self.compile_path(node), False
        if isinstance(node, Call):
            return self.compile_call(node)
        if isinstance(node, Unary):
            return self.compile_unary(node)
        if isinstance(node, Binary):
            return self.compile_binary(node)
        if isinstance(node, Logical):
            return self.compile_logical(node)
        if isinstance(node, Exists):
            return self.compile_exists(node)
        return self.compile_matches(node)

    def fold(self, evaluator: Evaluator, constant: bool) -> tuple[Evaluator, bool]:
        if constant:
            return _constant(evaluator(_EMPTY_SCOPE)), True
        return evaluator, False

    def compile_list(self, node: ListLiteral) -> tuple[Evaluator, bool]:
        compiled = [self.compile(item) for item in node.items]
        items = tuple(evaluator for evaluator, _ in compiled)
        if all(const for _, const in compiled):
            # A constant list is shared by every evaluation, so it is made immutable.
            return _constant(tuple(item(_EMPTY_SCOPE) for item in items)), True
        return (lambda scope: [item(scope) for item in items]), False

    def compile_path(self, node: Path) -> Evaluator:
        if node.root not in ROOTS:
            raise self.unknown_name(node)
        if node.root == "now" and node.segments:
            raise self.error("'now' is a time (epoch ms) and has no fields", node.position)
        self.references.add(node.dotted)
        return path_evaluator(node.root, node.segments)

    def unknown_name(self, node: Path) -> ConditionError:
        name = node.root
        if name.lower() in KEYWORDS:
            hint = f"did you mean {name.lower()!r}?"
        elif name in ("None", "NULL", "nil"):
            hint = "did you mean 'null'?"
        else:
            close = difflib.get_close_matches(name, [*ROOTS, *KNOWN_FUNCTIONS], n=1, cutoff=0.75)
            if close:
                hint = f"did you mean {close[0]!r}?"
            elif not node.segments:
                hint = f"text values need quotes: '{name}'; data starts with contact., event., run. or now"
            else:
                hint = "data starts with contact., event., run. or now"
        return self.error(f"unknown name {name!r}", node.position, hint)

    def compile_call(self, node: Call) -> tuple[Evaluator, bool]:
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            raise self.unknown_function(node)
        if not spec.min_args <= len(node.args) <= spec.max_args:
            raise self.error(
                f"{spec.name}() takes {spec.arity} ({len(node.args)} given)",
                node.position,
                spec.summary,
            )
        self.check_literal_args(spec, node)
        if spec.window_arg is not None and len(node.args) > spec.window_arg:
            window_ms = self.check_window(spec, node, spec.window_arg)
            compiled = [self.compile(arg) for arg in node.args[: spec.window_arg]]
            compiled.append((_constant(window_ms), True))
        else:
            compiled = [self.compile(arg) for arg in node.args]
        self.references.update(spec.reads)
        evaluator = spec.build(tuple(evaluator for evaluator, _ in compiled))
        return self.fold(evaluator, spec.pure and all(const for _, const in compiled))

    def unknown_function(self, node: Call) -> ConditionError:
        if node.name in ROOTS:
            return self.error(
                f"{node.name!r} is not a function", node.position, f"write {node.name} without ()"
            )
        close = difflib.get_close_matches(node.name, KNOWN_FUNCTIONS, n=1, cutoff=0.6)
        known = ", ".join(KNOWN_FUNCTIONS)
        hint = f"did you mean {close[0]!r}? known: {known}" if close else f"known: {known}"
        return self.error(f"unknown function {node.name!r}", node.position, hint)

    def check_literal_args(self, spec: FunctionSpec, node: Call) -> None:
        for index, arg in enumerate(node.args):
            if not isinstance(arg, Literal):
                continue
            if index in spec.text_args and not isinstance(arg.value, str):
                raise self.error(
                    f"{spec.name}() needs quoted text here",
                    arg.position,
                    f"e.g. {spec.name}({_TEXT_EXAMPLES.get(spec.name, repr('email.opened'))})",
                )
            if index in spec.date_args and isinstance(arg.value, str) and values.as_time(arg.value) is None:
                raise self.error(
                    f"not a date: {arg.value!r}",
                    arg.position,
                    "use ISO 8601: '2026-01-31' or '2026-01-31T09:30:00Z'",
                )

    def check_window(self, spec: FunctionSpec, node: Call, index: int) -> int:
        """The window of a windowed count/rate in ms. Its event types must be quoted text: the engine keeps
        buckets only for the types that loaded workflows name."""
        example = f"e.g. {spec.name}({_TEXT_EXAMPLES.get(spec.name, repr('page.viewed'))}, '7d')"
        event_types: list[str] = []
        for arg in node.args[:index]:
            if not (isinstance(arg, Literal) and isinstance(arg.value, str)):
                message = f"a windowed {spec.name}() needs the event type as quoted text"
                raise self.error(message, arg.position, example)
            event_types.append(arg.value)
        window = node.args[index]
        if not isinstance(window, Literal):
            message = f"the window of {spec.name}() must be a literal duration"
            raise self.error(message, window.position, f"{example}; {_WINDOW_BOUNDS}")
        ms = self.window_ms(spec, window)
        self.windows.update((event_type, ms) for event_type in event_types)
        return ms

    def window_ms(self, spec: FunctionSpec, window: Literal) -> int:
        value = window.value
        if isinstance(value, str):
            written = repr(value)
            try:
                ms = parse_duration(value)
            except DurationError:
                hint = f"write a number and a unit: '30m', '24h', '7d' or '2w'; {_WINDOW_BOUNDS}"
                raise self.error(f"not a duration: {value!r}", window.position, hint) from None
        elif isinstance(value, int) and not isinstance(value, bool):
            ms = value  # a bare duration literal (7d) is milliseconds already
            written = format_duration(ms) if ms >= 0 else str(ms)
        else:
            message = f"the window of {spec.name}() must be a duration such as '7d'"
            raise self.error(message, window.position, _WINDOW_BOUNDS)
        if ms < MIN_WINDOW_MS:
            hint = f"{_WINDOW_BOUNDS}: events are counted in hourly buckets"
            raise self.error(f"window too short: {written}", window.position, hint)
        if ms > MAX_WINDOW_MS:
            hint = f"{_WINDOW_BOUNDS}; without a window, {spec.name}() uses all history"
            raise self.error(f"window too long: {written}", window.position, hint)
        return ms

    def compile_unary(self, node: Unary) -> tuple[Evaluator, bool]:
        operand, constant = self.compile(node.operand)
        if node.op == "not":
            truthy = values.truthy
            return self.fold(lambda scope: not truthy(operand(scope)), constant)
        negate = values.negate
        return self.fold(lambda scope: negate(operand(scope)), constant)

    def compile_binary(self, node: Binary) -> tuple[Evaluator, bool]:
        left, left_constant = self.compile(node.left)
        right, right_constant = self.compile(node.right)
        operation = _BINARY[node.op]
        if left_constant and right_constant:
            return self.fold(lambda scope: operation(left(scope), right(scope)), True)
        if right_constant:
            return _with_constant_right(node.op, operation, left, right(_EMPTY_SCOPE)), False
        return (lambda scope: operation(left(scope), right(scope))), False

    def compile_logical(self, node: Logical) -> tuple[Evaluator, bool]:
        compiled = [self.compile(operand) for operand in node.operands]
        operands = tuple(evaluator for evaluator, _ in compiled)
        constant = all(const for _, const in compiled)
        truthy = values.truthy
        # Plain loops rather than all()/any(): no generator object is allocated per evaluation.
        if node.op == "and":

            def all_true(scope: Scope) -> bool:
                for operand in operands:  # noqa: SIM110
                    if not truthy(operand(scope)):
                        return False
                return True

            return self.fold(all_true, constant)

        def any_true(scope: Scope) -> bool:
            for operand in operands:  # noqa: SIM110
                if truthy(operand(scope)):
                    return True
            return False

        return self.fold(any_true, constant)

    def compile_exists(self, node: Exists) -> tuple[Evaluator, bool]:
        operand, constant = self.compile(node.operand)
        if node.negated:
            return self.fold(lambda scope: operand(scope) is None, constant)
        return self.fold(lambda scope: operand(scope) is not None, constant)

    def compile_matches(self, node: Matches) -> tuple[Evaluator, bool]:
        operand, constant = self.compile(node.operand)
        if len(node.pattern) > MAX_PATTERN_LENGTH:
            raise self.error(
                "pattern too long", node.position, f"keep patterns under {MAX_PATTERN_LENGTH} characters"
            )
        try:
            pattern = re2.compile(node.pattern, _RE2_OPTIONS)
        except re2.error as exc:
            reason = (
                exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
            )
            raise self.error(
                f"invalid pattern: {reason}",
                node.position,
                "patterns use RE2 syntax (linear time): no backreferences or lookarounds",
            ) from None
        search = pattern.search
        negated = node.negated

        def matches(scope: Scope) -> bool:
            value = operand(scope)
            if not isinstance(value, str):
                return False
            return (search(value) is None) if negated else (search(value) is not None)

        return self.fold(matches, constant)


def _with_constant_right(
    op: str, operation: Callable[[Any, Any], Any], left: Evaluator, constant: Any
) -> Evaluator:
    """Specialised evaluators for the common ``path <op> literal`` shape; same results as the generic one."""
    if op in ("==", "!=") and type(constant) in (str, int, float):
        kind = type(constant)
        equal = op == "=="

        def compare_equal(scope: Scope) -> bool:
            value = left(scope)
            if type(value) is kind:
                return (value == constant) is equal
            return values.equals(value, constant) is equal

        return compare_equal
    if op in _NUMERIC_TESTS and type(constant) in (int, float):
        fast = _NUMERIC_TESTS[op]

        def compare_number(scope: Scope) -> bool:
            value = left(scope)
            if type(value) is int or type(value) is float:
                return fast(value, constant)
            return bool(operation(value, constant))

        return compare_number
    if (
        op in ("in", "not in")
        and type(constant) in (list, tuple)
        and all(type(item) is str for item in constant)
    ):
        strings = frozenset(constant)
        inside = op == "in"

        def in_strings(scope: Scope) -> bool:
            value = left(scope)
            if type(value) is str:
                return (value in strings) is inside
            return bool(operation(value, constant))

        return in_strings
    return lambda scope: operation(left(scope), constant)
