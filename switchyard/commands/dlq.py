"""`switchyard dlq list|replay`: the worker's dead letters by reason, and their replay to `events`
(agents/dlq.py) once the cause is fixed, chosen by reason and by when they were dead-lettered."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime
from typing import Any

from agents.dlq import Selection, by_reason, read_dead_letters, replay
from agents.settings import Settings
from engine.durations import DurationError, parse_duration
from engine.topics import EVENTS, EVENTS_DLQ


def register(subparsers: Any) -> None:
    dlq = subparsers.add_parser("dlq", help="dead-lettered events: list by reason, replay once fixed")
    actions = dlq.add_subparsers(metavar="ACTION")
    listing = actions.add_parser("list", help="count the dead letters by reason")
    replaying = actions.add_parser("replay", help="send chosen dead letters to `events` again")
    for parser in (listing, replaying):
        parser.add_argument("--reason", action="append", default=[], help="only this reason (repeatable)")
        parser.add_argument("--since", help="dead-lettered at or after: a duration ago (2h, 7d) or a time")
        parser.add_argument("--until", help="dead-lettered before: a duration ago or an RFC 3339 time")
    replaying.add_argument("--dry-run", action="store_true", help="say what would be replayed, send nothing")
    listing.set_defaults(run=cmd_list)
    replaying.set_defaults(run=cmd_replay)


def point_in_time(text: str | None, now_ms: int) -> int | None:
    """Epoch ms from `2h` / `7d` (that long ago) or an RFC 3339 time with a timezone."""
    if text is None:
        return None
    try:
        return now_ms - parse_duration(text)
    except DurationError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SystemExit(f"switchyard dlq: {text!r} is neither a duration (2h, 7d) nor a time") from None
    if parsed.tzinfo is None:
        raise SystemExit(f"switchyard dlq: {text!r} has no timezone (add Z or +00:00)")
    return int(parsed.timestamp() * 1000)


def selection(args: argparse.Namespace) -> Selection:
    now = int(time.time() * 1000)
    return Selection(frozenset(args.reason), point_in_time(args.since, now), point_in_time(args.until, now))


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    chosen_by = selection(args)  # before reading: a bad --since/--until is refused even with no letters
    letters = asyncio.run(read_dead_letters(settings.bootstrap, settings.topic(EVENTS_DLQ)))
    chosen = [letter for letter in letters if chosen_by.matches(letter)]
    for reason, count in by_reason(chosen).items():
        print(f"{reason}\t{count}")
    print(f"total\t{len(chosen)}")
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    chosen_by = selection(args)
    letters = asyncio.run(read_dead_letters(settings.bootstrap, settings.topic(EVENTS_DLQ)))
    chosen = [letter for letter in letters if chosen_by.matches(letter)]
    if args.dry_run:
        for letter in chosen:
            print(f"{letter.where}\t{letter.reason}\t{(letter.key or b'').decode('utf-8', 'replace')}")
        print(f"would replay {len(chosen)} of {len(letters)} dead letter(s)")
        return 0
    sent = asyncio.run(replay(settings.bootstrap, settings.topic(EVENTS), chosen))
    print(f"replayed {sent} of {len(letters)} dead letter(s) to {settings.topic(EVENTS)}", file=sys.stderr)
    return 0
