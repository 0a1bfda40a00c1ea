"""The assignor's claim of the partitions a worker held: written on assignment, read on start, honoured by
Faust's sticky assignment as the group leader computes it (its real code, on a stated cluster)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agents.app import build_app
from agents.assignor import CLAIM_FILE, LocalStateAssignor, read_claim, trim_contested, write_claim
from agents.settings import Settings

EVENTS = "t.events"
PARTITIONS = 8


class StatedCluster:
    """The one thing the leader's assignment reads of the cluster: each topic's partitions."""

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(PARTITIONS)) if topic == EVENTS else set()


def assignor(data_dir: Path) -> LocalStateAssignor:
    app = build_app(Settings(data_dir=data_dir, app_id="claims", partitions=PARTITIONS, web_port=0))
    return LocalStateAssignor(app, replicas=0)


def rebalance(members: dict[str, LocalStateAssignor]) -> dict[str, list[int]]:
    """One rebalance: the first member leads; every member takes its assignment. The events partitions."""
    leader = next(iter(members.values()))
    subscriptions = {name: member.metadata({EVENTS}) for name, member in members.items()}
    assigned = leader.assign(StatedCluster(), subscriptions)
    found = {}
    for name, member in members.items():
        member.on_assignment(assigned[name])
        found[name] = sorted(p for topic, ps in assigned[name].assignment if topic == EVENTS for p in ps)
    return found


def test_restarted_workers_get_back_the_partitions_whose_state_they_hold(tmp_path: Path) -> None:
    first = rebalance({"a": assignor(tmp_path / "a"), "b": assignor(tmp_path / "b")})
    assert sorted(first["a"] + first["b"]) == list(range(PARTITIONS)) and len(first["a"]) == 4
    # New processes, joined in the other order: without claims the round robin would swap the halves.
    again = rebalance({"b": assignor(tmp_path / "b"), "a": assignor(tmp_path / "a")})
    assert again == first


@pytest.mark.parametrize("leader", ["a", "b"])
def test_after_a_rolling_restart_the_returning_worker_gets_its_own_partitions_back(
    tmp_path: Path, leader: str
) -> None:
    stays = assignor(tmp_path / "a")
    first = rebalance({"a": stays, "b": assignor(tmp_path / "b")})
    assert rebalance({"a": stays}) == {"a": list(range(PARTITIONS))}  # b is away: a holds them all
    returning = assignor(tmp_path / "b")
    members = {"a": stays, "b": returning} if leader == "a" else {"b": returning, "a": stays}
    assert rebalance(members) == first


def test_an_over_claim_loses_the_contested_partitions_first() -> None:
    assert trim_contested({"a": [0, 1, 2, 3], "b": [1, 3]}, 4) == {"a": [0, 2], "b": [1, 3]}
    # not enough uncontested ones for its share: it keeps contested ones up to the share
    assert trim_contested({"a": [0, 1, 2, 3], "b": [1, 2, 3]}, 4) == {"a": [0, 1], "b": [1, 2]}
    assert trim_contested({"a": [0, 1, 2], "b": []}, 3) == {"a": [0, 1, 2], "b": []}
    assert trim_contested({"a": [0, 1]}, 0) == {"a": [0, 1]}


def test_a_worker_alone_takes_every_partition_and_a_newcomer_gets_a_fair_share(tmp_path: Path) -> None:
    alone = rebalance({"a": assignor(tmp_path / "a")})
    assert alone["a"] == list(range(PARTITIONS))
    shared = rebalance({"b": assignor(tmp_path / "b"), "a": assignor(tmp_path / "a")})
    assert len(shared["a"]) == len(shared["b"]) == 4 and not set(shared["a"]) & set(shared["b"])


def test_two_claims_of_one_partition_give_it_to_one_worker(tmp_path: Path) -> None:
    for name, partitions in (("a", [0, 1, 2, 3, 4]), ("b", [4, 5, 6, 7])):
        write_claim(assignor(tmp_path / name).claim_path, {EVENTS: partitions})
    members = {"a": assignor(tmp_path / "a"), "b": assignor(tmp_path / "b")}
    found = rebalance(members)
    assert sorted(found["a"] + found["b"]) == list(range(PARTITIONS)) and len(found["a"]) == 4
    assert set(found["b"]) >= {5, 6, 7} and set(found["a"]) >= {0, 1, 2}


def test_a_claim_is_read_back_without_partitions_the_topics_do_not_have(tmp_path: Path) -> None:
    path = tmp_path / CLAIM_FILE
    write_claim(path, {EVENTS: [3, 1, 9], "other": [0]})
    assert read_claim(path, PARTITIONS) == {EVENTS: [1, 3], "other": [0]}
    assert read_claim(tmp_path / "missing.json", PARTITIONS) == {}


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'{"actives": 3}'])
def test_an_unreadable_claim_is_no_claim_and_says_so(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / CLAIM_FILE
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, "switchyard.assignor"):
        assert read_claim(path, PARTITIONS) == {}
    assert str(path) in caplog.text


def test_a_claim_that_cannot_be_written_only_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with caplog.at_level(logging.WARNING, "switchyard.assignor"):
        write_claim(blocker / CLAIM_FILE, {EVENTS: [0]})
    assert "could not record" in caplog.text
