"""Kafka records to rows: what each topic's records become, and what is skipped."""

from __future__ import annotations

import orjson
import pytest

from engine.events import Limits
from engine.packing import pack, position
from sinks.analytics.exceptions import UnusableRecord
from sinks.analytics.records import action_rows, event_rows, outcome_status, step_rows, task_rows
from sinks.analytics.tables import TABLE_COLUMNS
from tests.sinks.analytics.fixtures import action_doc, event_doc, outcome_doc

T_MS = 1_767_261_600_000


def as_dict(table: str, row: tuple[object, ...]) -> dict[str, object]:
    return dict(zip(TABLE_COLUMNS[table], row, strict=True))


def log_offset(row: dict[str, object]) -> int:
    value = row["log_offset"]
    assert isinstance(value, int)
    return value


def test_an_event_becomes_an_events_row_with_its_kafka_position() -> None:
    doc = event_doc("e1", "c1", "page.viewed", 1_767_225_600_000, page="pricing")
    [(table, row)] = event_rows(orjson.dumps(doc), b"c1", 3, 17, Limits())
    assert table == "events"
    assert as_dict(table, row) == {
        "event_id": "e1", "contact_id": "c1", "type": "page.viewed", "ts": 1_767_225_600_000,
        "properties": '{"page":"pricing"}', "kafka_partition": 3, "kafka_offset": 17,
    }  # fmt: skip


def test_an_outcome_event_is_also_an_action_result() -> None:
    doc = outcome_doc("a1", "c1", "webhook.failed", 1_767_225_600_000)
    rows = dict(event_rows(orjson.dumps(doc), b"c1", 0, 0, Limits()))
    result = as_dict("action_results", rows["action_results"])
    assert (result["action_id"], result["outcome"], result["status"], result["channel"]) == (
        "a1", "webhook.failed", "failed", "webhook",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("etype", "status"),
    [("email.sent", "sent"), ("webhook.delivered", "delivered"), ("email.bounced", "failed"),
     ("action.failed", "failed"), ("task.created", "sent"), ("signature.requested", "sent")],
)  # fmt: skip
def test_outcome_status_follows_the_type_suffix(etype: str, status: str) -> None:
    assert outcome_status(etype) == status


def test_a_predicted_event_is_also_a_prediction() -> None:
    doc = event_doc("p1", "c1", "predicted.churn_risk", 1_767_225_600_000, score=0.8)
    rows = dict(event_rows(orjson.dumps(doc), b"c1", 0, 0, Limits()))
    assert as_dict("predictions", rows["predictions"])["model"] == "churn_risk"
    assert as_dict("predictions", rows["predictions"])["score"] == 0.8


def test_events_the_worker_dead_letters_are_skipped() -> None:
    with pytest.raises(UnusableRecord, match="not_json"):
        event_rows(b"{nope", b"c1", 0, 0, Limits())
    with pytest.raises(UnusableRecord, match="key_mismatch"):
        event_rows(orjson.dumps(event_doc("e1", "c1", "x", 1_767_225_600_000)), b"c2", 0, 0, Limits())


def test_step_records_are_named_by_source_and_seq_or_by_content_without_a_source() -> None:
    record = {"ts": 1, "contact_id": "c", "workflow_id": "w", "version": 2, "run_id": "r", "node_id": None,
              "transition": "entered", "reason": "trigger", "source": "4:99", "seq": 3,
              "branch": 1}  # fmt: skip
    [(table, row)], rejected = step_rows(orjson.dumps(record), 1, 5)
    assert rejected == []
    step = as_dict(table, row)
    assert (step["record_id"], step["node_id"], step["version"], step["log_offset"]) == ("4:99/3", "", 2, 5)
    assert orjson.loads(str(step["details"])) == {"branch": 1}
    migration = {"ts": 1, "contact_id": "c", "workflow_id": "w", "version": 2, "run_id": "r",
                 "node_id": "n", "transition": "migrated", "reason": "moved", "seq": 0}  # fmt: skip
    first = as_dict("step_log", step_rows(orjson.dumps(migration), 0, 1)[0][0][1])["record_id"]
    again = as_dict("step_log", step_rows(orjson.dumps(migration), 0, 2)[0][0][1])["record_id"]
    other = as_dict("step_log", step_rows(orjson.dumps({**migration, "run_id": "r2"}), 0, 3)[0][0][1])[
        "record_id"
    ]
    assert first == again != other


def step(source: str, seq: int, **extra: object) -> dict[str, object]:
    return {"ts": 1, "contact_id": "c", "workflow_id": "w", "version": 1, "run_id": "r", "node_id": "n",
            "transition": "waited", "source": source, "seq": seq, **extra}  # fmt: skip


def test_a_pack_becomes_one_row_per_step_record_at_its_position_in_the_log() -> None:
    records = [step("0:1", 0), step("0:1", 1), step("0:2", 0)]
    [packed] = pack([orjson.dumps(r) for r in records])
    rows, rejected = step_rows(packed, 3, 40)
    assert rejected == []
    steps = [as_dict(table, row) for table, row in rows]
    assert [s["record_id"] for s in steps] == ["0:1/0", "0:1/1", "0:2/0"]
    assert [s["log_partition"] for s in steps] == [3, 3, 3]
    positions = [log_offset(s) for s in steps]
    assert positions == [position(40, 0), position(40, 1), position(40, 2)]
    # Log order: a pack's values in order, after every record at a lower offset, packed or not.
    [(_, single)] = step_rows(orjson.dumps(step("0:0", 0)), 3, 39)[0]
    [(_, earlier)] = step_rows(pack([orjson.dumps(step("0:0", 1))] * 3)[0], 3, 39)[0][2:]
    later = as_dict("step_log", step_rows(pack([orjson.dumps(step("0:3", 0))])[0], 3, 41)[0][0][1])
    assert log_offset(as_dict("step_log", single)) < log_offset(as_dict("step_log", earlier)) < positions[0]
    assert positions[-1] < log_offset(later)


def test_a_step_record_of_a_pack_that_cannot_become_a_row_is_rejected_alone() -> None:
    good, bad, deep = step("0:1", 0), {"transition": "waited"}, step("0:1", 2, details=nested(70))
    [packed] = pack([orjson.dumps(good), orjson.dumps(bad), orjson.dumps(deep), b"7"])
    rows, rejected = step_rows(packed, 0, 8)
    assert [as_dict(t, r)["record_id"] for t, r in rows] == ["0:1/0"]
    assert [(r.slot, r.problem.reason) for r in rejected] == [(1, "unusable_record"), (2, "too_deep"),
                                                               (3, "not_object")]  # fmt: skip
    assert [orjson.loads(r.value) for r in rejected] == [bad, deep, 7]
    with pytest.raises(UnusableRecord) as refused:
        step_rows(b"[{", 0, 9)
    assert refused.value.reason == "not_json"


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"x": value}
    return value


def test_action_and_task_records() -> None:
    [(table, row)] = action_rows(orjson.dumps(action_doc("a1", "c1", "w", "n", "email", 10)), 0, 7)
    assert as_dict(table, row)["node_id"] == "n"
    with pytest.raises(UnusableRecord):
        action_rows(orjson.dumps({"channel": "email"}), 0, 0)
    [(table, row)] = task_rows(orjson.dumps({"task_id": "t1", "title": "Call", "team": "sales"}), 123)
    task = as_dict(table, row)
    assert (task["status"], task["updated_at"], task["team"]) == ("open", 123, "sales")


def test_numbers_a_column_cannot_hold_are_refused_as_out_of_range() -> None:
    for changed in ({"seq": 2**32}, {"version": 2**32}, {"late_ms": 2**63}, {"ts": 2**63}, {"ts": 2**64 - 1}):
        with pytest.raises(UnusableRecord) as refused:
            step_rows(orjson.dumps({**step("0:1", 0), **changed}), 0, 1)
        assert refused.value.reason == "out_of_range", changed
    with pytest.raises(UnusableRecord) as refused:
        action_rows(orjson.dumps(action_doc("a1", "c1", "w", "n", "email", 2**63)), 0, 7)
    assert refused.value.reason == "out_of_range"
    with pytest.raises(UnusableRecord) as refused:
        task_rows(orjson.dumps({"task_id": "t1", "updated_at": -(2**63)}), 123)
    assert refused.value.reason == "out_of_range"


def test_an_events_due_at_that_is_no_time_stays_in_the_task_details() -> None:
    raw = orjson.dumps(event_doc("e1", "c1", "task.created", T_MS, task_id="t1", due_at=2**63, title="Call"))
    rows = dict(event_rows(raw, b"c1", 0, 5, Limits()))
    task = as_dict("tasks", rows["tasks"])
    assert task["due_at"] is None and orjson.loads(str(task["details"])) == {"due_at": 2**63}
    good = orjson.dumps(event_doc("e2", "c1", "task.created", T_MS, task_id="t2", due_at=T_MS + 1))
    task = as_dict("tasks", dict(event_rows(good, b"c1", 0, 6, Limits()))["tasks"])
    assert task["due_at"] == T_MS + 1 and task["details"] == ""
