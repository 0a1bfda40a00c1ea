"""Workflow recommendations as the API shows and records them: report rows to figures, the governing
definition, the `recommendations` topic records and the draft an applied recommendation becomes.

Pure: the route (agents/api/routes/recommendations.py) fetches the reports and writes the records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from agents.api import catalog_view
from agents.api.exceptions import ApiError
from agents.api.issues_view import issues_json
from engine.validation import validate_definition
from ml.exceptions import MLError
from ml.patch import apply_ops, diff
from ml.workflow_recs import Figures, Recommendation, recommendations

# the analytics reports the recommendations are made from, and the ones dismissed before (hidden for good)
REPORTS = ("sends", "funnel", "lift", "channels", "recommendations_dismissed")


def governing(definitions: catalog_view.Definitions, workflow_id: str) -> dict[str, Any]:
    """The newest non-draft version (the one runs follow); 404 when there is none."""
    live = [d for d in catalog_view.versions(definitions, workflow_id) if d.get("status") != "draft"]
    if not live:
        raise ApiError(404, "not_found", f"no published workflow {workflow_id!r}")
    return live[-1]


def report_rows(report: Mapping[str, Any], version: int | None) -> list[dict[str, Any]]:
    """The report's rows as dicts, only those of `version` when given and the report has a version column."""
    columns = [str(c) for c in report["columns"]]
    rows = [dict(zip(columns, row, strict=True)) for row in report["rows"]]
    return [r for r in rows if version is None or "version" not in r or int(r["version"]) == version]


def figures_of(reports: Mapping[str, Mapping[str, Any]], version: int) -> Figures:
    return Figures(
        sends=report_rows(reports["sends"], version),
        funnel=report_rows(reports["funnel"], version),
        lift=report_rows(reports["lift"], version),
        channels=report_rows(reports["channels"], None),  # every workflow's: the bandit's evidence
    )


def current(definition: Mapping[str, Any], reports: Mapping[str, Mapping[str, Any]]) -> list[Recommendation]:
    """The recommendations the figures make, but those dismissed before: a recommendation's id is a hash of
    its workflow version, kind, node and change, so a dismissal holds until the figures suggest another
    change or the workflow gets a new version."""
    dismissed = set(dismissed_ids(reports))
    found = recommendations(definition, figures_of(reports, int(definition["version"])))
    return [rec for rec in found if rec.id not in dismissed]


def dismissed_ids(reports: Mapping[str, Mapping[str, Any]]) -> list[str]:
    answer = reports.get("recommendations_dismissed")
    return [str(row["recommendation_id"]) for row in report_rows(answer, None)] if answer else []


def find(found: list[Recommendation], rid: str) -> Recommendation:
    for rec in found:
        if rec.id == rid:
            return rec
    raise ApiError(404, "unknown_recommendation", f"{rid} is not a current recommendation of this workflow")


def record(rec: Recommendation, what: str, ts: int, **more: Any) -> tuple[bytes, bytes]:
    """One `recommendations` topic record (key: the recommendation id); idempotent by its record_id."""
    record_id = hashlib.blake2b(f"{rec.id}|{what}|{ts}".encode(), digest_size=16).hexdigest()
    value = {"record_id": record_id, "recommendation_id": rec.id, "what": what, "ts": ts,
             "workflow_id": rec.workflow, "version": rec.version, "kind": rec.kind, "node": rec.node,
             "evidence": rec.evidence, "change": rec.change, **more}  # fmt: skip
    return rec.id.encode(), orjson.dumps(value)


def planned_draft(
    definitions: catalog_view.Definitions, definition: Mapping[str, Any], rec: Recommendation
) -> tuple[tuple[bytes, bytes], list[dict[str, Any]]]:
    """The catalog record of the new draft (the change applied to `definition`) and the diff."""
    if not rec.change:
        raise ApiError(409, "nothing_to_apply", f"{rec.kind} at {rec.node} proposes no automatic change")
    try:
        changed = apply_ops(definition, rec.change)
    except MLError as exc:
        raise ApiError(409, "change_does_not_apply", str(exc)) from None
    note = f"recommendation {rec.id}: {rec.kind} at {rec.node}"
    changed["metadata"] = {**catalog_view.unpublished(changed.get("metadata")), "version_note": note}
    key, value = catalog_view.plan_new_draft(definitions, changed)
    draft = orjson.loads(value)
    errors = [issue for issue in validate_definition(draft) if issue.severity == "error"]
    if errors:
        raise ApiError(
            422, "invalid_definition", "the changed definition does not validate", issues_json(errors)
        )
    return (key, value), diff(definition, draft, rec.change)
