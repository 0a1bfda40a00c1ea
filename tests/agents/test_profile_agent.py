"""The processing worker against the real broker: profiles, dead letters, recovery and replays."""

from __future__ import annotations

import shutil

import orjson
import pytest

from agents.changelog import read_contacts
from agents.settings import Settings
from tests.agents.faulty_worker import SEEK_DELAY
from tests.agents.fixtures import (
    WorkerFactory,
    event,
    produce,
    produce_events,
    read_topic,
    rewind_group,
    wait_processed,
)

pytestmark = pytest.mark.kafka
T0 = 1_763_900_000_000


def test_events_are_merged_into_the_profile(test_settings: Settings, worker_factory: WorkerFactory) -> None:
    worker_factory.start(test_settings)
    produce_events(
        test_settings,
        [
            event("ann", "contact.added", T0, email="ann@example.com", plan="free", add_tags=["lead"]),
            event("ann", "email.opened", T0 + 1000),
            event("ann", "contact.updated", T0 + 2000, plan="pro", email=None, add_tags=["vip"]),
            event("ann", "email.opened", T0 + 3000, remove_tags=["lead"]),
            event("bob", "contact.added", T0 + 500, name="Bob"),
            event("ann", "email.sent", T0 + 9000),
        ],
    )
    wait_processed(test_settings)
    states = read_contacts(test_settings.bootstrap, test_settings.app_id)
    ann = states["ann"]["profile"]
    assert ann["attrs"] == {"plan": "pro"}
    assert ann["tags"] == ["vip"]
    assert ann["counts"] == {"contact.added": 1, "email.opened": 2, "contact.updated": 1, "email.sent": 1}
    assert ann["first_seen"] == T0
    assert ann["last_seen"] == T0 + 3000  # email.sent is our own doing, not the contact's activity
    assert ann["last_by_type"]["email.sent"] == T0 + 9000
    assert states["bob"]["profile"]["attrs"] == {"name": "Bob"}


MALFORMED: list[tuple[str, bytes | None, bytes]] = [
    ("not_utf8", b"bad", b'{"event_id":"x","contact_id":"bad","type":"a","ts":1763900000000,"p":"\xff\xfe"}'),
    ("not_json", b"bad", b'{"event_id": "x", contact_id'),
    ("not_object", b"bad", b'["event_id", "contact_id"]'),
    ("missing_field", b"bad", b'{"event_id":"x","contact_id":"bad","ts":1763900000000}'),
    ("bad_ts", b"bad", b'{"event_id":"x","contact_id":"bad","type":"a","ts":"yesterday-ish"}'),
    ("wrong_type", b"bad", b'{"event_id":"x","contact_id":"bad","type":"a","ts":{"at":1}}'),
    ("wrong_type", b"bad", b'{"event_id":7,"contact_id":"bad","type":"a","ts":1763900000000}'),
    (
        "wrong_type",
        b"bad",
        b'{"event_id":"x","contact_id":"bad","type":"a","ts":1763900000000,"properties":[]}',
    ),
    ("bad_contact_id", b"", b'{"event_id":"x","contact_id":"","type":"a","ts":1763900000000}'),
    (
        "bad_contact_id",
        b"x" * 300,
        orjson.dumps({"event_id": "x", "contact_id": "x" * 300, "type": "a", "ts": T0}),
    ),
    ("ts_out_of_range", b"bad", b'{"event_id":"x","contact_id":"bad","type":"a","ts":1763900000}'),
    ("ts_out_of_range", b"bad", b'{"event_id":"x","contact_id":"bad","type":"a","ts":99999999999999}'),
    (
        "oversized",
        b"bad",
        orjson.dumps(
            {"event_id": "x", "contact_id": "bad", "type": "a", "ts": T0, "properties": {"blob": "y" * 5000}}
        ),
    ),
    ("key_mismatch", b"someone-else", b'{"event_id":"x","contact_id":"bad","type":"a","ts":1763900000000}'),
]


HUGE = b"x" * 1_048_400  # with a record's overhead, just under the broker's 1 MB message limit


def test_every_kind_of_malformed_input_is_dead_lettered_and_the_worker_goes_on(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    import asyncio

    settings = test_settings.with_(max_event_bytes=4096)
    worker_factory.start(settings)
    records: list[tuple[bytes | None, bytes | None]] = [(key, value) for _, key, value in MALFORMED]
    records.append((b"good", event("good", "contact.added", T0, name="Still here")))
    records.append((b"nokey-but-valid", None))  # a tombstone-like record with no value
    # as large as Kafka takes a record: its dead letter, with the reason's headers, must still fit
    records.append((b"huge", HUGE))
    asyncio.run(produce(settings.bootstrap, settings.topic("events"), records))
    wait_processed(settings)

    dead = asyncio.run(
        read_topic(settings.bootstrap, settings.topic("events.dlq"), expect=len(MALFORMED) + 2)
    )
    assert len(dead) == len(MALFORMED) + 2
    [huge] = [d for d in dead if d.key == b"huge"]
    assert huge.headers["x-switchyard-reason"] == b"oversized"
    by_value = {d.value: d for d in dead}
    for reason, key, value in MALFORMED:
        letter = by_value[value]  # the original bytes, unchanged
        assert letter.headers["x-switchyard-reason"].decode() == reason, (reason, letter.headers)
        assert letter.key == key
        assert letter.headers["x-switchyard-source-topic"].decode() == settings.topic("events")
        assert int(letter.headers["x-switchyard-source-offset"]) >= 0
        assert letter.headers["x-switchyard-detail"]
    assert by_value[None].headers["x-switchyard-reason"] == b"empty"
    states = read_contacts(settings.bootstrap, settings.app_id)
    assert set(states) == {"good"}
    assert states["good"]["profile"]["attrs"] == {"name": "Still here"}


def test_restarted_worker_without_local_state_recovers_from_the_changelog(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    first = worker_factory.start(test_settings, "first")
    produce_events(test_settings, [event("cara", "email.opened", T0 + i * 1000) for i in range(5)])
    wait_processed(test_settings)
    first.stop()
    shutil.rmtree(test_settings.state_dir)

    worker_factory.start(test_settings, "second")
    produce_events(test_settings, [event("cara", "email.opened", T0 + 10_000)])
    wait_processed(test_settings)
    cara = read_contacts(test_settings.bootstrap, test_settings.app_id)["cara"]
    # 6 only if the first five were restored from the changelog before the sixth was folded in
    assert cara["profile"]["counts"] == {"email.opened": 6}
    assert cara["profile"]["first_seen"] == T0


@pytest.mark.parametrize("seek_delay_s", [0.0, 2.0], ids=["as-is", "slow-seek"])
def test_redelivered_events_are_not_applied_twice(
    test_settings: Settings, worker_factory: WorkerFactory, seek_delay_s: float
) -> None:
    first = worker_factory.start(test_settings, "first")
    produce_events(test_settings, [event(f"c{i % 3}", "link.clicked", T0 + i) for i in range(30)])
    wait_processed(test_settings)
    first.stop()
    before = read_contacts(test_settings.bootstrap, test_settings.app_id)

    rewind_group(test_settings, test_settings.topic("events"))  # every event will be delivered again
    # Recovery fetches before it seeks to the committed offsets; slowed down, the whole rewound log is
    # buffered by then, and the seek to 0 does not move the position back (the feed once dropped it all).
    second = worker_factory.start(test_settings, "second", "tests.agents.faulty_worker",
                                  {SEEK_DELAY: str(seek_delay_s)})  # fmt: skip
    wait_processed(test_settings)  # the rewound log alone: a later record could make the consumer seek again
    produce_events(test_settings, [event("c0", "link.clicked", T0 + 100)])
    wait_processed(test_settings)
    assert "already-applied event(s)" in second.log_path.read_text()  # the 30 really came again
    after = read_contacts(test_settings.bootstrap, test_settings.app_id)
    assert [before[c]["profile"]["counts"]["link.clicked"] for c in ("c0", "c1", "c2")] == [10, 10, 10]
    assert after["c0"]["profile"]["counts"]["link.clicked"] == 11
    assert after["c1"] == before["c1"]
    assert after["c2"] == before["c2"]
