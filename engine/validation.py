"""Public entry points for checking and loading workflow definitions.

``validate_file``/``validate_text``/``validate_definition`` return every issue found (each names the
file line, column and node, and says what to do); ``load_workflow`` returns a compiled ``Workflow`` or
raises ``WorkflowInvalid``. Reading a file is the only I/O in the engine and happens only here, on request
of the caller (the CLI's ``workflows validate``).
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any

from engine.compiler import compile_document
from engine.exceptions import WorkflowInvalid, WorkflowParseError
from engine.issues import ValidationIssue, format_issue
from engine.model import Workflow
from engine.parser import Document, document_from_data, parse_text

__all__ = [
    "ValidationIssue",
    "compile_definition",
    "format_issue",
    "load_workflow",
    "validate_definition",
    "validate_file",
    "validate_text",
]


def _parse_issue(err: WorkflowParseError, source: str) -> ValidationIssue:
    return ValidationIssue(
        source,
        err.line,
        err.column,
        None,
        err.message,
        "check indentation, colons and quotes around the reported line",
    )


def _compile_text(text: str, source: str) -> tuple[Workflow | None, list[ValidationIssue]]:
    try:
        document = parse_text(text, source)
    except WorkflowParseError as err:
        return None, [_parse_issue(err, source)]
    return compile_document(document)


def validate_text(text: str, source: str = "<definition>") -> list[ValidationIssue]:
    return _compile_text(text, source)[1]


def validate_file(path: str | FsPath) -> list[ValidationIssue]:
    """Every issue in the definition file at ``path`` (an unreadable file is one issue)."""
    name = str(path)
    try:
        text = FsPath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return [ValidationIssue(name, None, None, None, f"cannot read the file: {err}", None)]
    return validate_text(text, name)


def validate_definition(data: Any, source: str = "<definition>") -> list[ValidationIssue]:
    """Every issue in an already-parsed definition (e.g. JSON from the API; no line numbers)."""
    return compile_document(document_from_data(data, source))[1]


def compile_definition(data: Any, source: str = "<definition>") -> Workflow:
    """Compile parsed data, raising WorkflowInvalid if there is any error."""
    return _raise_or_return(compile_document(document_from_data(data, source)))


def compile_parsed(document: Document) -> Workflow:
    return _raise_or_return(compile_document(document))


def load_workflow(path_or_text: str | FsPath) -> Workflow:
    """Compile a definition from a file path, or from YAML/JSON text (anything containing a newline or
    starting with '{' is taken as text). Raises WorkflowInvalid."""
    if isinstance(path_or_text, FsPath) or (
        "\n" not in path_or_text and not path_or_text.lstrip().startswith("{")
    ):
        name = str(path_or_text)
        try:
            text = FsPath(path_or_text).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise WorkflowInvalid(
                [ValidationIssue(name, None, None, None, f"cannot read the file: {err}")]
            ) from err
        return _raise_or_return(_compile_text(text, name))
    return _raise_or_return(_compile_text(path_or_text, "<definition>"))


def _raise_or_return(result: tuple[Workflow | None, list[ValidationIssue]]) -> Workflow:
    workflow, issues = result
    if workflow is None or any(issue.severity == "error" for issue in issues):
        raise WorkflowInvalid([issue for issue in issues if issue.severity == "error"] or issues)
    return workflow
