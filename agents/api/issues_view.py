"""Validation issues as JSON: what is wrong, on which node, and where (line/column, dotted field)."""

from __future__ import annotations

from typing import Any

from engine.issues import ValidationIssue


def issue_json(issue: ValidationIssue) -> dict[str, Any]:
    return {
        "severity": issue.severity,
        "message": issue.message,
        "hint": issue.hint,
        "node": issue.node_id,
        "line": issue.line,
        "column": issue.column,
        "field": issue.field,
    }


def issues_json(issues: list[ValidationIssue]) -> dict[str, Any]:
    listed = [issue_json(issue) for issue in issues]
    return {"valid": not any(i["severity"] == "error" for i in listed), "issues": listed}
