"""Crash safety against the real broker: kill -9 mid-stream and restart gives the same action ids as an
uninterrupted run, with dynamic and with static group membership; two workers share the partitions and a
killed worker's waits fire on the survivor."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from agents.changelog import read_contacts
from agents.kafka_admin import ensure_worker_topics
from agents.settings import Settings
from agents.worker_process import WorkerProcess
from tests.agents.fixtures import WorkerFactory, event, produce_events, publish, read_actions, wait_processed
from tests.fixtures import unique

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
HOUR = 3_600_000
DAY = 24 * HOUR


def stream(contacts: int, t0: int) -> list[bytes]:
    """Each contact: a profile, some activity, then an abandoned cart whose three steps are all due."""
    out = []
    for i in range(contacts):
        c = f"c{i:05d}"
        out.append(event(c, "contact.added", t0 - DAY, first_name=f"N{i}", email=f"{c}@example.com"))
        out.append(event(c, "email.opened", t0 - DAY + 1000 + i))
        out.append(event(c, "cart.created", t0, cart_id=f"cart-{c}", value=10 + i % 90))
        if i % 3 == 0:
            out.append(event(c, "document.requested", t0 + 1, document_id=f"doc-{c}"))
    return out


def settings_for(base: Settings, name: str) -> Settings:
    tag = unique(name)
    return base.with_(app_id=tag, topic_prefix=f"{tag}.", data_dir=base.data_dir / tag)


def collect(settings: Settings, expected: int, timeout: float = 120.0) -> list[dict[str, object]]:
    """Every action record on every channel, read to the end, once `expected` distinct ids are there.

    Counting records is not enough: after a crash the same ids come again, so a reader that stops at
    `expected` records would stop before the actions of the re-processed contacts at the topics' ends."""
    from agents.topic_reader import read_to_end
    from agents.topics import ACTION_CHANNELS, action_topic

    deadline = time.monotonic() + timeout
    while True:
        actions = [
            orjson.loads(record.value)
            for channel in ACTION_CHANNELS
            for record in asyncio.run(read_to_end(settings.bootstrap, settings.topic(action_topic(channel))))
            if record.value
        ]
        if len({a["action_id"] for a in actions}) >= expected or time.monotonic() > deadline:
            return actions
        time.sleep(1.0)


def assert_one_body_per_id(actions: list[dict[str, object]]) -> None:
    """A duplicate is the very same action, never a different one under the same id."""
    by_id: dict[object, bytes] = {}
    for action in actions:
        body = orjson.dumps(action, option=orjson.OPT_SORT_KEYS)
        assert by_id.setdefault(action["action_id"], body) == body


def test_kill_9_mid_stream_gives_the_same_action_ids(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    contacts = 1200
    t0 = int(time.time() * 1000) - 7 * DAY  # every wait is due: the timer service drives the rest
    events = stream(contacts, t0)
    # 3 per cart (reminder, discount, notify) + 5 per document (generate, request, remind, notify, task)
    expected = contacts * 3 + len(range(0, contacts, 3)) * 5

    calm = settings_for(test_settings, "calm")
    publish(calm, EXAMPLES / "abandoned_cart.yaml", EXAMPLES / "document_workflow.yaml")
    produce_events(calm, events)
    worker_factory.start(calm, "calm")
    reference = collect(calm, expected)
    reference_ids = {a["action_id"] for a in reference}
    assert len(reference_ids) == expected == len(reference)

    crashy = settings_for(test_settings, "crashy")
    publish(crashy, EXAMPLES / "abandoned_cart.yaml", EXAMPLES / "document_workflow.yaml")
    produce_events(crashy, events)
    for round_ in range(3):
        worker = worker_factory.start(crashy, f"crashy-{round_}")
        time.sleep(0.6 + 0.5 * round_)  # mid-batch, mid-timer-firing: wherever it happens to be
        worker.kill9()
    worker_factory.start(crashy, "crashy-final")
    wait_processed(crashy, timeout=120)
    crashed = collect(crashy, expected)

    ids = Counter(a["action_id"] for a in crashed)
    missing = [a for a in reference if a["action_id"] not in ids]
    missed_contacts = sorted({str(a["contact_id"]) for a in missing})[:20]
    assert not missing, (len(missing), Counter(str(a["node_id"]) for a in missing), missed_contacts)
    assert set(ids) == reference_ids
    assert_one_body_per_id(crashed)
    print(f"duplicates after 3 kills: {sum(n - 1 for n in ids.values())} of {len(crashed)} actions")


def test_a_static_member_killed_and_restarted_on_its_data_dir_loses_nothing(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    """SWITCHYARD_STATIC_MEMBERSHIP=on: the restarted worker is the same group member (its instance id comes
    from the app id and data dir), so it takes its partitions back without a rebalance wait. Whatever the
    killed one had not committed is processed again, under the same action ids."""
    from agents.app import build_app

    contacts = 300
    events = stream(contacts, int(time.time() * 1000) - 7 * DAY)
    expected = contacts * 3 + len(range(0, contacts, 3)) * 5
    static = settings_for(test_settings, "static").with_(static_membership=True)
    assert static.group_instance_id is not None
    assert build_app(static).conf.consumer_group_instance_id == static.group_instance_id
    publish(static, EXAMPLES / "abandoned_cart.yaml", EXAMPLES / "document_workflow.yaml")
    produce_events(static, events)
    worker = worker_factory.start(static, "static-0")
    time.sleep(0.6)
    worker.kill9()
    worker_factory.start(static, "static-1")
    wait_processed(static, timeout=120)
    actions = collect(static, expected)

    assert len({a["action_id"] for a in actions}) == expected
    assert_one_body_per_id(actions)


def assigned_partitions(log_path: Path) -> list[int]:
    found = re.findall(r"partitions \[([0-9, ]*)\]: timers rebuilt from the table", log_path.read_text())
    return [int(p) for p in found[-1].split(",") if p.strip()] if found else []


def wait_split(
    first: WorkerProcess, second: WorkerProcess | None, every: list[int]
) -> tuple[list[int], list[int]]:
    """The partitions each worker holds once they hold all of them between them (all: `second` None)."""
    deadline = time.monotonic() + 60
    while True:
        one = assigned_partitions(first.log_path)
        two = assigned_partitions(second.log_path) if second is not None else []
        split = sorted(one + two) == every and (second is None or bool(one and two))
        if split or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert split and not set(one) & set(two), (one, two)
    return sorted(one), sorted(two)


def test_two_workers_share_partitions_and_the_survivor_fires_the_waits(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    publish(test_settings, EXAMPLES / "abandoned_cart.yaml")
    every = list(range(test_settings.partitions))
    first = worker_factory.start(test_settings.with_(data_dir=test_settings.data_dir / "w1"), "w1")
    second = worker_factory.start(test_settings.with_(data_dir=test_settings.data_dir / "w2"), "w2")
    one, two = wait_split(first, second, every)

    # A rolling restart of the second: it gets back the partitions whose state it holds (agents/assignor.py)
    second.stop()
    wait_split(first, None, every)
    second = worker_factory.start(test_settings.with_(data_dir=test_settings.data_dir / "w2"), "w2-again")
    assert wait_split(first, second, every) == (one, two)

    due_in = 20_000
    t0 = int(time.time() * 1000) - 2 * HOUR + due_in  # the 2h waits fall due in 20 s
    contacts = [f"k{i:03d}" for i in range(120)]
    produce_events(test_settings, [event(c, "cart.created", t0, cart_id=f"cart-{c}") for c in contacts])
    wait_processed(test_settings)
    first.kill9()  # its partitions' timers are only in the timers table now

    actions = read_actions(test_settings, expect=len(contacts), timeout=90)
    reminders = {a["contact_id"] for a in actions if a["node_id"] == "reminder"}
    assert reminders == set(contacts)
    assert sorted(assigned_partitions(second.log_path)) == list(range(test_settings.partitions))


def test_a_worker_joining_mid_stream_loses_no_event(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    """Partitions moving to a second worker while the first is busy: every event is applied exactly once
    (faust-streaming's own consumer loop skips records across such a rebalance; agents/consumer.py's
    does not, and agents/gaps.py would seek back over a hole if one appeared)."""
    settings = test_settings.with_(ml=False)
    asyncio.run(ensure_worker_topics(settings))  # before producing, so `events` has the worker's partitions
    contacts, per_contact = 4000, 5
    produce_events(
        settings,
        [event(f"j{c:05d}", "page.viewed", 1_763_900_000_000 + i, page="x") for i in range(per_contact)
         for c in range(contacts)],
    )  # fmt: skip
    worker_factory.start(settings.with_(data_dir=settings.data_dir / "w1"), "w1")
    time.sleep(1.0)
    worker_factory.start(settings.with_(data_dir=settings.data_dir / "w2"), "w2")
    wait_processed(settings, timeout=90)
    assert_each_applied_once(settings, contacts, per_contact)


def assert_each_applied_once(
    settings: Settings, contacts: int, per_contact: int, timeout: float = 90
) -> None:
    """Committed lag 0 is not enough here: records the guard drops while it seeks back are acknowledged
    too, so the states themselves are awaited (until complete, or the timeout shows what is missing)."""
    deadline = time.monotonic() + timeout
    while True:
        states = read_contacts(settings.bootstrap, settings.app_id)
        applied = Counter({c: s["profile"]["counts"].get("page.viewed", 0) for c, s in states.items()})
        done = len(states) == contacts and set(applied.values()) == {per_contact}
        if done or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    assert done, (len(states), Counter(applied.values()))


def test_records_the_consumer_skips_are_fetched_again(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    """The consumer jumps over records once (injected: the effect of faust-streaming's rebalance race);
    the worker notices the hole in the offsets and seeks back, so every event is still applied once."""
    settings = test_settings.with_(ml=False, partitions=2, batch_size=200, test_skip_records=20)
    asyncio.run(ensure_worker_topics(settings))
    contacts, per_contact = 600, 3
    produce_events(
        settings,
        [event(f"h{c:04d}", "page.viewed", 1_763_900_000_000 + i, page="x") for i in range(per_contact)
         for c in range(contacts)],
    )  # fmt: skip
    worker = worker_factory.start(settings)
    wait_processed(settings, timeout=120)
    assert_each_applied_once(settings, contacts, per_contact)
    assert "were skipped by the consumer; seeking back" in worker.log_path.read_text()
