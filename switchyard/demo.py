"""`make run`: local broker, a fresh demo worker, the demo stream, and a plain account of what happened."""

from __future__ import annotations

import asyncio
import shutil
import time

from agents.topics import WORKFLOWS, all_topic_names
from switchyard.broker.factory import broker_for
from switchyard.inspect import changelog_topic, read_contacts, read_dead_letters
from switchyard.kafka_tools import delete_topics, ensure_worker_topics, wait_for_lag_zero
from switchyard.processes import REPO, WorkerProcess
from switchyard.produce import send_file_lines
from switchyard.settings import Settings
from tables.contacts import CONTACTS_TABLE
from tables.timers import TIMERS_TABLE

DEMO_EVENTS = REPO / "examples" / "demo" / "events.jsonl"
DEMO_APP = "switchyard-demo"


def run_demo(base: Settings) -> int:
    settings = base.with_(app_id=DEMO_APP, topic_prefix="demo.", data_dir=base.data_dir / "demo", web_port=0)
    say("1/5", "Kafka broker")
    if base.external_kafka:
        print(f"      using SWITCHYARD_KAFKA={base.external_kafka}")
    else:
        print("      " + broker_for(base).start().detail)

    say("2/5", "fresh demo topics and state (the demo starts from scratch each time)")
    reset(settings)

    say("3/5", "starting a worker")
    worker = WorkerProcess(settings, settings.data_dir / "worker.log").start()
    print(f"      worker pid {worker.pid}, log {worker.log_path}")
    try:
        say("4/5", f"sending {DEMO_EVENTS.relative_to(REPO)}")
        with DEMO_EVENTS.open("rb") as handle:
            sent = send_file_lines(settings.bootstrap, settings.topic("events"), handle)
        print(f"      {sent} records sent")
        started = time.monotonic()
        caught_up = asyncio.run(wait_for_lag_zero(settings.bootstrap, DEMO_APP, settings.topic("events"), 60))
        if not caught_up:
            print(f"      the worker did not catch up within 60 s; see {worker.log_path}")
            return 1
        print(f"      processed in {time.monotonic() - started:.1f} s")
        say("5/5", "what happened")
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
    asyncio.run(ensure_worker_topics(settings))


def report(settings: Settings) -> None:
    states = read_contacts(settings.bootstrap, DEMO_APP)
    print(f"\n  Contacts ({len(states)}), as stored in the contacts table:")
    for contact_id in sorted(states):
        profile = states[contact_id]["profile"]
        counts = ", ".join(f"{t} x{n}" for t, n in sorted(profile["counts"].items()))
        attrs = ", ".join(f"{k}={v}" for k, v in sorted(profile["attrs"].items()) if k != "email")
        print(f"   - {contact_id:5} tags={profile['tags']} {attrs}")
        print(f"     events: {counts}")
    print_dead_letters(settings)


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
