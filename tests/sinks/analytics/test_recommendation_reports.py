"""The `sends` report (per-node sent/opened/clicked/converted) and the `recommendations` report (shown,
applied, dismissed and acceptance per kind), each loaded twice to show a re-inserted batch counts once."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from sinks.analytics.batch import ColumnBatch
from sinks.analytics.exceptions import UnusableRecord
from sinks.analytics.records import recommendation_rows
from sinks.analytics.reports import report_parameters, run_report
from sinks.analytics.store import AnalyticsStore
from sinks.analytics.writer import insert_batch
from tests.sinks.analytics.fixtures import StepLog, action_doc, event_doc, insert_records, outcome_doc

T = 1_767_261_600_000
ALL = report_parameters("", 0, T + 1000)


def test_sends_report_counts_opens_clicks_and_conversions_per_node(store: AnalyticsStore) -> None:
    actions = [action_doc(f"a{i}", f"c{i}", "welcome", "email_1", "email", T) for i in range(4)]
    actions.append(action_doc("b0", "c0", "welcome", "email_2", "email", T + 10))
    outcomes = [
        outcome_doc("a0", "c0", "email.delivered", T + 1),
        outcome_doc("a0", "c0", "email.opened", T + 2),
        outcome_doc("a1", "c1", "email.opened", T + 2),
        outcome_doc("a1", "c1", "email.clicked", T + 3),
        outcome_doc("a2", "c2", "email.clicked", T + 3),  # a click without a recorded open counts as one
    ]
    log = StepLog()
    log.add(T + 5, "c1", "welcome", 1, "run-c1", "bought", "goal")
    for _ in range(2):
        insert_records(store, steps=log.records, events=outcomes, actions=actions)
    result = run_report(store, "sends", ALL)
    got = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    assert [(r["node"], r["sent"], r["opened"], r["clicked"], r["converted"]) for r in got] == [
        ("email_1", 4, 3, 2, 1),
        ("email_2", 1, 0, 0, 0),
    ]
    assert got[0]["channel"] == "email" and got[0]["version"] == 1
    assert run_report(store, "sends", report_parameters("other", 0, T)).rows == []


def test_channels_report_gives_the_evidence_per_node_channel_and_segment(store: AnalyticsStore) -> None:
    profiles = [
        event_doc("p0", "c0", "contact.added", T - 9, plan="free"),
        event_doc("p1", "c0", "contact.updated", T - 5, segment="na"),  # segment wins over plan
        event_doc("p2", "c1", "contact.added", T - 9, plan="trial"),  # no segment: the plan
        event_doc("p3", "c3", "page.viewed", T - 9, segment="ignored"),  # not a profile event
    ]
    actions = [
        action_doc("a0", "c0", "welcome", "email_1", "email", T),
        action_doc("a1", "c1", "welcome", "email_1", "email", T),
        action_doc("s0", "c0", "promo", "offer", "sms", T),
        action_doc("s3", "c3", "promo", "offer", "sms", T),
        action_doc("w0", "c0", "promo", "hook", "webhook", T),  # not a contact channel
    ]
    outcomes = [
        outcome_doc("a0", "c0", "email.opened", T + 1),
        outcome_doc("a0", "c0", "email.replied", T + 2),  # a reply is worth a click
        outcome_doc("a1", "c1", "email.opened", T + 1),
        outcome_doc("s0", "c0", "sms.clicked", T + 1),
    ]
    log = StepLog()
    log.add(T + 5, "c1", "welcome", 1, "run-c1", "bought", "goal")
    for _ in range(2):
        insert_records(store, steps=log.records, events=[*profiles, *outcomes], actions=actions)
    result = run_report(store, "channels", report_parameters("welcome", 0, T + 1000))  # every workflow
    got = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    assert [
        (r["workflow_id"], r["node"], r["channel"], r["segment"], r["sent"], r["opened"], r["clicked"],
         r["converted"], round(r["reward"], 4), round(r["reward_sq"], 4))
        for r in got
    ] == [
        ("promo", "offer", "sms", "all", 1, 0, 0, 0, 0.0, 0.0),
        ("promo", "offer", "sms", "na", 1, 1, 1, 0, 0.7, 0.49),
        ("welcome", "email_1", "email", "na", 1, 1, 1, 0, 0.7, 0.49),
        ("welcome", "email_1", "email", "trial", 1, 1, 0, 1, 0.3, 0.09),  # a conversion earns no reward
    ]  # fmt: skip


def record(rid: str, what: str, ts: int, kind: str, **more: Any) -> bytes:
    doc = {"recommendation_id": rid, "what": what, "ts": ts, "workflow_id": "welcome", "version": 1,
           "kind": kind, "node": "n", **more}  # fmt: skip
    return orjson.dumps(doc)


def test_recommendations_report_counts_each_recommendation_once_per_outcome(store: AnalyticsStore) -> None:
    records = [
        record("r1", "shown", T, "split_winner"),
        record("r1", "shown", T + 1, "split_winner"),  # shown twice: one recommendation
        record("r2", "shown", T, "split_winner"),
        record("r3", "shown", T, "split_winner"),
        record("r1", "applied", T + 2, "split_winner", draft_version=2),
        record("r2", "dismissed", T + 2, "split_winner", reason="not now"),
        record("r4", "shown", T, "drop_off"),
    ]
    for _ in range(2):  # the same batch again: no double count
        batch = ColumnBatch()
        for i, value in enumerate(records):
            batch.add("t", 0, i, recommendation_rows(value), 0.0)
        insert_batch(store, batch)
    result = run_report(store, "recommendations", ALL)
    assert result.columns[:4] == ["kind", "shown", "applied", "dismissed"]
    assert result.rows == [("drop_off", 1, 0, 0, None, 0.0), ("split_winner", 3, 1, 1, 0.5, 0.3333)]
    reason = store.query("SELECT reason FROM recommendation_log FINAL WHERE what = 'dismissed'").rows
    assert reason == [("not now",)]


def test_a_recommendation_record_without_an_id_or_known_outcome_is_refused() -> None:
    with pytest.raises(UnusableRecord):
        recommendation_rows(orjson.dumps({"what": "shown", "ts": 1}))
    with pytest.raises(UnusableRecord):
        recommendation_rows(orjson.dumps({"recommendation_id": "r", "what": "liked", "ts": 1}))


def test_the_dismissed_report_lists_each_dismissed_recommendation_once_with_its_latest_reason(
    store: AnalyticsStore,
) -> None:
    records = [
        record("r1", "shown", T, "split_winner"),
        record("r1", "dismissed", T + 1, "split_winner", reason="not now"),
        record("r1", "dismissed", T + 5, "split_winner", reason="never"),
        record("r2", "applied", T + 2, "drop_off", draft_version=2),  # applied, not dismissed
        record("r3", "shown", T, "drop_off"),
    ]
    for _ in range(2):
        batch = ColumnBatch()
        for i, value in enumerate(records):
            batch.add("t", 0, i, recommendation_rows(value), 0.0)
        insert_batch(store, batch)
    result = run_report(store, "recommendations_dismissed", report_parameters("welcome", 0, T + 1000))
    assert result.columns == ["recommendation_id", "reason", "dismissed_at"]
    assert result.rows == [("r1", "never", T + 5)]
    other = run_report(store, "recommendations_dismissed", report_parameters("another", 0, T + 1000))
    assert other.rows == []
