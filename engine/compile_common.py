"""Typed field readers used while compiling a definition: each bad value becomes a located issue."""

from __future__ import annotations

from typing import Any

from engine.conditions import ConditionError, compile_condition
from engine.durations import DurationError, parse_duration
from engine.issues import IssueCollector, did_you_mean
from engine.model import Condition
from engine.parser import Document, Path, position_in_scalar
from engine.templates import TemplateError, check_template

_MISSING = object()
TEMPLATE_MARKERS = ("{{", "{%", "{#")


def open_document(
    document: Document, what: str, fields: str
) -> tuple[IssueCollector, Reader, dict[str, Any] | None]:
    """The issue collector and reader of a document, and its top-level mapping: None (reported as an
    issue naming ``what`` and its main ``fields``) when the document is not a mapping."""
    issues = IssueCollector(document)
    data = document.data
    if not isinstance(data, dict):
        issues.add((), f"{what} must be a mapping ({fields} ...)")
        return issues, Reader(issues), None
    return issues, Reader(issues), data


class Reader:
    """Reads fields of mappings in one document, reporting problems to ``issues``."""

    def __init__(self, issues: IssueCollector) -> None:
        self.issues = issues
        self.edges: list[tuple[str, Path, str]] = []  # (from node, path of the edge, target node)
        self._conditions: dict[str, Condition] = {}

    def mapping(self, value: Any, path: Path, what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.issues.add(path, f"{what} must be a mapping, got {type_name(value)}")
        return None

    def check_fields(self, mapping: dict[str, Any], path: Path, allowed: frozenset[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed) or f"known fields: {', '.join(sorted(allowed))}"
                self.issues.add((*path, key), f"unknown field '{key}' in {what}", hint, at_key=True)

    def require(
        self, mapping: dict[str, Any], key: str, path: Path, what: str, hint: str | None = None
    ) -> Any:
        value = mapping.get(key, _MISSING)
        if value is _MISSING or value is None:
            self.issues.add(path, f"{what} needs '{key}'", hint, at_key=True)
            return None
        return value

    def entries(
        self,
        mapping: dict[str, Any],
        key: str,
        path: Path,
        what: str,
        example: str,
        item: tuple[str, frozenset[str]],
    ) -> tuple[list[tuple[Path, dict[str, Any]]], int] | None:
        """The mappings of the non-empty list under ``key`` (each checked against its allowed fields), with
        the list's length; None when the list is missing or not a non-empty list."""
        items = self.require(mapping, key, path, what, example)
        if items is None:
            return None
        if not isinstance(items, list) or not items:
            self.issues.add((*path, key), f"'{key}' must be a non-empty list, got {type_name(items)}")
            return None
        item_what, fields = item
        found: list[tuple[Path, dict[str, Any]]] = []
        for index, value in enumerate(items):
            item_path = (*path, key, index)
            entry = self.mapping(value, item_path, item_what)
            if entry is not None:
                self.check_fields(entry, item_path, fields, item_what)
                found.append((item_path, entry))
        return found, len(items)

    def string(
        self, mapping: dict[str, Any], key: str, path: Path, what: str, required: bool = False
    ) -> str | None:
        value = self.require(mapping, key, path, what) if required else mapping.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.issues.add((*path, key), f"'{key}' must be a non-empty string, got {type_name(value)}")
            return None
        return value

    def integer(
        self, mapping: dict[str, Any], key: str, path: Path, what: str, minimum: int | None = None
    ) -> int | None:
        value = mapping.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.issues.add((*path, key), f"'{key}' must be an integer, got {type_name(value)}")
            return None
        if minimum is not None and value < minimum:
            self.issues.add((*path, key), f"'{key}' must be at least {minimum}, got {value}")
            return None
        return value

    def duration(
        self, mapping: dict[str, Any], key: str, path: Path, what: str, required: bool = False
    ) -> int | None:
        value = self.require(mapping, key, path, what) if required else mapping.get(key)
        if value is None:
            return None
        try:
            return parse_duration(value)
        except DurationError as err:
            self.issues.add((*path, key), f"'{key}': {err}", "write a duration such as 30m, 2h, 3d or 1w")
            return None

    def string_list(self, mapping: dict[str, Any], key: str, path: Path, what: str) -> tuple[str, ...] | None:
        value = mapping.get(key)
        if value is None:
            return None
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
            self.issues.add((*path, key), f"'{key}' must be a string or a list of strings")
            return None
        return tuple(items)

    def condition(
        self, mapping: dict[str, Any], key: str, path: Path, what: str, required: bool = False
    ) -> Condition | None:
        value = self.require(mapping, key, path, what) if required else mapping.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str):
            self.issues.add((*path, key), f"'{key}' must be a condition (a string), got {type_name(value)}")
            return None
        return self.compile(value, (*path, key))

    def compile(self, source: str, path: Path) -> Condition | None:
        cached = self._conditions.get(source)
        if cached is not None:
            return cached
        try:
            compiled: Condition = compile_condition(source)
        except ConditionError as err:
            mark = self.issues.document.marks.get(path)
            line = column = None
            if mark is not None:
                line, column = position_in_scalar(mark, source, err.position)
            self.issues.add(
                path,
                f"condition does not parse: {err.message} at {err.position + 1} in {source!r}",
                err.hint or "see docs/workflows.md and the condition language reference",
                line=line,
                column=column,
            )
            return None
        self._conditions[source] = compiled
        return compiled

    def count_windows(self) -> tuple[tuple[str, int], ...]:
        """(event type, largest window ms) over the windowed count()/rate() calls of every condition read."""
        largest: dict[str, int] = {}
        for condition in self._conditions.values():
            for event_type, window in condition.windows:
                largest[event_type] = max(largest.get(event_type, 0), window)
        return tuple(sorted(largest.items()))

    def edge(
        self, node_id: str, mapping: dict[str, Any], key: str, path: Path, what: str, required: bool = False
    ) -> str | None:
        value = (
            self.require(mapping, key, path, what, f"name the node to go to with '{key}: <node id>'")
            if required
            else mapping.get(key)
        )
        if value is None:
            return None
        if not isinstance(value, str):
            self.issues.add((*path, key), f"'{key}' must name a node, got {type_name(value)}")
            return None
        self.edges.append((node_id, (*path, key), value))
        return value

    def templates(self, value: Any, path: Path) -> bool:
        """Check every template string inside ``value``; True if any string has template markup."""
        if isinstance(value, str):
            if not any(marker in value for marker in TEMPLATE_MARKERS):
                return False
            try:
                check_template(value)
            except TemplateError as err:
                mark = self.issues.document.marks.get(path)
                line = column = None
                if mark is not None:
                    err_line = getattr(err, "line", None)
                    line = mark.line + (err_line - 1 if isinstance(err_line, int) and err_line > 0 else 0)
                    column = mark.column
                self.issues.add(
                    path,
                    f"template does not parse: {getattr(err, 'message', str(err))}",
                    "templates are Jinja: {{ contact.first_name }}, {% if ... %}...{% endif %}",
                    line=line,
                    column=column,
                )
            return True
        if isinstance(value, dict):
            found = False
            for key, item in value.items():
                found = self.templates(item, (*path, key)) or found
            return found
        if isinstance(value, list):
            found = False
            for index, item in enumerate(value):
                found = self.templates(item, (*path, index)) or found
            return found
        return False


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)
