"""Peer (q) of the runtime benchmark: quix-streams doing a stateful per-key count with a changelog.

For each event: decode the JSON value, add one to the contact's count in quix-streams' RocksDB state
(changelogged to Kafka, as our contacts table is), and produce the event with its count, re-encoded, to
the output topic. At-least-once, commits every second, like our worker. What it does per event is far
less than our worker (no workflows, no timers, no models): the ratio runtime/q says what the whole
engine costs against a lean stateful stream processor on the same broker, events and machine.

Needs the optional `bench` extra (`pip install -e '.[bench]'`); `available()` says whether it is there.

    python -m loadtest.quix_peer --bootstrap B --in-topic IN --out-topic OUT --group G --state-dir D
Prints READY once the application is built, then runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

READY = b"READY"


def available() -> bool:
    return importlib.util.find_spec("quixstreams") is not None


def count_per_key(value: dict[str, Any], state: Any) -> dict[str, Any]:
    count = state.get("count", 0) + 1
    state.set("count", count)
    return {**value, "count": count}


def processed_at(value: Any, key: Any, timestamp: int, headers: Any) -> int:
    """The output record's timestamp: when it was processed, as our worker's and the baselines' outputs
    are stamped (quix-streams would otherwise pass the input record's timestamp on)."""
    return int(time.time() * 1000)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadtest.quix_peer", description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--in-topic", required=True)
    parser.add_argument("--out-topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    from quixstreams import Application  # the optional extra: imported only when the peer runs

    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        commit_interval=1.0,
        state_dir=str(args.state_dir),
        use_changelog_topics=True,
        processing_guarantee="at-least-once",
        loglevel="WARNING",
    )
    source = app.topic(args.in_topic, key_deserializer="bytes", value_deserializer="json")
    sink = app.topic(args.out_topic, key_serializer="bytes", value_serializer="json")
    frame = app.dataframe(source).apply(count_per_key, stateful=True)
    frame.set_timestamp(processed_at).to_topic(sink)
    print(READY.decode(), flush=True)
    app.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
