"""agents/api/catalog_view.py's planning of drafts, without a broker: a draft made from a published version
carries neither that version's publishing time nor its note, while a draft's own note stays."""

from __future__ import annotations

from typing import Any

import orjson

from agents.api.catalog_view import plan_new_draft

DOC: dict[str, Any] = {
    "id": "wf_notes", "name": "Notes", "version": 1,
    "trigger": {"event": "contact.added"},
    "nodes": {"hello": {"type": "action", "action": "notify", "params": {"team": "sales", "reason": "hi"}}},
}  # fmt: skip


def planned_value(definitions: dict[tuple[str, int], dict[str, Any]], doc: dict[str, Any]) -> dict[str, Any]:
    key, value = plan_new_draft(definitions, doc)
    assert key == b"wf_notes@2"
    decoded: dict[str, Any] = orjson.loads(value)
    return decoded


def test_a_draft_made_from_a_published_version_drops_its_note_and_time() -> None:
    published = {
        **DOC,
        "status": "published",
        "metadata": {"version_note": "first cut", "published_at": 1_767_261_600_000, "owner": "ada"},
    }
    draft = planned_value({("wf_notes", 1): published}, published)
    assert draft["status"] == "draft" and draft["version"] == 2
    assert draft["metadata"] == {"owner": "ada"}  # what is not about publishing stays


def test_a_drafts_own_note_stays() -> None:
    """A draft that was never published (a recommendation's, say) keeps the note written for it."""
    own = {**DOC, "metadata": {"version_note": "applied: wait 1 h instead of 2 h"}}
    draft = planned_value({("wf_notes", 1): {**DOC, "status": "published"}}, own)
    assert draft["metadata"] == {"version_note": "applied: wait 1 h instead of 2 h"}
