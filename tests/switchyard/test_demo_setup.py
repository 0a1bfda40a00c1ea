"""The demo's setup against the real broker: topics deleted and created again at once keep what is
written to the new ones, and the example workflows are published so that they can be read back."""

from __future__ import annotations

import asyncio

import pytest

from agents.kafka_admin import create_topics, delete_topics, topic_names
from agents.settings import Settings
from agents.topic_reader import read_to_end
from agents.topics import WORKFLOWS
from switchyard.demo import EXAMPLES, publish_examples, reset
from tests.agents.fixtures import produce

pytestmark = pytest.mark.kafka


def test_deleted_topics_are_gone_when_delete_returns_and_a_new_one_keeps_its_records(
    test_settings: Settings,
) -> None:
    bootstrap, names = test_settings.bootstrap, [test_settings.topic(f"doomed-{i}") for i in range(6)]
    asyncio.run(create_topics(bootstrap, names, partitions=4))
    asyncio.run(produce(bootstrap, names[0], [(b"k", b"old")]))

    asyncio.run(delete_topics(bootstrap, names))
    assert not set(names) & asyncio.run(topic_names(bootstrap))

    asyncio.run(create_topics(bootstrap, names, partitions=4))
    asyncio.run(produce(bootstrap, names[0], [(b"k", b"new")]))
    assert [r.value for r in asyncio.run(read_to_end(bootstrap, names[0]))] == [b"new"]


def test_the_demo_publishes_every_example_and_reads_it_back(test_settings: Settings) -> None:
    reset(test_settings)  # deletes the topics it will use, then creates them again
    published = publish_examples(test_settings)
    assert sorted(published) == sorted(f"{p.stem}@1" for p in EXAMPLES.glob("*.yaml"))
    stored = asyncio.run(read_to_end(test_settings.bootstrap, test_settings.topic(WORKFLOWS)))
    assert {r.key for r in stored} == {name.encode() for name in published}
