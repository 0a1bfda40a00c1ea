"""The columns the writer fills in each table, in insert order (they match sql/migrations)."""

from __future__ import annotations

from typing import Final

TABLE_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "events": ("event_id", "contact_id", "type", "ts", "properties", "kafka_partition", "kafka_offset"),
    "step_log": (
        "ts", "contact_id", "workflow_id", "version", "run_id", "node_id", "transition", "reason", "arm",
        "goal", "event_id", "event_type", "source", "seq", "record_id", "late_ms", "details",
        "log_partition", "log_offset",
    ),
    "actions": (
        "action_id", "channel", "type", "contact_id", "workflow_id", "version", "run_id", "node_id", "ts",
        "params", "log_partition", "log_offset",
    ),
    "action_results": ("action_id", "outcome", "status", "channel", "contact_id", "event_id", "ts", "detail"),
    "predictions": ("event_id", "contact_id", "model", "score", "ts", "details"),
    "tasks": (
        "task_id", "contact_id", "workflow_id", "action_id", "title", "assignee", "team", "status", "due_at",
        "updated_at", "details",
    ),
    "recommendation_log": (
        "record_id", "recommendation_id", "what", "workflow_id", "version", "kind", "node_id", "reason",
        "draft_version", "ts", "details",
    ),
}  # fmt: skip

# Insert order: a crash half-way through a batch leaves the earlier tables filled; the batch is inserted
# again on restart, and the tables dedupe.
TABLES: Final = tuple(TABLE_COLUMNS)
