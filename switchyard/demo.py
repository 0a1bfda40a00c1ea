"""`make run`: the local broker, the example workflows, a worker, the action sinks (talking to loopback
SMTP and HTTP peers), the analytics writer, a demo stream, and a plain account of what happened.

The demo stream (examples/demo/events.jsonl) gives times relative to now ("-3d", "-5h"), so waits
that fall due in the past fire as soon as the worker sees them and the whole journey shows at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson

from agents.catalog import plan_publish, write_records
from agents.changelog import changelog_topic, read_contacts
from agents.dlq import read_dead_letters
from agents.kafka_admin import delete_topics, ensure_worker_topics, group_lag
from agents.settings import Settings
from agents.topic_reader import read_to_end
from agents.topics import (
    ACTION_CHANNELS,
    ANALYTICS,
    CONSENT,
    EVENTS_DLQ,
    RECOMMENDATIONS,
    WORKFLOWS,
    action_topic,
    all_topic_names,
)
from agents.worker_process import REPO, WorkerProcess, WorkerStartError, inherited_env
from broker.factory import broker_for
from engine.durations import DurationError, format_duration, parse_duration
from engine.packing import unpack
from engine.parser import parse_text
from engine.profile import SYSTEM_EVENT_TYPES
from engine.topics import ACTIONS_DLQ, TASKS
from sinks.analytics.dsn import default_dsn
from sinks.analytics.writer import READY_LINE as ANALYTICS_READY
from sinks.service import READY_LINE as SINKS_READY
from switchyard.demo_peers import DemoPeers, free_port
from switchyard.produce import send_file_lines
from tables.contacts import CONTACTS_TABLE
from tables.progress import PROGRESS_TABLE
from tables.timers import TIMERS_TABLE

DEMO_EVENTS = REPO / "examples" / "demo" / "events.jsonl"
EXAMPLES = REPO / "examples" / "workflows"
DEMO_APP = "switchyard-demo"


class DemoError(RuntimeError):
    """The demo could not set itself up; the message says what is wrong."""


def run_demo(base: Settings) -> int:
    settings = base.with_(app_id=DEMO_APP, topic_prefix="demo.", data_dir=base.data_dir / "demo", web_port=0)
    say("1/7", "Kafka broker")
    if base.external_kafka:
        print(f"      using SWITCHYARD_KAFKA={base.external_kafka}")
    else:
        print("      " + broker_for(base).start().detail)

    say("2/7", "fresh demo topics and state (the demo starts from scratch each time)")
    reset(settings)

    say("3/7", f"publishing the example workflows from {EXAMPLES.relative_to(REPO)}/")
    try:
        print("      " + ", ".join(publish_examples(settings)))
    except DemoError as exc:
        print(f"      {exc}")
        return 1

    say("4/7", "starting a worker, the action sinks and the analytics writer")
    peers = DemoPeers().start()
    print(
        f"      loopback peers: SMTP 127.0.0.1:{peers.smtp_port}, HTTP receiver 127.0.0.1:{peers.http_port}"
    )
    report_port = free_port()
    # The children get the demo's settings and none of this shell's SWITCHYARD_* variables: a store, an
    # SMTP server or a webhook named there for real work must not receive the demo's traffic.
    logs = settings.data_dir
    children = [
        (WorkerProcess(settings, logs / "worker.log", inherit_switchyard_env=False), {}),
        (WorkerProcess(settings, logs / "sinks.log", ("sinks",), SINKS_READY.encode(),
                       inherit_switchyard_env=False), peers.env()),
        (WorkerProcess(settings, logs / "analytics.log", ("analytics",), ANALYTICS_READY.encode(),
                       inherit_switchyard_env=False), analytics_env(settings, report_port)),
    ]  # fmt: skip
    processes: list[WorkerProcess] = []
    try:
        for process, extra_env in children:
            processes.append(process)
            process.start(extra_env=extra_env)
            print(f"      {' '.join(process.command):9} pid {process.pid}, log {process.log_path}")
        say("5/7", f"sending {DEMO_EVENTS.relative_to(REPO)} (times relative to now)")
        sent = send_file_lines(
            settings.bootstrap, settings.topic("events"), demo_lines(int(time.time() * 1000))
        )
        print(f"      {sent} records sent")
        started = time.monotonic()
        if not settle(settings):
            print(f"      the stack did not settle within 120 s; see the logs in {settings.data_dir}")
            return 1
        print(
            f"      done, with the wake-ups and outcomes that followed, in {time.monotonic() - started:.1f} s"
        )
        say("6/7", "what happened to each contact")
        report(settings)
        say("7/7", "what the outside world received, and what analytics counted")
        report_deliveries(settings, peers)
        report_funnel(settings, report_port)
    except WorkerStartError as exc:
        print(f"      {exc}")
        return 1
    finally:
        for process in reversed(processes):
            process.stop()
        peers.stop()
    print("\nThe broker keeps running for you: `switchyard kafka stop` stops it.")
    return 0


def analytics_env(settings: Settings, report_port: int) -> dict[str, str]:
    """The demo's analytics writer: its own embedded store under the demo's data dir."""
    return {
        "SWITCHYARD_ANALYTICS_DSN": default_dsn(settings.data_dir),
        "SWITCHYARD_ANALYTICS_PORT": str(report_port),
        "SWITCHYARD_ANALYTICS_BATCH_SECONDS": "0.3",
    }


def reset(settings: Settings) -> None:
    changelogs = [changelog_topic(settings.app_id, t) for t in (CONTACTS_TABLE, TIMERS_TABLE, PROGRESS_TABLE)]
    topics = [*all_topic_names(settings.topic_prefix), settings.topic(WORKFLOWS), settings.topic(TASKS),
              settings.topic(CONSENT), settings.topic(RECOMMENDATIONS), settings.topic(ACTIONS_DLQ),
              *changelogs]  # fmt: skip
    asyncio.run(delete_topics(settings.bootstrap, topics))
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(ensure_worker_topics(settings))


def publish_examples(settings: Settings, attempts: int = 3) -> list[str]:
    """Publish the example workflows and read them back: a worker started on a workflows topic that lost
    them (a broker just started, topics just recreated) would run the demo with no workflow at all."""
    records = [
        plan_publish({}, parse_text(p.read_text(), str(p)).data) for p in sorted(EXAMPLES.glob("*.yaml"))
    ]
    topic = settings.topic(WORKFLOWS)
    missing: list[bytes] = []
    for _ in range(attempts):
        asyncio.run(write_records(settings.bootstrap, topic, records))
        stored = {record.key for record in asyncio.run(read_to_end(settings.bootstrap, topic))}
        missing = [key for key, _ in records if key not in stored]
        if not missing:
            return [key.decode() for key, _ in records]
        print(f"      {len(missing)} of {len(records)} workflows not readable from {topic}; publishing again")
    raise DemoError(f"{topic} does not keep the published workflows (missing {b', '.join(missing).decode()})")


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


def settle(settings: Settings, timeout: float = 120.0) -> bool:
    """Wait until the worker, every sink and the analytics writer have caught up, including the wake-ups
    the timers produced and the outcome events the sinks sent back, and it stays so for a moment."""
    groups = [(DEMO_APP, settings.topic("events")), (f"{DEMO_APP}-analytics", settings.topic("events"))]
    groups += [(f"{DEMO_APP}-sink-{c}", settings.topic(action_topic(c))) for c in ACTION_CHANNELS]

    async def total_lag() -> int:
        return sum([await group_lag(settings.bootstrap, group, topic) for group, topic in groups])

    deadline = time.monotonic() + timeout
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        if asyncio.run(total_lag()) == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 2.0:  # a due timer fires within milliseconds
                return True
        else:
            quiet_since = None
        time.sleep(0.5)
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
        lines: list[tuple[int, int, str]] = []  # (time, 0 for actions / 1 for run endings, text)
        for action in (a for a in actions if a["contact_id"] == contact_id):
            params = action["params"]
            what = params.get("subject") or params.get("title") or params.get("message")
            lines.append((action["ts"], 0, f"{action['workflow_id']}/{action['node_id']}: {action['type']}"
                                        f"{f' - {what}' if what else ''}"))  # fmt: skip
        for record in (r for r in endings if r["contact_id"] == contact_id):
            lines.append((record["ts"], 1, f"{record['workflow_id']}/{record['node_id'] or '-'}: "
                                        f"{record['transition']} ({record['reason']})"))  # fmt: skip
        for ts, _, text in sorted(lines):
            print(f"    {ago(now, ts):>9}  {text}")
        for workflow_id, run in sorted((state.get("runs") or {}).items()):
            wait = run.get("wait")
            waiting = f", waiting until {format_due(now, wait['due'])}" if wait else ""
            print(f"    {'now':>9}  {workflow_id} v{run['version']} is at '{run['node']}'{waiting}")


def read_json(settings: Settings, topics: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for topic in topics:
        records = asyncio.run(read_to_end(settings.bootstrap, settings.topic(topic)))
        for record in records:
            with contextlib.suppress(orjson.JSONDecodeError):  # `events` keeps the demo's malformed lines
                # Step records come packed: each value of a pack is one record here.
                out.extend(v for v in unpack(record.value or b"null") if isinstance(v, dict))
    return out


def ago(now: int, ts: object) -> str:
    return (
        f"-{format_duration(max(0, now - int(ts)) // 60_000 * 60_000 or 0)}" if isinstance(ts, int) else "?"
    )


def format_due(now: int, due: int) -> str:
    return f"in {format_duration(max(0, due - now) // 60_000 * 60_000)}" if due > now else "now"


def report_deliveries(settings: Settings, peers: DemoPeers) -> None:
    received = peers.received
    print(f"\n  SMTP server: {len(received.emails)} emails")
    for email in sorted(received.emails, key=lambda e: (e["to"], e["subject"])):
        print(f"    to {email['to']:22} {email['subject']}")
    kinds = Counter(r["kind"] for r in received.requests)
    print(f"\n  HTTP receiver: {len(received.requests)} signed requests ({dict(sorted(kinds.items()))}), "
          f"{received.bad_signatures} with a bad signature")  # fmt: skip
    for request in received.requests:
        body = request["body"]
        recipient = body.get("recipient")
        if isinstance(recipient, dict):
            recipient = ", ".join(f"{k} {v}" for k, v in recipient.items())
        who = recipient or body.get("signer_email") or body.get("contact_id", "")
        what = (
            body.get("message") or body.get("reason") or body.get("document_id") or body.get("fields") or ""
        )
        print(f"    {request['kind']:9} {who}: {what}")
    tasks = read_json(settings, [TASKS])
    latest = {t["task_id"]: t for t in tasks}
    print(f"\n  Tasks ({len(latest)}), assigned round-robin within each team:")
    for task in latest.values():
        print(f"    {task['title']} -> {task['assignee']} ({task['team'] or 'direct'}), {task['status']}")
    outcomes = Counter(
        e["type"]
        for e in read_json(settings, ["events"])
        if e.get("type") in SYSTEM_EVENT_TYPES - {"timer.fired"}
    )
    print(f"\n  Outcome events the sinks sent back to `events`: {dict(sorted(outcomes.items()))}")
    print_dead_letters(settings)
    failed = read_json(settings, [ACTIONS_DLQ])
    print(f"\n  Dead-lettered actions in {settings.topic(ACTIONS_DLQ)}: {len(failed)}")
    for letter in failed:
        print(
            f"    {letter['action'].get('type')} for {letter['action'].get('contact_id')}: {letter['error']}"
        )


def report_funnel(settings: Settings, port: int) -> None:
    print("\n  `switchyard report funnel` (ClickHouse, embedded chdb, through the analytics writer):")
    env = {**inherited_env(switchyard=False), **settings.to_env(), **analytics_env(settings, port)}
    result = subprocess.run(
        [sys.executable, "-m", "switchyard", "report", "funnel", "--since", "30d"],
        env=env, capture_output=True, text=True, check=False, cwd=REPO, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    print(textwrap.indent((result.stdout or result.stderr).rstrip(), "    "))


def print_dead_letters(settings: Settings) -> None:
    letters = asyncio.run(read_dead_letters(settings.bootstrap, settings.topic(EVENTS_DLQ)))
    print(f"\n  Dead letters in {settings.topic(EVENTS_DLQ)} ({len(letters)}), original bytes kept:")
    for letter in letters:
        reason = letter.reason
        detail = letter.headers.get("x-switchyard-detail", b"").decode(errors="replace")
        print(f"   - {reason}: {detail}")
        print(f"       {(letter.value or b'')[:72]!r}")


def say(step: str, text: str) -> None:
    print(f"\n[{step}] {text}", flush=True)
