"""The engine inside the worker, end to end through the real broker: waits fired by durable timers,
exact actions, versions pinned across a republish."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agents import core_build
from agents.logs import CORE_BUILD
from agents.settings import Settings
from tests.agents.fixtures import (
    WorkerFactory,
    event,
    produce_events,
    publish,
    read_actions,
    read_step_records,
    wait_processed,
)

pytestmark = pytest.mark.kafka
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
HOUR = 3_600_000
DAY = 24 * HOUR


def now_ms() -> int:
    return int(time.time() * 1000)


def summary(actions: list[dict[str, object]], contact: str) -> list[tuple[object, ...]]:
    mine = [a for a in actions if a["contact_id"] == contact]
    return sorted((a["ts"], a["node_id"], a["type"], a["channel"]) for a in mine)


def test_abandoned_cart_end_to_end_with_timers(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    publish(test_settings, EXAMPLES / "abandoned_cart.yaml")
    worker_factory.start(test_settings)
    t_gone = now_ms() - 3 * DAY  # every wait of this run is already due: the timers fire at once
    t_buyer = now_ms() - 3 * HOUR  # the 2h wait is due; the 24h wait for the purchase is not
    produce_events(
        test_settings,
        [
            event("gone", "contact.added", t_gone - 1000, first_name="Gil", email="gil@example.com"),
            event("gone", "cart.created", t_gone, cart_id="cart-g", value=80),
            event("buyer", "contact.added", t_buyer - 1000, first_name="Bea"),
            event("buyer", "cart.created", t_buyer, cart_id="cart-b", value=20),
        ],
    )
    actions = read_actions(test_settings, expect=4)
    assert summary(actions, "gone") == [
        (t_gone + 2 * HOUR, "reminder", "send_email", "email"),
        (t_gone + 26 * HOUR, "discount", "send_email", "email"),
        (t_gone + 50 * HOUR, "notify_sales", "notify", "notify"),
    ]
    assert summary(actions, "buyer") == [(t_buyer + 2 * HOUR, "reminder", "send_email", "email")]
    reminder = next(a for a in actions if a["contact_id"] == "gone" and a["node_id"] == "reminder")
    assert reminder["params"]["subject"] == "Gil, you left something in your cart"
    assert reminder["params"]["cart_id"] == "cart-g"

    # the buyer buys another cart first (no effect), then this one: the run ends at the goal
    produce_events(
        test_settings,
        [
            event("buyer", "purchase", now_ms() - 2000, cart_id="cart-other", amount=5),
            event("buyer", "purchase", now_ms() - 1000, cart_id="cart-b", amount=20),
        ],
    )
    wait_processed(test_settings)
    records = read_step_records(test_settings, expect=1)
    goals = [r for r in records if r["contact_id"] == "buyer" and r["transition"] == "goal"]
    assert len(goals) == 1 and goals[0]["event_type"] == "purchase"
    late = [r for r in records if r.get("event_type") == "timer.fired"]
    assert late and all(isinstance(r["late_ms"], int) and r["late_ms"] >= 0 for r in late)
    assert len(read_actions(test_settings, expect=5, timeout=3)) == 4  # nothing more was sent


def test_document_workflow_end_to_end(test_settings: Settings, worker_factory: WorkerFactory) -> None:
    publish(test_settings, EXAMPLES / "document_workflow.yaml")
    worker = worker_factory.start(test_settings)
    t_slow = now_ms() - 6 * DAY  # request, 3d without a signature, reminder, 2d more, escalation
    t_fast = now_ms() - HOUR
    produce_events(
        test_settings,
        [
            event("slow", "contact.added", t_slow - 1, email="slow@example.com"),
            event("slow", "document.requested", t_slow, document_id="doc-s", deal_id="deal-1"),
            event("fast", "contact.added", t_fast - 1, email="fast@example.com"),
            event("fast", "document.requested", t_fast, document_id="doc-f", deal_id="deal-2"),
        ],
    )
    actions = read_actions(test_settings, expect=7)
    assert summary(actions, "slow") == [
        (t_slow, "generate", "generate_document", "document"),
        (t_slow, "request_signature", "request_signature", "document"),
        (t_slow + 3 * DAY, "remind", "send_email", "email"),
        (t_slow + 5 * DAY, "escalate", "notify", "notify"),
        (t_slow + 5 * DAY, "escalation_task", "create_task", "task"),
    ]
    assert summary(actions, "fast")[:2] == [
        (t_fast, "generate", "generate_document", "document"),
        (t_fast, "request_signature", "request_signature", "document"),
    ]
    produce_events(test_settings, [event("fast", "document.signed", now_ms(), document_id="doc-f")])
    wait_processed(test_settings)
    records = read_step_records(test_settings, expect=1)
    assert [r["node_id"] for r in records if r["contact_id"] == "fast" and r["transition"] == "goal"] == [
        "signed"
    ]
    assert len(read_actions(test_settings, expect=8, timeout=3)) == 7
    # Ready, it said which core it runs: this tree's (interpreted here, compiled in `make native`'s copy).
    assert f"{CORE_BUILD}{core_build.describe()}" in worker.log_path.read_text()


def test_republishing_leaves_runs_in_flight_on_their_version(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    publish(test_settings, EXAMPLES / "abandoned_cart.yaml")
    worker_factory.start(test_settings)
    soon = now_ms() - 2 * HOUR + 8000  # the 2h wait falls due 8 s from now
    produce_events(test_settings, [event("early", "cart.created", soon, cart_id="c1")])
    wait_processed(test_settings)
    publish(test_settings, EXAMPLES / "abandoned_cart.yaml", version=2, name="Abandoned cart v2")
    time.sleep(1.0)  # the worker follows the catalog topic
    produce_events(test_settings, [event("late", "cart.created", soon + 1, cart_id="c2")])
    actions = read_actions(test_settings, expect=2, timeout=60)
    versions = {a["contact_id"]: a["version"] for a in actions}
    assert versions == {"early": 1, "late": 2}


def test_a_migration_moves_a_waiting_run_to_the_new_version(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    import asyncio

    from agents.catalog import plan_migration, write_records
    from engine.parser import parse_text

    publish(test_settings, EXAMPLES / "abandoned_cart.yaml")
    worker_factory.start(test_settings)
    soon = now_ms() - 2 * HOUR + 8000  # the 2h wait falls due 8 s from now
    produce_events(test_settings, [event("mover", "cart.created", soon, cart_id="c1")])
    wait_processed(test_settings)

    v1 = (EXAMPLES / "abandoned_cart.yaml").read_text()
    v2 = v1.replace("version: 1", "version: 2").replace("  reminder:\n", "  nudge:\n")
    v2 = v2.replace("next: reminder\n", "next: nudge\n").replace("you left something", "your cart misses you")
    v2_path = test_settings.data_dir / "abandoned_cart_v2.yaml"
    v2_path.parent.mkdir(parents=True, exist_ok=True)
    v2_path.write_text(v2)
    publish(test_settings, v2_path)
    definitions = {(d["id"], d["version"]): d for d in (parse_text(t).data for t in (v1, v2))}
    record = plan_migration(definitions, "abandoned_cart", 2, [1], {"reminder": "nudge"})
    asyncio.run(write_records(test_settings.bootstrap, test_settings.topic("workflows"), [record]))

    actions = read_actions(test_settings, expect=1, timeout=60)
    assert [(a["version"], a["node_id"]) for a in actions] == [(2, "nudge")]
    assert "your cart misses you" in actions[0]["params"]["subject"]
    records = read_step_records(test_settings, expect=1)
    assert any(r["transition"] == "migrated" and r["contact_id"] == "mover" for r in records)
