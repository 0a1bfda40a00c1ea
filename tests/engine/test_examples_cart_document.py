"""abandoned_cart and document_workflow: every path, exact actions and timers (the runtime tests rely
on these two; docs/workflows.md documents the same table)."""

from __future__ import annotations

from tests.engine.fixtures import DAY, HOUR, T0, Harness, example_set


def cart_harness() -> Harness:
    harness = Harness(example_set("abandoned_cart"))
    harness.send("contact.added", first_name="Ada", email="ada@example.com")
    return harness


def test_abandoned_cart_no_purchase_goes_reminder_discount_sales() -> None:
    harness = cart_harness()
    started = harness.send("cart.created", cart_id="k1", value=120)
    assert [(t["node_id"], t["kind"], t["due"] - T0) for t in started.timers] == [
        ("wait_2h", "wait", 2 * HOUR)
    ]
    harness.run_until(T0 + 60 * HOUR)
    assert harness.sent() == [
        ("reminder", "send_email", 2 * HOUR),
        ("discount", "send_email", 26 * HOUR),
        ("notify_sales", "notify", 50 * HOUR),
    ]
    assert harness.requested() == [
        ("wait_2h", "wait", 2 * HOUR),
        ("wait_purchase", "timeout", 26 * HOUR),
        ("wait_purchase_2", "timeout", 50 * HOUR),
    ]
    reminder, discount, notify = harness.actions
    assert reminder["params"] == {
        "template": "cart_reminder",
        "cart_id": "k1",
        "subject": "Ada, you left something in your cart",
        "to": "ada@example.com",  # the contact's email attribute, as the action named no recipient
    }
    assert discount["params"]["discount_percent"] == 10 and discount["params"]["cart_id"] == "k1"
    assert notify["channel"] == "notify"
    assert notify["params"]["team"] == "sales" and notify["params"]["reason"] == "stale"
    assert harness.live_runs() == {}
    assert harness.transitions()[-1] == (None, "exited")


def test_abandoned_cart_purchase_of_same_cart_after_reminder_is_the_goal() -> None:
    harness = cart_harness()
    harness.send("cart.created", cart_id="k1")
    harness.run_until(T0 + 3 * HOUR)
    harness.send("purchase", cart_id="other", amount=10)  # another cart: keeps waiting
    assert "abandoned_cart#k1" in harness.live_runs()  # keyed by cart (settings.run_key)
    result = harness.send("purchase", at=T0 + 5 * HOUR, cart_id="k1", amount=120)
    assert [(e["node_id"], e["transition"]) for e in result.trace] == [("purchased", "goal")]
    harness.run_until(T0 + 100 * HOUR)  # the pending 24h timeout is stale now
    assert harness.sent() == [("reminder", "send_email", 2 * HOUR)]
    assert harness.trace[-1]["transition"] == "ignored"


def test_abandoned_cart_purchase_before_the_reminder_ends_the_run_from_the_wait() -> None:
    harness = cart_harness()
    harness.send("cart.created", cart_id="k1")
    result = harness.send("purchase", at=T0 + HOUR, cart_id="k1")
    assert [(e["node_id"], e["transition"]) for e in result.trace] == [("purchased", "goal")]
    harness.run_until(T0 + 100 * HOUR)
    assert harness.actions == []


def test_abandoned_cart_purchase_after_discount_stops_before_sales() -> None:
    harness = cart_harness()
    harness.send("cart.created", cart_id="k1")
    harness.send("purchase", at=T0 + 30 * HOUR, cart_id="k1")
    harness.run_until(T0 + 100 * HOUR)
    assert harness.sent() == [("reminder", "send_email", 2 * HOUR), ("discount", "send_email", 26 * HOUR)]


def doc_harness() -> Harness:
    harness = Harness(example_set("document_workflow"))
    harness.send("contact.added", email="ada@example.com")
    harness.send("document.requested", document_id="d1", deal_id="deal9", template="nda")
    return harness


def test_document_workflow_generates_requests_and_waits() -> None:
    harness = doc_harness()
    assert harness.sent() == [
        ("generate", "generate_document", 0),
        ("request_signature", "request_signature", 0),
    ]
    generate, request = harness.actions
    assert generate["channel"] == request["channel"] == "document"
    assert generate["params"] == {"template": "nda", "document_id": "d1", "deal_id": "deal9"}
    assert request["params"] == {"document_id": "d1", "signer_email": "ada@example.com"}
    assert harness.requested() == [("wait_signed", "timeout", 3 * DAY)]


def test_document_workflow_signed_in_time_is_the_goal() -> None:
    harness = doc_harness()
    harness.send("document.signed", at=T0 + DAY, document_id="other")
    result = harness.send("document.signed", at=T0 + 2 * DAY, document_id="d1")
    assert [(e["node_id"], e["transition"]) for e in result.trace] == [("signed", "goal")]
    harness.run_until(T0 + 10 * DAY)
    assert [a["type"] for a in harness.actions] == ["generate_document", "request_signature"]


def test_document_workflow_signed_after_the_reminder() -> None:
    harness = doc_harness()
    harness.send("document.signed", at=T0 + 4 * DAY, document_id="d1")
    harness.run_until(T0 + 10 * DAY)
    assert harness.sent()[2:] == [("remind", "send_email", 3 * DAY)]
    assert harness.live_runs() == {}


def test_document_workflow_unsigned_escalates_with_notification_and_task() -> None:
    harness = doc_harness()
    harness.run_until(T0 + 10 * DAY)
    assert harness.sent()[2:] == [
        ("remind", "send_email", 3 * DAY),
        ("escalate", "notify", 5 * DAY),
        ("escalation_task", "create_task", 5 * DAY),
    ]
    assert harness.requested() == [("wait_signed", "timeout", 3 * DAY), ("wait_signed_2", "timeout", 5 * DAY)]
    escalate, task = harness.actions[3], harness.actions[4]
    assert escalate["params"]["reason"] == "deadline" and escalate["params"]["team"] == "legal"
    assert task["params"]["team"] == "legal" and task["params"]["due_at"] == T0 + 6 * DAY
