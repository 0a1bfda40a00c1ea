"""GET /v1/contacts/{id}: a contact's stored state and recent step records, shaped for people and the UI."""

from __future__ import annotations

from typing import Any

from engine.types import ContactState

RECENT_STEPS = 50


def contact_json(
    contact_id: str, state: ContactState | None, steps: list[dict[str, Any]], source: str
) -> dict[str, Any]:
    """Profile, scores, live runs with their current node (and what they wait for), the recent trace."""
    if state is None:
        return {"contact_id": contact_id, "found": False, "source": source, "profile": None, "scores": {},
                "runs": [], "trace": steps[-RECENT_STEPS:]}  # fmt: skip
    profile = dict(state.get("profile") or {})
    runs = []
    for _slot, run in sorted((state.get("runs") or {}).items()):
        wait = run.get("wait") or {}
        runs.append({
            "workflow_id": run.get("workflow_id"),
            "key": run.get("key"),
            "version": run.get("version"),
            "run_id": run.get("id"),
            "node": run.get("node"),
            "started_at": run.get("started_at"),
            "waiting": {"kind": wait.get("kind"), "due": wait.get("due"), "node": wait.get("node")}
            if wait else None,
        })  # fmt: skip
    return {
        "contact_id": contact_id,
        "found": True,
        "source": source,
        "profile": profile,
        "scores": dict(profile.get("scores") or {}),
        "runs": runs,
        "trace": steps[-RECENT_STEPS:],
    }
