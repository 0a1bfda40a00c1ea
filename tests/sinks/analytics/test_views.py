"""Every view and report on a small hand-built dataset, inserted twice (as after a crash between insert and
offset commit): the numbers are the ones worked out by hand in the comments, duplicates never count."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sinks.analytics.reports import MAX_REPORT_ROWS, report_parameters, run_report
from sinks.analytics.store import AnalyticsStore
from tests.sinks.analytics.fixtures import StepLog, action_doc, event_doc, insert_records, outcome_doc

T1 = 1_767_607_200_000  # 2026-01-05 10:00 UTC (day D1)
T2 = 1_767_690_000_000  # 2026-01-06 09:00 UTC (day D2)
MIN = 60_000
H = 3_600_000
D1, D2 = "2026-01-05", "2026-01-06"
Z95 = 1.959963984540054


def cart_steps() -> list[dict[str, Any]]:
    """Workflow `cart`: runs r1..r5 and r7 on version 1, r6 on version 2."""
    log = StepLog()
    # r1: enters D1 and waits at w1; resumes D2, mails, then reaches goal `bought`.
    log.add(T1, "c1", "cart", 1, "r1", None, "entered", "trigger")
    log.add(T1, "c1", "cart", 1, "r1", "w1", "waited", "2h", same_event=True)
    log.add(T2, "c1", "cart", 1, "r1", "w1", "resumed", "timer")
    log.add(T2, "c1", "cart", 1, "r1", "mail", "acted", "send_email", same_event=True)
    log.add(T2 + H, "c1", "cart", 1, "r1", "bought", "goal", "goal bought reached", event_type="purchase")
    # r2: enters D1, waits at w1 (still there).
    log.add(T1 + H, "c2", "cart", 1, "r2", None, "entered", "trigger")
    log.add(T1 + H, "c2", "cart", 1, "r2", "w1", "waited", "2h", same_event=True)
    # r5: enters D1, branches at b1, exits at `done` (finished).
    log.add(T1, "c5", "cart", 1, "r5", None, "entered", "trigger")
    log.add(T1, "c5", "cart", 1, "r5", "b1", "branched", "default", same_event=True)
    log.add(T1, "c5", "cart", 1, "r5", "done", "exited", "finished", same_event=True)
    # r3: enters D2, waits at w1, resumes, mails, waits at w2 (still there since T2+2h).
    log.add(T2, "c3", "cart", 1, "r3", None, "entered", "trigger")
    log.add(T2, "c3", "cart", 1, "r3", "w1", "waited", "2h", same_event=True)
    log.add(T2 + 2 * H, "c3", "cart", 1, "r3", "w1", "resumed", "timer")
    log.add(T2 + 2 * H, "c3", "cart", 1, "r3", "mail", "acted", "send_email", same_event=True)
    log.add(T2 + 2 * H, "c3", "cart", 1, "r3", "w2", "waited", "1d", same_event=True)
    # r4: enters D2, exit criteria end it (no node).
    log.add(T2, "c4", "cart", 1, "r4", None, "entered", "trigger")
    log.add(T2 + MIN, "c4", "cart", 1, "r4", None, "exited", "unsubscribed")
    # r7: enters D2 and waits; a purchase stamped earlier arrives later: processed last, it ends the run.
    log.add(T2, "c7", "cart", 1, "r7", None, "entered", "trigger")
    log.add(T2, "c7", "cart", 1, "r7", "w1", "waited", "2h", same_event=True)
    log.add(T2 - H, "c7", "cart", 1, "r7", "bought", "goal", "goal bought reached", event_type="purchase")
    # r6: version 2, enters D2 and waits at w1.
    log.add(T2, "c6", "cart", 2, "r6", None, "entered", "trigger")
    log.add(T2, "c6", "cart", 2, "r6", "w1", "waited", "2h", same_event=True)
    # a trigger-timer record: no run, counted nowhere
    log.add(T2, "c6", "cart", 2, None, None, "armed", "schedule")
    return log.records


def load_twice(store: AnalyticsStore, **records: list[dict[str, Any]]) -> None:
    insert_records(store, **records)
    insert_records(store, **records)


def rows(store: AnalyticsStore, sql: str) -> list[tuple[Any, ...]]:
    return store.query(sql).rows


def test_daily_funnel_counts_each_run_once_per_day_and_step(store: AnalyticsStore) -> None:
    load_twice(store, steps=cart_steps())
    got = rows(
        store,
        "SELECT toString(day), version, step, node, why, runs FROM funnel_daily WHERE workflow_id = 'cart' "
        "ORDER BY day, version, step, node, why",
    )
    assert got == [
        (D1, 1, "entered", "", "", 3),  # r1 r2 r5
        (D1, 1, "exited", "done", "finished", 1),  # r5
        (D1, 1, "reached", "b1", "", 1),  # r5
        (D1, 1, "reached", "done", "", 1),  # r5
        (D1, 1, "reached", "w1", "", 2),  # r1 r2
        (D2, 1, "entered", "", "", 3),  # r3 r4 r7
        (D2, 1, "exited", "", "unsubscribed", 1),  # r4
        (D2, 1, "goal", "bought", "", 2),  # r1 (D2 10:00), r7 (stamped D2 08:00)
        (D2, 1, "reached", "bought", "", 2),
        (D2, 1, "reached", "mail", "", 2),  # r1 r3 ("resumed" is not a node visit)
        (D2, 1, "reached", "w1", "", 2),  # r3 r7
        (D2, 1, "reached", "w2", "", 1),  # r3
        (D2, 2, "entered", "", "", 1),  # r6
        (D2, 2, "reached", "w1", "", 1),  # r6
    ]


def test_funnel_report_merges_runs_over_the_period_instead_of_adding_days(store: AnalyticsStore) -> None:
    load_twice(store, steps=cart_steps())
    result = run_report(store, "funnel", report_parameters("cart", 0, T2))
    got = {(r["version"], r["step"], r["node"], r["why"]): r["runs"] for r in result.as_dicts()}
    assert got[(1, "entered", "", "")] == 6  # r1 r2 r3 r4 r5 r7
    assert got[(1, "reached", "w1", "")] == 4  # r1 r2 (D1), r3 r7 (D2)
    assert got[(1, "goal", "bought", "")] == 2
    assert got[(2, "entered", "", "")] == 1
    since_d2 = run_report(store, "funnel", report_parameters("cart", T2, T2)).as_dicts()
    assert {(r["version"], r["step"], r["node"]): r["runs"] for r in since_d2}[(1, "entered", "")] == 3


def test_entered_daily_counts_each_days_runs_within_since_and_as_of(store: AnalyticsStore) -> None:
    load_twice(store, steps=cart_steps())

    def daily(workflow: str | None, since_ms: int, as_of_ms: int) -> list[tuple[str, str, int]]:
        report = run_report(store, "entered_daily", report_parameters(workflow, since_ms, as_of_ms))
        return [(r["workflow_id"], r["day"], r["runs"]) for r in report.as_dicts()]

    # D1: r1 r2 r5; D2: r3 r4 r7 and r6 (version 2): versions add up, duplicates do not
    assert daily("cart", 0, T2) == [("cart", D1, 3), ("cart", D2, 4)]
    assert daily("cart", T2, T2) == [("cart", D2, 4)]  # since D2
    assert daily("cart", 0, T1) == [("cart", D1, 3)]  # as of D1: D2 is the future
    assert daily("other", 0, T2) == []


def test_edges_follow_each_runs_visits_in_production_order(store: AnalyticsStore) -> None:
    load_twice(store, steps=cart_steps())

    def edges(since_ms: int) -> dict[tuple[int, str, str], int]:
        report = run_report(store, "edges", report_parameters("cart", since_ms, T2)).as_dicts()
        return {(r["version"], r["node"], r["next"]): r["runs"] for r in report}

    # r1: w1 (waited, resumed) mail bought; r3: w1 mail w2; r5: b1 done; r7: w1 then its late goal;
    # r2 and r6 never left w1, r4 exited without a node
    assert edges(0) == {
        (1, "w1", "mail"): 2, (1, "mail", "bought"): 1, (1, "mail", "w2"): 1, (1, "w1", "bought"): 1,
        (1, "b1", "done"): 1,
    }  # fmt: skip
    # since D2: r1's wait at w1 was on D1; r7's goal is stamped before its wait but was produced after it
    assert edges(T2) == {
        (1, "mail", "bought"): 1, (1, "w1", "mail"): 1, (1, "mail", "w2"): 1, (1, "w1", "bought"): 1,
    }  # fmt: skip


def test_whereis_shows_live_runs_at_their_latest_node_in_production_order(store: AnalyticsStore) -> None:
    load_twice(store, steps=cart_steps())
    got = rows(
        store,
        "SELECT version, run_id, node_id, toUnixTimestamp64Milli(since) FROM whereis "
        "WHERE workflow_id = 'cart' ORDER BY run_id",
    )
    # r1 reached its goal, r4 and r5 exited, r7's late purchase ended it although stamped before its wait
    assert got == [(1, "r2", "w1", T1 + H), (1, "r3", "w2", T2 + 2 * H), (2, "r6", "w1", T2)]
    as_of = T2 + 10 * H
    report = run_report(store, "whereis", report_parameters("cart", 0, as_of)).as_dicts()
    assert [(r["version"], r["node"], r["live_runs"], r["max_age_s"]) for r in report] == [
        (1, "w1", 1, (as_of - T1 - H) / 1000),
        (1, "w2", 1, (as_of - T2 - 2 * H) / 1000),
        (2, "w1", 1, (as_of - T2) / 1000),
    ]


def test_action_outcomes_count_each_action_once_under_its_best_outcome(store: AnalyticsStore) -> None:
    actions = [
        action_doc("a1", "c1", "cart", "mail", "email", T1),
        action_doc("a2", "c3", "cart", "mail", "email", T1),
        action_doc("a3", "c9", "cart", "mail", "email", T1),
        action_doc("a4", "c1", "cart", "sms1", "sms", T1),
    ]
    outcomes = [
        outcome_doc("a1", "c1", "email.sent", T1 + MIN),
        outcome_doc("a1", "c1", "email.bounced", T1 + 2 * MIN),  # sent, then bounced: failed
        outcome_doc("a2", "c3", "email.sent", T1 + MIN),  # sent
        outcome_doc("a4", "c1", "sms.failed", T1 + MIN),  # failed once, then delivered: delivered
        outcome_doc("a4", "c1", "sms.delivered", T1 + 3 * MIN),
    ]  # a3: no outcome yet (pending)
    load_twice(store, actions=actions, events=outcomes)
    got = rows(
        store,
        "SELECT toString(day), node_id, channel, actions, delivered, failed, sent, pending "
        "FROM action_outcomes "
        "ORDER BY node_id",
    )
    assert got == [(D1, "mail", "email", 3, 0, 1, 1, 1), (D1, "sms1", "sms", 1, 1, 0, 0, 0)]
    report = run_report(store, "outcomes", report_parameters("cart", 0, T2)).as_dicts()
    assert [(r["node"], r["actions"], r["failed"]) for r in report] == [("mail", 3, 1), ("sms1", 1, 0)]


def test_events_per_minute_per_type(store: AnalyticsStore) -> None:
    events = [
        event_doc("v1", "c1", "page.viewed", T1),
        event_doc("v2", "c2", "page.viewed", T1 + 59_999),
        event_doc("v3", "c1", "page.viewed", T1 + MIN),
        event_doc("o1", "c1", "email.opened", T1 + 30_000),
        event_doc("o2", "c3", "email.opened", T1 + 5 * MIN),
    ]
    load_twice(store, events=events)
    got = rows(store, "SELECT toUnixTimestamp64Milli(toDateTime64(minute, 3)), type, events "
                      "FROM events_per_minute ORDER BY minute, type")  # fmt: skip
    assert got == [
        (T1, "email.opened", 1),
        (T1, "page.viewed", 2),
        (T1 + MIN, "page.viewed", 1),
        (T1 + 5 * MIN, "email.opened", 1),
    ]
    report = run_report(store, "throughput", report_parameters(None, T1 + MIN, T2)).as_dicts()
    assert [(r["type"], r["events"]) for r in report] == [("page.viewed", 1), ("email.opened", 1)]


def test_the_recorded_events_report_returns_at_most_max_rows(store: AnalyticsStore) -> None:
    events = [event_doc(f"e{n}", f"c{n % 3}", "page.viewed", T1 + n) for n in range(7)]
    load_twice(store, events=events)
    every = run_report(store, "events", report_parameters(None, T1, T2)).as_dicts()
    assert len(every) == 7 and [r["contact_id"] for r in every] == sorted(r["contact_id"] for r in every)
    capped = run_report(store, "events", report_parameters(None, T1, T2, max_rows=4)).as_dicts()
    assert capped == every[:4]
    # one more than the largest cap, so that a caller capped at MAX_REPORT_ROWS still sees it was cut
    assert report_parameters(None, 0, 0, max_rows=10**12)["max_rows"] == MAX_REPORT_ROWS + 1


def lift_dataset() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`promo` splits p1..p10 at node s: a = p1..p4, b = p5 p6, holdout = p7..p10 (all at T1)."""
    log = StepLog()
    arms = {"p1": "a", "p2": "a", "p3": "a", "p4": "a", "p5": "b", "p6": "b",
            "p7": "holdout", "p8": "holdout", "p9": "holdout", "p10": "holdout"}  # fmt: skip
    for contact, arm in arms.items():
        run = f"run-{contact}"
        log.add(T1, contact, "promo", 1, run, None, "entered", "trigger")
        log.add(T1, contact, "promo", 1, run, "s", "split", f"arm {arm}", same_event=True, arm=arm)
        if arm == "holdout":
            log.add(T1, contact, "promo", 1, run, None, "exited", "holdout", same_event=True)
    # p1 reaches the goal: `purchase` is the goal's event type for promo
    log.add(T1 + H, "p1", "promo", 1, "run-p1", "won", "goal", "goal won reached", event_type="purchase")
    # another workflow's goal type must not count as a promo conversion
    log.add(T1, "p8", "other", 1, "run-o", "g", "goal", "goal g reached", event_type="signup")
    events = [
        event_doc("buy1", "p1", "purchase", T1 + H),
        event_doc("buy2", "p2", "purchase", T1 + 2 * H),
        event_doc("buy2b", "p2", "purchase", T1 + 3 * H),  # a second purchase: still one converted contact
        event_doc("buy3", "p3", "purchase", T1 - H),  # before its assignment: not a conversion
        event_doc("buy5", "p5", "purchase", T1 + H),
        event_doc("buy7", "p7", "purchase", T1 + H),
        event_doc("sign8", "p8", "signup", T1 + H),
    ]
    return log.records, events


def wilson(x: int, n: int) -> tuple[float, float]:
    p = x / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return centre - half, centre + half


def test_split_lift_against_the_holdout_with_wilson_and_normal_intervals(store: AnalyticsStore) -> None:
    steps, events = lift_dataset()
    load_twice(store, steps=steps, events=events)
    result = store.query("SELECT * FROM split_lift WHERE workflow_id = 'promo' ORDER BY arm").as_dicts()
    by_arm = {r["arm"]: r for r in result}
    assert {arm: (r["contacts"], r["conversions"]) for arm, r in by_arm.items()} == {
        # a: p1 p2; b: p5; holdout: p7 (p8's signup is another workflow's goal)
        "a": (4, 2), "b": (2, 1), "holdout": (4, 1),
    }  # fmt: skip
    for arm, (x, n) in {"a": (2, 4), "b": (1, 2), "holdout": (1, 4)}.items():
        low, high = wilson(x, n)
        assert by_arm[arm]["rate"] == pytest.approx(x / n)
        assert (by_arm[arm]["rate_low"], by_arm[arm]["rate_high"]) == (
            pytest.approx(low),
            pytest.approx(high),
        )
    a = by_arm["a"]
    margin = Z95 * math.sqrt(0.5 * 0.5 / 4 + 0.25 * 0.75 / 4)
    assert a["diff"] == pytest.approx(0.25)
    assert (a["diff_low"], a["diff_high"]) == (pytest.approx(0.25 - margin), pytest.approx(0.25 + margin))
    assert a["lift"] == pytest.approx(1.0)  # 0.5 / 0.25 - 1
    assert by_arm["holdout"]["diff"] is None and by_arm["holdout"]["lift"] is None
    report = run_report(store, "lift", report_parameters("promo", 0, T2)).as_dicts()
    assert [r["arm"] for r in report] == ["a", "b", "holdout"]


def test_tables_report_sees_the_duplicates_the_views_ignore(store: AnalyticsStore) -> None:
    steps = cart_steps()
    load_twice(store, steps=steps)
    tables = {
        r["table_name"]: r for r in run_report(store, "tables", report_parameters(None, 0, T2)).as_dicts()
    }
    assert tables["step_log"]["distinct_ids"] == len(steps)
    assert tables["step_log"]["stored_rows"] in (len(steps), 2 * len(steps))  # until or after a merge
    assert rows(store, "SELECT count() FROM step_log FINAL") == [(len(steps),)]


def test_a_send_refused_for_consent_is_a_visit_of_its_node(store: AnalyticsStore) -> None:
    """`suppressed` goes on to the next node like `skipped`: the funnel and the edges count the send node
    as reached (before: fewer runs reached it than the node after it, and edges showed b1 -> w1)."""
    log = StepLog()
    for run, contact, at_mail in (("r1", "c1", "suppressed"), ("r2", "c2", "acted")):
        log.add(T1, contact, "wf", 1, run, None, "entered", "trigger")
        log.add(T1, contact, "wf", 1, run, "b1", "branched", "default", same_event=True)
        log.add(T1, contact, "wf", 1, run, "mail", at_mail, "send_email", same_event=True)
        log.add(T1, contact, "wf", 1, run, "w1", "waited", "1d", same_event=True)
    load_twice(store, steps=log.records)
    funnel = run_report(store, "funnel", report_parameters("wf", T1, T2)).as_dicts()
    assert {r["node"]: r["runs"] for r in funnel if r["step"] == "reached"} == {"b1": 2, "mail": 2, "w1": 2}
    edges = run_report(store, "edges", report_parameters("wf", T1, T2)).as_dicts()
    assert sorted((r["node"], r["next"], r["runs"]) for r in edges) == [
        ("b1", "mail", 2),
        ("mail", "w1", 2),
    ]


def test_suppressed_visits_stored_before_the_migration_are_counted(store: AnalyticsStore) -> None:
    """Migration 005 folds in the step records stored under the old rollup, which skipped `suppressed`."""
    from sinks.analytics.migrations import load_migrations

    log = StepLog()
    log.add(T1, "c1", "wf", 1, "r1", None, "entered", "trigger")
    log.add(T1, "c1", "wf", 1, "r1", "mail", "suppressed", "send_email", same_event=True)
    store.command("DROP VIEW funnel_daily_mv")  # as if written before 005: the old view, or none, saw them
    insert_records(store, steps=log.records)
    funnel = run_report(store, "funnel", report_parameters("wf", T1, T2)).as_dicts()
    assert [r for r in funnel if r["step"] == "reached"] == []
    (migration,) = [m for m in load_migrations() if m.version == 5]
    for _ in range(2):  # a crash before the ledger records it runs it again: nothing counts twice
        for statement in migration.statements():
            store.command(statement)
    funnel = run_report(store, "funnel", report_parameters("wf", T1, T2)).as_dicts()
    assert [(r["step"], r["node"], r["runs"]) for r in funnel] == [("entered", "", 1), ("reached", "mail", 1)]


def test_the_split_cause_is_not_its_own_conversion(store: AnalyticsStore) -> None:
    """A split reached on a `purchase` in a workflow whose goal is a `purchase`: that event made the
    assignment and converts nobody (before: every contact converted at once, holdout included)."""
    log, events = StepLog(), []
    for contact, arm in (("c1", "a"), ("c2", "a"), ("c3", "holdout"), ("c4", "holdout")):
        events.append(event_doc(f"buy-{contact}", contact, "purchase", T1))
        log.add(T1, contact, "upsell", 1, f"r-{contact}", None, "entered", "trigger", event_type="purchase",
                event_id=f"buy-{contact}")  # fmt: skip
        log.add(T1, contact, "upsell", 1, f"r-{contact}", "s", "split", f"arm {arm}", same_event=True,
                arm=arm, event_type="purchase", event_id=f"buy-{contact}")  # fmt: skip
    events.append(event_doc("again-c1", "c1", "purchase", T1 + H))  # c1 alone buys again
    log.add(T1 + H, "c1", "upsell", 1, "r-c1", "again", "goal", "goal again reached", event_type="purchase",
            event_id="again-c1")  # fmt: skip
    load_twice(store, steps=log.records, events=events)
    lift = run_report(store, "lift", report_parameters("upsell", 0, T2)).as_dicts()
    assert [(r["arm"], r["contacts"], r["conversions"]) for r in lift] == [("a", 2, 1), ("holdout", 2, 0)]


def test_actions_the_sink_suppressed_have_their_own_bucket_and_are_no_sends(store: AnalyticsStore) -> None:
    actions = [
        action_doc("a1", "c1", "wf", "mail", "email", T1),
        action_doc("a2", "c2", "wf", "mail", "email", T1),
    ]
    outcomes = [outcome_doc("a1", "c1", "email.delivered", T1 + MIN),
                outcome_doc("a2", "c2", "email.suppressed", T1 + MIN)]  # fmt: skip
    load_twice(store, actions=actions, events=outcomes)
    (outcome,) = run_report(store, "outcomes", report_parameters("wf", 0, T2)).as_dicts()
    assert (outcome["actions"], outcome["delivered"], outcome["suppressed"], outcome["pending"]) == (
        2,
        1,
        1,
        0,
    )
    assert [r["sent"] for r in run_report(store, "sends", report_parameters("wf", 0, T2)).as_dicts()] == [1]
    assert [r["sent"] for r in run_report(store, "channels", report_parameters(None, 0, T2)).as_dicts()] == [
        1
    ]


def test_throughput_keeps_the_minute_since_falls_in(store: AnalyticsStore) -> None:
    load_twice(store, events=[event_doc("v1", "c1", "page.viewed", T1 + 30_000)])
    report = run_report(store, "throughput", report_parameters(None, T1 + 20_000, T2)).as_dicts()
    assert [(r["type"], r["events"]) for r in report] == [("page.viewed", 1)]
