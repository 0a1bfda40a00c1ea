"""`make run`: the local broker, the example workflows, a fresh worker, a demo stream, and a plain
account of what happened to each contact.

The demo stream (examples/demo/events.jsonl) gives times relative to now ("-3d", "-5h"), so waits
that fall due in the past fire as soon as the worker sees them and the whole journey shows at once.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from typing import Any

import orjson

from agents.catalog import plan_publish, write_records
from agents.topics import ACTION_CHANNELS, ANALYTICS, WORKFLOWS, action_topic, all_topic_names
from engine.durations import DurationError, format_duration, parse_duration
from engine.parser import parse_text
from switchyard.broker.factory import broker_for
from switchyard.inspect import changelog_topic, read_contacts, read_dead_letters, read_to_end
from switchyard.kafka_tools import delete_topics, ensure_worker_topics, group_lag, wait_for_lag_zero
from switchyard.processes import REPO, WorkerProcess
from switchyard.produce import send_file_lines
from switchyard.settings import Settings
from tables.contacts import CONTACTS_TABLE
from tables.timers import TIMERS_TABLE

DEMO_EVENTS = REPO / "examples" / "demo" / "events.jsonl"
EXAMPLES = REPO / "examples" / "workflows"
DEMO_APP = "switchyard-demo"


def run_demo(base: Settings) -> int:
    settings = base.with_(app_id=DEMO_APP, topic_prefix="demo.", data_dir=base.data_dir / "demo", web_port=0)
    say("1/6", "Kafka broker")
    if base.external_kafka:
        print(f"      using SWITCHYARD_KAFKA={base.external_kafka}")
    else:
        print("      " + broker_for(base).start().detail)

    say("2/6", "fresh demo topics and state (the demo starts from scratch each time)")
    reset(settings)

    say("3/6", f"publishing the example workflows from {EXAMPLES.relative_to(REPO)}/")
    published = publish_examples(settings)
    print("      " + ", ".join(published))

    say("4/6", "starting a worker")
    worker = WorkerProcess(settings, settings.data_dir / "worker.log").start()
    print(f"      worker pid {worker.pid}, log {worker.log_path}")
    try:
        say("5/6", f"sending {DEMO_EVENTS.relative_to(REPO)} (times relative to now)")
        sent = send_file_lines(
            settings.bootstrap, settings.topic("events"), demo_lines(int(time.time() * 1000))
        )
        print(f"      {sent} records sent")
        started = time.monotonic()
        if not settle(settings):
            print(f"      the worker did not catch up within 90 s; see {worker.log_path}")
            return 1
        print(f"      processed, with every wake-up that was due, in {time.monotonic() - started:.1f} s")
        say("6/6", "what happened")
        report(settings)
    finally:
        worker.stop()
    print("\nThe broker keeps running for you: `switchyard kafka stop` stops it.")
    return 0


def reset(settings: Settings) -> None:
    tables = (CONTACTS_TABLE, TIMERS_TABLE)
    topics = [*all_topic_names(settings.topic_prefix), settings.topic(WORKFLOWS),
              *(changelog_topic(DEMO_APP, t) for t in tables)]  # fmt: skip
    asyncio.run(delete_topics(settings.bootstrap, topics))
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    time.sleep(1.0)  # topic deletion is asynchronous in the broker
    asyncio.run(ensure_worker_topics(settings))


def publish_examples(settings: Settings) -> list[str]:
    records = [
        plan_publish({}, parse_text(p.read_text(), str(p)).data) for p in sorted(EXAMPLES.glob("*.yaml"))
    ]
    asyncio.run(write_records(settings.bootstrap, settings.topic(WORKFLOWS), records))
    return [key.decode() for key, _ in records]


def demo_lines(now_ms: int) -> Iterator[bytes]:
    """The demo stream with relative times ("-3d") turned into epoch ms; other lines pass unchanged."""
    for line in DEMO_EVENTS.read_bytes().splitlines():
        try:
            doc = orjson.loads(line)
            ts = doc.get("ts") if isinstance(doc, dict) else None
            if isinstance(ts, str) and ts.startswith("-"):
                doc["ts"] = now_ms - parse_duration(ts[1:])
                line = orjson.dumps(doc)
        except (orjson.JSONDecodeError, DurationError):
            pass
        yield line


def settle(settings: Settings, timeout: float = 90.0) -> bool:
    """Wait until the worker has processed everything, including the wake-ups its timers produced."""
    deadline = time.monotonic() + timeout
    events = settings.topic("events")
    while time.monotonic() < deadline:
        if not asyncio.run(
            wait_for_lag_zero(settings.bootstrap, DEMO_APP, events, deadline - time.monotonic())
        ):
            return False
        time.sleep(1.5)  # a due timer fires within milliseconds: wake-ups would show up as new lag by now
        if asyncio.run(group_lag(settings.bootstrap, DEMO_APP, events)) == 0:
            return True
    return False


def report(settings: Settings) -> None:
    states = read_contacts(settings.bootstrap, DEMO_APP)
    actions = read_json(settings, [action_topic(c) for c in ACTION_CHANNELS])
    endings = [r for r in read_json(settings, [ANALYTICS]) if r.get("transition") in ("goal", "exited")]
    now = int(time.time() * 1000)
    print(f"\n  {len(states)} contacts, {len(actions)} actions sent to actions.<channel>:")
    for contact_id in sorted(states):
        state = states[contact_id]
        profile = state["profile"]
        attrs = ", ".join(
            f"{k}={v}" for k, v in sorted(profile["attrs"].items()) if k not in ("email", "timezone")
        )
        print(f"\n  {contact_id}  ({attrs}; tags {profile['tags']})")
        lines: list[tuple[int, str]] = []
        for action in (a for a in actions if a["contact_id"] == contact_id):
            params = action["params"]
            what = params.get("subject") or params.get("title") or params.get("message")
            lines.append((action["ts"], f"{action['workflow_id']}/{action['node_id']}: {action['type']}"
                                        f"{f' - {what}' if what else ''}"))  # fmt: skip
        for record in (r for r in endings if r["contact_id"] == contact_id):
            lines.append((record["ts"], f"{record['workflow_id']}/{record['node_id'] or '-'}: "
                                        f"{record['transition']} ({record['reason']})"))  # fmt: skip
        for ts, text in sorted(lines):
            print(f"    {ago(now, ts):>9}  {text}")
        for workflow_id, run in sorted((state.get("runs") or {}).items()):
            wait = run.get("wait")
            waiting = f", waiting until {format_due(now, wait['due'])}" if wait else ""
            print(f"    {'now':>9}  {workflow_id} v{run['version']} is at '{run['node']}'{waiting}")
    print_dead_letters(settings)


def read_json(settings: Settings, topics: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for topic in topics:
        records = asyncio.run(read_to_end(settings.bootstrap, settings.topic(topic)))
        out.extend(orjson.loads(r.value) for r in records if r.value)
    return out


def ago(now: int, ts: object) -> str:
    return (
        f"-{format_duration(max(0, now - int(ts)) // 60_000 * 60_000 or 0)}" if isinstance(ts, int) else "?"
    )


def format_due(now: int, due: int) -> str:
    return f"in {format_duration(max(0, due - now) // 60_000 * 60_000)}" if due > now else "now"


def print_dead_letters(settings: Settings) -> None:
    letters = read_dead_letters(settings.bootstrap, settings.topic("events.dlq"))
    print(f"\n  Dead letters in {settings.topic('events.dlq')} ({len(letters)}), original bytes kept:")
    for letter in letters:
        reason = letter.headers.get("x-switchyard-reason", b"?").decode()
        detail = letter.headers.get("x-switchyard-detail", b"").decode(errors="replace")
        print(f"   - {reason}: {detail}")
        print(f"       {(letter.value or b'')[:72]!r}")


def say(step: str, text: str) -> None:
    print(f"\n[{step}] {text}", flush=True)
