"""The workflow catalog as the API shows and changes it: listings, versions, drafts and publishing.

Pure: works on the (id, version) -> definition map of agents.catalog.parse_catalog and returns the
records to write. Drafts are catalog records with status "draft" (never governing, so never run); there is
at most one per workflow, always above the published versions, and it may be rewritten until published.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from agents.api.exceptions import ApiError
from agents.api.issues_view import issues_json
from agents.catalog import CatalogError, plan_publish, plan_status
from engine.exceptions import WorkflowInvalid

Definitions = Mapping[tuple[str, int], dict[str, Any]]
Record = tuple[bytes, bytes]
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
STATUS_CHANGES = {"pause": "paused", "resume": "published", "archive": "archived"}


def versions(definitions: Definitions, workflow_id: str) -> list[dict[str, Any]]:
    return [d for (w, _), d in sorted(definitions.items()) if w == workflow_id]


def summary(definitions: Definitions, workflow_id: str) -> dict[str, Any]:
    found = versions(definitions, workflow_id)
    if not found:
        raise ApiError(404, "not_found", f"no workflow {workflow_id!r}")
    live = [d for d in found if d.get("status") != "draft"]
    drafts = [d for d in found if d.get("status") == "draft"]
    head = live[-1] if live else found[-1]
    return {
        "id": workflow_id,
        "name": str(head.get("name", "")),
        "status": str(head.get("status", "draft")),
        "version": int(head["version"]),
        "draft_version": int(drafts[-1]["version"]) if drafts else None,
        "versions": [
            {
                "version": int(d["version"]),
                "status": str(d.get("status", "draft")),
                "note": str((d.get("metadata") or {}).get("version_note", "")),
                "published_at": (d.get("metadata") or {}).get("published_at"),
            }
            for d in found
        ],
    }


def listing(definitions: Definitions) -> list[dict[str, Any]]:
    return [summary(definitions, wid) for wid in sorted({w for (w, _) in definitions})]


def draft_of(definitions: Definitions, workflow_id: str) -> dict[str, Any] | None:
    drafts = [d for d in versions(definitions, workflow_id) if d.get("status") == "draft"]
    return drafts[-1] if drafts else None


def plan_new_draft(definitions: Definitions, document: Any) -> Record:
    """A first draft of a new workflow, or the next version of an existing one."""
    doc = _definition_object(document)
    workflow_id = doc.get("id")
    if not isinstance(workflow_id, str) or not _ID.match(workflow_id):
        raise ApiError(400, "bad_definition", "the definition needs an `id` of A-Z a-z 0-9 _ . -")
    existing = draft_of(definitions, workflow_id)
    if existing is not None:
        raise ApiError(
            409, "draft_exists", f"{workflow_id} already has draft v{existing['version']}; update it instead"
        )
    taken = [v for (w, v) in definitions if w == workflow_id]
    return _draft_record({**doc, "version": max(taken, default=0) + 1})


def plan_update_draft(definitions: Definitions, workflow_id: str, document: Any) -> Record:
    existing = draft_of(definitions, workflow_id)
    if existing is None:
        raise ApiError(404, "no_draft", f"{workflow_id} has no draft; create one with POST /v1/workflows")
    doc = _definition_object(document)
    return _draft_record({**doc, "id": workflow_id, "version": existing["version"]})


def plan_publish_draft(definitions: Definitions, workflow_id: str, note: str, published_at: int) -> Record:
    """Publish the workflow's draft (checked to compile) with a version note and the time (epoch ms) in its
    metadata."""
    draft = draft_of(definitions, workflow_id)
    if draft is None:
        raise ApiError(404, "no_draft", f"{workflow_id} has no draft to publish")
    metadata = {**(draft.get("metadata") or {}), "version_note": note, "published_at": published_at}
    others = {key: d for key, d in definitions.items() if key != (workflow_id, int(draft["version"]))}
    # the draft itself may be rewritten; any other record under its key would be a conflict
    return checked(lambda: plan_publish(others, {**draft, "metadata": metadata}),
                   "invalid_definition", "the draft does not validate")  # fmt: skip


def checked(plan: Callable[[], Record], invalid: str, message: str) -> Record:
    """The record ``plan`` returns; 422 ``invalid`` with the issues when what it publishes does not
    validate (a workflow or a policy), 409 when it would rewrite a published version."""
    try:
        return plan()
    except WorkflowInvalid as exc:  # PolicyInvalid included
        raise ApiError(422, invalid, message, issues_json(exc.issues)) from None
    except CatalogError as exc:
        raise ApiError(409, "version_conflict", str(exc)) from None


def plan_status_change(definitions: Definitions, workflow_id: str, change: str) -> Record:
    try:
        return plan_status(definitions, workflow_id, STATUS_CHANGES[change])
    except CatalogError as exc:
        raise ApiError(404, "not_published", str(exc)) from None


def _definition_object(document: Any) -> dict[str, Any]:
    doc = document.get("definition") if isinstance(document, dict) and "definition" in document else document
    if not isinstance(doc, dict):
        raise ApiError(400, "bad_definition", "the body must be a workflow definition object")
    return doc


PUBLISHING_KEYS = frozenset({"published_at", "version_note"})


def unpublished(metadata: Any) -> dict[str, Any]:
    """A published version's metadata without what publishing wrote (its time and note)."""
    if not isinstance(metadata, dict):
        return {}
    return {k: v for k, v in metadata.items() if k not in PUBLISHING_KEYS}


def _draft_record(doc: dict[str, Any]) -> Record:
    value = {**doc, "status": "draft"}
    if isinstance(doc.get("metadata"), dict) and "published_at" in doc["metadata"]:
        # made from a published version: not published (yet), and that version's note is not its own
        value["metadata"] = unpublished(doc["metadata"])
    return f"{value['id']}@{value['version']}".encode(), orjson.dumps(value)
