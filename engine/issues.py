"""Validation issues: what is wrong, where (file, line, column, node) and what to do about it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from engine.parser import Document, Mark, Path

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    path: str  # file name (or "<definition>") the issue is in
    line: int | None
    column: int | None
    node_id: str | None
    message: str
    hint: str | None = None
    severity: Severity = "error"
    field: str = ""  # dotted location inside the definition, e.g. nodes.wait_2.timeout


def format_issue(issue: ValidationIssue) -> str:
    """``file.yaml:12:5: node 'wait_2': message (hint: ...)``."""
    where = issue.path
    if issue.line is not None:
        where += f":{issue.line}"
        if issue.column is not None:
            where += f":{issue.column}"
    subject = f"node '{issue.node_id}': " if issue.node_id else ""
    level = "" if issue.severity == "error" else f"{issue.severity}: "
    hint = f" (hint: {issue.hint})" if issue.hint else ""
    return f"{where}: {level}{subject}{issue.message}{hint}"


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


def dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)


class IssueCollector:
    """Collects issues for one document, resolving paths to file positions."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.source = document.source_name or "<definition>"
        self.issues: list[ValidationIssue] = []

    @property
    def has_errors(self) -> bool:
        return any(issue.severity == "error" for issue in self.issues)

    def add(
        self,
        path: Path,
        message: str,
        hint: str | None = None,
        *,
        at_key: bool = False,
        mark: Mark | None = None,
        line: int | None = None,
        column: int | None = None,
        severity: Severity = "error",
        node_id: str | None = None,
    ) -> None:
        if line is None:
            found = mark or (self.document.key_mark(path) if at_key else self.document.mark(path))
            if found is not None:
                line, column = found.line, found.column
        if node_id is None and len(path) >= 2 and path[0] == "nodes":
            node_id = str(path[1])
        self.issues.append(
            ValidationIssue(self.source, line, column, node_id, message, hint, severity, dotted(path))
        )

    def warn(self, path: Path, message: str, hint: str | None = None, **kwargs: object) -> None:
        node_id = kwargs.get("node_id")
        self.add(
            path, message, hint, severity="warning", node_id=node_id if isinstance(node_id, str) else None
        )
