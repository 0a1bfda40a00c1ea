"""The ML-assisted example (best_time_nudge), driven through all of its paths with and without hints."""

from __future__ import annotations

from typing import Any

from tests.engine.fixtures import DAY, HOUR, T0, Harness, example_set

MON, THU, SAT, SUN = 0, 3 * 24, 5 * 24, 6 * 24  # hours of the week; T0 is Thursday 10:00 UTC
ADA = {"first_name": "Ada", "email": "ada@example.com", "phone": "+15550100", "push_token": "tok"}


def started(hints: dict[str, Any] | None, **attrs: Any) -> Harness:
    harness = Harness(example_set("best_time_nudge"))
    harness.send("contact.added", at=T0 - HOUR, **attrs)
    if hints is not None:
        give_hints(harness, hints)
    harness.send("trial.started", at=T0)
    return harness


def give_hints(harness: Harness, hints: dict[str, Any]) -> None:
    assert harness.state is not None
    harness.state = {**harness.state, "hints": hints}


def sent(harness: Harness) -> list[tuple[str, str, int, str]]:
    """(node, action type, ms after T0, chosen_by or "") of every action."""
    return [
        (a["node_id"], a["type"], a["ts"] - T0, a["params"].get("chosen_by", "")) for a in harness.actions
    ]


def test_hinted_hour_and_channel_then_product_used_is_the_goal() -> None:
    harness = started({"send_hours": [THU + 15], "channel": "push"}, **ADA)
    assert harness.requested() == [("best_time", "wait", 5 * HOUR)]
    harness.send("product.used", at=T0 + DAY)
    assert sent(harness) == [("nudge", "send_push", 5 * HOUR, "bandit")]
    assert harness.actions[0]["params"]["to"] == "tok"
    assert harness.transitions()[-1] == ("used", "goal")
    assert harness.live_runs() == {}


def test_without_hints_both_nudges_fall_back_to_10_00_local_then_a_task() -> None:
    harness = started(None, timezone="America/New_York", email="ada@example.com", first_name="Ada")
    harness.run_until(T0 + 10 * DAY)
    # 10:00 New York is 15:00 UTC; the timeout lands at exactly 10:00 there, so the next one is a day later.
    assert sent(harness) == [
        ("nudge", "send_email", 5 * HOUR, "fallback"),
        ("nudge_2", "send_email", 3 * DAY + 5 * HOUR, "fallback"),
        ("handoff", "create_task", 3 * DAY + 5 * HOUR, ""),
    ]
    assert harness.actions[0]["params"]["subject"] == "Ada, three things to try first"
    assert harness.actions[2]["params"]["team"] == "success"
    assert harness.transitions()[-1] == (None, "exited")


def test_hints_arriving_mid_run_steer_the_second_nudge() -> None:
    harness = started(None, **ADA)
    harness.run_until(T0 + DAY)
    assert sent(harness) == [("nudge", "send_email", DAY, "fallback")]  # 10:00 next day (now was 10:00)
    give_hints(harness, {"send_hours": [SAT + 18, MON + 9, SUN + 20], "channel": "sms"})
    harness.run_until(T0 + 10 * DAY)
    # The timeout is Sun 10:00; Sat 18:00 is 6 days off, so rank 2 (Mon 09:00, within 48h) wins over the
    # sooner rank 3 (Sun 20:00).
    assert sent(harness)[1:] == [
        ("nudge_2", "send_sms", 3 * DAY + 23 * HOUR, "bandit"),
        ("handoff", "create_task", 3 * DAY + 23 * HOUR, ""),
    ]
    reasons = [
        e["reason"] for e in harness.trace if e["node_id"] == "best_time_2" and e["transition"] == "waited"
    ]
    assert reasons == ["until best send time Mon 09:00 (rank 2)"]


def test_a_best_hour_in_quiet_hours_is_delayed_until_they_end() -> None:
    harness = started({"send_hours": [THU + 22], "channel": "email"}, **ADA)
    harness.run_until(T0 + DAY)
    assert harness.requested() == [
        ("best_time", "wait", 12 * HOUR),
        ("nudge", "quiet", 22 * HOUR),  # 08:00
        ("wait_usage", "timeout", 22 * HOUR + 2 * DAY),
    ]
    assert sent(harness) == [("nudge", "send_email", 22 * HOUR, "bandit")]


def test_using_the_product_before_the_first_nudge_ends_the_run() -> None:
    harness = started({"send_hours": [THU + 15]}, **ADA)
    harness.send("product.used", at=T0 + HOUR)
    harness.run_until(T0 + 10 * DAY)
    assert harness.actions == [] and harness.live_runs() == {}
    assert harness.transitions()[-2:] == [("used", "goal"), (None, "ignored")]  # the wait's timer is stale
