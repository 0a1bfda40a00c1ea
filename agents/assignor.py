"""Partition assignment that gives a restarted worker back the partitions whose state it holds on disk.

Faust's assignor is sticky only within a process: each member tells the group leader the partitions it
had (its `ClientAssignment`), and the leader keeps them where it can, but a new process starts with none.
So when every worker of a group restarts on its data dir, the partitions are dealt out afresh, a worker
often gets another's (in 3 of 6 runs of the runtime bench), and restores those from the changelog (about
9 s for 43,000 records here) while the state it has on disk goes unused. Kafka Streams avoids this by
weighing each member's local state in its assignment; we do the small version of that: every assignment a
worker receives is written next to its tables, and a restarted worker claims it again. Faust's sticky
rules then do the rest: a claim is kept within the member's fair share, and a partition two members
claim goes to one of them.

One case needs the leader's help. In a rolling restart, the worker that stayed up holds every partition
for a while, so it claims them all, the returning worker's included. Faust trims a claim past the fair
share by dropping partitions in set order, which can hand the returning worker partitions it never held
(a full restore) while its own go elsewhere. So before Faust's rules run, the leader trims such a claim
by the partitions another member claims first.

A claim is only a preference: a missing or unreadable file means no claim, never a failure.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata
from faust.assignor import PartitionAssignor
from faust.assignor.client_assignment import ClientAssignment, ClientMetadata

log = logging.getLogger("switchyard.assignor")
CLAIM_FILE = "assignment.json"


class LocalStateAssignor(PartitionAssignor):
    def __init__(self, app: Any, replicas: int = 0) -> None:
        super().__init__(app, replicas=replicas)
        self.claim_path = Path(app.conf.tabledir) / CLAIM_FILE
        claimed = read_claim(self.claim_path, int(app.conf.topic_partitions))
        if claimed:
            self._assignment = ClientAssignment(actives=claimed, standbys={})

    def on_assignment(self, assignment: Any) -> None:
        super().on_assignment(assignment)
        write_claim(self.claim_path, self._assignment.actives)

    def assign(self, cluster: Any, member_metadata: Mapping[str, Any]) -> Any:
        """The leader's assignment, with over-claims trimmed first (`trim_contested`)."""
        clients = {member: ClientMetadata.loads(meta.user_data) for member, meta in member_metadata.items()}
        # the clients' own dicts: a trim written into them goes out with `dumps` below
        claims = {member: client.assignment.actives for member, client in clients.items()}
        for topic in {topic for actives in claims.values() for topic in actives}:
            held = {member: list(actives.get(topic, ())) for member, actives in claims.items()}
            partitions = len(cluster.partitions_for_topic(topic) or ())
            for member, kept in trim_contested(held, partitions).items():
                if topic in claims[member]:
                    claims[member][topic] = kept
        trimmed = {
            member: ConsumerProtocolMemberMetadata(meta.version, meta.subscription, clients[member].dumps())
            for member, meta in member_metadata.items()
        }
        return super().assign(cluster, trimmed)


def trim_contested(claims: Mapping[str, list[int]], partitions: int) -> dict[str, list[int]]:
    """Each member's claimed partitions of one topic, a claim past the fair share (``partitions`` // members,
    as Faust's assignor computes it) first losing the partitions another member claims too."""
    if not partitions or not claims:
        return {member: list(claim) for member, claim in claims.items()}
    share = max(partitions // len(claims), 1)
    trimmed: dict[str, list[int]] = {}
    for member, claim in claims.items():
        if len(claim) <= share:
            trimmed[member] = list(claim)
            continue
        others = {p for other, theirs in claims.items() if other != member for p in theirs}
        uncontested = [p for p in claim if p not in others]
        contested = [p for p in claim if p in others]
        trimmed[member] = uncontested + contested[: max(share - len(uncontested), 0)]
    return trimmed


def read_claim(path: Path, partitions: int) -> dict[str, list[int]]:
    """The partitions (topic -> partitions) of the assignment written at `path`, those below `partitions`
    only; nothing when there is no such file or it cannot be read."""
    try:
        raw = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, orjson.JSONDecodeError) as exc:
        log.warning("ignoring the partition claim in %s: %s", path, exc)
        return {}
    actives = raw.get("actives") if isinstance(raw, dict) else None
    if not isinstance(actives, dict):
        log.warning("ignoring the partition claim in %s: no 'actives' object", path)
        return {}
    return {
        topic: sorted({p for p in found if type(p) is int and 0 <= p < partitions})
        for topic, found in actives.items()
        if isinstance(topic, str) and isinstance(found, list)
    }


def write_claim(path: Path, actives: Mapping[str, list[int]]) -> None:
    """Replace the file at `path` with `actives`, whole or not at all; a failure only costs the claim."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(orjson.dumps({"actives": {t: sorted(ps) for t, ps in actives.items()}}))
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("could not record this worker's partitions in %s (a restart may move them): %s",
                    path, exc)  # fmt: skip
