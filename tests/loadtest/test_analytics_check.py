"""The analytics check's pure part: the oracle's step records (ids as the worker gives them, model
wake-ups handed to nobody), the counts derived from them, and the comparison with report rows (no Kafka)."""

from __future__ import annotations

from typing import Any

from engine.types import Event
from loadtest.accuracy import replay
from loadtest.analytics_check import OracleSide, check_run, compare_counts, oracle_side
from loadtest.oracle import example_workflows, timer_event

NOW = 1_795_449_787_876
CART = "abandoned_cart"


def event(index: int, etype: str, ts: int, **properties: Any) -> Event:
    return {"event_id": f"e{index}", "contact_id": "c1", "type": etype, "ts": ts, "properties": properties}


def cart_history() -> list[Event]:
    """A cart left alone: entered, waited 2h, resumed by its wake-up, reminder mailed, waiting for a
    purchase; then a model wake-up and a stale wake-up."""
    added = event(1, "contact.added", NOW, email="ada@example.com", first_name="Ada")
    cart = event(2, "cart.created", NOW + 1000, cart_id="k1", value=120)
    first = replay({"c1": [added, cart]}, example_workflows(CART)).step_records
    waited = next(record for record in first if record["transition"] == "waited")
    due, token = waited["due"], waited["token"]
    return [
        added, cart, timer_event("c1", due, token, "wait"),
        timer_event("c1", due + 5, "labels", "ml_label"), timer_event("c1", due + 6, "gone", "wait"),
    ]  # fmt: skip


def cart_side() -> OracleSide:
    events = cart_history()
    replayed = replay({"c1": events}, example_workflows(CART), {"c1": [f"3:{i}" for i in range(5)]})
    return oracle_side(replayed.step_records, replayed.actions, [e["event_id"] for e in events])


def reports_of(side: OracleSide) -> dict[str, list[dict[str, Any]]]:
    """Report rows, shaped as the writer's endpoint returns them, saying what the oracle says."""
    return {
        "funnel": [dict(zip(("workflow_id", "version", "step", "node", "why"), key, strict=True), runs=n)
                   for key, n in side.funnel.items()],
        "steps": [dict(zip(("workflow_id", "version", "node", "transition"), key, strict=True), records=n)
                  for key, n in side.steps.items()],
        "outcomes": [dict(zip(("workflow_id", "version", "node", "channel"), key, strict=True), actions=n,
                          delivered=0, failed=0, sent=0, pending=n) for key, n in side.actions.items()],
        "tables": [{"table_name": key[0], "stored_rows": n + 3, "distinct_ids": n}
                   for key, n in side.totals.items()] + [{"table_name": "tasks", "stored_rows": 0,
                                                           "distinct_ids": 0}],
    }  # fmt: skip


def test_step_records_carry_the_workers_ids_and_skip_model_wakeups() -> None:
    events = cart_history()
    replayed = replay({"c1": events}, example_workflows(CART), {"c1": [f"3:{i}" for i in range(5)]})
    got = [(r["source"], r["seq"], r["transition"], r["node_id"]) for r in replayed.step_records]
    assert got == [
        ("3:1", 0, "entered", None), ("3:1", 1, "waited", "wait_2h"),
        ("3:2", 0, "resumed", "wait_2h"), ("3:2", 1, "acted", "reminder"),
        ("3:2", 2, "waited", "wait_purchase"),
        ("3:4", 0, "ignored", None),  # the stale wake-up; the model wake-up (3:3) reaches no step
    ]  # fmt: skip
    assert [(a["node_id"], a["channel"]) for a in replayed.actions] == [("reminder", "email")]


def test_the_oracle_counts_follow_the_funnel_rollup_and_the_reports_keys() -> None:
    side = cart_side()
    assert side.funnel == {
        (CART, 1, "entered", "", ""): 1, (CART, 1, "reached", "wait_2h", ""): 1,
        (CART, 1, "reached", "reminder", ""): 1, (CART, 1, "reached", "wait_purchase", ""): 1,
    }  # fmt: skip
    assert side.steps[(CART, 1, "wait_2h", "resumed")] == 1 and side.steps[("", 0, "", "ignored")] == 1
    assert sum(side.steps.values()) == 6
    assert side.actions == {(CART, 1, "reminder", "email"): 1}
    assert side.totals == {("events",): 5, ("step_log",): 6, ("actions",): 1}


def test_records_and_actions_repeated_with_the_same_id_count_once() -> None:
    events = cart_history()
    replayed = replay({"c1": events}, example_workflows(CART), {"c1": [f"3:{i}" for i in range(5)]})
    twice = oracle_side(replayed.step_records * 2, replayed.actions * 2, [e["event_id"] for e in events * 2])
    assert twice == cart_side()


def test_equal_counts_pass_and_every_differing_group_is_listed() -> None:
    side = cart_side()
    agreed = check_run(side, reports_of(side), details={"dsn": "chdb:///x"})
    assert agreed.ok and [c.name for c in agreed.checks] == ["funnel", "steps", "actions", "totals"]
    assert "all counts equal" in agreed.summary()

    reports = reports_of(side)
    reports["steps"] = [r for r in reports["steps"] if r["transition"] != "ignored"]  # one group missing
    reports["outcomes"][0]["actions"] += 1  # one action counted twice
    differing = check_run(side, reports)
    assert not differing.ok
    by_name = {check.name: check for check in differing.checks}
    assert by_name["funnel"].ok and by_name["totals"].ok
    assert [(r.key, r.oracle, r.clickhouse) for r in by_name["steps"].differing] == [
        (("", 0, "", "ignored"), 1, 0)
    ]
    assert [(r.key, r.oracle, r.clickhouse) for r in by_name["actions"].differing] == [
        ((CART, 1, "reminder", "email"), 1, 2)
    ]
    saved = differing.as_dict()
    assert saved["ok"] is False and saved["actions"]["differing"] == [
        {"workflow_id": CART, "version": 1, "node": "reminder", "channel": "email", "oracle": 1,
         "clickhouse": 2}
    ]  # fmt: skip
    text = differing.summary()
    assert "COUNTS DIFFER" in text and "steps: step records per node and transition" in text
    assert "reminder" in text and "ignored" in text


def test_a_group_only_clickhouse_has_is_a_difference() -> None:
    side = cart_side()
    reports = reports_of(side)
    reports["funnel"].append(
        {"workflow_id": CART, "version": 1, "step": "goal", "node": "purchased", "why": "", "runs": 1}
    )
    (funnel,) = [check for check in compare_counts(side, reports) if check.name == "funnel"]
    assert [(r.key, r.oracle, r.clickhouse) for r in funnel.differing] == [
        ((CART, 1, "goal", "purchased", ""), 0, 1)
    ]


def test_counts_that_could_not_be_read_fail_the_check() -> None:
    failed = check_run(cart_side(), {}, error="AnalyticsUnavailable: the analytics writer exited")
    assert not failed.ok and failed.checks == []
    assert failed.summary().startswith("analytics vs oracle: NOT CHECKED: AnalyticsUnavailable")
