"""Errors raised by the engine core: invalid definitions, bad migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.validation import ValidationIssue


class EngineError(Exception):
    """Base class of the engine core's errors."""


class WorkflowParseError(EngineError):
    """The text is not YAML/JSON, or not a mapping at the top."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class WorkflowInvalid(EngineError):
    """A definition with at least one error; ``issues`` lists every problem found."""

    what = "workflow definition"

    def __init__(self, issues: list[ValidationIssue]) -> None:
        from engine.validation import format_issue

        self.issues = issues
        shown = "\n".join(format_issue(issue) for issue in issues[:20])
        more = f"\n... and {len(issues) - 20} more" if len(issues) > 20 else ""
        super().__init__(f"invalid {self.what}:\n{shown}{more}")


class PolicyInvalid(WorkflowInvalid):
    """A workspace policy document with at least one error."""

    what = "workspace policy"


class MigrationError(EngineError):
    """A run migration that cannot be done (bad node mapping, unknown version)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))
