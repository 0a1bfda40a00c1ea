"""`switchyard tasks list`: the tasks the task sink created, read from the compacted `tasks` topic."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from agents.settings import Settings
from sinks.channels import TASKS_TOPIC

COLUMNS = ("task_id", "assignee", "team", "due", "status", "contact_id", "workflow_id", "title")


def register(subparsers: Any) -> None:
    tasks = subparsers.add_parser("tasks", help="tasks created by workflows (the task sink)")
    actions = tasks.add_subparsers(metavar="ACTION")
    listing = actions.add_parser("list", help="list tasks, oldest due first")
    listing.add_argument("--assignee", help="only this person's tasks")
    listing.add_argument("--team", help="only this team's tasks")
    listing.add_argument("--status", help="only tasks with this status (e.g. open)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=list_tasks)


def read_tasks(settings: Settings) -> list[dict[str, Any]]:
    """The latest row of every task."""
    from agents.changelog import latest_by_key
    from agents.topic_reader import read_to_end

    records = asyncio.run(read_to_end(settings.bootstrap, settings.topic(TASKS_TOPIC)))
    rows = [orjson.loads(value) for value in latest_by_key(records).values()]
    return [row for row in rows if isinstance(row, dict)]


def select(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    wanted = {"assignee": args.assignee, "team": args.team, "status": args.status}
    chosen = [r for r in rows if all(value is None or r.get(key) == value for key, value in wanted.items())]
    return sorted(
        chosen, key=lambda r: (r.get("due_at") is None, r.get("due_at") or 0, str(r.get("task_id")))
    )


def format_due(ms: Any) -> str:
    if not isinstance(ms, int):
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def list_tasks(args: argparse.Namespace, settings: Settings) -> int:
    rows = select(read_tasks(settings), args)
    if args.json:
        for row in rows:
            sys.stdout.write(orjson.dumps(row, option=orjson.OPT_SORT_KEYS).decode() + "\n")
        return 0
    table = [[str(v) for v in COLUMNS]]
    for row in rows:
        cells = {**row, "due": format_due(row.get("due_at"))}
        table.append([str(cells.get(column) if cells.get(column) is not None else "-") for column in COLUMNS])
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS) - 1)]
    for line in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1]
        )
    print(f"{len(rows)} task(s)", file=sys.stderr)
    return 0
